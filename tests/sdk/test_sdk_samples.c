/*
 * test_sdk_samples.c - runs Microsoft's primary and secondary installer samples (built
 * from the documentation at build time, see tests/sdk/sdk.cmake) against our DLL and
 * checks the whole documented flow ("Using Restart Manager with a Secondary
 * Installer"; spec 5.1-5.7 and 8.2):
 *
 *   1. a stand-in for Calculator runs: rmsdk_calc.exe, a build-time copy of
 *      rmhelper_gui.exe under a name no other test uses, "window" role, recording
 *      its messages;
 *   2. the primary sample starts a session, starts the secondary with the key, the
 *      secondary joins, registers its file and leaves; the primary registers the
 *      stand-in's image, gets the list, shuts down, restarts, ends the session;
 *   3. every Rm* call succeeded (the samples' trace, written by rmsdk_shim.h);
 *   4. the stand-in was asked and told to close (WM_QUERYENDSESSION, WM_ENDSESSION
 *      with ENDSESSION_CLOSEAPP) and exited;
 *   5. a new rmsdk_calc.exe process appeared after RmRestart (toolhelp snapshot) and
 *      set itself up again.
 *
 * The restarted process may be in no job of ours: it is found by image name and killed
 * (with anything it started) by the test and again by the teardown, which runs even
 * when an assertion fails. No child inherits our handles (ctest's pipes).
 *
 * Without the documentation folder the samples are not built: the program says so
 * and exits with 77, which ctest reports as SKIPPED.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "rmspawn.h"
#include <tlhelp32.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef RMSDK_HAVE_SEEDS
#define RMSDK_HAVE_SEEDS 0
#endif

#define APP_IMAGE L"rmsdk_calc.exe"
#define START_TIMEOUT_MS rmt_timeout(15000)
#define PRIMARY_TIMEOUT_MS rmt_timeout(150000)
#define RESTART_TIMEOUT_MS rmt_timeout(20000)
#define MAX_PIDS 64

static struct
{
    WCHAR *app;        /* the stand-in's image (copy of rmhelper_gui.exe) */
    WCHAR *record;     /* its --record file */
    WCHAR *log;        /* the samples' trace */
    WCHAR *file2;      /* what the secondary registers */
    HANDLE app_process;
    DWORD app_pid;
    FILETIME app_created;
    HANDLE job;        /* kill-on-close: the primary and whatever it starts */
    HANDLE primary;
} st;

/* ---- processes by image name ----------------------------------------------------- */

static BOOL created_time(DWORD pid, FILETIME *t)
{
    FILETIME e, k, u;
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    BOOL ok;
    if (!h) return FALSE;
    ok = GetProcessTimes(h, t, &e, &k, &u);
    CloseHandle(h);
    return ok;
}

/* Process ids of the running processes whose image is called name. */
static int find_image(const WCHAR *name, DWORD *pids, int max)
{
    PROCESSENTRY32W pe;
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    int n = 0;
    if (snap == INVALID_HANDLE_VALUE) return 0;
    pe.dwSize = sizeof(pe);
    if (Process32FirstW(snap, &pe))
        do
        {
            if (!_wcsicmp(pe.szExeFile, name) && n < max) pids[n++] = pe.th32ProcessID;
        } while (Process32NextW(snap, &pe));
    CloseHandle(snap);
    return n;
}

static void kill_pid(DWORD pid)
{
    HANDLE h = OpenProcess(PROCESS_TERMINATE | SYNCHRONIZE, FALSE, pid);
    if (!h) return;
    TerminateProcess(h, 1);
    WaitForSingleObject(h, rmt_timeout(5000));
    CloseHandle(h);
}

/* Kills every process with image name, and the processes they started (a child is a
 * process whose parent id is one of them and that was created after it, which rules
 * out a reused id). Returns how many processes of that image there were. */
