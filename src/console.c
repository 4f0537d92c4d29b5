/*
 * console.c - closing console applications: CTRL_C_EVENT (spec 8.3).
 *
 * A process can signal only the console it is attached to, so we leave ours for a
 * moment, attach to the target's, generate the event and come back. While we are
 * attached our own process receives the event too: a console control handler of
 * ours swallows exactly the copies we generated, however late they arrive. That
 * handler and its counters are process-wide state (console_lock serialises the
 * detach/attach dance between calls and sessions); rm_console_unload removes the
 * handler when the DLL is unloaded, and a copy still on its way pins the DLL.
 * Wine quirks: WM_CLOSE to a console window kills the process without CTRL_CLOSE;
 * CTRL_CLOSE is never delivered; a program started from a Unix shell has an
 * invisible console no process is listed in.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "operation.h"

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
            if (!ok)
            {
                rm_fail(ERROR_FAIL_SHUTDOWN, GetLastError(), "GenerateConsoleCtrlEvent", NULL);
                InterlockedDecrement(&ctrl_c_pending);
            }
            /* Give our own copy a moment to arrive while we are still attached
             * (it is swallowed whenever it comes). */
            else if (ctrl_c_seen) WaitForSingleObject(ctrl_c_seen, 500);
            FreeConsole();
            keep_handler_for_late_copy();
        }
        else
            rm_warn("CTRL_C to %lu: AttachConsole failed (%lu)", pid, GetLastError());
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

DWORD rm_console_close(struct rm_call *c, struct target *tg, SIZE_T n)
{
    SIZE_T i;
    DWORD err = ERROR_SUCCESS, start;

    if (!n) return ERROR_SUCCESS;
    if (rm_call_cancelled(c)) return ERROR_CANCELLED;
    rm_call_log_shutting_down(tg, n);
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
                        rm_call_set_stopped(tg[j].app, TRUE);
                c->cancelled = TRUE;
                err = ERROR_CANCELLED;
                break;
            }
            exited = w == WAIT_OBJECT_0;
        }
        if (!exited && tg[i].process && c->op->force)
        {
            exited = rm_terminate_wait(tg[i].process);
        }
        rm_call_set_stopped(tg[i].app, exited);
        if (!exited) err = ERROR_FAIL_SHUTDOWN;
        rm_progress_step(&c->progress);
    }
    return err;
}

