/*
 * test_store.c - the per-user session store when its registry data is damaged or a
 * registry call fails: a corrupt Owner (the slot counts as abandoned), a corrupt
 * registration group or Sequence (ERROR_WRITE_FAULT, bounded, no crash), and
 * injected registry failures in a secondary (helper process): nothing half-written.
 *
 * Every test repairs what it damaged: sessions are ended and any SessionNNNN key a
 * test corrupted and could not end is deleted, so later tests start clean.
 */
#include "rmtest.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if __has_include("rmspawn.h")
#include "rmspawn.h"
#define HAVE_RMSPAWN 1
#endif

#define KEYBUF (CCH_RM_SESSION_KEY + 1)
#define HANG_LIMIT_MS rmt_timeout(30000)

/* ---- sessions this program opened (ended by the teardown if a test failed) ---- */

static int damaged[RMT_NSLOTS];   /* slots this test corrupted: deleted by the teardown */

static DWORD start(WCHAR key[KEYBUF])
{
    DWORD h = rmt_start_tracked(key);
    assert_true(h < 2 * RMT_NSLOTS);
    return h;
}

static void delete_slot(DWORD slot)
{
    WCHAR path[128];
    rmt_slot_path(path, ARRAYSIZE(path), slot);
    RegDeleteTreeW(HKEY_CURRENT_USER, path);
    RegDeleteKeyW(HKEY_CURRENT_USER, path);
}

static int teardown_end_all(void **state)
{
    int s;
    (void)state;
    rmt_end_all();
    for (s = 0; s < RMT_NSLOTS; s++)
        if (damaged[s])
        {
            /* Only if no live session of another process took it over meanwhile. */
            delete_slot(s);
            damaged[s] = 0;
        }
    return 0;
}

/* ---- the store as the registry shows it ------------------------------------------ */

static void set_value(DWORD slot, const WCHAR *name, DWORD type, const void *data, DWORD cb)
{
    HKEY k = rmt_open_slot(slot, KEY_SET_VALUE);
    assert_non_null(k);
    assert_int_equal(RegSetValueExW(k, name, 0, type, data, cb), ERROR_SUCCESS);
    RegCloseKey(k);
}

static void delete_value(DWORD slot, const WCHAR *name)
{
    HKEY k = rmt_open_slot(slot, KEY_SET_VALUE);
    assert_non_null(k);
    assert_int_equal(RegDeleteValueW(k, name), ERROR_SUCCESS);
    RegCloseKey(k);
}

static BOOL owner_is_self(DWORD slot)
{
    RM_UNIQUE_PROCESS owner, self = rmt_self();
    DWORD type = 0, cb = sizeof(owner);
    HKEY k = rmt_open_slot(slot, KEY_READ);
    LSTATUS st;
    if (!k) return FALSE;
    st = RegQueryValueExW(k, L"Owner", NULL, &type, (BYTE *)&owner, &cb);
    RegCloseKey(k);
    return !st && type == REG_BINARY && cb == sizeof(owner) && !memcmp(&owner, &self, sizeof(self));
}

/* Registers one file in h; returns the result. */
static DWORD register_file(DWORD h, const WCHAR *name)
{
    WCHAR *p = rmt_path(name);
    LPCWSTR files[1] = { p };
    DWORD r = RmRegisterResources(h, 1, files, 0, NULL, 0, NULL);
    free(p);
    return r;
}

static DWORD get_list(DWORD h)
{
    UINT needed = SENTINEL, n = 0;
    DWORD reasons = SENTINEL;
    return RmGetList(h, &needed, &n, NULL, &reasons);
}

static const char *either(DWORD r)
{
    return r == ERROR_SUCCESS ? "keeps working (0)"
         : r == ERROR_INVALID_HANDLE ? "ERROR_INVALID_HANDLE (6)" : "UNEXPECTED";
}

/* ---- a corrupt Owner ----------------------------------------------------------------- */

enum owner_damage { OWNER_DWORD, OWNER_SHORT, OWNER_LONG, OWNER_SZ, OWNER_MISSING, OWNER_DEAD };

