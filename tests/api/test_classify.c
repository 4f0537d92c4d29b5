/*
 * test_classify.c - what each RmGetList entry says about an application (spec 2.3,
 * 7; issue 3): ApplicationType, strAppName, strServiceShortName, TSSessionId,
 * AppStatus, bRestartable, and the reboot reasons.
 *
 * Each situation is a real helper process registered by its RM_UNIQUE_PROCESS.
 *
 * bRestartable of an ordinary application is TRUE only when it registered a restart
 * command (GetApplicationRestartSettings). Wine does not implement restart
 * registration (E_NOTIMPL); there the DLL's documented fallback makes applications
 * restartable with their captured command line, unless RSTRTMGR_RESTART_FALLBACK=off
 * is set in the caller's environment. The "off" case runs in a child copy of this
 * program (started with --child-fallback-off) so the variable is set before the
 * child's first RmGetList.
 */
#include "rmtest.h"
#include "rmspawn.h"
#include <tlhelp32.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHILD_TIMEOUT rmt_timeout(120000)
#define FALLBACK_VAR L"RSTRTMGR_RESTART_FALLBACK"
#define CHILD_SWITCH "--child-fallback-off"

static HANDLE child_process, child_job;

static int teardown(void **state)
{
    rmt_kill_all();
    rmt_end_all();
    rmt_release_process(&child_process, &child_job);
    return 0;
}

static struct rmt_child *spawn(BOOL gui, const WCHAR *args)
{
    return rmt_spawn_tracked(gui, 0, args, RMT_SPAWN_TIMEOUT);
}

/* Registers p alone in a new session and returns its only entry (in *e) and the
 * reboot reasons. */
static DWORD list_one(RM_UNIQUE_PROCESS p, RM_PROCESS_INFO *e)
{
    RM_PROCESS_INFO info[4];
    UINT needed = SENTINEL, count = 4;
    DWORD reasons = SENTINEL, h = rmt_start_tracked(NULL);

    assert_int_equal(RmRegisterResources(h, 0, NULL, 1, &p, 0, NULL), ERROR_SUCCESS);
    memset(info, 0x41, sizeof(info));
    assert_int_equal(RmGetList(h, &needed, &count, info, &reasons), ERROR_SUCCESS);
    assert_int_equal(needed, 1);
    assert_int_equal(count, 1);
    assert_true(reasons != SENTINEL);
    assert_int_equal(info[0].Process.dwProcessId, p.dwProcessId);
    assert_int_equal(info[0].Process.ProcessStartTime.dwLowDateTime, p.ProcessStartTime.dwLowDateTime);
    assert_int_equal(info[0].Process.ProcessStartTime.dwHighDateTime, p.ProcessStartTime.dwHighDateTime);
    /* Both strings NUL-terminated inside their arrays. */
    assert_non_null(wmemchr(info[0].strAppName, 0, CCH_RM_MAX_APP_NAME + 1));
    assert_non_null(wmemchr(info[0].strServiceShortName, 0, CCH_RM_MAX_SVC_NAME + 1));
    *e = info[0];
    return reasons;
}

static BOOL fallback_enabled(void)
{
    WCHAR v[16];
    DWORD n = GetEnvironmentVariableW(FALLBACK_VAR, v, ARRAYSIZE(v));
    return !(n && n < ARRAYSIZE(v) && !_wcsicmp(v, L"off"));
}

/* What bRestartable must be for an ordinary application process. */
static BOOL expected_restartable(HANDLE process)
{
    WCHAR cmd[RESTART_MAX_CMD_LINE];
    DWORD cch = ARRAYSIZE(cmd), flags = 0;
    HRESULT hr = GetApplicationRestartSettings(process, cmd, &cch, &flags);
    if (hr == E_NOTIMPL) return fallback_enabled(); /* Wine: the documented fallback */
    if (SUCCEEDED(hr)) return !(flags & RESTART_NO_PATCH);
    return FALSE; /* nothing registered */
}

