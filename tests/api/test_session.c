/*
 * test_session.c - RmStartSession, RmJoinSession and RmEndSession: arguments, the
 * key, handles, the per-user store in HKCU\Software\Microsoft\RestartManager, the
 * 64-session limit, what a secondary may and may not do, and invalid handles for
 * every function that takes one.
 *
 * Every test ends every session it starts (a teardown ends what an assertion left
 * open), because the whole suite shares one Wine prefix and so one session store.
 */
#include "rmtest.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYBUF (CCH_RM_SESSION_KEY + 1)

/* ---- the store as the registry shows it (readers shared in rmtest.h) ------------- */

static int free_slots(void)
{
    int s, n = 0;
    for (s = 0; s < RMT_NSLOTS; s++)
        if (!rmt_slot_live(s)) n++;
    return n;
}

/* Number of SessionNNNN keys, live or not. */
static int session_keys(void)
{
    int s, n = 0;
    for (s = 0; s < RMT_NSLOTS + 16; s++)
        if (rmt_slot_exists(s)) n++;
    return n;
}

/* A value of slot's key, asserting it can be read; returns its size in bytes. */
static DWORD read_value(DWORD slot, const WCHAR *name, DWORD *type, void *buf, DWORD cb)
{
    LSTATUS st;
    HKEY k = rmt_open_slot(slot, KEY_READ);
    assert_non_null(k);
    st = RegQueryValueExW(k, name, NULL, type, buf, &cb);
    RegCloseKey(k);
    assert_int_equal(st, ERROR_SUCCESS);
    return cb;
}

static BOOL is_key_text(const WCHAR *key)
{
    int i;
    for (i = 0; i < (int)CCH_RM_SESSION_KEY; i++)
        if (!iswxdigit(key[i])) return FALSE;
    return key[CCH_RM_SESSION_KEY] == 0;
}

static int hexval(WCHAR c)
{
    if (c >= L'0' && c <= L'9') return c - L'0';
    if (c >= L'a' && c <= L'f') return c - L'a' + 10;
    if (c >= L'A' && c <= L'F') return c - L'A' + 10;
    return -1;
}

/* ---- RmStartSession --------------------------------------------------------------- */

static void test_start_bad_args(void **state)
{
    WCHAR key[KEYBUF + 8], fill[KEYBUF + 8];
    DWORD h, flags[] = { 1, 2, 0x80000000u, 0xffffffffu };
    int keys_before = session_keys(), i;
    (void)state;

    memset(fill, 0x41, sizeof(fill));

    memset(key, 0x41, sizeof(key));
    assert_int_equal(RmStartSession(NULL, 0, key), ERROR_BAD_ARGUMENTS);
    assert_memory_equal(key, fill, sizeof(key));

    h = SENTINEL;
    assert_int_equal(RmStartSession(&h, 0, NULL), ERROR_BAD_ARGUMENTS);
    assert_int_equal(h, SENTINEL);

    assert_int_equal(RmStartSession(NULL, 0, NULL), ERROR_BAD_ARGUMENTS);

    /* The handle inside the key's 33 characters: one would overwrite the other.
     * Refused, no session created. */
    memset(key, 0x41, sizeof(key));
    assert_int_equal(RmStartSession((DWORD *)&key[4], 0, key), ERROR_BAD_ARGUMENTS);
    assert_memory_equal(key, fill, sizeof(key));

    for (i = 0; i < (int)ARRAYSIZE(flags); i++)
    {
        h = SENTINEL;
        memset(key, 0x41, sizeof(key));
        assert_int_equal(RmStartSession(&h, flags[i], key), ERROR_BAD_ARGUMENTS);
        assert_int_equal(h, SENTINEL);
        assert_memory_equal(key, fill, sizeof(key));
    }
    /* Nothing was created in the store. */
    assert_int_equal(session_keys(), keys_before);
}

