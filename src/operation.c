/*
 * operation.c - the machinery RmShutdown and RmRestart share (operation.h):
 * timeouts read from the registry as Windows keeps them, progress reporting on the
 * caller's thread, one call's state, and status recording.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "operation.h"
#include "shared/storelayout.h"   /* rm_parse_dec */

#define DEFAULT_APP_TIMEOUT  30000   /* HungAppTimeout when unset (spec 5.6) */
#define DEFAULT_SVC_TIMEOUT  20000   /* WaitToKillServiceTimeout when unset */

/* ---- configuration ---- */

/* A millisecond count stored as REG_SZ (as Windows does) or REG_DWORD. */
static DWORD read_timeout(HKEY root, const WCHAR *path, const WCHAR *name, DWORD fallback)
{
    WCHAR text[32];
    DWORD type, cb = sizeof(text) - sizeof(WCHAR), v = 0;
    HKEY key;

    if (RegOpenKeyExW(root, path, 0, KEY_QUERY_VALUE, &key)) return fallback;
    memset(text, 0, sizeof(text));
    if (!RegQueryValueExW(key, name, NULL, &type, (BYTE *)text, &cb))
    {
        if (type == REG_DWORD && cb == sizeof(DWORD)) memcpy(&v, text, sizeof(v));
        else if (type == REG_SZ)
            rm_parse_dec(text, &v);
    }
    RegCloseKey(key);
    return v ? v : fallback;
}

/* How long a service is given to stop or start (spec U16). */
DWORD rm_op_service_timeout(void)
{
    return read_timeout(HKEY_LOCAL_MACHINE, L"System\\CurrentControlSet\\Control", L"WaitToKillServiceTimeout",
                        DEFAULT_SVC_TIMEOUT);
}

/* ---- progress ---- */

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

void rm_progress_step(struct progress *p)
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

void rm_progress_finish(struct progress *p)
{
    if (!p->cb || (p->any && p->last == 100)) return;
    p->last = 100;
    p->any = TRUE;
    rm_trace("progress 100");
    call_progress(p->cb, 100);
}

/* ---- one call ---- */

struct op *rm_op_create(struct rm_session *s, BOOL force)
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

void rm_op_release(struct op *op)
{
    if (InterlockedDecrement(&op->refs)) return;
    if (op->cancel) CloseHandle(op->cancel);
    rm_free(op);
}

SC_HANDLE rm_call_scm(struct rm_call *c)
{
    if (!c->scm && !(c->scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT)))
        rm_fail(ERROR_ACCESS_DENIED, GetLastError(), "OpenSCManagerW", NULL);
    return c->scm;
}

void rm_call_finish(struct rm_call *c)
{
    if (c->scm) CloseServiceHandle(c->scm);
    c->scm = NULL;
    if (c->op) rm_op_release(c->op);
    c->op = NULL;
}

BOOL rm_call_cancelled(struct rm_call *c)
{
    if (!c->cancelled && WaitForSingleObject(c->op->cancel, 0) == WAIT_OBJECT_0) c->cancelled = TRUE;
    return c->cancelled;
}

void rm_call_set_stopped(struct rm_app *a, BOOL ok)
{
    a->info.AppStatus |= ok ? RmStatusStopped : RmStatusErrorOnStop;
    rm_trace("%s %ls (pid %lu)", ok ? "stopped" : "could not stop", a->info.strAppName,
             a->info.Process.dwProcessId);
    if (!ok)
        rm_event(RM_EVT_SHUTDOWN_FAILED, EVENTLOG_ERROR_TYPE, a->info.strAppName);
}

/* Event 10002, once per application or service RmShutdown acts on. */
void rm_call_log_shutting_down(struct target *tg, SIZE_T n)
{
    SIZE_T i;
    for (i = 0; i < n; i++)
        rm_event(RM_EVT_SHUTTING_DOWN, EVENTLOG_INFORMATION_TYPE, tg[i].app->info.strAppName);
}

BOOL rm_terminate_wait(HANDLE process)
{
    /* TerminateProcess fails with ERROR_ACCESS_DENIED on a process that is already
     * exiting: the wait below tells, so that is not a failure by itself. */
    if (!TerminateProcess(process, ERROR_FAIL_SHUTDOWN) && GetLastError() != ERROR_ACCESS_DENIED)
        rm_fail(ERROR_FAIL_SHUTDOWN, GetLastError(), "TerminateProcess", NULL);
    if (WaitForSingleObject(process, 5000) == WAIT_OBJECT_0) return TRUE;
    rm_warn("a terminated process has not gone after 5 s");
    return FALSE;
}
