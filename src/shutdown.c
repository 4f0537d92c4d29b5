/*
 * shutdown.c - RmShutdown, RmRestart and cancellation (spec 5.6-5.8 and 8).
 *
 * RmShutdown re-evaluates the list, refuses to act when a reboot is needed (350),
 * applies filters, and then closes four groups in order: GUI applications,
 * console applications, services, Explorer. Inside the GUI group every
 * application is handled at once on its own thread, in two phases with a barrier
 * between them: first every application is asked (WM_QUERYENDSESSION with
 * ENDSESSION_CLOSEAPP); only if none refuses (or the shutdown is forced) are they
 * told to close (WM_ENDSESSION, then WM_CLOSE to what is still alive), and waited
 * for. What has not exited after the hung-application timeout is terminated when
 * forced, and reported RmStatusErrorOnStop otherwise.
 *
 * A refusal (WM_QUERYENDSESSION answered FALSE) vetoes the whole shutdown, as the
 * end-session protocol says. An application that cannot be asked at all (a GUI
 * process without windows, such as a Chromium renderer) or does not answer in time
 * (hung) says nothing: without RmForceShutdown it is left running with
 * ErrorOnStop, the others are closed, and the call returns ERROR_FAIL_SHUTDOWN
 * ("some applications could not be shut down", spec 5.6; README, Choices).
 *
 * Waits are bounded and watch the session's cancel event, so RmCancelCurrentTask
 * ends the call within a poll interval. Worker threads are reference counted: a
 * worker still inside a SendMessageTimeout when the call returns finishes on its
 * own and frees its task; nothing is ever terminated but target processes.
 *
 * What was done is recorded in the session (s->history) so that RmGetList reports
 * it and RmRestart can bring back exactly what was stopped, in reverse order.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"

enum { GROUP_GUI, GROUP_CONSOLE, GROUP_SERVICE, GROUP_EXPLORER, GROUP_COUNT };

#define POLL_MS              20
#define DEFAULT_APP_TIMEOUT  30000   /* HungAppTimeout when unset (spec 5.6) */
#define DEFAULT_SVC_TIMEOUT  20000   /* WaitToKillServiceTimeout when unset */

/* ---- configuration --------------------------------------------------------------- */

/* A millisecond count stored as REG_SZ (as Windows does) or REG_DWORD. */
static DWORD read_timeout(HKEY root, const WCHAR *path, const WCHAR *name, DWORD fallback)
{
    WCHAR text[32];
    DWORD type, cb = sizeof(text) - sizeof(WCHAR), v = 0;
    HKEY key;
    int i;

    if (RegOpenKeyExW(root, path, 0, KEY_QUERY_VALUE, &key)) return fallback;
    memset(text, 0, sizeof(text));
    if (!RegQueryValueExW(key, name, NULL, &type, (BYTE *)text, &cb))
    {
        if (type == REG_DWORD && cb == sizeof(DWORD)) memcpy(&v, text, sizeof(v));
        else if (type == REG_SZ)
            for (i = 0; text[i] >= L'0' && text[i] <= L'9' && v < 100000000; i++) v = v * 10 + (DWORD)(text[i] - L'0');
    }
    RegCloseKey(key);
    return v ? v : fallback;
}

/* How long a service is given to stop or start (spec U16). */
static DWORD service_timeout(void)
{
    return read_timeout(HKEY_LOCAL_MACHINE, L"System\\CurrentControlSet\\Control", L"WaitToKillServiceTimeout",
                        DEFAULT_SVC_TIMEOUT);
}

/* ---- progress ---------------------------------------------------------------------------- */

/* Calls the progress callback. The SDK declares it without a calling convention
 * (cdecl on x86), but some bindings hand in a stdcall function that pops its own
 * argument; on x86 the stack pointer is therefore saved in a callee-saved register
 * and restored after the call, which is right for both (spec 2.4). */
static void call_progress(RM_WRITE_STATUS_CALLBACK cb, UINT percent)
{
#if defined(__i386__)
    __asm__ volatile("movl %%esp, %%esi\n\t"
                     "pushl %1\n\t"
                     "call *%0\n\t"
                     "movl %%esi, %%esp\n\t"
                     :
                     : "r"(cb), "r"(percent)
                     : "eax", "ecx", "edx", "esi", "memory", "cc");
#else
    cb(percent);
#endif
}

struct progress
{
    RM_WRITE_STATUS_CALLBACK cb;
    SIZE_T total, done;
    UINT last;                       /* last value reported; strictly increasing */
    BOOL any;
};

static void progress_step(struct progress *p)
{
    UINT pct;
    p->done++;
    if (!p->cb || !p->total) return;
    pct = (UINT)(p->done * 100 / p->total);
    if (pct > 100) pct = 100;
    if (pct < 100 && (!p->any || pct > p->last))   /* 100 is kept for the end */
    {
        p->last = pct;
        p->any = TRUE;
        rm_trace("progress %u", pct);
        call_progress(p->cb, pct);
    }
}

static void progress_finish(struct progress *p)
{
    if (!p->cb || (p->any && p->last == 100)) return;
    p->last = 100;
    p->any = TRUE;
    rm_trace("progress 100");
    call_progress(p->cb, 100);
}

/* ---- the operation and its tasks -------------------------------------------------------- */

struct op                            /* shared by the workers of one call */
{
    LONG refs;
    HANDLE cancel;                   /* our own duplicate of the session's event */
    DWORD app_timeout;
    BOOL force;
};

static void op_release(struct op *op)
{
    if (InterlockedDecrement(&op->refs)) return;
    if (op->cancel) CloseHandle(op->cancel);
    rm_free(op);
}

enum task_phase { PHASE_QUERY, PHASE_CLOSE };

