/*
 * trace.c - opt-in tracing of every call, for people debugging an installer.
 *
 *     RSTRTMGR_TRACE=1        (or "stderr") one line per event on standard error
 *     RSTRTMGR_TRACE=C:\x.log appended to that file (shared, so several processes
 *                             of one installation can write to the same log)
 *
 * Unset (the default) costs one flag test per call and writes nothing.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"

static HANDLE trace_out;             /* NULL: tracing off */
static BOOL trace_close_out;         /* we opened a file */

static BOOL CALLBACK trace_init(INIT_ONCE *once, void *param, void **ctx)
{
    WCHAR value[MAX_PATH + 1];
    DWORD len;
    (void)once; (void)param; (void)ctx;

    len = GetEnvironmentVariableW(L"RSTRTMGR_TRACE", value, ARRAYSIZE(value));
    if (!len || len >= ARRAYSIZE(value) || !rm_wcsicmp(value, L"0")) return TRUE;
    if (!rm_wcsicmp(value, L"1") || !rm_wcsicmp(value, L"stderr"))
    {
        trace_out = GetStdHandle(STD_ERROR_HANDLE);
        if (trace_out == INVALID_HANDLE_VALUE) trace_out = NULL;
        return TRUE;
    }
    trace_out = CreateFileW(value, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE |
                            FILE_SHARE_DELETE, NULL, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (trace_out == INVALID_HANDLE_VALUE) trace_out = NULL;
    else trace_close_out = TRUE;
    return TRUE;
}

void rm_trace_unload(void)
{
    if (trace_close_out && trace_out) CloseHandle(trace_out);
    trace_out = NULL;
    trace_close_out = FALSE;
}

BOOL rm_trace_enabled(void)
{
    static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
    InitOnceExecuteOnce(&once, trace_init, NULL, NULL);
    return trace_out != NULL;
}

void rm_trace(const char *fmt, ...)
{
    char line[1100];
    int n, m;
    DWORD written;
    va_list args;

    if (!rm_trace_enabled()) return;
    n = wsprintfA(line, "rstrtmgr[%04lx:%04lx] ", GetCurrentProcessId(), GetCurrentThreadId());
    va_start(args, fmt);
    m = wvsprintfA(line + n, fmt, args);   /* at most 1024 characters */
    va_end(args);
    if (m < 0) m = 0;
    n += m;
    line[n++] = '\r';
    line[n++] = '\n';
    WriteFile(trace_out, line, (DWORD)n, &written, NULL);
}

const char *rm_error_name(DWORD code)
{
    switch (code)
    {
    case ERROR_SUCCESS: return "ERROR_SUCCESS";
    case ERROR_FILE_NOT_FOUND: return "ERROR_FILE_NOT_FOUND";
    case ERROR_ACCESS_DENIED: return "ERROR_ACCESS_DENIED";
    case ERROR_INVALID_HANDLE: return "ERROR_INVALID_HANDLE";
    case ERROR_OUTOFMEMORY: return "ERROR_OUTOFMEMORY";
    case ERROR_WRITE_FAULT: return "ERROR_WRITE_FAULT";
    case ERROR_SEM_TIMEOUT: return "ERROR_SEM_TIMEOUT";
    case ERROR_BAD_ARGUMENTS: return "ERROR_BAD_ARGUMENTS";
    case ERROR_MORE_DATA: return "ERROR_MORE_DATA";
    case ERROR_FAIL_NOACTION_REBOOT: return "ERROR_FAIL_NOACTION_REBOOT";
    case ERROR_FAIL_SHUTDOWN: return "ERROR_FAIL_SHUTDOWN";
    case ERROR_FAIL_RESTART: return "ERROR_FAIL_RESTART";
    case ERROR_MAX_SESSIONS_REACHED: return "ERROR_MAX_SESSIONS_REACHED";
    case ERROR_REQUEST_OUT_OF_SEQUENCE: return "ERROR_REQUEST_OUT_OF_SEQUENCE";
    case ERROR_SESSION_CREDENTIAL_CONFLICT: return "ERROR_SESSION_CREDENTIAL_CONFLICT";
    case ERROR_CANCELLED: return "ERROR_CANCELLED";
    default: return "error";
    }
}

DWORD rm_trace_ret(const char *func, DWORD code)
{
    rm_trace("%s -> %lu (%s)", func, code, rm_error_name(code));
    return code;
}
