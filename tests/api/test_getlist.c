/*
 * test_getlist.c - RmGetList: the call protocol, and who uses a registered file,
 * process or service (spec 5.5 and 6; issue 3).
 *
 * Every situation is played by a real helper process (tests/helpers/rmhelper.c)
 * started through rmspawn; every test kills what it started and ends its sessions
 * in its teardown, so a failing assertion leaves nothing running.
 */
#include "rmtest.h"
#include "rmspawn.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUIT_TIMEOUT rmt_timeout(10000)
#define SERVICE_TIMEOUT rmt_timeout(15000)

/* ------------------------------------------------------------------------------ */
/* Per-test bookkeeping, undone by teardown() even when an assertion failed.       */

static WCHAR svc_names[2][64];
static HANDLE own_process, own_job;  /* test_exe_image starts its helper itself */
static HANDLE self_file = INVALID_HANDLE_VALUE;

static int teardown(void **state)
{
    int i;
    rmt_kill_all();
    rmt_end_all();
    for (i = 1; i >= 0; i--)
    {
        if (svc_names[i][0]) rmt_service_remove(svc_names[i]);
        svc_names[i][0] = 0;
    }
    rmt_release_process(&own_process, &own_job);
    if (self_file != INVALID_HANDLE_VALUE)
    {
        CloseHandle(self_file);
        self_file = INVALID_HANDLE_VALUE;
    }
    return 0;
}

static int svc_setup(void **state)
{
    swprintf(svc_names[0], 64, L"rmtGetListA%lu", GetCurrentProcessId());
    swprintf(svc_names[1], 64, L"rmtGetListB%lu", GetCurrentProcessId());
    /* Left over from a crashed earlier run with the same PID: harmless to remove. */
    rmt_service_remove(svc_names[1]);
    rmt_service_remove(svc_names[0]);
    return 0;
}

/* Starts a helper (console build unless gui) with ROLE ARGS formatted from fmt. */
static struct rmt_child *spawn(BOOL gui, const WCHAR *fmt, ...)
{
    WCHAR args[2048];
    va_list ap;

    va_start(ap, fmt);
    vswprintf(args, ARRAYSIZE(args), fmt, ap);
    va_end(ap);
    return rmt_spawn_tracked(gui, 0, args, RMT_SPAWN_TIMEOUT);
}

static void register_files(DWORD h, UINT n, const WCHAR **files)
{
    assert_int_equal(RmRegisterResources(h, n, files, 0, NULL, 0, NULL), ERROR_SUCCESS);
}

static void register_file(DWORD h, const WCHAR *file)
{
    register_files(h, 1, &file);
}

static void register_process(DWORD h, RM_UNIQUE_PROCESS p)
{
    assert_int_equal(RmRegisterResources(h, 0, NULL, 1, &p, 0, NULL), ERROR_SUCCESS);
}

static void register_service(DWORD h, const WCHAR *name)
{
    assert_int_equal(RmRegisterResources(h, 0, NULL, 0, NULL, 1, &name), ERROR_SUCCESS);
}

static void fill(void *p, size_t n)
{
    memset(p, 0x41, n);
}

static BOOL untouched(const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;
    for (i = 0; i < n; i++)
        if (b[i] != 0x41) return FALSE;
    return TRUE;
}

/* Strings of an entry are NUL-terminated inside their arrays. */
static void check_strings(const RM_PROCESS_INFO *e)
{
    assert_non_null(wmemchr(e->strAppName, 0, CCH_RM_MAX_APP_NAME + 1));
    assert_non_null(wmemchr(e->strServiceShortName, 0, CCH_RM_MAX_SVC_NAME + 1));
}

/* The whole list: grows the buffer until RmGetList succeeds (5 tries at most);
 * asserts success and count == needed. *out is malloc'ed (free it), or NULL. */
static UINT get_all(DWORD h, RM_PROCESS_INFO **out, DWORD *reasons)
{
    RM_PROCESS_INFO *buf = NULL;
    UINT needed = 0, count = 0, cap = 0, i;
    DWORD rc = ERROR_MORE_DATA;
    int tries;

    for (tries = 0; tries < 5 && rc == ERROR_MORE_DATA; tries++)
    {
        needed = SENTINEL;
        count = cap;
        *reasons = SENTINEL;
        rc = RmGetList(h, &needed, &count, buf, reasons);
        if (rc == ERROR_MORE_DATA)
        {
            assert_true(needed > cap);
            free(buf);
            cap = needed + 2;
            buf = malloc(cap * sizeof(*buf));
            assert_non_null(buf);
            fill(buf, cap * sizeof(*buf));
        }
    }
    assert_int_equal(rc, ERROR_SUCCESS);
    assert_int_equal(count, needed);
    assert_true(*reasons != SENTINEL);
    for (i = 0; i < count; i++) check_strings(&buf[i]);
    *out = buf;
    return count;
}

static UINT count_pid(const RM_PROCESS_INFO *l, UINT n, DWORD pid)
{
    UINT i, k = 0;
    for (i = 0; i < n; i++)
        if (l[i].Process.dwProcessId == pid) k++;
    return k;
}

/* The entry's start time is exactly the creation time GetProcessTimes reports. */
static void check_start_time(const RM_PROCESS_INFO *e, HANDLE process)
{
    FILETIME c, x, k, u;
    assert_true(GetProcessTimes(process, &c, &x, &k, &u));
    assert_int_equal(e->Process.ProcessStartTime.dwLowDateTime, c.dwLowDateTime);
    assert_int_equal(e->Process.ProcessStartTime.dwHighDateTime, c.dwHighDateTime);
}

static void check_start_time_pid(const RM_PROCESS_INFO *e, DWORD pid)
{
    HANDLE p = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    assert_non_null(p);
    check_start_time(e, p);
    CloseHandle(p);
}

/* Exactly one entry, for child c, with its exact identity. */
static void expect_only(DWORD h, const struct rmt_child *c)
{
    RM_PROCESS_INFO *l;
    DWORD reasons;
    UINT n = get_all(h, &l, &reasons);
    assert_int_equal(n, 1);
    assert_int_equal(l[0].Process.dwProcessId, c->pid);
    check_start_time(&l[0], c->process);
    assert_int_equal(reasons, RmRebootReasonNone);
    free(l);
}

