/*
 * trace.c - opt-in tracing, for people debugging an installer.
 *
 *     RSTRTMGR_TRACE=1          (or "stderr") every event on standard error
 *     RSTRTMGR_TRACE=C:\x.log   appended to that file (shared, so several processes
 *                               of one installation can write to the same log)
 *     RSTRTMGR_TRACE=error[:TARGET]    only failures (TARGET: "stderr", the
 *     RSTRTMGR_TRACE=warning[:TARGET]  default, or a file path); warning adds what
 *     RSTRTMGR_TRACE=flow[:TARGET]     went wrong without failing a call; flow
 *                                      (= 1) adds every call, argument and result
 *
 * A failure is traced where it happens (rm_fail): file and line, the system call,
 * the object it was about, the system's error and the code the caller will get,
 * so that an installer author who gets 351 or 29 can find out why.
 * Unset (the default) costs one flag test per call and writes nothing.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"
#include "shared/errnames.h"

static HANDLE trace_out;             /* NULL: tracing off */
static BOOL trace_close_out;         /* we opened a file */
static int trace_level;              /* RM_TRACE_* of what is written */

/* "error", "warning" or "flow" at the start of value, alone or before ':';
 * returns the characters it took (with the ':'), or 0. */
static int parse_level(const WCHAR *value)
{
    static const struct { const WCHAR *word; int level; } words[] = {
        { L"error", RM_TRACE_ERROR }, { L"warning", RM_TRACE_WARNING }, { L"flow", RM_TRACE_FLOW } };
    SIZE_T i, n;
    for (i = 0; i < ARRAYSIZE(words); i++)
    {
        n = rm_wcsnlen(words[i].word, 8);
        if (CompareStringOrdinal(value, (int)n, words[i].word, (int)n, TRUE) == CSTR_EQUAL &&
            (value[n] == 0 || value[n] == L':'))
        {
            trace_level = words[i].level;
            return (int)n + (value[n] == L':');
        }
    }
    return 0;
}

static BOOL CALLBACK trace_init(INIT_ONCE *once, void *param, void **ctx)
{
    WCHAR value[MAX_PATH + 16], *target;
    DWORD len;
    (void)once; (void)param; (void)ctx;

    len = GetEnvironmentVariableW(L"RSTRTMGR_TRACE", value, ARRAYSIZE(value));
    if (!len || len >= ARRAYSIZE(value) || !rm_wcsicmp(value, L"0")) return TRUE;
    trace_level = RM_TRACE_FLOW;
    target = value + parse_level(value);
    if (!*target || !rm_wcsicmp(target, L"1") || !rm_wcsicmp(target, L"stderr"))
    {
        trace_out = GetStdHandle(STD_ERROR_HANDLE);
        if (trace_out == INVALID_HANDLE_VALUE) trace_out = NULL;
        return TRUE;
    }
    trace_out = CreateFileW(target, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE |
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

static BOOL trace_at(int level)
{
    static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
    InitOnceExecuteOnce(&once, trace_init, NULL, NULL);
    return trace_out != NULL && level <= trace_level;
}

BOOL rm_trace_enabled(void)
{
    return trace_at(RM_TRACE_FLOW);
}

static void write_line(const char *tag, const char *fmt, va_list args)
{
    char line[1200];
    int n, m;
    DWORD written;

    n = wsprintfA(line, "rstrtmgr[%04lx:%04lx] %s", GetCurrentProcessId(), GetCurrentThreadId(), tag);
    m = wvsprintfA(line + n, fmt, args);   /* at most 1024 characters */
    if (m < 0) m = 0;
    n += m;
    line[n++] = '\r';
    line[n++] = '\n';
    WriteFile(trace_out, line, (DWORD)n, &written, NULL);
}

void rm_trace(const char *fmt, ...)
{
    va_list args;
    if (!trace_at(RM_TRACE_FLOW)) return;
    va_start(args, fmt);
    write_line("", fmt, args);
    va_end(args);
}

void rm_warn(const char *fmt, ...)
{
    va_list args;
    if (!trace_at(RM_TRACE_WARNING)) return;
    va_start(args, fmt);
    write_line("warning: ", fmt, args);
    va_end(args);
}

static void rm_trace_at_error(const char *text)
{
    char line[1200];
    DWORD written;
    int n = wsprintfA(line, "rstrtmgr[%04lx:%04lx] %s\r\n", GetCurrentProcessId(), GetCurrentThreadId(), text);
    WriteFile(trace_out, line, (DWORD)n, &written, NULL);
}

static const char *base_name(const char *path)
{
    const char *p, *b = path;
    for (p = path; *p; p++)
        if (*p == '/' || *p == '\\') b = p + 1;
    return b;
}

DWORD rm_fail_at(const char *file, int line, DWORD code, DWORD syserr, const char *api, const WCHAR *object)
{
    char text[1100];
    if (!trace_at(RM_TRACE_ERROR)) return code;
    wsprintfA(text, "error: %s:%d: %s(%ls) failed: %lu %s -> %lu %s", base_name(file), line, api,
              object ? object : L"", syserr, rm_error_name(syserr), code, rm_error_name(code));
    rm_trace_at_error(text);
    return code;
}

const char *rm_error_name(DWORD code)
{
    const char *name = rm_errname_lookup(code);
    return name ? name : "error";
}

DWORD rm_trace_ret(const char *func, DWORD code)
{
    rm_trace("%s -> %lu (%s)", func, code, rm_error_name(code));
    return code;
}