static int kill_image(const WCHAR *name)
{
    DWORD pids[MAX_PIDS];
    FILETIME born[MAX_PIDS];
    PROCESSENTRY32W pe;
    HANDLE snap;
    int n, total, i, k;

    total = n = find_image(name, pids, MAX_PIDS);
    for (i = 0; i < n; i++)
        if (!created_time(pids[i], &born[i])) born[i].dwLowDateTime = born[i].dwHighDateTime = 0;
    snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    if (snap != INVALID_HANDLE_VALUE)
    {
        pe.dwSize = sizeof(pe);
        if (Process32FirstW(snap, &pe))
            do
            {
                for (k = 0; k < total && n < MAX_PIDS; k++)
                {
                    FILETIME t;
                    if (pe.th32ParentProcessID != pids[k] || pe.th32ProcessID == pids[k]) continue;
                    if (!created_time(pe.th32ProcessID, &t) || CompareFileTime(&t, &born[k]) < 0) continue;
                    pids[n++] = pe.th32ProcessID;
                    break;
                }
            } while (Process32NextW(snap, &pe));
        CloseHandle(snap);
    }
    for (i = 0; i < n; i++) kill_pid(pids[i]);
    return total;
}

/* ---- the trace --------------------------------------------------------------------- */

/* The line of text that starts with prefix, occurrence nth (0-based); NULL if none.
 * Returns a pointer into text, to the end of the prefix. */
static const char *find_line(const char *text, const char *prefix, int nth)
{
    size_t len = strlen(prefix);
    const char *p = text;
    while (p && *p)
    {
        if (!strncmp(p, prefix, len) && nth-- == 0) return p + len;
        p = strchr(p, '\n');
        if (p) p++;
    }
    return NULL;
}

static int count_lines(const char *text, const char *prefix)
{
    int n = 0;
    while (find_line(text, prefix, n)) n++;
    return n;
}

/* Index of the line that starts with prefix (first occurrence), -1 if none. */
static int line_index(const char *text, const char *prefix)
{
    const char *at = find_line(text, prefix, 0);
    const char *p;
    int i = 0;
    if (!at) return -1;
    for (p = text; p < at; p++)
        if (*p == '\n') i++;
    return i;
}

/* The rc= of the only "<who> <fn> rc=" line; fails unless there is exactly one. */
static unsigned long only_rc(const char *text, const char *who, const char *fn)
{
    char prefix[96];
    const char *p;
    snprintf(prefix, sizeof(prefix), "%s %s rc=", who, fn);
    if (count_lines(text, prefix) != 1) fail_msg("expected exactly one \"%s\" line", prefix);
    p = find_line(text, prefix, 0);
    return strtoul(p, NULL, 10);
}

static BOOL has_line(const char *text, const char *prefix)
{
    return find_line(text, prefix, 0) != NULL;
}

static char *read_trace(void)
{
    char *text = rmt_read_record(st.log);
    assert_non_null(text);
    return text;
}

/* The directory of this test program, with a trailing backslash. */
static void exe_dir(WCHAR *dir, DWORD cch)
{
    WCHAR *slash;
    DWORD n = GetModuleFileNameW(NULL, dir, cch);
    assert_true(n > 0 && n < cch);
    slash = wcsrchr(dir, L'\\');
    assert_non_null(slash);
    slash[1] = 0;
}

/* dir-of-this-program\name, on the heap (free()); NULL if out of memory. */
static WCHAR *exe_path(const WCHAR *name)
{
    WCHAR dir[MAX_PATH];
    WCHAR *p, *slash;
    size_t cch;
    DWORD n = GetModuleFileNameW(NULL, dir, MAX_PATH);
    if (!n || n >= MAX_PATH) return NULL;
    slash = wcsrchr(dir, L'\\');
    if (slash) slash[1] = 0;
    cch = wcslen(dir) + wcslen(name) + 1;
    if (!(p = malloc(cch * sizeof(WCHAR)))) return NULL;
    _snwprintf(p, cch, L"%ls%ls", dir, name);
    p[cch - 1] = 0;
    return p;
}