static void expect_empty(DWORD h)
{
    UINT needed = SENTINEL, count = 0;
    DWORD reasons = SENTINEL;
    assert_int_equal(RmGetList(h, &needed, &count, NULL, &reasons), ERROR_SUCCESS);
    assert_int_equal(needed, 0);
    assert_int_equal(count, 0);
    assert_int_equal(reasons, RmRebootReasonNone);
}

/* ------------------------------------------------------------------------------ */
/* The call protocol: bad inputs                                                    */

static void test_null_out_pointers(void **state)
{
    RM_PROCESS_INFO info[2];
    UINT needed, count;
    DWORD reasons, h = rmt_start_tracked(NULL);
    WCHAR *f = rmt_make_file(L"nullptrs.txt");
    register_file(h, f);

    count = 0;
    reasons = SENTINEL;
    assert_int_equal(RmGetList(h, NULL, &count, NULL, &reasons), ERROR_BAD_ARGUMENTS);
    needed = SENTINEL;
    reasons = SENTINEL;
    assert_int_equal(RmGetList(h, &needed, NULL, NULL, &reasons), ERROR_BAD_ARGUMENTS);
    needed = SENTINEL;
    count = 0;
    assert_int_equal(RmGetList(h, &needed, &count, NULL, NULL), ERROR_BAD_ARGUMENTS);
    count = 2;
    assert_int_equal(RmGetList(h, &needed, &count, info, NULL), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmGetList(h, NULL, NULL, NULL, NULL), ERROR_BAD_ARGUMENTS);
    free(f);
}

static void test_capacity_with_null_array(void **state)
{
    UINT needed = SENTINEL, count = 1;
    DWORD reasons = SENTINEL, h = rmt_start_tracked(NULL);
    assert_int_equal(RmGetList(h, &needed, &count, NULL, &reasons), ERROR_BAD_ARGUMENTS);
    count = 100;
    assert_int_equal(RmGetList(h, &needed, &count, NULL, &reasons), ERROR_BAD_ARGUMENTS);
}

static void test_invalid_handle(void **state)
{
    UINT needed = SENTINEL, count = 0;
    DWORD reasons = SENTINEL;
    WCHAR key[CCH_RM_SESSION_KEY + 1];
    DWORD h = SENTINEL;

    assert_int_equal(RmGetList(0xdeadbeef, &needed, &count, NULL, &reasons), ERROR_INVALID_HANDLE);
    assert_int_equal(RmGetList(4095, &needed, &count, NULL, &reasons), ERROR_INVALID_HANDLE);
    /* An ended session's handle. */
    assert_int_equal(RmStartSession(&h, 0, key), ERROR_SUCCESS);
    assert_int_equal(RmEndSession(h), ERROR_SUCCESS);
    needed = SENTINEL;
    count = 0;
    reasons = SENTINEL;
    assert_int_equal(RmGetList(h, &needed, &count, NULL, &reasons), ERROR_INVALID_HANDLE);
}

static void test_bad_arguments_before_handle(void **state)
{
    UINT needed = SENTINEL, count = 0;
    DWORD reasons = SENTINEL;
    assert_int_equal(RmGetList(0xdeadbeef, NULL, &count, NULL, &reasons), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmGetList(0xdeadbeef, &needed, &count, NULL, NULL), ERROR_BAD_ARGUMENTS);
    count = 3;
    assert_int_equal(RmGetList(0xdeadbeef, &needed, &count, NULL, &reasons), ERROR_BAD_ARGUMENTS);
}

static void test_secondary_denied(void **state)
{
    WCHAR key[CCH_RM_SESSION_KEY + 1];
    UINT needed = SENTINEL, count = 0;
    DWORD reasons = SENTINEL, h, sec = SENTINEL;
    WCHAR *f = rmt_make_file(L"secondary.txt");

    h = rmt_start_tracked(key);
    register_file(h, f);
    assert_int_equal(RmJoinSession(&sec, key), ERROR_SUCCESS);
    rmt_track(sec);
    assert_int_equal(RmGetList(sec, &needed, &count, NULL, &reasons),
                     ERROR_SESSION_CREDENTIAL_CONFLICT);
    /* The primary still may. */
    expect_empty(h);
    free(f);
}

/* ------------------------------------------------------------------------------ */
/* The call protocol: sizes and loops                                               */

static void test_nothing_registered(void **state)
{
    RM_PROCESS_INFO info[2];
    UINT needed = SENTINEL, count = 0;
    DWORD reasons = SENTINEL, h = rmt_start_tracked(NULL);

    assert_int_equal(RmGetList(h, &needed, &count, NULL, &reasons), ERROR_SUCCESS);
    assert_int_equal(needed, 0);
    assert_int_equal(count, 0);
    assert_int_equal(reasons, 0);

    needed = SENTINEL;
    count = 2;
    reasons = SENTINEL;
    fill(info, sizeof(info));
    assert_int_equal(RmGetList(h, &needed, &count, info, &reasons), ERROR_SUCCESS);
    assert_int_equal(needed, 0);
    assert_int_equal(count, 0);
    assert_int_equal(reasons, 0);
}

static void test_size_probe(void **state)
{
    WCHAR *f = rmt_make_file(L"probe.txt");
    struct rmt_child *c = spawn(FALSE, L"hold \"%ls\"", f);
    UINT needed = SENTINEL, count = 0;
    DWORD reasons = SENTINEL, h = rmt_start_tracked(NULL);
    register_file(h, f);

    assert_int_equal(RmGetList(h, &needed, &count, NULL, &reasons), ERROR_MORE_DATA);
    assert_int_equal(needed, 1);
    assert_int_equal(count, 0);
    assert_int_equal(reasons, RmRebootReasonNone);
    (void)c;
    free(f);
}

static void test_buffer_too_small(void **state)
{
    WCHAR *f = rmt_make_file(L"small.txt");
    RM_PROCESS_INFO info[3];
    UINT needed = SENTINEL, count = 1;
    DWORD reasons = SENTINEL, h = rmt_start_tracked(NULL);
    spawn(FALSE, L"hold \"%ls\"", f);
    spawn(FALSE, L"hold \"%ls\"", f);
    register_file(h, f);

    fill(info, sizeof(info));
    assert_int_equal(RmGetList(h, &needed, &count, info, &reasons), ERROR_MORE_DATA);
    assert_int_equal(needed, 2);
    assert_int_equal(count, 0);
    assert_int_equal(reasons, RmRebootReasonNone);
    /* Nothing written past the capacity, and (decided) nothing at all. */
    assert_true(untouched(&info[1], sizeof(info[1])));
    assert_true(untouched(&info[2], sizeof(info[2])));
    assert_true(untouched(&info[0], sizeof(info[0])));
    free(f);
}

