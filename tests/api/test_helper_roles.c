/*
 * test_helper_roles.c - proves the helper process (tests/helpers/rmhelper.c) and the
 * spawning library (tests/common/rmspawn.c) do what the other tests rely on: every
 * role is set up when "ready" is signalled, reacts to what it is sent exactly as its
 * contract says, writes the documented record lines, exits when told, and nothing is
 * left running afterwards.
 */
#include "rmspawn.h"
#include <tlhelp32.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MS rmt_timeout(10000)

/* Processes of services this program installed, checked by the last test. */
static HANDLE service_processes[16];
static int service_process_count;

static void remember_service_process(DWORD pid)
{
    HANDLE h = OpenProcess(SYNCHRONIZE, FALSE, pid);
    if (h && service_process_count < (int)(sizeof(service_processes) / sizeof(*service_processes)))
        service_processes[service_process_count++] = h;
    else if (h)
        CloseHandle(h);
}

static void assert_record(const WCHAR *path, const char *expected)
{
    char *text = rmt_read_record(path);
    assert_non_null(text);
    assert_string_equal(text, expected);
    free(text);
}

static BOOL record_has(const WCHAR *path, const char *needle)
{
    char *text = rmt_read_record(path);
    BOOL found = text && strstr(text, needle) != NULL;
    free(text);
    return found;
}

/* A fresh record file path in the temp dir (not created). */
static WCHAR *new_record(const WCHAR *tag)
{
    static int n;
    WCHAR name[64];
    WCHAR *p;
    swprintf(name, 64, L"rec-%ls-%d.txt", tag, ++n);
    p = rmt_path(name);
    DeleteFileW(p);
    return p;
}

static BOOL process_exited(HANDLE h, DWORD timeout_ms)
{
    return WaitForSingleObject(h, timeout_ms) == WAIT_OBJECT_0;
}

static HANDLE dup_process(const struct rmt_child *c)
{
    HANDLE h = NULL;
    assert_true(DuplicateHandle(GetCurrentProcess(), c->process, GetCurrentProcess(), &h,
                                SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, 0));
    return h;
}

/* ------------------------------------------------------------------------------ */

static void test_our_dll(void **state)
{
    /* Wine's builtin stub aborts the caller of RmJoinSession: make sure it is ours. */
    rmt_assert_our_dll();
}

static void test_helper_exes_exist(void **state)
{
    const WCHAR *console = rmt_helper_path(FALSE), *gui = rmt_helper_path(TRUE);
    assert_true(wcsstr(console, L"\\rmhelper.exe") != NULL);
    assert_true(wcsstr(gui, L"\\rmhelper_gui.exe") != NULL);
    assert_int_not_equal(GetFileAttributesW(console), INVALID_FILE_ATTRIBUTES);
    assert_int_not_equal(GetFileAttributesW(gui), INVALID_FILE_ATTRIBUTES);
    /* Static buffers: asking again gives the same answer. */
    assert_ptr_equal(rmt_helper_path(FALSE), console);
    assert_true(wcscmp(console, gui) != 0);
}

static void test_zeroed_child_is_safe(void **state)
{
    struct rmt_child c;
    memset(&c, 0, sizeof(c));
    assert_false(rmt_child_alive(&c));
    rmt_child_kill(&c);
    rmt_child_kill(&c);
    assert_int_equal(rmt_child_wait(&c, 0), (DWORD)-1);
    assert_int_equal(rmt_child_quit(&c, 0), (DWORD)-1);
}

static void test_bad_usage(void **state)
{
    static const WCHAR *const bad[] = {
        L"",                              /* no role */
        L"bogus",                         /* unknown role */
        L"--bogus x sleep",               /* unknown option */
        L"hold",                          /* no path */
        L"load",                          /* no path */
        L"load a b",
        L"window --bogus",
        L"window --close-delay x",
        L"console --bogus",
        L"start --bogus",
        L"join",                          /* no key */
        L"service",                       /* no name */
        L"service name hold",             /* no path */
        L"sleep extra",
        L"sendctrl",
        L"sendctrl 12 bogus",
    };
    struct rmt_child c;
    size_t i;
    WCHAR *rec = new_record(L"usage");
    WCHAR args[MAX_PATH + 32];

    for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
    {
        memset(&c, 0x41, sizeof(c));
        assert_int_equal(rmt_spawn_ex(FALSE, bad[i], 0, FALSE, WAIT_MS, &c), ERROR_SUCCESS);
        assert_non_null(c.process);
        if (rmt_child_wait(&c, WAIT_MS) != 3) fail_msg("'%ls' did not exit with 3", bad[i]);
        assert_null(c.process);
        assert_false(rmt_child_alive(&c));
    }

    /* Waiting for "ready" from a child that exits first: aborted, child released. */
    memset(&c, 0x41, sizeof(c));
    assert_int_equal(rmt_spawn(TRUE, L"bogus", WAIT_MS, &c), ERROR_PROCESS_ABORTED);
    assert_null(c.process);
    assert_null(c.job);
    assert_null(c.quit);

    /* Usage failures are recorded. */
    swprintf(args, MAX_PATH + 32, L"--record \"%ls\" bogus", rec);
    assert_int_equal(rmt_spawn_ex(FALSE, args, 0, FALSE, WAIT_MS, &c), ERROR_SUCCESS);
    assert_int_equal(rmt_child_wait(&c, WAIT_MS), 3);
    assert_true(record_has(rec, "FAIL usage"));
    assert_false(record_has(rec, "STARTED"));
    free(rec);
}