/* ---- setup / teardown ---------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    memset(&st, 0, sizeof(st));
    /* A stand-in left behind by an earlier run that crashed (unique image name). */
    kill_image(APP_IMAGE);
    st.app = exe_path(APP_IMAGE);
    st.record = rmt_path(L"app-record.txt");
    st.log = rmt_path(L"samples-trace.txt");
    st.file2 = rmt_make_file(L"secondary-file.dat");
    if (!st.app || !st.record || !st.log || !st.file2) return -1;
    if (GetFileAttributesW(st.app) == INVALID_FILE_ATTRIBUTES)
    {
        print_error("the stand-in %ls was not built\n", st.app);
        return -1;
    }
    DeleteFileW(st.record);
    DeleteFileW(st.log);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    /* The primary, the secondary and what they started die with the job. */
    if (st.primary)
    {
        TerminateProcess(st.primary, 1);
        WaitForSingleObject(st.primary, rmt_timeout(5000));
        CloseHandle(st.primary);
    }
    if (st.job) CloseHandle(st.job);
    if (st.app_process)
    {
        TerminateProcess(st.app_process, 1);
        WaitForSingleObject(st.app_process, rmt_timeout(5000));
        CloseHandle(st.app_process);
    }
    /* The restarted stand-in: our DLL starts it from inside the primary, so today it
     * inherits the job, but a restart made elsewhere (a service, Windows) would not:
     * it is found by image name in any case. */
    kill_image(APP_IMAGE);
    SetEnvironmentVariableW(L"RMSDK_APP", NULL);
    SetEnvironmentVariableW(L"RMSDK_FILE2", NULL);
    SetEnvironmentVariableW(L"RMSDK_LOG", NULL);
    SetEnvironmentVariableW(L"RMSDK_SECONDARY", NULL);
    free(st.app);
    free(st.record);
    free(st.log);
    free(st.file2);
    memset(&st, 0, sizeof(st));
    rmt_cleanup();
    return 0;
}

/* ---- the test ------------------------------------------------------------------------ */

static void start_app(void)
{
    WCHAR cmd[3 * MAX_PATH];
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;

    _snwprintf(cmd, ARRAYSIZE(cmd), L"\"%ls\" --record \"%ls\" window --title \"rmsdk calculator stand-in\"",
               st.app, st.record);
    cmd[ARRAYSIZE(cmd) - 1] = 0;
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    /* No handle inheritance: the stand-in (and its restarted copy, which gets the
     * same command line) must not hold ctest's pipes. */
    assert_true(CreateProcessW(st.app, cmd, NULL, NULL, FALSE, 0, NULL, rmt_tempdir(), &si, &pi));
    CloseHandle(pi.hThread);
    st.app_process = pi.hProcess;
    st.app_pid = pi.dwProcessId;
    assert_true(created_time(st.app_pid, &st.app_created));
    if (!rmt_wait_record(st.record, "STARTED", START_TIMEOUT_MS)) fail_msg("the stand-in did not start");
    assert_non_null(rmt_find_window(st.app_pid, TRUE));
}

static void run_primary(const WCHAR *dir)
{
    WCHAR exe[MAX_PATH], sec[MAX_PATH], cmd[MAX_PATH + 8];
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits;
    DWORD code = (DWORD)-1, w;

    _snwprintf(exe, MAX_PATH, L"%lsrmsdk_primary.exe", dir);
    _snwprintf(sec, MAX_PATH, L"%lsrmsdk_secondary.exe", dir);
    exe[MAX_PATH - 1] = sec[MAX_PATH - 1] = 0;
    if (GetFileAttributesW(exe) == INVALID_FILE_ATTRIBUTES || GetFileAttributesW(sec) == INVALID_FILE_ATTRIBUTES)
        fail_msg("the SDK samples were not built next to the test (%ls)", exe);

    /* What the substitutions read (tests/sdk/substitutions.tsv). */
    assert_true(SetEnvironmentVariableW(L"RMSDK_APP", st.app));
    assert_true(SetEnvironmentVariableW(L"RMSDK_FILE2", st.file2));
    assert_true(SetEnvironmentVariableW(L"RMSDK_LOG", st.log));
    assert_true(SetEnvironmentVariableW(L"RMSDK_SECONDARY", sec));

    st.job = CreateJobObjectW(NULL, NULL);
    assert_non_null(st.job);
    memset(&limits, 0, sizeof(limits));
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    assert_true(SetInformationJobObject(st.job, JobObjectExtendedLimitInformation, &limits, sizeof(limits)));

    _snwprintf(cmd, ARRAYSIZE(cmd), L"\"%ls\"", exe);
    cmd[ARRAYSIZE(cmd) - 1] = 0;
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    /* DETACHED_PROCESS and no inheritance: the samples write their trace to a file
     * and must not get our standard handles (ctest's pipes). */
    assert_true(CreateProcessW(exe, cmd, NULL, NULL, FALSE, DETACHED_PROCESS | CREATE_SUSPENDED, NULL,
                               NULL, &si, &pi));
    st.primary = pi.hProcess;
    AssignProcessToJobObject(st.job, pi.hProcess);
    ResumeThread(pi.hThread);
    CloseHandle(pi.hThread);

    w = WaitForSingleObject(st.primary, PRIMARY_TIMEOUT_MS);
    if (w != WAIT_OBJECT_0) fail_msg("the primary sample did not finish within %u ms", PRIMARY_TIMEOUT_MS);
    GetExitCodeProcess(st.primary, &code);
    CloseHandle(st.primary);
    st.primary = NULL;
    /* The sample returns 0 whatever happens; anything else is a crash. */
    assert_int_equal(code, 0);
}