static void corrupt_owner(DWORD slot, enum owner_damage d)
{
    RM_UNIQUE_PROCESS dead = rmt_self();
    BYTE bytes[16];
    DWORD dw = GetCurrentProcessId();

    memset(bytes, 0, sizeof(bytes));
    memcpy(bytes, &dead, sizeof(dead));
    switch (d)
    {
    case OWNER_DWORD: set_value(slot, L"Owner", REG_DWORD, &dw, sizeof(dw)); break;
    case OWNER_SHORT: set_value(slot, L"Owner", REG_BINARY, bytes, 8); break;
    case OWNER_LONG: set_value(slot, L"Owner", REG_BINARY, bytes, 16); break;
    case OWNER_SZ: set_value(slot, L"Owner", REG_SZ, L"owner", 12); break;
    case OWNER_MISSING: delete_value(slot, L"Owner"); break;
    case OWNER_DEAD:
        /* Right shape, but no such process: this PID with another creation time. */
        dead.ProcessStartTime.dwLowDateTime ^= 0x5a5a;
        set_value(slot, L"Owner", REG_BINARY, &dead, sizeof(dead));
        break;
    }
}

static void check_corrupt_owner(enum owner_damage d, const char *what)
{
    WCHAR ka[KEYBUF], kb[KEYBUF], kc[KEYBUF];
    DWORD a, b, c, r1, r2, r3, cb, predicted;
    int i;

    a = start(ka);
    b = start(kb);
    assert_int_equal(register_file(a, L"owner-a1.txt"), ERROR_SUCCESS);
    damaged[a] = 1;
    corrupt_owner(a, d);

    /* The primary's own calls: either still valid or an invalid handle, never a crash. */
    r1 = register_file(a, L"owner-a2.txt");
    r2 = get_list(a);
    cb = SENTINEL;
    r3 = RmGetFilterList(a, NULL, 0, &cb);
    printf("# Owner %s: primary's RmRegisterResources %s, RmGetList %s, RmGetFilterList %s\n", what,
           either(r1), either(r2), either(r3));
    assert_true(r1 == ERROR_SUCCESS || r1 == ERROR_INVALID_HANDLE);
    assert_true(r2 == ERROR_SUCCESS || r2 == ERROR_INVALID_HANDLE);
    assert_true(r3 == ERROR_SUCCESS || r3 == ERROR_INVALID_HANDLE);

    /* Another session is unaffected. */
    assert_int_equal(register_file(b, L"owner-b.txt"), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(b), 1);
    assert_true(owner_is_self(b));
    assert_int_equal(get_list(b), ERROR_SUCCESS);

    /* The slot counts as abandoned: the next start takes the lowest free slot,
     * which is this one if nothing lower is free. */
    predicted = (DWORD)rmt_lowest_free_slot();
    printf("# next start predicted in slot %lu (damaged slot %lu)\n", predicted, a);
    c = start(kc);
    assert_int_equal(c % RMT_NSLOTS, predicted);
    if (predicted == a)
    {
        damaged[a] = 0;
        /* Taken over: a fresh session, nothing of the old one left. */
        assert_true(owner_is_self(a));
        assert_int_equal(rmt_commits_end(a), 0);
        assert_false(rmt_value_exists(a, L"RegFiles0000"));
        assert_int_not_equal(c, a);   /* the old handle is still in this process */
        /* The old primary handle no longer names the slot's session. */
        assert_int_equal(register_file(a, L"owner-a3.txt"), ERROR_INVALID_HANDLE);
        assert_int_equal(rmt_commits_end(a), 0);
        assert_int_equal(get_list(a), ERROR_INVALID_HANDLE);
        /* And the new one works. */
        assert_int_equal(register_file(c, L"owner-c.txt"), ERROR_SUCCESS);
        assert_int_equal(rmt_commits_end(a), 1);
    }

    /* Ending the damaged primary: 0 or 6, and it must not end anybody else's session. */
    r1 = RmEndSession(a);
    printf("# RmEndSession on the damaged primary: %lu\n", r1);
    assert_true(r1 == ERROR_SUCCESS || r1 == ERROR_INVALID_HANDLE);
    rmt_untrack(a);
    assert_true(rmt_slot_exists(b));
    assert_true(rmt_slot_exists(c % RMT_NSLOTS));
    assert_int_equal(register_file(c, L"owner-c2.txt"), ERROR_SUCCESS);
    assert_int_equal(register_file(b, L"owner-b2.txt"), ERROR_SUCCESS);

    rmt_end_ok(c);
    rmt_end_ok(b);
    assert_false(rmt_slot_exists(b));
    assert_false(rmt_slot_exists(c % RMT_NSLOTS));
    if (predicted != a)
    {
        /* Not taken over: ending the primary removed it, or the teardown will. */
        if (rmt_slot_exists(a)) printf("# damaged slot %lu survived its primary's RmEndSession\n", a);
    }
    else
        assert_false(rmt_slot_exists(a));
    for (i = 0; i < RMT_NSLOTS; i++)
        if (damaged[i]) delete_slot(i), damaged[i] = 0;
}