static void test_start_writes_exactly_33_wchars(void **state)
{
    WCHAR buf[KEYBUF + 8];
    DWORD h;
    int i;
    (void)state;

    memset(buf, 0x41, sizeof(buf));
    h = rmt_start_tracked(buf);
    for (i = 0; i < (int)CCH_RM_SESSION_KEY; i++)
    {
        assert_true(iswxdigit(buf[i]));
        /* The project emits lowercase hex (spec U3, decided). */
        assert_false(buf[i] >= L'A' && buf[i] <= L'F');
    }
    assert_int_equal(buf[CCH_RM_SESSION_KEY], 0);
    /* The canary right after the 33rd WCHAR, and everything beyond it, survive. */
    for (i = KEYBUF; i < (int)ARRAYSIZE(buf); i++) assert_int_equal(buf[i], 0x4141);
    rmt_end_ok(h);
}

static void test_two_sessions_differ(void **state)
{
    WCHAR k1[KEYBUF], k2[KEYBUF];
    BYTE h1b[32], h2b[32];
    DWORD h1, h2, type;
    (void)state;

    h1 = rmt_start_tracked(k1);
    h2 = rmt_start_tracked(k2);
    assert_int_not_equal(h1, h2);
    assert_true(wcscmp(k1, k2) != 0);
    /* Handles are small: primaries are store slots. */
    assert_true(h1 < RMT_NSLOTS);
    assert_true(h2 < RMT_NSLOTS);
    assert_int_equal(read_value(h1, L"SessionHash", &type, h1b, sizeof(h1b)), 32);
    assert_int_equal(read_value(h2, L"SessionHash", &type, h2b, sizeof(h2b)), 32);
    assert_memory_not_equal(h1b, h2b, 32);
    rmt_end_ok(h2);
    rmt_end_ok(h1);
}

/* Issue 6 (security): keys are cryptographic random numbers, not derived from
 * time, PID or handle. 256 sessions started back to back (same slot, same PID,
 * nearly the same time) must still give keys whose 128 bits each look like coin
 * flips and that share nothing with their neighbours. The bounds fail by chance
 * with probability far below 1e-9. */
static void test_keys_look_random(void **state)
{
    enum { N = 256 };
    static BYTE keys[N][16];
    WCHAR key[KEYBUF], pid_hex[16];
    int i, b, ones[128] = { 0 };
    (void)state;

    swprintf(pid_hex, 16, L"%08lx", GetCurrentProcessId());
    for (i = 0; i < N; i++)
    {
        DWORD h = rmt_start_tracked(key);
        assert_true(is_key_text(key));
        assert_null(wcsstr(key, pid_hex));
        for (b = 0; b < 16; b++)
        {
            unsigned v;
            assert_int_equal(swscanf(key + 2 * b, L"%2x", &v), 1);
            keys[i][b] = (BYTE)v;
        }
        rmt_end_ok(h);
    }
    for (i = 0; i < N; i++)
        for (b = 0; b < 128; b++) ones[b] += (keys[i][b / 8] >> (b % 8)) & 1;
    for (b = 0; b < 128; b++)
        if (ones[b] < 64 || ones[b] > 192) fail_msg("key bit %d set in %d of %d keys", b, ones[b], N);
    for (i = 1; i < N; i++)
    {
        int dist = 0;
        for (b = 0; b < 16; b++)
        {
            BYTE x = keys[i][b] ^ keys[i - 1][b];
            while (x) { dist += x & 1; x >>= 1; }
        }
        if (dist < 24) fail_msg("keys %d and %d differ in only %d bits", i - 1, i, dist);
    }
}

static void test_first_session_gets_lowest_free_slot(void **state)
{
    WCHAR key[KEYBUF];
    DWORD h;
    int expect = rmt_lowest_free_slot();
    (void)state;

    assert_true(expect >= 0);
    if (free_slots() == RMT_NSLOTS)
        printf("# store is empty: the first session must be handle 0\n");
    else
        printf("# store not empty (another process holds a session): expecting slot %d\n", expect);
    h = rmt_start_tracked(key);
    assert_int_equal(h, (DWORD)expect);
    assert_true(rmt_slot_exists(h));
    rmt_end_ok(h);
    if (free_slots() == RMT_NSLOTS)
    {
        /* Now certainly empty: the next first session is handle 0. */
        h = rmt_start_tracked(key);
        assert_int_equal(h, 0);
        rmt_end_ok(h);
    }
}

