/*
 * rmtest.c - support shared by the test programs (see rmtest.h).
 */
#include "rmtest.h"
#include "version.h"
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

void rmt_init(void)
{
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX | SEM_NOOPENFILEERRORBOX);
    setvbuf(stdout, NULL, _IONBF, 0);
    setvbuf(stderr, NULL, _IONBF, 0);
}

static double timeout_scale(void)
{
    static double scale;
    if (!scale)
    {
        char v[32];
        DWORD n = GetEnvironmentVariableA("RM_TIMEOUT_SCALE", v, sizeof(v));
        double s = n > 0 && n < sizeof(v) ? atof(v) : 1.0;
        scale = s >= 1.0 && s <= 100.0 ? s : 1.0;
    }
    return scale;
}

DWORD rmt_timeout(DWORD ms)
{
    double t = ms * timeout_scale();
    return t < (double)(INFINITE - 1) ? (DWORD)t : INFINITE - 1;
}

double rmt_seconds(double s)
{
    return s * timeout_scale();
}

BOOL rmt_host_runs_x86(void)
{
    char v[8];
    DWORD n = GetEnvironmentVariableA("RM_HOST_X86", v, sizeof(v));
    return !(n > 0 && n < sizeof(v) && !lstrcmpiA(v, "no"));
}

HMODULE rmt_rstrtmgr_module(void)
{
    HMODULE m = GetModuleHandleW(L"rstrtmgr.dll");
    if (!m) m = LoadLibraryW(L"rstrtmgr.dll");
    return m;
}

BOOL rmt_is_our_dll(char *reason, size_t cch)
{
    HMODULE m = rmt_rstrtmgr_module();
    WCHAR path[MAX_PATH];
    DWORD size, dummy;
    BYTE *data;
    char *name = NULL;
    UINT len = 0;
    BOOL ours;

    if (!m)
    {
        snprintf(reason, cch, "rstrtmgr.dll could not be loaded (error %lu)", GetLastError());
        return FALSE;
    }
    /* Wine marks its builtin PE images with this string right after the DOS header. */
    if (!memcmp((const char *)m + 0x40, "Wine builtin DLL", 16))
    {
        snprintf(reason, cch, "Wine's builtin rstrtmgr.dll stub is loaded, not ours");
        return FALSE;
    }
    GetModuleFileNameW(m, path, MAX_PATH);
    size = GetFileVersionInfoSizeW(path, &dummy);
    if (!size || !(data = malloc(size)))
    {
        snprintf(reason, cch, "loaded rstrtmgr.dll (%ls) has no version resource", path);
        return FALSE;
    }
    ours = GetFileVersionInfoW(path, 0, size, data) &&
           VerQueryValueA(data, "\\StringFileInfo\\040904B0\\ProductName", (void **)&name, &len) &&
           name && !strcmp(name, RSTRTMGR_PRODUCT_NAME);
    if (!ours)
        snprintf(reason, cch, "loaded rstrtmgr.dll (%ls) is not this project's (ProductName '%s')",
                 path, name ? name : "(none)");
    else
        snprintf(reason, cch, "%ls, ProductName '%s'", path, name);
    free(data);
    return ours;
}

void rmt_assert_our_dll(void)
{
    char reason[512];
    if (rmt_conformance())
    {
        if (!rmt_is_requested_dll(reason, sizeof(reason))) fail_msg("WRONG DLL UNDER TEST: %s", reason);
        return;
    }
    if (!rmt_is_our_dll(reason, sizeof(reason)))
        fail_msg("WRONG DLL UNDER TEST: %s", reason);
}

BOOL rmt_conformance(void)
{
    char v[8];
    DWORD n = GetEnvironmentVariableA("RMT_CONFORMANCE", v, sizeof(v));
    return n == 1 && v[0] == '1';
}

/* The directory part of a module's path (up to the last backslash), in dir. */
static BOOL module_dir(HMODULE m, WCHAR *dir, DWORD cch)
{
    DWORD n = GetModuleFileNameW(m, dir, cch);
    if (!n || n >= cch) return FALSE;
    while (n && dir[n - 1] != L'\\') n--;
    if (!n) return FALSE;
    dir[n - 1] = 0;
    return TRUE;
}

