/*
 * rmunload.c - a program that loads rstrtmgr.dll dynamically, as Inno Setup and
 * WiX do, and unloads it, in three ways (test_shutdown.c runs each):
 *
 *   rmunload.exe PID START_HIGH START_LOW
 *       unloads the DLL while one of its worker threads is still inside a
 *       SendMessageTimeout to a hung window (the window's RM_UNIQUE_PROCESS).
 *       Without the worker's reference on the DLL the worker would return into
 *       unmapped code and crash this process; with it the DLL stays mapped until
 *       the worker ends, then goes.
 *   rmunload.exe ctrlc PID START_HIGH START_LOW
 *       has a console application (the process given) shut down, which makes the
 *       DLL register its console control handler, unloads the DLL, then sends
 *       CTRL_C to its own console: the DLL's handler must be gone (left behind, it
 *       is called in unmapped code), and this program's own handler must get it.
 *       Run it with a console of its own (CREATE_NEW_CONSOLE).
 *   rmunload.exe cycles N FILE
 *       N times: load, start a session, register FILE, end, unload (every 50th
 *       time also list, which starts the DLL's scan machinery); the DLL
 *       must really go each time, and the process's handle count after the last
 *       cycle must be what it was after the first few (nothing kept per load).
 *
 * Exit codes: 0 as expected, 10+ the step that went wrong (printed).
 * Links no import library of rstrtmgr: everything through GetProcAddress.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "restartmanager.h"
#include "rmhandles.h"

typedef DWORD (WINAPI *start_fn)(DWORD *, DWORD, WCHAR *);
typedef DWORD (WINAPI *end_fn)(DWORD);
typedef DWORD (WINAPI *register_fn)(DWORD, UINT, LPCWSTR *, UINT, RM_UNIQUE_PROCESS *, UINT, LPCWSTR *);
typedef DWORD (WINAPI *shutdown_fn)(DWORD, ULONG, RM_WRITE_STATUS_CALLBACK);
typedef DWORD (WINAPI *cancel_fn)(DWORD);
typedef DWORD (WINAPI *list_fn)(DWORD, UINT *, UINT *, RM_PROCESS_INFO *, DWORD *);

static cancel_fn cancel;
static DWORD session;

static DWORD WINAPI canceller(void *arg)
{
    (void)arg;
    Sleep(400);
    return cancel(session);
}

static int fail(int step, const char *what)
{
    printf("rmunload: step %d failed: %s\n", step, what);
    return 10 + step;
}

/* The rstrtmgr.dll next to this program; in a conformance run against the
 * system's DLL (tests/conformance.cmake), the one the loader finds by name. */
static const WCHAR *dll_path(void)
{
    static WCHAR path[MAX_PATH];
    WCHAR *slash;
    char which[16];
    DWORD n = GetEnvironmentVariableA("RMT_CONFORMANCE_DLL", which, sizeof(which));
    if (n && n < sizeof(which) && !_stricmp(which, "system")) return L"rstrtmgr.dll";
    if (!path[0])
    {
        GetModuleFileNameW(NULL, path, MAX_PATH);
        if ((slash = wcsrchr(path, L'\\'))) wcscpy(slash + 1, L"rstrtmgr.dll");
    }
    return path;
}

static RM_UNIQUE_PROCESS parse_process(char **argv)
{
    RM_UNIQUE_PROCESS p;
    p.dwProcessId = strtoul(argv[0], NULL, 0);
    p.ProcessStartTime.dwHighDateTime = strtoul(argv[1], NULL, 0);
    p.ProcessStartTime.dwLowDateTime = strtoul(argv[2], NULL, 0);
    return p;
}

static int unload_under_worker(RM_UNIQUE_PROCESS target)
{
    WCHAR key[CCH_RM_SESSION_KEY + 1];
    HMODULE dll;
    HANDLE thread;
    DWORD r, i;

    if (!(dll = LoadLibraryW(dll_path()))) return fail(1, "LoadLibrary");
    cancel = (cancel_fn)(void *)GetProcAddress(dll, "RmCancelCurrentTask");
    start_fn start = (start_fn)(void *)GetProcAddress(dll, "RmStartSession");
    end_fn end = (end_fn)(void *)GetProcAddress(dll, "RmEndSession");
    register_fn reg = (register_fn)(void *)GetProcAddress(dll, "RmRegisterResources");
    shutdown_fn shut = (shutdown_fn)(void *)GetProcAddress(dll, "RmShutdown");
    if (!cancel || !start || !end || !reg || !shut) return fail(2, "GetProcAddress");

    if (start(&session, 0, key) || reg(session, 0, NULL, 1, &target, 0, NULL)) return fail(3, "start/register");
    thread = CreateThread(NULL, 0, canceller, NULL, 0, NULL);
    /* The worker is now blocked in WM_QUERYENDSESSION to the hung window for
     * HungAppTimeout (2 s in the test prefix); the cancel ends the call first. */
    r = shut(session, 0, NULL);
    WaitForSingleObject(thread, 5000);
    CloseHandle(thread);
    if (r != ERROR_CANCELLED) { printf("RmShutdown returned %lu\n", r); return fail(4, "RmShutdown not cancelled"); }
    if (end(session)) return fail(5, "RmEndSession");

    FreeLibrary(dll);
    /* The stuck worker still holds the DLL. */
    if (!GetModuleHandleW(L"rstrtmgr.dll")) return fail(6, "DLL unmapped under a running worker");
    /* When its send times out the worker finishes, drops the last reference and
     * the DLL goes; this process must survive all of it. */
    for (i = 0; i < 100 && GetModuleHandleW(L"rstrtmgr.dll"); i++) Sleep(100);
    if (GetModuleHandleW(L"rstrtmgr.dll")) return fail(7, "DLL never unloaded after the worker ended");
    Sleep(300);
    printf("rmunload: unloaded after the worker ended, no crash\n");
    return 0;
}

