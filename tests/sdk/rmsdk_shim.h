/*
 * rmsdk_shim.h - force-included (g++ -include) into Microsoft's Restart Manager sample
 * programs, which tools/extract-sdk-sample extracts from the documentation at build
 * time. It provides:
 *
 *  - a trace of every Rm* call and its result. The samples print nothing and always
 *    return 0, so each Rm* function is wrapped by a function-like macro of the same
 *    name (a macro is not expanded inside its own replacement, so the inner name is
 *    the real function). The trace goes, one line per event, to the file named by
 *    %RMSDK_LOG% (appended, opened per line so that the primary and the secondary
 *    can share it), or to stdout without that variable. Line format:
 *        <role> begin pid=<pid>
 *        <role> dll <path of the rstrtmgr.dll in use>
 *        <role> <RmFunction> rc=<result> [details]
 *        <role> app pid=<pid> type=<RM_APP_TYPE> restartable=<0|1> status=<AppStatus> name=<app name>
 *        <role> end
 *  - the helpers the substitutions in tests/sdk/substitutions.tsv call:
 *        RMSDK_PATH(var, original)        %var% if set, else original
 *        RMSDK_RUN_SECONDARY(key)         runs the secondary sample with the key
 *        RMSDK_KEY_FROM_COMMAND_LINE(key) copies argv[1] into key
 *
 * Everything here is this project's code; nothing of the samples is in this file.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef RMSDK_SHIM_H
#define RMSDK_SHIM_H

#include <windows.h>
#include <restartmanager.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#ifndef RMSDK_ROLE
#define RMSDK_ROLE "sample"
#endif

/* How long the primary waits for the secondary (milliseconds). */
#define RMSDK_SECONDARY_TIMEOUT 60000