/* One variable passed as both counts, as some wrappers do: the capacity is what the
 * variable held on entry, nothing is written past it, and (decided, README) the
 * variable is left holding the size needed. */
static void test_one_variable_for_both_counts(void **state)
{
    RMT_OUR_CHOICE("README: one variable passed as both counts of RmGetList");
    WCHAR *f = rmt_make_file(L"alias.txt");
    RM_PROCESS_INFO info[3];
    UINT n = 1;
    DWORD reasons = SENTINEL, h = rmt_start_tracked(NULL);
    struct rmt_child *a = spawn(FALSE, L"hold \"%ls\"", f);
    struct rmt_child *b = spawn(FALSE, L"hold \"%ls\"", f);
    register_file(h, f);

    fill(info, sizeof(info));
    assert_int_equal(RmGetList(h, &n, &n, info, &reasons), ERROR_MORE_DATA);
    assert_int_equal(n, 2);
    assert_int_equal(reasons, RmRebootReasonNone);
    assert_true(untouched(info, sizeof(info)));

    /* With room for both: both listed, the third element untouched. */
    assert_int_equal(RmGetList(h, &n, &n, info, &reasons), ERROR_SUCCESS);
    assert_int_equal(n, 2);
    assert_non_null(rmt_find_pid(info, n, a->pid));
    assert_non_null(rmt_find_pid(info, n, b->pid));
    assert_true(untouched(&info[2], sizeof(info[2])));
    free(f);
}

/* A count or the reasons inside the caller's array would be overwritten by the
 * elements: refused before anything is written. */
static void test_outputs_inside_the_array(void **state)
{
    WCHAR *f = rmt_make_file(L"overlap.txt");
    RM_PROCESS_INFO info[3];
    UINT needed = SENTINEL, count = 3, *in_array = (UINT *)&info[1];
    DWORD reasons = SENTINEL, h = rmt_start_tracked(NULL);
    spawn(FALSE, L"hold \"%ls\"", f);
    register_file(h, f);

    fill(info, sizeof(info));
    *in_array = 3;
    assert_int_equal(RmGetList(h, &needed, in_array, info, &reasons), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmGetList(h, in_array, &count, info, &reasons), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmGetList(h, &needed, &count, info, (DWORD *)in_array), ERROR_BAD_ARGUMENTS);
    assert_int_equal(needed, SENTINEL);
    assert_int_equal(count, 3);
    assert_int_equal(reasons, SENTINEL);
    assert_int_equal(*in_array, 3);
    assert_true(untouched(&info[0], sizeof(info[0])));
    /* The same call with separate variables is fine. */
    assert_int_equal(RmGetList(h, &needed, &count, info, &reasons), ERROR_SUCCESS);
    assert_int_equal(count, 1);
    free(f);
}

static void test_exact_buffer(void **state)
{
    WCHAR *f = rmt_make_file(L"exact.txt");
    RM_PROCESS_INFO info[3];
    UINT needed = SENTINEL, count = 2;
    DWORD reasons = SENTINEL, h = rmt_start_tracked(NULL);
    struct rmt_child *a = spawn(FALSE, L"hold \"%ls\"", f);
    struct rmt_child *b = spawn(FALSE, L"hold \"%ls\"", f);
    register_file(h, f);

    fill(info, sizeof(info));
    assert_int_equal(RmGetList(h, &needed, &count, info, &reasons), ERROR_SUCCESS);
    assert_int_equal(needed, 2);
    assert_int_equal(count, 2);
    assert_int_equal(reasons, RmRebootReasonNone);
    assert_int_equal(count_pid(info, 2, a->pid), 1);
    assert_int_equal(count_pid(info, 2, b->pid), 1);
    check_start_time(rmt_find_pid(info, 2, a->pid), a->process);
    check_start_time(rmt_find_pid(info, 2, b->pid), b->process);
    assert_true(untouched(&info[2], sizeof(info[2])));

    /* A larger buffer: the count says how many were filled. */
    needed = SENTINEL;
    count = 3;
    reasons = SENTINEL;
    fill(info, sizeof(info));
    assert_int_equal(RmGetList(h, &needed, &count, info, &reasons), ERROR_SUCCESS);
    assert_int_equal(needed, 2);
    assert_int_equal(count, 2);
    assert_int_equal(count_pid(info, 2, a->pid), 1);
    assert_int_equal(count_pid(info, 2, b->pid), 1);
    free(f);
}

/* Microsoft's secondary-installer sample: probe, allocate, retry up to 3 times. */
static void test_sdk_sample_loop(void **state)
{
    WCHAR *f = rmt_make_file(L"sdkloop.txt");
    RM_PROCESS_INFO *info = NULL;
    UINT needed = 0, count = 0, i;
    DWORD reasons = 0, rc = ERROR_MORE_DATA, h = rmt_start_tracked(NULL);
    struct rmt_child *a = spawn(FALSE, L"hold \"%ls\"", f);
    struct rmt_child *b = spawn(FALSE, L"hold \"%ls\"", f);
    register_file(h, f);

    for (i = 0; i < 3; i++)
    {
        rc = RmGetList(h, &needed, &count, info, &reasons);
        if (rc != ERROR_MORE_DATA) break;
        free(info);
        info = malloc(needed * sizeof(*info));
        assert_non_null(info);
        count = needed;
    }
    assert_int_equal(rc, ERROR_SUCCESS);
    assert_int_equal(count, 2);
    assert_int_equal(needed, 2);
    assert_int_equal(count_pid(info, count, a->pid), 1);
    assert_int_equal(count_pid(info, count, b->pid), 1);
    free(info);
    free(f);
}

/* Inno Setup style: start with room for 5 and grow while the count needed is larger. */
static void test_inno_grow_loop(void **state)
{
    WCHAR *f = rmt_make_file(L"innoloop.txt");
    RM_PROCESS_INFO *info;
    UINT cap = 5, needed, count, i;
    DWORD reasons, rc, h = rmt_start_tracked(NULL);
    struct rmt_child *kids[6];
    int tries = 0;

    for (i = 0; i < 6; i++) kids[i] = spawn(FALSE, L"hold \"%ls\"", f);
    register_file(h, f);

    info = malloc(cap * sizeof(*info));
    assert_non_null(info);
    for (;;)
    {
        count = cap;
        needed = 0;
        rc = RmGetList(h, &needed, &count, info, &reasons);
        assert_true(++tries <= 3);
        if (rc == ERROR_MORE_DATA && needed > cap)
        {
            cap = needed;
            free(info);
            info = malloc(cap * sizeof(*info));
            assert_non_null(info);
            continue;
        }
        break;
    }
    assert_int_equal(rc, ERROR_SUCCESS);
    assert_int_equal(tries, 2);
    assert_int_equal(needed, 6);
    assert_int_equal(count, 6);
    for (i = 0; i < 6; i++) assert_int_equal(count_pid(info, count, kids[i]->pid), 1);
    free(info);
    free(f);
}

