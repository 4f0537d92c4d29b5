/*
 * test_shutdown.c - RmShutdown, RmRestart and RmCancelCurrentTask against real
 * helper processes (spec 5.6-5.8 and 8; issue 4).
 *
 * Every rule has its own helper: a window that agrees and records the lParam it
 * got, one that refuses, one that stops pumping messages, console applications
 * with and without a CTRL_C handler, a service with a dependent service, and
 * applications the restart brings back. The test prefix sets HungAppTimeout to
 * 2000 ms and WaitToKillServiceTimeout to 3000 ms (tools/wine-prefix), so the
 * forced cases stay fast; the cancel test raises HungAppTimeout for its own run.
 *
 * Applications RmRestart brings back are new processes outside every job of this
 * test: teardown ends every helper process of this prefix by image name.
 *
 * RmShutdownOnlyRegistered with a non-restartable application needs the restart
 * fallback policy off (README, Choices): that case runs in a child copy of this
 * program started with RSTRTMGR_RESTART_FALLBACK=off.
 */
#include "rmtest.h"
#include "rmspawn.h"
#include <tlhelp32.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACK_TIMEOUT rmt_timeout(15000)      /* for a restarted application to show up */
#define CHILD_SWITCH "--child-fallback-off"
static LSTATUS set_hung_timeout(const WCHAR *value, WCHAR *old, DWORD cb_old);
#define PREFIX_HUNG_TIMEOUT L"2000"   /* what tools/wine-prefix sets */

/* ---- helpers ----------------------------------------------------------------- */

static const WCHAR *helper_images[] = { L"rmhelper.exe", L"rmhelper_gui.exe", L"rmcopy.exe" };
static WCHAR services[4][64];

/* Ends every helper process in this prefix (the restarted ones included). */
static void kill_helper_images(void)
{
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    PROCESSENTRY32W pe;
    size_t i;

    if (snap == INVALID_HANDLE_VALUE) return;
    pe.dwSize = sizeof(pe);
    for (BOOL ok = Process32FirstW(snap, &pe); ok; ok = Process32NextW(snap, &pe))
        for (i = 0; i < ARRAYSIZE(helper_images); i++)
            if (!_wcsicmp(pe.szExeFile, helper_images[i]))
            {
                HANDLE h = OpenProcess(PROCESS_TERMINATE | SYNCHRONIZE, FALSE, pe.th32ProcessID);
                if (h)
                {
                    TerminateProcess(h, 1);
                    WaitForSingleObject(h, rmt_timeout(5000));
                    CloseHandle(h);
                }
            }
    CloseHandle(snap);
}

static int teardown(void **state)
{
    size_t i;
    /* Whatever a failed test left, the prefix's value comes back. */
    set_hung_timeout(PREFIX_HUNG_TIMEOUT, NULL, 0);
    /* Dependents (higher indexes) first. */
    for (i = ARRAYSIZE(services); i-- > 0;)
        if (services[i][0])
        {
            rmt_service_remove(services[i]);
            services[i][0] = 0;
        }
    rmt_kill_all();
    rmt_end_all();
    kill_helper_images();
    return 0;
}

/* PIDs of running processes with this image name, other than the ones in skip. */
static DWORD find_new_process(const WCHAR *image, const DWORD *skip, size_t nskip)
{
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    PROCESSENTRY32W pe;
    DWORD found = 0;
    size_t i;

    if (snap == INVALID_HANDLE_VALUE) return 0;
    pe.dwSize = sizeof(pe);
    for (BOOL ok = Process32FirstW(snap, &pe); ok && !found; ok = Process32NextW(snap, &pe))
    {
        if (_wcsicmp(pe.szExeFile, image)) continue;
        found = pe.th32ProcessID;
        for (i = 0; i < nskip; i++)
            if (skip[i] == pe.th32ProcessID) found = 0;
    }
    CloseHandle(snap);
    return found;
}

static DWORD wait_new_process(const WCHAR *image, const DWORD *skip, size_t nskip, DWORD timeout)
{
    DWORD start = GetTickCount(), pid;
    while (!(pid = find_new_process(image, skip, nskip)) && GetTickCount() - start < timeout) Sleep(50);
    return pid;
}

