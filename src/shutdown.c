/*
 * shutdown.c - RmShutdown (spec 5.6, 8): the orchestration. It re-evaluates the
 * list, refuses to act when a reboot is needed (350) or, with
 * RmShutdownOnlyRegistered, when one application could not come back (U8),
 * applies the filters, sorts the applications into the four groups and has each
 * closed by its protocol in the fixed order (spec 8.1): GUI applications
 * (gui.c; Explorer is asked with them, before anything closes), consoles
 * (console.c), services (svcctl.c), Explorer. Restart commands are captured before
 * anything is stopped (they are gone once the application has exited). What was
 * done is recorded in the session's history (applist.c) so that RmGetList reports
 * it and RmRestart (restart.c) brings back exactly what was stopped.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "operation.h"

static int group_of(const RM_PROCESS_INFO *info)
{
    switch (info->ApplicationType)
    {
    case RmConsole: return RM_GROUP_CONSOLE;
    case RmService: return RM_GROUP_SERVICE;
    case RmExplorer: return RM_GROUP_EXPLORER;
    default: return RM_GROUP_GUI;   /* main window, other window, unknown */
    }
}

static HANDLE open_target(const struct rm_app *a)
{
    HANDLE h = OpenProcess(SYNCHRONIZE | PROCESS_TERMINATE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE,
                           a->info.Process.dwProcessId);
    FILETIME start;
    /* The same process that was listed, not a PID reused since. */
    if (h && (!rm_process_start_time(h, &start) ||
              memcmp(&start, &a->info.Process.ProcessStartTime, sizeof(start))))
    {
        CloseHandle(h);
        h = NULL;
    }
    return h;
}

static DWORD do_shutdown(struct rm_call *c, struct rm_app_list *list, ULONG flags)
{
    struct rm_session *s = c->s;
    struct target *groups[RM_GROUP_COUNT] = { NULL };
    SIZE_T counts[RM_GROUP_COUNT] = { 0 }, i;
    DWORD err = ERROR_SUCCESS, r;
    BOOL veto = FALSE;
    int g;

    rm_note_reboot(c->s, list);
    if (list->reboot_reasons)
    {
        rm_trace("RmShutdown: a reboot is needed (reasons 0x%lx); nothing is shut down", list->reboot_reasons);
        return ERROR_FAIL_NOACTION_REBOOT;
    }
    for (i = 0; i < list->count; i++)
    {
        struct rm_app *a = &list->items[i];
        RM_FILTER_ACTION action = rm_filters_match(&s->filters, &a->info, a->image);
        a->group = -1;
        if (action == RmNoShutdown) { a->info.AppStatus |= RmStatusShutdownMasked; continue; }
        if (action == RmNoRestart) a->info.AppStatus |= RmStatusRestartMasked;
        a->group = group_of(&a->info);
    }
    if (flags & RmShutdownOnlyRegistered)
        for (i = 0; i < list->count; i++)
            if (list->items[i].group >= 0 && !list->items[i].info.bRestartable)
            {
                /* Spec U8: one that could not come back stops everything. */
                rm_trace("RmShutdown: %ls cannot be restarted; nothing is shut down", list->items[i].info.strAppName);
                return ERROR_FAIL_SHUTDOWN;
            }

    for (g = 0; g < RM_GROUP_COUNT; g++)
        if (!(groups[g] = rm_alloc((list->count + 1) * sizeof(struct target)))) { err = ERROR_OUTOFMEMORY; goto done; }
    for (i = 0; i < list->count; i++)
    {
        struct rm_app *a = &list->items[i];
        struct target *t;
        if (a->group < 0) continue;
        t = &groups[a->group][counts[a->group]];
        t->app = a;
        t->process = open_target(a);
        if (!t->process && a->group != RM_GROUP_SERVICE)
        {
            /* Gone since the list was made: someone else stopped it. */
            a->info.AppStatus |= RmStatusStoppedOther;
            continue;
        }
        counts[a->group]++;
        c->progress.total++;
        /* The restart command must be captured now: it is gone once the
         * application has exited. */
        if (a->group != RM_GROUP_SERVICE && a->info.bRestartable && t->process)
        {
            a->no_restart = rm_token_obstacle(t->process);
            if (!a->no_restart)
                rm_proc_restart_command(a->info.Process.dwProcessId, a->image, &a->cmdline, &a->cwd);
        }
    }

    /* Every windowed application, Explorer included, is asked before anything is
     * closed: one refusal and nothing at all is (unless forced). Then the groups
     * close in their fixed order (spec 8.1), each finishing first. */
    r = rm_gui_ask(c, groups[RM_GROUP_GUI], counts[RM_GROUP_GUI], &veto);
    if (r != ERROR_CANCELLED)
    {
        DWORD r2 = rm_gui_ask(c, groups[RM_GROUP_EXPLORER], counts[RM_GROUP_EXPLORER], &veto);
        if (r2) r = r2 == ERROR_CANCELLED || !r ? r2 : r;
    }
    if (r == ERROR_SUCCESS || (r == ERROR_FAIL_SHUTDOWN && !veto))
    {
        err = r;
        if (!c->cancelled && (r = rm_gui_close(c, groups[RM_GROUP_GUI], counts[RM_GROUP_GUI]))) err = err ? err : r;
        if (!c->cancelled && (r = rm_console_close(c, groups[RM_GROUP_CONSOLE], counts[RM_GROUP_CONSOLE]))) err = err ? err : r;
        if (!c->cancelled && (r = rm_svc_stop_all(c, groups[RM_GROUP_SERVICE], counts[RM_GROUP_SERVICE]))) err = err ? err : r;
        if (!c->cancelled && (r = rm_gui_close(c, groups[RM_GROUP_EXPLORER], counts[RM_GROUP_EXPLORER]))) err = err ? err : r;
    }
    else
        err = r;
    if (c->cancelled) err = ERROR_CANCELLED;

done:
    for (g = 0; g < RM_GROUP_COUNT; g++)
    {
        for (i = 0; groups[g] && i < counts[g]; i++)
            if (groups[g][i].process) CloseHandle(groups[g][i].process);
        rm_free(groups[g]);
    }
    return err;
}

DWORD rm_shutdown(struct rm_session *s, ULONG flags, RM_WRITE_STATUS_CALLBACK cb)
{
    struct rm_call c;
    struct rm_app_list list;
    DWORD err, err2;

    memset(&c, 0, sizeof(c));
    if ((err = rm_session_begin_long(s))) return err;
    c.s = s;
    c.progress.cb = cb;
    if (!s->cancel_event || !(c.op = rm_op_create(s, !!(flags & RmForceShutdown))))
        err = ERROR_OUTOFMEMORY;
    else if (!(err = rm_store_sync(&s->store, &s->res)) && !(err = rm_discover(s, &list)))
    {
        c.svc_timeout = rm_op_service_timeout();
        err = do_shutdown(&c, &list, flags);
        /* Whatever happened is recorded, so RmRestart can bring back what stopped
         * even after a partial failure or a cancel. */
        if ((err2 = rm_history_record(&s->history, &list)) && !err) err = err2;
        if (err != ERROR_FAIL_NOACTION_REBOOT) s->shutdown_done = TRUE;
        if (err == ERROR_SUCCESS || err == ERROR_FAIL_SHUTDOWN) rm_progress_finish(&c.progress);
        rm_app_list_free(&list);
    }
    rm_call_finish(&c);
    rm_session_end_long(s);
    return err;
}