static void test_list_recomputed_per_call(void **state)
{
    WCHAR *f = rmt_make_file(L"recompute.txt");
    RM_PROCESS_INFO *l;
    DWORD reasons, h = rmt_start_tracked(NULL);
    struct rmt_child *a, *b;
    UINT n;

    register_file(h, f);
    expect_empty(h);
    a = spawn(FALSE, L"hold \"%ls\"", f);
    expect_only(h, a);
    b = spawn(FALSE, L"hold \"%ls\"", f);
    n = get_all(h, &l, &reasons);
    assert_int_equal(n, 2);
    free(l);
    assert_int_equal(rmt_child_quit(a, QUIT_TIMEOUT), ERROR_SUCCESS);
    expect_only(h, b);
    assert_int_equal(rmt_child_quit(b, QUIT_TIMEOUT), ERROR_SUCCESS);
    expect_empty(h);
    free(f);
}

/* Holders die while the list is computed again and again: every call succeeds and
 * reports only holders; once all are gone, the list is empty. */
static void test_holders_exiting_between_scans(void **state)
{
    WCHAR *f = rmt_make_file(L"dying.txt");
    RM_PROCESS_INFO info[8];
    UINT needed, count, i, j;
    DWORD reasons, h = rmt_start_tracked(NULL);
    struct rmt_child *kids[4];

    for (i = 0; i < 4; i++) kids[i] = spawn(FALSE, L"hold \"%ls\"", f);
    register_file(h, f);
    for (i = 0; i < 4; i++)
    {
        TerminateProcess(kids[i]->process, 1);
        needed = SENTINEL;
        count = 8;
        reasons = SENTINEL;
        assert_int_equal(RmGetList(h, &needed, &count, info, &reasons), ERROR_SUCCESS);
        assert_int_equal(count, needed);
        assert_true(count <= 4 - i);
        assert_true(count >= 3 - i);
        for (j = 0; j < count; j++)
        {
            UINT k;
            BOOL known = FALSE;
            for (k = i; k < 4; k++) known |= info[j].Process.dwProcessId == kids[k]->pid;
            assert_true(known);
        }
        assert_int_equal(WaitForSingleObject(kids[i]->process, rmt_timeout(5000)), WAIT_OBJECT_0);
    }
    expect_empty(h);
    free(f);
}

/* ------------------------------------------------------------------------------ */
/* Who uses a file                                                                  */

static void check_share_mode(const WCHAR *share)
{
    WCHAR name[64];
    WCHAR *f;
    struct rmt_child *c;
    DWORD h = rmt_start_tracked(NULL);

    swprintf(name, 64, L"share-%ls.txt", share);
    f = rmt_make_file(name);
    c = spawn(FALSE, L"hold \"%ls\" %ls", f, share);
    register_file(h, f);
    expect_only(h, c);
    free(f);
}

static void test_holder_share_none(void **state) { check_share_mode(L"none"); }
static void test_holder_share_r(void **state) { check_share_mode(L"r"); }
static void test_holder_share_rw(void **state) { check_share_mode(L"rw"); }
static void test_holder_share_rwd(void **state) { check_share_mode(L"rwd"); }

static void test_unheld_file(void **state)
{
    WCHAR *f = rmt_make_file(L"unheld.txt");
    WCHAR *g = rmt_make_file(L"held-other.txt");
    DWORD h = rmt_start_tracked(NULL);
    spawn(FALSE, L"hold \"%ls\"", g); /* holds a different file */
    register_file(h, f);
    expect_empty(h);
    free(f);
    free(g);
}

static void test_nonexistent_file(void **state)
{
    WCHAR *f = rmt_path(L"does-not-exist.txt");
    WCHAR *g = rmt_make_file(L"held-beside.txt");
    DWORD h = rmt_start_tracked(NULL);
    struct rmt_child *c;

    register_file(h, f);
    expect_empty(h);
    /* Next to a held file, the missing one changes nothing. */
    c = spawn(FALSE, L"hold \"%ls\"", g);
    register_file(h, g);
    expect_only(h, c);
    free(f);
    free(g);
}

/* The list is about the file a registered path names now (issue 3: identity by
 * volume and file ID; spec 5.5: recomputed on every call). The directory is left
 * alone for more than two seconds first, so the DLL's cached view of it is one it
 * trusts: only a change of the directory's entries may refresh it. */
static void test_replaced_file_is_the_new_file(void **state)
{
    WCHAR *f = rmt_make_file(L"replaced.dll"), *g = rmt_make_file(L"replaced.new");
    WCHAR *old_name = rmt_path(L"replaced.old");
    DWORD h = rmt_start_tracked(NULL);
    struct rmt_child *old_holder, *new_holder;

    old_holder = spawn(FALSE, L"hold \"%ls\"", f);
    register_file(h, f);
    Sleep(2200);
    expect_only(h, old_holder);
    /* The installer renames the file in use away (its holder shared delete
     * access) and moves the new version in; the old holder keeps the old file, a
     * new process opens the new one. */
    assert_true(MoveFileExW(f, old_name, 0));
    assert_true(MoveFileExW(g, f, 0));
    new_holder = spawn(FALSE, L"hold \"%ls\"", f);
    expect_only(h, new_holder);
    free(f);
    free(g);
    free(old_name);
}

/* A file registered before it exists matches once it does, also when its
 * directory had long been quiet. */
static void test_file_created_after_registration(void **state)
{
    WCHAR *f = rmt_path(L"created-later.txt");
    DWORD h = rmt_start_tracked(NULL);
    struct rmt_child *c;

    rmt_tempdir();
    register_file(h, f);
    Sleep(2200);
    expect_empty(h);
    c = spawn(FALSE, L"hold \"%ls\"", f);   /* creates it (OPEN_ALWAYS) */
    expect_only(h, c);
    free(f);
}