static size_t count_in(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

static size_t record_count(const WCHAR *rec, const char *needle)
{
    char *text = rmt_read_record(rec);
    size_t n = count_in(text, needle);
    free(text);
    return n;
}

/* Polls until the record holds needle at least n times. */
static BOOL wait_record_count(const WCHAR *rec, const char *needle, size_t n, DWORD timeout)
{
    DWORD start = GetTickCount();
    while (record_count(rec, needle) < n)
    {
        if (GetTickCount() - start > timeout) return FALSE;
        Sleep(50);
    }
    return TRUE;
}

static BOOL record_has(const WCHAR *rec, const char *needle)
{
    return record_count(rec, needle) > 0;
}

static WCHAR *record_path(const WCHAR *tag)
{
    WCHAR name[64];
    swprintf(name, ARRAYSIZE(name), L"rec-%ls.txt", tag);
    return rmt_path(name);
}

/* A window helper with a record file. */
static struct rmt_child *spawn_window(const WCHAR *rec, const WCHAR *options)
{
    WCHAR args[2 * MAX_PATH];
    swprintf(args, ARRAYSIZE(args), L"--record \"%ls\" window %ls", rec, options ? options : L"");
    return rmt_spawn_tracked(TRUE, 0, args, RMT_SPAWN_TIMEOUT);
}

static struct rmt_child *spawn_console(const WCHAR *rec, const WCHAR *options)
{
    WCHAR args[2 * MAX_PATH];
    swprintf(args, ARRAYSIZE(args), L"--record \"%ls\" console %ls", rec, options ? options : L"");
    return rmt_spawn_tracked(FALSE, CREATE_NEW_CONSOLE, args, RMT_SPAWN_TIMEOUT);
}

static DWORD start_with(const RM_UNIQUE_PROCESS *procs, UINT n)
{
    DWORD h = rmt_start_tracked(NULL);
    assert_int_equal(RmRegisterResources(h, 0, NULL, n, (RM_UNIQUE_PROCESS *)procs, 0, NULL), ERROR_SUCCESS);
    return h;
}

static BOOL exited(struct rmt_child *c, DWORD timeout)
{
    return c->process && WaitForSingleObject(c->process, timeout) == WAIT_OBJECT_0;
}

/* The RmGetList entry for pid (fails the test when absent). */
static RM_PROCESS_INFO entry_of(DWORD h, DWORD pid)
{
    RM_PROCESS_INFO info[16];
    UINT needed = 0, count = ARRAYSIZE(info);
    DWORD reasons = 0;
    const RM_PROCESS_INFO *e;

    assert_int_equal(RmGetList(h, &needed, &count, info, &reasons), ERROR_SUCCESS);
    e = rmt_find_pid(info, count, pid);
    if (!e) fail_msg("pid %lu not in the list (%u entries)", pid, count);
    return *e;
}

/* ---- progress ------------------------------------------------------------------ */

static UINT progress_values[256];
static volatile LONG progress_count;
static DWORD progress_thread;

static void progress_cb(UINT percent)
{
    LONG i = InterlockedIncrement(&progress_count) - 1;
    if (i < (LONG)ARRAYSIZE(progress_values)) progress_values[i] = percent;
    progress_thread = GetCurrentThreadId();
}

static void progress_reset(void)
{
    progress_count = 0;
    progress_thread = 0;
}

/* Spec 8.7: strictly increasing, never above 100, ending with 100 (our choice for
 * the UNCERTAIN end value), on the caller's thread. */
static void assert_progress_ok(void)
{
    LONG i;
    assert_true(progress_count >= 1);
    assert_true(progress_count <= (LONG)ARRAYSIZE(progress_values));
    for (i = 1; i < progress_count; i++)
        if (progress_values[i] <= progress_values[i - 1])
            fail_msg("progress %u after %u", progress_values[i], progress_values[i - 1]);
    for (i = 0; i < progress_count; i++) assert_true(progress_values[i] <= 100);
    if (!rmt_conformance()) assert_int_equal(progress_values[progress_count - 1], 100);
    assert_int_equal(progress_thread, GetCurrentThreadId());
}

/* ---- tests ------------------------------------------------------------------------ */

/* delay ms, or, when wait_for is set, until that line is in the record wait_rec. */
struct cancel_arg { DWORD h, delay; double at; DWORD result; const WCHAR *wait_rec; const char *wait_for; };
static DWORD WINAPI cancel_thread(void *param);

static void test_our_dll(void **state) { rmt_assert_our_dll(); }

/* Spec 5.7: RmRestart before RmShutdown is out of sequence; an RmShutdown with
 * nothing to do is a shutdown all the same. */
static void test_sequence(void **state)
{
    DWORD h = rmt_start_tracked(NULL);

    assert_int_equal(RmRestart(h, 0, NULL), ERROR_REQUEST_OUT_OF_SEQUENCE);
    progress_reset();
    assert_int_equal(RmShutdown(h, 0, progress_cb), ERROR_SUCCESS);
    assert_progress_ok();
    progress_reset();
    assert_int_equal(RmRestart(h, 0, progress_cb), ERROR_SUCCESS);
    assert_progress_ok();
    /* Nothing running: cancel is a harmless request (spec 5.8, U17). */
    assert_int_equal(RmCancelCurrentTask(h), ERROR_SUCCESS);
    rmt_end_ok(h);
}

/* Spec 8.2: WM_QUERYENDSESSION then WM_ENDSESSION(TRUE), both with
 * ENDSESSION_CLOSEAPP; the application exits; the list keeps it, Stopped. */
static void test_gui_app_closed_politely(void **state)
{
    WCHAR *rec = record_path(L"polite");
    struct rmt_child *c = spawn_window(rec, NULL);
    DWORD h = start_with(&c->id, 1);
    RM_PROCESS_INFO e;
    char *text;

    e = entry_of(h, c->pid);
    assert_int_equal(e.ApplicationType, RmMainWindow);
    assert_int_equal(e.AppStatus, RmStatusRunning);

    progress_reset();
    assert_int_equal(RmShutdown(h, 0, progress_cb), ERROR_SUCCESS);
    assert_true(exited(c, rmt_timeout(5000)));
    assert_progress_ok();
    text = rmt_read_record(rec);
    assert_non_null(strstr(text, "QUERYENDSESSION lparam=0x00000001\nENDSESSION wparam=1 lparam=0x00000001\n"));
    free(text);

    /* After the shutdown the list still reports it, with its history. */
    e = entry_of(h, c->pid);
    assert_true(e.AppStatus & RmStatusStopped);
    assert_false(e.AppStatus & RmStatusErrorOnStop);
    free(rec);
}

/* Spec 8.2 step 2: one refusal and nothing is closed (351, ErrorOnStop on the
 * refuser, the other one never told to end); forced, both go. */
static void test_refusal_then_force(void **state)
{
    WCHAR *rec_no = record_path(L"refuser"), *rec_ok = record_path(L"agreer");
    struct rmt_child *no = spawn_window(rec_no, L"--refuse");
    struct rmt_child *ok = spawn_window(rec_ok, NULL);
    RM_UNIQUE_PROCESS procs[2] = { no->id, ok->id };
    DWORD h = start_with(procs, 2);
    RM_PROCESS_INFO e;

    assert_int_equal(RmShutdown(h, 0, NULL), ERROR_FAIL_SHUTDOWN);
    assert_true(rmt_child_alive(no));
    assert_true(rmt_child_alive(ok));
    assert_true(record_has(rec_no, "QUERYENDSESSION"));
    assert_false(record_has(rec_no, "ENDSESSION wparam"));
    assert_false(record_has(rec_ok, "ENDSESSION wparam"));
    assert_false(record_has(rec_ok, "CLOSE"));
    e = entry_of(h, no->pid);
    assert_true(e.AppStatus & RmStatusErrorOnStop);
    assert_true(e.AppStatus & RmStatusRunning);

    assert_int_equal(RmShutdown(h, RmForceShutdown, NULL), ERROR_SUCCESS);
    assert_true(exited(no, rmt_timeout(5000)));
    assert_true(exited(ok, rmt_timeout(5000)));
    assert_true(entry_of(h, ok->pid).AppStatus & RmStatusStopped);
    assert_true(entry_of(h, no->pid).AppStatus & RmStatusStopped);
    free(rec_no);
    free(rec_ok);
}

/* Spec 8.2 step 5-6: a window that stops answering blocks a polite shutdown (351,
 * within the hung-application timeout, not forever); forced, it is terminated. */
static void test_hung_window(void **state)
{
    WCHAR *rec = record_path(L"hung");
    struct rmt_child *c = spawn_window(rec, L"--hang");
    DWORD h = start_with(&c->id, 1);
    double t0 = rmt_now_s(), spent;

    assert_int_equal(RmShutdown(h, 0, NULL), ERROR_FAIL_SHUTDOWN);
    spent = rmt_now_s() - t0;
    print_message("polite shutdown of a hung window returned after %.2f s\n", spent);
    assert_true(spent < rmt_seconds(10.0));
    assert_true(rmt_child_alive(c));
    assert_true(entry_of(h, c->pid).AppStatus & RmStatusErrorOnStop);

    t0 = rmt_now_s();
    assert_int_equal(RmShutdown(h, RmForceShutdown, NULL), ERROR_SUCCESS);
    print_message("forced shutdown of a hung window took %.2f s\n", rmt_now_s() - t0);
    assert_true(exited(c, rmt_timeout(5000)));
    free(rec);
}

/* Spec 8.3: CTRL_C_EVENT to a console application, the caller's own console left
 * alone (this test keeps printing through it afterwards). */
static void test_console_ctrl_c(void **state)
{
    WCHAR *rec = record_path(L"console");
    struct rmt_child *c = spawn_console(rec, NULL);
    DWORD h = start_with(&c->id, 1);
    HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);

    assert_int_equal(entry_of(h, c->pid).ApplicationType, RmConsole);
    assert_int_equal(RmShutdown(h, 0, NULL), ERROR_SUCCESS);
    assert_true(exited(c, rmt_timeout(5000)));
    assert_true(record_has(rec, "CTRL 0\n"));
    assert_true(entry_of(h, c->pid).AppStatus & RmStatusStopped);
    /* Our standard handles still work. */
    assert_true(GetStdHandle(STD_OUTPUT_HANDLE) == out);
    print_message("console of the caller still usable\n");
    free(rec);
}

/* A console application that ignores CTRL_C: 351 politely, terminated when forced. */
static void test_console_ignoring_ctrl_c(void **state)
{
    WCHAR *rec = record_path(L"stubborn");
    struct rmt_child *c = spawn_console(rec, L"--ignore-ctrl-c");
    DWORD h = start_with(&c->id, 1);

    assert_int_equal(RmShutdown(h, 0, NULL), ERROR_FAIL_SHUTDOWN);
    assert_true(rmt_child_alive(c));
    assert_true(record_has(rec, "CTRL 0\n"));
    assert_true(entry_of(h, c->pid).AppStatus & RmStatusErrorOnStop);
    assert_int_equal(RmShutdown(h, RmForceShutdown, NULL), ERROR_SUCCESS);
    assert_true(exited(c, rmt_timeout(5000)));
    free(rec);
}

static DWORD service_state(const WCHAR *name)
{
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT), svc;
    SERVICE_STATUS st;
    DWORD state = 0;
    if (!scm) return 0;
    if ((svc = OpenServiceW(scm, name, SERVICE_QUERY_STATUS)))
    {
        if (QueryServiceStatus(svc, &st)) state = st.dwCurrentState;
        CloseServiceHandle(svc);
    }
    CloseServiceHandle(scm);
    return state;
}

/* Installs and starts services[slot] ("rmtsd-<pid>-<suffix>"), a helper service
 * that writes to rec; deps is a double-NUL list or NULL, extra more role words.
 * Returns its PID; teardown removes it. */
static DWORD install_service(int slot, const WCHAR *suffix, const WCHAR *rec, const WCHAR *deps,
                             const WCHAR *extra)
{
    WCHAR args[2 * MAX_PATH];
    DWORD pid = 0;

    swprintf(services[slot], 64, L"rmtsd-%lu-%ls", GetCurrentProcessId(), suffix);
    swprintf(args, ARRAYSIZE(args), L"--record \"%ls\" service %ls%ls", rec, services[slot], extra ? extra : L"");
    assert_int_equal(rmt_service_install(services[slot], NULL, args, deps, RMT_SPAWN_TIMEOUT, &pid), ERROR_SUCCESS);
    return pid;
}

/* Spec 8.4 and 5.7: a registered service is stopped with its running dependent,
 * the dependent first; RmRestart starts them again, the base first. */
