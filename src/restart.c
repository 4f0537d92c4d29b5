/*
 * restart.c - RmRestart (spec 5.7, 8.1): brings back what this session's
 * RmShutdown calls stopped, in reverse order (Explorer, services with what they
 * depend on first, consoles in a new console, GUI applications), with the command
 * line captured before each was stopped (restart registration, or under Wine the
 * documented fallback), under the filters in force now. What cannot come back
 * (not restartable, elevated above the caller, another user's) stays stopped
 * without an error (event 10010); a failed start gives ErrorOnRestart and 352,
 * and the others still come back.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "operation.h"

static BOOL restart_app(struct rm_app *a)
{
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    WCHAR *cmd;
    SIZE_T n;
    BOOL ok;

    if (a->cmdline) cmd = rm_wcsdup_n(a->cmdline, rm_wcsnlen(a->cmdline, 32767));
    else
    {
        /* No command line could be captured: the executable alone. */
        n = rm_wcsnlen(a->image, MAX_PATH);
        if ((cmd = rm_alloc((n + 3) * sizeof(WCHAR))))
        {
            cmd[0] = L'"';
            memcpy(cmd + 1, a->image, n * sizeof(WCHAR));
            cmd[n + 1] = L'"';
        }
    }
    if (!cmd || !a->image[0]) { rm_free(cmd); return FALSE; }
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    /* Console applications come back in a new console (spec 5.7). */
    ok = CreateProcessW(a->image, cmd, NULL, NULL, FALSE,
                        a->group == RM_GROUP_CONSOLE ? CREATE_NEW_CONSOLE : 0, NULL,
                        a->cwd && a->cwd[0] ? a->cwd : NULL, &si, &pi);
    if (!ok) rm_fail(ERROR_FAIL_RESTART, GetLastError(), "CreateProcessW", cmd);
    rm_free(cmd);
    if (!ok) return FALSE;
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    return TRUE;
}

/* Applications come back only when they can: registered for restart (or under
 * the fallback policy), and neither elevated above the caller nor another user's.
 * Those that cannot are left stopped without an error (spec 5.7: they "must be
 * restarted by hand"), with event 10010. Services always come back. */
static BOOL restart_wanted(const struct rm_app *a)
{
    if (a->group == RM_GROUP_SERVICE) return TRUE;
    if (a->no_restart)
    {
        WCHAR pid[12];
        wsprintfW(pid, L"%lu", a->info.Process.dwProcessId);
        rm_event(RM_EVT_CANNOT_RESTART, EVENTLOG_WARNING_TYPE, a->info.strAppName, pid, a->no_restart);
        return FALSE;
    }
    if (!a->info.bRestartable)
    {
        rm_trace("not restarting %ls: not registered for restart", a->info.strAppName);
        return FALSE;
    }
    return TRUE;
}

/* Stopped by this session, not restarted yet, and not masked from restart by the
 * filters in force NOW: the latest RmAddFilter / RmRemoveFilter wins (spec 5.9),
 * so a filter added after RmShutdown keeps the application down and one removed
 * since lets it come back. RmNoShutdown also blocks a restart (spec 5.7); an
 * application masked from shutdown in one call and stopped by a later one is
 * restarted unless a filter says otherwise now. RestartMasked is set or cleared
 * to match, so RmGetList shows what RmRestart did. */
static BOOL awaits_restart(struct rm_session *s, struct rm_app *a)
{
    RM_FILTER_ACTION action;

    if (a->group < 0 || !(a->info.AppStatus & RmStatusStopped) || (a->info.AppStatus & RmStatusRestarted))
        return FALSE;
    action = rm_filters_match(&s->filters, &a->info, a->image);
    if (action == RmNoRestart || action == RmNoShutdown)
    {
        a->info.AppStatus |= RmStatusRestartMasked;
        rm_trace("not restarting %ls: a filter masks it", a->info.strAppName);
        return FALSE;
    }
    a->info.AppStatus &= ~(ULONG)RmStatusRestartMasked;
    return TRUE;
}

/* The history entries to restart, in order (spec 8.1, reverse of shutdown):
 * Explorer, services (each after what it depends on), consoles, GUI
 * applications (the reverse of the listed order). NULL when out of memory. */
