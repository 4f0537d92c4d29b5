/*
 * applist.c - the affected-application list and the session's history.
 *
 * An entry of the list is what RmGetList reports (RM_PROCESS_INFO) plus what
 * RmShutdown and RmRestart need to act on it (its executable, the restart command
 * captured before it was stopped, its shutdown group). The history is the same
 * kind of list kept in the session: every application RmShutdown acted on, with
 * the status bits it gathered, so that RmGetList reports what was done after the
 * processes are gone and RmRestart brings back exactly what was stopped.
 *
 * One application is one process (PID and start time: PIDs are reused) or, for a
 * process hosting services, one hosted service (spec U15).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"

void rm_app_list_free(struct rm_app_list *l)
{
    SIZE_T i;
    for (i = 0; i < l->count; i++)
    {
        rm_free(l->items[i].cmdline);
        rm_free(l->items[i].cwd);
    }
    rm_free(l->items);
    memset(l, 0, sizeof(*l));
}

BOOL rm_app_same(const RM_PROCESS_INFO *a, const RM_PROCESS_INFO *b)
{
    return a->Process.dwProcessId == b->Process.dwProcessId &&
           !memcmp(&a->Process.ProcessStartTime, &b->Process.ProcessStartTime, sizeof(FILETIME)) &&
           !rm_wcsicmp(a->strServiceShortName, b->strServiceShortName);
}

DWORD rm_history_merge(const struct rm_app_list *history, struct rm_app_list *list)
{
    SIZE_T i, j, n = list->count;
    DWORD err;

    for (i = 0; i < history->count; i++)
    {
        const RM_PROCESS_INFO *h = &history->items[i].info;
        BOOL found = FALSE;
        for (j = 0; j < n && !found; j++)
            if (rm_app_same(&list->items[j].info, h))
            {
                /* Still (or again) running: Running plus what was done to it. */
                list->items[j].info.AppStatus |= h->AppStatus & ~(ULONG)RmStatusRunning;
                found = TRUE;
            }
        if (found) continue;
        if ((err = rm_grow((void **)&list->items, &list->cap, list->count + 1, sizeof(*list->items)))) return err;
        memset(&list->items[list->count], 0, sizeof(list->items[0]));
        list->items[list->count].info = *h;
        list->items[list->count].info.AppStatus &= ~(ULONG)RmStatusRunning;
        list->count++;
    }
    return ERROR_SUCCESS;
}

/* An entry a call acted on is merged into its history entry, or appended. */
DWORD rm_history_record(struct rm_app_list *history, struct rm_app_list *list)
{
    SIZE_T i, j;
    DWORD err;

    for (i = 0; i < list->count; i++)
    {
        struct rm_app *a = &list->items[i];
        BOOL found = FALSE;
        if (!(a->info.AppStatus & ~(ULONG)RmStatusRunning)) continue;   /* untouched */
        for (j = 0; j < history->count && !found; j++)
        {
            struct rm_app *h = &history->items[j];
            if (rm_app_same(&h->info, &a->info))
            {
                h->info.AppStatus |= a->info.AppStatus;
                if (a->group >= 0)
                {
                    /* This call acted on it (an earlier one may have masked it):
                     * what it learnt is what a restart needs. */
                    h->group = a->group;
                    h->no_restart = a->no_restart;
                    if (a->cmdline)
                    {
                        rm_free(h->cmdline);
                        rm_free(h->cwd);
                        h->cmdline = a->cmdline;
                        h->cwd = a->cwd;
                        a->cmdline = a->cwd = NULL;
                    }
                }
                found = TRUE;
            }
        }
        if (found) continue;
        if ((err = rm_grow((void **)&history->items, &history->cap, history->count + 1,
                           sizeof(*history->items))))
            return err;
        history->items[history->count++] = *a;
        a->cmdline = a->cwd = NULL;   /* moved */
    }
    return ERROR_SUCCESS;
}
