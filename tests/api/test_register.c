/*
 * test_register.c - RmRegisterResources: bad arguments (nothing stored), what is
 * stored in the session's registry key (RegFilesNNNN / RegProcsNNNN / RegSvcsNNNN,
 * one group per storing call, Sequence counting them), and duplicates merged
 * however a file is spelled.
 */
#include "rmtest.h"
#include "rmspawn.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYBUF (CCH_RM_SESSION_KEY + 1)

#define assert_wstr_equal(a, b)                                                 \
    do {                                                                        \
        const WCHAR *a_ = (a), *b_ = (b);                                       \
        if (wcscmp(a_, b_)) fail_msg("\"%ls\" != \"%ls\"", a_, b_);             \
    } while (0)

/* ---- sessions this program opened (ended by the teardown if a test failed) ---- */

static WCHAR saved_cwd[MAX_PATH];

static DWORD start(WCHAR key[KEYBUF])
{
    DWORD h = rmt_start_tracked(key);
    assert_true(h < RMT_NSLOTS);
    return h;
}

static int teardown_end_all(void **state)
{
    (void)state;
    rmt_end_all();
    rmt_kill_all();
    if (saved_cwd[0])
    {
        SetCurrentDirectoryW(saved_cwd);
        saved_cwd[0] = 0;
    }
    return 0;
}

/* ---- the store as the registry shows it ------------------------------------------ */

/* Entries of every value named prefix + 4 digits, in value order. */
struct entries
{
    WCHAR **s;
    int n, cap;
    int values;           /* how many such values exist */
};

static void entries_free(struct entries *e)
{
    int i;
    for (i = 0; i < e->n; i++) free(e->s[i]);
    free(e->s);
    memset(e, 0, sizeof(*e));
}

static void entries_add(struct entries *e, const WCHAR *s)
{
    if (e->n == e->cap)
    {
        e->cap = e->cap ? e->cap * 2 : 16;
        e->s = realloc(e->s, e->cap * sizeof(*e->s));
        assert_non_null(e->s);
    }
    e->s[e->n++] = _wcsdup(s);
}

static BOOL is_group_name(const WCHAR *name, const WCHAR *prefix)
{
    size_t n = wcslen(prefix), i;
    if (wcsncmp(name, prefix, n)) return FALSE;
    if (wcslen(name) != n + 4) return FALSE;
    for (i = n; i < n + 4; i++)
        if (name[i] < L'0' || name[i] > L'9') return FALSE;
    return TRUE;
}

static void read_entries(DWORD slot, const WCHAR *prefix, struct entries *e)
{
    DWORD nvalues = 0, maxname = 0, maxdata = 0, i;
    WCHAR *name, *data;
    HKEY k = rmt_open_slot(slot, KEY_READ);

    memset(e, 0, sizeof(*e));
    assert_non_null(k);
    assert_int_equal(RegQueryInfoKeyW(k, NULL, NULL, NULL, NULL, NULL, NULL, &nvalues, &maxname,
                                      &maxdata, NULL, NULL), ERROR_SUCCESS);
    name = calloc(maxname + 2, sizeof(WCHAR));
    data = calloc(maxdata / sizeof(WCHAR) + 4, sizeof(WCHAR));
    assert_true(name && data);
    for (i = 0; i < nvalues; i++)
    {
        DWORD cch = maxname + 1, cb = maxdata + 2, type;
        WCHAR *p;
        memset(data, 0, (maxdata / sizeof(WCHAR) + 4) * sizeof(WCHAR));
        assert_int_equal(RegEnumValueW(k, i, name, &cch, NULL, &type, (BYTE *)data, &cb), ERROR_SUCCESS);
        if (!is_group_name(name, prefix)) continue;
        assert_int_equal(type, REG_MULTI_SZ);
        e->values++;
        for (p = data; (BYTE *)p < (BYTE *)data + cb && *p; p += wcslen(p) + 1) entries_add(e, p);
    }
    free(name);
    free(data);
    RegCloseKey(k);
}

/* No RegFiles/RegProcs/RegSvcs value at all. */
static void assert_nothing_registered(DWORD slot)
{
    static const WCHAR *const prefixes[] = { L"RegFiles", L"RegProcs", L"RegSvcs" };
    struct entries e;
    int i;
    assert_int_equal(rmt_commits_end(slot), 0);
    for (i = 0; i < 3; i++)
    {
        read_entries(slot, prefixes[i], &e);
        if (e.values) fail_msg("%ls values exist in a session that stored nothing", prefixes[i]);
        entries_free(&e);
    }
}

/* ---- files --------------------------------------------------------------------------- */