static void test_directory_access_denied(void **state)
{
    UINT needed = SENTINEL, count = 0;
    DWORD reasons = SENTINEL, h = rmt_start_tracked(NULL);
    const WCHAR *dir = rmt_tempdir();
    register_file(h, dir);
    assert_int_equal(RmGetList(h, &needed, &count, NULL, &reasons), ERROR_ACCESS_DENIED);
}

static void test_directory_with_held_file_access_denied(void **state)
{
    WCHAR *f = rmt_make_file(L"beside-dir.txt");
    RM_PROCESS_INFO info[2];
    UINT needed = SENTINEL, count = 2;
    DWORD reasons = SENTINEL, h = rmt_start_tracked(NULL);
    const WCHAR *files[2];

    spawn(FALSE, L"hold \"%ls\"", f);
    files[0] = f;
    files[1] = rmt_tempdir();
    register_files(h, 2, files);
    assert_int_equal(RmGetList(h, &needed, &count, info, &reasons), ERROR_ACCESS_DENIED);
    free(f);
}

static void test_two_spellings_listed_once(void **state)
{
    WCHAR *f = rmt_make_file(L"spelling.txt");
    WCHAR upper[MAX_PATH], prefixed[MAX_PATH + 8], dotted[MAX_PATH + 8];
    const WCHAR *files[2], *more[2];
    DWORD h = rmt_start_tracked(NULL);
    struct rmt_child *c = spawn(FALSE, L"hold \"%ls\"", f);
    size_t i;

    for (i = 0; f[i]; i++) upper[i] = towupper(f[i]);
    upper[i] = 0;
    swprintf(prefixed, ARRAYSIZE(prefixed), L"\\\\?\\%ls", f);
    swprintf(dotted, ARRAYSIZE(dotted), L"%ls\\.\\spelling.txt", rmt_tempdir());
    files[0] = f;
    files[1] = upper;
    register_files(h, 2, files);
    expect_only(h, c);
    /* More spellings, in a later registration group. */
    more[0] = prefixed;
    more[1] = dotted;
    register_files(h, 2, more);
    expect_only(h, c);
    /* The very same string again. */
    register_file(h, f);
    expect_only(h, c);
    free(f);
}

static void test_three_files_listed_once(void **state)
{
    WCHAR *f1 = rmt_make_file(L"three-1.txt");
    WCHAR *f2 = rmt_make_file(L"three-2.txt");
    WCHAR *f3 = rmt_make_file(L"three-3.txt");
    const WCHAR *files[3] = {f1, f2, f3};
    DWORD h = rmt_start_tracked(NULL);
    struct rmt_child *c = spawn(FALSE, L"hold \"%ls\" rwd \"%ls\" r \"%ls\" none", f1, f2, f3);

    register_files(h, 3, files);
    expect_only(h, c);
    free(f1);
    free(f2);
    free(f3);
}

/* Copies a file next to the test's temp files; returns the copy's path (free it). */
static WCHAR *copy_to_temp(const WCHAR *src, const WCHAR *name)
{
    WCHAR *dst = rmt_path(name);
    if (!CopyFileW(src, dst, FALSE)) fail_msg("CopyFile %ls -> %ls: %lu", src, dst, GetLastError());
    return dst;
}

static WCHAR *our_dll_path(void)
{
    static WCHAR path[MAX_PATH];
    HMODULE m = rmt_rstrtmgr_module();
    assert_non_null(m);
    assert_true(GetModuleFileNameW(m, path, MAX_PATH) > 0);
    return path;
}

/* A DLL the helper loaded (mapped image, no open file handle) makes it a user. The
 * DLL is a private copy of ours (a native PE file nobody else loads). */
static void test_loaded_dll(void **state)
{
    WCHAR *dll = copy_to_temp(our_dll_path(), L"rmtest-loaded.dll");
    WCHAR *other = copy_to_temp(our_dll_path(), L"rmtest-not-loaded.dll");
    DWORD h = rmt_start_tracked(NULL), h2 = rmt_start_tracked(NULL);
    struct rmt_child *c = spawn(FALSE, L"load \"%ls\"", dll);

    register_file(h, dll);
    expect_only(h, c);
    /* An identical copy nobody loaded has no users. */
    register_file(h2, other);
    expect_empty(h2);
    free(dll);
    free(other);
}

/* The installer renames a loaded DLL away (allowed for an image in use) and puts
 * nothing in its place yet. The registered path names no file now: it is ignored
 * at list time (spec 5.4, the recommended default of an UNCERTAIN point), although
 * the loader still reports the module under that path. Moved back, the path names
 * the loaded file again and its user is listed. */
static void test_loaded_dll_renamed_away(void **state)
{
    WCHAR *dll = copy_to_temp(our_dll_path(), L"rmtest-renamed.dll");
    WCHAR *moved = rmt_path(L"rmtest-renamed.old");
    DWORD h = rmt_start_tracked(NULL);
    struct rmt_child *c = spawn(FALSE, L"load \"%ls\"", dll);

    DeleteFileW(moved);
    assert_true(MoveFileExW(dll, moved, 0));
    assert_int_equal(GetFileAttributesW(dll), INVALID_FILE_ATTRIBUTES);
    register_file(h, dll);
    expect_empty(h);
    assert_true(MoveFileExW(moved, dll, 0));
    expect_only(h, c);
    free(dll);
    free(moved);
}

/* Issue 3: module paths are matched by identity too. Under Wine the same file is
 * reachable as C:\... and through the Z: drive (the Unix root): a helper that
 * loaded the DLL through its Z: path is still found when the C: path is
 * registered. (On Windows there is no Z: alias to test with: skipped.) */
static void test_loaded_dll_other_spelling(void **state)
{
    typedef char *(CDECL *unix_name_fn)(const WCHAR *);
    unix_name_fn unix_name = (unix_name_fn)(void *)GetProcAddress(GetModuleHandleW(L"kernel32.dll"),
                                                                  "wine_get_unix_file_name");
    WCHAR *dll = copy_to_temp(our_dll_path(), L"rmtest-spelled.dll"), zpath[MAX_PATH];
    DWORD h;
    struct rmt_child *c;
    char *u;
    int i;

    if (!unix_name || !(u = unix_name(dll)))
    {
        free(dll);
        skip();
    }
    swprintf(zpath, MAX_PATH, L"Z:%hs", u);
    HeapFree(GetProcessHeap(), 0, u);
    for (i = 0; zpath[i]; i++)
        if (zpath[i] == L'/') zpath[i] = L'\\';
    h = rmt_start_tracked(NULL);
    c = spawn(FALSE, L"load \"%ls\"", zpath);
    register_file(h, dll);
    expect_only(h, c);
    free(dll);
}