/* ---- the session's registry key ---------------------------------------------------- */

struct needle
{
    const void *p;
    DWORD len;
    const char *what;
};

static BOOL find_bytes(const BYTE *hay, DWORD n, const void *needle, DWORD m)
{
    DWORD i;
    if (!m || n < m) return FALSE;
    for (i = 0; i + m <= n; i++)
        if (!memcmp(hay + i, needle, m)) return TRUE;
    return FALSE;
}

/* Searches every value name and value data under key (recursively) for the needles. */
static void search_tree(HKEY key, const WCHAR *where, const struct needle *nd, int nn)
{
    DWORD nvalues = 0, nsub = 0, maxname = 0, maxdata = 0, maxsub = 0, i;
    WCHAR *name, *sub;
    BYTE *data;
    int j;

    assert_int_equal(RegQueryInfoKeyW(key, NULL, NULL, NULL, &nsub, &maxsub, NULL, &nvalues, &maxname,
                                      &maxdata, NULL, NULL), ERROR_SUCCESS);
    name = calloc(maxname + 2, sizeof(WCHAR));
    data = calloc(maxdata + 2, 1);
    sub = calloc(maxsub + 2, sizeof(WCHAR));
    assert_true(name && data && sub);
    for (i = 0; i < nvalues; i++)
    {
        DWORD cch = maxname + 1, cb = maxdata + 1, type;
        assert_int_equal(RegEnumValueW(key, i, name, &cch, NULL, &type, data, &cb), ERROR_SUCCESS);
        for (j = 0; j < nn; j++)
        {
            if (find_bytes((BYTE *)name, cch * sizeof(WCHAR), nd[j].p, nd[j].len))
                fail_msg("session key (%s) found in the NAME of value %ls in %ls", nd[j].what, name, where);
            if (find_bytes(data, cb, nd[j].p, nd[j].len))
                fail_msg("session key (%s) found in the DATA of value %ls in %ls", nd[j].what, name, where);
        }
    }
    for (i = 0; i < nsub; i++)
    {
        DWORD cch = maxsub + 1;
        WCHAR path[512];
        HKEY k;
        assert_int_equal(RegEnumKeyExW(key, i, sub, &cch, NULL, NULL, NULL, NULL), ERROR_SUCCESS);
        for (j = 0; j < nn; j++)
            if (find_bytes((BYTE *)sub, cch * sizeof(WCHAR), nd[j].p, nd[j].len))
                fail_msg("session key (%s) found in the key name %ls", nd[j].what, sub);
        swprintf(path, ARRAYSIZE(path), L"%ls\\%ls", where, sub);
        assert_int_equal(RegOpenKeyExW(key, sub, 0, KEY_READ, &k), ERROR_SUCCESS);
        search_tree(k, path, nd, nn);
        RegCloseKey(k);
    }
    free(name);
    free(data);
    free(sub);
}

