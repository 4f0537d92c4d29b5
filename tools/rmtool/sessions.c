/*
 * sessions.c - "rmtool sessions": the open Restart Manager sessions of this user, for
 * finding installers that leak sessions (64 per user at most, spec section 4).
 *
 * The public API cannot enumerate sessions, so this reads the DLL's documented store
 * (spec section 9; src/store.c), opened for reading only:
 *
 *   HKCU\Software\Microsoft\RestartManager\SessionNNNN   (NNNN = slot = handle)
 *       Owner          REG_BINARY, 12 bytes: RM_UNIQUE_PROCESS of the primary
 *                      (DWORD pid, then FILETIME creation time: low, high)
 *       Sequence       REG_DWORD: every group number below it is committed
 *       RegFilesNNNN   REG_MULTI_SZ, one file path per string       } NNNN = group,
 *       RegProcsNNNN   REG_MULTI_SZ, "pid:high:low" per process     } >= 4 digits
 *       RegSvcsNNNN    REG_MULTI_SZ, one service short name each    }
 *
 * The committed groups are those below the first number without any (storelayout.h:
 * rm_store_commits_end); values past it belong to an unfinished writer and are not
 * counted, as the DLL does not read them either. A commit only holds what earlier
 * commits did not already have, so the counts add up across commits.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "rmtool.h"
#include "storelayout.h"
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define STORE_PATH RM_STORE_PATH
#define MAX_SLOTS 64

struct slot_info
{
    DWORD slot;               /* NNNN */
    BOOL has_owner;           /* Owner is a 12-byte REG_BINARY */
    RM_UNIQUE_PROCESS owner;  /* valid if has_owner */
    int alive;                /* 1 alive, 0 gone, -1 cannot tell */
    WCHAR image[MAX_PATH];    /* owner's executable when alive and readable, else "" */
    BOOL has_sequence;        /* Sequence is a REG_DWORD */
    DWORD sequence;           /* where the committed groups end */
    BOOL damaged;             /* a group below Sequence is missing, or one is malformed */
    DWORD files, procs, svcs; /* registered counts */
};

/* 1 when the process p names runs (same pid AND creation time), 0 when it does not,
 * -1 when it cannot be opened for another reason (another user's process). */
static int owner_alive(const RM_UNIQUE_PROCESS *p, WCHAR *image, DWORD cch)
{
    FILETIME created, e, k, u;
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, p->dwProcessId);
    int alive;

    image[0] = 0;
    if (!h)
    {
        DWORD err = GetLastError();
        return err == ERROR_INVALID_PARAMETER ? 0 : -1;   /* 87: no such pid */
    }
    if (!GetProcessTimes(h, &created, &e, &k, &u)) alive = -1;
    else if (created.dwLowDateTime != p->ProcessStartTime.dwLowDateTime ||
             created.dwHighDateTime != p->ProcessStartTime.dwHighDateTime)
        alive = 0;   /* the pid was reused by another process */
    else
    {
        DWORD code = 0;
        /* A process that exited but whose handle someone keeps still opens. */
        alive = GetExitCodeProcess(h, &code) && code != STILL_ACTIVE ? 0 : 1;
    }
    if (alive == 1)
    {
        DWORD n = cch;
        if (!QueryFullProcessImageNameW(h, 0, image, &n)) image[0] = 0;
    }
    CloseHandle(h);
    return alive;
}

/* Number of strings in a REG_MULTI_SZ value; -1 if absent, -2 if malformed. */
static long count_strings(HKEY key, const WCHAR *name)
{
    DWORD type, cb = 0, i, chars;
    WCHAR *buf;
    long n = 0;
    LSTATUS st = RegQueryValueExW(key, name, NULL, &type, NULL, &cb);

    if (st == ERROR_FILE_NOT_FOUND) return -1;
    if (st != ERROR_SUCCESS || type != REG_MULTI_SZ) return -2;
    if (!(buf = calloc(cb / sizeof(WCHAR) + 2, sizeof(WCHAR)))) return -2;
    st = RegQueryValueExW(key, name, NULL, &type, (BYTE *)buf, &cb);
    if (st != ERROR_SUCCESS || type != REG_MULTI_SZ)
    {
        free(buf);
        return -2;
    }
    chars = cb / sizeof(WCHAR);
    for (i = 0; i < chars && buf[i];)
    {
        n++;
        while (i < chars && buf[i]) i++;
        i++;
    }
    free(buf);
    return n;
}