static void test_owner_wrong_type(void **state) { (void)state; check_corrupt_owner(OWNER_DWORD, "REG_DWORD"); }
static void test_owner_too_short(void **state) { (void)state; check_corrupt_owner(OWNER_SHORT, "8 bytes"); }
static void test_owner_too_long(void **state) { (void)state; check_corrupt_owner(OWNER_LONG, "16 bytes"); }
static void test_owner_string(void **state) { (void)state; check_corrupt_owner(OWNER_SZ, "REG_SZ"); }
static void test_owner_missing(void **state) { (void)state; check_corrupt_owner(OWNER_MISSING, "missing"); }
static void test_owner_dead(void **state) { (void)state; check_corrupt_owner(OWNER_DEAD, "dead process"); }

/* ---- a corrupt registration group ---------------------------------------------------- */

static void check_corrupt_group(const WCHAR *value, DWORD type, const void *data, DWORD cb, const char *what)
{
    WCHAR ka[KEYBUF], kb[KEYBUF];
    DWORD a, b, hs = SENTINEL, one = 1;

    a = start(ka);
    b = start(kb);
    /* As if another process had committed group 0, with a damaged value. */
    damaged[a] = 1;
    set_value(a, value, type, data, cb);
    set_value(a, L"Sequence", REG_DWORD, &one, sizeof(one));

    assert_int_equal(get_list(a), ERROR_WRITE_FAULT);
    assert_int_equal(register_file(a, L"group-a.txt"), ERROR_WRITE_FAULT);
    /* Nothing was added. */
    assert_int_equal(rmt_commits_end(a), 1);
    assert_false(rmt_value_exists(a, L"RegFiles0001"));
    assert_false(rmt_value_exists(a, L"RegProcs0001"));
    assert_false(rmt_value_exists(a, L"RegSvcs0001"));
    /* A secondary reads the same store and fails the same way. */
    assert_int_equal(RmJoinSession(&hs, ka), ERROR_SUCCESS);
    rmt_track(hs);
    assert_int_equal(register_file(hs, L"group-s.txt"), ERROR_WRITE_FAULT);
    assert_int_equal(rmt_commits_end(a), 1);
    rmt_end_ok(hs);
    printf("# %s: ERROR_WRITE_FAULT as expected\n", what);

    /* Another session works. */
    assert_int_equal(register_file(b, L"group-b.txt"), ERROR_SUCCESS);
    assert_int_equal(get_list(b), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(b), 1);

    /* The damaged session can still be ended, which removes it. */
    rmt_end_ok(a);
    assert_false(rmt_slot_exists(a));
    damaged[a] = 0;
    rmt_end_ok(b);
    assert_false(rmt_slot_exists(b));
    damaged[b] = 0;
}