static void test_sleep_quit(void **state)
{
    struct rmt_child c;
    WCHAR *rec = new_record(L"sleep");
    WCHAR args[MAX_PATH + 32];
    HANDLE h;
    FILETIME created, e, k, u;

    memset(&c, 0x41, sizeof(c));
    swprintf(args, MAX_PATH + 32, L"--record \"%ls\" sleep", rec);
    assert_int_equal(rmt_spawn(FALSE, args, WAIT_MS, &c), ERROR_SUCCESS);
    assert_non_null(c.process);
    assert_non_null(c.quit);
    assert_true(c.pid != 0 && c.pid != GetCurrentProcessId());
    assert_int_equal(c.id.dwProcessId, c.pid);
    assert_int_equal(GetProcessId(c.process), c.pid);
    assert_true(wcsstr(c.quit_name, L"quit") != NULL);
    /* The unique id carries the real creation time. */
    assert_true(GetProcessTimes(c.process, &created, &e, &k, &u));
    assert_int_equal(c.id.ProcessStartTime.dwLowDateTime, created.dwLowDateTime);
    assert_int_equal(c.id.ProcessStartTime.dwHighDateTime, created.dwHighDateTime);
    /* It is inside its kill-on-close job. */
    {
        BOOL in_job = FALSE;
        assert_non_null(c.job);
        assert_true(IsProcessInJob(c.process, c.job, &in_job));
        assert_true(in_job);
    }
    assert_record(rec, "STARTED\n");

    /* It stays until told. */
    assert_int_equal(WaitForSingleObject(c.process, 300), WAIT_TIMEOUT);
    assert_true(rmt_child_alive(&c));
    h = dup_process(&c);
    assert_int_equal(rmt_child_quit(&c, WAIT_MS), 0);
    assert_true(process_exited(h, 0));
    CloseHandle(h);
    assert_false(rmt_child_alive(&c));
    assert_null(c.process);
    assert_int_equal(c.id.dwProcessId, c.pid); /* kept after release */
    assert_record(rec, "STARTED\nEXIT\n");
    /* Quitting or killing again is harmless. */
    assert_int_equal(rmt_child_quit(&c, 0), (DWORD)-1);
    rmt_child_kill(&c);

    /* The GUI build runs roles too. */
    assert_int_equal(rmt_spawn(TRUE, L"sleep", WAIT_MS, &c), ERROR_SUCCESS);
    assert_true(rmt_child_alive(&c));
    assert_int_equal(rmt_child_quit(&c, WAIT_MS), 0);
    free(rec);
}

static void test_kill_and_job(void **state)
{
    struct rmt_child c;
    HANDLE h;
    DWORD code = SENTINEL;

    /* rmt_child_kill terminates. */
    assert_int_equal(rmt_spawn(FALSE, L"sleep", WAIT_MS, &c), ERROR_SUCCESS);
    h = dup_process(&c);
    rmt_child_kill(&c);
    assert_true(process_exited(h, WAIT_MS));
    assert_true(GetExitCodeProcess(h, &code));
    assert_int_not_equal(code, 0);
    assert_int_not_equal(code, STILL_ACTIVE);
    CloseHandle(h);
    assert_null(c.process);
    assert_null(c.job);
    rmt_child_kill(&c);

    /* Closing the job alone kills the child: children die with the test program. */
    assert_int_equal(rmt_spawn(FALSE, L"sleep", WAIT_MS, &c), ERROR_SUCCESS);
    assert_non_null(c.job);
    CloseHandle(c.job);
    c.job = NULL;
    assert_true(process_exited(c.process, WAIT_MS));
    rmt_child_kill(&c);

    /* rmt_child_wait on a child that does not exit: -1 and it is killed. */
    assert_int_equal(rmt_spawn(FALSE, L"sleep", WAIT_MS, &c), ERROR_SUCCESS);
    h = dup_process(&c);
    assert_int_equal(rmt_child_wait(&c, 200), (DWORD)-1);
    assert_true(process_exited(h, WAIT_MS));
    CloseHandle(h);
    assert_null(c.process);
}

/* ------------------------------------------------------------------------------ */
/* hold                                                                             */