/* Spec 6: a file "open or mapped". Mapped as data with both the file and the
 * mapping handle closed, only the view keeps it: the process is a user. A process
 * that maps another file is not. */
static void test_file_mapped_as_data(void **state)
{
    WCHAR *f = rmt_make_file(L"mapped.dat"), *other = rmt_make_file(L"mapped-other.dat");
    DWORD h = rmt_start_tracked(NULL);
    struct rmt_child *c = spawn(FALSE, L"map \"%ls\"", f);
    spawn(FALSE, L"map \"%ls\"", other);

    register_file(h, f);
    expect_only(h, c);
    free(f);
    free(other);
}

/* The same view, registered under another spelling of the path (the Z: drive Wine
 * maps to /): found by identity. */
static void test_file_mapped_other_spelling(void **state)
{
    typedef char *(CDECL *unix_name_fn)(const WCHAR *);
    unix_name_fn unix_name = (unix_name_fn)(void *)GetProcAddress(GetModuleHandleW(L"kernel32.dll"),
                                                                  "wine_get_unix_file_name");
    WCHAR *f = rmt_make_file(L"mapped-z.dat"), zpath[MAX_PATH];
    DWORD h;
    struct rmt_child *c;
    char *u;
    int i;

    if (!unix_name || !(u = unix_name(f)))
    {
        free(f);
        skip();
    }
    swprintf(zpath, MAX_PATH, L"Z:%hs", u);
    HeapFree(GetProcessHeap(), 0, u);
    for (i = 0; zpath[i]; i++)
        if (zpath[i] == L'/') zpath[i] = L'\\';
    h = rmt_start_tracked(NULL);
    c = spawn(FALSE, L"map \"%ls\"", zpath);
    register_file(h, f);
    expect_only(h, c);
    free(f);
}

/* A system DLL the helper loaded, registered by its System32 path as installers do.
 * In the 32-bit test that path means SysWOW64 (the caller's file-system-redirection
 * view), which is also where the 32-bit helper's copy comes from; the 64-bit copy in
 * the real System32 is a different file. */
static void test_loaded_system_dll(void **state)
{
    WCHAR dll[MAX_PATH];
    RM_PROCESS_INFO *l;
    DWORD reasons, h = rmt_start_tracked(NULL);
    struct rmt_child *c;
    UINT n;

    assert_true(GetSystemDirectoryW(dll, MAX_PATH) > 0);
    wcscat(dll, L"\\msimg32.dll");
    c = spawn(FALSE, L"load \"%ls\"", dll);
    register_file(h, dll);
    n = get_all(h, &l, &reasons);
    /* Other processes may use it too; the helper is there once. */
    assert_int_equal(count_pid(l, n, c->pid), 1);
    check_start_time(rmt_find_pid(l, n, c->pid), c->process);
    if (!GetModuleHandleW(L"msimg32.dll")) assert_int_equal(count_pid(l, n, GetCurrentProcessId()), 0);
    free(l);
}

/* A process's own executable: a private copy of the helper, started here. */
static void test_exe_image(void **state)
{
    WCHAR *exe = copy_to_temp(rmt_helper_path(FALSE), L"rmtest-image.exe");
    WCHAR *dll = copy_to_temp(our_dll_path(), L"rstrtmgr.dll"); /* its import */
    WCHAR ready_name[64], quit_name[64], cmdline[MAX_PATH * 2];
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits;
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    HANDLE ready, quit, waits[2];
    RM_PROCESS_INFO *l;
    DWORD reasons, h = rmt_start_tracked(NULL);
    UINT n;

    swprintf(ready_name, 64, L"rmtest-image-ready-%lu", GetCurrentProcessId());
    swprintf(quit_name, 64, L"rmtest-image-quit-%lu", GetCurrentProcessId());
    ready = CreateEventW(NULL, TRUE, FALSE, ready_name);
    quit = CreateEventW(NULL, TRUE, FALSE, quit_name);
    assert_non_null(ready);
    assert_non_null(quit);
    own_job = CreateJobObjectW(NULL, NULL);
    assert_non_null(own_job);
    memset(&limits, 0, sizeof(limits));
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    assert_true(SetInformationJobObject(own_job, JobObjectExtendedLimitInformation, &limits,
                                        sizeof(limits)));
    swprintf(cmdline, ARRAYSIZE(cmdline), L"\"%ls\" --ready %ls --quit %ls sleep", exe, ready_name,
             quit_name);
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    if (!CreateProcessW(exe, cmdline, NULL, NULL, FALSE, CREATE_SUSPENDED | CREATE_NO_WINDOW, NULL,
                        NULL, &si, &pi))
        fail_msg("CreateProcess %ls: %lu", exe, GetLastError());
    own_process = pi.hProcess;
    AssignProcessToJobObject(own_job, pi.hProcess);
    ResumeThread(pi.hThread);
    CloseHandle(pi.hThread);
    waits[0] = ready;
    waits[1] = pi.hProcess;
    assert_int_equal(WaitForMultipleObjects(2, waits, FALSE, RMT_SPAWN_TIMEOUT), WAIT_OBJECT_0);

    register_file(h, exe);
    n = get_all(h, &l, &reasons);
    assert_int_equal(n, 1);
    assert_int_equal(l[0].Process.dwProcessId, pi.dwProcessId);
    check_start_time(&l[0], pi.hProcess);
    assert_int_equal(reasons, RmRebootReasonNone);
    free(l);

    SetEvent(quit);
    assert_int_equal(WaitForSingleObject(pi.hProcess, QUIT_TIMEOUT), WAIT_OBJECT_0);
    expect_empty(h);
    CloseHandle(ready);
    CloseHandle(quit);
    free(exe);
    free(dll);
}