static void test_service_with_dependent(void **state)
{
    WCHAR *rec = record_path(L"services"), deps[80];
    const WCHAR *names[1];
    DWORD h, pid_base = 0, pid_dep = 0;
    char *text, want[160];
    const char *p_dep, *p_base;

    pid_base = install_service(0, L"base", rec, NULL, NULL);
    memset(deps, 0, sizeof(deps));
    wcscpy(deps, services[0]);
    pid_dep = install_service(1, L"dep", rec, deps, NULL);

    h = rmt_start_tracked(NULL);
    names[0] = services[0];
    assert_int_equal(RmRegisterResources(h, 0, NULL, 0, NULL, 1, names), ERROR_SUCCESS);
    assert_int_equal(entry_of(h, pid_dep).ApplicationType, RmService);

    assert_int_equal(RmShutdown(h, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(service_state(services[0]), SERVICE_STOPPED);
    assert_int_equal(service_state(services[1]), SERVICE_STOPPED);
    text = rmt_read_record(rec);
    snprintf(want, sizeof(want), "STOP %ls\n", services[1]);
    p_dep = strstr(text, want);
    snprintf(want, sizeof(want), "STOP %ls\n", services[0]);
    p_base = strstr(text, want);
    assert_non_null(p_dep);
    assert_non_null(p_base);
    assert_true(p_dep < p_base);   /* dependents first */
    free(text);
    assert_true(entry_of(h, pid_base).AppStatus & RmStatusStopped);

    assert_int_equal(RmRestart(h, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(service_state(services[0]), SERVICE_RUNNING);
    assert_int_equal(service_state(services[1]), SERVICE_RUNNING);
    text = rmt_read_record(rec);
    /* After the stops: the base started again before its dependent. */
    snprintf(want, sizeof(want), "STARTED %ls\n", services[0]);
    p_base = strstr(strstr(text, "STOP "), want);
    snprintf(want, sizeof(want), "STARTED %ls\n", services[1]);
    p_dep = strstr(strstr(text, "STOP "), want);
    assert_non_null(p_base);
    assert_non_null(p_dep);
    assert_true(p_base < p_dep);
    free(text);
    free(rec);
}

/* Spec 8.4 with a diamond: A depends on R, C on both R and A. Registered R:
 * stopped C, A, R (each before what it depends on); started R, A, C. */
static void test_service_dependency_order(void **state)
{
    WCHAR *rec = record_path(L"diamond"), deps[160];
    const WCHAR *names[1];
    DWORD h;
    char *text, want[3][160];
    const char *p[3];
    int i;

    install_service(0, L"r", rec, NULL, NULL);
    memset(deps, 0, sizeof(deps));
    wcscpy(deps, services[0]);
    install_service(1, L"a", rec, deps, NULL);
    /* C: "R\0A\0\0" */
    wcscpy(deps + wcslen(services[0]) + 1, services[1]);
    install_service(3, L"c", rec, deps, NULL);

    h = rmt_start_tracked(NULL);
    names[0] = services[0];
    assert_int_equal(RmRegisterResources(h, 0, NULL, 0, NULL, 1, names), ERROR_SUCCESS);
    assert_int_equal(RmShutdown(h, 0, NULL), ERROR_SUCCESS);
    text = rmt_read_record(rec);
    snprintf(want[0], sizeof(want[0]), "STOP %ls\n", services[3]);
    snprintf(want[1], sizeof(want[1]), "STOP %ls\n", services[1]);
    snprintf(want[2], sizeof(want[2]), "STOP %ls\n", services[0]);
    for (i = 0; i < 3; i++) assert_non_null(p[i] = strstr(text, want[i]));
    assert_true(p[0] < p[1] && p[1] < p[2]);   /* C, A, R */
    free(text);

    assert_int_equal(RmRestart(h, 0, NULL), ERROR_SUCCESS);
    for (i = 0; i < 3; i++)
        assert_int_equal(service_state(i == 2 ? services[3] : services[i]), SERVICE_RUNNING);
    text = rmt_read_record(rec);
    {
        const char *after = strstr(text, want[2]);   /* after R's STOP */
        snprintf(want[0], sizeof(want[0]), "STARTED %ls\n", services[0]);
        snprintf(want[1], sizeof(want[1]), "STARTED %ls\n", services[1]);
        snprintf(want[2], sizeof(want[2]), "STARTED %ls\n", services[3]);
        for (i = 0; i < 3; i++) assert_non_null(p[i] = strstr(after, want[i]));
        assert_true(p[0] < p[1] && p[1] < p[2]);   /* R, A, C */
    }
    free(text);
    free(rec);
}

/* Spec 5.6 and 8.4: a service that never stops makes a polite shutdown fail
 * after WaitToKillServiceTimeout (3 s in the test prefix), not hang; forced, its
 * process is ended. */
static void test_service_that_never_stops(void **state)
{
    WCHAR *rec = record_path(L"stuck-service");
    const WCHAR *names[1];
    DWORD h, pid = 0;
    HANDLE process;
    double t0, spent;

    pid = install_service(2, L"stuck", rec, NULL, L" --ignore-stop");
    process = OpenProcess(SYNCHRONIZE, FALSE, pid);
    assert_non_null(process);
    h = rmt_start_tracked(NULL);
    names[0] = services[2];
    assert_int_equal(RmRegisterResources(h, 0, NULL, 0, NULL, 1, names), ERROR_SUCCESS);

    t0 = rmt_now_s();
    assert_int_equal(RmShutdown(h, 0, NULL), ERROR_FAIL_SHUTDOWN);
    spent = rmt_now_s() - t0;
    print_message("polite stop of a stuck service returned after %.2f s\n", spent);
    assert_true(spent < rmt_seconds(15.0));
    assert_true(record_has(rec, "STOP "));
    assert_int_equal(WaitForSingleObject(process, 0), WAIT_TIMEOUT);
    assert_true(entry_of(h, pid).AppStatus & RmStatusErrorOnStop);

    assert_int_equal(RmShutdown(h, RmForceShutdown, NULL), ERROR_SUCCESS);
    assert_int_equal(WaitForSingleObject(process, rmt_timeout(5000)), WAIT_OBJECT_0);
    CloseHandle(process);
    free(rec);
}

/* Spec 5.8 and issue 6: RmCancelCurrentTask racing RmShutdown at random moments.
 * Every outcome is either done (0) or cancelled (1223), never anything else, and
 * the session stays usable: the next shutdown of what is left succeeds. */
static void test_cancel_races_shutdown(void **state)
{
    int round, done = 0, cancelled = 0;
    srand(GetCurrentProcessId());
    for (round = 0; round < 8; round++)
    {
        WCHAR *rec = record_path(L"race");
        struct rmt_child *c = spawn_window(rec, L"--close-delay 100");
        DWORD h = start_with(&c->id, 1), r;
        struct cancel_arg arg;
        HANDLE thread;

        memset(&arg, 0, sizeof(arg));
        arg.h = h;
        arg.delay = (DWORD)(rand() % 250);
        arg.result = SENTINEL;
        thread = CreateThread(NULL, 0, cancel_thread, &arg, 0, NULL);
        assert_non_null(thread);
        r = RmShutdown(h, 0, NULL);
        WaitForSingleObject(thread, rmt_timeout(10000));
        CloseHandle(thread);
        assert_int_equal(arg.result, ERROR_SUCCESS);
        if (r == ERROR_SUCCESS) done++;
        else if (r == ERROR_CANCELLED) cancelled++;
        else fail_msg("round %d: RmShutdown returned %lu", round, r);
        /* Consistent afterwards: whatever is still running can be shut down. */
        assert_int_equal(RmShutdown(h, RmForceShutdown, NULL), ERROR_SUCCESS);
        assert_true(exited(c, rmt_timeout(5000)));
        rmt_end_ok(h);
        DeleteFileW(rec);
        free(rec);
    }
    print_message("cancel race: %d completed, %d cancelled\n", done, cancelled);
}

/* Spec 5.6 and 5.7: an application closed by RmShutdown comes back with the
 * command line it was started with (the same --record file), as a new process;
 * its status gains Restarted. */
static void test_restart_brings_back(void **state)
{
    WCHAR *rec = record_path(L"comeback");
    struct rmt_child *c = spawn_window(rec, NULL);
    DWORD h = start_with(&c->id, 1), old = c->pid, back;
    RM_PROCESS_INFO e;

    assert_true(entry_of(h, c->pid).bRestartable);   /* Wine: the fallback policy */
    assert_int_equal(RmShutdown(h, 0, NULL), ERROR_SUCCESS);
    assert_true(exited(c, rmt_timeout(5000)));
    assert_int_equal(record_count(rec, "STARTED"), 1);
    progress_reset();
    assert_int_equal(RmRestart(h, 0, progress_cb), ERROR_SUCCESS);
    assert_progress_ok();
    back = wait_new_process(L"rmhelper_gui.exe", &old, 1, BACK_TIMEOUT);
    assert_true(back != 0);
    /* The new instance set itself up from the same command line (same record
     * file, same role) and is running. */
    assert_true(wait_record_count(rec, "STARTED", 2, BACK_TIMEOUT));
    assert_null(strstr(rmt_read_record(rec), "FAIL"));
    Sleep(300);
    assert_int_equal(find_new_process(L"rmhelper_gui.exe", &old, 1), back);
    e = entry_of(h, old);
    assert_true(e.AppStatus & RmStatusStopped);
    assert_true(e.AppStatus & RmStatusRestarted);
    assert_false(e.AppStatus & RmStatusErrorOnRestart);
    free(rec);
}

/* README "Choices" (restart fallback under Wine): the application comes back in
 * the directory it was running in, with its command line. */
static void test_restart_keeps_directory(void **state)
{
    RMT_OUR_CHOICE("README: the restart fallback starts an application in the directory it ran in");
    WCHAR *rec = record_path(L"cwd"), *dir = rmt_path(L"workdir"), cmd[3 * MAX_PATH];
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    RM_UNIQUE_PROCESS p;
    FILETIME t[3];
    DWORD h, old;
    char *text, want[MAX_PATH + 8];

    assert_true(CreateDirectoryW(dir, NULL) || GetLastError() == ERROR_ALREADY_EXISTS);
    swprintf(cmd, ARRAYSIZE(cmd), L"\"%ls\" --record \"%ls\" window --say-cwd", rmt_helper_path(TRUE), rec);
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    assert_true(CreateProcessW(NULL, cmd, NULL, NULL, FALSE, 0, NULL, dir, &si, &pi));
    CloseHandle(pi.hThread);
    assert_true(rmt_wait_record(rec, "STARTED", RMT_SPAWN_TIMEOUT));
    p.dwProcessId = old = pi.dwProcessId;
    assert_true(GetProcessTimes(pi.hProcess, &p.ProcessStartTime, &t[0], &t[1], &t[2]));
    h = start_with(&p, 1);

    assert_int_equal(RmShutdown(h, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(WaitForSingleObject(pi.hProcess, rmt_timeout(5000)), WAIT_OBJECT_0);
    CloseHandle(pi.hProcess);
    assert_int_equal(RmRestart(h, 0, NULL), ERROR_SUCCESS);
    assert_true(wait_record_count(rec, "CWD ", 2, BACK_TIMEOUT));
    assert_true(wait_new_process(L"rmhelper_gui.exe", &old, 1, BACK_TIMEOUT) != 0);
    text = rmt_read_record(rec);
    snprintf(want, sizeof(want), "CWD %ls", dir);
    /* Both instances report the same directory. */
    assert_int_equal(count_in(text, want), 2);
    free(text);
    free(dir);
    free(rec);
}

/* Spec 8.2 step 6: a GUI process without windows cannot be asked; without
 * RmForceShutdown that is a failure (351, not asked, still running); forced, it
 * is ended. */
static void test_windowless_gui_process(void **state)
{
    struct rmt_child *c = rmt_spawn_tracked(TRUE, 0, L"sleep", RMT_SPAWN_TIMEOUT);
    DWORD h = start_with(&c->id, 1);

    assert_int_equal(entry_of(h, c->pid).ApplicationType, RmUnknownApp);
    assert_int_equal(RmShutdown(h, 0, NULL), ERROR_FAIL_SHUTDOWN);
    assert_true(rmt_child_alive(c));
    assert_true(entry_of(h, c->pid).AppStatus & RmStatusErrorOnStop);
    assert_int_equal(RmShutdown(h, RmForceShutdown, NULL), ERROR_SUCCESS);
    assert_true(exited(c, rmt_timeout(5000)));
}

/* README, Choices (issue 11): a GUI process without windows (a Chromium renderer,
 * say) beside an ordinary window. It cannot be asked, which is not a refusal: the
 * window is closed, the windowless process is left with ErrorOnStop, 351 ("some
 * applications could not be shut down"). RmRestart brings back what was closed;
 * forced, the windowless one goes too. */
static void test_windowless_beside_window(void **state)
{
    RMT_OUR_CHOICE("README: a windowless GUI process is left running with ErrorOnStop, 351");
    WCHAR *rec = record_path(L"besidewindowless");
    struct rmt_child *win = spawn_window(rec, NULL);
    struct rmt_child *bare = rmt_spawn_tracked(TRUE, 0, L"sleep", RMT_SPAWN_TIMEOUT);
    RM_UNIQUE_PROCESS procs[2] = { win->id, bare->id };
    DWORD h = start_with(procs, 2), skip[2] = { win->pid, bare->pid };

    assert_int_equal(RmShutdown(h, 0, NULL), ERROR_FAIL_SHUTDOWN);
    assert_true(exited(win, rmt_timeout(5000)));
    assert_true(record_has(rec, "ENDSESSION wparam=1"));
    assert_true(rmt_child_alive(bare));
    assert_true(entry_of(h, win->pid).AppStatus & RmStatusStopped);
    assert_true(entry_of(h, bare->pid).AppStatus & RmStatusErrorOnStop);
    assert_true(entry_of(h, bare->pid).AppStatus & RmStatusRunning);

    assert_int_equal(RmRestart(h, 0, NULL), ERROR_SUCCESS);
    assert_true(wait_new_process(L"rmhelper_gui.exe", skip, 2, BACK_TIMEOUT) != 0);
    assert_true(wait_record_count(rec, "STARTED", 2, BACK_TIMEOUT));
    assert_int_equal(RmShutdown(h, RmForceShutdown, NULL), ERROR_SUCCESS);
    assert_true(exited(bare, rmt_timeout(5000)));
    free(rec);
}

/* Spec 5.7: a restart that fails gives 352 and ErrorOnRestart on that one; the
 * others still come back. */
static void test_restart_failure(void **state)
{
    WCHAR copy[MAX_PATH], *rec_gone = record_path(L"gone"), *rec_ok = record_path(L"back");
    WCHAR args[2 * MAX_PATH];
    struct rmt_child gone;
    struct rmt_child *ok;
    RM_UNIQUE_PROCESS procs[2];
    DWORD h, skip[2], back;

    /* Next to the helper: the copy needs the DLL beside it. */
    wcscpy(copy, rmt_helper_path(TRUE));
    wcscpy(wcsrchr(copy, L'\\') + 1, L"rmcopy.exe");
    assert_true(CopyFileW(rmt_helper_path(TRUE), copy, FALSE));
    swprintf(args, ARRAYSIZE(args), L"--record \"%ls\" window", rec_gone);
    assert_int_equal(rmt_spawn_exe(copy, args, 0, TRUE, RMT_SPAWN_TIMEOUT, &gone), ERROR_SUCCESS);
    ok = spawn_window(rec_ok, NULL);
    procs[0] = gone.id;
    procs[1] = ok->id;
    h = start_with(procs, 2);
    skip[0] = gone.pid;
    skip[1] = ok->pid;

    assert_int_equal(RmShutdown(h, 0, NULL), ERROR_SUCCESS);
    assert_true(exited(&gone, rmt_timeout(5000)));
    assert_true(exited(ok, rmt_timeout(5000)));
    rmt_child_kill(&gone);
    /* The installer replaced (here: removed) the first application's program. */
    assert_true(DeleteFileW(copy));
    assert_int_equal(RmRestart(h, 0, NULL), ERROR_FAIL_RESTART);
    assert_true(entry_of(h, gone.pid).AppStatus & RmStatusErrorOnRestart);
    assert_true(entry_of(h, ok->pid).AppStatus & RmStatusRestarted);
    back = wait_new_process(L"rmhelper_gui.exe", skip, 2, BACK_TIMEOUT);
    assert_true(back != 0);
    assert_true(wait_record_count(rec_ok, "STARTED", 2, BACK_TIMEOUT));
    assert_int_equal(record_count(rec_gone, "STARTED"), 1);
    free(rec_gone);
    free(rec_ok);
}

/* Spec 5.9 / 5.7: RmNoShutdown leaves the application alone (ShutdownMasked);
 * RmNoRestart closes it and does not bring it back (RestartMasked). */
static void test_filters_mask(void **state)
{
    WCHAR *rec_keep = record_path(L"keep"), *rec_norestart = record_path(L"norestart");
    struct rmt_child *keep = spawn_window(rec_keep, NULL);
    struct rmt_child *norestart = spawn_window(rec_norestart, NULL);
    RM_UNIQUE_PROCESS procs[2] = { keep->id, norestart->id };
    DWORD h = start_with(procs, 2), skip[2] = { keep->pid, norestart->pid };

    assert_int_equal(RmAddFilter(h, NULL, &keep->id, NULL, RmNoShutdown), ERROR_SUCCESS);
    assert_int_equal(RmAddFilter(h, NULL, &norestart->id, NULL, RmNoRestart), ERROR_SUCCESS);
    assert_int_equal(RmShutdown(h, 0, NULL), ERROR_SUCCESS);
    assert_true(exited(norestart, rmt_timeout(5000)));
    assert_true(rmt_child_alive(keep));
    assert_false(record_has(rec_keep, "QUERYENDSESSION"));
    assert_true(entry_of(h, keep->pid).AppStatus & RmStatusShutdownMasked);
    assert_true(entry_of(h, norestart->pid).AppStatus & RmStatusRestartMasked);
    assert_true(entry_of(h, norestart->pid).AppStatus & RmStatusStopped);

    assert_int_equal(RmRestart(h, 0, NULL), ERROR_SUCCESS);
    Sleep(1500);
    assert_int_equal(find_new_process(L"rmhelper_gui.exe", skip, 2), 0);
    assert_int_equal(record_count(rec_norestart, "STARTED"), 1);
    free(rec_keep);
    free(rec_norestart);
}

/* Spec 5.9 ("the latest call wins") and 5.7: RmRestart follows the filters in force
 * when it runs, not those of RmShutdown. A filter added after the shutdown keeps
 * its application down; one removed since lets its application come back. */
static void test_filters_at_restart_time(void **state)
{
    WCHAR *rec_added = record_path(L"added-late"), *rec_removed = record_path(L"removed-late");
    struct rmt_child *added = spawn_window(rec_added, NULL);
    struct rmt_child *removed = spawn_window(rec_removed, NULL);
    RM_UNIQUE_PROCESS procs[2] = { added->id, removed->id };
    DWORD h = start_with(procs, 2), skip[2] = { added->pid, removed->pid }, back;

    assert_int_equal(RmAddFilter(h, NULL, &removed->id, NULL, RmNoRestart), ERROR_SUCCESS);
    assert_int_equal(RmShutdown(h, 0, NULL), ERROR_SUCCESS);
    assert_true(exited(added, rmt_timeout(5000)));
    assert_true(exited(removed, rmt_timeout(5000)));
    assert_true(entry_of(h, removed->pid).AppStatus & RmStatusRestartMasked);
    assert_false(entry_of(h, added->pid).AppStatus & RmStatusRestartMasked);

    assert_int_equal(RmAddFilter(h, NULL, &added->id, NULL, RmNoRestart), ERROR_SUCCESS);
    assert_int_equal(RmRemoveFilter(h, NULL, &removed->id, NULL), ERROR_SUCCESS);
    assert_int_equal(RmRestart(h, 0, NULL), ERROR_SUCCESS);
    back = wait_new_process(L"rmhelper_gui.exe", skip, 2, BACK_TIMEOUT);
    assert_true(back != 0);
    assert_true(wait_record_count(rec_removed, "STARTED", 2, BACK_TIMEOUT));
    Sleep(500);
    assert_int_equal(record_count(rec_added, "STARTED"), 1);
    assert_true(entry_of(h, added->pid).AppStatus & RmStatusRestartMasked);
    assert_false(entry_of(h, added->pid).AppStatus & RmStatusRestarted);
    assert_false(entry_of(h, removed->pid).AppStatus & RmStatusRestartMasked);
    assert_true(entry_of(h, removed->pid).AppStatus & RmStatusRestarted);
    free(rec_added);
    free(rec_removed);
}

/* Two filters on one application (its process and its executable): RmNoShutdown
 * wins over RmNoRestart whichever came first (README, Choices). */
static void test_strongest_filter_wins(void **state)
{
    RMT_OUR_CHOICE("README: RmNoShutdown wins over RmNoRestart whichever came first");
    WCHAR *rec = record_path(L"twofilters"), image[MAX_PATH];
    struct rmt_child *c = spawn_window(rec, NULL);
    DWORD h = start_with(&c->id, 1), len = MAX_PATH;

    assert_true(QueryFullProcessImageNameW(c->process, 0, image, &len));
    assert_int_equal(RmAddFilter(h, image, NULL, NULL, RmNoRestart), ERROR_SUCCESS);
    assert_int_equal(RmAddFilter(h, NULL, &c->id, NULL, RmNoShutdown), ERROR_SUCCESS);
    assert_int_equal(RmShutdown(h, 0, NULL), ERROR_SUCCESS);
    assert_true(rmt_child_alive(c));
    assert_false(record_has(rec, "QUERYENDSESSION"));
    assert_true(entry_of(h, c->pid).AppStatus & RmStatusShutdownMasked);
    free(rec);
}

/* Spec 5.6: a reboot is needed (the caller holds the file itself: DetectedSelf),
 * so nothing is shut down: 350, and the other holder was not even asked. */
static void test_reboot_needed(void **state)
{
    WCHAR *file = rmt_make_file(L"self-held.dat"), *rec = record_path(L"bystander");
    WCHAR args[3 * MAX_PATH];
    LPCWSTR files[1] = { file };
    struct rmt_child *holder;
    HANDLE mine;
    DWORD h, reasons = 0;
    UINT needed = 0, count = 0;

    swprintf(args, ARRAYSIZE(args), L"--record \"%ls\" hold \"%ls\"", rec, file);
    holder = rmt_spawn_tracked(TRUE, 0, args, RMT_SPAWN_TIMEOUT);
    mine = CreateFileW(file, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                       OPEN_EXISTING, 0, NULL);
    assert_true(mine != INVALID_HANDLE_VALUE);
    h = rmt_start_tracked(NULL);
    assert_int_equal(RmRegisterResources(h, 1, files, 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(RmGetList(h, &needed, &count, NULL, &reasons), ERROR_MORE_DATA);
    assert_true(reasons & RmRebootReasonDetectedSelf);

    assert_int_equal(RmShutdown(h, RmForceShutdown, NULL), ERROR_FAIL_NOACTION_REBOOT);
    assert_true(rmt_child_alive(holder));
    CloseHandle(mine);
    free(file);
    free(rec);
}

static DWORD find_process(const WCHAR *image)
{
    static const DWORD none = 0;
    return find_new_process(image, &none, 0);
}

/* Spec 8 and issue 6: critical processes and services are never touched; even
 * forced, a list that contains one means a reboot (350) and nothing at all is
 * shut down, the ordinary application beside it included. */
static void test_critical_never_touched(void **state)
{
    WCHAR *rec = record_path(L"beside-critical");
    struct rmt_child *app = spawn_window(rec, NULL);
    DWORD pid = find_process(L"services.exe"), h;
    RM_UNIQUE_PROCESS procs[2];
    const WCHAR *svc[1] = { L"RpcSs" };
    HANDLE critical;
    FILETIME t[4];

    if (!pid) skip();
    critical = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    assert_non_null(critical);
    assert_true(GetProcessTimes(critical, &t[0], &t[1], &t[2], &t[3]));
    procs[0].dwProcessId = pid;
    procs[0].ProcessStartTime = t[0];
    procs[1] = app->id;
    h = start_with(procs, 2);
    assert_int_equal(entry_of(h, pid).ApplicationType, RmCritical);

    assert_int_equal(RmShutdown(h, RmForceShutdown, NULL), ERROR_FAIL_NOACTION_REBOOT);
    assert_int_equal(WaitForSingleObject(critical, 500), WAIT_TIMEOUT);
    assert_true(rmt_child_alive(app));
    assert_false(record_has(rec, "QUERYENDSESSION"));
    rmt_end_ok(h);

    /* A critical service (spec 8.4), where the system runs one. */
    if (service_state(L"RpcSs") == SERVICE_RUNNING)
    {
        h = rmt_start_tracked(NULL);
        assert_int_equal(RmRegisterResources(h, 0, NULL, 0, NULL, 1, svc), ERROR_SUCCESS);
        assert_int_equal(RmShutdown(h, RmForceShutdown, NULL), ERROR_FAIL_NOACTION_REBOOT);
        assert_int_equal(service_state(L"RpcSs"), SERVICE_RUNNING);
        rmt_end_ok(h);
    }
    else
        print_message("no running RpcSs here: critical service case not exercised\n");
    CloseHandle(critical);
    free(rec);
}

/* Spec U8: RmShutdownOnlyRegistered with every application restartable (Wine:
 * the fallback policy) shuts down as usual. */
static void test_only_registered_all_restartable(void **state)
{
    WCHAR *rec = record_path(L"onlyreg");
    struct rmt_child *c = spawn_window(rec, NULL);
    DWORD h = start_with(&c->id, 1);

    assert_true(entry_of(h, c->pid).bRestartable);
    assert_int_equal(RmShutdown(h, RmShutdownOnlyRegistered, NULL), ERROR_SUCCESS);
    assert_true(exited(c, rmt_timeout(5000)));
    free(rec);
}

/* In the child with RSTRTMGR_RESTART_FALLBACK=off: an application that cannot be
 * restarted blocks RmShutdownOnlyRegistered entirely (351, not even asked);
 * without the flag it is closed, and RmRestart leaves it stopped, no error. */
static void test_child_only_registered_blocks(void **state)
{
    WCHAR *rec = record_path(L"notregistered");
    struct rmt_child *c = spawn_window(rec, NULL);
    DWORD h = start_with(&c->id, 1), old = c->pid;
    RM_PROCESS_INFO e;

    assert_false(entry_of(h, c->pid).bRestartable);
    assert_int_equal(RmShutdown(h, RmShutdownOnlyRegistered, NULL), ERROR_FAIL_SHUTDOWN);
    assert_true(rmt_child_alive(c));
    assert_false(record_has(rec, "QUERYENDSESSION"));

    assert_int_equal(RmShutdown(h, 0, NULL), ERROR_SUCCESS);
    assert_true(exited(c, rmt_timeout(5000)));
    assert_int_equal(RmRestart(h, 0, NULL), ERROR_SUCCESS);
    Sleep(1500);
    assert_int_equal(find_new_process(L"rmhelper_gui.exe", &old, 1), 0);
    e = entry_of(h, old);
    assert_true(e.AppStatus & RmStatusStopped);
    assert_false(e.AppStatus & (RmStatusRestarted | RmStatusErrorOnRestart));
    free(rec);
}

/* Runs a copy of this program as "exe SWITCH [arg]" with the environment
 * variables in env ("NAME=value" strings) set, in a kill-on-close job, and returns
 * its exit code (fails the test if it does not finish). */
static DWORD run_child(const char *mode, const WCHAR *arg, const WCHAR *const *env, size_t nenv,
                       DWORD flags)
{
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits;
    WCHAR self[MAX_PATH], cmdline[3 * MAX_PATH], name[64];
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    HANDLE job = CreateJobObjectW(NULL, NULL);
    DWORD code = SENTINEL;
    size_t i;
    BOOL ok;

    assert_non_null(job);
    memset(&limits, 0, sizeof(limits));
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    SetInformationJobObject(job, JobObjectExtendedLimitInformation, &limits, sizeof(limits));
    assert_true(GetModuleFileNameW(NULL, self, MAX_PATH) > 0);
    swprintf(cmdline, ARRAYSIZE(cmdline), L"\"%ls\" %hs%ls%ls%ls", self, mode, arg ? L" \"" : L"",
             arg ? arg : L"", arg ? L"\"" : L"");
    /* Set only around CreateProcess: this process makes no Rm* call meanwhile. */
    for (i = 0; i < nenv; i++)
    {
        const WCHAR *eq = wcschr(env[i], L'=');
        swprintf(name, ARRAYSIZE(name), L"%.*ls", (int)(eq - env[i]), env[i]);
        SetEnvironmentVariableW(name, eq + 1);
    }
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    ok = CreateProcessW(self, cmdline, NULL, NULL, FALSE, CREATE_SUSPENDED | flags, NULL, NULL, &si, &pi);
    for (i = 0; i < nenv; i++)
    {
        const WCHAR *eq = wcschr(env[i], L'=');
        swprintf(name, ARRAYSIZE(name), L"%.*ls", (int)(eq - env[i]), env[i]);
        SetEnvironmentVariableW(name, NULL);
    }
    if (!ok) fail_msg("CreateProcess %ls: %lu", self, GetLastError());
    AssignProcessToJobObject(job, pi.hProcess);
    ResumeThread(pi.hThread);
    CloseHandle(pi.hThread);
    if (WaitForSingleObject(pi.hProcess, rmt_timeout(120000)) != WAIT_OBJECT_0) fail_msg("child %s did not finish", mode);
    GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hProcess);
    CloseHandle(job);
    return code;
}

static void test_only_registered_not_restartable(void **state)
{
    static const WCHAR *const env[] = { L"RSTRTMGR_RESTART_FALLBACK=off" };
    DWORD code = run_child(CHILD_SWITCH, NULL, env, 1, 0);
    if (code) fail_msg("child with the fallback off: %lu failing test(s)", code);
}

/* ---- the caller is a console program -------------------------------------------- */

static FILE *child_log;
static int child_failures;

#define CHECK(cond) \
    do { if (!(cond)) { fprintf(child_log, "FAILED line %d: %s\n", __LINE__, #cond); child_failures++; } } while (0)

/* In a child with a console of its own that another process shares (as an
 * installer started from cmd.exe): CTRL_C reaches a console application in
 * another console and the caller is back in its console afterwards, standard
 * handles working. Alone in its console, the caller cannot leave it (it would
 * vanish), so only a forced shutdown closes the application. */
static int child_console_caller(const WCHAR *log_path)
{
    struct rmt_child sharer, app, app2;
    WCHAR *rec = record_path(L"console-caller"), args[2 * MAX_PATH], key[CCH_RM_SESSION_KEY + 1];
    DWORD list[16], n, h = 0, written = 0;
    BOOL found = FALSE;
    char *text;

    child_log = _wfopen(log_path, L"w");
    if (!child_log) return 99;
    memset(&sharer, 0, sizeof(sharer));
    memset(&app, 0, sizeof(app));
    memset(&app2, 0, sizeof(app2));
    CHECK(GetConsoleProcessList(list, ARRAYSIZE(list)) >= 1);
    CHECK(rmt_spawn_ex(FALSE, L"sleep", 0, TRUE, RMT_SPAWN_TIMEOUT, &sharer) == ERROR_SUCCESS);
    n = GetConsoleProcessList(list, ARRAYSIZE(list));
    fprintf(child_log, "processes in the caller's console: %lu\n", n);
    CHECK(n >= 2);

    swprintf(args, ARRAYSIZE(args), L"--record \"%ls\" console", rec);
    CHECK(rmt_spawn_ex(FALSE, args, CREATE_NEW_CONSOLE, TRUE, RMT_SPAWN_TIMEOUT, &app) == ERROR_SUCCESS);
    CHECK(RmStartSession(&h, 0, key) == ERROR_SUCCESS);
    CHECK(RmRegisterResources(h, 0, NULL, 1, &app.id, 0, NULL) == ERROR_SUCCESS);
    CHECK(RmShutdown(h, 0, NULL) == ERROR_SUCCESS);
    CHECK(app.process && WaitForSingleObject(app.process, rmt_timeout(5000)) == WAIT_OBJECT_0);
    text = rmt_read_record(rec);
    CHECK(strstr(text, "CTRL 0\n") != NULL);
    free(text);

    /* Back in our own console, with the process that shares it. */
    n = GetConsoleProcessList(list, ARRAYSIZE(list));
    for (DWORD i = 0; i < n && i < ARRAYSIZE(list); i++) found |= list[i] == sharer.pid;
    CHECK(found);
    CHECK(WriteConsoleW(GetStdHandle(STD_OUTPUT_HANDLE), L"still here\r\n", 12, &written, NULL));
    CHECK(written == 12);
    CHECK(RmEndSession(h) == ERROR_SUCCESS);

    /* Alone in the console: no polite CTRL_C, force works. */
    rmt_child_kill(&sharer);
    for (n = 0; n < 100 && GetConsoleProcessList(list, ARRAYSIZE(list)) != 1; n++) Sleep(50);
    CHECK(GetConsoleProcessList(list, ARRAYSIZE(list)) == 1);
    CHECK(rmt_spawn_ex(FALSE, L"console", CREATE_NEW_CONSOLE, TRUE, RMT_SPAWN_TIMEOUT, &app2) == ERROR_SUCCESS);
    CHECK(RmStartSession(&h, 0, key) == ERROR_SUCCESS);
    CHECK(RmRegisterResources(h, 0, NULL, 1, &app2.id, 0, NULL) == ERROR_SUCCESS);
    CHECK(RmShutdown(h, 0, NULL) == ERROR_FAIL_SHUTDOWN);
    CHECK(rmt_child_alive(&app2));
    CHECK(GetConsoleProcessList(list, ARRAYSIZE(list)) == 1);
    CHECK(RmShutdown(h, RmForceShutdown, NULL) == ERROR_SUCCESS);
    CHECK(app2.process && WaitForSingleObject(app2.process, rmt_timeout(5000)) == WAIT_OBJECT_0);
    CHECK(WriteConsoleW(GetStdHandle(STD_OUTPUT_HANDLE), L"still here\r\n", 12, &written, NULL));
    CHECK(RmEndSession(h) == ERROR_SUCCESS);

    rmt_child_kill(&app);
    rmt_child_kill(&app2);
    fprintf(child_log, "%d failure(s)\n", child_failures);
    fclose(child_log);
    free(rec);
    return child_failures;
}

static void test_console_caller(void **state)
{
    WCHAR *log = rmt_path(L"console-caller.log");
    DWORD code = run_child("--child-console-caller", log, NULL, 0, CREATE_NEW_CONSOLE);
    char *text = rmt_read_record(log);
    print_message("%s", text);
    if (code) fail_msg("console-caller child: exit code %lu", code);
    free(text);
    free(log);
}

/* Spec 10 and issue 4: events are written for the session, the registration, each
 * shutdown and restart, and a failing event log never fails an API call. The
 * child runs with ReportEventW failing (RSTRTMGR_FAULT) and tracing to a file. */
static int child_events(void)
{
    struct rmt_child app;
    WCHAR key[CCH_RM_SESSION_KEY + 1];
    DWORD h = 0;
    int bad = 0;

    memset(&app, 0, sizeof(app));
    if (rmt_spawn(TRUE, L"window", RMT_SPAWN_TIMEOUT, &app)) return 90;
    bad += RmStartSession(&h, 0, key) != ERROR_SUCCESS;
    bad += RmRegisterResources(h, 0, NULL, 1, &app.id, 0, NULL) != ERROR_SUCCESS;
    bad += RmShutdown(h, 0, NULL) != ERROR_SUCCESS;
    bad += RmRestart(h, 0, NULL) != ERROR_SUCCESS;
    bad += RmEndSession(h) != ERROR_SUCCESS;
    rmt_child_kill(&app);
    kill_helper_images();

    /* A reboot becomes needed (we hold the file ourselves): one 10005 for the
     * change, however many calls see it. */
    {
        WCHAR *file = rmt_path(L"events-self.dat");
        LPCWSTR files[1] = { file };
        HANDLE mine = CreateFileW(file, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                                  NULL, CREATE_ALWAYS, 0, NULL);
        UINT needed, count;
        DWORD reasons;
        int i;

        bad += mine == INVALID_HANDLE_VALUE;
        bad += RmStartSession(&h, 0, key) != ERROR_SUCCESS;
        bad += RmRegisterResources(h, 1, files, 0, NULL, 0, NULL) != ERROR_SUCCESS;
        for (i = 0; i < 3; i++)
        {
            count = 0;
            bad += RmGetList(h, &needed, &count, NULL, &reasons) != ERROR_MORE_DATA;
        }
        bad += RmShutdown(h, 0, NULL) != ERROR_FAIL_NOACTION_REBOOT;
        bad += RmEndSession(h) != ERROR_SUCCESS;
        CloseHandle(mine);
        free(file);
    }
    return bad;
}

static void test_events_logged_and_never_fatal(void **state)
{
    RMT_OURS_ONLY("fault injection (RSTRTMGR_FAULT) and trace file");
    WCHAR *trace = rmt_path(L"events-trace.log"), env_trace[MAX_PATH + 32];
    const WCHAR *env[2] = { L"RSTRTMGR_FAULT=ReportEventW:1+", env_trace };
    static const char *const expected[] = {
        "fault injection armed: ReportEventW",
        "event 10000: Starting session ",
        "event 10004: Registering 0 file(s), 1 process(es), 0 service(s).",
        "event 10002: Shutting down application or service '",
        "event 10003: Restarting application or service '",
        "event 10001: Ending session ",
        "ReportEvent 10002 failed",
        "event 10005: Machine restart is required.",
    };
    DWORD code;
    char *text;
    size_t i;

    swprintf(env_trace, ARRAYSIZE(env_trace), L"RSTRTMGR_TRACE=%ls", trace);
    code = run_child("--child-events", NULL, env, 2, 0);
    assert_int_equal(code, 0);
    text = rmt_read_record(trace);
    for (i = 0; i < ARRAYSIZE(expected); i++)
        if (!strstr(text, expected[i])) fail_msg("trace lacks \"%s\"", expected[i]);
    assert_int_equal(count_in(text, "event 10005:"), 1);   /* once per change (spec U10) */
    free(text);
    free(trace);
}

/* Spec 5.8 ("the Functions overview also lists RmGetList"): a RmGetList slowed
 * down by handle queries that never return (injected in the child) ends with
 * ERROR_CANCELLED within a second of RmCancelCurrentTask. */
static DWORD WINAPI cancel_thread(void *param);

static int child_getlist_cancel(const WCHAR *log_path)
{
    struct rmt_child holder;
    WCHAR key[CCH_RM_SESSION_KEY + 1], *file = rmt_make_file(L"slow-list.dat"), args[MAX_PATH + 16];
    LPCWSTR files[1] = { file };
    struct cancel_arg arg;
    UINT needed = 0, count = 0;
    DWORD reasons = 0, r, h = 0;
    HANDLE thread;
    double done;
    int bad = 0;
    FILE *log = _wfopen(log_path, L"w");

    if (!log) return 99;

    swprintf(args, ARRAYSIZE(args), L"hold \"%ls\"", file);
    if (rmt_spawn(FALSE, args, RMT_SPAWN_TIMEOUT, &holder)) return 90;
    bad += RmStartSession(&h, 0, key) != ERROR_SUCCESS;
    bad += RmRegisterResources(h, 1, files, 0, NULL, 0, NULL) != ERROR_SUCCESS;
    memset(&arg, 0, sizeof(arg));
    arg.h = h;
    arg.delay = 500;
    arg.result = SENTINEL;
    thread = CreateThread(NULL, 0, cancel_thread, &arg, 0, NULL);
    r = RmGetList(h, &needed, &count, NULL, &reasons);
    done = rmt_now_s();
    WaitForSingleObject(thread, rmt_timeout(10000));
    CloseHandle(thread);
    fprintf(log, "RmGetList returned %lu, %.3f s after the cancel (cancel result %lu)\n", r, done - arg.at,
            arg.result);
    bad += r != ERROR_CANCELLED;
    bad += arg.result != ERROR_SUCCESS;
    bad += done - arg.at >= 1.0;
    bad += RmEndSession(h) != ERROR_SUCCESS;
    rmt_child_kill(&holder);
    free(file);
    fprintf(log, "%d failure(s)\n", bad);
    fclose(log);
    return bad;
}

static void test_getlist_cancelled(void **state)
{
    RMT_OURS_ONLY("fault injection (RSTRTMGR_FAULT=HandleQuery)");
    static const WCHAR *const env[] = { L"RSTRTMGR_FAULT=HandleQuery:1+" };
    WCHAR *log = rmt_path(L"getlist-cancel.log");
    DWORD code = run_child("--child-getlist-cancel", log, env, 1, 0);
    char *text = rmt_read_record(log);
    print_message("%s", text);
    free(text);
    free(log);
    if (code) fail_msg("child: %lu failure(s)", code);
}

/* Spec 5.8: RmCancelCurrentTask from another thread ends a running RmShutdown
 * within a second even in the middle of a wait; the session stays usable and
 * what was closed can still be restarted. */
static DWORD WINAPI cancel_thread(void *param)
{
    struct cancel_arg *a = param;
    if (a->wait_for) rmt_wait_record(a->wait_rec, a->wait_for, rmt_timeout(20000));
    else Sleep(a->delay);
    a->at = rmt_now_s();
    a->result = RmCancelCurrentTask(a->h);
    return 0;
}

static LSTATUS set_hung_timeout(const WCHAR *value, WCHAR *old, DWORD cb_old)
{
    HKEY key;
    LSTATUS r = RegOpenKeyExW(HKEY_CURRENT_USER, L"Control Panel\\Desktop", 0, KEY_QUERY_VALUE | KEY_SET_VALUE, &key);
    if (r) return r;
    if (old && RegQueryValueExW(key, L"HungAppTimeout", NULL, NULL, (BYTE *)old, &cb_old)) old[0] = 0;
    r = RegSetValueExW(key, L"HungAppTimeout", 0, REG_SZ, (const BYTE *)value,
                       (DWORD)((wcslen(value) + 1) * sizeof(WCHAR)));
    RegCloseKey(key);
    return r;
}

static void test_cancel_mid_wait(void **state)
{
    WCHAR *rec_slow = record_path(L"slow"), old[32] = PREFIX_HUNG_TIMEOUT;
    struct rmt_child *slow;
    struct cancel_arg arg;
    HANDLE thread;
    DWORD h, r;
    double done;

    /* A window that takes 20 s to exit after WM_ENDSESSION, and 30 s allowed. */
    assert_int_equal(set_hung_timeout(L"30000", old, sizeof(old) - sizeof(WCHAR)), ERROR_SUCCESS);
    slow = spawn_window(rec_slow, L"--close-delay 20000");
    h = start_with(&slow->id, 1);
    memset(&arg, 0, sizeof(arg));
    arg.h = h;
    arg.result = SENTINEL;
    /* Cancel once the application is closing: the call is then mid-wait. */
    arg.wait_rec = rec_slow;
    arg.wait_for = "ENDSESSION wparam=1";
    thread = CreateThread(NULL, 0, cancel_thread, &arg, 0, NULL);
    assert_non_null(thread);
    r = RmShutdown(h, 0, NULL);
    done = rmt_now_s();
    WaitForSingleObject(thread, rmt_timeout(30000));
    CloseHandle(thread);
    set_hung_timeout(PREFIX_HUNG_TIMEOUT, NULL, 0);

    assert_int_equal(arg.result, ERROR_SUCCESS);
    assert_int_equal(r, ERROR_CANCELLED);
    print_message("RmShutdown returned %.3f s after RmCancelCurrentTask\n", done - arg.at);
    assert_true(done - arg.at < rmt_seconds(1.0));
    assert_true(record_has(rec_slow, "ENDSESSION wparam=1"));   /* it was mid-wait */

    /* The session is consistent: it lists, and a new shutdown can run. */
    assert_true(entry_of(h, slow->pid).AppStatus & RmStatusRunning);
    assert_int_equal(RmCancelCurrentTask(h), ERROR_SUCCESS);
    rmt_child_kill(slow);
    assert_int_equal(RmShutdown(h, 0, NULL), ERROR_SUCCESS);
    free(rec_slow);
}

/* A progress callback that calls back into the DLL on the same session (README
 * "Choices"): no deadlock; calls that need the session get ERROR_SEM_TIMEOUT,
 * RmCancelCurrentTask works and cancels the running call. */
static DWORD reenter_handle;
static DWORD reenter_list = SENTINEL, reenter_cancel = SENTINEL;

static void reentering_progress(UINT percent)
{
    UINT needed = 0, count = 0;
    DWORD reasons = 0;
    (void)percent;
    if (reenter_list != SENTINEL) return;
    reenter_list = RmGetList(reenter_handle, &needed, &count, NULL, &reasons);
    reenter_cancel = RmCancelCurrentTask(reenter_handle);
}

static void test_callback_reenters(void **state)
{
    RMT_OUR_CHOICE("README: calls from a progress callback on its own session get ERROR_SEM_TIMEOUT");
    WCHAR *rec1 = record_path(L"reenter1"), *rec2 = record_path(L"reenter2");
    struct rmt_child *a = spawn_window(rec1, NULL), *b = spawn_window(rec2, NULL);
    RM_UNIQUE_PROCESS procs[2] = { a->id, b->id };
    DWORD r;

    reenter_handle = start_with(procs, 2);
    reenter_list = reenter_cancel = SENTINEL;
    r = RmShutdown(reenter_handle, 0, reentering_progress);
    assert_int_equal(reenter_list, ERROR_SEM_TIMEOUT);
    assert_int_equal(reenter_cancel, ERROR_SUCCESS);
    /* Cancelled after the first progress report, or already done by then. */
    assert_true(r == ERROR_CANCELLED || r == ERROR_SUCCESS);
    /* The session works afterwards. */
    assert_int_equal(RmShutdown(reenter_handle, RmForceShutdown, NULL), ERROR_SUCCESS);
    free(rec1);
    free(rec2);
}

/* A worker that outlives its call (here: stuck in WM_QUERYENDSESSION to a hung
 * window when RmCancelCurrentTask ended the call) keeps the DLL mapped: an
 * installer that unloads the DLL right after does not crash when the worker
 * returns, and the DLL goes once the worker has ended (rmunload.exe does it). */
/* Runs rmunload.exe (next to the helper) with args; returns its exit code. */
static DWORD run_rmunload(const WCHAR *args, DWORD flags)
{
    WCHAR exe[MAX_PATH], cmd[2 * MAX_PATH];
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    DWORD code = SENTINEL;

    wcscpy(exe, rmt_helper_path(FALSE));
    wcscpy(wcsrchr(exe, L'\\') + 1, L"rmunload.exe");
    swprintf(cmd, ARRAYSIZE(cmd), L"\"%ls\" %ls", exe, args);
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    assert_true(CreateProcessW(exe, cmd, NULL, NULL, FALSE, flags, NULL, NULL, &si, &pi));
    CloseHandle(pi.hThread);
    assert_int_equal(WaitForSingleObject(pi.hProcess, rmt_timeout(300000)), WAIT_OBJECT_0);
    GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hProcess);
    return code;
}

static void test_unload_with_worker_running(void **state)
{
    WCHAR *rec = record_path(L"unload"), args[64];
    struct rmt_child *hung = spawn_window(rec, L"--hang");

    swprintf(args, ARRAYSIZE(args), L"%lu %lu %lu", hung->pid,
             hung->id.ProcessStartTime.dwHighDateTime, hung->id.ProcessStartTime.dwLowDateTime);
    assert_int_equal(run_rmunload(args, 0), 0);
    free(rec);
}

/* Issue 11: an installer that unloads the DLL after a console shutdown, then gets
 * a console control event, must not call into the unloaded DLL (its console
 * handler is removed at unload). */
static void test_unload_then_console_event(void **state)
{
    WCHAR *rec = record_path(L"unloadctrlc"), args[64];
    struct rmt_child *con = spawn_console(rec, NULL);

    swprintf(args, ARRAYSIZE(args), L"ctrlc %lu %lu %lu", con->pid,
             con->id.ProcessStartTime.dwHighDateTime, con->id.ProcessStartTime.dwLowDateTime);
    assert_int_equal(run_rmunload(args, CREATE_NEW_CONSOLE), 0);
    assert_true(exited(con, rmt_timeout(5000)));
    free(rec);
}

/* 1,000 load / session / unload cycles keep no handle (store mutex, trace file,
 * CTRL_C event, event source) and really unload each time. */
static void test_load_unload_cycles(void **state)
{
    WCHAR *file = rmt_make_file(L"cycles.txt"), args[MAX_PATH + 32];

    swprintf(args, ARRAYSIZE(args), L"cycles 1000 \"%ls\"", file);
    assert_int_equal(run_rmunload(args, 0), 0);
    free(file);
}

/* Spec 2.4: on x86 a stdcall callback (pops its argument) must survive as well as
 * the SDK's cdecl one. On x64 there is one convention; the test runs there too. */
static volatile LONG stdcall_calls;
static void __stdcall stdcall_progress(UINT percent)
{
    (void)percent;
    InterlockedIncrement(&stdcall_calls);
}

static void test_stdcall_callback(void **state)
{
    WCHAR *rec = record_path(L"stdcall");
    struct rmt_child *c = spawn_window(rec, NULL);
    DWORD h = start_with(&c->id, 1);
    volatile DWORD canary1 = 0x11223344, canary2 = 0x55667788;

    stdcall_calls = 0;
    assert_int_equal(RmShutdown(h, 0, (RM_WRITE_STATUS_CALLBACK)(void *)stdcall_progress), ERROR_SUCCESS);
    assert_true(stdcall_calls >= 1);
    assert_int_equal(canary1, 0x11223344);
    assert_int_equal(canary2, 0x55667788);
    assert_int_equal(RmRestart(h, 0, (RM_WRITE_STATUS_CALLBACK)(void *)stdcall_progress), ERROR_SUCCESS);
    assert_true(stdcall_calls >= 2);
    assert_int_equal(canary1, 0x11223344);
    free(rec);
}

/* Spec U5: a secondary may not shut down, restart or cancel. */
static void test_secondary_may_not(void **state)
{
    WCHAR key[CCH_RM_SESSION_KEY + 1];
    DWORD h = rmt_start_tracked(key), j = rmt_join_tracked(key);

    assert_int_equal(RmShutdown(j, 0, NULL), ERROR_SESSION_CREDENTIAL_CONFLICT);
    assert_int_equal(RmRestart(j, 0, NULL), ERROR_SESSION_CREDENTIAL_CONFLICT);
    assert_int_equal(RmCancelCurrentTask(j), ERROR_SESSION_CREDENTIAL_CONFLICT);
    assert_int_equal(RmRestart(h, 0, NULL), ERROR_REQUEST_OUT_OF_SEQUENCE);
    rmt_end_ok(j);
    rmt_end_ok(h);
}

#define T(f) cmocka_unit_test_teardown(f, teardown)

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_our_dll),
        T(test_sequence),
        T(test_secondary_may_not),
        T(test_gui_app_closed_politely),
        T(test_refusal_then_force),
        T(test_hung_window),
        T(test_console_ctrl_c),
        T(test_console_ignoring_ctrl_c),
        T(test_service_with_dependent),
        T(test_service_dependency_order),
        T(test_service_that_never_stops),
        T(test_cancel_races_shutdown),
        T(test_restart_brings_back),
        T(test_restart_failure),
        T(test_restart_keeps_directory),
        T(test_windowless_gui_process),
        T(test_windowless_beside_window),
        T(test_filters_mask),
        T(test_filters_at_restart_time),
        T(test_strongest_filter_wins),
        T(test_reboot_needed),
        T(test_critical_never_touched),
        T(test_only_registered_all_restartable),
        T(test_only_registered_not_restartable),
        T(test_console_caller),
        T(test_events_logged_and_never_fatal),
        T(test_cancel_mid_wait),
        T(test_getlist_cancelled),
        T(test_callback_reenters),
        T(test_unload_with_worker_running),
        T(test_unload_then_console_event),
        T(test_load_unload_cycles),
        T(test_stdcall_callback),
    };
    const struct CMUnitTest child_tests[] = {
        cmocka_unit_test(test_our_dll),
        T(test_child_only_registered_blocks),
    };
    int failed;

    rmt_init();
    if (argc > 2 && !strcmp(argv[1], "--child-console-caller"))
    {
        WCHAR log[MAX_PATH];
        swprintf(log, MAX_PATH, L"%hs", argv[2]);
        failed = child_console_caller(log);
    }
    else if (argc > 2 && !strcmp(argv[1], "--child-getlist-cancel"))
    {
        WCHAR log[MAX_PATH];
        swprintf(log, MAX_PATH, L"%hs", argv[2]);
        failed = child_getlist_cancel(log);
    }
    else if (argc > 1 && !strcmp(argv[1], "--child-events"))
        failed = child_events();
    else if (argc > 1 && !strcmp(argv[1], CHILD_SWITCH))
        failed = cmocka_run_group_tests_name("fallback-off child", child_tests, NULL, NULL);
    else
        failed = cmocka_run_group_tests(tests, NULL, NULL);
    rmt_cleanup();
    return failed;
}