static void rmsdk_log(const char *fmt, ...)
{
    char line[2048];
    WCHAR path[MAX_PATH];
    va_list ap;
    int n, prefix;
    DWORD written, tries, len;
    HANDLE h = INVALID_HANDLE_VALUE;

    prefix = snprintf(line, sizeof(line), "%s ", RMSDK_ROLE);
    va_start(ap, fmt);
    n = vsnprintf(line + prefix, sizeof(line) - prefix - 2, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    n += prefix;
    if (n > (int)sizeof(line) - 3) n = (int)sizeof(line) - 3;
    line[n++] = '\n';
    line[n] = 0;

    len = GetEnvironmentVariableW(L"RMSDK_LOG", path, MAX_PATH);
    if (!len || len >= MAX_PATH)
    {
        fputs(line, stdout);
        fflush(stdout);
        return;
    }
    for (tries = 0; tries < 200; tries++)
    {
        h = CreateFileW(path, FILE_APPEND_DATA | SYNCHRONIZE,
                        FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_ALWAYS,
                        FILE_ATTRIBUTE_NORMAL, NULL);
        if (h != INVALID_HANDLE_VALUE || GetLastError() != ERROR_SHARING_VIOLATION) break;
        Sleep(10);
    }
    if (h == INVALID_HANDLE_VALUE) return;
    WriteFile(h, line, (DWORD)n, &written, NULL);
    FlushFileBuffers(h);
    CloseHandle(h);
}

/* "begin" when the program starts (C++ dynamic initialisation of a namespace-scope
 * object runs before wmain) and "end" when it leaves through exit(). */
static void rmsdk_at_exit(void)
{
    rmsdk_log("end");
}

static int rmsdk_begin(void)
{
    WCHAR dll[MAX_PATH];
    HMODULE m = GetModuleHandleW(L"rstrtmgr.dll");
    if (!m || !GetModuleFileNameW(m, dll, MAX_PATH)) wcscpy(dll, L"(not loaded)");
    rmsdk_log("begin pid=%lu", (unsigned long)GetCurrentProcessId());
    rmsdk_log("dll %ls", dll);
    atexit(rmsdk_at_exit);
    return 0;
}

#ifdef __cplusplus
static const int rmsdk_begun = rmsdk_begin();
#endif

/* ---- the trace of the Rm* calls ---------------------------------------------------- */

static inline DWORD rmsdk_trace(const char *what, DWORD rc)
{
    rmsdk_log("%s rc=%lu", what, (unsigned long)rc);
    return rc;
}

static inline DWORD rmsdk_trace_start(DWORD rc, const DWORD *handle, const WCHAR *key)
{
    if (rc == ERROR_SUCCESS)
        rmsdk_log("RmStartSession rc=%lu handle=%lu key=%ls", (unsigned long)rc,
                  (unsigned long)*handle, key);
    else
        rmsdk_log("RmStartSession rc=%lu", (unsigned long)rc);
    return rc;
}

static inline DWORD rmsdk_trace_getlist(DWORD rc, const UINT *needed, const UINT *count,
                                 const RM_PROCESS_INFO *apps, const DWORD *reasons)
{
    UINT i;
    rmsdk_log("RmGetList rc=%lu needed=%u count=%u reasons=%lu", (unsigned long)rc, *needed,
              *count, (unsigned long)*reasons);
    if (rc == ERROR_SUCCESS && apps)
        for (i = 0; i < *count; i++)
            rmsdk_log("app pid=%lu type=%d restartable=%d status=%lu name=%ls",
                      (unsigned long)apps[i].Process.dwProcessId, (int)apps[i].ApplicationType,
                      apps[i].bRestartable ? 1 : 0, (unsigned long)apps[i].AppStatus,
                      apps[i].strAppName);
    return rc;
}

#define RmStartSession(h, f, k) rmsdk_trace_start(RmStartSession(h, f, k), h, k)
#define RmJoinSession(...) rmsdk_trace("RmJoinSession", RmJoinSession(__VA_ARGS__))
#define RmEndSession(...) rmsdk_trace("RmEndSession", RmEndSession(__VA_ARGS__))
#define RmRegisterResources(...) rmsdk_trace("RmRegisterResources", RmRegisterResources(__VA_ARGS__))
#define RmGetList(h, needed, count, apps, reasons) \
    rmsdk_trace_getlist(RmGetList(h, needed, count, apps, reasons), needed, count, apps, \
                        (const DWORD *)(reasons))
#define RmShutdown(...) rmsdk_trace("RmShutdown", RmShutdown(__VA_ARGS__))
#define RmRestart(...) rmsdk_trace("RmRestart", RmRestart(__VA_ARGS__))
#define RmAddFilter(...) rmsdk_trace("RmAddFilter", RmAddFilter(__VA_ARGS__))
#define RmRemoveFilter(...) rmsdk_trace("RmRemoveFilter", RmRemoveFilter(__VA_ARGS__))
#define RmGetFilterList(...) rmsdk_trace("RmGetFilterList", RmGetFilterList(__VA_ARGS__))
#define RmCancelCurrentTask(...) rmsdk_trace("RmCancelCurrentTask", RmCancelCurrentTask(__VA_ARGS__))

/* ---- substitution helpers ---------------------------------------------------------- */

/* %var% (a heap copy that lives as long as the program), or original if unset. */
static inline const WCHAR *rmsdk_path(const WCHAR *var, const WCHAR *original)
{
    DWORD n = GetEnvironmentVariableW(var, NULL, 0);
    WCHAR *v;
    if (!n || !(v = (WCHAR *)malloc(n * sizeof(WCHAR)))) return original;
    if (GetEnvironmentVariableW(var, v, n) >= n)
    {
        free(v);
        return original;
    }
    rmsdk_log("path %ls=%ls", var, v);
    return v;
}
#define RMSDK_PATH(var, original) rmsdk_path(var, original)

/* Starts the secondary sample with the session key as its only argument and waits
 * for it. The secondary is %RMSDK_SECONDARY%, else rmsdk_secondary.exe next to this
 * program. No handles are inherited and the child gets no console of its own
 * (DETACHED_PROCESS): the trace goes to the shared log file. */
static inline void rmsdk_run_secondary(const WCHAR *key)
{
    WCHAR exe[MAX_PATH], *slash, cmd[MAX_PATH + 64];
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    DWORD n, code = (DWORD)-1;

    n = GetEnvironmentVariableW(L"RMSDK_SECONDARY", exe, MAX_PATH);
    if (!n || n >= MAX_PATH)
    {
        n = GetModuleFileNameW(NULL, exe, MAX_PATH);
        if (!n || n >= MAX_PATH - 32) { rmsdk_log("secondary no-path"); return; }
        slash = wcsrchr(exe, L'\\');
        wcscpy(slash ? slash + 1 : exe, L"rmsdk_secondary.exe");
    }
    _snwprintf(cmd, sizeof(cmd) / sizeof(cmd[0]), L"\"%ls\" %ls", exe, key);
    cmd[sizeof(cmd) / sizeof(cmd[0]) - 1] = 0;
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    if (!CreateProcessW(exe, cmd, NULL, NULL, FALSE, DETACHED_PROCESS, NULL, NULL, &si, &pi))
    {
        rmsdk_log("secondary start-failed error=%lu", (unsigned long)GetLastError());
        return;
    }
    CloseHandle(pi.hThread);
    rmsdk_log("secondary started pid=%lu", (unsigned long)pi.dwProcessId);
    if (WaitForSingleObject(pi.hProcess, RMSDK_SECONDARY_TIMEOUT) != WAIT_OBJECT_0)
    {
        rmsdk_log("secondary timeout");
        TerminateProcess(pi.hProcess, 1);
        WaitForSingleObject(pi.hProcess, 5000);
    }
    GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hProcess);
    rmsdk_log("secondary exited code=%lu", (unsigned long)code);
}
#define RMSDK_RUN_SECONDARY(key) rmsdk_run_secondary(key)

/* argv[1] into key (CCH_RM_SESSION_KEY + 1 characters); empty if there is none. */
static inline void rmsdk_key_from_command_line(WCHAR *key)
{
    key[0] = 0;
    if (__argc > 1 && __wargv && __wargv[1])
    {
        wcsncpy(key, __wargv[1], CCH_RM_SESSION_KEY);
        key[CCH_RM_SESSION_KEY] = 0;
    }
    rmsdk_log("key from-command-line=%ls", key);
}
#define RMSDK_KEY_FROM_COMMAND_LINE(key) rmsdk_key_from_command_line(key)

#endif
