/*
 * test_faults.c - failures in the middle of things: a primary killed while its
 * session is open (the slot is reclaimed, the 64 limit is not reduced), a secondary
 * killed in the middle of a large registration (all of a batch or none of it), store
 * damage test_store.c does not cover (SessionHash, malformed entries, uncommitted
 * leftovers, foreign keys), registry failures injected with RSTRTMGR_FAULT in
 * RmStartSession, RmRegisterResources and RmEndSession (ERROR_WRITE_FAULT, nothing
 * half-written), and processes that exit while RmGetList looks at them.
 *
 * Spec: 4 (items 2, 8, 9), 5.1-5.5, 3 (error codes), 9 (the store); the store's own
 * format and its all-or-nothing rule are documented at the top of src/store.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "rmtest.h"
#include "rmspawn.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYBUF (CCH_RM_SESSION_KEY + 1)

/* ---- the store as the registry shows it ------------------------------------------- */

static void delete_slot(DWORD slot)
{
    WCHAR path[128];
    rmt_slot_path(path, ARRAYSIZE(path), slot);
    RegDeleteTreeW(HKEY_CURRENT_USER, path);
    RegDeleteKeyW(HKEY_CURRENT_USER, path);
}

static void set_value(DWORD slot, const WCHAR *name, DWORD type, const void *data, DWORD cb)
{
    HKEY k = rmt_open_slot(slot, KEY_SET_VALUE);
    assert_non_null(k);
    assert_int_equal(RegSetValueExW(k, name, 0, type, data, cb), ERROR_SUCCESS);
    RegCloseKey(k);
}

static int count_entries(const WCHAR *data)
{
    int n = 0;
    for (; *data; data += wcslen(data) + 1) n++;
    return n;
}

/* A text image of the whole store (every key under the root, every value with its
 * type and bytes) for "nothing changed" comparisons; malloc'd. */
static void dump_key(HKEY k, const WCHAR *name, char **out, size_t *len, size_t *cap)
{
    WCHAR vname[256], sub[256];
    BYTE data[4096];
    DWORD i, cch, cb, type;
    HKEY child;

    for (i = 0;; i++)
    {
        char line[9000];
        int n, j;
        cch = ARRAYSIZE(vname);
        cb = sizeof(data);
        if (RegEnumValueW(k, i, vname, &cch, NULL, &type, data, &cb)) break;
        n = snprintf(line, sizeof(line), "%ls\\%ls t%lu:", name, vname, type);
        for (j = 0; j < (int)cb && j < 2048; j++) n += snprintf(line + n, sizeof(line) - n, "%02x", data[j]);
        n += snprintf(line + n, sizeof(line) - n, "\n");
        while (*len + n + 1 > *cap) assert_non_null(*out = realloc(*out, *cap *= 2));
        memcpy(*out + *len, line, n + 1);
        *len += n;
    }
    for (i = 0;; i++)
    {
        WCHAR path[600];
        cch = ARRAYSIZE(sub);
        if (RegEnumKeyExW(k, i, sub, &cch, NULL, NULL, NULL, NULL)) break;
        swprintf(path, ARRAYSIZE(path), L"%ls\\%ls", name, sub);
        if (!RegOpenKeyExW(k, sub, 0, KEY_READ, &child))
        {
            char line[700];
            int n = snprintf(line, sizeof(line), "[%ls]\n", path);
            while (*len + n + 1 > *cap) assert_non_null(*out = realloc(*out, *cap *= 2));
            memcpy(*out + *len, line, n + 1);
            *len += n;
            dump_key(child, path, out, len, cap);
            RegCloseKey(child);
        }
    }
}

static char *store_image(void)
{
    size_t len = 0, cap = 4096;
    char *out = calloc(1, cap);
    HKEY root;
    assert_non_null(out);
    if (!RegOpenKeyExW(HKEY_CURRENT_USER, RMT_STORE_KEY, 0, KEY_READ, &root))
    {
        dump_key(root, L"", &out, &len, &cap);
        RegCloseKey(root);
    }
    return out;
}

static int count_live_slots(void)
{
    int s, n = 0;
    for (s = 0; s < RMT_NSLOTS; s++)
        if (rmt_slot_live(s)) n++;
    return n;
}

/* Starts sessions until refused; returns the count (all tracked), refusal in *r. */
static int fill_store(DWORD *handles, DWORD *r)
{
    WCHAR key[KEYBUF];
    int n = 0;
    for (;;)
    {
        DWORD h = SENTINEL;
        if ((*r = RmStartSession(&h, 0, key))) return n;
        assert_true(n < RMT_NSLOTS);
        rmt_track(h);
        handles[n++] = h;
    }
}

static DWORD list_result(DWORD h)
{
    UINT needed = SENTINEL, n = 0;
    DWORD reasons = SENTINEL;
    return RmGetList(h, &needed, &n, NULL, &reasons);
}

static DWORD register_name(DWORD h, const WCHAR *name)
{
    WCHAR *p = rmt_path(name);
    LPCWSTR files[1] = { p };
    DWORD r = RmRegisterResources(h, 1, files, 0, NULL, 0, NULL);
    free(p);
    return r;
}

/* ---- helper scripts (rmhelper script) ----------------------------------------------- */

/* rmt_run_script, timed: *spent is the script's wall-clock time in seconds (printed). */
static char *run_script_timed(const WCHAR *fault, const WCHAR *ops, double *spent)
{
    double t0 = rmt_now_s();
    char *text = rmt_run_script(NULL, fault, ops);
    *spent = rmt_now_s() - t0;
    printf("# the script took %.2f s\n", *spent);
    return text;
}

/* ---- a primary killed mid-session ----------------------------------------------------- */

#define KILLED 6

static void test_killed_owner_slot_reclaimed(void **state)
{
    struct rmt_child *kids[KILLED];
    DWORD slots[KILLED], handles[RMT_NSLOTS], r, hj;
    WCHAR *outs[KILLED], args[1024], keys[KILLED][KEYBUF];
    int i, n, live_before;
    (void)state;

    live_before = count_live_slots();
    for (i = 0; i < KILLED; i++)
    {
        char *text;
        unsigned long slot = 99;
        char key[64] = "";
        swprintf(args, ARRAYSIZE(args), L"start-%d.txt", i);
        outs[i] = rmt_path(args);
        DeleteFileW(outs[i]);
        swprintf(args, ARRAYSIZE(args), L"start --out \"%ls\"", outs[i]);
        kids[i] = rmt_spawn_tracked(FALSE, 0, args, rmt_timeout(20000));
        text = rmt_read_record(outs[i]);
        assert_int_equal(sscanf(text, "%lu %63s", &slot, key), 2);
        free(text);
        slots[i] = (DWORD)slot;
        swprintf(keys[i], KEYBUF, L"%hs", key);
        assert_true(rmt_slot_live(slots[i]));
    }
    /* The owners die without RmEndSession (TerminateProcess). */
    for (i = 0; i < KILLED; i++) rmt_child_kill(kids[i]);
    for (i = 0; i < KILLED; i++)
    {
        /* Spec 4 item 8: the key stays, but the slot is no longer in use. */
        assert_true(rmt_slot_exists(slots[i]));
        assert_false(rmt_slot_live(slots[i]));
        hj = SENTINEL;
        r = RmJoinSession(&hj, keys[i]);
        printf("# join of killed owner's session %lu: %lu\n", slots[i], r);
        if (!r) rmt_end_ok(hj);
        DeleteFileW(outs[i]);
        free(outs[i]);
    }
    rmt_kill_all();

    /* The limit is not reduced: exactly 64 sessions fit, and the killed owners' slots
     * are among them (the lowest free slot is taken first). */
    n = fill_store(handles, &r);
    printf("# after %d killed owners: %d sessions started (%d live before), then %lu\n", KILLED, n,
           live_before, r);
    assert_int_equal(r, ERROR_MAX_SESSIONS_REACHED);
    assert_int_equal(n + live_before, RMT_NSLOTS);
    for (i = 0; i < KILLED; i++) assert_true(rmt_slot_live(slots[i]));
    for (i = 0; i < n; i++) rmt_end_ok(handles[i]);
    for (i = 0; i < KILLED; i++) assert_false(rmt_slot_exists(slots[i]));
}

/* ---- a secondary killed in the middle of a large registration ------------------------- */

#define BATCH 1500
#define KILLS 8

