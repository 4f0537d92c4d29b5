/*
 * gui.c - closing GUI applications and Explorer: the end-session protocol
 * (spec 8.2).
 *
 * Every application is handled at once, each on a worker thread of its own, in
 * two phases with a barrier between them: first every one is asked
 * (WM_QUERYENDSESSION with ENDSESSION_CLOSEAPP); then, unless one refused (or the
 * call forces), every one is told (WM_ENDSESSION), sent WM_CLOSE if still there,
 * and waited for; forced, what has not exited after HungAppTimeout is terminated.
 *
 * Why one worker per application, not one message loop sending to all as a
 * system shutdown does: the Rm* calls arrive on an installer's thread, which must
 * not pump messages (a reentrant message would run the installer's window
 * procedure in the middle of our call), and SendMessageTimeout to a hung window
 * blocks the sender for the whole timeout: in parallel, N applications cost one
 * timeout, not N. A worker still inside a send when the call returns (after a
 * cancel) finishes on its own: it holds references on its task, the call's
 * state and the DLL (rm_thread_start), and nothing is ever terminated but target
 * processes.
 *
 * A refusal (WM_QUERYENDSESSION answered FALSE) vetoes the whole shutdown, as the
 * end-session protocol says. An application that cannot be asked (a GUI process
 * without windows, such as a Chromium renderer) or does not answer in time (hung)
 * says nothing: without RmForceShutdown it is left running with ErrorOnStop and
 * the others are closed ("some applications could not be shut down", 351;
 * README, Choices). Wine quirk: a window that stops pumping makes the first send
 * wait for its whole timeout and is IsHungAppWindow afterwards; such a window gets
 * no second blocking send in the close phase.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "operation.h"

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
    HWND *windows;                   /* its top-level windows ... */
    SIZE_T nwindows;
    BOOL windows_known;              /* ... from the phase's enumeration (else the worker's) */
    /* results, read after finished: */
    BOOL refused, hung, no_windows, closed;
};

static void task_release(struct task *t)
{
    if (InterlockedDecrement(&t->refs)) return;
    rm_op_release(t->op);
    if (t->process) CloseHandle(t->process);
    if (t->finished) CloseHandle(t->finished);
    rm_free(t->windows);
    rm_free(t);
}

/* Top-level windows and their processes. A phase enumerates them once for all its
 * applications (each window's owner is a request to the window server, so one
 * enumeration per application cost N x N of them); pid 0 keeps every window. */
struct window_list
{
    DWORD pid;
    struct owned_window { HWND hwnd; DWORD pid; } *items;
    SIZE_T count, cap;
    BOOL failed;                     /* out of memory: the list is short */
};

static BOOL CALLBACK collect_window(HWND hwnd, LPARAM param)
{
    struct window_list *wl = (struct window_list *)param;
    DWORD pid = 0;
    GetWindowThreadProcessId(hwnd, &pid);
    if (wl->pid && pid != wl->pid) return TRUE;
    if (rm_grow((void **)&wl->items, &wl->cap, wl->count + 1, sizeof(*wl->items)))
    {
        wl->failed = TRUE;
        return FALSE;
    }
    wl->items[wl->count].hwnd = hwnd;
    wl->items[wl->count++].pid = pid;
    return TRUE;
}

/* The windows of one process, as an array of its own (*out NULL with *n 0 when it
 * has none); FALSE when out of memory. */
static BOOL windows_of(const struct window_list *all, DWORD pid, HWND **out, SIZE_T *n)
{
    SIZE_T i, count = 0;
    *out = NULL;
    *n = 0;
    for (i = 0; i < all->count; i++) count += all->items[i].pid == pid;
    if (!count) return TRUE;
    if (!(*out = rm_alloc(count * sizeof(**out)))) return FALSE;
    for (i = 0; i < all->count; i++)
        if (all->items[i].pid == pid) (*out)[(*n)++] = all->items[i].hwnd;
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
    DWORD_PTR result;
    HWND *win = t->windows;
    SIZE_T i, nwin = t->nwindows;

    if (!t->windows_known)
    {
        /* The phase's enumeration did not give this process's windows (out of
         * memory): its own. */
        struct window_list wl;
        memset(&wl, 0, sizeof(wl));
        wl.pid = t->pid;
        EnumWindows(collect_window, (LPARAM)&wl);
        windows_of(&wl, t->pid, &t->windows, &t->nwindows);
        rm_free(wl.items);
        win = t->windows;
        nwin = t->nwindows;
    }
    t->no_windows = !nwin;

    if (t->phase == PHASE_QUERY)
    {
        for (i = 0; i < nwin && !t->refused && !t->hung; i++)
        {
            if (SendMessageTimeoutW(win[i], WM_QUERYENDSESSION, 0, ENDSESSION_CLOSEAPP,
                                    SMTO_ABORTIFHUNG | SMTO_NORMAL, t->op->app_timeout, &result))
                t->refused = !result;
            else if (GetLastError() == ERROR_TIMEOUT || IsHungAppWindow(win[i]))
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
            for (i = 0; i < nwin && !t->was_hung && WaitForSingleObject(t->process, 0) == WAIT_TIMEOUT &&
                        WaitForSingleObject(t->op->cancel, 0) == WAIT_TIMEOUT; i++)
                SendMessageTimeoutW(win[i], WM_ENDSESSION, TRUE, ENDSESSION_CLOSEAPP,
                                    SMTO_ABORTIFHUNG | SMTO_NORMAL, t->op->app_timeout, &result);
            for (i = 0; i < nwin && WaitForSingleObject(t->process, 0) == WAIT_TIMEOUT &&
                        WaitForSingleObject(t->op->cancel, 0) == WAIT_TIMEOUT; i++)
                if (IsWindow(win[i])) PostMessageW(win[i], WM_CLOSE, 0, 0);
            t->closed = wait_exit(t, t->op->app_timeout);
        }
        if (!t->closed && t->op->force && WaitForSingleObject(t->op->cancel, 0) == WAIT_TIMEOUT &&
            WaitForSingleObject(t->process, 0) == WAIT_TIMEOUT)
        {
            t->closed = rm_terminate_wait(t->process);
        }
        else if (!t->closed)
            t->closed = WaitForSingleObject(t->process, 0) == WAIT_OBJECT_0;
    }
    SetEvent(t->finished);
    task_release(t);
    rm_thread_exit();
}