static void test_regfiles_wrong_type(void **state)
{
    DWORD dw = 1;
    (void)state;
    check_corrupt_group(L"RegFiles0000", REG_DWORD, &dw, sizeof(dw), "RegFiles0000 as REG_DWORD");
}

static void test_regfiles_binary(void **state)
{
    static const WCHAR text[] = L"C:\\x.txt\0";
    (void)state;
    check_corrupt_group(L"RegFiles0000", REG_BINARY, text, sizeof(text), "RegFiles0000 as REG_BINARY");
}

static void test_regsvcs_wrong_type(void **state)
{
    static const WCHAR text[] = L"Spooler";
    (void)state;
    check_corrupt_group(L"RegSvcs0000", REG_SZ, text, sizeof(text), "RegSvcs0000 as REG_SZ");
}

/* ---- a damaged Sequence ----------------------------------------------------------------- */

struct call
{
    DWORD handle;
    int which;        /* 0 register, 1 get list */
    DWORD result;
};

static DWORD WINAPI call_thread(void *param)
{
    struct call *c = param;
    c->result = c->which ? get_list(c->handle) : register_file(c->handle, L"sequence.txt");
    return 0;
}

/* Runs the call on a thread with a time limit. On a hang the thread is terminated,
 * the session (whose lock the dead thread holds) is abandoned without RmEndSession,
 * its key deleted, and the test fails. */
static DWORD bounded_call(DWORD h, int which, const char *what)
{
    struct call c = { h, which, SENTINEL };
    HANDLE t = CreateThread(NULL, 0, call_thread, &c, 0, NULL);
    DWORD w, t0 = GetTickCount();

    assert_non_null(t);
    w = WaitForSingleObject(t, HANG_LIMIT_MS);
    if (w != WAIT_OBJECT_0)
    {
        TerminateThread(t, 1);
        WaitForSingleObject(t, rmt_timeout(5000));
        CloseHandle(t);
        rmt_untrack(h);
        delete_slot(h % RMT_NSLOTS);
        damaged[h % RMT_NSLOTS] = 0;
        fail_msg("%s with %s did not return within %lu ms (hang)", which ? "RmGetList" : "RmRegisterResources",
                 what, HANG_LIMIT_MS);
    }
    CloseHandle(t);
    printf("# %s with %s: %lu after %lu ms\n", which ? "RmGetList" : "RmRegisterResources", what, c.result,
           GetTickCount() - t0);
    return c.result;
}

static void damage_sequence(DWORD slot, DWORD type, const void *data, DWORD cb, BOOL remove)
{
    damaged[slot] = 1;
    if (remove) delete_value(slot, L"Sequence");
    else set_value(slot, L"Sequence", type, data, cb);
}

/* The damage is found by the first reader: RmGetList fails with ERROR_WRITE_FAULT,
 * and so does every registration after it (the store's commit board no longer
 * vouches for the slot: src/store.c), adding nothing. A registration made before
 * any reader looked is the other order: the writer knows where the slot's commits
 * end from the board and commits without reading or writing Sequence (README,
 * Choices); the next reader then finds the damage, and from there it is the
 * first case. Never a hang or a crash either way. */
static void check_bad_sequence(DWORD type, const void *data, DWORD cb, BOOL remove, const char *what)
{
    WCHAR ka[KEYBUF], kb[KEYBUF], *v;
    DWORD a, b, t;

    a = start(ka);
    b = start(kb);
    damage_sequence(a, type, data, cb, remove);
    assert_int_equal(bounded_call(a, 1, what), ERROR_WRITE_FAULT);
    assert_int_equal(bounded_call(a, 0, what), ERROR_WRITE_FAULT);
    assert_int_equal(bounded_call(a, 1, what), ERROR_WRITE_FAULT);
    assert_false(rmt_value_exists(a, L"RegFiles0000"));

    /* Registered first: committed past the damage, which the next reader finds. */
    damage_sequence(b, type, data, cb, remove);
    assert_int_equal(bounded_call(b, 0, what), ERROR_SUCCESS);
    assert_non_null(v = rmt_read_value(b, L"RegFiles0000", &t));
    assert_non_null(wcsstr(v, L"sequence.txt"));
    free(v);
    assert_int_equal(bounded_call(b, 1, what), ERROR_WRITE_FAULT);
    assert_int_equal(register_file(b, L"sequence-b.txt"), ERROR_WRITE_FAULT);
    assert_false(rmt_value_exists(b, L"RegFiles0001"));

    rmt_end_ok(a);
    assert_false(rmt_slot_exists(a));
    damaged[a] = 0;
    rmt_end_ok(b);
    assert_false(rmt_slot_exists(b));
    damaged[b] = 0;
}