BOOL rmt_is_requested_dll(char *reason, size_t cch)
{
    HMODULE m = rmt_rstrtmgr_module();
    WCHAR path[MAX_PATH], got[MAX_PATH], want[MAX_PATH];
    char which[16];
    DWORD n = GetEnvironmentVariableA("RMT_CONFORMANCE_DLL", which, sizeof(which));
    BOOL system = n && n < sizeof(which) && !_stricmp(which, "system");
    BOOL beside = n && n < sizeof(which) && !_stricmp(which, "beside");

    if (!m)
    {
        snprintf(reason, cch, "rstrtmgr.dll could not be loaded (error %lu)", GetLastError());
        return FALSE;
    }
    if (!GetModuleFileNameW(m, path, MAX_PATH)) path[0] = 0;
    if (!system && !beside)
    {
        snprintf(reason, cch, "RMT_CONFORMANCE_DLL is neither 'system' nor 'beside' (%ls loaded)", path);
        return FALSE;
    }
    if (!module_dir(m, got, MAX_PATH) ||
        !(system ? GetSystemDirectoryW(want, MAX_PATH) != 0 : module_dir(NULL, want, MAX_PATH)))
    {
        snprintf(reason, cch, "cannot tell where rstrtmgr.dll (%ls) was loaded from", path);
        return FALSE;
    }
    snprintf(reason, cch, "%ls%s (asked for the %s one)", path,
             memcmp((const char *)m + 0x40, "Wine builtin DLL", 16) ? "" : ", Wine's builtin",
             system ? "system directory's" : "test program's directory's");
    if (!_wcsicmp(got, want)) return TRUE;
    /* A 32-bit program on 64-bit Windows loads system DLLs from SysWOW64, which
     * GetSystemDirectory does not name (Wine reports System32 for both). */
    if (system)
    {
        BOOL wow = FALSE;
        WCHAR wow_dir[MAX_PATH];
        if (IsWow64Process(GetCurrentProcess(), &wow) && wow && GetSystemWow64DirectoryW(wow_dir, MAX_PATH))
            return !_wcsicmp(got, wow_dir);
    }
    return FALSE;
}

static WCHAR tempdir[MAX_PATH];

const WCHAR *rmt_tempdir(void)
{
    if (!tempdir[0])
    {
        WCHAR base[MAX_PATH];
        GetTempPathW(MAX_PATH, base);
        swprintf(tempdir, MAX_PATH, L"%lsrmtest-%lu-%lu", base, GetCurrentProcessId(), GetTickCount());
        CreateDirectoryW(tempdir, NULL);
    }
    return tempdir;
}

WCHAR *rmt_path(const WCHAR *name)
{
    size_t n = wcslen(rmt_tempdir()) + wcslen(name) + 2;
    WCHAR *p = malloc(n * sizeof(WCHAR));
    swprintf(p, n, L"%ls\\%ls", rmt_tempdir(), name);
    return p;
}

WCHAR *rmt_make_file(const WCHAR *name)
{
    WCHAR *p = rmt_path(name);
    HANDLE h = CreateFileW(p, GENERIC_WRITE, FILE_SHARE_READ, NULL, CREATE_ALWAYS, 0, NULL);
    DWORD written;
    assert_true(h != INVALID_HANDLE_VALUE);
    WriteFile(h, "rmtest", 6, &written, NULL);
    CloseHandle(h);
    return p;
}

void rmt_remove_tree(const WCHAR *dir)
{
    WCHAR pattern[MAX_PATH], child[MAX_PATH];
    WIN32_FIND_DATAW fd;
    HANDLE f;
    swprintf(pattern, MAX_PATH, L"%ls\\*", dir);
    if ((f = FindFirstFileW(pattern, &fd)) != INVALID_HANDLE_VALUE)
    {
        do
        {
            if (!wcscmp(fd.cFileName, L".") || !wcscmp(fd.cFileName, L"..")) continue;
            swprintf(child, MAX_PATH, L"%ls\\%ls", dir, fd.cFileName);
            if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) rmt_remove_tree(child);
            else DeleteFileW(child);
        } while (FindNextFileW(f, &fd));
        FindClose(f);
    }
    RemoveDirectoryW(dir);
}

void rmt_cleanup(void)
{
    if (tempdir[0]) rmt_remove_tree(tempdir);
    tempdir[0] = 0;
}

DWORD rmt_start(WCHAR key[CCH_RM_SESSION_KEY + 1])
{
    DWORD h = SENTINEL;
    assert_int_equal(RmStartSession(&h, 0, key), ERROR_SUCCESS);
    assert_int_not_equal(h, SENTINEL);
    return h;
}

RM_UNIQUE_PROCESS rmt_self(void)
{
    RM_UNIQUE_PROCESS p;
    FILETIME e, k, u;
    p.dwProcessId = GetCurrentProcessId();
    GetProcessTimes(GetCurrentProcess(), &p.ProcessStartTime, &e, &k, &u);
    return p;
}

DWORD rmt_handle_count(void)
{
    LONG st = 0;
    DWORD n = rmt_own_handle_count(&st);

    if (n == (DWORD)-1) fail_msg("NtQuerySystemInformation(SystemExtendedHandleInformation): 0x%08lx",
                                 (unsigned long)st);
    return n;
}