static void test_secondary_killed_mid_registration(void **state)
{
    WCHAR key[KEYBUF], args[1024], *rec;
    DWORD h, seq, prev_seq = 0, c, type;
    long acked_total = 0;
    int k;
    (void)state;

    srand(GetTickCount());
    h = rmt_start_tracked(key);
    rec = rmt_path(L"regloop.txt");
    for (k = 0; k < KILLS; k++)
    {
        struct rmt_child *child;
        char *text, *p;
        long acked = 0;
        DWORD delay = (DWORD)(rand() % 400), t0, r, hj;

        DeleteFileW(rec);
        swprintf(args, ARRAYSIZE(args), L"--record \"%ls\" regloop %ls %d \"%ls\"", rec, key, BATCH,
                 rmt_tempdir());
        child = rmt_spawn_tracked(FALSE, 0, args, rmt_timeout(60000));   /* ready after its first batch */
        Sleep(delay);
        rmt_child_kill(child);
        text = rmt_read_record(rec);
        for (p = text; (p = strstr(p, "BATCH ")); p++)
        {
            unsigned long b, res;
            if (sscanf(p, "BATCH %lu %lu", &b, &res) == 2)
            {
                if (res) fail_msg("a batch failed: %s", text);
                acked++;
            }
        }
        free(text);
        acked_total += acked;

        /* All or nothing: every committed group holds a whole batch; nothing beyond
         * Sequence counts. */
        seq = rmt_commits_end(h);
        printf("# kill %d after %lu ms: %ld batches acknowledged (%ld in all), Sequence %lu\n", k,
               delay, acked, acked_total, seq);
        /* Commits so far: the acknowledged batches, this test's own registration
         * after each earlier kill (k of them), and at most one batch per killed
         * helper that was committed but not yet recorded (k + 1). */
        assert_true(seq >= (DWORD)acked_total + (DWORD)k);
        assert_true(seq <= (DWORD)acked_total + (DWORD)k + (DWORD)(k + 1));
        assert_true(seq >= prev_seq);
        for (c = prev_seq; c < seq; c++)
        {
            WCHAR vname[32], *data;
            swprintf(vname, ARRAYSIZE(vname), L"RegFiles%04lu", c);
            data = rmt_read_value(h, vname, &type);
            assert_non_null(data);
            assert_int_equal(type, REG_MULTI_SZ);
            assert_int_equal(count_entries(data), BATCH);
            free(data);
        }
        prev_seq = seq;

        /* The session works: bounded, no ERROR_SEM_TIMEOUT (an abandoned store lock
         * is taken over), a join works, and a new registration commits alone. */
        t0 = GetTickCount();
        assert_int_equal(list_result(h), ERROR_SUCCESS);
        hj = rmt_join_tracked(key);
        swprintf(args, ARRAYSIZE(args), L"after-kill-%d.dat", k);
        r = register_name(hj, args);
        assert_int_equal(r, ERROR_SUCCESS);
        rmt_end_ok(hj);
        assert_true(GetTickCount() - t0 < rmt_timeout(30000));
        assert_int_equal(rmt_commits_end(h), seq + 1);
        {
            WCHAR vname[32], *data;
            swprintf(vname, ARRAYSIZE(vname), L"RegFiles%04lu", seq);
            data = rmt_read_value(h, vname, &type);
            assert_non_null(data);
            assert_int_equal(count_entries(data), 1);
            assert_non_null(wcsstr(data, args));
            free(data);
            swprintf(vname, ARRAYSIZE(vname), L"RegProcs%04lu", seq);
            data = rmt_read_value(h, vname, &type);
            assert_null(data);
        }
        prev_seq = seq + 1;
    }
    rmt_kill_all();
    DeleteFileW(rec);
    free(rec);
    rmt_end_ok(h);
    assert_false(rmt_slot_exists(h));
}

/* ---- store damage test_store.c does not cover ------------------------------------------ */

enum hash_damage { HASH_DWORD, HASH_SHORT, HASH_MISSING, HASH_OTHER };

static void damage_hash(DWORD slot, enum hash_damage d)
{
    BYTE bytes[32];
    HKEY k;

    memset(bytes, 0x5a, sizeof(bytes));
    switch (d)
    {
    case HASH_DWORD: set_value(slot, L"SessionHash", REG_DWORD, bytes, 4); break;
    case HASH_SHORT: set_value(slot, L"SessionHash", REG_BINARY, bytes, 16); break;
    case HASH_OTHER: set_value(slot, L"SessionHash", REG_BINARY, bytes, 32); break;
    case HASH_MISSING:
        assert_non_null(k = rmt_open_slot(slot, KEY_SET_VALUE));
        assert_int_equal(RegDeleteValueW(k, L"SessionHash"), ERROR_SUCCESS);
        RegCloseKey(k);
        break;
    }
}

static void check_damaged_hash(enum hash_damage d, const char *what)
{
    WCHAR ka[KEYBUF], kb[KEYBUF];
    DWORD a, b, hj = SENTINEL, r1, r2, r3, e;

    a = rmt_start_tracked(ka);
    b = rmt_start_tracked(kb);
    assert_int_equal(register_name(a, L"hash-a.dat"), ERROR_SUCCESS);
    damage_hash(a, d);
    /* The key can no longer be validated: a join is refused (spec 5.2: 1219). */
    r1 = RmJoinSession(&hj, ka);
    assert_int_equal(r1, ERROR_SESSION_CREDENTIAL_CONFLICT);
    assert_int_equal(hj, SENTINEL);
    /* The primary's handle no longer names a readable session of its key: never
     * success, never a crash; 6 (gone) or 29 (unreadable). RmGetList reads the hash
     * and finds it; every registration after that reads it too (a writer that no
     * reader has warned writes on what the commit board knows: src/store.c). */
    r3 = list_result(a);
    r2 = register_name(a, L"hash-a2.dat");
    printf("# SessionHash %s: join %lu, list %lu, register %lu\n", what, r1, r3, r2);
    assert_true(r3 == ERROR_INVALID_HANDLE || r3 == ERROR_WRITE_FAULT);
    assert_true(r2 == ERROR_INVALID_HANDLE || r2 == ERROR_WRITE_FAULT);
    assert_int_equal(rmt_commits_end(a), 1);
    /* The filter functions check the hash too, and warn registrations the same way. */
    {
        WCHAR kc[KEYBUF];
        DWORD c = rmt_start_tracked(kc), needed = 0, rf, rr;
        assert_int_equal(register_name(c, L"hash-c.dat"), ERROR_SUCCESS);
        damage_hash(c, d);
        rf = RmGetFilterList(c, NULL, 0, &needed);
        rr = register_name(c, L"hash-c2.dat");
        printf("# SessionHash %s: RmGetFilterList %lu, then register %lu\n", what, rf, rr);
        assert_true(rf == ERROR_INVALID_HANDLE || rf == ERROR_WRITE_FAULT);
        assert_true(rr == ERROR_INVALID_HANDLE || rr == ERROR_WRITE_FAULT);
        assert_int_equal(rmt_commits_end(c), 1);
        RmEndSession(c);
        rmt_untrack(c);
        delete_slot(c);
    }
    /* The other session is unaffected. */
    assert_int_equal(register_name(b, L"hash-b.dat"), ERROR_SUCCESS);
    assert_int_equal(list_result(b), ERROR_SUCCESS);
    /* Ending: a missing or malformed hash in a slot this process owns does not
     * keep the primary from ending it (an ended session is gone from the store,
     * issue 6); another key's well-formed hash is another session, untouched. */
    e = RmEndSession(a);
    printf("# SessionHash %s: RmEndSession %lu, slot %s\n", what, e,
           rmt_slot_exists(a) ? "still there" : "removed");
    if (d == HASH_OTHER)
    {
        /* Not this handle's session any more: "already ended" (0), and the
         * other session's key is left alone. */
        int there = rmt_slot_exists(a);
        delete_slot(a);
        assert_int_equal(e, ERROR_SUCCESS);
        assert_true(there);
    }
    else
    {
        assert_int_equal(e, ERROR_SUCCESS);
        assert_false(rmt_slot_exists(a));
    }
    rmt_untrack(a);
    rmt_end_ok(b);
}

static void test_hash_wrong_type(void **state) { (void)state; check_damaged_hash(HASH_DWORD, "as REG_DWORD"); }
static void test_hash_short(void **state) { (void)state; check_damaged_hash(HASH_SHORT, "16 bytes"); }
static void test_hash_missing(void **state) { (void)state; check_damaged_hash(HASH_MISSING, "missing"); }
static void test_hash_other(void **state) { (void)state; check_damaged_hash(HASH_OTHER, "another key's"); }

/* A commit with a malformed group, as if another process had committed it (group 0
 * written, Sequence 1): ERROR_WRITE_FAULT (the store's rule: a value of the wrong
 * shape is a registry read failure), nothing added, no crash. test_store.c covers
 * groups of the wrong type; these are REG_MULTI_SZ with bad entries. */
static void check_malformed(const WCHAR *value, const void *data, DWORD cb, BOOL must_fail, const char *what)
{
    WCHAR key[KEYBUF];
    DWORD h, r1, r2, one = 1;

    h = rmt_start_tracked(key);
    set_value(h, value, REG_MULTI_SZ, data, cb);
    set_value(h, L"Sequence", REG_DWORD, &one, sizeof(one));
    r1 = list_result(h);
    r2 = register_name(h, L"malformed2.dat");
    printf("# %s: RmGetList %lu, RmRegisterResources %lu\n", what, r1, r2);
    if (must_fail)
    {
        assert_int_equal(r1, ERROR_WRITE_FAULT);
        assert_int_equal(r2, ERROR_WRITE_FAULT);
        assert_int_equal(rmt_commits_end(h), 1);
    }
    else
    {
        assert_true(r1 == ERROR_SUCCESS || r1 == ERROR_WRITE_FAULT);
        assert_true(r2 == ERROR_SUCCESS || r2 == ERROR_WRITE_FAULT);
    }
    rmt_end_ok(h);
    assert_false(rmt_slot_exists(h));
}