/* The fields every ordinary application entry has. */
static void check_app(const RM_PROCESS_INFO *e, DWORD reasons, const struct rmt_child *c,
                      const WCHAR *exe_name)
{
    DWORD sid = SENTINEL;
    assert_int_not_equal(e->strAppName[0], 0);
    if (_wcsicmp(e->strAppName, exe_name))
        fail_msg("strAppName '%ls', expected '%ls'", e->strAppName, exe_name);
    assert_int_equal(e->strServiceShortName[0], 0);
    assert_true(ProcessIdToSessionId(c->pid, &sid));
    assert_int_equal(e->TSSessionId, sid);
    assert_int_equal(e->AppStatus, RmStatusRunning);
    if (e->bRestartable != expected_restartable(c->process))
        fail_msg("bRestartable %d, expected %d (fallback %s)", e->bRestartable,
                 expected_restartable(c->process), fallback_enabled() ? "on" : "off");
    assert_int_equal(reasons, RmRebootReasonNone);
}

/* ------------------------------------------------------------------------------ */

static void test_our_dll(void **state)
{
    rmt_assert_our_dll();
}

static void test_visible_window_is_main_window(void **state)
{
    struct rmt_child *c = spawn(TRUE, L"window --title \"RM visible window\"");
    RM_PROCESS_INFO e;
    DWORD reasons;

    assert_non_null(rmt_find_window(c->pid, TRUE)); /* the situation is what we think */
    reasons = list_one(c->id, &e);
    assert_int_equal(e.ApplicationType, RmMainWindow);
    check_app(&e, reasons, c, L"rmhelper_gui.exe");
}

static void test_hidden_window_is_other_window(void **state)
{
    struct rmt_child *c = spawn(TRUE, L"window --hidden --title \"RM hidden window\"");
    RM_PROCESS_INFO e;
    DWORD reasons;

    assert_non_null(rmt_find_window(c->pid, FALSE));
    assert_null(rmt_find_window(c->pid, TRUE));
    reasons = list_one(c->id, &e);
    assert_int_equal(e.ApplicationType, RmOtherWindow);
    check_app(&e, reasons, c, L"rmhelper_gui.exe");
}

static void test_console_app_is_console(void **state)
{
    struct rmt_child *c = rmt_spawn_tracked(FALSE, CREATE_NEW_CONSOLE, L"console", RMT_SPAWN_TIMEOUT);
    RM_PROCESS_INFO e;
    DWORD reasons = list_one(c->id, &e);
    assert_int_equal(e.ApplicationType, RmConsole);
    check_app(&e, reasons, c, L"rmhelper.exe");
}

/* A GUI-subsystem process without windows or console: nothing to classify it by. */
static void test_windowless_gui_app_is_unknown(void **state)
{
    struct rmt_child *c = spawn(TRUE, L"sleep");
    RM_PROCESS_INFO e;
    DWORD reasons;

    if (rmt_find_window(c->pid, FALSE))
    {
        printf("# the windowless GUI helper owns a window under this system: skipped\n");
        skip();
    }
    reasons = list_one(c->id, &e);
    assert_int_equal(e.ApplicationType, RmUnknownApp);
    check_app(&e, reasons, c, L"rmhelper_gui.exe");
}

/* A window helper found through a file it uses (its own executable image) is
 * classified the same as when it is registered as a process. */
