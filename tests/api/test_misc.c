/*
 * test_misc.c - the small functions and cross-cutting rules: RmReserveHeap,
 * RmCancelCurrentTask with nothing running, reserved flags, argument checks made
 * before the handle check, RmRestart before RmShutdown, and no handle leaks over
 * many session cycles.
 */
#include "rmtest.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYBUF (CCH_RM_SESSION_KEY + 1)

/* ---- RmReserveHeap ----------------------------------------------------------------- */

static void test_reserve_heap(void **state)
{
    int local;
    (void)state;
    assert_int_equal(RmReserveHeap(0), ERROR_SUCCESS);
    assert_int_equal(RmReserveHeap((ULONG_PTR)-1), ERROR_SUCCESS);
    assert_int_equal(RmReserveHeap(1), ERROR_SUCCESS);
    assert_int_equal(RmReserveHeap((ULONG_PTR)&local), ERROR_SUCCESS);
    assert_int_equal(RmReserveHeap(0x7FFFFFFF), ERROR_SUCCESS);
}

/* RmGetList's NULL-pointer and count-without-array cases on h: 160 each, and
 * nothing written to the outputs. */
static void expect_getlist_bad_args(DWORD h, UINT count)
{
    UINT n = 0, needed = SENTINEL;
    DWORD reasons = SENTINEL;

    assert_int_equal(RmGetList(h, NULL, &n, NULL, &reasons), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmGetList(h, &needed, NULL, NULL, &reasons), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmGetList(h, &needed, &n, NULL, NULL), ERROR_BAD_ARGUMENTS);
    n = count;
    assert_int_equal(RmGetList(h, &needed, &n, NULL, &reasons), ERROR_BAD_ARGUMENTS);
    assert_int_equal(needed, SENTINEL);
    assert_int_equal(n, count);
    assert_int_equal(reasons, SENTINEL);
}

/* ---- RmCancelCurrentTask ------------------------------------------------------------ */

static void test_cancel_with_nothing_running(void **state)
{
    WCHAR key[KEYBUF];
    RM_UNIQUE_PROCESS self = rmt_self();
    UINT needed, n;
    DWORD h, reasons, r;
    (void)state;

    h = rmt_start_tracked(key);
    assert_int_equal(RmCancelCurrentTask(h), ERROR_SUCCESS);
    assert_int_equal(RmCancelCurrentTask(h), ERROR_SUCCESS);

    /* No effect: the next operation runs normally, it is not cancelled. */
    assert_int_equal(RmRegisterResources(h, 0, NULL, 1, &self, 0, NULL), ERROR_SUCCESS);
    needed = SENTINEL;
    n = 0;
    reasons = SENTINEL;
    r = RmGetList(h, &needed, &n, NULL, &reasons);
    /* Not ERROR_CANCELLED: whatever the list holds, the call ran. */
    assert_true(r == ERROR_SUCCESS || r == ERROR_MORE_DATA);
    assert_int_not_equal(needed, SENTINEL);
    assert_int_not_equal(reasons, SENTINEL);
    assert_int_equal(RmCancelCurrentTask(h), ERROR_SUCCESS);
    {
        RM_PROCESS_INFO *apps = calloc(needed + 4, sizeof(*apps));
        UINT cap = needed + 4;
        assert_non_null(apps);
        n = cap;
        assert_int_equal(RmGetList(h, &needed, &n, apps, &reasons), ERROR_SUCCESS);
        assert_true(n >= 1);
        free(apps);
    }
    rmt_end_ok(h);
}

/* ---- reserved flags -------------------------------------------------------------------- */

static void test_reserved_flags(void **state)
{
    WCHAR key[KEYBUF];
    ULONG bad_shutdown[] = { 0x2, 0x4, 0x8, 0x20, 0x100, 0x80000000u, RmForceShutdown | 0x2,
                             RmShutdownOnlyRegistered | 0x40000000u };
    DWORD bad_restart[] = { 1, 2, 0x80000000u, 0xFFFFFFFFu };
    DWORD h;
    int i;
    (void)state;

    h = rmt_start_tracked(key);
    for (i = 0; i < (int)ARRAYSIZE(bad_shutdown); i++)
        assert_int_equal(RmShutdown(h, bad_shutdown[i], NULL), ERROR_BAD_ARGUMENTS);
    for (i = 0; i < (int)ARRAYSIZE(bad_restart); i++)
        assert_int_equal(RmRestart(h, bad_restart[i], NULL), ERROR_BAD_ARGUMENTS);
    /* RmRestart before any RmShutdown is out of sequence. */
    assert_int_equal(RmRestart(h, 0, NULL), ERROR_REQUEST_OUT_OF_SEQUENCE);
    rmt_end_ok(h);
}

/* ---- argument checks come before the handle check ----------------------------------- */