/* RmGetList lines: every call either succeeded or asked for a bigger buffer (the
 * sample's loop, spec 5.5), the last one succeeded, listed exactly the stand-in as a
 * restartable main-window application, and no reboot is needed. */
static void check_getlist(const char *trace)
{
    char want[64];
    const char *p;
    unsigned long rc = 1;
    int n = count_lines(trace, "primary RmGetList rc="), i;

    assert_in_range(n, 1, 4);
    for (i = 0; i < n; i++)
    {
        p = find_line(trace, "primary RmGetList rc=", i);
        rc = strtoul(p, NULL, 10);
        if (rc != ERROR_SUCCESS && rc != ERROR_MORE_DATA) fail_msg("RmGetList returned %lu", rc);
    }
    assert_int_equal(rc, ERROR_SUCCESS);
    p = find_line(trace, "primary RmGetList rc=", n - 1);
    assert_non_null(strstr(p, "count=1 "));
    assert_non_null(strstr(p, "reasons=0"));
    /* The stand-in: its pid, RmMainWindow (1, a visible top-level window, spec 7),
     * restartable (Wine has no restart registration: the DLL's documented fallback
     * restarts applications with their command line), running (RmStatusRunning). */
    assert_int_equal(count_lines(trace, "primary app "), 1);
    snprintf(want, sizeof(want), "primary app pid=%lu ", (unsigned long)st.app_pid);
    p = find_line(trace, want, 0);
    if (!p) fail_msg("RmGetList did not list the stand-in (pid %lu)", (unsigned long)st.app_pid);
    assert_non_null(strstr(p - strlen(want), "type=1 restartable=1 status=1 "));
}

