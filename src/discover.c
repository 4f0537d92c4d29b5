/*
 * discover.c - RmGetList: who uses the registered resources, recomputed per call.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"

void rm_app_list_free(struct rm_app_list *l)
{
    rm_free(l->items);
    memset(l, 0, sizeof(*l));
}

/* Copies the base name of an image path into name (NUL-terminated, truncated). */
static void base_name(const WCHAR *path, WCHAR *name, SIZE_T cch)
{
    const WCHAR *p, *b = path;
    SIZE_T n;
    for (p = path; *p; p++)
        if (*p == L'\\' || *p == L'/') b = p + 1;
    n = rm_wcsnlen(b, cch - 1);
    if (n > cch - 1) n = cch - 1;
    memcpy(name, b, n * sizeof(WCHAR));
    name[n] = 0;
}

static DWORD add_process(struct rm_app_list *l, const RM_UNIQUE_PROCESS *p)
{
    WCHAR image[MAX_PATH];
    DWORD err, len = ARRAYSIZE(image);
    struct rm_app *a;
    HANDLE h;

    if ((err = rm_grow((void **)&l->items, &l->cap, l->count + 1, sizeof(*l->items)))) return err;
    a = &l->items[l->count];
    memset(a, 0, sizeof(*a));
    a->info.Process = *p;
    a->info.ApplicationType = RmUnknownApp;
    a->info.AppStatus = RmStatusRunning;
    if (!ProcessIdToSessionId(p->dwProcessId, &a->info.TSSessionId))
        a->info.TSSessionId = (DWORD)RM_INVALID_TS_SESSION;
    if ((h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, p->dwProcessId)))
    {
        if (QueryFullProcessImageNameW(h, 0, image, &len))
            base_name(image, a->info.strAppName, ARRAYSIZE(a->info.strAppName));
        CloseHandle(h);
    }
    l->count++;
    return ERROR_SUCCESS;
}

DWORD rm_discover(struct rm_session *s, struct rm_app_list *out)
{
    const struct rm_resources *r = &s->res;
    DWORD err = ERROR_SUCCESS;
    SIZE_T i;

    memset(out, 0, sizeof(*out));
    /* A registered process counts only while the same process (PID and creation
     * time) runs: a reused PID is somebody else. */
    for (i = 0; i < r->nprocs && !err; i++)
        if (rm_process_alive(&r->procs[i])) err = add_process(out, &r->procs[i]);
    if (err) rm_app_list_free(out);
    return err;
}

DWORD rm_get_list(struct rm_session *s, UINT *needed, UINT *count, RM_PROCESS_INFO *apps,
                  DWORD *reasons)
{
    struct rm_app_list list;
    DWORD err;
    SIZE_T i;

    AcquireSRWLockExclusive(&s->lock);
    if (!(err = rm_store_sync(&s->store, &s->res))) err = rm_discover(s, &list);
    ReleaseSRWLockExclusive(&s->lock);
    if (err) return err;

    if (list.count > UINT_MAX) { rm_app_list_free(&list); return ERROR_OUTOFMEMORY; }
    *needed = (UINT)list.count;
    *reasons = list.reboot_reasons;
    if (*count < list.count)
    {
        /* Too small (or the size query): report the size, write no element, and
         * say none were filled (spec U6). */
        *count = 0;
        rm_app_list_free(&list);
        return ERROR_MORE_DATA;
    }
    for (i = 0; i < list.count; i++) apps[i] = list.items[i].info;
    *count = (UINT)list.count;
    rm_app_list_free(&list);
    return ERROR_SUCCESS;
}