static void test_malformed_entries(void **state)
{
    static const WCHAR bad_hex[] = L"zzzzzzzz:00000000:00000000\0";
    static const WCHAR short_proc[] = L"1234:5678\0";
    static const WCHAR no_colons[] = L"00000001000000000000000000\0";
    static const WCHAR relative[] = L"relative\\name.txt\0";
    static const WCHAR unterminated[] = { L'C', L':', L'\\', L'u', L'.', L't' };
    static const WCHAR odd[] = L"C:\\odd.txt\0";
    (void)state;
    check_malformed(L"RegProcs0000", bad_hex, sizeof(bad_hex), TRUE, "RegProcs with bad hex");
    check_malformed(L"RegProcs0000", short_proc, sizeof(short_proc), TRUE, "RegProcs too short");
    check_malformed(L"RegProcs0000", no_colons, sizeof(no_colons), TRUE, "RegProcs without colons");
    /* Not a canonical full path; whether a reader rejects it or resolves it is open,
     * but it must not crash or hang. */
    check_malformed(L"RegFiles0000", relative, sizeof(relative), FALSE, "RegFiles with a relative path");
    check_malformed(L"RegFiles0000", unterminated, sizeof(unterminated), FALSE, "RegFiles unterminated");
    check_malformed(L"RegFiles0000", odd, sizeof(odd) - 3, FALSE, "RegFiles odd byte count");
}

/* A writer that dies mid-commit: it holds the store lock, has written two groups
 * of a three-kind commit, those past its first number (which it writes last, as
 * the commit point: src/store.c), and exits without writing that or letting the
 * lock go. Played by a thread of this process, which leaves the lock abandoned
 * exactly as a dead writer's (src/shared/storelock.h: its holder is gone). */
struct dying_writer
{
    struct rmt_store_lock lock;      /* the store's, opened by the test */
    HKEY slot;                       /* the session's key */
};

/* No cmocka assertions here (another thread): the exit code says what failed. */
static DWORD WINAPI die_mid_commit(void *param)
{
    static const WCHAR garbage_procs[] = L"not a process\0";
    const struct dying_writer *w = param;
    DWORD dw = 7;

    if (rm_lock_take(&w->lock.board->lock, w->lock.wake, rmt_timeout(10000)) == RM_LOCK_TIMEOUT) return 1;
    if (RegSetValueExW(w->slot, L"RegSvcs0003", 0, REG_DWORD, (const BYTE *)&dw, sizeof(dw)) ||
        RegSetValueExW(w->slot, L"RegProcs0002", 0, REG_MULTI_SZ, (const BYTE *)garbage_procs,
                       sizeof(garbage_procs)) ||
        RegSetValueExW(w->slot, L"RegSvcs0005", 0, REG_SZ, (const BYTE *)L"x", 4))
        return 2;
    return 0;   /* still holding the lock: abandoned */
}

/* Groups past the first number without one are leftovers of a writer that died:
 * ignored by readers, deleted by the next commit, which the abandoned lock makes
 * read the registry. (RegSvcs0005 is further than any writer leaves: nobody reads
 * it while the numbers before it are empty.) */
static void test_uncommitted_leftovers_ignored(void **state)
{
    WCHAR key[KEYBUF], *data;
    DWORD h, type, code = 1;
    struct dying_writer w;
    HANDLE t;
    (void)state;

    h = rmt_start_tracked(key);
    assert_int_equal(register_name(h, L"left-a.dat"), ERROR_SUCCESS);
    rmt_store_lock_open(&w.lock);
    assert_non_null(w.slot = rmt_open_slot(h, KEY_SET_VALUE));
    assert_non_null(t = CreateThread(NULL, 0, die_mid_commit, &w, 0, NULL));
    assert_int_equal(WaitForSingleObject(t, rmt_timeout(20000)), WAIT_OBJECT_0);
    assert_true(GetExitCodeThread(t, &code));
    RegCloseKey(w.slot);
    rmt_store_lock_close(&w.lock);
    assert_int_equal(code, 0);
    assert_int_equal(rmt_commits_end(h), 1);
    assert_int_equal(list_result(h), ERROR_SUCCESS);

    /* The dead writer's handle stays open until the lock is taken over, so that
     * no new thread has its ID meanwhile (which the lock could tell only 2 s on:
     * src/shared/storelock.h). */
    assert_int_equal(register_name(h, L"left-b.dat"), ERROR_SUCCESS);
    CloseHandle(t);
    assert_int_equal(rmt_commits_end(h), 2);
    data = rmt_read_value(h, L"RegFiles0001", &type);
    assert_non_null(data);
    assert_int_equal(type, REG_MULTI_SZ);
    assert_int_equal(count_entries(data), 1);
    assert_non_null(wcsstr(data, L"left-b.dat"));
    free(data);
    /* The leftovers past it are gone with this commit, not made part of it. */
    assert_false(rmt_value_exists(h, L"RegProcs0002"));
    assert_false(rmt_value_exists(h, L"RegSvcs0003"));
    assert_int_equal(list_result(h), ERROR_SUCCESS);
    rmt_end_ok(h);
    assert_false(rmt_slot_exists(h));
}

/* A writer killed while it holds the store lock: another process (a helper, which
 * takes the lock from outside the DLL and is then terminated), so nothing of it
 * stays. A call that waits for the lock meanwhile takes it over soon after the
 * kill, not after the 5 s time-out, and gets on with its work (src/shared/
 * storelock.h: a holder that is gone is abandoned, as a kernel mutex would be). */
struct start_call
{
    DWORD result, handle;
    WCHAR key[KEYBUF];
};

static DWORD WINAPI start_in_thread(void *param)
{
    struct start_call *sc = param;
    sc->result = RmStartSession(&sc->handle, 0, sc->key);
    return 0;
}

static void test_store_lock_holder_killed(void **state)
{
    WCHAR key[KEYBUF], args[MAX_PATH + 64], *rec = rmt_path(L"storelock.txt");
    struct start_call sc = { SENTINEL, SENTINEL, { 0 } };
    struct rmt_child c;
    DWORD h, killed_at, waited;
    HANDLE t;
    char *text;
    (void)state;

    h = rmt_start_tracked(key);   /* the board and its event exist from here */
    DeleteFileW(rec);
    swprintf(args, ARRAYSIZE(args), L"--record \"%ls\" script storelock wait", rec);
    assert_int_equal(rmt_spawn(FALSE, args, rmt_timeout(20000), &c), ERROR_SUCCESS);
    text = rmt_read_record(rec);
    printf("# helper: %s", text);
    assert_non_null(strstr(text, "storelock 0"));
    free(text);

    /* It holds the lock: a start waits. */
    assert_non_null(t = CreateThread(NULL, 0, start_in_thread, &sc, 0, NULL));
    assert_int_equal(WaitForSingleObject(t, 500), WAIT_TIMEOUT);
    assert_int_equal(sc.result, SENTINEL);

    rmt_child_kill(&c);
    killed_at = GetTickCount();
    assert_int_equal(WaitForSingleObject(t, RMT_BOUND_MS), WAIT_OBJECT_0);
    waited = GetTickCount() - killed_at;
    CloseHandle(t);
    printf("# the start returned %lu, %lu ms after the holder was killed\n", sc.result, waited);
    assert_int_equal(sc.result, ERROR_SUCCESS);
    rmt_track(sc.handle);
    assert_true(waited < rmt_timeout(2000));

    /* The store works on: a commit after the takeover reads the registry (the
     * board was forgotten) and lands as the next one. */
    assert_int_equal(register_name(h, L"after-holder-killed.dat"), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(h), 1);
    assert_int_equal(list_result(h), ERROR_SUCCESS);
    rmt_end_ok(sc.handle);
    rmt_end_ok(h);
    DeleteFileW(rec);
    free(rec);
}

/* A secondary's commit of two groups fails at its commit point (the file group,
 * written after the process group: src/store.c) and its rollback fails too: the
 * process group stays past the end. The primary's next commit (a file) must
 * delete it rather than make it part of the session: a failed commit makes the
 * store's commit board forget the slot, so that writer reads and clears instead
 * of trusting it. */