/* ---- timing ---------------------------------------------------------------------------- */

double rmt_now_s(void)
{
    static LARGE_INTEGER freq;
    LARGE_INTEGER t;
    if (!freq.QuadPart) QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&t);
    return (double)t.QuadPart / (double)freq.QuadPart;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double rmt_median(const double *v, int n)
{
    double *c, m;
    if (n <= 0 || !(c = malloc((size_t)n * sizeof(*c)))) return 0;
    memcpy(c, v, (size_t)n * sizeof(*c));
    qsort(c, (size_t)n, sizeof(*c), cmp_double);
    m = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
    free(c);
    return m;
}

/* ---- sessions a program opened ----------------------------------------------------- */

static DWORD opened[256];
static int nopened;

void rmt_track(DWORD h)
{
    if (nopened >= (int)ARRAYSIZE(opened))
        fail_msg("rmt_track: more than %u session handles open", (unsigned)ARRAYSIZE(opened));
    opened[nopened++] = h;
}

void rmt_untrack(DWORD h)
{
    int i;
    for (i = 0; i < nopened; i++)
        if (opened[i] == h)
        {
            opened[i] = opened[--nopened];
            return;
        }
}

DWORD rmt_start_tracked(WCHAR *key)
{
    WCHAR own[CCH_RM_SESSION_KEY + 1];
    DWORD h = rmt_start(key ? key : own);
    rmt_track(h);
    return h;
}

DWORD rmt_join_tracked(const WCHAR *key)
{
    DWORD h = SENTINEL;
    assert_int_equal(RmJoinSession(&h, key), ERROR_SUCCESS);
    assert_int_not_equal(h, SENTINEL);
    rmt_track(h);
    return h;
}

void rmt_end_ok(DWORD h)
{
    assert_int_equal(RmEndSession(h), ERROR_SUCCESS);
    rmt_untrack(h);
}

void rmt_end_all(void)
{
    while (nopened) RmEndSession(opened[--nopened]);
}

int rmt_teardown_sessions(void **state)
{
    (void)state;
    rmt_end_all();
    return 0;
}

/* ---- the session store ---------------------------------------------------------------- */

void rmt_slot_path(WCHAR *path, size_t cch, DWORD slot)
{
    swprintf(path, cch, RMT_STORE_KEY L"\\Session%04lu", slot);
}

HKEY rmt_open_slot(DWORD slot, REGSAM access)
{
    WCHAR path[128];
    HKEY k;
    rmt_slot_path(path, ARRAYSIZE(path), slot);
    if (RegOpenKeyExW(HKEY_CURRENT_USER, path, 0, access, &k)) return NULL;
    return k;
}

BOOL rmt_slot_exists(DWORD slot)
{
    HKEY k = rmt_open_slot(slot, KEY_READ);
    if (k) RegCloseKey(k);
    return k != NULL;
}

BOOL rmt_value_exists(DWORD slot, const WCHAR *name)
{
    HKEY k = rmt_open_slot(slot, KEY_READ);
    LSTATUS st;
    assert_non_null(k);
    st = RegQueryValueExW(k, name, NULL, NULL, NULL, NULL);
    RegCloseKey(k);
    return st == ERROR_SUCCESS;
}

WCHAR *rmt_read_value(DWORD slot, const WCHAR *name, DWORD *type)
{
    HKEY k = rmt_open_slot(slot, KEY_READ);
    DWORD cb = 0;
    WCHAR *buf;

    assert_non_null(k);
    *type = REG_NONE;
    if (RegQueryValueExW(k, name, NULL, type, NULL, &cb))
    {
        RegCloseKey(k);
        return NULL;
    }
    assert_non_null(buf = calloc(1, cb + 4 * sizeof(WCHAR)));
    assert_int_equal(RegQueryValueExW(k, name, NULL, type, (BYTE *)buf, &cb), ERROR_SUCCESS);
    RegCloseKey(k);
    return buf;
}

/* Local\RstrtMgr-Store-<SID><suffix> */
static void store_object_name(WCHAR *name, size_t size, const WCHAR *suffix)
{
    HANDLE token;
    BYTE buf[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    DWORD len;
    WCHAR *sid = NULL;

    assert_true(OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token));
    assert_true(GetTokenInformation(token, TokenUser, buf, sizeof(buf), &len));
    CloseHandle(token);
    assert_true(ConvertSidToStringSidW(((TOKEN_USER *)buf)->User.Sid, &sid));
    swprintf(name, size, L"%ls%ls%ls", RM_STORE_BASE_NAME, sid, suffix);
    LocalFree(sid);
}