static HANDLE try_open(const WCHAR *path, DWORD access, DWORD share)
{
    return CreateFileW(path, access, share, NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
}

static void expect_sharing_violation(const WCHAR *path, DWORD access, DWORD share)
{
    HANDLE h;
    SetLastError(SENTINEL);
    h = try_open(path, access, share);
    assert_ptr_equal(h, INVALID_HANDLE_VALUE);
    assert_int_equal(GetLastError(), ERROR_SHARING_VIOLATION);
}

static void expect_open(const WCHAR *path, DWORD access, DWORD share)
{
    HANDLE h = try_open(path, access, share);
    assert_ptr_not_equal(h, INVALID_HANDLE_VALUE);
    CloseHandle(h);
}

static const DWORD ALL_SHARE = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;

static void test_hold_bad(void **state)
{
    struct rmt_child c;
    WCHAR args[2 * MAX_PATH];
    WCHAR *missing = rmt_path(L"no-such-dir\\file.txt");
    WCHAR *rec = new_record(L"holdbad");

    /* A file that cannot be opened: exit 2 before ready. */
    swprintf(args, 2 * MAX_PATH, L"--record \"%ls\" hold \"%ls\"", rec, missing);
    memset(&c, 0x41, sizeof(c));
    assert_int_equal(rmt_spawn(FALSE, args, WAIT_MS, &c), ERROR_PROCESS_ABORTED);
    assert_null(c.process);
    assert_true(record_has(rec, "FAIL CreateFile 3\n"));
    assert_false(record_has(rec, "STARTED"));
    assert_int_equal(rmt_spawn_ex(FALSE, args, 0, FALSE, WAIT_MS, &c), ERROR_SUCCESS);
    assert_int_equal(rmt_child_wait(&c, WAIT_MS), 2);
    free(missing);
    free(rec);
}

static void test_hold_share_none(void **state)
{
    struct rmt_child c;
    WCHAR *file = rmt_make_file(L"held-none.txt");
    WCHAR args[2 * MAX_PATH];

    swprintf(args, 2 * MAX_PATH, L"hold \"%ls\" none", file);
    assert_int_equal(rmt_spawn(FALSE, args, WAIT_MS, &c), ERROR_SUCCESS);
    expect_sharing_violation(file, GENERIC_READ, ALL_SHARE);
    expect_sharing_violation(file, GENERIC_WRITE, ALL_SHARE);
    expect_sharing_violation(file, DELETE, ALL_SHARE);
    SetLastError(SENTINEL);
    assert_false(DeleteFileW(file));
    assert_int_equal(GetLastError(), ERROR_SHARING_VIOLATION);
    assert_int_equal(rmt_child_quit(&c, WAIT_MS), 0);
    /* Released on exit. */
    expect_open(file, GENERIC_READ | GENERIC_WRITE, 0);
    free(file);
}

static void test_hold_share_modes(void **state)
{
    struct rmt_child c;
    WCHAR *file = rmt_make_file(L"held-modes.txt");
    WCHAR args[2 * MAX_PATH];

    /* r: others may read (and must share read+write, as the holder reads and writes). */
    swprintf(args, 2 * MAX_PATH, L"hold \"%ls\" r", file);
    assert_int_equal(rmt_spawn(FALSE, args, WAIT_MS, &c), ERROR_SUCCESS);
    expect_open(file, GENERIC_READ, ALL_SHARE);
    expect_sharing_violation(file, GENERIC_WRITE, ALL_SHARE);
    expect_sharing_violation(file, DELETE, ALL_SHARE);
    expect_sharing_violation(file, GENERIC_READ, FILE_SHARE_READ); /* holder writes */
    assert_int_equal(rmt_child_quit(&c, WAIT_MS), 0);

    /* wd: writers and deleters, no readers. */
    swprintf(args, 2 * MAX_PATH, L"hold \"%ls\" wd", file);
    assert_int_equal(rmt_spawn(FALSE, args, WAIT_MS, &c), ERROR_SUCCESS);
    expect_sharing_violation(file, GENERIC_READ, ALL_SHARE);
    expect_open(file, GENERIC_WRITE, ALL_SHARE);
    expect_open(file, DELETE, ALL_SHARE);
    assert_int_equal(rmt_child_quit(&c, WAIT_MS), 0);

    /* Default is rwd: anything goes as long as we share too. */
    swprintf(args, 2 * MAX_PATH, L"hold \"%ls\"", file);
    assert_int_equal(rmt_spawn(FALSE, args, WAIT_MS, &c), ERROR_SUCCESS);
    expect_open(file, GENERIC_READ | GENERIC_WRITE | DELETE, ALL_SHARE);
    expect_sharing_violation(file, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_DELETE);
    assert_int_equal(rmt_child_quit(&c, WAIT_MS), 0);
    free(file);
}

static void test_hold_several(void **state)
{
    struct rmt_child c;
    WCHAR *a = rmt_make_file(L"held-a.txt");
    WCHAR *b = rmt_make_file(L"held-b.txt");
    WCHAR *d = rmt_path(L"held-created.txt");
    WCHAR args[4 * MAX_PATH];

    DeleteFileW(d);
    /* OPEN_ALWAYS: a missing file is created. A share-less file after a default one. */
    swprintf(args, 4 * MAX_PATH, L"hold \"%ls\" none \"%ls\" \"%ls\" rw", a, b, d);
    assert_int_equal(rmt_spawn(TRUE, args, WAIT_MS, &c), ERROR_SUCCESS);
    expect_sharing_violation(a, GENERIC_READ, ALL_SHARE);
    expect_open(b, GENERIC_READ | GENERIC_WRITE | DELETE, ALL_SHARE);
    assert_int_not_equal(GetFileAttributesW(d), INVALID_FILE_ATTRIBUTES);
    expect_open(d, GENERIC_READ | GENERIC_WRITE, ALL_SHARE);
    expect_sharing_violation(d, DELETE, ALL_SHARE);
    assert_int_equal(rmt_child_quit(&c, WAIT_MS), 0);
    expect_open(a, GENERIC_READ, 0);
    assert_true(DeleteFileW(d));
    free(a);
    free(b);
    free(d);
}

/* ------------------------------------------------------------------------------ */
/* load                                                                             */

static BOOL process_has_module(DWORD pid, const WCHAR *path)
{
    HANDLE snap = INVALID_HANDLE_VALUE;
    MODULEENTRY32W me;
    BOOL found = FALSE;
    int tries;

    for (tries = 0; tries < 10 && snap == INVALID_HANDLE_VALUE; tries++)
    {
        snap = CreateToolhelp32Snapshot(TH32CS_SNAPMODULE, pid);
        if (snap == INVALID_HANDLE_VALUE) Sleep(20);
    }
    if (snap == INVALID_HANDLE_VALUE) return FALSE;
    me.dwSize = sizeof(me);
    if (Module32FirstW(snap, &me))
    {
        do
        {
            if (!lstrcmpiW(me.szExePath, path)) found = TRUE;
        } while (!found && Module32NextW(snap, &me));
    }
    CloseHandle(snap);
    return found;
}

static void test_load(void **state)
{
    struct rmt_child c;
    WCHAR src[MAX_PATH], args[2 * MAX_PATH];
    WCHAR *copy = rmt_path(L"rmt-loaded-copy.dll");
    WCHAR *missing = rmt_path(L"no-such.dll");

    /* Bad input first: a missing DLL fails setup. */
    swprintf(args, 2 * MAX_PATH, L"load \"%ls\"", missing);
    assert_int_equal(rmt_spawn(FALSE, args, WAIT_MS, &c), ERROR_PROCESS_ABORTED);
    assert_int_equal(rmt_spawn_ex(FALSE, args, 0, FALSE, WAIT_MS, &c), ERROR_SUCCESS);
    assert_int_equal(rmt_child_wait(&c, WAIT_MS), 2);

    /* A copy of a real PE DLL (ours) under another name in the temp dir. */
    assert_non_null(rmt_rstrtmgr_module());
    assert_true(GetModuleFileNameW(rmt_rstrtmgr_module(), src, MAX_PATH) > 0);
    assert_true(CopyFileW(src, copy, FALSE));
    swprintf(args, 2 * MAX_PATH, L"load \"%ls\"", copy);
    assert_int_equal(rmt_spawn(FALSE, args, WAIT_MS, &c), ERROR_SUCCESS);
    assert_true(process_has_module(c.pid, copy));
    assert_false(process_has_module(GetCurrentProcessId(), copy));
    assert_int_equal(rmt_child_quit(&c, WAIT_MS), 0);
    assert_true(DeleteFileW(copy));
    free(copy);
    free(missing);
}

/* ------------------------------------------------------------------------------ */
/* window                                                                           */

struct enum_ctx
{
    DWORD pid;
    int count;
    HWND hwnd;
};

static BOOL CALLBACK count_windows(HWND hwnd, LPARAM lp)
{
    struct enum_ctx *ctx = (struct enum_ctx *)lp;
    DWORD pid = 0;
    WCHAR cls[64];
    GetWindowThreadProcessId(hwnd, &pid);
    /* Only the helper's own class: the system may add hidden windows (IME ...). */
    if (pid == ctx->pid && GetClassNameW(hwnd, cls, 64) && !wcscmp(cls, L"RmHelperWindow"))
    {
        ctx->count++;
        ctx->hwnd = hwnd;
    }
    return TRUE;
}

static LRESULT send_timeout(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp, DWORD timeout,
                            BOOL *ok)
{
    DWORD_PTR result = SENTINEL;
    *ok = SendMessageTimeoutW(hwnd, msg, wp, lp, SMTO_BLOCK | SMTO_ABORTIFHUNG, timeout,
                              &result) != 0;
    return (LRESULT)result;
}

static void window_accepts(BOOL gui)
{
    struct rmt_child c;
    WCHAR *rec = new_record(gui ? L"wingui" : L"wincon");
    WCHAR args[MAX_PATH + 64], title[64], cls[64];
    struct enum_ctx ctx;
    HWND hwnd;
    BOOL ok;
    LRESULT res;

    swprintf(args, MAX_PATH + 64, L"--record \"%ls\" window", rec);
    assert_int_equal(rmt_spawn(gui, args, WAIT_MS, &c), ERROR_SUCCESS);

    /* One visible, unowned top-level window with the default title. */
    memset(&ctx, 0, sizeof(ctx));
    ctx.pid = c.pid;
    assert_true(EnumWindows(count_windows, (LPARAM)&ctx));
    assert_int_equal(ctx.count, 1);
    hwnd = rmt_find_window(c.pid, TRUE);
    assert_non_null(hwnd);
    assert_ptr_equal(hwnd, ctx.hwnd);
    swprintf(title, 64, L"rmhelper window %lu", c.pid);
    assert_ptr_equal(FindWindowW(NULL, title), hwnd);
    assert_ptr_equal(FindWindowW(L"RmHelperWindow", title), hwnd);
    assert_true(GetClassNameW(hwnd, cls, 64) > 0);
    assert_true(!wcscmp(cls, L"RmHelperWindow"));
    assert_true(IsWindowVisible(hwnd));
    assert_null(GetWindow(hwnd, GW_OWNER));
    assert_ptr_equal(GetAncestor(hwnd, GA_PARENT), GetDesktopWindow());
    assert_true(GetWindowLongW(hwnd, GWL_STYLE) & WS_CAPTION);

    /* Query: TRUE, lParam recorded as sent. */
    res = send_timeout(hwnd, WM_QUERYENDSESSION, 0, ENDSESSION_CLOSEAPP, 5000, &ok);
    assert_true(ok);
    assert_int_equal(res, TRUE);
    res = send_timeout(hwnd, WM_QUERYENDSESSION, 0, ENDSESSION_CLOSEAPP | ENDSESSION_CRITICAL,
                       5000, &ok);
    assert_true(ok);
    assert_int_equal(res, TRUE);
    assert_true(rmt_child_alive(&c));
    /* WM_ENDSESSION(TRUE): it exits. The send itself may fail as the receiver dies. */
    send_timeout(hwnd, WM_ENDSESSION, TRUE, ENDSESSION_CLOSEAPP, 5000, &ok);
    assert_int_equal(rmt_child_wait(&c, WAIT_MS), 0);
    assert_record(rec, "STARTED\n"
                       "QUERYENDSESSION lparam=0x00000001\n"
                       "QUERYENDSESSION lparam=0x40000001\n"
                       "ENDSESSION wparam=1 lparam=0x00000001\n"
                       "EXIT\n");
    assert_false(IsWindow(hwnd));
    free(rec);
}

static void test_window_console_exe(void **state)
{
    window_accepts(FALSE);
}

static void test_window_gui_exe(void **state)
{
    window_accepts(TRUE);
}

static void test_window_refuse(void **state)
{
    struct rmt_child c;
    WCHAR *rec = new_record(L"refuse");
    WCHAR args[MAX_PATH + 64];
    HWND hwnd;
    BOOL ok;
    LRESULT res;

    swprintf(args, MAX_PATH + 64, L"--record \"%ls\" window --refuse --title \"rmt refuse %lu\"",
             rec, GetCurrentProcessId());
    assert_int_equal(rmt_spawn(TRUE, args, WAIT_MS, &c), ERROR_SUCCESS);
    hwnd = rmt_find_window(c.pid, TRUE);
    assert_non_null(hwnd);
    {
        WCHAR title[64], expect[64];
        GetWindowTextW(hwnd, title, 64);
        swprintf(expect, 64, L"rmt refuse %lu", GetCurrentProcessId());
        assert_true(!wcscmp(title, expect));
    }
    res = send_timeout(hwnd, WM_QUERYENDSESSION, 0, ENDSESSION_CLOSEAPP, 5000, &ok);
    assert_true(ok);
    assert_int_equal(res, FALSE);
    /* WM_ENDSESSION(FALSE): the session goes on, so does the process. */
    send_timeout(hwnd, WM_ENDSESSION, FALSE, ENDSESSION_CLOSEAPP, 5000, &ok);
    assert_true(ok);
    assert_int_equal(WaitForSingleObject(c.process, 200), WAIT_TIMEOUT);
    /* WM_CLOSE closes it even so. */
    assert_true(PostMessageW(hwnd, WM_CLOSE, 0, 0));
    assert_int_equal(rmt_child_wait(&c, WAIT_MS), 0);
    assert_record(rec, "STARTED\n"
                       "QUERYENDSESSION lparam=0x00000001\n"
                       "ENDSESSION wparam=0 lparam=0x00000001\n"
                       "CLOSE\n"
                       "EXIT\n");
    free(rec);
}

static void test_window_hidden(void **state)
{
    struct rmt_child c;
    WCHAR args[64];
    HWND hwnd;
    BOOL ok;
    LRESULT res;

    swprintf(args, 64, L"window --hidden --title rmt-hidden-%lu", GetCurrentProcessId());
    assert_int_equal(rmt_spawn(TRUE, args, WAIT_MS, &c), ERROR_SUCCESS);
    assert_null(rmt_find_window(c.pid, TRUE));
    hwnd = rmt_find_window(c.pid, FALSE);
    assert_non_null(hwnd);
    assert_false(IsWindowVisible(hwnd));
    assert_ptr_equal(GetAncestor(hwnd, GA_PARENT), GetDesktopWindow());
    /* Hidden windows still answer. */
    res = send_timeout(hwnd, WM_QUERYENDSESSION, 0, ENDSESSION_CLOSEAPP, 5000, &ok);
    assert_true(ok);
    assert_int_equal(res, TRUE);
    assert_int_equal(rmt_child_quit(&c, WAIT_MS), 0);
}

static void test_window_hang(void **state)
{
    struct rmt_child c;
    WCHAR *rec = new_record(L"hang");
    WCHAR args[MAX_PATH + 64];
    HWND hwnd;
    BOOL ok;
    DWORD t0;

    swprintf(args, MAX_PATH + 64, L"--record \"%ls\" window --hang", rec);
    assert_int_equal(rmt_spawn(FALSE, args, WAIT_MS, &c), ERROR_SUCCESS);
    hwnd = rmt_find_window(c.pid, TRUE);
    assert_non_null(hwnd);
    t0 = GetTickCount();
    SetLastError(SENTINEL);
    send_timeout(hwnd, WM_QUERYENDSESSION, 0, ENDSESSION_CLOSEAPP, 1000, &ok);
    assert_false(ok);
    assert_int_equal(GetLastError(), ERROR_TIMEOUT);
    assert_true(GetTickCount() - t0 >= 900);
    assert_true(rmt_child_alive(&c));
    /* The quit event still works while it does not pump. */
    assert_int_equal(rmt_child_quit(&c, WAIT_MS), 0);
    assert_record(rec, "STARTED\nEXIT\n");
    free(rec);
}

static void test_window_close_delay(void **state)
{
    struct rmt_child c;
    WCHAR *rec = new_record(L"delay");
    WCHAR args[MAX_PATH + 64];
    HWND hwnd;
    DWORD t0, elapsed;

    swprintf(args, MAX_PATH + 64, L"--record \"%ls\" window --close-delay 600", rec);
    assert_int_equal(rmt_spawn(TRUE, args, WAIT_MS, &c), ERROR_SUCCESS);
    hwnd = rmt_find_window(c.pid, TRUE);
    assert_non_null(hwnd);
    t0 = GetTickCount();
    assert_true(PostMessageW(hwnd, WM_CLOSE, 0, 0));
    assert_true(rmt_wait_record(rec, "CLOSE\n", WAIT_MS));
    assert_true(rmt_child_alive(&c));
    assert_int_equal(rmt_child_wait(&c, WAIT_MS), 0);
    elapsed = GetTickCount() - t0;
    assert_true(elapsed >= 550);
    assert_record(rec, "STARTED\nCLOSE\nEXIT\n");

    /* The delay applies to WM_ENDSESSION too. */
    assert_int_equal(rmt_spawn(TRUE, L"window --close-delay 600", WAIT_MS, &c), ERROR_SUCCESS);
    hwnd = rmt_find_window(c.pid, TRUE);
    assert_non_null(hwnd);
    t0 = GetTickCount();
    assert_true(PostMessageW(hwnd, WM_ENDSESSION, TRUE, ENDSESSION_CLOSEAPP));
    assert_int_equal(rmt_child_wait(&c, WAIT_MS), 0);
    assert_true(GetTickCount() - t0 >= 550);
    free(rec);
}

/* ------------------------------------------------------------------------------ */
/* console                                                                          */

static void test_console_ctrl_bad(void **state)
{
    struct rmt_child c;
    /* The GUI helper has no console to attach to. */
    assert_int_equal(rmt_spawn(TRUE, L"sleep", WAIT_MS, &c), ERROR_SUCCESS);
    assert_int_equal(rmt_send_ctrl(c.pid, CTRL_C_EVENT, WAIT_MS), 2);
    assert_true(rmt_child_alive(&c));
    assert_int_equal(rmt_child_quit(&c, WAIT_MS), 0);
}

static void test_console_ctrl_c(void **state)
{
    struct rmt_child c;
    WCHAR *rec = new_record(L"ctrlc");
    WCHAR args[MAX_PATH + 64];

    swprintf(args, MAX_PATH + 64, L"--record \"%ls\" console", rec);
    assert_int_equal(rmt_spawn_ex(FALSE, args, CREATE_NEW_CONSOLE, TRUE, WAIT_MS, &c),
                     ERROR_SUCCESS);
    assert_int_equal(rmt_send_ctrl(c.pid, CTRL_C_EVENT, WAIT_MS), 0);
    assert_int_equal(rmt_child_wait(&c, WAIT_MS), 0);
    assert_record(rec, "STARTED\nCTRL 0\nEXIT\n");
    free(rec);
}

static void test_console_close_delay(void **state)
{
    struct rmt_child c;
    WCHAR *rec = new_record(L"ctrldelay");
    WCHAR args[MAX_PATH + 64];
    DWORD t0;

    swprintf(args, MAX_PATH + 64, L"--record \"%ls\" console --close-delay 500", rec);
    assert_int_equal(rmt_spawn_ex(FALSE, args, CREATE_NEW_CONSOLE, TRUE, WAIT_MS, &c),
                     ERROR_SUCCESS);
    t0 = GetTickCount();
    assert_int_equal(rmt_send_ctrl(c.pid, CTRL_C_EVENT, WAIT_MS), 0);
    assert_true(rmt_wait_record(rec, "CTRL 0\n", WAIT_MS));
    assert_int_equal(rmt_child_wait(&c, WAIT_MS), 0);
    assert_true(GetTickCount() - t0 >= 450);
    assert_record(rec, "STARTED\nCTRL 0\nEXIT\n");
    free(rec);
}

static void test_console_ctrl_break(void **state)
{
    struct rmt_child c;
    WCHAR *rec = new_record(L"ctrlbrk");
    WCHAR args[MAX_PATH + 64];
    DWORD rc;

    swprintf(args, MAX_PATH + 64, L"--record \"%ls\" console", rec);
    assert_int_equal(rmt_spawn_ex(FALSE, args, CREATE_NEW_CONSOLE, TRUE, WAIT_MS, &c),
                     ERROR_SUCCESS);
    rc = rmt_send_ctrl(c.pid, CTRL_BREAK_EVENT, WAIT_MS);
    if (rc == 2)
    {
        /* Wine 8: GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, 0) fails with
         * ERROR_INVALID_HANDLE. Restart Manager itself only sends CTRL_C. */
        assert_true(rmt_child_alive(&c));
        assert_int_equal(rmt_child_quit(&c, WAIT_MS), 0);
        free(rec);
        print_message("# CTRL_BREAK_EVENT cannot be generated on this platform\n");
        skip();
    }
    assert_int_equal(rc, 0);
    assert_int_equal(rmt_child_wait(&c, WAIT_MS), 0);
    assert_record(rec, "STARTED\nCTRL 1\nEXIT\n");
    free(rec);
}

static void test_console_ignore_ctrl_c(void **state)
{
    struct rmt_child c;
    WCHAR *rec = new_record(L"ctrlign");
    WCHAR args[MAX_PATH + 64];

    swprintf(args, MAX_PATH + 64, L"--record \"%ls\" console --ignore-ctrl-c", rec);
    assert_int_equal(rmt_spawn_ex(FALSE, args, CREATE_NEW_CONSOLE, TRUE, WAIT_MS, &c),
                     ERROR_SUCCESS);
    assert_int_equal(rmt_send_ctrl(c.pid, CTRL_C_EVENT, WAIT_MS), 0);
    assert_true(rmt_wait_record(rec, "CTRL 0\n", WAIT_MS));
    assert_int_equal(WaitForSingleObject(c.process, 300), WAIT_TIMEOUT);
    /* Again: still handled, still running. */
    assert_int_equal(rmt_send_ctrl(c.pid, CTRL_C_EVENT, WAIT_MS), 0);
    assert_true(rmt_wait_record(rec, "CTRL 0\nCTRL 0\n", WAIT_MS));
    assert_true(rmt_child_alive(&c));
    assert_int_equal(rmt_child_quit(&c, WAIT_MS), 0);
    assert_record(rec, "STARTED\nCTRL 0\nCTRL 0\nEXIT\n");
    free(rec);
}

/* ------------------------------------------------------------------------------ */
/* start / join                                                                     */

static void read_session_file(const WCHAR *path, DWORD *handle, WCHAR key[CCH_RM_SESSION_KEY + 1])
{
    char *text = rmt_read_record(path);
    char k[64];
    unsigned long h = SENTINEL;
    int i;

    assert_non_null(text);
    memset(k, 0, sizeof(k));
    assert_int_equal(sscanf(text, "%lu %40s", &h, k), 2);
    assert_int_equal(strlen(k), CCH_RM_SESSION_KEY);
    assert_int_equal(strlen(text), strlen(k) + (size_t)snprintf(NULL, 0, "%lu \n", h));
    for (i = 0; i <= (int)CCH_RM_SESSION_KEY; i++) key[i] = (WCHAR)(unsigned char)k[i];
    for (i = 0; i < (int)CCH_RM_SESSION_KEY; i++) assert_true(iswxdigit(key[i]));
    *handle = (DWORD)h;
    free(text);
}

static void test_start_and_join(void **state)
{
    struct rmt_child primary, joiner;
    WCHAR *out = rmt_path(L"session.txt");
    WCHAR *rec = new_record(L"start");
    WCHAR *rec2 = new_record(L"join");
    WCHAR *file = rmt_make_file(L"joined-file.txt");
    WCHAR key[CCH_RM_SESSION_KEY + 1], args[3 * MAX_PATH];
    DWORD handle = SENTINEL, h2 = SENTINEL;
    char line[128];

    swprintf(args, 3 * MAX_PATH, L"--record \"%ls\" start --out \"%ls\"", rec, out);
    assert_int_equal(rmt_spawn(FALSE, args, WAIT_MS, &primary), ERROR_SUCCESS);
    read_session_file(out, &handle, key);
    assert_true(handle < 64);
    snprintf(line, sizeof(line), "SESSION %lu %ls\nSTARTED\n", (unsigned long)handle, key);
    assert_record(rec, line);

    /* This process can join the helper's session as a secondary. */
    assert_int_equal(RmJoinSession(&h2, key), ERROR_SUCCESS);
    assert_int_not_equal(h2, SENTINEL);
    assert_int_equal(RmRegisterResources(h2, 1, (LPCWSTR *)&file, 0, NULL, 0, NULL),
                     ERROR_SUCCESS);
    assert_int_equal(RmEndSession(h2), ERROR_SUCCESS);

    /* join role: exits by itself, 0 when every call worked. */
    swprintf(args, 3 * MAX_PATH, L"--record \"%ls\" join %ls \"%ls\"", rec2, key, file);
    assert_int_equal(rmt_spawn_ex(FALSE, args, 0, FALSE, WAIT_MS, &joiner), ERROR_SUCCESS);
    assert_int_equal(rmt_child_wait(&joiner, WAIT_MS), 0);
    assert_record(rec2, "JOIN 0\nREGISTER 0\nEND 0\nSTARTED\nEXIT\n");

    /* Without files: join and end only. */
    swprintf(args, 3 * MAX_PATH, L"join %ls", key);
    assert_int_equal(rmt_spawn_ex(TRUE, args, 0, FALSE, WAIT_MS, &joiner), ERROR_SUCCESS);
    assert_int_equal(rmt_child_wait(&joiner, WAIT_MS), 0);

    /* --no-end: ready once joined and registered, then waits. */
    swprintf(args, 3 * MAX_PATH, L"join %ls --no-end \"%ls\"", key, file);
    assert_int_equal(rmt_spawn(FALSE, args, WAIT_MS, &joiner), ERROR_SUCCESS);
    assert_int_equal(WaitForSingleObject(joiner.process, 200), WAIT_TIMEOUT);
    assert_int_equal(rmt_child_quit(&joiner, WAIT_MS), 0);

    /* An unknown key: the exit code is RmJoinSession's error. */
    assert_int_equal(rmt_spawn_ex(FALSE, L"join 0123456789abcdef0123456789abcdef", 0, FALSE,
                                  WAIT_MS, &joiner), ERROR_SUCCESS);
    assert_int_equal(rmt_child_wait(&joiner, WAIT_MS), ERROR_SESSION_CREDENTIAL_CONFLICT);

    /* Quitting the primary ends its session: the key no longer joins. */
    assert_int_equal(rmt_child_quit(&primary, WAIT_MS), 0);
    snprintf(line, sizeof(line), "SESSION %lu %ls\nSTARTED\nEND 0\nEXIT\n",
             (unsigned long)handle, key);
    assert_record(rec, line);
    swprintf(args, 3 * MAX_PATH, L"join %ls", key);
    assert_int_equal(rmt_spawn_ex(FALSE, args, 0, FALSE, WAIT_MS, &joiner), ERROR_SUCCESS);
    assert_int_equal(rmt_child_wait(&joiner, WAIT_MS), ERROR_SESSION_CREDENTIAL_CONFLICT);
    h2 = SENTINEL;
    assert_int_equal(RmJoinSession(&h2, key), ERROR_SESSION_CREDENTIAL_CONFLICT);

    free(out);
    free(rec);
    free(rec2);
    free(file);
}

static void test_start_killed(void **state)
{
    struct rmt_child primary;
    WCHAR *out = rmt_path(L"session-killed.txt");
    WCHAR *rec = new_record(L"startkill");
    WCHAR key[CCH_RM_SESSION_KEY + 1], args[3 * MAX_PATH];
    DWORD handle = SENTINEL;
    char *text;

    /* A crashed primary: no END, no EXIT in its record. */
    swprintf(args, 3 * MAX_PATH, L"--record \"%ls\" start --out \"%ls\"", rec, out);
    assert_int_equal(rmt_spawn(TRUE, args, WAIT_MS, &primary), ERROR_SUCCESS);
    read_session_file(out, &handle, key);
    rmt_child_kill(&primary);
    text = rmt_read_record(rec);
    assert_non_null(strstr(text, "STARTED\n"));
    assert_null(strstr(text, "END"));
    assert_null(strstr(text, "EXIT"));
    free(text);
    free(out);
    free(rec);
}

/* ------------------------------------------------------------------------------ */
/* service                                                                          */

static DWORD service_state(const WCHAR *name, DWORD *pid)
{
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT), svc;
    SERVICE_STATUS_PROCESS st;
    DWORD needed, state = 0;
    assert_non_null(scm);
    svc = OpenServiceW(scm, name, SERVICE_QUERY_STATUS);
    if (svc)
    {
        if (QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (BYTE *)&st, sizeof(st), &needed))
        {
            state = st.dwCurrentState;
            if (pid) *pid = st.dwProcessId;
        }
        CloseServiceHandle(svc);
    }
    CloseServiceHandle(scm);
    return state;
}