static void test_failed_rollback_leftover_cleared(void **state)
{
    WCHAR key[KEYBUF], ops[3 * MAX_PATH], *data, *f = rmt_path(L"rollback-both.dat");
    DWORD h, type;
    char *text;
    (void)state;

    h = rmt_start_tracked(key);
    swprintf(ops, ARRAYSIZE(ops), L"join %ls regboth \"%ls\" end", key, f);
    /* The join writes nothing, so RegSetValueExW:2 is the file group after the process group. */
    text = rmt_run_script(NULL, L"RegSetValueExW:2,RegDeleteValueW:1+", ops);
    assert_non_null(strstr(text, "join 0 "));
    assert_non_null(strstr(text, "regboth 29"));
    free(text);
    assert_int_equal(rmt_commits_end(h), 0);
    assert_true(rmt_value_exists(h, L"RegProcs0001"));   /* the rollback failed, as asked */

    assert_int_equal(register_name(h, L"after-rollback.dat"), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(h), 1);
    assert_false(rmt_value_exists(h, L"RegProcs0001"));
    assert_non_null(data = rmt_read_value(h, L"RegFiles0000", &type));
    assert_non_null(wcsstr(data, L"after-rollback.dat"));
    assert_null(wcsstr(data, L"rollback-both.dat"));
    free(data);
    assert_int_equal(list_result(h), ERROR_SUCCESS);
    rmt_end_ok(h);
    free(f);
}

/* RmRegisterResources called with the loader lock held, as from a DllMain: a
 * batch of two directories starts the listing prefetch worker, and each listing
 * hands its volume query to the thread pool, neither of which can run before the
 * lock is let go (a new thread attaches to the DLLs under it). The call must
 * neither wait for them nor depend on them (src/dirlist.c, src/listing.c): it
 * completes and registers both files, within the script's bound. */
static void test_register_under_loader_lock(void **state)
{
    WCHAR ops[3 * MAX_PATH + 128], *a = rmt_path(L"ll-a.dat"), *b, dir[MAX_PATH];
    double spent;
    char *text;
    (void)state;

    swprintf(dir, ARRAYSIZE(dir), L"%ls", a);
    *wcsrchr(dir, L'\\') = 0;
    wcscat(dir, L"\\loaderlock-sub");
    CreateDirectoryW(dir, NULL);
    wcscat(dir, L"\\ll-b.dat");
    b = dir;
    swprintf(ops, ARRAYSIZE(ops), L"start loaderlock reg2 \"%ls\" \"%ls\" loaderunlock list end", a, b);
    text = run_script_timed(NULL, ops, &spent);
    assert_non_null(strstr(text, "loaderlock 0"));
    assert_non_null(strstr(text, "reg2 0"));
    assert_non_null(strstr(text, "loaderunlock 0"));
    assert_non_null(strstr(text, "end 0"));
    free(text);
    free(a);
}

/* Keys under the store root that are not Session0000..0063 are not sessions: the
 * limit is still 64; a subkey under a live session does not stop RmEndSession. */
static void test_foreign_keys(void **state)
{
    static const WCHAR *const foreign[] = { L"Session0064", L"Session9999", L"SessionABCD", L"Other" };
    DWORD handles[RMT_NSLOTS], r;
    WCHAR path[256], key[KEYBUF];
    HKEY k;
    int i, n, live_before;
    DWORD h;
    (void)state;

    h = rmt_start_tracked(key);   /* makes sure the root exists */
    for (i = 0; i < (int)ARRAYSIZE(foreign); i++)
    {
        swprintf(path, ARRAYSIZE(path), RMT_STORE_KEY L"\\%ls", foreign[i]);
        assert_int_equal(RegCreateKeyExW(HKEY_CURRENT_USER, path, 0, NULL, REG_OPTION_VOLATILE,
                                         KEY_ALL_ACCESS, NULL, &k, NULL), ERROR_SUCCESS);
        RegCloseKey(k);
    }
    rmt_end_ok(h);
    live_before = count_live_slots();
    n = fill_store(handles, &r);
    assert_int_equal(r, ERROR_MAX_SESSIONS_REACHED);
    assert_int_equal(n + live_before, RMT_NSLOTS);

    /* A subkey in a session's key. */
    rmt_slot_path(path, ARRAYSIZE(path), handles[3]);
    wcscat(path, L"\\Sub");
    assert_int_equal(RegCreateKeyExW(HKEY_CURRENT_USER, path, 0, NULL, REG_OPTION_VOLATILE,
                                     KEY_ALL_ACCESS, NULL, &k, NULL), ERROR_SUCCESS);
    RegCloseKey(k);
    r = RmEndSession(handles[3]);
    printf("# RmEndSession of a session key with a subkey: %lu\n", r);
    assert_int_equal(r, ERROR_SUCCESS);
    rmt_untrack(handles[3]);
    assert_false(rmt_slot_exists(handles[3]));
    for (i = 0; i < n; i++)
        if (i != 3) rmt_end_ok(handles[i]);

    for (i = 0; i < (int)ARRAYSIZE(foreign); i++)
    {
        swprintf(path, ARRAYSIZE(path), RMT_STORE_KEY L"\\%ls", foreign[i]);
        assert_int_equal(RegDeleteKeyW(HKEY_CURRENT_USER, path), ERROR_SUCCESS);
    }
}

/* ---- injected registry failures ---------------------------------------------------------- */

/* RmStartSession with a failing call: ERROR_WRITE_FAULT (registry) and the store
 * exactly as before: no slot key, no value left. */
static void check_start_fault(const WCHAR *fault, DWORD expected)
{
    char *before, *after, *text, want[32];
    before = store_image();
    text = rmt_run_script(NULL, fault, L"start");
    after = store_image();
    snprintf(want, sizeof(want), "start %lu ", expected);
    if (!strstr(text, want)) fail_msg("expected \"%s\" with %ls, got %s", want, fault, text);
    if (strcmp(before, after)) fail_msg("store changed by a failed start:\nbefore:\n%s\nafter:\n%s", before, after);
    free(before);
    free(after);
    free(text);
}

static void test_fault_start(void **state)
{
    (void)state;
    check_start_fault(L"RegCreateKeyExW:1", ERROR_WRITE_FAULT);
    check_start_fault(L"RegCreateKeyExW:1+", ERROR_WRITE_FAULT);
    check_start_fault(L"RegSetValueExW:1", ERROR_WRITE_FAULT);
    check_start_fault(L"RegSetValueExW:2", ERROR_WRITE_FAULT);
    check_start_fault(L"RegSetValueExW:3", ERROR_WRITE_FAULT);
    check_start_fault(L"RegSetValueExW:1+", ERROR_WRITE_FAULT);
}

static void test_fault_start_random(void **state)
{
    char *before, *after, *text;
    (void)state;
    /* No random key: the start fails (not ERROR_WRITE_FAULT: nothing was written). */
    before = store_image();
    text = rmt_run_script(NULL, L"GenRandom:1", L"start");
    after = store_image();
    assert_null(strstr(text, "start 0 "));
    assert_int_equal(strcmp(before, after), 0);
    free(before);
    free(after);
    free(text);
}

/* With a session already taken by a killed owner, the takeover's writes fail. */
static void test_fault_start_takeover(void **state)
{
    struct rmt_child *kid;
    WCHAR *out = rmt_path(L"takeover.txt"), args[512];
    char *before, *after, *text;
    unsigned long slot = 99;
    int lowest;
    (void)state;

    lowest = rmt_lowest_free_slot();
    DeleteFileW(out);
    swprintf(args, ARRAYSIZE(args), L"start --out \"%ls\"", out);
    kid = rmt_spawn_tracked(FALSE, 0, args, rmt_timeout(20000));
    text = rmt_read_record(out);
    assert_int_equal(sscanf(text, "%lu", &slot), 1);
    free(text);
    assert_int_equal(slot, (unsigned long)lowest);
    rmt_child_kill(kid);
    rmt_kill_all();
    assert_false(rmt_slot_live(slot));

    /* The abandoned slot is the first candidate: the writes after taking it over fail. */
    before = store_image();
    text = rmt_run_script(NULL, L"RegSetValueExW:2", L"start");
    after = store_image();
    assert_non_null(strstr(text, "start 29 "));
    free(text);
    /* The abandoned key may be gone (taken over, then the failed start removed what
     * it wrote) but no half-written session remains: the slot is not live and a new
     * start takes it. */
    printf("# abandoned slot %lu after the failed takeover: %s\n", slot,
           rmt_slot_exists(slot) ? "still there" : "removed");
    assert_false(rmt_slot_live(slot));
    text = rmt_run_script(NULL, NULL, L"start end");
    {
        char want[32];
        snprintf(want, sizeof(want), "start 0 %lu ", slot);
        assert_non_null(strstr(text, want));
    }
    free(text);
    free(before);
    free(after);
    delete_slot(slot);
    DeleteFileW(out);
    free(out);
}