static void test_sdk_samples(void **state)
{
    WCHAR dir[MAX_PATH], dll[MAX_PATH + 16];
    char dll_line[MAX_PATH * 3 + 32], key_line[128];
    DWORD others[MAX_PIDS];
    char *trace, *rec;
    const char *key;
    int i, n, restarted = 0;
    DWORD waited;

    (void)state;
    rmt_assert_our_dll();
    exe_dir(dir, MAX_PATH);

    start_app();
    run_primary(dir);

    trace = read_trace();
    print_message("---- trace of the samples ----\n%s---- end of trace ----\n", trace);

    /* Both samples ran to the end and used the DLL under test (the one this
     * program loaded: ours beside it, or another in a conformance run). */
    if (!GetModuleFileNameW(rmt_rstrtmgr_module(), dll, ARRAYSIZE(dll))) dll[0] = 0;
    dll[ARRAYSIZE(dll) - 1] = 0;
    assert_true(has_line(trace, "primary begin "));
    assert_true(has_line(trace, "primary end"));
    assert_true(has_line(trace, "secondary begin "));
    assert_true(has_line(trace, "secondary end"));
    snprintf(dll_line, sizeof(dll_line), "primary dll %ls\n", dll);
    assert_non_null(strstr(trace, dll_line));
    snprintf(dll_line, sizeof(dll_line), "secondary dll %ls\n", dll);
    assert_non_null(strstr(trace, dll_line));

    /* Primary: the session (spec 5.1), then the secondary with the key. */
    assert_int_equal(only_rc(trace, "primary", "RmStartSession"), ERROR_SUCCESS);
    key = strstr(find_line(trace, "primary RmStartSession rc=", 0), "key=");
    assert_non_null(key);
    snprintf(key_line, sizeof(key_line), "secondary key from-command-line=%.*s\n", (int)CCH_RM_SESSION_KEY,
             key + 4);
    assert_non_null(strstr(trace, key_line));
    assert_true(has_line(trace, "primary secondary started "));
    assert_true(has_line(trace, "primary secondary exited code=0"));

    /* Secondary: join (5.2), register (5.4), leave (5.3): all succeed. */
    assert_int_equal(only_rc(trace, "secondary", "RmJoinSession"), ERROR_SUCCESS);
    assert_int_equal(only_rc(trace, "secondary", "RmRegisterResources"), ERROR_SUCCESS);
    assert_int_equal(only_rc(trace, "secondary", "RmEndSession"), ERROR_SUCCESS);
    /* ... and all that before the primary registers and asks for the list. */
    assert_true(line_index(trace, "secondary RmEndSession") < line_index(trace, "primary RmRegisterResources"));

    /* Primary: register (5.4), list (5.5), shut down (5.6), restart (5.7), end (5.3). */
    assert_int_equal(only_rc(trace, "primary", "RmRegisterResources"), ERROR_SUCCESS);
    check_getlist(trace);
    assert_int_equal(only_rc(trace, "primary", "RmShutdown"), ERROR_SUCCESS);
    assert_int_equal(only_rc(trace, "primary", "RmRestart"), ERROR_SUCCESS);
    assert_int_equal(only_rc(trace, "primary", "RmEndSession"), ERROR_SUCCESS);
    free(trace);

    /* The stand-in was asked, then told, to close for an application shutdown
     * (ENDSESSION_CLOSEAPP, spec 8.2), and it exited. */
    rec = rmt_read_record(st.record);
    assert_non_null(rec);
    print_message("---- stand-in record ----\n%s---- end of record ----\n", rec);
    assert_non_null(strstr(rec, "QUERYENDSESSION lparam=0x00000001\n"));
    assert_non_null(strstr(rec, "ENDSESSION wparam=1 lparam=0x00000001\n"));
    assert_true(strstr(rec, "QUERYENDSESSION") < strstr(rec, "\nENDSESSION"));
    free(rec);
    assert_int_equal(WaitForSingleObject(st.app_process, rmt_timeout(10000)), WAIT_OBJECT_0);
    CloseHandle(st.app_process);
    st.app_process = NULL;

    /* It came back: a new process of the same image, created after the first, that
     * set itself up again (a second STARTED in the record: the same command line). */
    for (waited = 0; waited < RESTART_TIMEOUT_MS && !restarted; waited += 100)
    {
        n = find_image(APP_IMAGE, others, MAX_PIDS);
        for (i = 0; i < n; i++)
        {
            FILETIME t;
            if (others[i] == st.app_pid || !created_time(others[i], &t)) continue;
            if (CompareFileTime(&t, &st.app_created) >= 0) restarted = 1;
        }
        if (!restarted) Sleep(100);
    }
    if (!restarted) fail_msg("no new %ls process within %u ms of RmRestart", APP_IMAGE, RESTART_TIMEOUT_MS);
    for (waited = 0; waited < START_TIMEOUT_MS; waited += 100)
    {
        rec = rmt_read_record(st.record);
        n = rec ? count_lines(rec, "STARTED") : 0;
        free(rec);
        if (n >= 2) break;
        Sleep(100);
    }
    assert_int_equal(n, 2);

    /* Clean up the restarted process ourselves and prove it is gone. */
    assert_int_equal(kill_image(APP_IMAGE), 1);
    assert_int_equal(find_image(APP_IMAGE, others, MAX_PIDS), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sdk_samples, setup, teardown),
    };

    rmt_init();
    if (!RMSDK_HAVE_SEEDS)
    {
        printf("test_sdk_samples: SKIPPED: the documentation folder with Microsoft's SDK samples "
               "(../shared/seeds) was absent at configure time, so the samples were not built\n");
        return RMT_EXIT_SKIPPED;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