/* The caller itself uses the file: listed as critical, with DetectedSelf. */
static void test_self_holds_file(void **state)
{
    WCHAR *f = rmt_make_file(L"self.txt");
    RM_UNIQUE_PROCESS me = rmt_self();
    RM_PROCESS_INFO *l;
    DWORD reasons, h = rmt_start_tracked(NULL);
    UINT n;

    self_file = CreateFileW(f, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                            NULL, OPEN_EXISTING, 0, NULL);
    assert_true(self_file != INVALID_HANDLE_VALUE);
    register_file(h, f);
    n = get_all(h, &l, &reasons);
    assert_int_equal(n, 1);
    assert_int_equal(l[0].Process.dwProcessId, me.dwProcessId);
    assert_int_equal(l[0].Process.ProcessStartTime.dwLowDateTime, me.ProcessStartTime.dwLowDateTime);
    assert_int_equal(l[0].Process.ProcessStartTime.dwHighDateTime, me.ProcessStartTime.dwHighDateTime);
    assert_int_equal(l[0].ApplicationType, RmCritical);
    assert_false(l[0].bRestartable);
    assert_true(reasons & RmRebootReasonDetectedSelf);
    assert_int_equal(reasons, RmRebootReasonDetectedSelf);
    free(l);
    CloseHandle(self_file);
    self_file = INVALID_HANDLE_VALUE;
    expect_empty(h);
    free(f);
}

/* A holder that is also registered as a process appears once. */
static void test_file_and_process_listed_once(void **state)
{
    WCHAR *f = rmt_make_file(L"both.txt");
    DWORD h = rmt_start_tracked(NULL);
    struct rmt_child *c = spawn(FALSE, L"hold \"%ls\"", f);
    register_file(h, f);
    register_process(h, c->id);
    expect_only(h, c);
    free(f);
}

/* ------------------------------------------------------------------------------ */
/* Registered processes                                                             */

static void test_registered_process(void **state)
{
    DWORD h = rmt_start_tracked(NULL);
    struct rmt_child *c = spawn(FALSE, L"sleep");
    spawn(FALSE, L"sleep"); /* not registered */
    register_process(h, c->id);
    expect_only(h, c);
}

static void test_registered_process_wrong_start_time(void **state)
{
    DWORD h = rmt_start_tracked(NULL);
    struct rmt_child *c = spawn(FALSE, L"sleep");
    RM_UNIQUE_PROCESS wrong = c->id;
    wrong.ProcessStartTime.dwLowDateTime += 1;
    register_process(h, wrong);
    expect_empty(h);
    /* The right identity in a later group is found. */
    register_process(h, c->id);
    expect_only(h, c);
}

static void test_registered_process_exited(void **state)
{
    DWORD h = rmt_start_tracked(NULL), h2 = rmt_start_tracked(NULL);
    struct rmt_child *c = spawn(FALSE, L"sleep");
    RM_UNIQUE_PROCESS id = c->id;

    register_process(h, id);
    expect_only(h, c);
    /* It exits while registered. A handle of our own keeps its PID from being reused
     * (rmt_child_quit closes the child's). */
    own_process = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, c->pid);
    assert_non_null(own_process);
    assert_int_equal(rmt_child_quit(c, QUIT_TIMEOUT), ERROR_SUCCESS);
    assert_int_equal(WaitForSingleObject(own_process, 0), WAIT_OBJECT_0);
    expect_empty(h);
    /* Registered after it exited. */
    register_process(h2, id);
    expect_empty(h2);
}

static void test_registered_self(void **state)
{
    RM_UNIQUE_PROCESS me = rmt_self();
    RM_PROCESS_INFO *l;
    DWORD reasons, h = rmt_start_tracked(NULL);
    UINT n;

    register_process(h, me);
    n = get_all(h, &l, &reasons);
    assert_int_equal(n, 1);
    assert_int_equal(l[0].Process.dwProcessId, me.dwProcessId);
    assert_int_equal(l[0].ApplicationType, RmCritical);
    assert_false(l[0].bRestartable);
    assert_int_equal(reasons, RmRebootReasonDetectedSelf);
    free(l);
}

/* ------------------------------------------------------------------------------ */
/* Registered services                                                              */

static DWORD install_service(int which, const WCHAR *display, const WCHAR *args,
                             const WCHAR *dependencies)
{
    DWORD pid = 0, rc;
    rc = rmt_service_install(svc_names[which], display, args, dependencies, SERVICE_TIMEOUT, &pid);
    if (rc != ERROR_SUCCESS) fail_msg("installing service %ls failed: %lu", svc_names[which], rc);
    assert_int_not_equal(pid, 0);
    return pid;
}

static void check_service_entry(const RM_PROCESS_INFO *e, const WCHAR *name, const WCHAR *display,
                                DWORD pid)
{
    assert_non_null(e);
    assert_int_equal(e->Process.dwProcessId, pid);
    check_start_time_pid(e, pid);
    assert_int_equal(e->ApplicationType, RmService);
    if (_wcsicmp(e->strServiceShortName, name))
        fail_msg("strServiceShortName '%ls', expected '%ls'", e->strServiceShortName, name);
    if (wcscmp(e->strAppName, display))
        fail_msg("strAppName '%ls', expected '%ls'", e->strAppName, display);
    assert_true(e->bRestartable);
    assert_int_equal(e->AppStatus, RmStatusRunning);
}

static void test_service_registered(void **state)
{
    WCHAR args[128], display[128];
    RM_PROCESS_INFO *l;
    DWORD reasons, pid, h = rmt_start_tracked(NULL);
    UINT n;

    swprintf(args, 128, L"service %ls", svc_names[0]);
    swprintf(display, 128, L"RM test service A %lu", GetCurrentProcessId());
    pid = install_service(0, display, args, NULL);
    register_service(h, svc_names[0]);
    n = get_all(h, &l, &reasons);
    assert_int_equal(n, 1);
    check_service_entry(&l[0], svc_names[0], display, pid);
    assert_int_equal(reasons, RmRebootReasonNone);
    free(l);
}

/* TRUE when the SCM's configuration of service says it depends on dependency:
 * QueryServiceConfigW, or the DependOnService value the SCM keeps in the registry
 * (Wine 8 stores it there but QueryServiceConfigW returns an empty list, and
 * EnumDependentServicesW is a stub that reports none). */