/* RmRegisterResources in the primary with a failing call: 29, store unchanged. */
static void test_fault_register(void **state)
{
    /* start writes 3 values, so RegSetValueExW:4 is the registration's group (of
     * a file and a process: the process group, then the file's, the commit point,
     * :5). A registration right after the start reads nothing (the commit board
     * knows the slot: src/store.c); after a list that failed to read the slot, it
     * reads the slot itself, so RegQueryValueExW:1+ fails both. */
    static const struct { const WCHAR *fault, *ops; const char *want; } cases[] = {
        { L"RegSetValueExW:4", L"start reg \"%ls\" list end", "reg 29" },
        { L"RegSetValueExW:4+", L"start reg \"%ls\" list end", "reg 29" },
        { L"RegSetValueExW:5", L"start regboth \"%ls\" list end", "regboth 29" },
        { L"RegQueryValueExW:1+", L"start list reg \"%ls\" end", "reg 29" },
    };
    WCHAR ops[1024], *f = rmt_path(L"fault-reg.dat");
    int i;
    (void)state;

    for (i = 0; i < (int)ARRAYSIZE(cases); i++)
    {
        char *text;
        swprintf(ops, ARRAYSIZE(ops), cases[i].ops, f);
        text = rmt_run_script(NULL, cases[i].fault, ops);
        if (!strstr(text, "start 0 ")) fail_msg("start failed: %s", text);
        if (!strstr(text, cases[i].want)) fail_msg("%ls: expected %s: %s", cases[i].fault, cases[i].want, text);
        free(text);
    }
    /* The same without a fault: it works (the script is right). */
    swprintf(ops, ARRAYSIZE(ops), L"start reg \"%ls\" list end", f);
    {
        char *text = rmt_run_script(NULL, NULL, ops);
        assert_non_null(strstr(text, "reg 0"));
        assert_non_null(strstr(text, "end 0"));
        free(text);
    }
    free(f);
}

/* A failed registration leaves the store as it was; checked while the helper waits. */
static void test_fault_register_unchanged(void **state)
{
    WCHAR ops[1024], args[1200], *f = rmt_path(L"fault-unch.dat"), *rec = rmt_path(L"unch.txt");
    struct rmt_child c;
    char *text, *before, *after;
    unsigned long slot = 99, handle, rc;
    (void)state;

    DeleteFileW(rec);
    swprintf(ops, ARRAYSIZE(ops), L"start regself wait reg \"%ls\" sleep 3000 end", f);
    swprintf(args, ARRAYSIZE(args), L"--record \"%ls\" script %ls", rec, ops);
    /* start: 3 writes; regself: 1 (its group); the next (the file group) fails. */
    assert_true(SetEnvironmentVariableW(L"RSTRTMGR_FAULT", L"RegSetValueExW:5"));
    assert_int_equal(rmt_spawn(FALSE, args, 20000, &c), ERROR_SUCCESS);
    SetEnvironmentVariableW(L"RSTRTMGR_FAULT", NULL);
    text = rmt_read_record(rec);
    assert_int_equal(sscanf(strstr(text, "start "), "start %lu %lu", &rc, &handle), 2);
    assert_int_equal(rc, 0);
    slot = handle % RMT_NSLOTS;
    assert_non_null(strstr(text, "regself 0"));
    free(text);
    assert_int_equal(rmt_commits_end(slot), 1);
    before = store_image();
    /* Let it go on to the failing registration; it then sleeps 3 s before its end. */
    SetEvent(c.quit);
    assert_true(rmt_wait_record(rec, "reg ", rmt_timeout(20000)));
    Sleep(200);
    after = store_image();
    text = rmt_read_record(rec);
    printf("# record: %s", text);
    assert_non_null(strstr(text, "reg 29"));
    free(text);
    if (strcmp(before, after)) fail_msg("store changed by a failed registration:\nbefore:\n%s\nafter:\n%s", before, after);
    assert_int_equal(rmt_child_wait(&c, RMT_BOUND_MS), 0);
    free(before);
    free(after);
    DeleteFileW(rec);
    free(rec);
    free(f);
}

/* RmEndSession with a failing call: an error, the session intact, the handle still
 * valid (a second RmEndSession works). */
static void test_fault_end(void **state)
{
    char *text;
    (void)state;
    /* start queries nothing in a free slot; the end's key check is the first query. */
    text = rmt_run_script(NULL, L"RegQueryValueExW:1", L"start end regself list end");
    assert_non_null(strstr(text, "end 29"));
    /* Still there and registered: the size query finds this process (spec 5.5). */
    assert_non_null(strstr(text, "list 234 1"));
    assert_non_null(strstr(text, "end 0"));
    free(text);
}

/* ---- processes that exit between snapshot and query ------------------------------------- */

static volatile LONG spawner_stop;
static LONG spawned;

static DWORD WINAPI spawner(void *param)
{
    const WCHAR *file = param;
    WCHAR args[1024];
    DWORD n = 0;

    swprintf(args, ARRAYSIZE(args), L"hold \"%ls\" rwd", file);
    while (!spawner_stop)
    {
        struct rmt_child c;
        /* Every other one is killed without waiting for it to be ready (at any point
         * of its life, start-up included), the others while they hold the file. */
        if (rmt_spawn_ex(FALSE, args, 0, n % 2 == 0, 10000, &c) == ERROR_SUCCESS)
        {
            InterlockedIncrement(&spawned);
            /* Held for 20-170 ms by those that got ready, and every fourth for 1.5 s (scaled)
             * so that lists do find some even when a list takes longer than a short
             * holder lives (a loaded machine). */
            Sleep(n % 4 == 0 ? rmt_timeout(1500) : n % 2 == 0 ? 20 + (n * 7919) % 150 : (n * 7919) % 60);
            rmt_child_kill(&c);
        }
        n++;
    }
    return 0;
}

static int count_in(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* Issue 3/6: a handle whose query never returns (on Windows: a synchronous pipe
 * with a read pending; here injected with RSTRTMGR_FAULT=HandleQuery) must not
 * stall RmGetList beyond its bound: the stuck query is abandoned (never
 * terminated) and the scan goes on. With every query hanging, every handle is left
 * unchecked (nobody found) or, past 64 of them, the call gives up with
 * ERROR_SEM_TIMEOUT (README, Choices); either way it returns in bounded time. */
static void test_handle_query_that_never_returns(void **state)
{
    static const WCHAR *const faults[] = { L"HandleQuery:3", L"HandleQuery:1+" };
    WCHAR *f = rmt_make_file(L"stall-held.dat"), ops[1024], args[MAX_PATH + 16];
    struct rmt_child holder;
    int i;
    (void)state;

    swprintf(args, ARRAYSIZE(args), L"hold \"%ls\"", f);
    assert_int_equal(rmt_spawn(FALSE, args, 15000, &holder), ERROR_SUCCESS);
    swprintf(ops, ARRAYSIZE(ops), L"start reg \"%ls\" list list end", f);
    for (i = 0; i < (int)ARRAYSIZE(faults); i++)
    {
        double t0 = rmt_now_s(), spent;
        char *text = rmt_run_script(NULL, faults[i], ops);
        spent = rmt_now_s() - t0;
        printf("# %ls: the script took %.2f s\n", faults[i], spent);
        /* One stuck handle (not the holder's, which comes last) is skipped and
         * the holder found, by both calls (the second does not ask the stuck handle
         * again). With every query stuck, nobody can be found: either every handle
         * was left unchecked or the call gave up. Bounded time: a stuck handle
         * costs 250 ms of a worker, up to 8 workers at a time. */
        if (i == 0) assert_int_equal(count_in(text, "list 234 1"), 2);
        else assert_int_equal(count_in(text, "list 0 0") + count_in(text, "list 121 0"), 2);
        assert_non_null(strstr(text, "end 0"));
        assert_true(spent < rmt_seconds(30.0));
        free(text);
    }
    rmt_child_kill(&holder);
    free(f);
}

/* Issue 13: a failure is traced where it happens. RSTRTMGR_TRACE=error:FILE writes
 * only failures: the file and line, the system call and its object, the system's
 * error and the code the caller got; none of the flow lines. */
static void test_failure_traced_where_it_happens(void **state)
{
    WCHAR *log = rmt_path(L"errors.log"), value[MAX_PATH + 16];
    char *text, *trace;
    (void)state;

    DeleteFileW(log);
    swprintf(value, ARRAYSIZE(value), L"error:%ls", log);
    assert_true(SetEnvironmentVariableW(L"RSTRTMGR_TRACE", value));
    text = rmt_run_script(NULL, L"RegSetValueExW:2", L"start");
    SetEnvironmentVariableW(L"RSTRTMGR_TRACE", NULL);
    assert_non_null(strstr(text, "start 29 "));
    free(text);
    trace = rmt_read_record(log);
    printf("# trace:\n%s", trace);
    assert_non_null(strstr(trace, "error: store.c:"));
    assert_non_null(strstr(trace, "RegSetValueExW("));
    assert_non_null(strstr(trace, "failed: 5 ERROR_ACCESS_DENIED -> 29 ERROR_WRITE_FAULT"));
    assert_null(strstr(trace, "RmStartSession("));   /* flow lines are not written */
    free(trace);
    DeleteFileW(log);
    free(log);
}

static WCHAR denied_service[64];   /* removed by teardown should the test stop early */

/* Issue 11: a service the caller may not stop (the SCM refuses SERVICE_STOP, here
 * injected with RSTRTMGR_FAULT=OpenServiceW) is RmCritical with PermissionDenied
 * (spec 6, 7), so RmShutdown refuses up front with 350 and the service keeps
 * running, never asked to stop. */
static void test_service_stop_denied(void **state)
{
    WCHAR name[64], args[MAX_PATH + 64], ops[256], *rec = rmt_path(L"denied-svc.txt");
    SC_HANDLE scm, svc;
    SERVICE_STATUS st;
    char *text, *svc_rec;
    (void)state;

    swprintf(name, ARRAYSIZE(name), L"rmtDenied%lu", GetCurrentProcessId());
    rmt_service_remove(name);
    swprintf(args, ARRAYSIZE(args), L"--record \"%ls\" service %ls", rec, name);
    assert_int_equal(rmt_service_install(name, NULL, args, NULL, 15000, NULL), ERROR_SUCCESS);
    wcscpy(denied_service, name);
    swprintf(ops, ARRAYSIZE(ops), L"start regsvc %ls list types shutdown end", name);

    text = rmt_run_script(NULL, L"OpenServiceW:1+", ops);
    assert_non_null(strstr(text, "regsvc 0"));
    assert_non_null(strstr(text, "list 234 1 1"));   /* 1 = RmRebootReasonPermissionDenied */
    assert_non_null(strstr(text, "types 0 1000"));  /* RmCritical */
    assert_non_null(strstr(text, "shutdown 350"));
    free(text);
    svc_rec = rmt_read_record(rec);
    assert_null(strstr(svc_rec, "STOP"));
    free(svc_rec);
    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    assert_non_null(scm);
    svc = OpenServiceW(scm, name, SERVICE_QUERY_STATUS);
    assert_non_null(svc);
    assert_true(QueryServiceStatus(svc, &st));
    assert_int_equal(st.dwCurrentState, SERVICE_RUNNING);
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);

    /* Without the refusal the same service is a plain RmService. */
    text = rmt_run_script(NULL, NULL, ops);
    assert_non_null(strstr(text, "types 0 3"));
    assert_non_null(strstr(text, "shutdown 0"));
    free(text);
    rmt_service_remove(name);
    denied_service[0] = 0;
    free(rec);
}

