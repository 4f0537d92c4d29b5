/*
 * installer_primary.c - a primary installer following the SDK's flow, against real
 * processes: start a session, hand the key to a secondary installer in another
 * process, register files, list who uses them, shut them down, replace the files,
 * restart the applications, end the session. Prints every step; exits non-zero if
 * any step did not do what it says.
 *
 *   installer_primary.exe [--quiet]
 *
 * It starts its own "applications": a windowed rmhelper_gui.exe with the primary's
 * file open, and a console rmhelper.exe holding the secondary's file (both found
 * next to this exe).
 */
#include <windows.h>
#include <stdio.h>
#include <wchar.h>
#include <string.h>
#include <stdlib.h>
#include "restartmanager.h"

static int failures;

static void step(const char *what, DWORD got, DWORD want)
{
    printf("%-58s -> %lu %s\n", what, got, got == want ? "ok" : "UNEXPECTED");
    if (got != want) failures++;
}

static const char *type_name(RM_APP_TYPE t)
{
    switch (t)
    {
    case RmUnknownApp: return "unknown";
    case RmMainWindow: return "main window";
    case RmOtherWindow: return "other window";
    case RmService: return "service";
    case RmExplorer: return "explorer";
    case RmConsole: return "console";
    case RmCritical: return "critical";
    default: return "?";
    }
}

static HANDLE spawn_flags(const WCHAR *cmdline, HANDLE job, DWORD flags)
{
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    WCHAR *buf = _wcsdup(cmdline);
    BOOL ok;
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    ok = CreateProcessW(NULL, buf, NULL, NULL, FALSE, CREATE_SUSPENDED | flags, NULL, NULL, &si, &pi);
    free(buf);
    if (!ok) return NULL;
    if (job) AssignProcessToJobObject(job, pi.hProcess);
    ResumeThread(pi.hThread);
    CloseHandle(pi.hThread);
    return pi.hProcess;
}

static DWORD run_and_wait(const WCHAR *cmdline, HANDLE job)
{
    HANDLE p = spawn_flags(cmdline, job, 0);
    DWORD code = (DWORD)-1;
    if (!p) return GetLastError();
    if (WaitForSingleObject(p, 30000) == WAIT_OBJECT_0) GetExitCodeProcess(p, &code);
    CloseHandle(p);
    return code;
}

static void progress(UINT percent)
{
    printf("  progress %u%%\n", percent);
}