static BOOL file_id(const WCHAR *path, BY_HANDLE_FILE_INFORMATION *info)
{
    HANDLE h = CreateFileW(path, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    BOOL ok;
    if (h == INVALID_HANDLE_VALUE) return FALSE;
    ok = GetFileInformationByHandle(h, info);
    CloseHandle(h);
    return ok;
}

static const WCHAR *skip_prefix(const WCHAR *p)
{
    return !wcsncmp(p, L"\\\\?\\", 4) ? p + 4 : p;
}

/* Does a stored entry name this file? Existing files by identity, others by path. */
static BOOL same_file(const WCHAR *stored, const WCHAR *path)
{
    BY_HANDLE_FILE_INFORMATION a, b;
    if (file_id(path, &a))
        return file_id(stored, &b) && a.dwVolumeSerialNumber == b.dwVolumeSerialNumber &&
               a.nFileIndexHigh == b.nFileIndexHigh && a.nFileIndexLow == b.nFileIndexLow;
    return !_wcsicmp(skip_prefix(stored), skip_prefix(path));
}

static int count_file_entries(DWORD slot, const WCHAR *path, int *total)
{
    struct entries e;
    int i, n = 0;
    read_entries(slot, L"RegFiles", &e);
    for (i = 0; i < e.n; i++)
        if (same_file(e.s[i], path)) n++;
    if (total) *total = e.n;
    entries_free(&e);
    return n;
}

static WCHAR *upper_dup(const WCHAR *s)
{
    WCHAR *u = _wcsdup(s), *p;
    for (p = u; *p; p++) *p = (WCHAR)towupper(*p);
    return u;
}

static WCHAR *slashes_dup(const WCHAR *s)
{
    WCHAR *u = _wcsdup(s), *p;
    for (p = u; *p; p++)
        if (*p == L'\\') *p = L'/';
    return u;
}

static WCHAR *prefixed_dup(const WCHAR *s)
{
    size_t n = wcslen(s) + 5;
    WCHAR *u = malloc(n * sizeof(WCHAR));
    swprintf(u, n, L"\\\\?\\%ls", s);
    return u;
}

/* ---- bad arguments: 160 and nothing stored ---------------------------------------------- */

static void test_null_arrays(void **state)
{
    WCHAR key[KEYBUF];
    DWORD h;
    (void)state;

    h = start(key);
    assert_int_equal(RmRegisterResources(h, 1, NULL, 0, NULL, 0, NULL), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmRegisterResources(h, 0, NULL, 1, NULL, 0, NULL), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmRegisterResources(h, 0, NULL, 0, NULL, 1, NULL), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmRegisterResources(h, 3, NULL, 3, NULL, 3, NULL), ERROR_BAD_ARGUMENTS);
    assert_nothing_registered(h);
    rmt_end_ok(h);
}

static void test_null_entries_store_nothing(void **state)
{
    WCHAR key[KEYBUF];
    WCHAR *a = rmt_make_file(L"null-entry-a.txt"), *b = rmt_path(L"null-entry-b.txt");
    RM_UNIQUE_PROCESS self = rmt_self();
    LPCWSTR files_null_last[3] = { a, b, NULL };
    LPCWSTR files_null_first[2] = { NULL, a };
    LPCWSTR files_ok[2] = { a, b };
    LPCWSTR svcs_null[3] = { L"RmTestSvcA", NULL, L"RmTestSvcB" };
    LPCWSTR svcs_ok[1] = { L"RmTestSvcA" };
    DWORD h;
    (void)state;

    h = start(key);
    /* A NULL string anywhere rejects the whole call, valid entries included. */
    assert_int_equal(RmRegisterResources(h, 3, files_null_last, 1, &self, 1, svcs_ok), ERROR_BAD_ARGUMENTS);
    assert_nothing_registered(h);
    assert_int_equal(RmRegisterResources(h, 2, files_null_first, 0, NULL, 0, NULL), ERROR_BAD_ARGUMENTS);
    assert_nothing_registered(h);
    assert_int_equal(RmRegisterResources(h, 2, files_ok, 1, &self, 3, svcs_null), ERROR_BAD_ARGUMENTS);
    assert_nothing_registered(h);
    assert_int_equal(RmRegisterResources(h, 0, NULL, 0, NULL, 3, svcs_null), ERROR_BAD_ARGUMENTS);
    assert_nothing_registered(h);

    /* The same session still registers normally afterwards. */
    /* One group per kind, numbered on from the session's last (src/store.c). */
    assert_int_equal(RmRegisterResources(h, 2, files_ok, 1, &self, 1, svcs_ok), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(h), 3);
    assert_true(rmt_value_exists(h, L"RegFiles0000"));
    assert_true(rmt_value_exists(h, L"RegProcs0001"));
    assert_true(rmt_value_exists(h, L"RegSvcs0002"));
    rmt_end_ok(h);
    free(a);
    free(b);
}

static void test_empty_strings(void **state)
{
    WCHAR key[KEYBUF];
    WCHAR *a = rmt_path(L"empty-string.txt");
    LPCWSTR files_empty[2] = { a, L"" };
    LPCWSTR svcs_empty[2] = { L"RmTestSvcA", L"" };
    LPCWSTR files_ok[1] = { a };
    DWORD h;
    (void)state;

    h = start(key);
    assert_int_equal(RmRegisterResources(h, 2, files_empty, 0, NULL, 0, NULL), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmRegisterResources(h, 1, files_ok, 0, NULL, 2, svcs_empty), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmRegisterResources(h, 0, NULL, 0, NULL, 1, svcs_empty + 1), ERROR_BAD_ARGUMENTS);
    assert_nothing_registered(h);
    rmt_end_ok(h);
    free(a);
}

static void test_too_long_strings(void **state)
{
    WCHAR key[KEYBUF];
    WCHAR *longf = malloc((32768 + 1) * sizeof(WCHAR));
    WCHAR svc257[258], svc256[257];
    LPCWSTR files[1], svcs[1];
    struct entries e;
    DWORD h;
    int i;
    (void)state;

    /* \\?\C:\aaaa... 32,768 characters: no NUL within the first 32,767. */
    wcscpy(longf, L"\\\\?\\C:\\");
    for (i = 7; i < 32768; i++) longf[i] = (i % 200) ? L'a' : L'\\';
    longf[32768] = 0;
    assert_int_equal(wcslen(longf), 32768);
    for (i = 0; i < 257; i++) svc257[i] = L'S';
    svc257[257] = 0;
    for (i = 0; i < 256; i++) svc256[i] = L's';
    svc256[256] = 0;

    h = start(key);
    files[0] = longf;
    assert_int_equal(RmRegisterResources(h, 1, files, 0, NULL, 0, NULL), ERROR_BAD_ARGUMENTS);
    svcs[0] = svc257;
    assert_int_equal(RmRegisterResources(h, 0, NULL, 0, NULL, 1, svcs), ERROR_BAD_ARGUMENTS);
    assert_nothing_registered(h);

    /* 256 characters is the longest service name accepted (decided). */
    svcs[0] = svc256;
    assert_int_equal(RmRegisterResources(h, 0, NULL, 0, NULL, 1, svcs), ERROR_SUCCESS);
    read_entries(h, L"RegSvcs", &e);
    assert_int_equal(e.n, 1);
    assert_int_equal(wcslen(e.s[0]), 256);
    entries_free(&e);
    rmt_end_ok(h);
    free(longf);
}

#ifndef _WIN64
/* On x86 a count of 0x40000000 pointers is 4 GiB: more than the address space. The
 * call must refuse it without reading the (two-entry) array; the page after the
 * array is inaccessible, so walking it would crash. */
static void test_count_overflow_x86(void **state)
{
    WCHAR key[KEYBUF];
    SYSTEM_INFO si;
    BYTE *mem;
    DWORD h, old;
    LPCWSTR *files, *svcs;
    RM_UNIQUE_PROCESS *procs;
    (void)state;

    GetSystemInfo(&si);
    mem = VirtualAlloc(NULL, 2 * si.dwPageSize, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    assert_non_null(mem);
    assert_true(VirtualProtect(mem + si.dwPageSize, si.dwPageSize, PAGE_NOACCESS, &old));
    files = (LPCWSTR *)(mem + si.dwPageSize - 2 * sizeof(LPCWSTR));
    files[0] = L"C:\\overflow-a.txt";
    files[1] = L"C:\\overflow-b.txt";
    svcs = files;
    procs = (RM_UNIQUE_PROCESS *)(mem + si.dwPageSize - sizeof(RM_UNIQUE_PROCESS));
    *procs = rmt_self();

    h = start(key);
    assert_int_equal(RmRegisterResources(h, 0x40000000u, files, 0, NULL, 0, NULL), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmRegisterResources(h, 0xFFFFFFFFu, files, 0, NULL, 0, NULL), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmRegisterResources(h, 0, NULL, 0x40000000u, procs, 0, NULL), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmRegisterResources(h, 0, NULL, 0x20000000u, procs, 0, NULL), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmRegisterResources(h, 0, NULL, 0, NULL, 0x40000000u, svcs), ERROR_BAD_ARGUMENTS);
    assert_nothing_registered(h);
    rmt_end_ok(h);
    VirtualFree(mem, 0, MEM_RELEASE);
}
#endif

/* ---- what is accepted ------------------------------------------------------------------- */

static void test_zero_counts(void **state)
{
    WCHAR key[KEYBUF];
    LPCWSTR junk[1] = { NULL };
    RM_UNIQUE_PROCESS p = { 0 };
    DWORD h;
    (void)state;

    h = start(key);
    assert_int_equal(RmRegisterResources(h, 0, NULL, 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_nothing_registered(h);
    /* Zero counts: the arrays are not read, even if they hold NULLs. */
    assert_int_equal(RmRegisterResources(h, 0, junk, 0, &p, 0, junk), ERROR_SUCCESS);
    assert_nothing_registered(h);
    rmt_end_ok(h);
}

static void test_nonexistent_files_accepted(void **state)
{
    WCHAR key[KEYBUF], inside[MAX_PATH];
    WCHAR *a = rmt_path(L"does-not-exist.txt");
    WCHAR *b = rmt_path(L"no-such-dir\\deeper\\file.dll");
    WCHAR *file = rmt_make_file(L"a-file-not-a-dir.txt");
    LPCWSTR files[3] = { a, b, inside };
    DWORD h;
    (void)state;

    /* Under a file, as if it were a directory: it cannot be listed (the DLL learns
     * that from the listing's own failure) and names nothing. */
    swprintf(inside, ARRAYSIZE(inside), L"%ls\\inside.dll", file);
    assert_int_equal(GetFileAttributesW(a), INVALID_FILE_ATTRIBUTES);
    assert_int_equal(GetFileAttributesW(inside), INVALID_FILE_ATTRIBUTES);
    h = start(key);
    assert_int_equal(RmRegisterResources(h, 3, files, 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(h), 1);
    assert_int_equal(count_file_entries(h, a, NULL), 1);
    assert_int_equal(count_file_entries(h, b, NULL), 1);
    assert_int_equal(count_file_entries(h, inside, NULL), 1);
    rmt_end_ok(h);
    free(a);
    free(b);
    free(file);
}

static void test_registration_adds_up(void **state)
{
    WCHAR key[KEYBUF];
    WCHAR *a = rmt_make_file(L"adds-a.txt"), *b = rmt_path(L"adds-b.txt");
    LPCWSTR fa[1] = { a }, fb[1] = { b };
    LPCWSTR svcs[1] = { L"RmTestAddsSvc" };
    RM_UNIQUE_PROCESS self = rmt_self();
    struct entries e;
    DWORD h;
    (void)state;

    h = start(key);
    assert_int_equal(rmt_commits_end(h), 0);

    assert_int_equal(RmRegisterResources(h, 1, fa, 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(h), 1);
    assert_true(rmt_value_exists(h, L"RegFiles0000"));

    assert_int_equal(RmRegisterResources(h, 1, fb, 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(h), 2);
    assert_true(rmt_value_exists(h, L"RegFiles0001"));

    assert_int_equal(RmRegisterResources(h, 0, NULL, 1, &self, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(h), 3);
    assert_true(rmt_value_exists(h, L"RegProcs0002"));
    assert_false(rmt_value_exists(h, L"RegFiles0002"));

    assert_int_equal(RmRegisterResources(h, 0, NULL, 0, NULL, 1, svcs), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(h), 4);
    assert_true(rmt_value_exists(h, L"RegSvcs0003"));

    /* Everything is still there: calls add up, nothing was replaced. */
    assert_int_equal(count_file_entries(h, a, NULL), 1);
    assert_int_equal(count_file_entries(h, b, NULL), 1);
    read_entries(h, L"RegFiles", &e);
    assert_int_equal(e.values, 2);
    assert_int_equal(e.n, 2);
    entries_free(&e);
    read_entries(h, L"RegProcs", &e);
    assert_int_equal(e.n, 1);
    entries_free(&e);
    read_entries(h, L"RegSvcs", &e);
    assert_int_equal(e.n, 1);
    assert_wstr_equal(e.s[0], L"RmTestAddsSvc");
    entries_free(&e);
    rmt_end_ok(h);
    free(a);
    free(b);
}

/* ---- duplicates ---------------------------------------------------------------------- */

static void test_duplicate_file_spellings(void **state)
{
    WCHAR key[KEYBUF], shortp[MAX_PATH], cwd_rel[] = L"duplicate-long-file-name.txt";
    WCHAR *p = rmt_make_file(L"duplicate-long-file-name.txt");
    WCHAR *up = upper_dup(p), *sl = slashes_dup(p), *pre = prefixed_dup(p), *preup = prefixed_dup(up);
    WCHAR *dotrel = malloc(64 * sizeof(WCHAR));
    LPCWSTR twice[2] = { p, p }, spellings[8];
    int n = 0, total;
    DWORD h, len;
    (void)state;

    swprintf(dotrel, 64, L".\\%ls", cwd_rel);
    spellings[n++] = up;
    spellings[n++] = pre;
    spellings[n++] = preup;
    spellings[n++] = sl;
    spellings[n++] = cwd_rel;
    spellings[n++] = dotrel;
    len = GetShortPathNameW(p, shortp, MAX_PATH);
    if (len && len < MAX_PATH && _wcsicmp(shortp, p))
    {
        printf("# 8.3 spelling: %ls\n", shortp);
        spellings[n++] = shortp;
    }
    else
        printf("# no distinct 8.3 spelling for %ls\n", p);

    assert_true(GetCurrentDirectoryW(MAX_PATH, saved_cwd) > 0);
    assert_true(SetCurrentDirectoryW(rmt_tempdir()));

    /* Twice in one call: one entry. */
    h = start(key);
    assert_int_equal(RmRegisterResources(h, 2, twice, 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(h), 1);
    assert_int_equal(count_file_entries(h, p, &total), 1);
    assert_int_equal(total, 1);
    /* Again, in every other spelling: nothing new is stored. */
    assert_int_equal(RmRegisterResources(h, 1, twice, 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(RmRegisterResources(h, n, spellings, 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(h), 1);
    assert_int_equal(count_file_entries(h, p, &total), 1);
    assert_int_equal(total, 1);
    rmt_end_ok(h);

    /* Each spelling alone in a later call of a fresh session: still one entry. */
    h = start(key);
    assert_int_equal(RmRegisterResources(h, n, spellings, 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(count_file_entries(h, p, &total), 1);
    assert_int_equal(total, 1);
    for (int i = 0; i < n; i++)
    {
        assert_int_equal(RmRegisterResources(h, 1, &spellings[i], 0, NULL, 0, NULL), ERROR_SUCCESS);
        assert_int_equal(rmt_commits_end(h), 1);
    }
    assert_int_equal(RmRegisterResources(h, 1, twice, 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(h), 1);
    assert_int_equal(count_file_entries(h, p, &total), 1);
    assert_int_equal(total, 1);
    rmt_end_ok(h);

    assert_true(SetCurrentDirectoryW(saved_cwd));
    saved_cwd[0] = 0;
    free(p); free(up); free(sl); free(pre); free(preup); free(dotrel);
}

static void test_duplicate_nonexistent_spellings(void **state)
{
    WCHAR key[KEYBUF];
    WCHAR *p = rmt_path(L"not-there-yet.dll");
    WCHAR *up = upper_dup(p), *sl = slashes_dup(p), *pre = prefixed_dup(p);
    LPCWSTR spellings[5] = { p, up, sl, pre, p };
    int total;
    DWORD h;
    (void)state;

    assert_int_equal(GetFileAttributesW(p), INVALID_FILE_ATTRIBUTES);
    h = start(key);
    assert_int_equal(RmRegisterResources(h, 5, spellings, 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(count_file_entries(h, p, &total), 1);
    assert_int_equal(total, 1);
    assert_int_equal(RmRegisterResources(h, 1, spellings + 1, 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(h), 1);
    rmt_end_ok(h);
    free(p); free(up); free(sl); free(pre);
}

static void test_duplicate_processes(void **state)
{
    WCHAR key[KEYBUF], expect[32];
    RM_UNIQUE_PROCESS procs[3], other;
    struct entries e;
    DWORD h;
    (void)state;

    procs[0] = procs[1] = procs[2] = rmt_self();
    swprintf(expect, ARRAYSIZE(expect), L"%08lx:%08lx:%08lx", procs[0].dwProcessId,
             procs[0].ProcessStartTime.dwHighDateTime, procs[0].ProcessStartTime.dwLowDateTime);

    h = start(key);
    assert_int_equal(RmRegisterResources(h, 0, NULL, 3, procs, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(h), 1);
    read_entries(h, L"RegProcs", &e);
    assert_int_equal(e.n, 1);
    assert_int_equal(wcslen(e.s[0]), 26);
    assert_wstr_equal(e.s[0], expect);
    entries_free(&e);

    /* Again: nothing new. */
    assert_int_equal(RmRegisterResources(h, 0, NULL, 1, procs, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(h), 1);

    /* Same PID, another creation time: another process. */
    other = procs[0];
    other.ProcessStartTime.dwLowDateTime ^= 1;
    assert_int_equal(RmRegisterResources(h, 0, NULL, 1, &other, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(h), 2);
    read_entries(h, L"RegProcs", &e);
    assert_int_equal(e.n, 2);
    entries_free(&e);
    rmt_end_ok(h);
}

static void test_duplicate_services(void **state)
{
    WCHAR key[KEYBUF];
    LPCWSTR svcs[4] = { L"RmTestDupSvc", L"RMTESTDUPSVC", L"rmtestdupsvc", L"RmTestDupSvc" };
    LPCWSTR again[1] = { L"rmTESTdupSVC" };
    LPCWSTR other[1] = { L"RmTestDupSvc2" };
    struct entries e;
    DWORD h;
    (void)state;

    h = start(key);
    assert_int_equal(RmRegisterResources(h, 0, NULL, 0, NULL, 4, svcs), ERROR_SUCCESS);
    read_entries(h, L"RegSvcs", &e);
    assert_int_equal(e.n, 1);
    assert_int_equal(_wcsicmp(e.s[0], L"RmTestDupSvc"), 0);
    entries_free(&e);
    assert_int_equal(RmRegisterResources(h, 0, NULL, 0, NULL, 1, again), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(h), 1);
    assert_int_equal(RmRegisterResources(h, 0, NULL, 0, NULL, 1, other), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(h), 2);
    read_entries(h, L"RegSvcs", &e);
    assert_int_equal(e.n, 2);
    entries_free(&e);
    rmt_end_ok(h);
}

static void test_already_registered_stores_nothing(void **state)
{
    WCHAR key[KEYBUF];
    WCHAR *a = rmt_make_file(L"known-a.txt"), *b = rmt_path(L"known-b.txt");
    LPCWSTR files[2] = { a, b }, svcs[1] = { L"RmTestKnownSvc" };
    RM_UNIQUE_PROCESS self = rmt_self();
    struct entries e;
    DWORD h;
    (void)state;

    h = start(key);
    assert_int_equal(RmRegisterResources(h, 2, files, 1, &self, 1, svcs), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(h), 3);   /* three groups: 0, 1 and 2 */
    assert_int_equal(RmRegisterResources(h, 2, files, 1, &self, 1, svcs), ERROR_SUCCESS);
    assert_int_equal(RmRegisterResources(h, 1, files + 1, 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(RmRegisterResources(h, 0, NULL, 1, &self, 1, svcs), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(h), 3);
    assert_false(rmt_value_exists(h, L"RegFiles0003"));
    assert_false(rmt_value_exists(h, L"RegProcs0003"));
    assert_false(rmt_value_exists(h, L"RegSvcs0003"));

    /* A call mixing old and new stores only the new. */
    files[0] = b;
    files[1] = rmt_path(L"known-c.txt");
    assert_int_equal(RmRegisterResources(h, 2, files, 1, &self, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(h), 4);
    read_entries(h, L"RegFiles", &e);
    assert_int_equal(e.n, 3);
    entries_free(&e);
    assert_true(rmt_value_exists(h, L"RegFiles0003"));
    assert_false(rmt_value_exists(h, L"RegProcs0003"));
    assert_false(rmt_value_exists(h, L"RegProcs0004"));
    assert_int_equal(count_file_entries(h, files[1], NULL), 1);
    rmt_end_ok(h);
    free(a);
    free(b);
    free((void *)files[1]);
}

static void test_secondary_registration_visible(void **state)
{
    WCHAR key[KEYBUF];
    WCHAR *a = rmt_make_file(L"secondary-visible.txt");
    WCHAR *c, *d;
    LPCWSTR files[1] = { a }, svcs[1] = { L"RmTestSecondarySvc" }, two[2];
    struct entries e;
    int total;
    UINT needed, n;
    DWORD hp, hs = SENTINEL, reasons;
    (void)state;

    hp = start(key);
    assert_int_equal(RmJoinSession(&hs, key), ERROR_SUCCESS);
    rmt_track(hs);
    assert_int_equal(RmRegisterResources(hs, 1, files, 0, NULL, 1, svcs), ERROR_SUCCESS);

    /* In the primary's session in the store: two groups. */
    assert_int_equal(rmt_commits_end(hp), 2);
    assert_int_equal(count_file_entries(hp, a, NULL), 1);
    read_entries(hp, L"RegSvcs", &e);
    assert_int_equal(e.n, 1);
    entries_free(&e);

    /* The primary sees them as already registered, and its list works. */
    assert_int_equal(RmRegisterResources(hp, 1, files, 0, NULL, 1, svcs), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(hp), 2);
    needed = SENTINEL;
    n = 0;
    reasons = SENTINEL;
    assert_int_equal(RmGetList(hp, &needed, &n, NULL, &reasons), ERROR_SUCCESS);
    assert_int_equal(needed, 0);

    /* Old and new together: only the new is stored, after what the secondary
     * committed (not over it). */
    c = rmt_path(L"primary-registered.txt");
    d = rmt_path(L"secondary-registered.txt");
    two[0] = a;
    two[1] = c;
    assert_int_equal(RmRegisterResources(hp, 2, two, 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(hp), 3);
    assert_int_equal(count_file_entries(hp, a, &total), 1);
    assert_int_equal(count_file_entries(hp, c, NULL), 1);
    assert_int_equal(total, 2);
    read_entries(hp, L"RegSvcs", &e);
    assert_int_equal(e.n, 1);
    entries_free(&e);

    /* And the other way round. */
    two[0] = c;
    two[1] = d;
    assert_int_equal(RmRegisterResources(hs, 2, two, 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(hp), 4);
    assert_int_equal(count_file_entries(hp, a, &total), 1);
    assert_int_equal(count_file_entries(hp, c, NULL), 1);
    assert_int_equal(count_file_entries(hp, d, NULL), 1);
    assert_int_equal(total, 3);
    assert_int_equal(RmGetList(hp, &needed, &n, NULL, &reasons), ERROR_SUCCESS);

    rmt_end_ok(hs);
    rmt_end_ok(hp);
    free(a);
    free(c);
    free(d);
}

static void test_long_path(void **state)
{
    WCHAR key[KEYBUF];
    size_t cap = 2048;
    WCHAR *p = malloc(cap * sizeof(WCHAR));
    LPCWSTR files[1] = { p };
    int i;
    DWORD h;
    (void)state;

    swprintf(p, cap, L"\\\\?\\%ls", rmt_tempdir());
    for (i = 0; i < 8; i++)
        wcscat(p, L"\\a-directory-name-that-is-rather-long-0123456789");
    wcscat(p, L"\\file-beyond-max-path.dll");
    assert_true(wcslen(p) > MAX_PATH);

    h = start(key);
    assert_int_equal(RmRegisterResources(h, 1, files, 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(h), 1);
    assert_int_equal(count_file_entries(h, p, NULL), 1);
    rmt_end_ok(h);
    free(p);
}

static void test_thousand_files(void **state)
{
    WCHAR key[KEYBUF], name[64];
    LPCWSTR *files = calloc(1000, sizeof(*files));
    struct entries e;
    DWORD h, t;
    int i;
    (void)state;

    for (i = 0; i < 1000; i++)
    {
        swprintf(name, ARRAYSIZE(name), L"many-%04d.txt", i);
        files[i] = rmt_path(name);
    }
    h = start(key);
    t = GetTickCount();
    assert_int_equal(RmRegisterResources(h, 1000, files, 0, NULL, 0, NULL), ERROR_SUCCESS);
    printf("# 1000 files registered in %lu ms\n", GetTickCount() - t);
    assert_int_equal(rmt_commits_end(h), 1);
    read_entries(h, L"RegFiles", &e);
    assert_int_equal(e.values, 1);
    assert_int_equal(e.n, 1000);
    /* Each file once (nonexistent files: compared by path). */
    for (i = 0; i < 1000; i++)
    {
        int j, found = 0;
        for (j = 0; j < e.n; j++)
            if (!_wcsicmp(skip_prefix(e.s[j]), files[i])) found++;
        if (found != 1) fail_msg("%ls stored %d times", files[i], found);
    }
    entries_free(&e);
    /* The same thousand again: nothing new. */
    assert_int_equal(RmRegisterResources(h, 1000, files, 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(h), 1);
    rmt_end_ok(h);
    for (i = 0; i < 1000; i++) free((void *)files[i]);
    free(files);
}

/* Issue 12: a batch is identified by listing each directory once. Whatever the
 * spelling (upper case, 8.3), the identity taken from the listing is the one the
 * handle scan sees: RmGetList finds the process holding two files of a batch of
 * 600 paths in two directories (existing, nonexistent, a stream, a trailing dot;
 * not a directory, which makes RmGetList fail, spec 10), and the store holds each
 * existing file once by identity. */
static void test_batch_by_directory(void **state)
{
    enum { PER_DIR = 300 };
    WCHAR key[KEYBUF], name[MAX_PATH], shortp[MAX_PATH], args[3 * MAX_PATH];
    WCHAR *dir1 = rmt_path(L"batch-one"), *dir2 = rmt_path(L"batch-two"), *held1, *held2, *tmp;
    LPCWSTR *files = calloc(2 * PER_DIR + 2, sizeof(*files));
    RM_PROCESS_INFO info[4];
    struct rmt_child *holder;
    UINT needed = 0, n = ARRAYSIZE(info);
    DWORD h, reasons = 0;
    int i, nf = 0, total;
    (void)state;

    assert_non_null(files);
    assert_true(CreateDirectoryW(dir1, NULL) || GetLastError() == ERROR_ALREADY_EXISTS);
    assert_true(CreateDirectoryW(dir2, NULL) || GetLastError() == ERROR_ALREADY_EXISTS);
    for (i = 0; i < PER_DIR; i++)
    {
        /* batch-one: every file exists; batch-two: one in three. */
        swprintf(name, ARRAYSIZE(name), L"batch-one\\component-file-%03d.dll", i);
        tmp = rmt_make_file(name);
        files[nf++] = tmp;
        swprintf(name, ARRAYSIZE(name), L"batch-two\\a-longer-component-name-%03d.dat", i);
        files[nf++] = (i % 3) ? rmt_path(name) : rmt_make_file(name);
    }
    held1 = _wcsdup(files[2 * 7]);         /* batch-one\component-file-007.dll */
    held2 = _wcsdup(files[2 * 9 + 1]);     /* batch-two\...-009.dat (9 % 3 == 0: exists) */
    swprintf(args, ARRAYSIZE(args), L"hold \"%ls\" \"%ls\"", held1, held2);
    holder = rmt_spawn_tracked(FALSE, 0, args, 15000);
    assert_non_null(holder);

    /* The held files in other spellings. */
    free((void *)files[2 * 7]);
    files[2 * 7] = upper_dup(held1);
    if (GetShortPathNameW(held2, shortp, MAX_PATH) && _wcsicmp(shortp, held2))
    {
        printf("# held file registered by its 8.3 name: %ls\n", shortp);
        free((void *)files[2 * 9 + 1]);
        files[2 * 9 + 1] = _wcsdup(shortp);
    }
    swprintf(name, ARRAYSIZE(name), L"%ls:stream", files[4]);
    files[nf++] = _wcsdup(name);                         /* a stream of an existing file */
    swprintf(name, ARRAYSIZE(name), L"%ls.", files[6]);
    files[nf++] = _wcsdup(name);                         /* a trailing dot */

    h = start(key);
    assert_int_equal(RmRegisterResources(h, (UINT)nf, files, 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(RmGetList(h, &needed, &n, info, &reasons), ERROR_SUCCESS);
    assert_int_equal(needed, 1);
    assert_int_equal(info[0].Process.dwProcessId, holder->pid);
    /* Each existing file once, by identity; the held ones too. */
    assert_int_equal(count_file_entries(h, held1, &total), 1);
    assert_int_equal(count_file_entries(h, held2, NULL), 1);
    assert_int_equal(count_file_entries(h, files[0], NULL), 1);
    assert_int_equal(count_file_entries(h, files[3], NULL), 1);   /* nonexistent, by path */
    assert_true(total >= 2 * PER_DIR);
    /* Registering them again one by one adds nothing. */
    for (i = 0; i < nf; i += 37)
        assert_int_equal(RmRegisterResources(h, 1, &files[i], 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(rmt_commits_end(h), 1);
    rmt_end_ok(h);
    rmt_kill_all();
    for (i = 0; i < nf; i++)
    {
        DeleteFileW(files[i]);
        free((void *)files[i]);
    }
    RemoveDirectoryW(dir1);
    RemoveDirectoryW(dir2);
    free(files); free(held1); free(held2); free(dir1); free(dir2);
}

/* Listings are kept between calls while their directory's stamp holds (listing.c):
 * a file created or deleted since must be seen by the next call. A name is stored
 * in its real case when the listing holds it (it exists) and as given when not, so
 * the stored spelling shows which listing answered. */
static BOOL stored_ends_with(DWORD h, const WCHAR *tail)
{
    struct entries e;
    size_t n = wcslen(tail);
    BOOL found = FALSE;
    int i;

    read_entries(h, L"RegFiles", &e);
    for (i = 0; i < e.n; i++)
        if (wcslen(e.s[i]) >= n && !wcscmp(e.s[i] + wcslen(e.s[i]) - n, tail)) found = TRUE;
    entries_free(&e);
    return found;
}

static void test_kept_listing_follows_the_directory(void **state)
{
    WCHAR key[KEYBUF], *dir = rmt_path(L"kept"), *a, *b, *c;
    LPCWSTR first[1], later[2];
    DWORD h;
    (void)state;

    assert_true(CreateDirectoryW(dir, NULL) || GetLastError() == ERROR_ALREADY_EXISTS);
    a = rmt_make_file(L"kept\\a.dat");
    b = rmt_make_file(L"kept\\b.dat");
    c = rmt_path(L"kept\\c.dat");
    /* A directory last changed two seconds ago or more: its listing is kept. */
    Sleep(2200);
    h = start(key);
    first[0] = upper_dup(a);
    assert_int_equal(RmRegisterResources(h, 1, first, 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_true(stored_ends_with(h, L"\\kept\\a.dat"));

    /* c.dat appears, b.dat goes: the next call must not answer from the kept listing. */
    HANDLE f = CreateFileW(c, GENERIC_WRITE, 0, NULL, CREATE_NEW, 0, NULL);
    assert_true(f != INVALID_HANDLE_VALUE);
    CloseHandle(f);
    assert_true(DeleteFileW(b));
    /* Old enough again, so that the stamp is trusted and compared with the kept one. */
    Sleep(2200);
    later[0] = upper_dup(c);
    later[1] = upper_dup(b);
    assert_int_equal(RmRegisterResources(h, 2, later, 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_true(stored_ends_with(h, L"\\kept\\c.dat"));    /* exists: its real name */
    assert_true(stored_ends_with(h, L"\\KEPT\\B.DAT") || stored_ends_with(h, L"\\kept\\B.DAT"));
    rmt_end_ok(h);
    DeleteFileW(a);
    DeleteFileW(c);
    RemoveDirectoryW(dir);
    free((void *)first[0]); free((void *)later[0]); free((void *)later[1]);
    free(a); free(b); free(c); free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_null_arrays, teardown_end_all),
        cmocka_unit_test_teardown(test_null_entries_store_nothing, teardown_end_all),
        cmocka_unit_test_teardown(test_empty_strings, teardown_end_all),
        cmocka_unit_test_teardown(test_too_long_strings, teardown_end_all),
#ifndef _WIN64
        cmocka_unit_test_teardown(test_count_overflow_x86, teardown_end_all),
#endif
        cmocka_unit_test_teardown(test_zero_counts, teardown_end_all),
        cmocka_unit_test_teardown(test_nonexistent_files_accepted, teardown_end_all),
        cmocka_unit_test_teardown(test_registration_adds_up, teardown_end_all),
        cmocka_unit_test_teardown(test_duplicate_file_spellings, teardown_end_all),
        cmocka_unit_test_teardown(test_duplicate_nonexistent_spellings, teardown_end_all),
        cmocka_unit_test_teardown(test_duplicate_processes, teardown_end_all),
        cmocka_unit_test_teardown(test_duplicate_services, teardown_end_all),
        cmocka_unit_test_teardown(test_already_registered_stores_nothing, teardown_end_all),
        cmocka_unit_test_teardown(test_secondary_registration_visible, teardown_end_all),
        cmocka_unit_test_teardown(test_long_path, teardown_end_all),
        cmocka_unit_test_teardown(test_thousand_files, teardown_end_all),
        cmocka_unit_test_teardown(test_batch_by_directory, teardown_end_all),
        cmocka_unit_test_teardown(test_kept_listing_follows_the_directory, teardown_end_all),
    };
    return rmt_run_tests(tests);
}