static SIZE_T *restart_sequence(struct rm_call *c, struct rm_session *s, SIZE_T *count)
{
    static const int groups[RM_GROUP_COUNT] = { RM_GROUP_EXPLORER, RM_GROUP_SERVICE, RM_GROUP_CONSOLE, RM_GROUP_GUI };
    SIZE_T *seq = rm_alloc((s->history.count + 1) * sizeof(*seq)), n = 0, i, first, m;
    int g;

    *count = 0;
    if (!seq) return NULL;
    for (g = 0; g < RM_GROUP_COUNT; g++)
    {
        first = n;
        /* Services in listed order (what they depend on first) until sorted below;
         * the others in reverse. */
        for (i = 0; i < s->history.count; i++)
        {
            SIZE_T at = groups[g] == RM_GROUP_SERVICE ? i : s->history.count - 1 - i;
            if (s->history.items[at].group == groups[g] && awaits_restart(s, &s->history.items[at])) seq[n++] = at;
        }
        m = n - first;
        if (groups[g] == RM_GROUP_SERVICE && m > 1)
        {
            const WCHAR **names = rm_alloc(m * sizeof(*names));
            SIZE_T *order = NULL, *copy = rm_alloc(m * sizeof(*copy));
            if (names && copy)
            {
                for (i = 0; i < m; i++)
                {
                    copy[i] = seq[first + i];
                    names[i] = s->history.items[copy[i]].info.strServiceShortName;
                }
                if ((order = rm_svc_order(rm_call_scm(c), names, m, FALSE)))
                    for (i = 0; i < m; i++) seq[first + i] = copy[order[i]];
            }
            rm_free(order);
            rm_free(names);
            rm_free(copy);
        }
    }
    *count = n;
    return seq;
}

DWORD rm_restart(struct rm_session *s, RM_WRITE_STATUS_CALLBACK cb)
{
    struct rm_call c;
    DWORD err = ERROR_SUCCESS;
    SIZE_T i, j, *seq = NULL, nseq = 0;

    if ((err = rm_session_begin_long(s))) return err;
    if ((err = rm_store_check(&s->store)) || (!s->shutdown_done && (err = ERROR_REQUEST_OUT_OF_SEQUENCE)))
    {
        rm_session_end_long(s);
        return err;
    }
    memset(&c, 0, sizeof(c));
    c.s = s;
    c.progress.cb = cb;
    c.svc_timeout = rm_op_service_timeout();
    if (!(c.op = rm_op_create(s, FALSE))) err = ERROR_OUTOFMEMORY;

    if (!err && !(seq = restart_sequence(&c, s, &nseq))) err = ERROR_OUTOFMEMORY;
    c.progress.total = nseq;
    for (j = 0; j < nseq && !err; j++)
    {
        struct rm_app *a = &s->history.items[seq[j]];
        BOOL ok;

        if (rm_call_cancelled(&c)) { err = ERROR_CANCELLED; break; }
        if (!restart_wanted(a))
        {
            rm_progress_step(&c.progress);
            continue;
        }
        rm_event(RM_EVT_RESTARTING, EVENTLOG_INFORMATION_TYPE, a->info.strAppName);
        ok = a->group == RM_GROUP_SERVICE ? rm_svc_restart(&c, a->info.strServiceShortName) : restart_app(a);
        if (c.cancelled && !ok) { err = ERROR_CANCELLED; break; }
        a->info.AppStatus |= ok ? RmStatusRestarted : RmStatusErrorOnRestart;
        rm_trace("%s %ls", ok ? "restarted" : "could not restart", a->info.strAppName);
        if (!ok)
            rm_event(RM_EVT_RESTART_FAILED, EVENTLOG_ERROR_TYPE, a->info.strAppName);
        rm_progress_step(&c.progress);
        if (c.cancelled) { err = ERROR_CANCELLED; break; }
    }
    rm_free(seq);
    if (!err)
    {
        for (i = 0; i < s->history.count; i++)
            if ((s->history.items[i].info.AppStatus & RmStatusErrorOnRestart) &&
                !(s->history.items[i].info.AppStatus & RmStatusRestarted))
                err = ERROR_FAIL_RESTART;
        rm_progress_finish(&c.progress);
    }
    rm_call_finish(&c);
    rm_session_end_long(s);
    return err;
}