static void test_session_registry_key(void **state)
{
    WCHAR key[KEYBUF], upper[KEYBUF];
    char ascii_lo[KEYBUF], ascii_up[KEYBUF];
    BYTE raw[16], guid_order[16], hashv[40], owner[16];
    RM_UNIQUE_PROCESS self = rmt_self();
    struct needle nd[6];
    DWORD h, type, cb;
    HKEY root;
    int i;
    (void)state;

    h = rmt_start_tracked(key);
    assert_true(is_key_text(key));
    assert_true(rmt_slot_exists(h));

    /* Owner: this process, PID and creation time. */
    type = 0;
    memset(owner, 0x41, sizeof(owner));
    cb = read_value(h, L"Owner", &type, owner, sizeof(owner));
    assert_int_equal(type, REG_BINARY);
    assert_int_equal(cb, sizeof(RM_UNIQUE_PROCESS));
    assert_memory_equal(owner, &self, sizeof(self));
    /* Sequence 0: nothing registered yet. */
    assert_int_equal(rmt_commits_end(h), 0);
    /* SessionHash: 32 bytes. */
    type = 0;
    cb = read_value(h, L"SessionHash", &type, hashv, sizeof(hashv));
    assert_int_equal(type, REG_BINARY);
    assert_int_equal(cb, 32);

    /* The key itself is stored nowhere, in any spelling. */
    for (i = 0; i < (int)KEYBUF; i++)
    {
        upper[i] = (WCHAR)towupper(key[i]);
        ascii_lo[i] = (char)towlower(key[i]);
        ascii_up[i] = (char)towupper(key[i]);
    }
    for (i = 0; i < 16; i++) raw[i] = (BYTE)(hexval(key[2 * i]) << 4 | hexval(key[2 * i + 1]));
    /* The same 32 digits read as a GUID (first three fields little-endian). */
    memcpy(guid_order, raw, 16);
    for (i = 0; i < 4; i++) guid_order[i] = raw[3 - i];
    guid_order[4] = raw[5]; guid_order[5] = raw[4];
    guid_order[6] = raw[7]; guid_order[7] = raw[6];
    nd[0] = (struct needle){ key, CCH_RM_SESSION_KEY * sizeof(WCHAR), "UTF-16 lowercase" };
    nd[1] = (struct needle){ upper, CCH_RM_SESSION_KEY * sizeof(WCHAR), "UTF-16 uppercase" };
    nd[2] = (struct needle){ ascii_lo, CCH_RM_SESSION_KEY, "ASCII lowercase" };
    nd[3] = (struct needle){ ascii_up, CCH_RM_SESSION_KEY, "ASCII uppercase" };
    nd[4] = (struct needle){ raw, 16, "raw 16 bytes" };
    nd[5] = (struct needle){ guid_order, 16, "bytes in GUID order" };
    assert_int_equal(RegOpenKeyExW(HKEY_CURRENT_USER, RMT_STORE_KEY, 0, KEY_READ, &root), ERROR_SUCCESS);
    search_tree(root, L"HKCU\\" RMT_STORE_KEY, nd, 6);
    RegCloseKey(root);

    /* RmEndSession removes the key. */
    rmt_end_ok(h);
    assert_false(rmt_slot_exists(h));
}

/* ---- the 64-session limit ------------------------------------------------------------ */

static void test_max_sessions(void **state)
{
    WCHAR key[KEYBUF], first_key[KEYBUF], fill[KEYBUF];
    DWORD handles[RMT_NSLOTS], h, ended;
    int nfree = free_slots(), i, keys_full;
    (void)state;

    printf("# %d of %d slots free\n", nfree, RMT_NSLOTS);
    assert_true(nfree > 1);
    for (i = 0; i < nfree; i++)
    {
        handles[i] = rmt_start_tracked(key);
        assert_true(handles[i] < RMT_NSLOTS);
        if (!i) memcpy(first_key, key, sizeof(key));
    }
    keys_full = session_keys();

    /* The 65th (counting sessions of other processes) is refused, writing nothing. */
    h = SENTINEL;
    memset(key, 0x41, sizeof(key));
    memset(fill, 0x41, sizeof(fill));
    assert_int_equal(RmStartSession(&h, 0, key), ERROR_MAX_SESSIONS_REACHED);
    assert_int_equal(h, SENTINEL);
    assert_memory_equal(key, fill, sizeof(key));
    assert_int_equal(session_keys(), keys_full);

    if (nfree == RMT_NSLOTS)
    {
        /* 64 handles in this process: a join is over the per-process limit too. */
        h = SENTINEL;
        assert_int_equal(RmJoinSession(&h, first_key), ERROR_MAX_SESSIONS_REACHED);
        assert_int_equal(h, SENTINEL);
    }

    /* Ending one frees a slot, which the next start takes. */
    ended = handles[nfree / 2];
    rmt_end_ok(ended);
    assert_false(rmt_slot_exists(ended));
    handles[nfree / 2] = rmt_start_tracked(key);
    assert_int_equal(handles[nfree / 2], ended);
    h = SENTINEL;
    assert_int_equal(RmStartSession(&h, 0, key), ERROR_MAX_SESSIONS_REACHED);
    assert_int_equal(h, SENTINEL);

    for (i = 0; i < nfree; i++)
    {
        rmt_end_ok(handles[i]);
        assert_false(rmt_slot_exists(handles[i]));
    }
    assert_int_equal(free_slots(), nfree);
}