struct task                          /* one GUI application on a worker thread */
{
    LONG refs;
    struct op *op;
    enum task_phase phase;
    DWORD pid;
    HANDLE process;                  /* SYNCHRONIZE | PROCESS_TERMINATE */
    HANDLE finished;                 /* set by the worker when done */
    BOOL was_hung;                   /* close phase: did not answer the query */
    /* results, read after finished: */
    BOOL refused, hung, no_windows, closed;
};

static void task_release(struct task *t)
{
    if (InterlockedDecrement(&t->refs)) return;
    op_release(t->op);
    if (t->process) CloseHandle(t->process);
    if (t->finished) CloseHandle(t->finished);
    rm_free(t);
}

struct window_list
{
    DWORD pid;
    HWND *items;
    SIZE_T count, cap;
};

static BOOL CALLBACK collect_window(HWND hwnd, LPARAM param)
{
    struct window_list *wl = (struct window_list *)param;
    DWORD pid = 0;
    GetWindowThreadProcessId(hwnd, &pid);
    if (pid != wl->pid) return TRUE;
    if (rm_grow((void **)&wl->items, &wl->cap, wl->count + 1, sizeof(*wl->items))) return FALSE;
    wl->items[wl->count++] = hwnd;
    return TRUE;
}

/* Waits for the process to exit, watching the cancel event. */
static BOOL wait_exit(struct task *t, DWORD timeout)
{
    HANDLE handles[2] = { t->process, t->op->cancel };
    return WaitForMultipleObjects(2, handles, FALSE, timeout) == WAIT_OBJECT_0;
}

static DWORD WINAPI gui_worker(void *arg)
{
    struct task *t = arg;
    struct window_list wl;
    DWORD_PTR result;
    SIZE_T i;

    memset(&wl, 0, sizeof(wl));
    wl.pid = t->pid;
    EnumWindows(collect_window, (LPARAM)&wl);
    t->no_windows = !wl.count;

    if (t->phase == PHASE_QUERY)
    {
        for (i = 0; i < wl.count && !t->refused && !t->hung; i++)
        {
            if (SendMessageTimeoutW(wl.items[i], WM_QUERYENDSESSION, 0, ENDSESSION_CLOSEAPP,
                                    SMTO_ABORTIFHUNG | SMTO_NORMAL, t->op->app_timeout, &result))
                t->refused = !result;
            else if (GetLastError() == ERROR_TIMEOUT || IsHungAppWindow(wl.items[i]))
                t->hung = TRUE;   /* does not answer: it cannot agree */
        }
    }
    else
    {
        /* Told to close: WM_ENDSESSION, then WM_CLOSE to whatever is still there,
         * then the time an application is given to exit. */
        if (!t->no_windows)
        {
            /* A window that did not answer the query gets no second blocking send:
             * it would only cost another timeout. */
            for (i = 0; i < wl.count && !t->was_hung && WaitForSingleObject(t->process, 0) == WAIT_TIMEOUT &&
                        WaitForSingleObject(t->op->cancel, 0) == WAIT_TIMEOUT; i++)
                SendMessageTimeoutW(wl.items[i], WM_ENDSESSION, TRUE, ENDSESSION_CLOSEAPP,
                                    SMTO_ABORTIFHUNG | SMTO_NORMAL, t->op->app_timeout, &result);
            for (i = 0; i < wl.count && WaitForSingleObject(t->process, 0) == WAIT_TIMEOUT &&
                        WaitForSingleObject(t->op->cancel, 0) == WAIT_TIMEOUT; i++)
                if (IsWindow(wl.items[i])) PostMessageW(wl.items[i], WM_CLOSE, 0, 0);
            t->closed = wait_exit(t, t->op->app_timeout);
        }
        if (!t->closed && t->op->force && WaitForSingleObject(t->op->cancel, 0) == WAIT_TIMEOUT &&
            WaitForSingleObject(t->process, 0) == WAIT_TIMEOUT)
        {
            TerminateProcess(t->process, ERROR_FAIL_SHUTDOWN);
            t->closed = WaitForSingleObject(t->process, 5000) == WAIT_OBJECT_0;
        }
        else if (!t->closed)
            t->closed = WaitForSingleObject(t->process, 0) == WAIT_OBJECT_0;
    }
    rm_free(wl.items);
    SetEvent(t->finished);
    task_release(t);
    rm_thread_exit();
}

static struct task *task_start(struct op *op, DWORD pid, HANDLE process, enum task_phase phase,
                               BOOL was_hung)
{
    struct task *t = rm_alloc(sizeof(*t));
    HANDLE thread;

    if (!t) return NULL;
    t->refs = 2;
    t->op = op;
    InterlockedIncrement(&op->refs);
    t->phase = phase;
    t->pid = pid;
    t->was_hung = was_hung;
    if (!DuplicateHandle(GetCurrentProcess(), process, GetCurrentProcess(), &t->process, 0, FALSE,
                         DUPLICATE_SAME_ACCESS) ||
        !(t->finished = CreateEventW(NULL, TRUE, FALSE, NULL)) ||
        !(thread = rm_thread_start(gui_worker, t)))
    {
        t->refs = 1;
        task_release(t);
        return NULL;
    }
    CloseHandle(thread);
    return t;
}

/* ---- one shutdown --------------------------------------------------------------------- */

struct target                        /* one application or service being shut down */
{
    struct rm_app *app;              /* in the call's list */
    HANDLE process;                  /* NULL for services */
    struct task *task;
    BOOL failed;
    BOOL hung;                       /* did not answer WM_QUERYENDSESSION */
    BOOL gone;                       /* exited by itself before it was asked */
    BOOL left;                       /* could not be asked and is not forced: not closed */
};

struct shutdown_ctx
{
    struct rm_session *s;
    struct op *op;
    struct progress progress;
    DWORD svc_timeout;
    BOOL cancelled;
};

static BOOL cancelled(struct shutdown_ctx *c)
{
    if (!c->cancelled && WaitForSingleObject(c->op->cancel, 0) == WAIT_OBJECT_0) c->cancelled = TRUE;
    return c->cancelled;
}