static volatile LONG own_handler_calls;

static BOOL WINAPI own_handler(DWORD type)
{
    if (type != CTRL_C_EVENT) return FALSE;
    InterlockedIncrement(&own_handler_calls);
    return TRUE;
}

static int unload_then_ctrl_c(RM_UNIQUE_PROCESS target)
{
    WCHAR key[CCH_RM_SESSION_KEY + 1];
    HMODULE dll;
    DWORD session, r, i;

    /* Ours first: handlers run newest first, so the DLL's (if still there) would
     * be called before this one. */
    if (!SetConsoleCtrlHandler(own_handler, TRUE)) return fail(1, "SetConsoleCtrlHandler");
    if (!(dll = LoadLibraryW(dll_path()))) return fail(2, "LoadLibrary");
    start_fn start = (start_fn)(void *)GetProcAddress(dll, "RmStartSession");
    end_fn end = (end_fn)(void *)GetProcAddress(dll, "RmEndSession");
    register_fn reg = (register_fn)(void *)GetProcAddress(dll, "RmRegisterResources");
    shutdown_fn shut = (shutdown_fn)(void *)GetProcAddress(dll, "RmShutdown");
    if (!start || !end || !reg || !shut) return fail(3, "GetProcAddress");
    if (start(&session, 0, key) || reg(session, 0, NULL, 1, &target, 0, NULL)) return fail(4, "start/register");
    /* Alone in our console, the DLL cannot send CTRL_C politely; forced, it ends
     * the application. Either way it has set up its console handling. */
    r = shut(session, RmForceShutdown, NULL);
    if (r) { printf("RmShutdown returned %lu\n", r); return fail(5, "RmShutdown"); }
    if (end(session)) return fail(6, "RmEndSession");
    if (!FreeLibrary(dll)) return fail(7, "FreeLibrary");
    if (GetModuleHandleW(L"rstrtmgr.dll")) return fail(8, "the DLL is still loaded (pinned?)");

    if (!GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0)) return fail(9, "GenerateConsoleCtrlEvent");
    for (i = 0; i < 100 && !own_handler_calls; i++) Sleep(50);
    if (!own_handler_calls) return fail(10, "our own handler never got the CTRL_C");
    Sleep(300);
    printf("rmunload: CTRL_C after the unload reached our own handler, no crash\n");
    return 0;
}

static int load_unload_cycles(DWORD n, const WCHAR *file)
{
    WCHAR key[CCH_RM_SESSION_KEY + 1];
    RM_PROCESS_INFO info[4];
    DWORD i, session, reasons, baseline = 0, count = 0;
    const DWORD warmup = 5;

    for (i = 0; i < n + warmup; i++)
    {
        HMODULE dll = LoadLibraryW(dll_path());
        UINT needed = 0, got = 4;
        if (!dll) return fail(1, "LoadLibrary");
        start_fn start = (start_fn)(void *)GetProcAddress(dll, "RmStartSession");
        end_fn end = (end_fn)(void *)GetProcAddress(dll, "RmEndSession");
        register_fn reg = (register_fn)(void *)GetProcAddress(dll, "RmRegisterResources");
        list_fn list = (list_fn)(void *)GetProcAddress(dll, "RmGetList");
        if (!start || !end || !reg || !list) return fail(2, "GetProcAddress");
        if (start(&session, 0, key)) return fail(3, "RmStartSession");
        if (reg(session, 1, &file, 0, NULL, 0, NULL)) return fail(4, "RmRegisterResources");
        /* A full scan of the system's handles is the slow part: every 50th cycle. */
        if (i % 50 == 0 && list(session, &needed, &got, info, &reasons)) return fail(5, "RmGetList");
        if (end(session)) return fail(6, "RmEndSession");
        if (!FreeLibrary(dll)) return fail(7, "FreeLibrary");
        if (GetModuleHandleW(L"rstrtmgr.dll")) return fail(8, "the DLL stayed loaded");
        /* The first cycles load what the system DLLs keep for the process. */
        if (i + 1 == warmup && (baseline = rmt_own_handle_count(NULL)) == (DWORD)-1)
            return fail(9, "the handle snapshot");
    }
    count = rmt_own_handle_count(NULL);
    printf("rmunload: %lu load/unload cycles: handles %lu after warm-up, %lu after\n", n, baseline, count);
    if (count > baseline) return fail(10, "handles kept across unloads");
    return 0;
}

int main(int argc, char **argv)
{
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
    if (argc == 4 && !strcmp(argv[1], "cycles"))
    {
        WCHAR file[MAX_PATH];
        MultiByteToWideChar(CP_ACP, 0, argv[3], -1, file, MAX_PATH);
        return load_unload_cycles(strtoul(argv[2], NULL, 0), file);
    }
    if (argc == 5 && !strcmp(argv[1], "ctrlc")) return unload_then_ctrl_c(parse_process(argv + 2));
    if (argc == 4) return unload_under_worker(parse_process(argv + 1));
    return fail(0, "usage: rmunload [ctrlc] PID START_HIGH START_LOW | rmunload cycles N FILE");
}
