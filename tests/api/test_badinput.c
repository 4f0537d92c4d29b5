/*
 * test_badinput.c - the complete inventory of bad input, one table row per case, for
 * every export: invalid handles (never issued, ended, 0, 0xFFFFFFFF, another
 * process's session), every NULL pointer, counts that do not match their arrays,
 * counts whose byte size overflows (x86), strings past 32,767 characters, empty
 * strings, malformed and truncated keys, buffers one element or one byte short,
 * unknown flag bits and filter actions, and the NULL callback (allowed).
 *
 * Each row names the call, the Win32 error the spec gives (section cited per row;
 * where the spec says UNCERTAIN the README "Choices" decide, cited as U<n>), and what
 * the call must not write. After every row the fixture session must be exactly as
 * before (RmGetList answers the same, the Sequence and the filter list are
 * unchanged, no session appeared or vanished, the other process's session is
 * untouched), and a later valid registration must still work. Strings and arrays
 * that must not be read past their end are placed right before an inaccessible page,
 * so an over-read crashes the test instead of passing unnoticed.
 *
 * Other tests check many of these cases one by one (test_session.c, test_register.c,
 * test_filters.c, test_misc.c, test_getlist.c); this table repeats them on purpose so
 * it is the single inventory.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "rmspawn.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYBUF (CCH_RM_SESSION_KEY + 1)
#define APP_PATH L"C:\\Program Files\\RmBadInput\\app.exe"
#define SVC_NAME L"RmBadInputSvc"
#define LONG_CHARS 32768                 /* one past the longest path Windows takes */
#define FILTER_BUF 4096

/* ---- memory that ends right before an inaccessible page ------------------------------- */

#define MAX_GUARDED 128
static void *guarded_blocks[MAX_GUARDED];
static int nguarded;

/* bytes of writable memory whose last byte is followed by a PAGE_NOACCESS page;
 * returns the start of those bytes. Freed by guarded_free_all. */