#define TASK_COLLECTED ((enum task_phase)-1)

/* Runs one phase for every target at once and waits for all, reporting progress
 * on this (the caller's) thread as they finish. A finished task is marked
 * TASK_COLLECTED (the worker no longer reads it). Returns FALSE if cancelled. */
static BOOL run_phase(struct shutdown_ctx *c, struct target *tg, SIZE_T n, enum task_phase phase)
{
    SIZE_T i, left = 0;

    for (i = 0; i < n; i++)
    {
        if (tg[i].gone || tg[i].left) continue;
        if (!tg[i].process) { tg[i].failed = TRUE; continue; }
        if ((tg[i].task = task_start(c->op, tg[i].app->info.Process.dwProcessId, tg[i].process, phase,
                                     tg[i].hung)))
            left++;
        else tg[i].failed = TRUE;
    }
    while (left && !cancelled(c))
    {
        WaitForSingleObject(c->op->cancel, POLL_MS);
        for (i = 0; i < n; i++)
        {
            struct task *t = tg[i].task;
            if (!t || t->phase == TASK_COLLECTED || WaitForSingleObject(t->finished, 0) != WAIT_OBJECT_0)
                continue;
            t->phase = TASK_COLLECTED;
            if (phase == PHASE_CLOSE) progress_step(&c->progress);
            left--;
        }
    }
    return !c->cancelled;
}

static void drop_tasks(struct target *tg, SIZE_T n)
{
    SIZE_T i;
    for (i = 0; i < n; i++)
        if (tg[i].task)
        {
            task_release(tg[i].task);
            tg[i].task = NULL;
        }
}

static void set_stopped(struct rm_app *a, BOOL ok)
{
    a->info.AppStatus |= ok ? RmStatusStopped : RmStatusErrorOnStop;
    rm_trace("%s %ls (pid %lu)", ok ? "stopped" : "could not stop", a->info.strAppName,
             a->info.Process.dwProcessId);
    if (!ok)
        rm_event(RM_EVT_SHUTDOWN_FAILED, EVENTLOG_ERROR_TYPE, a->info.strAppName);
}

/* Event 10002, once per application or service RmShutdown acts on. */
static void log_shutting_down(struct target *tg, SIZE_T n)
{
    SIZE_T i;
    for (i = 0; i < n; i++)
        rm_event(RM_EVT_SHUTTING_DOWN, EVENTLOG_INFORMATION_TYPE, tg[i].app->info.strAppName);
}

/* The query phase of windowed applications (GUI and Explorer): every one is asked
 * at once. Returns 0, ERROR_FAIL_SHUTDOWN when one refused, hung or has no window
 * (ErrorOnStop on it; only force closes those), or ERROR_CANCELLED; *veto is set
 * when one refused (then nothing is closed). One that has exited meanwhile is not a
 * refusal: StoppedOther, and nothing more to do. */
static DWORD ask_windowed(struct shutdown_ctx *c, struct target *tg, SIZE_T n, BOOL *veto)
{
    SIZE_T i;
    BOOL failed = FALSE;

    if (!n) return ERROR_SUCCESS;
    log_shutting_down(tg, n);
    if (!run_phase(c, tg, n, PHASE_QUERY)) { drop_tasks(tg, n); return ERROR_CANCELLED; }
    for (i = 0; i < n; i++)
    {
        struct task *t = tg[i].task;
        BOOL refused = t && t->refused, unreachable = !t || t->hung || t->no_windows;
        tg[i].hung = t && t->hung;
        if (tg[i].process && WaitForSingleObject(tg[i].process, 0) == WAIT_OBJECT_0)
        {
            tg[i].app->info.AppStatus |= RmStatusStoppedOther;
            tg[i].gone = TRUE;
        }
        else if ((refused || unreachable) && !c->op->force)
        {
            rm_trace("%ls (pid %lu) %s", tg[i].app->info.strAppName, tg[i].app->info.Process.dwProcessId,
                     refused ? "refused to end its session: nothing is closed"
                     : tg[i].hung ? "does not answer: left running, the others are closed"
                     : "has no window to ask: left running, the others are closed");
            set_stopped(tg[i].app, FALSE);
            tg[i].left = TRUE;
            if (refused) *veto = TRUE;
            failed = TRUE;
        }
    }
    drop_tasks(tg, n);
    return failed ? ERROR_FAIL_SHUTDOWN : ERROR_SUCCESS;
}

/* The close phase, once every windowed application agreed (or the caller forces). */
static DWORD close_windowed(struct shutdown_ctx *c, struct target *tg, SIZE_T n)
{
    SIZE_T i;
    DWORD err = ERROR_SUCCESS;

    if (!n) return ERROR_SUCCESS;
    if (!run_phase(c, tg, n, PHASE_CLOSE)) err = ERROR_CANCELLED;
    for (i = 0; i < n; i++)
    {
        struct task *t = tg[i].task;
        if (tg[i].gone || tg[i].left) continue;
        if (t && t->phase == TASK_COLLECTED) set_stopped(tg[i].app, t->closed);
        else if (tg[i].process && WaitForSingleObject(tg[i].process, 0) == WAIT_OBJECT_0)
            set_stopped(tg[i].app, TRUE);   /* cancelled, but it did exit */
        else if (!err)
            set_stopped(tg[i].app, FALSE);
        if (!err && (tg[i].app->info.AppStatus & RmStatusErrorOnStop)) err = ERROR_FAIL_SHUTDOWN;
    }
    drop_tasks(tg, n);
    return err;
}

/* ---- console applications ------------------------------------------------------------ */

static SRWLOCK console_lock = SRWLOCK_INIT;
static volatile LONG ctrl_c_pending;   /* our own copies not delivered yet */
static HANDLE ctrl_c_seen;
static BOOL handler_installed;
static BOOL module_pinned;