static void test_sequence_huge(void **state)
{
    DWORD values[] = { 0xFFFFFFFFu, 0x80000000u, 10000000u };
    char what[64];
    int i;
    (void)state;
    for (i = 0; i < (int)ARRAYSIZE(values); i++)
    {
        snprintf(what, sizeof(what), "Sequence = %lu", values[i]);
        check_bad_sequence(REG_DWORD, &values[i], sizeof(DWORD), FALSE, what);
    }
}

static void test_sequence_wrong_shape(void **state)
{
    static const WCHAR text[] = L"1";
    ULONGLONG q = 1;
    (void)state;
    check_bad_sequence(REG_SZ, text, sizeof(text), FALSE, "Sequence as REG_SZ");
    check_bad_sequence(REG_QWORD, &q, sizeof(q), FALSE, "Sequence as REG_QWORD");
    check_bad_sequence(REG_DWORD, NULL, 0, TRUE, "Sequence missing");
}

/* ---- injected registry failures in a secondary (helper process) ---------------------- */

#ifdef HAVE_RMSPAWN
/* Runs "rmhelper join KEY [--svc NAME] FILE" with RSTRTMGR_FAULT=fault; returns its
 * exit code and checks from its record that the join worked. */
static DWORD join_with_fault(const WCHAR *fault, const WCHAR *key, const WCHAR *file, BOOL with_svc)
{
    struct rmt_child c;
    WCHAR *rec = rmt_path(L"fault-record.txt"), args[1024];
    DWORD err, code;
    char *text;

    DeleteFileW(rec);
    swprintf(args, ARRAYSIZE(args), L"--record \"%ls\" join %ls %ls \"%ls\"", rec, key,
             with_svc ? L"--svc RmFaultSvc" : L"", file);
    assert_true(SetEnvironmentVariableW(L"RSTRTMGR_FAULT", fault));
    err = rmt_spawn_ex(FALSE, args, 0, FALSE, 10000, &c);
    SetEnvironmentVariableW(L"RSTRTMGR_FAULT", NULL);
    assert_int_equal(err, ERROR_SUCCESS);
    code = rmt_child_wait(&c, rmt_timeout(20000));
    text = rmt_read_record(rec);
    printf("# RSTRTMGR_FAULT=%ls: helper exit %lu, record: %s", fault, code, text);
    if (!strstr(text, "JOIN 0")) fail_msg("the helper's join failed: %s", text);
    free(text);
    DeleteFileW(rec);
    free(rec);
    return code;
}

/* A secondary's registration fails at a registry write (with_svc: a file and a
 * service, two groups: the service's under number 1, written first, then the
 * file's under 0, the commit point). Nothing is committed; a group the failed
 * call could not take back (orphan_possible) stays past number 0, where no reader
 * looks, and the primary's next registration clears it (the failure made the
 * commit board forget the slot, src/store.c). */