/* ---- RmJoinSession ---------------------------------------------------------------- */

static void test_join_bad_args(void **state)
{
    WCHAR key[KEYBUF];
    DWORD h, hp;
    (void)state;

    hp = rmt_start_tracked(key);
    assert_int_equal(RmJoinSession(NULL, key), ERROR_BAD_ARGUMENTS);
    h = SENTINEL;
    assert_int_equal(RmJoinSession(&h, NULL), ERROR_BAD_ARGUMENTS);
    assert_int_equal(h, SENTINEL);
    assert_int_equal(RmJoinSession(NULL, NULL), ERROR_BAD_ARGUMENTS);
    rmt_end_ok(hp);
}

static void expect_join_conflict(const WCHAR *text, const char *what)
{
    DWORD h = SENTINEL, r = RmJoinSession(&h, text);
    if (r != ERROR_SESSION_CREDENTIAL_CONFLICT)
    {
        if (r == ERROR_SUCCESS) { rmt_track(h); }
        fail_msg("RmJoinSession(%s) returned %lu, expected 1219", what, r);
    }
    assert_int_equal(h, SENTINEL);
}

static void test_join_malformed_keys(void **state)
{
    WCHAR key[KEYBUF], bad[KEYBUF + 8];
    DWORD hp;
    (void)state;

    hp = rmt_start_tracked(key);

    expect_join_conflict(L"", "empty");

    wcscpy(bad, key);
    bad[31] = 0;
    expect_join_conflict(bad, "31 chars");

    wcscpy(bad, key);
    bad[32] = L'0';
    bad[33] = 0;
    expect_join_conflict(bad, "33 chars (no NUL at index 32)");

    wcscpy(bad, key);
    bad[32] = L' ';
    bad[33] = 0;
    expect_join_conflict(bad, "key + trailing space");

    bad[0] = L' ';
    memcpy(bad + 1, key, 31 * sizeof(WCHAR));
    bad[32] = 0;
    expect_join_conflict(bad, "leading space, 32 chars");

    wcscpy(bad, key);
    bad[10] = L' ';
    expect_join_conflict(bad, "space inside");

    wcscpy(bad, key);
    bad[5] = L'g';
    expect_join_conflict(bad, "non-hex char g");

    wcscpy(bad, key);
    bad[0] = L'x';
    expect_join_conflict(bad, "non-hex char x");

    wcscpy(bad, key);
    bad[31] = 0x0660;   /* ARABIC-INDIC DIGIT ZERO: a digit, but not hex */
    expect_join_conflict(bad, "non-ASCII digit");

    /* A GUID-formatted spelling of something is not the key format. */
    expect_join_conflict(L"{00000000-0000-0000-0000-000000000000}", "GUID with braces");

    /* The primary still works: the failures changed nothing. */
    assert_int_equal(RmRegisterResources(hp, 0, NULL, 0, NULL, 0, NULL), ERROR_SUCCESS);
    rmt_end_ok(hp);
}

static void test_join_unknown_and_ended_keys(void **state)
{
    WCHAR key[KEYBUF], other[KEYBUF];
    DWORD hp;
    (void)state;

    hp = rmt_start_tracked(key);
    /* Well formed, but not a session: one digit changed. */
    wcscpy(other, key);
    other[31] = other[31] == L'0' ? L'1' : L'0';
    expect_join_conflict(other, "unknown well-formed key");
    other[31] = key[31];
    other[0] = other[0] == L'f' ? L'e' : L'f';
    expect_join_conflict(other, "unknown well-formed key (first digit)");
    expect_join_conflict(L"00000000000000000000000000000000", "all zeros");
    expect_join_conflict(L"ffffffffffffffffffffffffffffffff", "all f");

    /* An ended session's key no longer joins. */
    rmt_end_ok(hp);
    expect_join_conflict(key, "ended session's key");
    for (int i = 0; i < (int)CCH_RM_SESSION_KEY; i++) other[i] = (WCHAR)towupper(key[i]);
    other[CCH_RM_SESSION_KEY] = 0;
    expect_join_conflict(other, "ended session's key, uppercase");
}