/* While we are attached to a target's console to send it CTRL_C, our process
 * receives the event too: this handler keeps it from ending the installer. It
 * counts the events we generated and swallows that many, however late they
 * arrive (a late one must not reach the default handler, which would exit). */
static BOOL WINAPI swallow_handler(DWORD type)
{
    LONG left;
    if (type != CTRL_C_EVENT) return FALSE;
    do
    {
        left = ctrl_c_pending;
        if (left <= 0) return FALSE;
    } while (InterlockedCompareExchange(&ctrl_c_pending, left - 1, left) != left);
    if (ctrl_c_seen) SetEvent(ctrl_c_seen);
    return TRUE;
}

static BOOL CALLBACK console_init(INIT_ONCE *once, void *param, void **ctx)
{
    (void)once; (void)param; (void)ctx;
    ctrl_c_seen = CreateEventW(NULL, FALSE, FALSE, NULL);
    handler_installed = SetConsoleCtrlHandler(swallow_handler, TRUE);
    if (!handler_installed) rm_trace("console: SetConsoleCtrlHandler failed (%lu)", GetLastError());
    return TRUE;
}

/* Our copy of a CTRL_C we generated has not arrived yet: it may come at any time,
 * and must still find swallow_handler, or the default handler ends the caller. The
 * DLL then stays loaded for the life of the process (a rare case: the copy
 * normally arrives within milliseconds). */
static void keep_handler_for_late_copy(void)
{
    HMODULE m;
    if (module_pinned || ctrl_c_pending <= 0) return;
    if (GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_PIN,
                           (LPCWSTR)(void *)swallow_handler, &m))
        module_pinned = TRUE;
    rm_trace("console: a CTRL_C copy is still on its way; the DLL stays loaded (%s)",
             module_pinned ? "pinned" : "pin failed");
}

void rm_console_unload(void)
{
    /* Not pinned, so no copy is pending (pinned, this never runs). */
    if (handler_installed) SetConsoleCtrlHandler(swallow_handler, FALSE);
    handler_installed = FALSE;
    if (ctrl_c_seen) CloseHandle(ctrl_c_seen);
    ctrl_c_seen = NULL;
}

#define CONSOLE_LIST_MAX 256

/* Attaches to the console of one of the processes in pids (our original console),
 * skipping ourselves. */
static BOOL reattach(const DWORD *pids, DWORD n)
{
    DWORD i, self = GetCurrentProcessId();
    for (i = 0; i < n; i++)
        if (pids[i] != self && AttachConsole(pids[i])) return TRUE;
    return FALSE;
}

/* Sends CTRL_C_EVENT to a console application. A process can only signal the
 * console it is attached to, so we briefly leave ours, attach to the target's,
 * signal it (our own copy of the event is swallowed), and come back:
 *  - no console, or one no process is listed in (Wine gives programs started from
 *    a Unix shell an invisible console that blocks AttachConsole until freed):
 *    detach, signal, detach;
 *  - a console shared with other processes (an installer run from cmd.exe):
 *    detach, signal, detach, then attach again through one of those processes;
 *  - a console we are alone in (detaching would destroy it) or the target's own
 *    console being ours (the event would reach every process in it): not
 *    possible politely; the application can then only be closed by force.
 * Standard handles that were not console handles (pipes, files) are put back
 * as they were; console ones are those of the console we are back in. Other
 * threads of the caller that write to the console during the few milliseconds
 * away fail and may retry (README, "Choices"). */
static BOOL send_ctrl_c(DWORD pid)
{
    static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
    static const DWORD std_ids[3] = { STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE };
    HANDLE std_handles[3];
    BOOL std_console[3];
    DWORD *pids, n, mode, i;
    BOOL ok = FALSE, possible = TRUE, away = FALSE;

    if (!(pids = rm_alloc(CONSOLE_LIST_MAX * sizeof(DWORD)))) return FALSE;
    InitOnceExecuteOnce(&once, console_init, NULL, NULL);
    AcquireSRWLockExclusive(&console_lock);
    n = GetConsoleProcessList(pids, CONSOLE_LIST_MAX);
    if (n > CONSOLE_LIST_MAX) possible = FALSE;          /* too many to be sure */
    for (i = 0; i < n && possible; i++)
        if (pids[i] == pid) possible = FALSE;           /* it shares our console */
    if (n == 1) possible = FALSE;                        /* ours alone */
    if (possible)
    {
        for (i = 0; i < 3; i++)
        {
            std_handles[i] = GetStdHandle(std_ids[i]);
            std_console[i] = GetConsoleMode(std_handles[i], &mode);
        }
        FreeConsole();
        away = TRUE;
        if (AttachConsole(pid))
        {
            if (ctrl_c_seen) ResetEvent(ctrl_c_seen);
            InterlockedIncrement(&ctrl_c_pending);
            ok = GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0);
            if (!ok) InterlockedDecrement(&ctrl_c_pending);
            /* Give our own copy a moment to arrive while we are still attached
             * (it is swallowed whenever it comes). */
            else if (ctrl_c_seen) WaitForSingleObject(ctrl_c_seen, 500);
            FreeConsole();
            keep_handler_for_late_copy();
        }
        if (n > 1 && !reattach(pids, n))
            rm_trace("CTRL_C to %lu: could not attach to the caller's console again (%lu)", pid, GetLastError());
        for (i = 0; i < 3; i++)
            if (!std_console[i] || n == 0) SetStdHandle(std_ids[i], std_handles[i]);
    }
    ReleaseSRWLockExclusive(&console_lock);
    rm_free(pids);
    rm_trace("CTRL_C to %lu: %s", pid, ok ? "sent" : away ? "failed" : "not possible");
    return ok;
}