static void test_service_remove_absent(void **state)
{
    WCHAR name[64];
    swprintf(name, 64, L"rmtsvc-%lu-absent", GetCurrentProcessId());
    rmt_service_remove(name);
    assert_int_equal(service_state(name, NULL), 0);
    rmt_service_remove(NULL);
}

static void test_service_fails_to_start(void **state)
{
    WCHAR name[64], args[3 * MAX_PATH];
    WCHAR *missing = rmt_path(L"no-such-dir\\svc.txt");
    WCHAR *rec = new_record(L"svcbad");
    DWORD pid = SENTINEL, rc;

    swprintf(name, 64, L"rmtsvc-%lu-bad", GetCurrentProcessId());
    swprintf(args, 3 * MAX_PATH, L"--record \"%ls\" service %ls hold \"%ls\"", rec, name, missing);
    rc = rmt_service_install(name, NULL, args, NULL, WAIT_MS, &pid);
    assert_int_not_equal(rc, ERROR_SUCCESS);
    assert_int_equal(pid, 0);
    assert_int_equal(service_state(name, NULL), 0); /* removed again */
    assert_true(record_has(rec, "FAIL CreateFile 3\n"));
    assert_false(record_has(rec, "STARTED"));
    free(missing);
    free(rec);
}

static void test_service_runs_and_stops(void **state)
{
    WCHAR name[64], args[3 * MAX_PATH];
    WCHAR *rec = new_record(L"svc");
    WCHAR *file = rmt_make_file(L"svc-held.txt");
    DWORD pid = SENTINEL, spid = SENTINEL;
    HANDLE process;

    swprintf(name, 64, L"rmtsvc-%lu-a", GetCurrentProcessId());
    swprintf(args, 3 * MAX_PATH, L"--record \"%ls\" service %ls hold \"%ls\"", rec, name, file);
    assert_int_equal(rmt_service_install(name, L"rmtest helper service", args, NULL, WAIT_MS,
                                         &pid), ERROR_SUCCESS);
    remember_service_process(pid);
    assert_true(pid != 0 && pid != SENTINEL && pid != GetCurrentProcessId());
    assert_int_equal(service_state(name, &spid), SERVICE_RUNNING);
    assert_int_equal(spid, pid);
    process = OpenProcess(SYNCHRONIZE, FALSE, pid);
    assert_non_null(process);
    assert_int_equal(WaitForSingleObject(process, 0), WAIT_TIMEOUT);
    assert_true(rmt_wait_record(rec, "STARTED ", WAIT_MS));
    /* It holds the file with full sharing. */
    expect_open(file, GENERIC_READ | GENERIC_WRITE, ALL_SHARE);
    expect_sharing_violation(file, GENERIC_READ, FILE_SHARE_READ);

    rmt_service_remove(name);
    assert_true(process_exited(process, WAIT_MS));
    CloseHandle(process);
    assert_int_equal(service_state(name, NULL), 0);
    {
        char want[200];
        snprintf(want, sizeof(want), "STARTED %ls\nSTOP %ls\nEXIT\n", name, name);
        assert_record(rec, want);
    }
    expect_open(file, GENERIC_READ | GENERIC_WRITE, 0);
    free(rec);
    free(file);
}