static void test_join_valid_key(void **state)
{
    WCHAR key[KEYBUF], upper[KEYBUF];
    DWORD hp, hs, hs2;
    int i;
    (void)state;

    hp = rmt_start_tracked(key);
    hs = rmt_join_tracked(key);
    assert_int_not_equal(hs, hp);
    printf("# primary handle %lu, secondary handle %lu\n", hp, hs);

    /* The key compares without regard to case. */
    for (i = 0; i < (int)KEYBUF; i++) upper[i] = (WCHAR)towupper(key[i]);
    hs2 = rmt_join_tracked(upper);
    assert_int_not_equal(hs2, hp);
    assert_int_not_equal(hs2, hs);

    /* Joining writes nothing into the session. */
    assert_int_equal(rmt_commits_end(hp), 0);

    rmt_end_ok(hs2);
    rmt_end_ok(hs);
    assert_true(rmt_slot_exists(hp));
    rmt_end_ok(hp);
    assert_false(rmt_slot_exists(hp));
}

static void test_secondary_rights(void **state)
{
    WCHAR key[KEYBUF];
    WCHAR *file = rmt_path(L"secondary.txt");
    LPCWSTR files[1] = { file };
    RM_UNIQUE_PROCESS self = rmt_self();
    BYTE buf[256];
    UINT needed, n;
    DWORD hp, hs, reasons, cb;
    (void)state;

    hp = rmt_start_tracked(key);
    hs = rmt_join_tracked(key);

    /* A secondary may register. */
    assert_int_equal(RmRegisterResources(hs, 1, files, 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(hp), 1);

    /* The primary's filter, to prove RmRemoveFilter from the secondary changes nothing. */
    assert_int_equal(RmAddFilter(hp, NULL, NULL, L"RmTestSvc", RmNoRestart), ERROR_SUCCESS);

    /* Everything else is the primary's: 1219, outputs untouched. */
    needed = n = SENTINEL;
    reasons = SENTINEL;
    n = 0;
    assert_int_equal(RmGetList(hs, &needed, &n, NULL, &reasons), ERROR_SESSION_CREDENTIAL_CONFLICT);
    assert_int_equal(needed, SENTINEL);
    assert_int_equal(n, 0);
    assert_int_equal(reasons, SENTINEL);
    assert_int_equal(RmShutdown(hs, 0, NULL), ERROR_SESSION_CREDENTIAL_CONFLICT);
    assert_int_equal(RmShutdown(hs, RmForceShutdown, NULL), ERROR_SESSION_CREDENTIAL_CONFLICT);
    assert_int_equal(RmRestart(hs, 0, NULL), ERROR_SESSION_CREDENTIAL_CONFLICT);
    assert_int_equal(RmCancelCurrentTask(hs), ERROR_SESSION_CREDENTIAL_CONFLICT);
    assert_int_equal(RmAddFilter(hs, NULL, NULL, L"OtherSvc", RmNoShutdown), ERROR_SESSION_CREDENTIAL_CONFLICT);
    assert_int_equal(RmAddFilter(hs, NULL, &self, NULL, RmNoRestart), ERROR_SESSION_CREDENTIAL_CONFLICT);
    assert_int_equal(RmRemoveFilter(hs, NULL, NULL, L"RmTestSvc"), ERROR_SESSION_CREDENTIAL_CONFLICT);
    cb = SENTINEL;
    assert_int_equal(RmGetFilterList(hs, NULL, 0, &cb), ERROR_SESSION_CREDENTIAL_CONFLICT);
    assert_int_equal(cb, SENTINEL);
    cb = SENTINEL;
    memset(buf, 0x41, sizeof(buf));
    assert_int_equal(RmGetFilterList(hs, buf, sizeof(buf), &cb), ERROR_SESSION_CREDENTIAL_CONFLICT);
    assert_int_equal(cb, SENTINEL);
    assert_int_equal(buf[0], 0x41);

    /* The primary's filter is still the only one, unchanged. */
    cb = 0;
    assert_int_equal(RmGetFilterList(hp, buf, sizeof(buf), &cb), ERROR_SUCCESS);
    assert_int_equal(((RM_FILTER_INFO *)buf)->FilterTrigger, RmFilterTriggerService);
    assert_int_equal(((RM_FILTER_INFO *)buf)->FilterAction, RmNoRestart);
    assert_int_equal(((RM_FILTER_INFO *)buf)->cbNextOffset, 0);

    /* The secondary leaves; the primary's session lives on and works. */
    rmt_end_ok(hs);
    assert_true(rmt_slot_exists(hp));
    assert_int_equal(RmRegisterResources(hs, 1, files, 0, NULL, 0, NULL), ERROR_INVALID_HANDLE);
    needed = SENTINEL;
    n = 0;
    assert_int_equal(RmGetList(hp, &needed, &n, NULL, &reasons), ERROR_SUCCESS);
    assert_int_equal(needed, 0);
    assert_int_equal(RmRegisterResources(hp, 0, NULL, 1, &self, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(hp), 2);
    assert_int_equal(RmRemoveFilter(hp, NULL, NULL, L"RmTestSvc"), ERROR_SUCCESS);
    rmt_end_ok(hp);
    free(file);
}

static void test_secondary_after_primary_ends(void **state)
{
    WCHAR key[KEYBUF], key2[KEYBUF];
    WCHAR *file = rmt_path(L"after-end.txt");
    LPCWSTR files[1] = { file };
    DWORD hp, hs, hn;
    (void)state;

    hp = rmt_start_tracked(key);
    hs = rmt_join_tracked(key);
    assert_int_equal(RmRegisterResources(hs, 1, files, 0, NULL, 0, NULL), ERROR_SUCCESS);
    rmt_end_ok(hp);
    assert_false(rmt_slot_exists(hp));

    /* The session is gone: the secondary's handle names nothing. */
    assert_int_equal(RmRegisterResources(hs, 1, files, 0, NULL, 0, NULL), ERROR_INVALID_HANDLE);
    /* ... except for a call that adds nothing (README, Choices: WiX's flush). */
    if (!rmt_conformance()) assert_int_equal(RmRegisterResources(hs, 0, NULL, 0, NULL, 0, NULL), ERROR_SUCCESS);

    /* Not even once the slot holds a new session. */
    if (rmt_lowest_free_slot() == (int)hp)
    {
        hn = rmt_start_tracked(key2);
        assert_int_equal(hn % RMT_NSLOTS, hp);
        assert_int_equal(RmRegisterResources(hs, 1, files, 0, NULL, 0, NULL), ERROR_INVALID_HANDLE);
        assert_int_equal(rmt_commits_end(hn % RMT_NSLOTS), 0);
        /* Leaving must not end the new session. */
        assert_int_equal(RmEndSession(hs), ERROR_SUCCESS);
        rmt_untrack(hs);
        assert_true(rmt_slot_exists(hn % RMT_NSLOTS));
        assert_int_equal(RmRegisterResources(hn, 1, files, 0, NULL, 0, NULL), ERROR_SUCCESS);
        rmt_end_ok(hn);
    }
    else
    {
        /* A secondary may still leave (decided: 0). */
        rmt_end_ok(hs);
    }
    assert_int_equal(RmEndSession(hs), ERROR_INVALID_HANDLE);
    free(file);
}

/* WiX's dutil, as a secondary installer: RmRegisterResources with every count zero
 * (its flush), then RmEndSession. The primary (another installer) ended the session
 * first. The flush must succeed, so that WiX goes on to RmEndSession, which must
 * release the handle (README, Choices). */
static void test_wix_flush_after_primary_ended(void **state)
{
    RMT_OUR_CHOICE("README: a registration that adds nothing succeeds on an ended session (WiX's flush)");
    WCHAR key[KEYBUF];
    DWORD hp, hs;
    (void)state;

    hp = rmt_start_tracked(key);
    hs = rmt_join_tracked(key);
    rmt_end_ok(hp);
    assert_int_equal(RmRegisterResources(hs, 0, NULL, 0, NULL, 0, NULL), ERROR_SUCCESS);
    rmt_end_ok(hs);
    /* Released: the handle names nothing now, not even for a flush. */
    assert_int_equal(RmRegisterResources(hs, 0, NULL, 0, NULL, 0, NULL), ERROR_INVALID_HANDLE);
    assert_int_equal(RmEndSession(hs), ERROR_INVALID_HANDLE);
    /* And on a live session the flush leaves the store as it was. */
    hp = rmt_start_tracked(key);
    assert_int_equal(RmRegisterResources(hp, 0, NULL, 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(hp), 0);
    rmt_end_ok(hp);
}

/* ---- invalid handles ---------------------------------------------------------------- */

static void expect_all_invalid(DWORD h)
{
    WCHAR *file = rmt_path(L"invalid-handle.txt");
    LPCWSTR files[1] = { file };
    RM_UNIQUE_PROCESS self = rmt_self();
    UINT needed = SENTINEL, n = 0;
    DWORD reasons = SENTINEL, cb = SENTINEL;
    BYTE buf[64];

    assert_int_equal(RmRegisterResources(h, 1, files, 0, NULL, 0, NULL), ERROR_INVALID_HANDLE);
    assert_int_equal(RmRegisterResources(h, 0, NULL, 1, &self, 0, NULL), ERROR_INVALID_HANDLE);
    assert_int_equal(RmGetList(h, &needed, &n, NULL, &reasons), ERROR_INVALID_HANDLE);
    assert_int_equal(needed, SENTINEL);
    assert_int_equal(n, 0);
    assert_int_equal(reasons, SENTINEL);
    assert_int_equal(RmShutdown(h, 0, NULL), ERROR_INVALID_HANDLE);
    assert_int_equal(RmRestart(h, 0, NULL), ERROR_INVALID_HANDLE);
    assert_int_equal(RmCancelCurrentTask(h), ERROR_INVALID_HANDLE);
    assert_int_equal(RmAddFilter(h, NULL, NULL, L"RmTestSvc", RmNoRestart), ERROR_INVALID_HANDLE);
    assert_int_equal(RmAddFilter(h, NULL, &self, NULL, RmNoShutdown), ERROR_INVALID_HANDLE);
    assert_int_equal(RmRemoveFilter(h, NULL, NULL, L"RmTestSvc"), ERROR_INVALID_HANDLE);
    assert_int_equal(RmGetFilterList(h, NULL, 0, &cb), ERROR_INVALID_HANDLE);
    assert_int_equal(cb, SENTINEL);
    memset(buf, 0x41, sizeof(buf));
    assert_int_equal(RmGetFilterList(h, buf, sizeof(buf), &cb), ERROR_INVALID_HANDLE);
    assert_int_equal(cb, SENTINEL);
    assert_int_equal(buf[0], 0x41);
    assert_int_equal(RmEndSession(h), ERROR_INVALID_HANDLE);
    free(file);
}

static void test_never_issued_handles(void **state)
{
    DWORD bad[] = { 12345, 0xFFFFFFFFu, 0xDEADBEEFu, 0x7FFFFFFFu, RMT_NSLOTS * RMT_NSLOTS };
    int i;
    (void)state;
    for (i = 0; i < (int)ARRAYSIZE(bad); i++) expect_all_invalid(bad[i]);
}

static void test_ended_handles(void **state)
{
    WCHAR key[KEYBUF];
    DWORD hp, hs;
    (void)state;

    /* An ended primary handle. */
    hp = rmt_start_tracked(key);
    rmt_end_ok(hp);
    expect_all_invalid(hp);

    /* An ended secondary handle, while its session lives on. */
    hp = rmt_start_tracked(key);
    hs = rmt_join_tracked(key);
    rmt_end_ok(hs);
    expect_all_invalid(hs);
    /* Ending the secondary twice did not end the session. */
    assert_true(rmt_slot_exists(hp));
    rmt_end_ok(hp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_start_bad_args, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_start_writes_exactly_33_wchars, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_two_sessions_differ, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_keys_look_random, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_first_session_gets_lowest_free_slot, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_session_registry_key, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_max_sessions, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_join_bad_args, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_join_malformed_keys, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_join_unknown_and_ended_keys, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_join_valid_key, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_secondary_rights, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_secondary_after_primary_ends, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_wix_flush_after_primary_ended, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_never_issued_handles, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_ended_handles, rmt_teardown_sessions),
    };
    return rmt_run_tests(tests);
}