static DWORD close_consoles(struct shutdown_ctx *c, struct target *tg, SIZE_T n)
{
    SIZE_T i;
    DWORD err = ERROR_SUCCESS, start;

    if (!n) return ERROR_SUCCESS;
    if (cancelled(c)) return ERROR_CANCELLED;
    log_shutting_down(tg, n);
    for (i = 0; i < n; i++)
        if (tg[i].process && !send_ctrl_c(tg[i].app->info.Process.dwProcessId) && !c->op->force)
            tg[i].failed = TRUE;
    /* All of them exit at once; wait for each within the common deadline. */
    start = GetTickCount();
    for (i = 0; i < n; i++)
    {
        DWORD spent = GetTickCount() - start, left = spent < c->op->app_timeout ? c->op->app_timeout - spent : 0;
        HANDLE h[2] = { tg[i].process, c->op->cancel };
        BOOL exited = FALSE;
        if (tg[i].process && !tg[i].failed)
        {
            DWORD w = WaitForMultipleObjects(2, h, FALSE, left);
            if (w == WAIT_OBJECT_0 + 1)
            {
                /* Cancelled: what has exited by now is recorded as stopped, so
                 * that RmRestart brings it back. */
                SIZE_T j;
                for (j = i; j < n; j++)
                    if (tg[j].process && WaitForSingleObject(tg[j].process, 0) == WAIT_OBJECT_0)
                        set_stopped(tg[j].app, TRUE);
                c->cancelled = TRUE;
                err = ERROR_CANCELLED;
                break;
            }
            exited = w == WAIT_OBJECT_0;
        }
        if (!exited && tg[i].process && c->op->force)
        {
            TerminateProcess(tg[i].process, ERROR_FAIL_SHUTDOWN);
            exited = WaitForSingleObject(tg[i].process, 5000) == WAIT_OBJECT_0;
        }
        set_stopped(tg[i].app, exited);
        if (!exited) err = ERROR_FAIL_SHUTDOWN;
        progress_step(&c->progress);
    }
    return err;
}

/* ---- services ------------------------------------------------------------------------- */

static BOOL wait_service_state(struct shutdown_ctx *c, SC_HANDLE svc, DWORD want, DWORD timeout)
{
    SERVICE_STATUS_PROCESS st;
    DWORD got, start = GetTickCount();
    for (;;)
    {
        if (!QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (BYTE *)&st, sizeof(st), &got)) return FALSE;
        if (st.dwCurrentState == want) return TRUE;
        if (GetTickCount() - start >= timeout || cancelled(c)) return FALSE;
        WaitForSingleObject(c->op->cancel, POLL_MS);
    }
}

/* Indexes of the n services in an order that respects their dependencies within
 * the set: for stopping, each after every member that depends on it; for
 * starting, each after every member it depends on. Dependencies come from the
 * SCM (or its registry data, services.c). Should a cycle appear (the SCM forbids
 * them), the rest keep their listed order. NULL when out of memory: the caller
 * then uses the listed order (dependents after what they depend on, discover.c). */
static SIZE_T *service_order(SC_HANDLE scm, const WCHAR *const *names, SIZE_T n, BOOL stopping)
{
    WCHAR **deps = rm_alloc(n * sizeof(*deps));
    SIZE_T *order = rm_alloc(n * sizeof(*order)), out = 0, i, j;
    BOOL *done = rm_alloc(n * sizeof(*done));

    if (!deps || !order || !done)
    {
        rm_free(deps);
        rm_free(order);
        rm_free(done);
        return NULL;
    }
    for (i = 0; i < n; i++) deps[i] = scm ? rm_service_dependencies(scm, names[i]) : NULL;
    while (out < n)
    {
        BOOL progress = FALSE;
        for (i = 0; i < n; i++)
        {
            BOOL blocked = FALSE;
            if (done[i]) continue;
            for (j = 0; j < n && !blocked; j++)
                if (j != i && !done[j])
                    blocked = stopping ? rm_multi_sz_has(deps[j], names[i]) : rm_multi_sz_has(deps[i], names[j]);
            if (blocked) continue;
            done[i] = TRUE;
            order[out++] = i;
            progress = TRUE;
        }
        for (i = 0; !progress && i < n; i++)
            if (!done[i])
            {
                done[i] = TRUE;
                order[out++] = i;
                progress = TRUE;
            }
    }
    for (i = 0; i < n; i++) rm_free(deps[i]);
    rm_free(deps);
    rm_free(done);
    return order;
}

/* Stops one service (and, forced, ends its process). Returns TRUE when it is
 * stopped, or, after a cancel, on its way down (then RmRestart must start it). */
static BOOL stop_service(struct shutdown_ctx *c, SC_HANDLE scm, struct target *t)
{
    SC_HANDLE svc = scm ? OpenServiceW(scm, t->app->info.strServiceShortName,
                                       SERVICE_STOP | SERVICE_QUERY_STATUS) : NULL;
    SERVICE_STATUS st;
    BOOL ok = FALSE;
    DWORD e;

    if (!svc) return FALSE;
    /* A service already on its way down cannot take the control: wait for it. */
    if (ControlService(svc, SERVICE_CONTROL_STOP, &st) || (e = GetLastError()) == ERROR_SERVICE_NOT_ACTIVE ||
        e == ERROR_SERVICE_CANNOT_ACCEPT_CTRL)
        ok = wait_service_state(c, svc, SERVICE_STOPPED, c->svc_timeout);
    if (!ok && c->cancelled && QueryServiceStatus(svc, &st))
        ok = st.dwCurrentState == SERVICE_STOPPED || st.dwCurrentState == SERVICE_STOP_PENDING;
    else if (!ok && c->op->force && t->process)
    {
        /* Forced after WaitToKillServiceTimeout: end its process. */
        TerminateProcess(t->process, ERROR_FAIL_SHUTDOWN);
        ok = WaitForSingleObject(t->process, 5000) == WAIT_OBJECT_0;
    }
    CloseServiceHandle(svc);
    return ok;
}