static void test_arguments_before_handle(void **state)
{
    static const DWORD bad_handles[] = { 12345, 0xFFFFFFFFu };
    RM_UNIQUE_PROCESS self = rmt_self();
    DWORD cb;
    int i;
    (void)state;

    for (i = 0; i < (int)ARRAYSIZE(bad_handles); i++)
    {
        DWORD h = bad_handles[i];

        assert_int_equal(RmRegisterResources(h, 1, NULL, 0, NULL, 0, NULL), ERROR_BAD_ARGUMENTS);
        assert_int_equal(RmRegisterResources(h, 0, NULL, 2, NULL, 0, NULL), ERROR_BAD_ARGUMENTS);
        assert_int_equal(RmRegisterResources(h, 0, NULL, 0, NULL, 3, NULL), ERROR_BAD_ARGUMENTS);

        expect_getlist_bad_args(h, 1);

        assert_int_equal(RmShutdown(h, 0x2, NULL), ERROR_BAD_ARGUMENTS);
        assert_int_equal(RmRestart(h, 1, NULL), ERROR_BAD_ARGUMENTS);

        assert_int_equal(RmAddFilter(h, NULL, NULL, NULL, RmNoRestart), ERROR_BAD_ARGUMENTS);
        assert_int_equal(RmAddFilter(h, NULL, &self, L"Svc", RmNoRestart), ERROR_BAD_ARGUMENTS);
        assert_int_equal(RmAddFilter(h, NULL, &self, NULL, RmInvalidFilterAction), ERROR_BAD_ARGUMENTS);
        assert_int_equal(RmAddFilter(h, NULL, NULL, L"Svc", (RM_FILTER_ACTION)3), ERROR_BAD_ARGUMENTS);
        assert_int_equal(RmAddFilter(h, NULL, NULL, L"", RmNoRestart), ERROR_BAD_ARGUMENTS);
        assert_int_equal(RmRemoveFilter(h, NULL, NULL, NULL), ERROR_BAD_ARGUMENTS);
        assert_int_equal(RmRemoveFilter(h, L"C:\\a.exe", &self, NULL), ERROR_BAD_ARGUMENTS);

        cb = SENTINEL;
        assert_int_equal(RmGetFilterList(h, NULL, 0, NULL), ERROR_BAD_ARGUMENTS);
        assert_int_equal(RmGetFilterList(h, NULL, 8, &cb), ERROR_BAD_ARGUMENTS);
        assert_int_equal(cb, SENTINEL);
    }
}

/* The same bad arguments on a valid handle: 160, outputs untouched. */
static void test_bad_arguments_valid_handle(void **state)
{
    WCHAR key[KEYBUF];
    UINT needed, n;
    DWORD h, reasons;
    (void)state;

    h = rmt_start_tracked(key);
    expect_getlist_bad_args(h, 3);
    /* And the good call works. */
    n = 0;
    assert_int_equal(RmGetList(h, &needed, &n, NULL, &reasons), ERROR_SUCCESS);
    assert_int_equal(needed, 0);
    assert_int_equal(n, 0);
    assert_int_equal(reasons, 0);
    rmt_end_ok(h);
}

/* ---- handle leaks ------------------------------------------------------------------------ */

static void cycle(const WCHAR *file, BOOL with_join)
{
    WCHAR key[KEYBUF];
    LPCWSTR files[1] = { file }, svcs[1] = { L"RmTestLeakSvc" };
    RM_UNIQUE_PROCESS self = rmt_self();
    UINT needed, n = 0;
    DWORD h, hs = SENTINEL, reasons, cb = 0, r;

    h = rmt_start_tracked(key);
    assert_int_equal(RmRegisterResources(h, 1, files, 1, &self, 1, svcs), ERROR_SUCCESS);
    if (with_join)
    {
        assert_int_equal(RmJoinSession(&hs, key), ERROR_SUCCESS);
        assert_int_equal(RmRegisterResources(hs, 0, NULL, 0, NULL, 1, svcs), ERROR_SUCCESS);
        assert_int_equal(RmEndSession(hs), ERROR_SUCCESS);
    }
    r = RmGetList(h, &needed, &n, NULL, &reasons);
    assert_true(r == ERROR_SUCCESS || r == ERROR_MORE_DATA);
    assert_int_equal(RmAddFilter(h, NULL, NULL, L"RmTestLeakSvc", RmNoRestart), ERROR_SUCCESS);
    assert_int_equal(RmGetFilterList(h, NULL, 0, &cb), ERROR_MORE_DATA);
    rmt_end_ok(h);
}

static void test_no_handle_leak(void **state)
{
    WCHAR *file = rmt_make_file(L"leak.txt");
    HANDLE probe[10];
    DWORD before, after;
    int i;
    (void)state;

    /* The counter must see handles come and go, or the check below proves nothing. */
    before = rmt_handle_count();
    for (i = 0; i < 10; i++) probe[i] = CreateEventW(NULL, FALSE, FALSE, NULL);
    after = rmt_handle_count();
    for (i = 0; i < 10; i++) CloseHandle(probe[i]);
    printf("# handle counter: %lu, %lu with 10 more\n", before, after);
    assert_true(before > 0);
    assert_int_equal(after, before + 10);

    cycle(file, TRUE);   /* warm-up: one-time objects (store mutex, caches) */
    before = rmt_handle_count();
    for (i = 0; i < 200; i++) cycle(file, FALSE);
    after = rmt_handle_count();
    printf("# handles: %lu before, %lu after 200 start/register/end cycles\n", before, after);
    assert_true(after <= before + 5);

    before = rmt_handle_count();
    for (i = 0; i < 100; i++) cycle(file, TRUE);
    after = rmt_handle_count();
    printf("# handles: %lu before, %lu after 100 cycles with a join\n", before, after);
    assert_true(after <= before + 5);
    free(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reserve_heap),
        cmocka_unit_test_teardown(test_cancel_with_nothing_running, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_reserved_flags, rmt_teardown_sessions),
        cmocka_unit_test(test_arguments_before_handle),
        cmocka_unit_test_teardown(test_bad_arguments_valid_handle, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_no_handle_leak, rmt_teardown_sessions),
    };
    return rmt_run_tests(tests);
}