void rmt_store_lock_open(struct rmt_store_lock *l)
{
    WCHAR name[256];

    /* Both exist: this process has used the store already. */
    store_object_name(name, ARRAYSIZE(name), RM_BOARD_SUFFIX);
    l->section = OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, name);
    if (!l->section) fail_msg("store board %ls not found (%lu)", name, GetLastError());
    l->board = MapViewOfFile(l->section, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, sizeof(struct rm_board));
    assert_non_null(l->board);
    store_object_name(name, ARRAYSIZE(name), RM_WAKE_SUFFIX);
    l->wake = OpenEventW(SYNCHRONIZE | EVENT_MODIFY_STATE, FALSE, name);
    if (!l->wake) fail_msg("store lock event %ls not found (%lu)", name, GetLastError());
}

void rmt_store_lock_close(struct rmt_store_lock *l)
{
    UnmapViewOfFile(l->board);
    CloseHandle(l->section);
    CloseHandle(l->wake);
    memset(l, 0, sizeof(*l));
}

DWORD rmt_commits_end(DWORD slot)
{
    DWORD type = 0, v = SENTINEL, cb = sizeof(v), end;
    HKEY k = rmt_open_slot(slot, KEY_READ);
    LSTATUS st;
    assert_non_null(k);
    st = RegQueryValueExW(k, RM_STORE_SEQUENCE, NULL, &type, (BYTE *)&v, &cb);
    assert_int_equal(st, ERROR_SUCCESS);
    assert_int_equal(type, REG_DWORD);
    assert_int_equal(cb, sizeof(DWORD));
    /* Every number below Sequence holds a group: the end is not below it. */
    assert_int_equal(rm_store_commits_end(k, 0) >= v, TRUE);
    end = rm_store_commits_end(k, v);
    RegCloseKey(k);
    return end;
}

BOOL rmt_process_alive(const RM_UNIQUE_PROCESS *p)
{
    FILETIME c, e, k, u;
    DWORD code = 0;
    BOOL alive = FALSE;
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, p->dwProcessId);
    if (!h) return FALSE;
    if (GetProcessTimes(h, &c, &e, &k, &u) && GetExitCodeProcess(h, &code) && code == STILL_ACTIVE)
        alive = !memcmp(&c, &p->ProcessStartTime, sizeof(c));
    CloseHandle(h);
    return alive;
}

BOOL rmt_slot_live(DWORD slot)
{
    RM_UNIQUE_PROCESS owner;
    DWORD type = 0, cb = sizeof(owner);
    BOOL live = FALSE;
    HKEY k = rmt_open_slot(slot, KEY_READ);
    if (!k) return FALSE;
    if (!RegQueryValueExW(k, RM_STORE_OWNER, NULL, &type, (BYTE *)&owner, &cb) && type == REG_BINARY &&
        cb == sizeof(owner))
        live = rmt_process_alive(&owner);
    RegCloseKey(k);
    return live;
}

int rmt_lowest_free_slot(void)
{
    int s;
    for (s = 0; s < RMT_NSLOTS; s++)
        if (!rmt_slot_live(s)) return s;
    return -1;
}

/* ---- RmGetList results -------------------------------------------------------------- */

const RM_PROCESS_INFO *rmt_find_pid(const RM_PROCESS_INFO *l, UINT n, DWORD pid)
{
    UINT i;
    for (i = 0; i < n; i++)
        if (l[i].Process.dwProcessId == pid) return &l[i];
    return NULL;
}

int rmt_run_group(const char *name, const struct CMUnitTest *tests, size_t count)
{
    int failed;
    rmt_init();
    rmt_assert_our_dll();
    failed = _cmocka_run_group_tests(name, tests, count, NULL, NULL);
    rmt_cleanup();
    return failed;
}

SIZE_T rmt_heap_in_use(void)
{
    PROCESS_HEAP_ENTRY e;
    HANDLE heap = GetProcessHeap();
    SIZE_T busy = 0;

    memset(&e, 0, sizeof(e));
    if (!HeapLock(heap)) return 0;
    while (HeapWalk(heap, &e))
        if (e.wFlags & PROCESS_HEAP_ENTRY_BUSY) busy += e.cbData;
    HeapUnlock(heap);
    return busy;
}

int rmt_run_group_fault_free(const char *name, const struct CMUnitTest *tests, size_t count)
{
    WCHAR key[CCH_RM_SESSION_KEY + 1];
    DWORD h = SENTINEL;
    int failed;

    rmt_init();
    rmt_assert_our_dll();
    SetEnvironmentVariableW(L"RSTRTMGR_FAULT", NULL);
    if (RmStartSession(&h, 0, key) == ERROR_SUCCESS) RmEndSession(h);
    failed = _cmocka_run_group_tests(name, tests, count, NULL, NULL);
    rmt_cleanup();
    return failed;
}
