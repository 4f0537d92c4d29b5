/*
 * test_which_dll.c - runs first: proves the rstrtmgr.dll under test is this
 * project's, not Wine's builtin stub (which would let many tests pass by accident:
 * it "succeeds" with handle 0xDEADBEEF and never writes the key). In conformance
 * mode it proves instead that the DLL under test is the one the run asked for.
 */
#include "rmtest.h"
#include <stdio.h>

static void test_loaded_dll_is_ours(void **state)
{
    char reason[512];
    BOOL ok;
    (void)state;
    /* In conformance mode (tests/conformance.cmake) the DLL under test is another
     * one on purpose: it must be the one that run asked for. */
    ok = rmt_conformance() ? rmt_is_requested_dll(reason, sizeof(reason)) : rmt_is_our_dll(reason, sizeof(reason));
    printf("# rstrtmgr.dll under test: %s\n", reason);
    assert_true(ok);
}

static void test_start_session_writes_key(void **state)
{
    WCHAR key[CCH_RM_SESSION_KEY + 1];
    DWORD h = SENTINEL;
    int i;
    (void)state;

    /* The builtin stub returns 0xDEADBEEF and leaves the key untouched. */
    wmemset(key, L'#', CCH_RM_SESSION_KEY + 1);
    assert_int_equal(RmStartSession(&h, 0, key), ERROR_SUCCESS);
    assert_true(h != 0xDEADBEEF && h < 64 * 64);
    for (i = 0; i < (int)CCH_RM_SESSION_KEY; i++) assert_true(iswxdigit(key[i]));
    assert_int_equal(key[CCH_RM_SESSION_KEY], 0);
    assert_int_equal(RmEndSession(h), ERROR_SUCCESS);
    /* Ended handles are invalid; the stub says success. */
    assert_int_equal(RmEndSession(h), ERROR_INVALID_HANDLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loaded_dll_is_ours),
        cmocka_unit_test(test_start_session_writes_key),
    };
    rmt_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