/* ---- the handle scan and the kernel's answer (issue 11) ------------------------------- */

/* The n-th (from 0) "pids" line of a script record: rc, and the PIDs listed. */
static BOOL pids_line(const char *text, int n, unsigned long *rc, DWORD *pids, int *count)
{
    const char *p = text;
    char *end;
    int k = 0;

    for (; (p = strstr(p, "pids ")); p += 5)
        if ((p == text || p[-1] == '\n') && n-- == 0) break;
    if (!p) return FALSE;
    p += 5;
    *rc = strtoul(p, &end, 10);
    strtoul(end, &end, 10);   /* needed */
    for (p = end; *p == ' ' && k < 64; p = end) pids[k++] = strtoul(p, &end, 10);
    *count = k;
    return TRUE;
}

/* The n-th "pids" line says ERROR_SUCCESS and lists exactly the n_expected PIDs. */
static void expect_pids(const char *text, int n, const DWORD *expected, int n_expected)
{
    unsigned long rc = 0;
    DWORD pids[64];
    int count = 0, i, j;

    if (!pids_line(text, n, &rc, pids, &count)) fail_msg("no pids line %d in the record", n);
    assert_int_equal(rc, ERROR_SUCCESS);
    if (count != n_expected) fail_msg("pids line %d lists %d processes, expected %d", n, count, n_expected);
    for (i = 0; i < n_expected; i++)
    {
        for (j = 0; j < count && pids[j] != expected[i]; j++) {}
        if (j == count) fail_msg("pids line %d misses process %lu", n, expected[i]);
    }
}

static DWORD script_pid(const char *text)
{
    const char *p = strstr(text, "mypid ");
    assert_non_null(p);
    return strtoul(p + 6, NULL, 10);
}

/* A helper holding count fresh files named prefix-NN.dat (none registered). */
static struct rmt_child *spawn_holding_many(const WCHAR *prefix, int count)
{
    size_t cch = (size_t)count * (MAX_PATH + 8) + 16;
    WCHAR *args = malloc(cch * sizeof(WCHAR)), name[64];
    struct rmt_child *c;
    size_t len;
    int i;

    assert_non_null(args);
    wcscpy(args, L"hold");
    len = wcslen(args);
    for (i = 0; i < count; i++)
    {
        WCHAR *p;
        swprintf(name, ARRAYSIZE(name), L"%ls-%02d.dat", prefix, i);
        p = rmt_make_file(name);
        len += (size_t)swprintf(args + len, cch - len, L" \"%ls\"", p);
        free(p);
    }
    c = rmt_spawn_tracked(FALSE, 0, args, 20000);
    free(args);
    return c;
}

static ULONG_PTR last_handle_index(const struct rmt_handle_info *info, DWORD pid, BOOL first)
{
    ULONG_PTR i, at = (ULONG_PTR)-1;
    for (i = 0; i < info->NumberOfHandles; i++)
        if (info->Handles[i].UniqueProcessId == pid)
        {
            at = i;
            if (first) break;
        }
    return at;
}

/* The holder's handles come after every handle of the other process in the
 * system's handle table (the order the scan walks it). */
static void assert_later_in_table(const struct rmt_child *before, const struct rmt_child *after)
{
    struct rmt_handle_info *info = rmt_handle_snapshot(NULL);
    ULONG_PTR last, first;
    assert_non_null(info);
    last = last_handle_index(info, before->pid, FALSE);
    first = last_handle_index(info, after->pid, TRUE);
    free(info);
    assert_true(last != (ULONG_PTR)-1 && first != (ULONG_PTR)-1);
    if (first < last) fail_msg("process %lu's handles do not come after process %lu's", after->pid, before->pid);
}

/* Issue 11, item 4: 20 handles of one process do not answer; a holder of the
 * registered file comes later in the handle table. The stuck handles cost their
 * workers, not the scan: the holder is still found, by both calls, and no more
 * than the stuck handles is left unchecked. (Before: the scan stopped after 8
 * stuck handles and the call returned ERROR_SUCCESS with nobody listed.) */
static void test_stuck_handles_then_holder(void **state)
{
    WCHAR *reg = rmt_make_file(L"after-stuck.dat"), args[MAX_PATH + 16], fault[64], ops[MAX_PATH + 64];
    struct rmt_child *stuck, *holder;
    double spent;
    char *text;
    (void)state;

    stuck = spawn_holding_many(L"stuck", 20);
    swprintf(args, ARRAYSIZE(args), L"hold \"%ls\"", reg);
    holder = rmt_spawn_tracked(FALSE, 0, args, 15000);
    assert_later_in_table(stuck, holder);
    swprintf(fault, ARRAYSIZE(fault), L"HandleQuery:1+@%lu", stuck->pid);
    swprintf(ops, ARRAYSIZE(ops), L"start reg \"%ls\" pids pids end", reg);
    text = run_script_timed(fault, ops, &spent);
    expect_pids(text, 0, &holder->pid, 1);
    expect_pids(text, 1, &holder->pid, 1);
    /* 20+ stuck handles at 250 ms each, 2 to 8 workers at a time; then Wine's
     * process start-up. */
    assert_true(spent < 30.0);
    free(text);
    free(reg);
}

/* The bound: more handles do not answer than a process keeps waiting (64). The
 * call does not claim a complete answer: ERROR_SEM_TIMEOUT, both times, in
 * bounded time. (Before: ERROR_SUCCESS, the holder not listed.) */
static void test_too_many_stuck_handles(void **state)
{
    WCHAR *reg = rmt_make_file(L"after-many-stuck.dat"), args[MAX_PATH + 16], fault[64], ops[MAX_PATH + 64];
    struct rmt_child *stuck;
    double spent;
    char *text;
    (void)state;

    stuck = spawn_holding_many(L"many", 80);
    swprintf(args, ARRAYSIZE(args), L"hold \"%ls\"", reg);
    rmt_spawn_tracked(FALSE, 0, args, 15000);
    swprintf(fault, ARRAYSIZE(fault), L"HandleQuery:1+@%lu", stuck->pid);
    swprintf(ops, ARRAYSIZE(ops), L"start reg \"%ls\" list list end", reg);
    text = run_script_timed(fault, ops, &spent);
    assert_int_equal(count_in(text, "list 121 0"), 2);
    assert_non_null(strstr(text, "end 0"));
    assert_true(spent < 30.0);
    free(text);
    free(reg);
}

/* The walk of address spaces for files mapped as data: a process whose queries
 * never answer (under Wine, one killed at the wrong moment of its start-up; here
 * injected with RSTRTMGR_FAULT=WalkQuery) is left unchecked after 2 s and the walk
 * goes on with a fresh worker, so a process that maps the registered file (no
 * handle: only the walk can find it) is still listed, by both calls, in bounded
 * time. (Before the walk had its own worker, such a query hung RmGetList for good:
 * seen once in test_exit_during_getlist, VirtualQueryEx never returning.) */