/* Dependents before what they depend on (spec 8.4). */
static DWORD stop_services(struct shutdown_ctx *c, struct target *tg, SIZE_T n)
{
    SC_HANDLE scm;
    const WCHAR **names;
    SIZE_T *order = NULL, k;
    DWORD err = ERROR_SUCCESS;

    if (!n) return ERROR_SUCCESS;
    if (cancelled(c)) return ERROR_CANCELLED;
    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    if ((names = rm_alloc(n * sizeof(*names))))
    {
        for (k = 0; k < n; k++) names[k] = tg[k].app->info.strServiceShortName;
        order = service_order(scm, names, n, TRUE);
        rm_free(names);
    }
    log_shutting_down(tg, n);
    for (k = 0; k < n; k++)
    {
        struct target *t = &tg[order ? order[k] : n - 1 - k];
        BOOL ok;

        if (cancelled(c)) { err = ERROR_CANCELLED; break; }
        ok = stop_service(c, scm, t);
        if (c->cancelled)
        {
            if (ok) set_stopped(t->app, TRUE);
            err = ERROR_CANCELLED;
            break;
        }
        set_stopped(t->app, ok);
        if (!ok) err = ERROR_FAIL_SHUTDOWN;
        progress_step(&c->progress);
    }
    rm_free(order);
    if (scm) CloseServiceHandle(scm);
    return err;
}

/* ---- RmShutdown ----------------------------------------------------------------------- */

static int group_of(const RM_PROCESS_INFO *info)
{
    switch (info->ApplicationType)
    {
    case RmConsole: return GROUP_CONSOLE;
    case RmService: return GROUP_SERVICE;
    case RmExplorer: return GROUP_EXPLORER;
    default: return GROUP_GUI;   /* main window, other window, unknown */
    }
}