static void test_service_dependencies(void **state)
{
    WCHAR base[64], dependent[64], deps[80];
    DWORD pid_base = 0, pid_dep = 0;
    size_t n;

    swprintf(base, 64, L"rmtsvc-%lu-base", GetCurrentProcessId());
    swprintf(dependent, 64, L"rmtsvc-%lu-dep", GetCurrentProcessId());
    /* Short form: args without "service" get "service NAME" put in front. */
    assert_int_equal(rmt_service_install(base, NULL, NULL, NULL, WAIT_MS, &pid_base),
                     ERROR_SUCCESS);
    remember_service_process(pid_base);
    memset(deps, 0, sizeof(deps));
    n = wcslen(base);
    wmemcpy(deps, base, n); /* base\0\0 */
    assert_int_equal(rmt_service_install(dependent, NULL, NULL, deps, WAIT_MS, &pid_dep),
                     ERROR_SUCCESS);
    remember_service_process(pid_dep);
    assert_int_not_equal(pid_base, pid_dep);
    assert_int_equal(service_state(base, NULL), SERVICE_RUNNING);
    assert_int_equal(service_state(dependent, NULL), SERVICE_RUNNING);
    {
        SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
        SC_HANDLE svc = OpenServiceW(scm, dependent, SERVICE_QUERY_CONFIG);
        BYTE buf[8192];
        QUERY_SERVICE_CONFIGW *cfg = (QUERY_SERVICE_CONFIGW *)buf;
        DWORD needed;
        assert_non_null(svc);
        assert_true(QueryServiceConfigW(svc, cfg, sizeof(buf), &needed));
        assert_int_equal(cfg->dwServiceType, SERVICE_WIN32_OWN_PROCESS);
        /* (Wine 8's QueryServiceConfigW leaves lpDependencies empty: the registry
         * shows what was stored.) */
        assert_true(cfg->lpBinaryPathName[0] == L'"');
        assert_non_null(wcsstr(cfg->lpBinaryPathName, L"rmhelper.exe\" service "));
        CloseServiceHandle(svc);
        CloseServiceHandle(scm);
    }
    {
        WCHAR key[128], value[128];
        DWORD size = sizeof(value), type = 0;
        swprintf(key, 128, L"System\\CurrentControlSet\\Services\\%ls", dependent);
        memset(value, 0, sizeof(value));
        assert_int_equal(RegGetValueW(HKEY_LOCAL_MACHINE, key, L"DependOnService",
                                      RRF_RT_REG_MULTI_SZ, &type, value, &size), ERROR_SUCCESS);
        assert_int_equal(type, REG_MULTI_SZ);
        assert_true(!wcscmp(value, base));
        assert_int_equal(value[wcslen(base) + 1], 0);
    }
    rmt_service_remove(dependent);
    rmt_service_remove(base);
    assert_int_equal(service_state(dependent, NULL), 0);
    assert_int_equal(service_state(base, NULL), 0);
}