static void *guarded_alloc(size_t bytes)
{
    SYSTEM_INFO si;
    size_t pages, span;
    BYTE *mem;
    DWORD old;

    GetSystemInfo(&si);
    pages = (bytes + si.dwPageSize - 1) / si.dwPageSize;
    span = (pages + 1) * si.dwPageSize;
    mem = VirtualAlloc(NULL, span, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    assert_non_null(mem);
    assert_true(VirtualProtect(mem + pages * si.dwPageSize, si.dwPageSize, PAGE_NOACCESS, &old));
    assert_true(nguarded < MAX_GUARDED);
    guarded_blocks[nguarded++] = mem;
    return mem + pages * si.dwPageSize - bytes;
}

static void guarded_free_all(void)
{
    while (nguarded) VirtualFree(guarded_blocks[--nguarded], 0, MEM_RELEASE);
}

/* A copy of s (with its NUL) whose NUL is the last readable character. */
static const WCHAR *guarded_wstr(const WCHAR *s)
{
    size_t n = wcslen(s) + 1;
    WCHAR *p = guarded_alloc(n * sizeof(WCHAR));
    memcpy(p, s, n * sizeof(WCHAR));
    return p;
}

/* count characters of ch, NUL-terminated, the NUL last before the guard page. */
static const WCHAR *guarded_fill(size_t count, WCHAR ch)
{
    WCHAR *p = guarded_alloc((count + 1) * sizeof(WCHAR));
    size_t i;
    for (i = 0; i < count; i++) p[i] = ch;
    p[count] = 0;
    return p;
}

/* ---- the fixture ------------------------------------------------------------------------- */

enum hkind
{
    H_FIXTURE,          /* the primary handle of the fixture session */
    H_SECONDARY,        /* this process joined the fixture session */
    H_NEVER,            /* never issued */
    H_ENDED_PRIMARY,    /* a primary handle, its session ended */
    H_ENDED_SECONDARY,  /* a secondary handle that left (its session lives on) */
    H_ZERO,             /* 0, not one of ours */
    H_ALL_ONES,         /* 0xFFFFFFFF, the SDK sample's "invalid" sentinel */
    H_OTHER_PROCESS,    /* a live session's handle, issued to another process */
    H_COUNT
};

struct snapshot
{
    DWORD seq;                  /* fixture slot's Sequence */
    UINT needed;                /* RmGetList */
    DWORD pids[8];
    DWORD reasons;
    DWORD cbfilters;            /* RmGetFilterList */
    UINT64 slots;               /* which SessionNNNN keys exist */
    DWORD other_seq;            /* the other process's session */
};

struct fx
{
    DWORD h[H_COUNT];
    DWORD slot, other_slot;
    WCHAR key[KEYBUF], ended_key[KEYBUF];
    WCHAR *held;                            /* a file the holder child holds */
    WCHAR *record;                          /* the other process's --record file */
    struct rmt_child holder, other;
    RM_UNIQUE_PROCESS self;
    int later;                              /* counter for fresh file names */
    struct snapshot base;
    char failures[4096];
    int nfail;
};

static struct fx fx;
static BYTE filt_now[FILTER_BUF], filt_base[FILTER_BUF];
/* Every snapshot fetches its filter list into this one buffer and then copies it, so
 * the string pointers inside the records compare equal between snapshots. */
static BYTE filt_fetch[FILTER_BUF];

static int cmp_dword(const void *a, const void *b)
{
    DWORD x = *(const DWORD *)a, y = *(const DWORD *)b;
    return x < y ? -1 : x > y;
}

static void take_snapshot(struct snapshot *s, BYTE *filters)
{
    RM_PROCESS_INFO apps[8];
    UINT n = ARRAYSIZE(apps), i;
    DWORD r, slot;

    memset(s, 0, sizeof(*s));
    s->seq = rmt_commits_end(fx.slot);
    r = RmGetList(fx.h[H_FIXTURE], &s->needed, &n, apps, &s->reasons);
    if (r != ERROR_SUCCESS) fail_msg("RmGetList on the fixture returned %lu", r);
    assert_int_equal(n, s->needed);
    for (i = 0; i < n; i++) s->pids[i] = apps[i].Process.dwProcessId;
    qsort(s->pids, n, sizeof(DWORD), cmp_dword);
    memset(filt_fetch, 0, FILTER_BUF);
    r = RmGetFilterList(fx.h[H_FIXTURE], filt_fetch, FILTER_BUF, &s->cbfilters);
    if (r != ERROR_SUCCESS) fail_msg("RmGetFilterList on the fixture returned %lu", r);
    memcpy(filters, filt_fetch, FILTER_BUF);
    for (slot = 0; slot < RMT_NSLOTS; slot++)
        if (rmt_slot_exists(slot)) s->slots |= (UINT64)1 << slot;
    s->other_seq = rmt_commits_end(fx.other_slot);
}

/* Starts a session in another process and reads back its handle and key. */
static void start_other_process(void)
{
    WCHAR *out = rmt_path(L"other-session.txt"), args[2 * MAX_PATH + 64];
    char text[128] = { 0 };
    unsigned long handle;
    HANDLE f;
    DWORD got = 0;

    fx.record = rmt_path(L"other-record.txt");
    swprintf(args, ARRAYSIZE(args), L"--record \"%ls\" start --out \"%ls\"", fx.record, out);
    assert_int_equal(rmt_spawn(FALSE, args, RMT_SPAWN_TIMEOUT, &fx.other), ERROR_SUCCESS);
    f = CreateFileW(out, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                    OPEN_EXISTING, 0, NULL);
    assert_true(f != INVALID_HANDLE_VALUE);
    assert_true(ReadFile(f, text, sizeof(text) - 1, &got, NULL));
    CloseHandle(f);
    DeleteFileW(out);
    free(out);
    assert_int_equal(sscanf(text, "%lu", &handle), 1);
    fx.h[H_OTHER_PROCESS] = (DWORD)handle;
    fx.other_slot = (DWORD)handle % RMT_NSLOTS;
    assert_true(rmt_slot_exists(fx.other_slot));
}

static int setup_fixture(void **state)
{
    WCHAR key[KEYBUF], args[MAX_PATH + 64];
    LPCWSTR files[1];
    RM_UNIQUE_PROCESS procs[2];
    DWORD dummy, h;
    int k;
    (void)state;

    memset(&fx, 0, sizeof(fx));
    fx.self = rmt_self();
    /* A dummy first, so the fixture is never handle 0 (0 must be a handle that
     * is not ours). */
    dummy = rmt_start_tracked(key);
    fx.h[H_FIXTURE] = rmt_start_tracked(fx.key);
    fx.slot = fx.h[H_FIXTURE] % RMT_NSLOTS;
    h = rmt_start_tracked(fx.ended_key);
    start_other_process();
    rmt_end_ok(h);
    fx.h[H_ENDED_PRIMARY] = h;
    rmt_end_ok(dummy);

    fx.h[H_SECONDARY] = rmt_join_tracked(fx.key);
    h = rmt_join_tracked(fx.key);
    rmt_end_ok(h);
    fx.h[H_ENDED_SECONDARY] = h;
    fx.h[H_NEVER] = 12345;
    fx.h[H_ZERO] = 0;
    fx.h[H_ALL_ONES] = 0xFFFFFFFFu;
    for (k = H_NEVER; k < H_COUNT; k++)
    {
        assert_int_not_equal(fx.h[k], fx.h[H_FIXTURE]);
        assert_int_not_equal(fx.h[k], fx.h[H_SECONDARY]);
    }

    /* What the fixture holds: a file a child holds, the child and this process as
     * registered processes, and one filter of each trigger. */
    fx.held = rmt_make_file(L"held.txt");
    swprintf(args, ARRAYSIZE(args), L"hold \"%ls\"", fx.held);
    assert_int_equal(rmt_spawn(FALSE, args, RMT_SPAWN_TIMEOUT, &fx.holder), ERROR_SUCCESS);
    files[0] = fx.held;
    procs[0] = fx.self;
    procs[1] = fx.holder.id;
    assert_int_equal(RmRegisterResources(fx.h[H_FIXTURE], 1, files, 2, procs, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(RmAddFilter(fx.h[H_FIXTURE], APP_PATH, NULL, NULL, RmNoRestart), ERROR_SUCCESS);
    assert_int_equal(RmAddFilter(fx.h[H_FIXTURE], NULL, &fx.self, NULL, RmNoShutdown), ERROR_SUCCESS);
    assert_int_equal(RmAddFilter(fx.h[H_FIXTURE], NULL, NULL, SVC_NAME, RmNoRestart), ERROR_SUCCESS);

    take_snapshot(&fx.base, filt_base);
    /* The fixture must be worth comparing: both processes listed, three filters. */
    assert_int_equal(fx.base.needed, 2);
    assert_true(fx.base.cbfilters > 3 * sizeof(RM_FILTER_INFO));
    printf("# fixture: handle %lu, secondary %lu, other process's handle %lu, ended %lu/%lu\n",
           fx.h[H_FIXTURE], fx.h[H_SECONDARY], fx.h[H_OTHER_PROCESS], fx.h[H_ENDED_PRIMARY],
           fx.h[H_ENDED_SECONDARY]);
    return 0;
}

static int teardown_fixture(void **state)
{
    (void)state;
    rmt_end_all();
    rmt_child_kill(&fx.holder);
    rmt_child_kill(&fx.other);
    guarded_free_all();
    free(fx.held);
    free(fx.record);
    fx.held = fx.record = NULL;
    return 0;
}

/* ---- checks a row makes on what it must not write ----------------------------------------- */

static const char *current_row;

#define EXPECT(cond)                                                                        \
    do {                                                                                    \
        if (!(cond)) note_failure("%s: %s (line %d)", current_row, #cond, __LINE__);        \
    } while (0)

static void note_failure(const char *fmt, ...)
{
    char line[300];
    va_list ap;
    size_t used = strlen(fx.failures);
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    printf("# FAIL %s\n", line);
    fx.nfail++;
    if (used + strlen(line) + 2 < sizeof(fx.failures))
    {
        strcat(fx.failures, line);
        strcat(fx.failures, "\n");
    }
}

static BOOL all_bytes(const void *p, size_t n, BYTE v)
{
    const BYTE *b = p;
    size_t i;
    for (i = 0; i < n; i++)
        if (b[i] != v) return FALSE;
    return TRUE;
}

/* A fresh path that does not exist (each valid registration adds one group). */
static WCHAR *fresh_path(void)
{
    WCHAR name[64];
    swprintf(name, ARRAYSIZE(name), L"later-%d.txt", fx.later++);
    return rmt_path(name);
}

static LONG callback_calls;
static void status_callback(UINT percent)   /* cdecl, like the SDK typedef (spec 2.4) */
{
    (void)percent;
    InterlockedIncrement(&callback_calls);
}

/* ---- rows: calls with otherwise valid arguments (used with every handle kind) --------------- */

static DWORD c_end(DWORD h) { return RmEndSession(h); }

static DWORD c_register_file(DWORD h)
{
    WCHAR *p = fresh_path();
    LPCWSTR files[1] = { p };
    DWORD r = RmRegisterResources(h, 1, files, 0, NULL, 0, NULL);
    free(p);
    return r;
}

static DWORD c_register_proc(DWORD h)
{
    RM_UNIQUE_PROCESS p = fx.self;
    return RmRegisterResources(h, 0, NULL, 1, &p, 0, NULL);
}

static DWORD c_register_svc(DWORD h)
{
    LPCWSTR svcs[1] = { L"RmBadInputRegSvc" };
    return RmRegisterResources(h, 0, NULL, 0, NULL, 1, svcs);
}

static DWORD c_list(DWORD h)
{
    UINT needed = SENTINEL, n = 0;
    DWORD reasons = SENTINEL, r = RmGetList(h, &needed, &n, NULL, &reasons);
    if (r != ERROR_SUCCESS && r != ERROR_MORE_DATA)
    {
        EXPECT(needed == SENTINEL);
        EXPECT(n == 0);
        EXPECT(reasons == SENTINEL);
    }
    return r;
}

static DWORD c_list_buffer(DWORD h)
{
    RM_PROCESS_INFO apps[4];
    UINT needed = SENTINEL, n = ARRAYSIZE(apps);
    DWORD reasons = SENTINEL, r;
    memset(apps, 0x41, sizeof(apps));
    r = RmGetList(h, &needed, &n, apps, &reasons);
    if (r != ERROR_SUCCESS)
    {
        EXPECT(needed == SENTINEL);
        EXPECT(n == ARRAYSIZE(apps));
        EXPECT(reasons == SENTINEL);
        EXPECT(all_bytes(apps, sizeof(apps), 0x41));
    }
    return r;
}

/* Never with the fixture handle: it has this process registered. */
static DWORD c_shutdown(DWORD h) { return RmShutdown(h, 0, NULL); }

static DWORD c_shutdown_force_cb(DWORD h)
{
    DWORD r;
    callback_calls = 0;
    r = RmShutdown(h, RmForceShutdown, status_callback);
    EXPECT(callback_calls == 0);
    return r;
}

static DWORD c_restart(DWORD h) { return RmRestart(h, 0, NULL); }

static DWORD c_restart_cb(DWORD h)
{
    DWORD r;
    callback_calls = 0;
    r = RmRestart(h, 0, status_callback);
    EXPECT(callback_calls == 0);
    return r;
}

static DWORD c_cancel(DWORD h) { return RmCancelCurrentTask(h); }

static DWORD c_add_svc(DWORD h) { return RmAddFilter(h, NULL, NULL, L"RmBadInputOther", RmNoShutdown); }

static DWORD c_add_proc(DWORD h)
{
    RM_UNIQUE_PROCESS p = fx.holder.id;
    return RmAddFilter(h, NULL, &p, NULL, RmNoRestart);
}

static DWORD c_add_module(DWORD h) { return RmAddFilter(h, L"C:\\RmBadInput\\other.exe", NULL, NULL, RmNoRestart); }

/* An existing filter of the fixture: removing it through a bad handle must not. */
static DWORD c_remove_svc(DWORD h) { return RmRemoveFilter(h, NULL, NULL, SVC_NAME); }

static DWORD c_remove_proc(DWORD h)
{
    RM_UNIQUE_PROCESS p = fx.self;
    return RmRemoveFilter(h, NULL, &p, NULL);
}

static DWORD c_remove_module(DWORD h) { return RmRemoveFilter(h, APP_PATH, NULL, NULL); }

static DWORD c_filters_size(DWORD h)
{
    DWORD cb = SENTINEL, r = RmGetFilterList(h, NULL, 0, &cb);
    if (r != ERROR_SUCCESS && r != ERROR_MORE_DATA) EXPECT(cb == SENTINEL);
    return r;
}

static DWORD c_filters_buffer(DWORD h)
{
    static BYTE buf[FILTER_BUF];
    DWORD cb = SENTINEL, r;
    memset(buf, 0x41, sizeof(buf));
    r = RmGetFilterList(h, buf, sizeof(buf), &cb);
    if (r != ERROR_SUCCESS)
    {
        EXPECT(cb == SENTINEL);
        EXPECT(all_bytes(buf, sizeof(buf), 0x41));
    }
    return r;
}

/* ---- rows: RmStartSession (spec 5.1) ------------------------------------------------------ */

static DWORD s_null_handle(DWORD h)
{
    WCHAR key[KEYBUF];
    DWORD r;
    (void)h;
    memset(key, 0x41, sizeof(key));
    r = RmStartSession(NULL, 0, key);
    EXPECT(all_bytes(key, sizeof(key), 0x41));
    return r;
}

static DWORD s_null_key(DWORD h)
{
    DWORD out = SENTINEL, r;
    (void)h;
    r = RmStartSession(&out, 0, NULL);
    EXPECT(out == SENTINEL);
    return r;
}

static DWORD s_both_null(DWORD h) { (void)h; return RmStartSession(NULL, 0, NULL); }

static DWORD start_flags(DWORD flags)
{
    WCHAR key[KEYBUF];
    DWORD out = SENTINEL, r;
    memset(key, 0x41, sizeof(key));
    r = RmStartSession(&out, flags, key);
    if (r == ERROR_SUCCESS) { rmt_track(out); return r; }
    EXPECT(out == SENTINEL);
    EXPECT(all_bytes(key, sizeof(key), 0x41));
    return r;
}

static DWORD s_flags_1(DWORD h) { (void)h; return start_flags(1); }
static DWORD s_flags_high(DWORD h) { (void)h; return start_flags(0x80000000u); }
static DWORD s_flags_all(DWORD h) { (void)h; return start_flags(0xFFFFFFFFu); }

/* ---- rows: RmJoinSession (spec 5.2) -------------------------------------------------------- */

static DWORD join_text(const WCHAR *text)
{
    DWORD out = SENTINEL, r = RmJoinSession(&out, text);
    if (r == ERROR_SUCCESS) { rmt_track(out); return r; }
    EXPECT(out == SENTINEL);
    return r;
}

static DWORD j_null_handle(DWORD h) { (void)h; return RmJoinSession(NULL, fx.key); }
static DWORD j_null_key(DWORD h) { (void)h; return join_text(NULL); }
static DWORD j_both_null(DWORD h) { (void)h; return RmJoinSession(NULL, NULL); }
static DWORD j_empty(DWORD h) { (void)h; return join_text(L""); }
static DWORD j_empty_guarded(DWORD h) { (void)h; return join_text(guarded_wstr(L"")); }

static DWORD j_31(DWORD h)
{
    WCHAR k[KEYBUF];
    (void)h;
    wcscpy(k, fx.key);
    k[31] = 0;
    return join_text(k);
}

static DWORD j_31_guarded(DWORD h)
{
    WCHAR k[KEYBUF];
    (void)h;
    wcscpy(k, fx.key);
    k[31] = 0;
    return join_text(guarded_wstr(k));
}

static DWORD j_short_odd_guarded(DWORD h) { (void)h; return join_text(guarded_wstr(L"abc")); }

static DWORD j_33(DWORD h)
{
    WCHAR k[KEYBUF + 1];
    (void)h;
    wcscpy(k, fx.key);
    k[32] = L'0';
    k[33] = 0;
    return join_text(k);
}

/* The valid key followed by more hex digits: no NUL within the 33 characters. */
static DWORD j_no_nul_in_33(DWORD h)
{
    WCHAR k[48];
    (void)h;
    wcscpy(k, fx.key);
    wcscat(k, L"0123456789abcde");
    return join_text(k);
}

static DWORD j_huge(DWORD h)
{
    WCHAR *k = (WCHAR *)guarded_fill(40000, L'a');
    (void)h;
    memcpy(k, fx.key, CCH_RM_SESSION_KEY * sizeof(WCHAR));
    return join_text(k);
}

static DWORD j_embedded_nul(DWORD h)
{
    WCHAR k[KEYBUF];
    (void)h;
    wcscpy(k, fx.key);
    k[16] = 0;
    return join_text(k);
}

static DWORD j_nonhex(DWORD h)
{
    WCHAR k[KEYBUF];
    (void)h;
    wcscpy(k, fx.key);
    k[7] = L'g';
    return join_text(k);
}

static DWORD j_space(DWORD h)
{
    WCHAR k[KEYBUF];
    (void)h;
    wcscpy(k, fx.key);
    k[0] = L' ';
    return join_text(k);
}

static DWORD j_guid(DWORD h) { (void)h; return join_text(L"{00000000-0000-0000-0000-000000000000}"); }
static DWORD j_ended(DWORD h) { (void)h; return join_text(fx.ended_key); }

static DWORD j_unknown(DWORD h)
{
    WCHAR k[KEYBUF];
    (void)h;
    wcscpy(k, fx.key);
    k[31] = k[31] == L'0' ? L'1' : L'0';
    return join_text(k);
}

/* ---- rows: RmRegisterResources (spec 5.4) ------------------------------------------------- */

static DWORD r_files_null(DWORD h) { return RmRegisterResources(h, 1, NULL, 0, NULL, 0, NULL); }
static DWORD r_procs_null(DWORD h) { return RmRegisterResources(h, 0, NULL, 1, NULL, 0, NULL); }
static DWORD r_svcs_null(DWORD h) { return RmRegisterResources(h, 0, NULL, 0, NULL, 1, NULL); }
static DWORD r_all_null(DWORD h) { return RmRegisterResources(h, 3, NULL, 3, NULL, 3, NULL); }
static DWORD r_files_max_null(DWORD h) { return RmRegisterResources(h, UINT_MAX, NULL, 0, NULL, 0, NULL); }

static DWORD r_valid_files_null_svcs(DWORD h)
{
    WCHAR *p = fresh_path();
    LPCWSTR files[1] = { p };
    DWORD r = RmRegisterResources(h, 1, files, 0, NULL, 2, NULL);
    free(p);
    return r;
}

static DWORD r_valid_files_null_procs(DWORD h)
{
    WCHAR *p = fresh_path();
    LPCWSTR files[1] = { p };
    DWORD r = RmRegisterResources(h, 1, files, 1, NULL, 0, NULL);
    free(p);
    return r;
}

static DWORD r_null_entry_first(DWORD h)
{
    WCHAR *p = fresh_path();
    LPCWSTR files[2] = { NULL, p };
    DWORD r = RmRegisterResources(h, 2, files, 0, NULL, 0, NULL);
    free(p);
    return r;
}

static DWORD r_null_entry_last(DWORD h)
{
    WCHAR *p = fresh_path();
    LPCWSTR files[3] = { p, fx.held, NULL };
    RM_UNIQUE_PROCESS proc = fx.self;
    DWORD r = RmRegisterResources(h, 3, files, 1, &proc, 0, NULL);
    free(p);
    return r;
}

static DWORD r_null_svc_entry(DWORD h)
{
    WCHAR *p = fresh_path();
    LPCWSTR files[1] = { p }, svcs[2] = { L"RmBadInputRegSvc", NULL };
    DWORD r = RmRegisterResources(h, 1, files, 0, NULL, 2, svcs);
    free(p);
    return r;
}

static DWORD r_empty_file(DWORD h)
{
    WCHAR *p = fresh_path();
    LPCWSTR files[2] = { p, L"" };
    DWORD r = RmRegisterResources(h, 2, files, 0, NULL, 0, NULL);
    free(p);
    return r;
}

static DWORD r_empty_file_guarded(DWORD h)
{
    LPCWSTR files[1] = { guarded_wstr(L"") };
    return RmRegisterResources(h, 1, files, 0, NULL, 0, NULL);
}

static DWORD r_empty_svc(DWORD h)
{
    LPCWSTR svcs[2] = { L"RmBadInputRegSvc", L"" };
    return RmRegisterResources(h, 0, NULL, 0, NULL, 2, svcs);
}

/* \\?\C:\aaa...: 32,768 characters, the NUL just before the guard page. */
static const WCHAR *long_path(void)
{
    WCHAR *p = (WCHAR *)guarded_fill(LONG_CHARS, L'a');
    size_t i;
    memcpy(p, L"\\\\?\\C:\\", 7 * sizeof(WCHAR));
    for (i = 200; i < LONG_CHARS; i += 200) p[i] = L'\\';
    return p;
}

static DWORD r_long_file(DWORD h)
{
    WCHAR *p = fresh_path();
    LPCWSTR files[2] = { p, long_path() };
    DWORD r = RmRegisterResources(h, 2, files, 0, NULL, 0, NULL);
    free(p);
    return r;
}

static DWORD r_long_svc(DWORD h)
{
    LPCWSTR svcs[1] = { guarded_fill(257, L'S') };
    return RmRegisterResources(h, 0, NULL, 0, NULL, 1, svcs);
}

static DWORD r_huge_svc(DWORD h)
{
    LPCWSTR svcs[1] = { guarded_fill(LONG_CHARS, L'S') };
    return RmRegisterResources(h, 0, NULL, 0, NULL, 1, svcs);
}

/* Counts 0 with junk arrays: a no-op that reads nothing (spec U7). */
static DWORD r_zero_counts_junk(DWORD h)
{
    LPCWSTR *junk = (LPCWSTR *)guarded_alloc(0);
    return RmRegisterResources(h, 0, junk, 0, (RM_UNIQUE_PROCESS *)junk, 0, junk);
}

#ifndef _WIN64
/* x86: counts whose arrays would not fit in the address space. The arrays hold two
 * valid entries and end at a guard page, so walking them would crash. */
static LPCWSTR *two_names(void)
{
    LPCWSTR *a = guarded_alloc(2 * sizeof(LPCWSTR));
    a[0] = L"C:\\overflow-a.txt";
    a[1] = L"C:\\overflow-b.txt";
    return a;
}

static RM_UNIQUE_PROCESS *two_procs(void)
{
    RM_UNIQUE_PROCESS *a = guarded_alloc(2 * sizeof(RM_UNIQUE_PROCESS));
    a[0] = fx.self;
    a[1] = fx.holder.id;
    return a;
}

static DWORD r_files_uintmax(DWORD h) { return RmRegisterResources(h, UINT_MAX, two_names(), 0, NULL, 0, NULL); }
static DWORD r_files_4g(DWORD h) { return RmRegisterResources(h, 0x40000000u, two_names(), 0, NULL, 0, NULL); }
static DWORD r_procs_uintmax(DWORD h) { return RmRegisterResources(h, 0, NULL, UINT_MAX, two_procs(), 0, NULL); }
static DWORD r_procs_4g(DWORD h)
{
    /* The smallest count whose byte size passes 4 GiB. */
    UINT n = (UINT)(0x100000000ull / sizeof(RM_UNIQUE_PROCESS) + 1);
    return RmRegisterResources(h, 0, NULL, n, two_procs(), 0, NULL);
}
static DWORD r_svcs_uintmax(DWORD h) { return RmRegisterResources(h, 0, NULL, 0, NULL, UINT_MAX, two_names()); }
static DWORD r_svcs_4g(DWORD h) { return RmRegisterResources(h, 0, NULL, 0, NULL, 0x40000000u, two_names()); }
#endif

/* ---- rows: RmGetList (spec 5.5) ------------------------------------------------------------ */

static DWORD l_null_needed(DWORD h)
{
    UINT n = 0;
    DWORD reasons = SENTINEL, r = RmGetList(h, NULL, &n, NULL, &reasons);
    EXPECT(n == 0);
    EXPECT(reasons == SENTINEL);
    return r;
}

static DWORD l_null_count(DWORD h)
{
    UINT needed = SENTINEL;
    DWORD reasons = SENTINEL, r = RmGetList(h, &needed, NULL, NULL, &reasons);
    EXPECT(needed == SENTINEL);
    EXPECT(reasons == SENTINEL);
    return r;
}

static DWORD l_null_reasons(DWORD h)
{
    RM_PROCESS_INFO apps[4];
    UINT needed = SENTINEL, n = ARRAYSIZE(apps);
    DWORD r;
    memset(apps, 0x41, sizeof(apps));
    r = RmGetList(h, &needed, &n, apps, NULL);
    EXPECT(needed == SENTINEL);
    EXPECT(n == ARRAYSIZE(apps));
    EXPECT(all_bytes(apps, sizeof(apps), 0x41));
    return r;
}

static DWORD l_all_null(DWORD h) { return RmGetList(h, NULL, NULL, NULL, NULL); }

static DWORD list_null_array(UINT cap)
{
    UINT needed = SENTINEL, n = cap;
    DWORD reasons = SENTINEL, r = RmGetList(fx.h[H_FIXTURE], &needed, &n, NULL, &reasons);
    if (r == ERROR_BAD_ARGUMENTS)
    {
        EXPECT(needed == SENTINEL);
        EXPECT(n == cap);
        EXPECT(reasons == SENTINEL);
    }
    return r;
}

static DWORD l_cap1_null_array(DWORD h) { (void)h; return list_null_array(1); }
static DWORD l_capmax_null_array(DWORD h) { (void)h; return list_null_array(UINT_MAX); }

/* The size query: 234 with the count needed. */
static DWORD l_size_query(DWORD h)
{
    UINT needed = SENTINEL, n = 0;
    DWORD reasons = SENTINEL, r = RmGetList(h, &needed, &n, NULL, &reasons);
    EXPECT(needed == fx.base.needed);
    EXPECT(n == 0);
    return r;
}

/* One element short: 234, the count needed, *pnProcInfo 0 and the array untouched
 * (U6: nothing half-written). The array ends at a guard page. */
static DWORD l_short_by_one(DWORD h)
{
    UINT cap = fx.base.needed - 1, needed = SENTINEL, n = cap;
    RM_PROCESS_INFO *apps = guarded_alloc(cap * sizeof(RM_PROCESS_INFO));
    DWORD reasons = SENTINEL, r;
    memset(apps, 0x41, cap * sizeof(RM_PROCESS_INFO));
    r = RmGetList(h, &needed, &n, apps, &reasons);
    EXPECT(needed == fx.base.needed);
    EXPECT(n == 0);
    EXPECT(all_bytes(apps, cap * sizeof(RM_PROCESS_INFO), 0x41));
    return r;
}

/* ---- rows: RmShutdown (spec 5.6) and RmRestart (spec 5.7) ---------------------------------- */

static DWORD shutdown_flags(DWORD h, ULONG flags)
{
    DWORD r;
    callback_calls = 0;
    r = RmShutdown(h, flags, status_callback);
    EXPECT(callback_calls == 0);
    return r;
}

static DWORD sd_flag_2(DWORD h) { return shutdown_flags(h, 0x2); }
static DWORD sd_flag_4(DWORD h) { return shutdown_flags(h, 0x4); }
static DWORD sd_flag_8(DWORD h) { return shutdown_flags(h, 0x8); }
static DWORD sd_flag_20(DWORD h) { return shutdown_flags(h, 0x20); }
static DWORD sd_flag_100(DWORD h) { return shutdown_flags(h, 0x100); }
static DWORD sd_flag_high(DWORD h) { return shutdown_flags(h, 0x80000000u); }
static DWORD sd_flag_all(DWORD h) { return shutdown_flags(h, 0xFFFFFFFFu); }
static DWORD sd_force_plus(DWORD h) { return shutdown_flags(h, RmForceShutdown | 0x2); }
static DWORD sd_onlyreg_plus(DWORD h) { return shutdown_flags(h, RmShutdownOnlyRegistered | 0x40000000u); }
static DWORD sd_bad_null_cb(DWORD h) { return RmShutdown(h, 0x4, NULL); }

static DWORD rs_flag_1(DWORD h) { return RmRestart(h, 1, NULL); }
static DWORD rs_flag_high(DWORD h) { return RmRestart(h, 0x80000000u, status_callback); }
static DWORD rs_flag_all(DWORD h) { return RmRestart(h, 0xFFFFFFFFu, NULL); }

/* ---- rows: RmAddFilter (5.9), RmRemoveFilter (5.10) ---------------------------------------- */

static DWORD f_add_none(DWORD h) { return RmAddFilter(h, NULL, NULL, NULL, RmNoRestart); }

static DWORD f_add_module_proc(DWORD h)
{
    RM_UNIQUE_PROCESS p = fx.self;
    return RmAddFilter(h, L"C:\\x.exe", &p, NULL, RmNoRestart);
}

static DWORD f_add_module_svc(DWORD h) { return RmAddFilter(h, L"C:\\x.exe", NULL, L"Svc", RmNoShutdown); }

static DWORD f_add_proc_svc(DWORD h)
{
    RM_UNIQUE_PROCESS p = fx.self;
    return RmAddFilter(h, NULL, &p, L"Svc", RmNoRestart);
}

static DWORD f_add_all3(DWORD h)
{
    RM_UNIQUE_PROCESS p = fx.self;
    return RmAddFilter(h, L"C:\\x.exe", &p, L"Svc", RmNoRestart);
}

static DWORD f_add_action(DWORD h, int action)
{
    return RmAddFilter(h, NULL, NULL, L"RmBadInputOther", (RM_FILTER_ACTION)action);
}

static DWORD f_action_0(DWORD h) { return f_add_action(h, RmInvalidFilterAction); }
static DWORD f_action_3(DWORD h) { return f_add_action(h, 3); }
static DWORD f_action_neg(DWORD h) { return f_add_action(h, -1); }
static DWORD f_action_max(DWORD h) { return f_add_action(h, INT_MAX); }
static DWORD f_action_min(DWORD h) { return f_add_action(h, INT_MIN); }

static DWORD f_action_bad_proc(DWORD h)
{
    RM_UNIQUE_PROCESS p = fx.self;
    return RmAddFilter(h, NULL, &p, NULL, (RM_FILTER_ACTION)4);
}

static DWORD f_add_empty_module(DWORD h) { return RmAddFilter(h, guarded_wstr(L""), NULL, NULL, RmNoRestart); }
static DWORD f_add_empty_svc(DWORD h) { return RmAddFilter(h, NULL, NULL, guarded_wstr(L""), RmNoRestart); }
static DWORD f_add_long_module(DWORD h) { return RmAddFilter(h, long_path(), NULL, NULL, RmNoRestart); }
static DWORD f_add_long_svc(DWORD h) { return RmAddFilter(h, NULL, NULL, guarded_fill(257, L'S'), RmNoRestart); }
static DWORD f_add_huge_svc(DWORD h) { return RmAddFilter(h, NULL, NULL, guarded_fill(LONG_CHARS, L'S'), RmNoShutdown); }

static DWORD f_rm_none(DWORD h) { return RmRemoveFilter(h, NULL, NULL, NULL); }

static DWORD f_rm_module_proc(DWORD h)
{
    RM_UNIQUE_PROCESS p = fx.self;
    return RmRemoveFilter(h, APP_PATH, &p, NULL);
}

static DWORD f_rm_proc_svc(DWORD h)
{
    RM_UNIQUE_PROCESS p = fx.self;
    return RmRemoveFilter(h, NULL, &p, SVC_NAME);
}

static DWORD f_rm_all3(DWORD h)
{
    RM_UNIQUE_PROCESS p = fx.self;
    return RmRemoveFilter(h, APP_PATH, &p, SVC_NAME);
}

static DWORD f_rm_empty_module(DWORD h) { return RmRemoveFilter(h, guarded_wstr(L""), NULL, NULL); }
static DWORD f_rm_empty_svc(DWORD h) { return RmRemoveFilter(h, NULL, NULL, guarded_wstr(L"")); }
static DWORD f_rm_long_module(DWORD h) { return RmRemoveFilter(h, long_path(), NULL, NULL); }
static DWORD f_rm_long_svc(DWORD h) { return RmRemoveFilter(h, NULL, NULL, guarded_fill(257, L'S')); }
static DWORD f_rm_missing_svc(DWORD h) { return RmRemoveFilter(h, NULL, NULL, guarded_wstr(L"RmBadInputNoSuch")); }

static DWORD f_rm_missing_proc(DWORD h)
{
    RM_UNIQUE_PROCESS p = fx.holder.id;   /* registered, but no filter names it */
    return RmRemoveFilter(h, NULL, &p, NULL);
}

static DWORD f_rm_missing_module(DWORD h) { return RmRemoveFilter(h, L"C:\\RmBadInput\\none.exe", NULL, NULL); }

/* ---- rows: RmGetFilterList (spec 5.11) ------------------------------------------------------ */

static DWORD g_null_needed(DWORD h)
{
    static BYTE buf[FILTER_BUF];
    DWORD r;
    memset(buf, 0x41, sizeof(buf));
    r = RmGetFilterList(h, buf, sizeof(buf), NULL);
    EXPECT(all_bytes(buf, sizeof(buf), 0x41));
    return r;
}

static DWORD g_all_null(DWORD h) { return RmGetFilterList(h, NULL, 0, NULL); }

static DWORD filters_null_buf(DWORD h, DWORD cb_in)
{
    DWORD cb = SENTINEL, r = RmGetFilterList(h, NULL, cb_in, &cb);
    EXPECT(cb == SENTINEL);
    return r;
}

static DWORD g_null_buf_1(DWORD h) { return filters_null_buf(h, 1); }
static DWORD g_null_buf_4096(DWORD h) { return filters_null_buf(h, 4096); }
static DWORD g_null_buf_max(DWORD h) { return filters_null_buf(h, 0xFFFFFFFFu); }

/* Too small by some bytes: 234, the exact size needed, the buffer untouched (U9,
 * U6's nothing-half-written rule). The buffer ends at a guard page. */
static DWORD filters_short(DWORD h, DWORD cb_in)
{
    BYTE *buf = cb_in ? guarded_alloc(cb_in) : guarded_alloc(0);
    DWORD cb = SENTINEL, r;
    memset(buf, 0x41, cb_in);
    r = RmGetFilterList(h, buf, cb_in, &cb);
    EXPECT(cb == fx.base.cbfilters);
    EXPECT(all_bytes(buf, cb_in, 0x41));
    return r;
}

static DWORD g_short_by_one(DWORD h) { return filters_short(h, fx.base.cbfilters - 1); }
static DWORD g_records_only(DWORD h) { return filters_short(h, 3 * (DWORD)sizeof(RM_FILTER_INFO)); }
static DWORD g_one_record_minus_one(DWORD h) { return filters_short(h, (DWORD)sizeof(RM_FILTER_INFO) - 1); }
static DWORD g_one_byte(DWORD h) { return filters_short(h, 1); }
static DWORD g_zero_nonnull(DWORD h) { return filters_short(h, 0); }

/* ---- rows: RmCancelCurrentTask (5.8) and RmReserveHeap (5.12) ------------------------------- */

static DWORD rh_0(DWORD h) { (void)h; return RmReserveHeap(0); }
static DWORD rh_1(DWORD h) { (void)h; return RmReserveHeap(1); }
static DWORD rh_max(DWORD h) { (void)h; return RmReserveHeap((ULONG_PTR)-1); }
static DWORD rh_ptr(DWORD h) { (void)h; return RmReserveHeap((ULONG_PTR)&fx); }

/* ---- the table ------------------------------------------------------------------------------ */

struct row
{
    const char *name;
    const char *cite;     /* spec section, or README Choice */
    enum hkind handle;    /* the handle the call gets */
    DWORD expect;
    DWORD (*call)(DWORD h);
    DWORD alt;            /* a second acceptable answer, or 0 for none */
};

#define E_BAD ERROR_BAD_ARGUMENTS
#define E_INVH ERROR_INVALID_HANDLE
#define E_CONFLICT ERROR_SESSION_CREDENTIAL_CONFLICT

/* Every kind of handle that names no session of this process. */
#define INVALID_HANDLES(fn, cite)                                                              \
    { #fn " never-issued", cite, H_NEVER, E_INVH, fn, 0 },                                         \
    { #fn " ended primary", cite, H_ENDED_PRIMARY, E_INVH, fn, 0 },                                \
    { #fn " ended secondary", cite, H_ENDED_SECONDARY, E_INVH, fn, 0 },                            \
    { #fn " 0", cite, H_ZERO, E_INVH, fn, 0 },                                                      \
    { #fn " 0xFFFFFFFF", cite, H_ALL_ONES, E_INVH, fn, 0 },                                         \
    { #fn " other process's", cite, H_OTHER_PROCESS, E_INVH, fn, 0 }

static const struct row rows[] = {
    /* RmStartSession, spec 5.1: NULL pointers 160 (generic rule), reserved flags 160 (U4). */
    { "start NULL handle pointer", "5.1", H_FIXTURE, E_BAD, s_null_handle, 0 },
    { "start NULL key buffer", "5.1", H_FIXTURE, E_BAD, s_null_key, 0 },
    { "start both NULL", "5.1", H_FIXTURE, E_BAD, s_both_null, 0 },
    { "start flags 1", "5.1, U4", H_FIXTURE, E_BAD, s_flags_1, 0 },
    { "start flags 0x80000000", "5.1, U4", H_FIXTURE, E_BAD, s_flags_high, 0 },
    { "start flags 0xFFFFFFFF", "5.1, U4", H_FIXTURE, E_BAD, s_flags_all, 0 },

    /* RmJoinSession, spec 5.2: NULL 160; a key that cannot be validated 1219. */
    { "join NULL handle pointer", "5.2", H_FIXTURE, E_BAD, j_null_handle, 0 },
    { "join NULL key", "5.2", H_FIXTURE, E_BAD, j_null_key, 0 },
    { "join both NULL", "5.2", H_FIXTURE, E_BAD, j_both_null, 0 },
    { "join empty key", "5.2", H_FIXTURE, E_CONFLICT, j_empty, 0 },
    { "join empty key at page end", "5.2", H_FIXTURE, E_CONFLICT, j_empty_guarded, 0 },
    { "join 31 chars", "5.2", H_FIXTURE, E_CONFLICT, j_31, 0 },
    { "join 31 chars at page end", "5.2", H_FIXTURE, E_CONFLICT, j_31_guarded, 0 },
    { "join 3 chars at page end", "5.2", H_FIXTURE, E_CONFLICT, j_short_odd_guarded, 0 },
    { "join 33 chars", "5.2", H_FIXTURE, E_CONFLICT, j_33, 0 },
    { "join no NUL within 33", "5.2", H_FIXTURE, E_CONFLICT, j_no_nul_in_33, 0 },
    { "join 40000 chars", "5.2", H_FIXTURE, E_CONFLICT, j_huge, 0 },
    { "join NUL at 16", "5.2", H_FIXTURE, E_CONFLICT, j_embedded_nul, 0 },
    { "join non-hex char", "5.2", H_FIXTURE, E_CONFLICT, j_nonhex, 0 },
    { "join leading space", "5.2", H_FIXTURE, E_CONFLICT, j_space, 0 },
    { "join GUID with braces", "5.2", H_FIXTURE, E_CONFLICT, j_guid, 0 },
    { "join ended session's key", "5.2", H_FIXTURE, E_CONFLICT, j_ended, 0 },
    { "join unknown well-formed key", "5.2", H_FIXTURE, E_CONFLICT, j_unknown, 0 },

    /* RmEndSession, spec 5.3: no session for the handle 6. */
    INVALID_HANDLES(c_end, "5.3"),

    /* RmRegisterResources, spec 5.4: 6 for the handle; 160 for a NULL array with a
     * non-zero count, a NULL entry, "etc." (empty and over-long strings, counts that
     * cannot be arrays: the checks test_register.c decided); all-or-nothing. */
    INVALID_HANDLES(c_register_file, "5.4"),
    INVALID_HANDLES(c_register_proc, "5.4"),
    INVALID_HANDLES(c_register_svc, "5.4"),
    { "register files NULL, count 1", "5.4", H_FIXTURE, E_BAD, r_files_null, 0 },
    { "register procs NULL, count 1", "5.4", H_FIXTURE, E_BAD, r_procs_null, 0 },
    { "register svcs NULL, count 1", "5.4", H_FIXTURE, E_BAD, r_svcs_null, 0 },
    { "register all NULL, counts 3", "5.4", H_FIXTURE, E_BAD, r_all_null, 0 },
    { "register files NULL, count UINT_MAX", "5.4", H_FIXTURE, E_BAD, r_files_max_null, 0 },
    { "register NULL files array, bad handle", "5.4 + 6 or 1219: order unspecified", H_NEVER, E_BAD, r_files_null, E_INVH },
    { "register valid file + svcs NULL count 2", "5.4", H_FIXTURE, E_BAD, r_valid_files_null_svcs, 0 },
    { "register valid file + procs NULL count 1", "5.4", H_FIXTURE, E_BAD, r_valid_files_null_procs, 0 },
    { "register NULL file entry first", "5.4", H_FIXTURE, E_BAD, r_null_entry_first, 0 },
    { "register NULL file entry last", "5.4", H_FIXTURE, E_BAD, r_null_entry_last, 0 },
    { "register NULL service entry", "5.4", H_FIXTURE, E_BAD, r_null_svc_entry, 0 },
    { "register empty file name", "5.4", H_FIXTURE, E_BAD, r_empty_file, 0 },
    { "register empty file name at page end", "5.4", H_FIXTURE, E_BAD, r_empty_file_guarded, 0 },
    { "register empty service name", "5.4", H_FIXTURE, E_BAD, r_empty_svc, 0 },
    { "register 32768-char path", "5.4", H_FIXTURE, E_BAD, r_long_file, 0 },
    { "register 257-char service", "5.4", H_FIXTURE, E_BAD, r_long_svc, 0 },
    { "register 32768-char service", "5.4", H_FIXTURE, E_BAD, r_huge_svc, 0 },
    { "register counts 0, junk arrays", "5.4, U7", H_FIXTURE, ERROR_SUCCESS, r_zero_counts_junk, 0 },
    { "secondary registers (allowed)", "4.6, 5.4", H_SECONDARY, ERROR_SUCCESS, r_zero_counts_junk, 0 },
#ifndef _WIN64
    { "register UINT_MAX files (x86)", "5.4", H_FIXTURE, E_BAD, r_files_uintmax, 0 },
    { "register 0x40000000 files (x86)", "5.4", H_FIXTURE, E_BAD, r_files_4g, 0 },
    { "register UINT_MAX procs (x86)", "5.4", H_FIXTURE, E_BAD, r_procs_uintmax, 0 },
    { "register 4GiB+ of procs (x86)", "5.4", H_FIXTURE, E_BAD, r_procs_4g, 0 },
    { "register UINT_MAX svcs (x86)", "5.4", H_FIXTURE, E_BAD, r_svcs_uintmax, 0 },
    { "register 0x40000000 svcs (x86)", "5.4", H_FIXTURE, E_BAD, r_svcs_4g, 0 },
    { "register UINT_MAX files, bad handle (x86)", "5.4 + 6: order unspecified", H_NEVER, E_BAD, r_files_uintmax, E_INVH },
#endif

    /* RmGetList, spec 5.5: NULL out pointers or NULL array with capacity 160; 6; a
     * secondary 1219 (U5); too small 234 with *pnProcInfo 0, array untouched (U6). */
    INVALID_HANDLES(c_list, "5.5"),
    INVALID_HANDLES(c_list_buffer, "5.5"),
    { "list secondary", "5.5, U5", H_SECONDARY, E_CONFLICT, c_list, 0 },
    { "list secondary with buffer", "5.5, U5", H_SECONDARY, E_CONFLICT, c_list_buffer, 0 },
    { "list NULL needed", "5.5", H_FIXTURE, E_BAD, l_null_needed, 0 },
    { "list NULL count", "5.5", H_FIXTURE, E_BAD, l_null_count, 0 },
    { "list NULL reasons", "5.5", H_FIXTURE, E_BAD, l_null_reasons, 0 },
    { "list all NULL", "5.5", H_FIXTURE, E_BAD, l_all_null, 0 },
    { "list all NULL, bad handle", "5.5 + 6 or 1219: order unspecified", H_ALL_ONES, E_BAD, l_all_null, E_INVH },
    { "list capacity 1, NULL array", "5.5", H_FIXTURE, E_BAD, l_cap1_null_array, 0 },
    { "list capacity UINT_MAX, NULL array", "5.5", H_FIXTURE, E_BAD, l_capmax_null_array, 0 },
    { "list size query", "5.5", H_FIXTURE, ERROR_MORE_DATA, l_size_query, 0 },
    { "list one element short", "5.5, U6", H_FIXTURE, ERROR_MORE_DATA, l_short_by_one, 0 },

    /* RmShutdown, spec 5.6: unknown flag bits 160 (U4), NULL callback allowed (so
     * the invalid handles give 6, not 160), a secondary 1219 (U5). Never with valid
     * arguments on the fixture: it has this process registered. */
    INVALID_HANDLES(c_shutdown, "5.6, 2.4 (NULL callback allowed)"),
    INVALID_HANDLES(c_shutdown_force_cb, "5.6"),
    { "shutdown secondary", "5.6, U5", H_SECONDARY, E_CONFLICT, c_shutdown, 0 },
    { "shutdown secondary, force + callback", "5.6, U5", H_SECONDARY, E_CONFLICT, c_shutdown_force_cb, 0 },
    { "shutdown flags 0x2", "5.6, U4", H_FIXTURE, E_BAD, sd_flag_2, 0 },
    { "shutdown flags 0x4", "5.6, U4", H_FIXTURE, E_BAD, sd_flag_4, 0 },
    { "shutdown flags 0x8", "5.6, U4", H_FIXTURE, E_BAD, sd_flag_8, 0 },
    { "shutdown flags 0x20", "5.6, U4", H_FIXTURE, E_BAD, sd_flag_20, 0 },
    { "shutdown flags 0x100", "5.6, U4", H_FIXTURE, E_BAD, sd_flag_100, 0 },
    { "shutdown flags 0x80000000", "5.6, U4", H_FIXTURE, E_BAD, sd_flag_high, 0 },
    { "shutdown flags 0xFFFFFFFF", "5.6, U4", H_FIXTURE, E_BAD, sd_flag_all, 0 },
    { "shutdown force | 0x2", "5.6, U4", H_FIXTURE, E_BAD, sd_force_plus, 0 },
    { "shutdown onlyregistered | 0x40000000", "5.6, U4", H_FIXTURE, E_BAD, sd_onlyreg_plus, 0 },
    { "shutdown flags 0x4, NULL callback", "5.6, U4", H_FIXTURE, E_BAD, sd_bad_null_cb, 0 },
    { "shutdown flags 0x4, bad handle", "5.6 + 6 or 1219: order unspecified", H_NEVER, E_BAD, sd_flag_4, E_INVH },
    { "shutdown flags 0x4, secondary", "5.6 + 6 or 1219: order unspecified", H_SECONDARY, E_BAD, sd_flag_4, E_CONFLICT },

    /* RmRestart, spec 5.7: reserved flags 160 (U4), before RmShutdown 776, 6, 1219. */
    INVALID_HANDLES(c_restart, "5.7"),
    INVALID_HANDLES(c_restart_cb, "5.7"),
    { "restart secondary", "5.7, U5", H_SECONDARY, E_CONFLICT, c_restart, 0 },
    { "restart before shutdown", "5.7", H_FIXTURE, ERROR_REQUEST_OUT_OF_SEQUENCE, c_restart, 0 },
    { "restart before shutdown, callback", "5.7", H_FIXTURE, ERROR_REQUEST_OUT_OF_SEQUENCE, c_restart_cb, 0 },
    { "restart flags 1", "5.7, U4", H_FIXTURE, E_BAD, rs_flag_1, 0 },
    { "restart flags 0x80000000", "5.7, U4", H_FIXTURE, E_BAD, rs_flag_high, 0 },
    { "restart flags 0xFFFFFFFF", "5.7, U4", H_FIXTURE, E_BAD, rs_flag_all, 0 },
    { "restart flags 1, bad handle", "5.7 + 6 or 1219: order unspecified", H_ZERO, E_BAD, rs_flag_1, E_INVH },

    /* RmCancelCurrentTask, spec 5.8: 6, 1219 (U5), nothing running 0 (U17). */
    INVALID_HANDLES(c_cancel, "5.8"),
    { "cancel secondary", "5.8, U5", H_SECONDARY, E_CONFLICT, c_cancel, 0 },
    { "cancel with nothing running", "5.8, U17", H_FIXTURE, ERROR_SUCCESS, c_cancel, 0 },

    /* RmAddFilter, spec 5.9: exactly one target, a valid action, else 160; 6; 1219. */
    INVALID_HANDLES(c_add_svc, "5.9"),
    INVALID_HANDLES(c_add_proc, "5.9"),
    INVALID_HANDLES(c_add_module, "5.9"),
    { "add filter secondary (service)", "5.9", H_SECONDARY, E_CONFLICT, c_add_svc, 0 },
    { "add filter secondary (process)", "5.9", H_SECONDARY, E_CONFLICT, c_add_proc, 0 },
    { "add filter secondary (module)", "5.9", H_SECONDARY, E_CONFLICT, c_add_module, 0 },
    { "add filter no target", "5.9", H_FIXTURE, E_BAD, f_add_none, 0 },
    { "add filter module + process", "5.9", H_FIXTURE, E_BAD, f_add_module_proc, 0 },
    { "add filter module + service", "5.9", H_FIXTURE, E_BAD, f_add_module_svc, 0 },
    { "add filter process + service", "5.9", H_FIXTURE, E_BAD, f_add_proc_svc, 0 },
    { "add filter all three", "5.9", H_FIXTURE, E_BAD, f_add_all3, 0 },
    { "add filter all three, secondary", "5.9 + 6 or 1219: order unspecified", H_SECONDARY, E_BAD, f_add_all3, E_CONFLICT },
    { "add filter RmInvalidFilterAction", "5.9", H_FIXTURE, E_BAD, f_action_0, 0 },
    { "add filter action 3", "5.9", H_FIXTURE, E_BAD, f_action_3, 0 },
    { "add filter action -1", "5.9", H_FIXTURE, E_BAD, f_action_neg, 0 },
    { "add filter action INT_MAX", "5.9", H_FIXTURE, E_BAD, f_action_max, 0 },
    { "add filter action INT_MIN", "5.9", H_FIXTURE, E_BAD, f_action_min, 0 },
    { "add filter action 4 (process)", "5.9", H_FIXTURE, E_BAD, f_action_bad_proc, 0 },
    { "add filter action 3, bad handle", "5.9 + 6 or 1219: order unspecified", H_OTHER_PROCESS, E_BAD, f_action_3, E_INVH },
    { "add filter empty module", "5.9", H_FIXTURE, E_BAD, f_add_empty_module, 0 },
    { "add filter empty service", "5.9", H_FIXTURE, E_BAD, f_add_empty_svc, 0 },
    { "add filter 32768-char module", "5.9", H_FIXTURE, E_BAD, f_add_long_module, 0 },
    { "add filter 257-char service", "5.9", H_FIXTURE, E_BAD, f_add_long_svc, 0 },
    { "add filter 32768-char service", "5.9", H_FIXTURE, E_BAD, f_add_huge_svc, 0 },

    INVALID_HANDLES(c_remove_svc, "5.10"),
    INVALID_HANDLES(c_remove_proc, "5.10"),
    INVALID_HANDLES(c_remove_module, "5.10"),
    { "remove filter secondary (service)", "5.10", H_SECONDARY, E_CONFLICT, c_remove_svc, 0 },
    { "remove filter secondary (process)", "5.10", H_SECONDARY, E_CONFLICT, c_remove_proc, 0 },
    { "remove filter secondary (module)", "5.10", H_SECONDARY, E_CONFLICT, c_remove_module, 0 },
    { "remove filter no target", "5.10", H_FIXTURE, E_BAD, f_rm_none, 0 },
    { "remove filter module + process", "5.10", H_FIXTURE, E_BAD, f_rm_module_proc, 0 },
    { "remove filter process + service", "5.10", H_FIXTURE, E_BAD, f_rm_proc_svc, 0 },
    { "remove filter all three", "5.10", H_FIXTURE, E_BAD, f_rm_all3, 0 },
    { "remove filter no target, bad handle", "5.10 + 6 or 1219: order unspecified", H_NEVER, E_BAD, f_rm_none, E_INVH },
    { "remove filter empty module", "5.10", H_FIXTURE, E_BAD, f_rm_empty_module, 0 },
    { "remove filter empty service", "5.10", H_FIXTURE, E_BAD, f_rm_empty_svc, 0 },
    { "remove filter 32768-char module", "5.10", H_FIXTURE, E_BAD, f_rm_long_module, 0 },
    { "remove filter 257-char service", "5.10", H_FIXTURE, E_BAD, f_rm_long_svc, 0 },
    { "remove filter unknown service", "5.10 (2, not 1)", H_FIXTURE, ERROR_FILE_NOT_FOUND, f_rm_missing_svc, 0 },
    { "remove filter unknown process", "5.10", H_FIXTURE, ERROR_FILE_NOT_FOUND, f_rm_missing_proc, 0 },
    { "remove filter unknown module", "5.10", H_FIXTURE, ERROR_FILE_NOT_FOUND, f_rm_missing_module, 0 },

    /* RmGetFilterList, spec 5.11: NULL cbFilterBufNeeded 160 (U9), NULL buffer with
     * a size 160, too small 234 with the size needed and nothing written; 6; 1219. */
    INVALID_HANDLES(c_filters_size, "5.11"),
    INVALID_HANDLES(c_filters_buffer, "5.11"),
    { "filter list secondary", "5.11", H_SECONDARY, E_CONFLICT, c_filters_size, 0 },
    { "filter list secondary with buffer", "5.11", H_SECONDARY, E_CONFLICT, c_filters_buffer, 0 },
    { "filter list NULL needed", "5.11, U9", H_FIXTURE, E_BAD, g_null_needed, 0 },
    { "filter list all NULL", "5.11, U9", H_FIXTURE, E_BAD, g_all_null, 0 },
    { "filter list all NULL, bad handle", "5.11 + 6 or 1219: order unspecified", H_ENDED_PRIMARY, E_BAD, g_all_null, E_INVH },
    { "filter list NULL buffer, size 1", "5.11", H_FIXTURE, E_BAD, g_null_buf_1, 0 },
    { "filter list NULL buffer, size 4096", "5.11", H_FIXTURE, E_BAD, g_null_buf_4096, 0 },
    { "filter list NULL buffer, size 0xFFFFFFFF", "5.11", H_FIXTURE, E_BAD, g_null_buf_max, 0 },
    { "filter list size query", "5.11", H_FIXTURE, ERROR_MORE_DATA, c_filters_size, 0 },
    { "filter list one byte short", "5.11, U9", H_FIXTURE, ERROR_MORE_DATA, g_short_by_one, 0 },
    { "filter list records only", "5.11, U9", H_FIXTURE, ERROR_MORE_DATA, g_records_only, 0 },
    { "filter list one record minus a byte", "5.11, U9", H_FIXTURE, ERROR_MORE_DATA, g_one_record_minus_one, 0 },
    { "filter list 1 byte", "5.11, U9", H_FIXTURE, ERROR_MORE_DATA, g_one_byte, 0 },
    { "filter list 0 bytes, non-NULL buffer", "5.11, U9", H_FIXTURE, ERROR_MORE_DATA, g_zero_nonnull, 0 },

    /* RmReserveHeap, spec 5.12 / U2: any argument, 0. */
    { "reserve heap 0", "5.12, U2", H_FIXTURE, ERROR_SUCCESS, rh_0, 0 },
    { "reserve heap 1", "5.12, U2", H_FIXTURE, ERROR_SUCCESS, rh_1, 0 },
    { "reserve heap ~0", "5.12, U2", H_FIXTURE, ERROR_SUCCESS, rh_max, 0 },
    { "reserve heap pointer", "5.12, U2", H_FIXTURE, ERROR_SUCCESS, rh_ptr, 0 },
};

/* ---- running the table -------------------------------------------------------------------- */

static void compare_snapshots(const struct snapshot *a, const struct snapshot *b)
{
    UINT i;
    EXPECT(a->seq == b->seq);
    EXPECT(a->needed == b->needed);
    for (i = 0; i < a->needed && i < ARRAYSIZE(a->pids); i++) EXPECT(a->pids[i] == b->pids[i]);
    EXPECT(a->reasons == b->reasons);
    EXPECT(a->cbfilters == b->cbfilters);
    EXPECT(!memcmp(filt_base, filt_now, FILTER_BUF));
    EXPECT(a->slots == b->slots);
    EXPECT(a->other_seq == b->other_seq);
}

static void test_table(void **state)
{
    struct snapshot now;
    DWORD handles_before, handles_after, r;
    size_t i;
    (void)state;

    handles_before = rmt_handle_count();
    for (i = 0; i < ARRAYSIZE(rows); i++)
    {
        const struct row *row = &rows[i];
        char name[200];

        snprintf(name, sizeof(name), "row %u \"%s\" [spec %s]", (unsigned)i, row->name, row->cite);
        current_row = name;
        r = row->call(fx.h[row->handle]);
        if (r != row->expect && (!row->alt || r != row->alt)) note_failure("%s: returned %lu, expected %lu", name, r, row->expect);

        /* Nothing stored, nothing lost, the session answers as before. */
        take_snapshot(&now, filt_now);
        compare_snapshots(&fx.base, &now);

        /* And a valid registration still works, adding exactly one group. */
        r = c_register_file(fx.h[H_FIXTURE]);
        if (r != ERROR_SUCCESS) note_failure("%s: the registration after it returned %lu", name, r);
        fx.base.seq = rmt_commits_end(fx.slot);
        EXPECT(fx.base.seq == now.seq + 1);
    }
    current_row = "after the table";
    handles_after = rmt_handle_count();
    printf("# %u rows; handles %lu before, %lu after\n", (unsigned)ARRAYSIZE(rows), handles_before,
           handles_after);
    EXPECT(handles_after <= handles_before + 4);

    /* The other process's session went through every row unharmed: it is still
     * there with nothing registered, and its owner ends it normally. */
    EXPECT(rmt_slot_exists(fx.other_slot));
    EXPECT(rmt_commits_end(fx.other_slot) == 0);
    assert_int_equal(rmt_child_quit(&fx.other, rmt_timeout(10000)), 0);
    EXPECT(rmt_wait_record(fx.record, "END 0", rmt_timeout(5000)));
    EXPECT(!rmt_slot_exists(fx.other_slot));

    if (fx.nfail) fail_msg("%d check(s) failed:\n%s", fx.nfail, fx.failures);
}

/* ---- the NULL callback on calls that run (spec 2.4: "may be NULL") -------------------------- */

static void test_null_callback_runs(void **state)
{
    DWORD h;
    (void)state;

    /* A session with nothing registered: nothing to shut down or restart. */
    h = rmt_start_tracked(NULL);
    assert_int_equal(RmShutdown(h, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(RmRestart(h, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(RmShutdown(h, RmForceShutdown | RmShutdownOnlyRegistered, NULL), ERROR_SUCCESS);
    assert_int_equal(RmRestart(h, 0, NULL), ERROR_SUCCESS);
    rmt_end_ok(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_table, setup_fixture, teardown_fixture),
        cmocka_unit_test_teardown(test_null_callback_runs, rmt_teardown_sessions),
    };
    return rmt_run_tests(tests);
}