static void test_walk_query_that_never_returns(void **state)
{
    WCHAR *reg = rmt_make_file(L"walk-mapped.dat"), *other = rmt_make_file(L"walk-other.dat");
    WCHAR args[MAX_PATH + 16], fault[64], ops[MAX_PATH + 64];
    struct rmt_child *stuck, *mapper;
    double spent;
    char *text;
    (void)state;

    swprintf(args, ARRAYSIZE(args), L"map \"%ls\"", other);
    stuck = rmt_spawn_tracked(FALSE, 0, args, 15000);
    swprintf(args, ARRAYSIZE(args), L"map \"%ls\"", reg);
    mapper = rmt_spawn_tracked(FALSE, 0, args, 15000);
    swprintf(fault, ARRAYSIZE(fault), L"WalkQuery:1+@%lu", stuck->pid);
    swprintf(ops, ARRAYSIZE(ops), L"start reg \"%ls\" pids pids end", reg);
    text = run_script_timed(fault, ops, &spent);
    expect_pids(text, 0, &mapper->pid, 1);
    expect_pids(text, 1, &mapper->pid, 1);
    assert_non_null(strstr(text, "end 0"));
    assert_true(spent < rmt_seconds(30.0));
    free(text);
    free(other);
    free(reg);
}

/* The bound: every query of every process hangs, so the lists leave as many
 * workers waiting as a process keeps (16; a list leaves one per process it walks,
 * and there may be fewer than 16 processes). From then on the call does not claim
 * a complete answer: ERROR_SEM_TIMEOUT; each list 0 or 121, the last 121, in
 * bounded time (16 stalls of 2 s; a list after the bound walks nothing). */
static void test_too_many_stuck_walks(void **state)
{
    WCHAR *reg = rmt_make_file(L"walk-many.dat"), ops[MAX_PATH + 64];
    double spent;
    char *text;
    (void)state;

    swprintf(ops, ARRAYSIZE(ops), L"start reg \"%ls\" list list list end", reg);
    text = run_script_timed(L"WalkQuery:1+", ops, &spent);
    assert_int_equal(count_in(text, "list 121 0") + count_in(text, "list 0 0"), 3);
    assert_non_null(strstr(text, "list 121 0 0\nend"));
    assert_non_null(strstr(text, "end 0"));
    assert_true(spent < rmt_seconds(90.0));
    free(text);
    free(reg);
}

/* Issue 11, item 7 (a): a registered file with a path of 260+ characters is
 * asked about in its \\?\ form (the fake refuses the plain form as Windows does).
 * The holder's handles do not answer, so only the kernel's answer can find it. */