/* ------------------------------------------------------------------------------ */

static void test_nothing_left_running(void **state)
{
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    PROCESSENTRY32W pe;
    int i, left = 0;

    assert_ptr_not_equal(snap, INVALID_HANDLE_VALUE);
    pe.dwSize = sizeof(pe);
    if (Process32FirstW(snap, &pe))
    {
        do
        {
            if (pe.th32ParentProcessID == GetCurrentProcessId() &&
                !wcsncmp(pe.szExeFile, L"rmhelper", 8))
            {
                HANDLE h = OpenProcess(SYNCHRONIZE, FALSE, pe.th32ProcessID);
                if (h && WaitForSingleObject(h, 0) == WAIT_TIMEOUT)
                {
                    print_message("# still running: %ls pid %lu\n", pe.szExeFile,
                                  pe.th32ProcessID);
                    left++;
                }
                if (h) CloseHandle(h);
            }
        } while (Process32NextW(snap, &pe));
    }
    CloseHandle(snap);
    for (i = 0; i < service_process_count; i++)
        if (WaitForSingleObject(service_processes[i], 0) != WAIT_OBJECT_0) left++;
    assert_int_equal(left, 0);
}

static int teardown_group(void **state)
{
    int i;
    for (i = 0; i < service_process_count; i++) CloseHandle(service_processes[i]);
    service_process_count = 0;
    rmt_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_our_dll),
        cmocka_unit_test(test_helper_exes_exist),
        cmocka_unit_test(test_zeroed_child_is_safe),
        cmocka_unit_test(test_bad_usage),
        cmocka_unit_test(test_sleep_quit),
        cmocka_unit_test(test_kill_and_job),
        cmocka_unit_test(test_hold_bad),
        cmocka_unit_test(test_hold_share_none),
        cmocka_unit_test(test_hold_share_modes),
        cmocka_unit_test(test_hold_several),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_window_console_exe),
        cmocka_unit_test(test_window_gui_exe),
        cmocka_unit_test(test_window_refuse),
        cmocka_unit_test(test_window_hidden),
        cmocka_unit_test(test_window_hang),
        cmocka_unit_test(test_window_close_delay),
        cmocka_unit_test(test_console_ctrl_bad),
        cmocka_unit_test(test_console_ctrl_c),
        cmocka_unit_test(test_console_close_delay),
        cmocka_unit_test(test_console_ctrl_break),
        cmocka_unit_test(test_console_ignore_ctrl_c),
        cmocka_unit_test(test_start_and_join),
        cmocka_unit_test(test_start_killed),
        cmocka_unit_test(test_service_remove_absent),
        cmocka_unit_test(test_service_fails_to_start),
        cmocka_unit_test(test_service_runs_and_stops),
        cmocka_unit_test(test_service_dependencies),
        cmocka_unit_test(test_nothing_left_running),
    };
    rmt_init();
    return cmocka_run_group_tests(tests, NULL, teardown_group);
}