static struct task *task_start(struct op *op, DWORD pid, HANDLE process, enum task_phase phase,
                               BOOL was_hung, const struct window_list *all)
{
    struct task *t = rm_alloc(sizeof(*t));
    HANDLE thread;

    if (!t) return NULL;
    t->windows_known = !all->failed && windows_of(all, pid, &t->windows, &t->nwindows);
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

#define TASK_COLLECTED ((enum task_phase)-1)

/* Runs one phase for every target at once and waits for all, reporting progress
 * on this (the caller's) thread as they finish. A finished task is marked
 * TASK_COLLECTED (the worker no longer reads it). Returns FALSE if cancelled. */
static BOOL run_phase(struct rm_call *c, struct target *tg, SIZE_T n, enum task_phase phase)
{
    struct window_list all;
    SIZE_T i, left = 0;

    memset(&all, 0, sizeof(all));
    if (!EnumWindows(collect_window, (LPARAM)&all)) all.failed = TRUE;
    for (i = 0; i < n; i++)
    {
        if (tg[i].gone || tg[i].left) continue;
        if (!tg[i].process) { tg[i].failed = TRUE; continue; }
        if ((tg[i].task = task_start(c->op, tg[i].app->info.Process.dwProcessId, tg[i].process, phase,
                                     tg[i].hung, &all)))
            left++;
        else tg[i].failed = TRUE;
    }
    rm_free(all.items);
    while (left && !rm_call_cancelled(c))
    {
        WaitForSingleObject(c->op->cancel, RM_POLL_MS);
        for (i = 0; i < n; i++)
        {
            struct task *t = tg[i].task;
            if (!t || t->phase == TASK_COLLECTED || WaitForSingleObject(t->finished, 0) != WAIT_OBJECT_0)
                continue;
            t->phase = TASK_COLLECTED;
            if (phase == PHASE_CLOSE) rm_progress_step(&c->progress);
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

/* The query phase of windowed applications (GUI and Explorer): every one is asked
 * at once. Returns 0, ERROR_FAIL_SHUTDOWN when one refused, hung or has no window
 * (ErrorOnStop on it; only force closes those), or ERROR_CANCELLED; *veto is set
 * when one refused (then nothing is closed). One that has exited meanwhile is not a
 * refusal: StoppedOther, and nothing more to do. */
DWORD rm_gui_ask(struct rm_call *c, struct target *tg, SIZE_T n, BOOL *veto)
{
    SIZE_T i;
    BOOL failed = FALSE;

    if (!n) return ERROR_SUCCESS;
    rm_call_log_shutting_down(tg, n);
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
            rm_call_set_stopped(tg[i].app, FALSE);
            tg[i].left = TRUE;
            if (refused) *veto = TRUE;
            failed = TRUE;
        }
    }
    drop_tasks(tg, n);
    return failed ? ERROR_FAIL_SHUTDOWN : ERROR_SUCCESS;
}

/* The close phase, once every windowed application agreed (or the caller forces). */
DWORD rm_gui_close(struct rm_call *c, struct target *tg, SIZE_T n)
{
    SIZE_T i;
    DWORD err = ERROR_SUCCESS;

    if (!n) return ERROR_SUCCESS;
    if (!run_phase(c, tg, n, PHASE_CLOSE)) err = ERROR_CANCELLED;
    for (i = 0; i < n; i++)
    {
        struct task *t = tg[i].task;
        if (tg[i].gone || tg[i].left) continue;
        if (t && t->phase == TASK_COLLECTED) rm_call_set_stopped(tg[i].app, t->closed);
        else if (tg[i].process && WaitForSingleObject(tg[i].process, 0) == WAIT_OBJECT_0)
            rm_call_set_stopped(tg[i].app, TRUE);   /* cancelled, but it did exit */
        else if (!err)
            rm_call_set_stopped(tg[i].app, FALSE);
        if (!err && (tg[i].app->info.AppStatus & RmStatusErrorOnStop)) err = ERROR_FAIL_SHUTDOWN;
    }
    drop_tasks(tg, n);
    return err;
}