/* Records what this call did in the session, merging with earlier calls. */
static DWORD record_history(struct rm_session *s, struct rm_app_list *list)
{
    SIZE_T i, j;
    DWORD err;

    for (i = 0; i < list->count; i++)
    {
        struct rm_app *a = &list->items[i];
        BOOL found = FALSE;
        if (!(a->info.AppStatus & ~(ULONG)RmStatusRunning)) continue;   /* untouched */
        for (j = 0; j < s->history.count && !found; j++)
        {
            struct rm_app *h = &s->history.items[j];
            if (h->info.Process.dwProcessId == a->info.Process.dwProcessId &&
                !memcmp(&h->info.Process.ProcessStartTime, &a->info.Process.ProcessStartTime, sizeof(FILETIME)) &&
                !rm_wcsicmp(h->info.strServiceShortName, a->info.strServiceShortName))
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
        if ((err = rm_grow((void **)&s->history.items, &s->history.cap, s->history.count + 1,
                           sizeof(*s->history.items))))
            return err;
        s->history.items[s->history.count++] = *a;
        a->cmdline = a->cwd = NULL;   /* moved */
    }
    return ERROR_SUCCESS;
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

/* Event 10005; its string lists the entries that need the reboot, one
 * "Application <name>" line each, as Windows' event data does. */
static void log_reboot_required(const struct rm_app_list *list)
{
    WCHAR text[900];
    SIZE_T i, used = 0;

    text[0] = 0;
    for (i = 0; i < list->count && used < ARRAYSIZE(text) - CCH_RM_MAX_APP_NAME - 20; i++)
        if (list->items[i].info.ApplicationType == RmCritical)
            used += (SIZE_T)wsprintfW(text + used, L"\r\nApplication %s", list->items[i].info.strAppName);
    rm_event(RM_EVT_REBOOT_REQUIRED, EVENTLOG_INFORMATION_TYPE, text);
}

/* Logged when the session's reboot reasons become non-zero, whichever of RmGetList
 * and RmShutdown finds it (spec U10): once per change, not on every call of an
 * installer's list loop. */
void rm_note_reboot(struct rm_session *s, const struct rm_app_list *list)
{
    BOOL becomes = list->reboot_reasons && !s->reboot_reasons;
    s->reboot_reasons = list->reboot_reasons;
    if (becomes) log_reboot_required(list);
}

/* Why an application we are about to stop could not be brought back by this
 * caller (spec 5.7: not restarted when it runs elevated and the caller does not,
 * or as another user), or NULL. */
static const WCHAR *restart_obstacle(HANDLE process)
{
    const struct rm_self *self;
    union { TOKEN_USER user; BYTE raw[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE]; } u;
    TOKEN_ELEVATION elevation;
    const WCHAR *why = NULL;
    HANDLE token;
    DWORD cb;

    if (rm_self_get(&self) || !OpenProcessToken(process, TOKEN_QUERY, &token)) return NULL;
    if (GetTokenInformation(token, TokenUser, &u, sizeof(u), &cb) &&
        !EqualSid(u.user.User.Sid, (PSID)self->sid_bin))
        why = L"Application SID does not match Conductor SID.";
    else if (!self->elevated &&
             GetTokenInformation(token, TokenElevation, &elevation, sizeof(elevation), &cb) &&
             elevation.TokenIsElevated)
        why = L"Application is elevated and the caller is not.";
    CloseHandle(token);
    return why;
}

static DWORD do_shutdown(struct shutdown_ctx *c, struct rm_app_list *list, ULONG flags)
{
    struct rm_session *s = c->s;
    struct target *groups[GROUP_COUNT] = { NULL };
    SIZE_T counts[GROUP_COUNT] = { 0 }, i;
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

    for (g = 0; g < GROUP_COUNT; g++)
        if (!(groups[g] = rm_alloc((list->count + 1) * sizeof(struct target)))) { err = ERROR_OUTOFMEMORY; goto done; }
    for (i = 0; i < list->count; i++)
    {
        struct rm_app *a = &list->items[i];
        struct target *t;
        if (a->group < 0) continue;
        t = &groups[a->group][counts[a->group]];
        t->app = a;
        t->process = open_target(a);
        if (!t->process && a->group != GROUP_SERVICE)
        {
            /* Gone since the list was made: someone else stopped it. */
            a->info.AppStatus |= RmStatusStoppedOther;
            continue;
        }
        counts[a->group]++;
        c->progress.total++;
        /* The restart command must be captured now: it is gone once the
         * application has exited. */
        if (a->group != GROUP_SERVICE && a->info.bRestartable && t->process)
        {
            a->no_restart = restart_obstacle(t->process);
            if (!a->no_restart)
                rm_proc_restart_command(a->info.Process.dwProcessId, a->image, &a->cmdline, &a->cwd);
        }
    }

    /* Every windowed application, Explorer included, is asked before anything is
     * closed: one refusal and nothing at all is (unless forced). Then the groups
     * close in their fixed order (spec 8.1), each finishing first. */
    r = ask_windowed(c, groups[GROUP_GUI], counts[GROUP_GUI], &veto);
    if (r != ERROR_CANCELLED)
    {
        DWORD r2 = ask_windowed(c, groups[GROUP_EXPLORER], counts[GROUP_EXPLORER], &veto);
        if (r2) r = r2 == ERROR_CANCELLED || !r ? r2 : r;
    }
    if (r == ERROR_SUCCESS || (r == ERROR_FAIL_SHUTDOWN && !veto))
    {
        err = r;
        if (!c->cancelled && (r = close_windowed(c, groups[GROUP_GUI], counts[GROUP_GUI]))) err = err ? err : r;
        if (!c->cancelled && (r = close_consoles(c, groups[GROUP_CONSOLE], counts[GROUP_CONSOLE]))) err = err ? err : r;
        if (!c->cancelled && (r = stop_services(c, groups[GROUP_SERVICE], counts[GROUP_SERVICE]))) err = err ? err : r;
        if (!c->cancelled && (r = close_windowed(c, groups[GROUP_EXPLORER], counts[GROUP_EXPLORER]))) err = err ? err : r;
    }
    else
        err = r;
    if (c->cancelled) err = ERROR_CANCELLED;

done:
    for (g = 0; g < GROUP_COUNT; g++)
    {
        for (i = 0; groups[g] && i < counts[g]; i++)
            if (groups[g][i].process) CloseHandle(groups[g][i].process);
        rm_free(groups[g]);
    }
    return err;
}

static struct op *op_create(struct rm_session *s, BOOL force)
{
    struct op *op = rm_alloc(sizeof(*op));
    if (!op) return NULL;
    op->refs = 1;
    op->force = force;
    op->app_timeout = read_timeout(HKEY_CURRENT_USER, L"Control Panel\\Desktop", L"HungAppTimeout",
                                   DEFAULT_APP_TIMEOUT);
    if (!DuplicateHandle(GetCurrentProcess(), s->cancel_event, GetCurrentProcess(), &op->cancel, 0, FALSE,
                         DUPLICATE_SAME_ACCESS))
    {
        rm_free(op);
        return NULL;
    }
    return op;
}

DWORD rm_shutdown(struct rm_session *s, ULONG flags, RM_WRITE_STATUS_CALLBACK cb)
{
    struct shutdown_ctx c;
    struct rm_app_list list;
    DWORD err, err2;

    memset(&c, 0, sizeof(c));
    rm_operation_announce(s);
    if ((err = rm_session_lock_long(s)))
    {
        rm_operation_withdraw(s);
        return err;
    }
    rm_operation_begin(s);
    c.s = s;
    c.progress.cb = cb;
    if (!s->cancel_event || !(c.op = op_create(s, !!(flags & RmForceShutdown))))
        err = ERROR_OUTOFMEMORY;
    else if (!(err = rm_store_sync(&s->store, &s->res)) && !(err = rm_discover(s, &list)))
    {
        c.svc_timeout = service_timeout();
        err = do_shutdown(&c, &list, flags);
        /* Whatever happened is recorded, so RmRestart can bring back what stopped
         * even after a partial failure or a cancel. */
        if ((err2 = record_history(s, &list)) && !err) err = err2;
        if (err != ERROR_FAIL_NOACTION_REBOOT) s->shutdown_done = TRUE;
        if (err == ERROR_SUCCESS || err == ERROR_FAIL_SHUTDOWN) progress_finish(&c.progress);
        rm_app_list_free(&list);
    }
    if (c.op) op_release(c.op);
    rm_operation_end(s);
    rm_session_unlock(s);
    return err;
}

/* ---- RmRestart ------------------------------------------------------------------------- */

static BOOL restart_service(struct shutdown_ctx *c, const WCHAR *name)
{
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT), svc;
    BOOL ok = FALSE;

    if (!scm) return FALSE;
    if ((svc = OpenServiceW(scm, name, SERVICE_START | SERVICE_QUERY_STATUS)))
    {
        if (StartServiceW(svc, 0, NULL) || GetLastError() == ERROR_SERVICE_ALREADY_RUNNING)
            ok = wait_service_state(c, svc, SERVICE_RUNNING, c->svc_timeout);
        CloseServiceHandle(svc);
    }
    CloseServiceHandle(scm);
    return ok;
}

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
                        a->group == GROUP_CONSOLE ? CREATE_NEW_CONSOLE : 0, NULL,
                        a->cwd && a->cwd[0] ? a->cwd : NULL, &si, &pi);
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
    if (a->group == GROUP_SERVICE) return TRUE;
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
static SIZE_T *restart_sequence(struct rm_session *s, SIZE_T *count)
{
    static const int groups[GROUP_COUNT] = { GROUP_EXPLORER, GROUP_SERVICE, GROUP_CONSOLE, GROUP_GUI };
    SIZE_T *seq = rm_alloc((s->history.count + 1) * sizeof(*seq)), n = 0, i, first, m;
    int g;

    *count = 0;
    if (!seq) return NULL;
    for (g = 0; g < GROUP_COUNT; g++)
    {
        first = n;
        /* Services in listed order (what they depend on first) until sorted below;
         * the others in reverse. */
        for (i = 0; i < s->history.count; i++)
        {
            SIZE_T at = groups[g] == GROUP_SERVICE ? i : s->history.count - 1 - i;
            if (s->history.items[at].group == groups[g] && awaits_restart(s, &s->history.items[at])) seq[n++] = at;
        }
        m = n - first;
        if (groups[g] == GROUP_SERVICE && m > 1)
        {
            const WCHAR **names = rm_alloc(m * sizeof(*names));
            SIZE_T *order = NULL, *copy = rm_alloc(m * sizeof(*copy));
            SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
            if (names && copy)
            {
                for (i = 0; i < m; i++)
                {
                    copy[i] = seq[first + i];
                    names[i] = s->history.items[copy[i]].info.strServiceShortName;
                }
                if ((order = service_order(scm, names, m, FALSE)))
                    for (i = 0; i < m; i++) seq[first + i] = copy[order[i]];
            }
            if (scm) CloseServiceHandle(scm);
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
    struct shutdown_ctx c;
    DWORD err = ERROR_SUCCESS;
    SIZE_T i, j, *seq = NULL, nseq = 0;

    rm_operation_announce(s);
    if ((err = rm_session_lock_long(s)))
    {
        rm_operation_withdraw(s);
        return err;
    }
    if ((err = rm_store_check(&s->store)) || (!s->shutdown_done && (err = ERROR_REQUEST_OUT_OF_SEQUENCE)))
    {
        rm_session_unlock(s);
        rm_operation_withdraw(s);
        return err;
    }
    rm_operation_begin(s);
    memset(&c, 0, sizeof(c));
    c.s = s;
    c.progress.cb = cb;
    c.svc_timeout = service_timeout();
    if (!(c.op = op_create(s, FALSE))) err = ERROR_OUTOFMEMORY;

    if (!err && !(seq = restart_sequence(s, &nseq))) err = ERROR_OUTOFMEMORY;
    c.progress.total = nseq;
    for (j = 0; j < nseq && !err; j++)
    {
        struct rm_app *a = &s->history.items[seq[j]];
        BOOL ok;

        if (cancelled(&c)) { err = ERROR_CANCELLED; break; }
        if (!restart_wanted(a))
        {
            progress_step(&c.progress);
            continue;
        }
        rm_event(RM_EVT_RESTARTING, EVENTLOG_INFORMATION_TYPE, a->info.strAppName);
        ok = a->group == GROUP_SERVICE ? restart_service(&c, a->info.strServiceShortName) : restart_app(a);
        if (c.cancelled && !ok) { err = ERROR_CANCELLED; break; }
        a->info.AppStatus |= ok ? RmStatusRestarted : RmStatusErrorOnRestart;
        rm_trace("%s %ls", ok ? "restarted" : "could not restart", a->info.strAppName);
        if (!ok)
            rm_event(RM_EVT_RESTART_FAILED, EVENTLOG_ERROR_TYPE, a->info.strAppName);
        progress_step(&c.progress);
        if (c.cancelled) { err = ERROR_CANCELLED; break; }
    }
    rm_free(seq);
    if (!err)
    {
        for (i = 0; i < s->history.count; i++)
            if ((s->history.items[i].info.AppStatus & RmStatusErrorOnRestart) &&
                !(s->history.items[i].info.AppStatus & RmStatusRestarted))
                err = ERROR_FAIL_RESTART;
        progress_finish(&c.progress);
    }
    if (c.op) op_release(c.op);
    rm_operation_end(s);
    rm_session_unlock(s);
    return err;
}

/* ---- cancellation ------------------------------------------------------------------------ */

/* Each operation gets an event of its own: workers of an earlier, cancelled one
 * may still be waiting on theirs (a duplicate held by their op), and must keep
 * seeing it set; resetting a shared event would revive them. */
void rm_operation_announce(struct rm_session *s)
{
    AcquireSRWLockExclusive(&s->cancel_lock);
    s->entering++;
    ReleaseSRWLockExclusive(&s->cancel_lock);
}

void rm_operation_withdraw(struct rm_session *s)
{
    AcquireSRWLockExclusive(&s->cancel_lock);
    if (s->entering > 0 && !--s->entering) s->cancel_early = FALSE;
    ReleaseSRWLockExclusive(&s->cancel_lock);
}

void rm_operation_begin(struct rm_session *s)
{
    HANDLE fresh = CreateEventW(NULL, TRUE, FALSE, NULL);
    BOOL early;

    AcquireSRWLockExclusive(&s->cancel_lock);
    if (s->cancel_event) CloseHandle(s->cancel_event);
    s->cancel_event = fresh;
    /* A cancel that came while this call waited for its turn applies to it. */
    early = s->cancel_early;
    if (s->entering > 0 && !--s->entering) s->cancel_early = FALSE;
    InterlockedExchange(&s->cancel, early);
    if (early && fresh) SetEvent(fresh);
    InterlockedExchange(&s->busy, 1);
    ReleaseSRWLockExclusive(&s->cancel_lock);
}

void rm_operation_end(struct rm_session *s)
{
    AcquireSRWLockExclusive(&s->cancel_lock);
    InterlockedExchange(&s->busy, 0);
    ReleaseSRWLockExclusive(&s->cancel_lock);
}

void rm_cancel_request(struct rm_session *s)
{
    /* Only a running operation is cancelled (spec U17): the next one starts clean. */
    AcquireSRWLockExclusive(&s->cancel_lock);
    if (s->busy)
    {
        InterlockedExchange(&s->cancel, 1);
        if (s->cancel_event) SetEvent(s->cancel_event);
    }
    else if (s->entering) s->cancel_early = TRUE;   /* for the call about to begin */
    ReleaseSRWLockExclusive(&s->cancel_lock);
}
