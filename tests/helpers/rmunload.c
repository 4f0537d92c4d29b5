/*
 * rmunload.c - a program that loads rstrtmgr.dll dynamically and unloads it while
 * one of the DLL's worker threads is still inside a SendMessageTimeout to a hung
 * window (test_shutdown.c, test_unload_with_worker_running). Without the worker's
 * reference on the DLL the worker would return into unmapped code and crash this
 * process; with it the DLL stays mapped until the worker ends, then goes.
 *
 *   rmunload.exe PID START_HIGH START_LOW     (the hung window's RM_UNIQUE_PROCESS)
 *
 * Exit codes: 0 as expected, 10+ the step that went wrong (printed).
 * Links no import library of rstrtmgr: everything through GetProcAddress.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include "restartmanager.h"

typedef DWORD (WINAPI *start_fn)(DWORD *, DWORD, WCHAR *);
typedef DWORD (WINAPI *end_fn)(DWORD);
typedef DWORD (WINAPI *register_fn)(DWORD, UINT, LPCWSTR *, UINT, RM_UNIQUE_PROCESS *, UINT, LPCWSTR *);
typedef DWORD (WINAPI *shutdown_fn)(DWORD, ULONG, RM_WRITE_STATUS_CALLBACK);
typedef DWORD (WINAPI *cancel_fn)(DWORD);

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

int main(int argc, char **argv)
{
    WCHAR path[MAX_PATH], key[CCH_RM_SESSION_KEY + 1], *slash;
    RM_UNIQUE_PROCESS target;
    HMODULE dll;
    HANDLE thread;
    DWORD r, i;

    if (argc != 4) return fail(0, "usage: rmunload PID START_HIGH START_LOW");
    target.dwProcessId = strtoul(argv[1], NULL, 0);
    target.ProcessStartTime.dwHighDateTime = strtoul(argv[2], NULL, 0);
    target.ProcessStartTime.dwLowDateTime = strtoul(argv[3], NULL, 0);
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);

    GetModuleFileNameW(NULL, path, MAX_PATH);
    if ((slash = wcsrchr(path, L'\\'))) wcscpy(slash + 1, L"rstrtmgr.dll");
    if (!(dll = LoadLibraryW(path))) return fail(1, "LoadLibrary");
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