static void read_slot(HKEY key, struct slot_info *s)
{
    static const WCHAR *const prefix[3] = { L"RegFiles", L"RegProcs", L"RegSvcs" };
    DWORD type, cb, c, end;
    int kind;

    cb = sizeof(s->owner);
    s->has_owner = RegQueryValueExW(key, RM_STORE_OWNER, NULL, &type, (BYTE *)&s->owner, &cb) ==
                   ERROR_SUCCESS && type == REG_BINARY && cb == sizeof(s->owner);
    s->alive = s->has_owner ? owner_alive(&s->owner, s->image, ARRAYSIZE(s->image)) : 0;
    cb = sizeof(s->sequence);
    s->has_sequence = RegQueryValueExW(key, RM_STORE_SEQUENCE, NULL, &type, (BYTE *)&s->sequence, &cb) ==
                      ERROR_SUCCESS && type == REG_DWORD && cb == sizeof(DWORD);
    if (!s->has_sequence) return;
    /* Every number below Sequence holds a group: a gap there means damage. */
    end = rm_store_commits_end(key, 0);
    if (end < s->sequence) s->damaged = TRUE;
    s->sequence = end;
    for (c = 0; c < end; c++)
        for (kind = 0; kind < 3; kind++)
        {
            WCHAR name[32];
            long n;
            swprintf(name, ARRAYSIZE(name), L"%ls%04lu", prefix[kind], (unsigned long)c);
            n = count_strings(key, name);
            if (n == -2) s->damaged = TRUE;
            if (n < 0) continue;
            if (kind == 0) s->files += (DWORD)n;
            else if (kind == 1) s->procs += (DWORD)n;
            else s->svcs += (DWORD)n;
        }
}