static void check_fault(const WCHAR *fault, BOOL with_svc, BOOL orphan_possible)
{
    WCHAR key[KEYBUF];
    WCHAR *f1 = rmt_path(L"fault-one.txt"), *f2 = rmt_path(L"fault-two.txt");
    LPCWSTR files[1] = { f2 };
    DWORD h;
    HKEY k;
    WCHAR data[512];
    DWORD type, cb;

    h = start(key);
    assert_int_equal(join_with_fault(fault, key, f1, with_svc), ERROR_WRITE_FAULT);
    /* Nothing committed. */
    assert_int_equal(rmt_commits_end(h), 0);
    assert_false(rmt_value_exists(h, L"RegFiles0000"));
    assert_false(rmt_value_exists(h, L"RegProcs0000"));
    assert_false(rmt_value_exists(h, L"RegSvcs0000"));
    if (!orphan_possible) assert_false(rmt_value_exists(h, L"RegSvcs0001"));
    else printf("# left behind past the end: RegSvcs0001 %s\n",
                rmt_value_exists(h, L"RegSvcs0001") ? "present" : "absent");
    assert_int_equal(get_list(h), ERROR_SUCCESS);

    /* The session works, and what the failed call may have left is not part of it. */
    assert_int_equal(RmRegisterResources(h, 1, files, 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(h), 1);
    assert_false(rmt_value_exists(h, L"RegSvcs0001"));
    k = rmt_open_slot(h, KEY_READ);
    assert_non_null(k);
    memset(data, 0, sizeof(data));
    cb = sizeof(data) - 2 * sizeof(WCHAR);
    assert_int_equal(RegQueryValueExW(k, L"RegFiles0000", NULL, &type, (BYTE *)data, &cb), ERROR_SUCCESS);
    RegCloseKey(k);
    assert_int_equal(type, REG_MULTI_SZ);
    /* Exactly one entry: fault-two.txt. */
    assert_non_null(wcsstr(data, L"fault-two.txt"));
    assert_int_equal(data[wcslen(data) + 1], 0);
    assert_int_equal(get_list(h), ERROR_SUCCESS);
    rmt_end_ok(h);
    free(f1);
    free(f2);
}

static void test_fault_set_value_first(void **state) { (void)state; check_fault(L"RegSetValueExW:1", FALSE, FALSE); }
/* Two groups: the second write, the commit point, fails; the first is taken back. */
static void test_fault_set_value_commit(void **state) { (void)state; check_fault(L"RegSetValueExW:2", TRUE, FALSE); }
static void test_fault_set_value_all(void **state) { (void)state; check_fault(L"RegSetValueExW:1+", TRUE, FALSE); }
/* The commit point's write fails and so does the rollback's delete: the service
 * group written before it cannot be removed; it must still never count as
 * registered, and goes with the next commit. (A registration on a slot the
 * commit board knows deletes nothing, so a delete fault alone fails nothing:
 * src/store.c.) */
static void test_fault_delete_value(void **state)
{
    (void)state;
    check_fault(L"RegSetValueExW:2,RegDeleteValueW:1", TRUE, TRUE);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_owner_wrong_type, teardown_end_all),
        cmocka_unit_test_teardown(test_owner_too_short, teardown_end_all),
        cmocka_unit_test_teardown(test_owner_too_long, teardown_end_all),
        cmocka_unit_test_teardown(test_owner_string, teardown_end_all),
        cmocka_unit_test_teardown(test_owner_missing, teardown_end_all),
        cmocka_unit_test_teardown(test_owner_dead, teardown_end_all),
        cmocka_unit_test_teardown(test_regfiles_wrong_type, teardown_end_all),
        cmocka_unit_test_teardown(test_regfiles_binary, teardown_end_all),
        cmocka_unit_test_teardown(test_regsvcs_wrong_type, teardown_end_all),
#ifdef HAVE_RMSPAWN
        cmocka_unit_test_teardown(test_fault_set_value_first, teardown_end_all),
        cmocka_unit_test_teardown(test_fault_set_value_commit, teardown_end_all),
        cmocka_unit_test_teardown(test_fault_set_value_all, teardown_end_all),
        cmocka_unit_test_teardown(test_fault_delete_value, teardown_end_all),
#endif
        cmocka_unit_test_teardown(test_sequence_wrong_shape, teardown_end_all),
        /* Last: a hang here abandons a session object inside this process. */
        cmocka_unit_test_teardown(test_sequence_huge, teardown_end_all),
    };
    return rmt_run_tests_fault_free(tests);
}
