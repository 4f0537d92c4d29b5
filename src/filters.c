/*
 * filters.c - RmAddFilter / RmRemoveFilter state and the RmGetFilterList buffer.
 *
 * Filters belong to the primary's process (only the primary may set, remove, list
 * or act on them), so they live in memory, not in the shared store.
 *
 * The buffer RmGetFilterList fills (spec U9): all RM_FILTER_INFO records first,
 * one after another, each cbNextOffset = sizeof(RM_FILTER_INFO) except the last
 * (0); then the strings the records point to, each NUL-terminated, in record
 * order. Every pointer points inside the caller's buffer, and the needed size is
 * exactly records plus strings.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"

void rm_filter_clear(struct rm_filter *f)
{
    rm_free(f->name);
    rm_free(f->key);
    memset(f, 0, sizeof(*f));
}

DWORD rm_filter_target(struct rm_filter *f, LPCWSTR module, const RM_UNIQUE_PROCESS *proc,
                       LPCWSTR service)
{
    SIZE_T len;

    memset(f, 0, sizeof(*f));
    if ((module != NULL) + (proc != NULL) + (service != NULL) != 1) return ERROR_BAD_ARGUMENTS;
    if (proc)
    {
        f->trigger = RmFilterTriggerProcess;
        f->process = *proc;
        return ERROR_SUCCESS;
    }
    if (module)
    {
        struct rm_strings strings = { NULL };
        struct rm_file file;
        DWORD err;

        len = rm_wcsnlen(module, RM_MAX_PATH_CHARS);
        if (!len || len > RM_MAX_PATH_CHARS) return ERROR_BAD_ARGUMENTS;
        /* The key is the canonical full path, so "c:\app\x.exe" and
         * "C:\APP\X.EXE" name the same executable. */
        if ((err = rm_file_from_path(module, len, &file, &strings)))
        {
            rm_strings_free(&strings);
            return err;
        }
        f->trigger = RmFilterTriggerFile;
        f->key = rm_wcsdup_n(file.key, file.path_len);
        rm_strings_free(&strings);
        if (!f->key || !(f->name = rm_wcsdup_n(module, len))) { rm_filter_clear(f); return ERROR_OUTOFMEMORY; }
        return ERROR_SUCCESS;
    }
    len = rm_wcsnlen(service, RM_MAX_SVC_NAME_CHARS);
    if (!len || len > RM_MAX_SVC_NAME_CHARS) return ERROR_BAD_ARGUMENTS;
    f->trigger = RmFilterTriggerService;
    if (!(f->name = rm_wcsdup_n(service, len)) || !(f->key = rm_wcsdup_n(service, len)))
    {
        rm_filter_clear(f);
        return ERROR_OUTOFMEMORY;
    }
    rm_wcsupper(f->key, len);
    return ERROR_SUCCESS;
}

static BOOL same_target(const struct rm_filter *a, const struct rm_filter *b)
{
    if (a->trigger != b->trigger) return FALSE;
    if (a->trigger == RmFilterTriggerProcess)
        return !memcmp(&a->process, &b->process, sizeof(a->process));
    return !rm_wcsicmp(a->key, b->key);
}

DWORD rm_filters_add(struct rm_filters *fl, struct rm_filter *f)
{
    SIZE_T i;
    DWORD err;

    for (i = 0; i < fl->count; i++)
        if (same_target(&fl->items[i], f))
        {
            /* The later call for the same target wins (spec 5.9). */
            fl->items[i].action = f->action;
            rm_filter_clear(f);
            return ERROR_SUCCESS;
        }
    if ((err = rm_grow((void **)&fl->items, &fl->cap, fl->count + 1, sizeof(*fl->items))))
    {
        rm_filter_clear(f);
        return err;
    }
    fl->items[fl->count++] = *f;
    memset(f, 0, sizeof(*f));
    return ERROR_SUCCESS;
}