static void test_window_app_found_by_file(void **state)
{
    RM_PROCESS_INFO info[2];
    UINT needed = SENTINEL, count = 2;
    DWORD reasons = SENTINEL, h;
    const WCHAR *exe = rmt_helper_path(TRUE);
    struct rmt_child *c = spawn(TRUE, L"window --title \"RM window by file\"");

    /* Its own executable is a file it uses (no other gui helper runs now). */
    h = rmt_start_tracked(NULL);
    assert_int_equal(RmRegisterResources(h, 1, &exe, 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(RmGetList(h, &needed, &count, info, &reasons), ERROR_SUCCESS);
    assert_int_equal(count, 1);
    assert_int_equal(info[0].Process.dwProcessId, c->pid);
    assert_int_equal(info[0].ApplicationType, RmMainWindow);
    check_app(&info[0], reasons, c, L"rmhelper_gui.exe");
}

/* The caller itself: critical, not restartable, DetectedSelf; named by its
 * executable's file name (spec 2.3, D16), although this program has a version
 * resource with a description (test_classify.rc). */
static void test_self_is_critical(void **state)
{
    RM_UNIQUE_PROCESS me = rmt_self();
    WCHAR path[MAX_PATH], *name;
    RM_PROCESS_INFO e;
    DWORD reasons = list_one(me, &e);

    assert_int_equal(e.ApplicationType, RmCritical);
    assert_false(e.bRestartable);
    assert_int_equal(reasons, RmRebootReasonDetectedSelf);
    assert_int_equal(e.AppStatus, RmStatusRunning);
    assert_int_equal(e.strServiceShortName[0], 0);
    GetModuleFileNameW(NULL, path, MAX_PATH);
    name = wcsrchr(path, L'\\') ? wcsrchr(path, L'\\') + 1 : path;
    if (_wcsicmp(e.strAppName, name)) fail_msg("strAppName '%ls', expected '%ls'", e.strAppName, name);
}

/* First running process whose image is named exe (case-insensitive), or 0. */
static DWORD find_process(const WCHAR *exe)
{
    PROCESSENTRY32W pe;
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    DWORD pid = 0;
    if (snap == INVALID_HANDLE_VALUE) return 0;
    pe.dwSize = sizeof(pe);
    if (Process32FirstW(snap, &pe))
    {
        do
        {
            if (!_wcsicmp(pe.szExeFile, exe) && pe.th32ProcessID != GetCurrentProcessId())
            {
                pid = pe.th32ProcessID;
                break;
            }
        } while (Process32NextW(snap, &pe));
    }
    CloseHandle(snap);
    return pid;
}

static BOOL unique_process(DWORD pid, RM_UNIQUE_PROCESS *p)
{
    FILETIME x, k, u;
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    BOOL ok;
    if (!h) return FALSE;
    p->dwProcessId = pid;
    ok = GetProcessTimes(h, &p->ProcessStartTime, &x, &k, &u);
    CloseHandle(h);
    return ok;
}

/* services.exe is on the documented list of critical system processes. */
static void test_critical_system_process(void **state)
{
    DWORD pid = find_process(L"services.exe"), reasons;
    RM_UNIQUE_PROCESS p;
    RM_PROCESS_INFO e;

    if (!pid || !unique_process(pid, &p))
    {
        printf("# no services.exe to look at: skipped\n");
        skip();
    }
    reasons = list_one(p, &e);
    assert_int_equal(e.ApplicationType, RmCritical);
    assert_false(e.bRestartable);
    assert_true(reasons & RmRebootReasonCriticalProcess);
    assert_false(reasons & RmRebootReasonDetectedSelf);
    /* Critical process, elevated caller (Wine's user is): the executable's name. */
    if (_wcsicmp(e.strAppName, L"services.exe"))
        fail_msg("strAppName '%ls', expected 'services.exe'", e.strAppName);
}

/* PID of the process owning hwnd when its image is explorer.exe, else 0. */
static DWORD explorer_owner(HWND hwnd)
{
    WCHAR path[MAX_PATH];
    DWORD pid = 0, n = MAX_PATH;
    const WCHAR *name;
    HANDLE h;
    BOOL ok;

    if (!hwnd || !GetWindowThreadProcessId(hwnd, &pid) || !pid) return 0;
    if (!(h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid))) return 0;
    ok = QueryFullProcessImageNameW(h, 0, path, &n);
    CloseHandle(h);
    if (!ok) return 0;
    name = wcsrchr(path, L'\\') ? wcsrchr(path, L'\\') + 1 : path;
    return _wcsicmp(name, L"explorer.exe") ? 0 : pid;
}

/* The shell's explorer.exe is RmExplorer. On Windows it owns the shell window. Wine
 * sets no shell window; its explorer.exe is the desktop process, started on demand
 * and ended a while after the last window closes. A process that touched the desktop
 * earlier keeps a stale desktop window whose owner is gone (and other processes then
 * do not start a new explorer), so this test runs before any other test of this
 * program uses windows, and keeps a visible window of a helper open meanwhile. */
static void test_explorer(void **state)
{
    DWORD pid = explorer_owner(GetShellWindow()), start = GetTickCount();
    RM_UNIQUE_PROCESS p;
    RM_PROCESS_INFO e;
    DWORD reasons;

    if (!pid)
    {
        spawn(TRUE, L"window --title \"RM keeps the desktop\"");
        while (!(pid = explorer_owner(GetDesktopWindow())) && GetTickCount() - start < 5000)
            Sleep(50);
    }
    if (!pid || !unique_process(pid, &p))
    {
        DWORD owner = 0;
        GetWindowThreadProcessId(GetDesktopWindow(), &owner);
        printf("# no explorer.exe owns the shell or desktop window (desktop window %p of "
               "pid %lu): skipped\n", (void *)GetDesktopWindow(), owner);
        skip();
    }
    reasons = list_one(p, &e);
    assert_int_equal(e.ApplicationType, RmExplorer);
    assert_int_equal(e.AppStatus, RmStatusRunning);
    assert_int_equal(e.strServiceShortName[0], 0);
    assert_int_not_equal(e.strAppName[0], 0);
    assert_int_equal(reasons, RmRebootReasonNone);
}

/* ------------------------------------------------------------------------------ */
/* RSTRTMGR_RESTART_FALLBACK=off (runs in the child program)                        */

static void test_child_fallback_off(void **state)
{
    struct rmt_child *c;
    RM_PROCESS_INFO e;
    DWORD reasons;

    assert_false(fallback_enabled());
    c = spawn(TRUE, L"window --title \"RM fallback off\"");
    reasons = list_one(c->id, &e);
    assert_int_equal(e.ApplicationType, RmMainWindow);
    /* Nothing registered a restart command: not restartable, with or without Wine. */
    assert_false(e.bRestartable);
    check_app(&e, reasons, c, L"rmhelper_gui.exe");
}

static void test_restart_fallback_off(void **state)
{
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits;
    WCHAR self[MAX_PATH], cmdline[MAX_PATH + 64], old[64];
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    DWORD code = SENTINEL, had_old;
    BOOL ok;

    assert_true(GetModuleFileNameW(NULL, self, MAX_PATH) > 0);
    swprintf(cmdline, ARRAYSIZE(cmdline), L"\"%ls\" " CHILD_SWITCH, self);
    child_job = CreateJobObjectW(NULL, NULL);
    assert_non_null(child_job);
    memset(&limits, 0, sizeof(limits));
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    SetInformationJobObject(child_job, JobObjectExtendedLimitInformation, &limits, sizeof(limits));

    /* Set only around CreateProcess: this process makes no RmGetList call meanwhile. */
    had_old = GetEnvironmentVariableW(FALLBACK_VAR, old, ARRAYSIZE(old));
    SetEnvironmentVariableW(FALLBACK_VAR, L"off");
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    ok = CreateProcessW(self, cmdline, NULL, NULL, TRUE, CREATE_SUSPENDED, NULL, NULL, &si, &pi);
    SetEnvironmentVariableW(FALLBACK_VAR, had_old && had_old < ARRAYSIZE(old) ? old : NULL);
    if (!ok) fail_msg("CreateProcess %ls: %lu", self, GetLastError());
    child_process = pi.hProcess;
    AssignProcessToJobObject(child_job, pi.hProcess);
    ResumeThread(pi.hThread);
    CloseHandle(pi.hThread);

    if (WaitForSingleObject(pi.hProcess, CHILD_TIMEOUT) != WAIT_OBJECT_0)
        fail_msg("child with %ls=off did not finish in %lu ms", FALLBACK_VAR, CHILD_TIMEOUT);
    assert_true(GetExitCodeProcess(pi.hProcess, &code));
    if (code) fail_msg("child with %ls=off: %lu failing test(s)", FALLBACK_VAR, code);
}

/* ------------------------------------------------------------------------------ */

#define T(f) cmocka_unit_test_teardown(f, teardown)

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_our_dll),
        T(test_explorer), /* first: see there */
        T(test_visible_window_is_main_window),
        T(test_hidden_window_is_other_window),
        T(test_console_app_is_console),
        T(test_windowless_gui_app_is_unknown),
        T(test_window_app_found_by_file),
        T(test_self_is_critical),
        T(test_critical_system_process),
        T(test_restart_fallback_off),
    };
    const struct CMUnitTest child_tests[] = {
        cmocka_unit_test(test_our_dll),
        T(test_child_fallback_off),
    };
    int failed;

    rmt_init();
    if (argc > 1 && !strcmp(argv[1], CHILD_SWITCH))
        failed = cmocka_run_group_tests_name("fallback-off child", child_tests, NULL, NULL);
    else
        failed = cmocka_run_group_tests(tests, NULL, NULL);
    rmt_cleanup();
    return failed;
}