static DWORD replace_file(const WCHAR *path, const char *content)
{
    WCHAR tmp[MAX_PATH];
    HANDLE h;
    DWORD written;

    swprintf(tmp, MAX_PATH, L"%ls.new", path);
    h = CreateFileW(tmp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    if (h == INVALID_HANDLE_VALUE) return GetLastError();
    WriteFile(h, content, (DWORD)strlen(content), &written, NULL);
    CloseHandle(h);
    return MoveFileExW(tmp, path, MOVEFILE_REPLACE_EXISTING) ? 0 : GetLastError();
}

static void end_process(DWORD pid)
{
    HANDLE h = pid ? OpenProcess(PROCESS_TERMINATE | SYNCHRONIZE, FALSE, pid) : NULL;
    if (!h) return;
    TerminateProcess(h, 0);
    WaitForSingleObject(h, 5000);
    CloseHandle(h);
}

int wmain(void)
{
    WCHAR dir[MAX_PATH], tmp[MAX_PATH], file1[MAX_PATH], file2[MAX_PATH], cmd[4 * MAX_PATH], *slash;
    WCHAR key[CCH_RM_SESSION_KEY + 1], ready[64];
    DWORD handle = 0xFFFFFFFF, reasons = 0, err;
    UINT needed = 0, n = 0, i, tries = 0;
    RM_PROCESS_INFO *apps = NULL;
    HANDLE job, holder1, holder2, ev;
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION lim;
    LPCWSTR files[1];

    setvbuf(stdout, NULL, _IONBF, 0);
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
    GetModuleFileNameW(NULL, dir, MAX_PATH);
    if ((slash = wcsrchr(dir, L'\\'))) *slash = 0;
    GetTempPathW(MAX_PATH, tmp);
    swprintf(file1, MAX_PATH, L"%lsrm-demo-%lu-app.dll", tmp, GetCurrentProcessId());
    swprintf(file2, MAX_PATH, L"%lsrm-demo-%lu-shared.dat", tmp, GetCurrentProcessId());

    /* The "applications" that use the files, in a job that dies with us. */
    memset(&lim, 0, sizeof(lim));
    job = CreateJobObjectW(NULL, NULL);
    lim.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    SetInformationJobObject(job, JobObjectExtendedLimitInformation, &lim, sizeof(lim));
    swprintf(ready, 64, L"rm-demo-ready-%lu", GetCurrentProcessId());
    ev = CreateEventW(NULL, TRUE, FALSE, ready);
    /* A windowed application with the primary's file open (closed with
     * WM_QUERYENDSESSION / WM_ENDSESSION), and a console application with a
     * console of its own holding the secondary's (closed with CTRL_C). */
    swprintf(cmd, ARRAYSIZE(cmd), L"\"%ls\\rmhelper_gui.exe\" --ready %ls window --title \"Demo Editor\" --hold \"%ls\"",
             dir, ready, file1);
    holder1 = spawn_flags(cmd, job, 0);
    if (!holder1 || WaitForSingleObject(ev, 15000) != WAIT_OBJECT_0) { printf("could not start the first application\n"); return 1; }
    ResetEvent(ev);
    swprintf(cmd, ARRAYSIZE(cmd), L"\"%ls\\rmhelper.exe\" --ready %ls hold \"%ls\" rw", dir, ready, file2);
    holder2 = spawn_flags(cmd, job, CREATE_NEW_CONSOLE);
    if (!holder2 || WaitForSingleObject(ev, 15000) != WAIT_OBJECT_0) { printf("could not start the second application\n"); return 1; }
    printf("applications running: pid %lu holds %ls\n", GetProcessId(holder1), file1);
    printf("                      pid %lu holds %ls\n\n", GetProcessId(holder2), file2);

    err = RmStartSession(&handle, 0, key);
    step("RmStartSession", err, ERROR_SUCCESS);
    if (err) return 1;
    printf("  session handle %lu, key %ls\n", handle, key);

    swprintf(cmd, ARRAYSIZE(cmd), L"\"%ls\\installer_secondary.exe\" %ls \"%ls\"", dir, key, file2);
    step("secondary installer (separate process) joins and registers", run_and_wait(cmd, job), 0);

    files[0] = file1;
    step("RmRegisterResources(primary's file)", RmRegisterResources(handle, 1, files, 0, NULL, 0, NULL), 0);

    do
    {
        err = RmGetList(handle, &needed, &n, apps, &reasons);
        if (err == ERROR_MORE_DATA)
        {
            free(apps);
            n = needed;
            apps = calloc(n ? n : 1, sizeof(*apps));
        }
    } while (err == ERROR_MORE_DATA && tries++ < 3);
    step("RmGetList", err, ERROR_SUCCESS);
    printf("  %u application(s) use the files, reboot reasons 0x%lx\n", n, reasons);
    for (i = 0; i < n; i++)
        printf("    pid %-6lu %-12s %ls%ls%ls\n", apps[i].Process.dwProcessId, type_name(apps[i].ApplicationType),
               apps[i].strAppName, apps[i].strServiceShortName[0] ? L" / " : L"", apps[i].strServiceShortName);
    {
        BOOL saw1 = FALSE, saw2 = FALSE;
        for (i = 0; i < n; i++)
        {
            saw1 |= apps[i].Process.dwProcessId == GetProcessId(holder1);
            saw2 |= apps[i].Process.dwProcessId == GetProcessId(holder2);
        }
        step("both applications found (the secondary's file too)", saw1 && saw2 ? 0 : 1, 0);
        step("no reboot needed", reasons, 0);
    }

    {
        HANDLE cb_done = NULL;
        (void)cb_done;
        err = RmShutdown(handle, 0, progress);
        step("RmShutdown (polite: window messages, then CTRL_C to the console)", err, ERROR_SUCCESS);
        step("first application has exited", WaitForSingleObject(holder1, 5000), WAIT_OBJECT_0);
        step("second application has exited", WaitForSingleObject(holder2, 5000), WAIT_OBJECT_0);
    }

    /* The installer's own work: replace the files now nobody holds them. */
    step("replace the primary's file", replace_file(file1, "new version 2"), 0);
    step("replace the secondary's file", replace_file(file2, "new data 2"), 0);

    step("RmRestart", RmRestart(handle, 0, progress), ERROR_SUCCESS);
    {
        /* The applications are back (new processes) and hold the new files. */
        DWORD new1 = 0, new2 = 0, deadline = GetTickCount() + 10000;
        RM_PROCESS_INFO back[16];
        UINT cnt;
        do
        {
            cnt = 16;
            new1 = new2 = 0;
            if (RmGetList(handle, &needed, &cnt, back, &reasons) == ERROR_SUCCESS)
                for (i = 0; i < cnt; i++)
                {
                    if (!(back[i].AppStatus & RmStatusRunning)) continue;
                    if (back[i].Process.dwProcessId != GetProcessId(holder1) &&
                        back[i].Process.dwProcessId != GetProcessId(holder2))
                    {
                        if (!new1) new1 = back[i].Process.dwProcessId;
                        else if (!new2) new2 = back[i].Process.dwProcessId;
                    }
                }
            if (new1 && new2) break;
            Sleep(100);
        } while (GetTickCount() < deadline);
        step("both applications came back (found holding the files)", new1 && new2 ? 0 : 1, 0);
        printf("  restarted as pid %lu and pid %lu\n", new1, new2);
        cnt = 16;
        if (RmGetList(handle, &needed, &cnt, back, &reasons) == ERROR_SUCCESS)
            for (i = 0; i < cnt; i++)
                printf("    pid %-6lu status 0x%02lx %ls\n", back[i].Process.dwProcessId, back[i].AppStatus, back[i].strAppName);
        /* The restarted applications are not in our job: end them ourselves. */
        end_process(new1);
        end_process(new2);
    }

    step("RmEndSession", RmEndSession(handle), ERROR_SUCCESS);
    free(apps);
    CloseHandle(job);   /* ends the applications */
    DeleteFileW(file1);
    DeleteFileW(file2);
    printf("\n%s\n", failures ? "SCENARIO FAILED" : "scenario completed");
    return failures ? 1 : 0;
}