static int cmp_slot(const void *a, const void *b)
{
    const struct slot_info *x = a, *y = b;
    return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static const WCHAR *alive_word(int alive)
{
    return alive == 1 ? L"yes" : alive == 0 ? L"no" : L"unknown";
}

int cmd_sessions(const struct options *o)
{
    struct slot_info *slots = NULL;
    size_t n = 0, cap = 0, i;
    HKEY root;
    LSTATUS st;
    DWORD index;
    int rc = RMTOOL_EXIT_OK;

    st = RegOpenKeyExW(HKEY_CURRENT_USER, STORE_PATH, 0, KEY_READ, &root);
    if (st != ERROR_SUCCESS && st != ERROR_FILE_NOT_FOUND)
    {
        report_api_error(L"RegOpenKeyEx(HKCU\\" STORE_PATH L")", (DWORD)st);
        return RMTOOL_EXIT_ERROR;
    }
    if (st == ERROR_SUCCESS)
    {
        for (index = 0;; index++)
        {
            WCHAR name[64];
            DWORD cch = ARRAYSIZE(name), slot;
            HKEY key;
            st = RegEnumKeyExW(root, index, name, &cch, NULL, NULL, NULL, NULL);
            if (st == ERROR_NO_MORE_ITEMS) break;
            if (st == ERROR_MORE_DATA) continue;   /* a name too long to be a slot */
            if (st != ERROR_SUCCESS)
            {
                report_api_error(L"RegEnumKeyEx", (DWORD)st);
                rc = RMTOOL_EXIT_ERROR;
                break;
            }
            if (!rm_store_parse_slot(name, &slot)) continue;
            if (RegOpenKeyExW(root, name, 0, KEY_QUERY_VALUE, &key) != ERROR_SUCCESS)
                continue;   /* ended while we looked */
            if (n == cap)
            {
                size_t c2 = cap ? cap * 2 : MAX_SLOTS;
                struct slot_info *grown = realloc(slots, c2 * sizeof(*slots));
                if (!grown)
                {
                    RegCloseKey(key);
                    report_error(L"out of memory");
                    rc = RMTOOL_EXIT_ERROR;
                    break;
                }
                slots = grown;
                cap = c2;
            }
            memset(&slots[n], 0, sizeof(slots[n]));
            slots[n].slot = slot;
            read_slot(key, &slots[n]);
            RegCloseKey(key);
            n++;
        }
        RegCloseKey(root);
    }
    if (n) qsort(slots, n, sizeof(*slots), cmp_slot);

    if (o->json)
    {
        struct json j;
        memset(&j, 0, sizeof(j));
        json_open(&j, NULL, L'{', FALSE);
        json_open(&j, L"sessions", L'[', FALSE);
        for (i = 0; i < n; i++)
        {
            const struct slot_info *s = &slots[i];
            WCHAR t[32], key[32];
            json_open(&j, NULL, L'{', TRUE);
            json_uint(&j, L"slot", s->slot);
            swprintf(key, ARRAYSIZE(key), L"Session%04lu", (unsigned long)s->slot);
            json_str(&j, L"key", key);
            if (s->has_owner)
            {
                ULARGE_INTEGER v;
                v.LowPart = s->owner.ProcessStartTime.dwLowDateTime;
                v.HighPart = s->owner.ProcessStartTime.dwHighDateTime;
                fmt_time_utc(t, &s->owner.ProcessStartTime);
                json_uint(&j, L"owner_pid", s->owner.dwProcessId);
                json_str(&j, L"owner_start_time", t);
                json_uint(&j, L"owner_start_filetime", v.QuadPart);
            }
            else
            {
                json_null(&j, L"owner_pid");
                json_null(&j, L"owner_start_time");
                json_null(&j, L"owner_start_filetime");
            }
            if (s->alive == 1 || s->alive == 0) json_bool(&j, L"owner_alive", s->alive == 1);
            else json_null(&j, L"owner_alive");
            json_str(&j, L"owner_image", s->image[0] ? s->image : NULL);
            if (s->has_sequence) json_uint(&j, L"sequence", s->sequence);
            else json_null(&j, L"sequence");
            json_uint(&j, L"files", s->files);
            json_uint(&j, L"processes", s->procs);
            json_uint(&j, L"services", s->svcs);
            json_bool(&j, L"damaged", s->damaged || !s->has_sequence);
            json_close(&j);
        }
        json_close(&j);
        json_close(&j);
    }
    else if (!n)
        out_w(OUT_STDOUT, L"no Restart Manager sessions\n");
    else
    {
        size_t live = 0;
        out_w(OUT_STDOUT, L"SLOT  OWNER PID  ALIVE    STARTED              FILES  PROCESSES  SERVICES  OWNER\n");
        for (i = 0; i < n; i++)
        {
            const struct slot_info *s = &slots[i];
            WCHAR pid[16], t[32];
            if (s->alive == 1) live++;
            if (s->has_owner)
            {
                swprintf(pid, 16, L"%lu", (unsigned long)s->owner.dwProcessId);
                fmt_time_local(t, &s->owner.ProcessStartTime);
            }
            else
            {
                wcscpy(pid, L"-");
                wcscpy(t, L"-");
            }
            out_f(OUT_STDOUT, L"%-4lu  %-10ls %-7ls  %-19ls  %5lu  %9lu  %8lu  %ls%ls\n",
                  (unsigned long)s->slot, pid, alive_word(s->alive), t, (unsigned long)s->files,
                  (unsigned long)s->procs, (unsigned long)s->svcs,
                  s->image[0] ? s->image : s->alive == 0 ? L"(abandoned)" : L"-",
                  s->damaged || !s->has_sequence ? L" [damaged]" : L"");
        }
        out_f(OUT_STDOUT, L"%lu session%ls, %lu with a live owner (at most %d per user)\n",
              (unsigned long)n, n == 1 ? L"" : L"s", (unsigned long)live, MAX_SLOTS);
    }
    free(slots);
    return rc;
}