static void test_fast_path_long_path(void **state)
{
    size_t cap = 2048;
    WCHAR *dir = malloc(cap * sizeof(WCHAR)), *file = malloc(cap * sizeof(WCHAR)), *ops = malloc(4 * cap * sizeof(WCHAR));
    WCHAR fault[96], *args = malloc(4 * cap * sizeof(WCHAR));
    struct rmt_child *holder;
    HANDLE h;
    char *text;
    int i;
    (void)state;

    swprintf(dir, cap, L"\\\\?\\%ls", rmt_tempdir());
    for (i = 0; i < 6; i++)
    {
        wcscat(dir, L"\\a-directory-name-that-is-rather-long-0123456789");
        CreateDirectoryW(dir, NULL);
    }
    swprintf(file, cap, L"%ls\\fast-long.dat", dir);
    assert_true(wcslen(file) > MAX_PATH + 4);
    h = CreateFileW(file, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    assert_true(h != INVALID_HANDLE_VALUE);
    CloseHandle(h);
    swprintf(args, 4 * cap, L"hold \"%ls\"", file);
    holder = rmt_spawn_tracked(FALSE, 0, args, 15000);
    swprintf(fault, ARRAYSIZE(fault), L"HandleQuery:1+@%lu,FastPath", holder->pid);
    swprintf(ops, 4 * cap, L"start reg \"%ls\" pids pids end", file);
    text = rmt_run_script(NULL, fault, ops);
    expect_pids(text, 0, &holder->pid, 1);
    expect_pids(text, 1, &holder->pid, 1);
    free(text);
    DeleteFileW(file);
    free(dir); free(file); free(ops); free(args);
}

/* Issue 11, item 7 (b): the kernel refuses one file (access denied) and another
 * (a file system without the class); it answers for the third. Each refused file
 * is looked for in the handle table, the third is not (its holder's handles do not
 * answer, so only the kernel's answer finds it), and the refusals do not turn the
 * kernel's answer off for the next call. */
static void test_fast_path_refusals_per_file(void **state)
{
    WCHAR *deny = rmt_make_file(L"fastdeny-1.dat"), *noclass = rmt_make_file(L"fastnoclass-1.dat");
    WCHAR *plain = rmt_make_file(L"fastplain-1.dat"), args[MAX_PATH + 16], fault[96], ops[4 * MAX_PATH];
    DWORD pids[3];
    char *text;
    (void)state;

    swprintf(args, ARRAYSIZE(args), L"hold \"%ls\"", deny);
    pids[0] = rmt_spawn_tracked(FALSE, 0, args, 15000)->pid;
    swprintf(args, ARRAYSIZE(args), L"hold \"%ls\"", noclass);
    pids[1] = rmt_spawn_tracked(FALSE, 0, args, 15000)->pid;
    swprintf(args, ARRAYSIZE(args), L"hold \"%ls\"", plain);
    pids[2] = rmt_spawn_tracked(FALSE, 0, args, 15000)->pid;
    swprintf(fault, ARRAYSIZE(fault), L"HandleQuery:1+@%lu,FastPath", pids[2]);
    swprintf(ops, ARRAYSIZE(ops), L"start reg \"%ls\" reg \"%ls\" reg \"%ls\" pids pids end", deny, noclass, plain);
    text = rmt_run_script(NULL, fault, ops);
    expect_pids(text, 0, pids, 3);
    expect_pids(text, 1, pids, 3);
    free(text);
    free(deny); free(noclass); free(plain);
}

/* Issue 11, item 7 (c): the kernel's answer counts the handle we open to ask, so
 * it names us for every file. We are a user only with another handle or a mapping
 * of the file: not for a file only somebody else holds, yes for one we hold open,
 * yes for one we only have mapped. */
static void test_fast_path_self(void **state)
{
    WCHAR *other = rmt_make_file(L"fastself-other.dat"), *mine = rmt_make_file(L"fastself-open.dat");
    WCHAR *mapped = rmt_make_file(L"fastself-mapped.dat"), args[MAX_PATH + 16], fault[96], ops[4 * MAX_PATH];
    DWORD expected[2];
    char *text;
    (void)state;

    swprintf(args, ARRAYSIZE(args), L"hold \"%ls\"", other);
    expected[0] = rmt_spawn_tracked(FALSE, 0, args, 15000)->pid;
    swprintf(fault, ARRAYSIZE(fault), L"HandleQuery:1+@%lu,FastPath", expected[0]);
    swprintf(ops, ARRAYSIZE(ops), L"mypid start reg \"%ls\" pids open \"%ls\" reg \"%ls\" pids end", other, mine,
             mine);
    text = rmt_run_script(NULL, fault, ops);
    expected[1] = script_pid(text);
    expect_pids(text, 0, expected, 1);
    expect_pids(text, 1, expected, 2);
    free(text);

    swprintf(ops, ARRAYSIZE(ops), L"mypid start map \"%ls\" reg \"%ls\" pids end", mapped, mapped);
    text = rmt_run_script(NULL, fault, ops);
    assert_non_null(strstr(text, "map 0"));
    expected[0] = script_pid(text);
    expect_pids(text, 0, expected, 1);
    free(text);
    free(other); free(mine); free(mapped);
}

/* A file we only have mapped (no handle) is one we use, also where the handle
 * table is the only way (plain Wine): the same answer as the kernel's. */
static void test_self_mapping_without_fast_path(void **state)
{
    WCHAR *mapped = rmt_make_file(L"mapped-only.dat"), ops[2 * MAX_PATH + 64];
    DWORD me;
    char *text;
    (void)state;

    swprintf(ops, ARRAYSIZE(ops), L"mypid start map \"%ls\" reg \"%ls\" pids end", mapped, mapped);
    text = rmt_run_script(NULL, NULL, ops);
    assert_non_null(strstr(text, "map 0"));
    me = script_pid(text);
    expect_pids(text, 0, &me, 1);
    free(text);
    free(mapped);
}

/* Issue 12, item 1: a handle is identified by its file index first and by its
 * volume only when the index is a registered one. Two files on different volumes
 * share an index (played by RSTRTMGR_FAULT=FakeVolume: Wine cannot make such
 * volumes): only the holder of the registered one is listed. */
static void test_same_index_other_volume(void **state)
{
    WCHAR *one = rmt_make_file(L"rmfakevol1-a.dat"), *two = rmt_make_file(L"rmfakevol2-a.dat");
    WCHAR args[MAX_PATH + 16], ops[4 * MAX_PATH];
    DWORD pids[2];
    char *text;
    (void)state;

    swprintf(args, ARRAYSIZE(args), L"hold \"%ls\"", one);
    pids[0] = rmt_spawn_tracked(FALSE, 0, args, 15000)->pid;
    swprintf(args, ARRAYSIZE(args), L"hold \"%ls\"", two);
    pids[1] = rmt_spawn_tracked(FALSE, 0, args, 15000)->pid;
    swprintf(ops, ARRAYSIZE(ops), L"start reg \"%ls\" pids reg \"%ls\" pids end", two, one);
    text = rmt_run_script(NULL, L"FakeVolume", ops);
    expect_pids(text, 0, &pids[1], 1);
    expect_pids(text, 1, pids, 2);
    free(text);
    free(one); free(two);
}

/* Issue 12: a directory that cannot be listed (injected: GetFileInformationByHandleEx
 * refused) costs speed, not answers: its files are opened one by one and the
 * process holding one, registered in another case, is still found. */
static void test_listing_refused_falls_back(void **state)
{
    WCHAR *held = rmt_make_file(L"listing-refused.dat"), args[MAX_PATH + 16], ops[2 * MAX_PATH], *p;
    struct rmt_child *holder;
    DWORD pid;
    char *text;
    (void)state;

    swprintf(args, ARRAYSIZE(args), L"hold \"%ls\"", held);
    holder = rmt_spawn_tracked(FALSE, 0, args, 15000);
    pid = holder->pid;
    for (p = held; *p; p++) *p = (WCHAR)towupper(*p);
    swprintf(ops, ARRAYSIZE(ops), L"start reg \"%ls\" pids end", held);
    text = rmt_run_script(NULL, L"GetFileInformationByHandleEx:1+", ops);
    expect_pids(text, 0, &pid, 1);
    free(text);
    text = rmt_run_script(NULL, NULL, ops);
    expect_pids(text, 0, &pid, 1);
    free(text);
    free(held);
}

/* A file that exists but has no identity (its volume answers no serial number:
 * RSTRTMGR_FAULT=NoVolume plays it, as Wine over a 9p share does) is still
 * matched by its path: the process that loaded it is listed. A registered name
 * that no file in the same directory has is loaded by nobody (spec 5.4 default). */
static void test_loaded_without_identity(void **state)
{
    WCHAR *dir = rmt_path(L"rmnovol-dir"), dll[MAX_PATH], missing[MAX_PATH], ours[MAX_PATH];
    WCHAR args[MAX_PATH + 16], ops[2 * MAX_PATH + 64];
    DWORD pid;
    char *text;
    (void)state;

    assert_true(GetModuleFileNameW(rmt_rstrtmgr_module(), ours, MAX_PATH) > 0);
    CreateDirectoryW(dir, NULL);
    swprintf(dll, MAX_PATH, L"%ls\\rmnovol-loaded.dll", dir);
    swprintf(missing, MAX_PATH, L"%ls\\rmnovol-missing.dll", dir);
    assert_true(CopyFileW(ours, dll, FALSE));
    swprintf(args, ARRAYSIZE(args), L"load \"%ls\"", dll);
    pid = rmt_spawn_tracked(FALSE, 0, args, 15000)->pid;

    swprintf(ops, ARRAYSIZE(ops), L"start reg \"%ls\" pids end", dll);
    text = rmt_run_script(NULL, L"NoVolume", ops);
    expect_pids(text, 0, &pid, 1);
    free(text);
    swprintf(ops, ARRAYSIZE(ops), L"start reg \"%ls\" pids end", missing);
    text = rmt_run_script(NULL, L"NoVolume", ops);
    expect_pids(text, 0, NULL, 0);
    free(text);
    free(dir);
}

static void test_exit_during_getlist(void **state)
{
    WCHAR key[KEYBUF], *file = rmt_make_file(L"churned.dat");
    LPCWSTR files[1] = { file };
    HANDLE t[2];
    DWORD h, t0, r;
    long lists = 0, more = 0, seen = 0;
    (void)state;

    h = rmt_start_tracked(key);
    assert_int_equal(RmRegisterResources(h, 1, files, 0, NULL, 0, NULL), ERROR_SUCCESS);
    spawner_stop = 0;
    spawned = 0;
    assert_non_null(t[0] = CreateThread(NULL, 0, spawner, file, 0, NULL));
    assert_non_null(t[1] = CreateThread(NULL, 0, spawner, file, 0, NULL));
    /* 8 s of lists (scaled: in the emulated VM one list takes seconds), longer,
     * up to three times that, until a list has found a holder. */
    t0 = GetTickCount();
    while (GetTickCount() - t0 < rmt_timeout(8000) || (!seen && GetTickCount() - t0 < rmt_timeout(24000)))
    {
        RM_PROCESS_INFO info[16];
        UINT needed = 0, n = ARRAYSIZE(info);
        DWORD reasons = SENTINEL;
        r = RmGetList(h, &needed, &n, info, &reasons);
        lists++;
        /* Spec 5.5: 0, or ERROR_MORE_DATA when more holders than room; never an
         * error because a process went away meanwhile. */
        if (r == ERROR_MORE_DATA) more++;
        else if (r) fail_msg("RmGetList returned %lu while holders come and go", r);
        else seen += n;
    }
    spawner_stop = 1;
    assert_int_equal(WaitForMultipleObjects(2, t, TRUE, RMT_BOUND_MS), WAIT_OBJECT_0);
    CloseHandle(t[0]);
    CloseHandle(t[1]);
    printf("# %ld RmGetList calls (%ld ERROR_MORE_DATA), %ld holder entries seen, %ld holders "
           "spawned and killed\n", lists, more, seen, spawned);
    assert_true(spawned > 0);
    assert_true(lists > 0);
    assert_true(seen > 0);   /* holders were really found, so some died under a list */
    assert_int_equal(RmGetList(h, &(UINT){0}, &(UINT){0}, NULL, &(DWORD){0}), ERROR_SUCCESS);
    rmt_end_ok(h);
    free(file);
}

static int teardown(void **state)
{
    static const WCHAR *const foreign[] = { L"Session0064", L"Session9999", L"SessionABCD", L"Other" };
    WCHAR path[256];
    size_t i;
    (void)state;
    /* Keys test_foreign_keys planted, should it have stopped half-way: later tests
     * (and the other architecture's run in the same prefix) count the store. */
    for (i = 0; i < ARRAYSIZE(foreign); i++)
    {
        swprintf(path, ARRAYSIZE(path), RMT_STORE_KEY L"\\%ls", foreign[i]);
        RegDeleteTreeW(HKEY_CURRENT_USER, path);
    }
    spawner_stop = 1;
    SetEnvironmentVariableW(L"RSTRTMGR_FAULT", NULL);
    if (denied_service[0]) rmt_service_remove(denied_service);
    denied_service[0] = 0;
    rmt_kill_all();
    rmt_end_all();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_killed_owner_slot_reclaimed, teardown),
        cmocka_unit_test_teardown(test_secondary_killed_mid_registration, teardown),
        cmocka_unit_test_teardown(test_hash_wrong_type, teardown),
        cmocka_unit_test_teardown(test_hash_short, teardown),
        cmocka_unit_test_teardown(test_hash_missing, teardown),
        cmocka_unit_test_teardown(test_hash_other, teardown),
        cmocka_unit_test_teardown(test_malformed_entries, teardown),
        cmocka_unit_test_teardown(test_uncommitted_leftovers_ignored, teardown),
        cmocka_unit_test_teardown(test_store_lock_holder_killed, teardown),
        cmocka_unit_test_teardown(test_failed_rollback_leftover_cleared, teardown),
        cmocka_unit_test_teardown(test_register_under_loader_lock, teardown),
        cmocka_unit_test_teardown(test_foreign_keys, teardown),
        cmocka_unit_test_teardown(test_fault_start, teardown),
        cmocka_unit_test_teardown(test_fault_start_random, teardown),
        cmocka_unit_test_teardown(test_fault_start_takeover, teardown),
        cmocka_unit_test_teardown(test_fault_register, teardown),
        cmocka_unit_test_teardown(test_fault_register_unchanged, teardown),
        cmocka_unit_test_teardown(test_fault_end, teardown),
        cmocka_unit_test_teardown(test_handle_query_that_never_returns, teardown),
        cmocka_unit_test_teardown(test_service_stop_denied, teardown),
        cmocka_unit_test_teardown(test_failure_traced_where_it_happens, teardown),
        cmocka_unit_test_teardown(test_stuck_handles_then_holder, teardown),
        cmocka_unit_test_teardown(test_too_many_stuck_handles, teardown),
        cmocka_unit_test_teardown(test_walk_query_that_never_returns, teardown),
        cmocka_unit_test_teardown(test_too_many_stuck_walks, teardown),
        cmocka_unit_test_teardown(test_fast_path_long_path, teardown),
        cmocka_unit_test_teardown(test_fast_path_refusals_per_file, teardown),
        cmocka_unit_test_teardown(test_fast_path_self, teardown),
        cmocka_unit_test_teardown(test_self_mapping_without_fast_path, teardown),
        cmocka_unit_test_teardown(test_same_index_other_volume, teardown),
        cmocka_unit_test_teardown(test_listing_refused_falls_back, teardown),
        cmocka_unit_test_teardown(test_loaded_without_identity, teardown),
        cmocka_unit_test_teardown(test_exit_during_getlist, teardown),
    };
    return rmt_run_tests_fault_free(tests);
}