DWORD rm_filters_remove(struct rm_filters *fl, const struct rm_filter *target)
{
    SIZE_T i;
    for (i = 0; i < fl->count; i++)
        if (same_target(&fl->items[i], target))
        {
            rm_filter_clear(&fl->items[i]);
            memmove(&fl->items[i], &fl->items[i + 1], (fl->count - i - 1) * sizeof(*fl->items));
            fl->count--;
            return ERROR_SUCCESS;
        }
    return ERROR_FILE_NOT_FOUND;
}

DWORD rm_filters_write(const struct rm_filters *fl, BYTE *buf, DWORD cb, DWORD *needed)
{
    SIZE_T total, i, strings;
    RM_FILTER_INFO *rec;
    WCHAR *str;

    if (!rm_mul_ok(fl->count, sizeof(RM_FILTER_INFO), &total)) return ERROR_OUTOFMEMORY;
    strings = total;
    for (i = 0; i < fl->count; i++)
        if (fl->items[i].name)
            total += (rm_wcsnlen(fl->items[i].name, RM_MAX_PATH_CHARS) + 1) * sizeof(WCHAR);
    if (total > MAXDWORD) return ERROR_OUTOFMEMORY;
    *needed = (DWORD)total;
    if (cb < total) return ERROR_MORE_DATA;
    if (!fl->count) return ERROR_SUCCESS;

    rec = (RM_FILTER_INFO *)buf;
    str = (WCHAR *)(buf + strings);
    for (i = 0; i < fl->count; i++, rec++)
    {
        const struct rm_filter *f = &fl->items[i];
        memset(rec, 0, sizeof(*rec));
        rec->FilterAction = f->action;
        rec->FilterTrigger = f->trigger;
        rec->cbNextOffset = i + 1 < fl->count ? sizeof(RM_FILTER_INFO) : 0;
        if (f->trigger == RmFilterTriggerProcess)
            rec->Process = f->process;
        else if (f->name)   /* as the sizing pass: a nameless filter has no string */
        {
            SIZE_T len = rm_wcsnlen(f->name, RM_MAX_PATH_CHARS);
            memcpy(str, f->name, (len + 1) * sizeof(WCHAR));
            if (f->trigger == RmFilterTriggerFile) rec->strFilename = str;
            else rec->strServiceShortName = str;
            str += len + 1;
        }
    }
    return ERROR_SUCCESS;
}

void rm_filters_free(struct rm_filters *fl)
{
    SIZE_T i;
    for (i = 0; i < fl->count; i++) rm_filter_clear(&fl->items[i]);
    rm_free(fl->items);
    memset(fl, 0, sizeof(*fl));
}

RM_FILTER_ACTION rm_filters_match(const struct rm_filters *fl, const RM_PROCESS_INFO *info, const WCHAR *image)
{
    RM_FILTER_ACTION found = RmInvalidFilterAction;
    SIZE_T i;

    /* Filters on different targets can name one application (its executable and
     * its process, say). The strongest wins whatever the order they were added in:
     * RmNoShutdown, which also keeps it from being restarted, over RmNoRestart. */
    for (i = 0; i < fl->count && found != RmNoShutdown; i++)
    {
        const struct rm_filter *f = &fl->items[i];
        BOOL match = FALSE;
        switch (f->trigger)
        {
        case RmFilterTriggerProcess:
            match = !memcmp(&f->process, &info->Process, sizeof(f->process));
            break;
        case RmFilterTriggerService:
            match = info->strServiceShortName[0] && !rm_wcsicmp(f->name, info->strServiceShortName);
            break;
        case RmFilterTriggerFile:
            /* The key is the canonical full path, as the executable's path is. */
            match = image[0] && !rm_wcsicmp(f->key, image);
            break;
        default:
            break;
        }
        if (match && (found == RmInvalidFilterAction || f->action == RmNoShutdown)) found = f->action;
    }
    return found;
}