static BOOL depends_on(const WCHAR *service, const WCHAR *dependency)
{
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT), svc;
    QUERY_SERVICE_CONFIGW *cfg = NULL;
    WCHAR key[160], list[512];
    DWORD size = 0;
    BOOL found = FALSE;
    const WCHAR *d;

    swprintf(key, ARRAYSIZE(key), L"System\\CurrentControlSet\\Services\\%ls", service);
    memset(list, 0, sizeof(list));
    size = sizeof(list) - 2 * sizeof(WCHAR);
    if (!RegGetValueW(HKEY_LOCAL_MACHINE, key, L"DependOnService", RRF_RT_REG_MULTI_SZ, NULL, list,
                      &size))
        for (d = list; *d; d += wcslen(d) + 1)
            if (!_wcsicmp(d, dependency)) found = TRUE;
    size = 0;

    if (!scm) return FALSE;
    if ((svc = OpenServiceW(scm, service, SERVICE_QUERY_CONFIG)))
    {
        QueryServiceConfigW(svc, NULL, 0, &size);
        if (size && (cfg = malloc(size)) && QueryServiceConfigW(svc, cfg, size, &size) &&
            cfg->lpDependencies)
            for (d = cfg->lpDependencies; *d; d += wcslen(d) + 1)
                if (!_wcsicmp(d, dependency)) found = TRUE;
        free(cfg);
        CloseServiceHandle(svc);
    }
    CloseServiceHandle(scm);
    return found;
}

static void test_service_dependents_listed(void **state)
{
    WCHAR args[128], display_a[128], display_b[128], deps[72];
    RM_PROCESS_INFO *l;
    DWORD reasons, pid_a, pid_b, h = rmt_start_tracked(NULL);
    UINT n;

    swprintf(args, 128, L"service %ls", svc_names[0]);
    swprintf(display_a, 128, L"RM test service A %lu", GetCurrentProcessId());
    pid_a = install_service(0, display_a, args, NULL);
    /* Dependencies: a double-NUL-terminated list. */
    memset(deps, 0, sizeof(deps));
    wcscpy(deps, svc_names[0]);
    swprintf(args, 128, L"service %ls", svc_names[1]);
    swprintf(display_b, 128, L"RM test service B %lu", GetCurrentProcessId());
    pid_b = install_service(1, display_b, args, deps);
    assert_int_not_equal(pid_a, pid_b);
    assert_true(depends_on(svc_names[1], svc_names[0])); /* the situation is what we think */

    register_service(h, svc_names[0]);
    n = get_all(h, &l, &reasons);
    assert_int_equal(n, 2);
    check_service_entry(rmt_find_pid(l, n, pid_a), svc_names[0], display_a, pid_a);
    check_service_entry(rmt_find_pid(l, n, pid_b), svc_names[1], display_b, pid_b);
    assert_int_equal(reasons, RmRebootReasonNone);
    free(l);
}

static void test_service_holding_file(void **state)
{
    WCHAR *f = rmt_make_file(L"service-held.txt");
    WCHAR args[MAX_PATH + 128], display[128];
    RM_PROCESS_INFO *l;
    DWORD reasons, pid, h = rmt_start_tracked(NULL);
    UINT n;

    swprintf(args, ARRAYSIZE(args), L"service %ls hold \"%ls\"", svc_names[0], f);
    swprintf(display, 128, L"RM test holding service %lu", GetCurrentProcessId());
    pid = install_service(0, display, args, NULL);
    register_file(h, f);
    n = get_all(h, &l, &reasons);
    assert_int_equal(n, 1);
    check_service_entry(&l[0], svc_names[0], display, pid);
    assert_int_equal(reasons, RmRebootReasonNone);
    free(l);
    free(f);
}

/* A display name of 256 characters (the SCM maximum) is cut to 255 plus NUL. */
static void test_service_long_display_name(void **state)
{
    WCHAR args[128], display[257];
    RM_PROCESS_INFO *l;
    DWORD reasons, pid, h = rmt_start_tracked(NULL);
    UINT n, i;

    for (i = 0; i < 256; i++) display[i] = L'A' + (WCHAR)(i % 26);
    display[256] = 0;
    swprintf(args, 128, L"service %ls", svc_names[0]);
    pid = install_service(0, display, args, NULL);
    register_service(h, svc_names[0]);
    n = get_all(h, &l, &reasons);
    assert_int_equal(n, 1);
    assert_int_equal(l[0].Process.dwProcessId, pid);
    assert_int_equal(l[0].ApplicationType, RmService);
    assert_int_equal(l[0].strAppName[CCH_RM_MAX_APP_NAME], 0);
    assert_int_equal(wcslen(l[0].strAppName), CCH_RM_MAX_APP_NAME);
    assert_int_equal(wcsncmp(l[0].strAppName, display, CCH_RM_MAX_APP_NAME), 0);
    free(l);
}

static void test_service_not_installed(void **state)
{
    DWORD h = rmt_start_tracked(NULL);
    register_service(h, svc_names[0]); /* never installed */
    expect_empty(h);
}

/* ------------------------------------------------------------------------------ */

static void test_our_dll(void **state)
{
    rmt_assert_our_dll();
}

#define T(f) cmocka_unit_test_teardown(f, teardown)
#define TS(f) cmocka_unit_test_setup_teardown(f, svc_setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_our_dll),
        T(test_null_out_pointers),
        T(test_capacity_with_null_array),
        T(test_invalid_handle),
        T(test_bad_arguments_before_handle),
        T(test_secondary_denied),
        T(test_nothing_registered),
        T(test_size_probe),
        T(test_buffer_too_small),
        T(test_one_variable_for_both_counts),
        T(test_outputs_inside_the_array),
        T(test_exact_buffer),
        T(test_sdk_sample_loop),
        T(test_inno_grow_loop),
        T(test_list_recomputed_per_call),
        T(test_holders_exiting_between_scans),
        T(test_holder_share_none),
        T(test_holder_share_r),
        T(test_holder_share_rw),
        T(test_holder_share_rwd),
        T(test_unheld_file),
        T(test_nonexistent_file),
        T(test_replaced_file_is_the_new_file),
        T(test_file_created_after_registration),
        T(test_directory_access_denied),
        T(test_directory_with_held_file_access_denied),
        T(test_two_spellings_listed_once),
        T(test_three_files_listed_once),
        T(test_loaded_dll),
        T(test_loaded_dll_renamed_away),
        T(test_loaded_dll_other_spelling),
        T(test_loaded_system_dll),
        T(test_file_mapped_as_data),
        T(test_file_mapped_other_spelling),
        T(test_exe_image),
        T(test_self_holds_file),
        T(test_file_and_process_listed_once),
        T(test_registered_process),
        T(test_registered_process_wrong_start_time),
        T(test_registered_process_exited),
        T(test_registered_self),
        TS(test_service_registered),
        TS(test_service_dependents_listed),
        TS(test_service_holding_file),
        TS(test_service_long_display_name),
        TS(test_service_not_installed),
    };
    int failed;
    rmt_init();
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    rmt_cleanup();
    return failed;
}
