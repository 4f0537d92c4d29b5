/*
 * test_crossarch.c - discovery across architectures: the 64-bit DLL finds 32-bit
 * processes and the 32-bit DLL finds 64-bit ones (one WoW64 prefix runs both).
 * The store is shared across architectures too: a secondary of the other
 * architecture commits between the primary's commits, and the store's commit
 * board (one page both map, src/store.c) must tell each of them about the other's
 * commits, or one would write its commit over the other's.
 * The other architecture's helper comes from the sibling build directory
 * (build/x86 for the x64 tests and the reverse); tools/check builds both lanes
 * before it tests either. Without it the tests say so and skip; on a machine that
 * cannot execute 32-bit code they are skipped with that reason, and the program
 * exits with RMT_EXIT_SKIPPED so that ctest shows the test as not run.
 */
#include "rmspawn.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN64
#define OTHER_ARCH L"x86"
#else
#define OTHER_ARCH L"x64"
#endif

static WCHAR other_helper[MAX_PATH];

static BOOL find_other_helper(void)
{
    WCHAR dir[MAX_PATH], *slash;
    GetModuleFileNameW(NULL, dir, MAX_PATH);
    if ((slash = wcsrchr(dir, L'\\'))) *slash = 0;
    swprintf(other_helper, MAX_PATH, L"%ls\\..\\" OTHER_ARCH L"\\rmhelper.exe", dir);
    if (GetFileAttributesW(other_helper) == INVALID_FILE_ATTRIBUTES)
    {
        print_message("other architecture's helper not built (%ls): skipping\n", other_helper);
        return FALSE;
    }
    return TRUE;
}

/* Runs RmGetList on h and returns the entry for pid (asserting there is one). */
static RM_PROCESS_INFO find_entry(DWORD h, DWORD pid)
{
    RM_PROCESS_INFO apps[16], none;
    const RM_PROCESS_INFO *e;
    UINT needed = SENTINEL, n = 16;
    DWORD reasons = SENTINEL;

    assert_int_equal(RmGetList(h, &needed, &n, apps, &reasons), ERROR_SUCCESS);
    if ((e = rmt_find_pid(apps, n, pid))) return *e;
    fail_msg("process %lu not listed (%u entries)", pid, n);
    memset(&none, 0, sizeof(none));
    return none;
}

static void test_other_arch_file_holder(void **state)
{
    struct rmt_child child;
    WCHAR key[CCH_RM_SESSION_KEY + 1], *file, args[MAX_PATH + 32];
    LPCWSTR files[1];
    RM_PROCESS_INFO e;
    FILETIME created, x, k, u;
    DWORD h;
    BOOL wow = FALSE;
    (void)state;

    rmt_skip_without_x86();
    if (!find_other_helper()) { skip(); return; }
    file = rmt_make_file(L"xarch-held.txt");
    swprintf(args, ARRAYSIZE(args), L"hold \"%ls\" none", file);
    assert_int_equal(rmt_spawn_exe(other_helper, args, 0, TRUE, 15000, &child), ERROR_SUCCESS);
    /* Prove the child really is the other architecture. */
    assert_true(IsWow64Process(child.process, &wow));
#ifdef _WIN64
    assert_true(wow);
#else
    assert_false(wow);
#endif
    h = rmt_start(key);
    files[0] = file;
    assert_int_equal(RmRegisterResources(h, 1, files, 0, NULL, 0, NULL), ERROR_SUCCESS);
    e = find_entry(h, child.pid);
    GetProcessTimes(child.process, &created, &x, &k, &u);
    assert_memory_equal(&e.Process.ProcessStartTime, &created, sizeof(FILETIME));
    assert_int_equal(e.ApplicationType, RmConsole);
    assert_int_equal(RmEndSession(h), ERROR_SUCCESS);
    rmt_child_kill(&child);
    free(file);
}

static void test_other_arch_executable(void **state)
{
    struct rmt_child child;
    WCHAR key[CCH_RM_SESSION_KEY + 1];
    LPCWSTR files[1];
    DWORD h;
    (void)state;

    rmt_skip_without_x86();
    if (!find_other_helper()) { skip(); return; }
    assert_int_equal(rmt_spawn_exe(other_helper, L"sleep", 0, TRUE, 15000, &child), ERROR_SUCCESS);
    h = rmt_start(key);
    files[0] = other_helper;   /* the process's own executable */
    assert_int_equal(RmRegisterResources(h, 1, files, 0, NULL, 0, NULL), ERROR_SUCCESS);
    find_entry(h, child.pid);
    assert_int_equal(RmEndSession(h), ERROR_SUCCESS);
    rmt_child_kill(&child);
}

/* The other architecture's secondary joins the session of key and registers
 * file; returns its record (free() it). */
static char *other_arch_registers(const WCHAR *key, const WCHAR *file)
{
    WCHAR ops[2 * MAX_PATH];
    swprintf(ops, ARRAYSIZE(ops), L"join %ls reg \"%ls\" end", key, file);
    return rmt_run_script(other_helper, NULL, ops);
}

/* Group commit of the slot holds exactly the file named name. */
static void check_group(DWORD slot, DWORD commit, const WCHAR *name)
{
    WCHAR value[32], *data;
    DWORD type;

    swprintf(value, ARRAYSIZE(value), L"RegFiles%04lu", commit);
    assert_non_null(data = rmt_read_value(slot, value, &type));
    assert_int_equal(type, REG_MULTI_SZ);
    if (!wcsstr(data, name)) fail_msg("%ls holds %ls, not %ls", value, data, name);
    assert_int_equal(data[wcslen(data) + 1], 0);   /* one entry */
    free(data);
}

static void test_other_arch_secondary_commits(void **state)
{
    WCHAR key[CCH_RM_SESSION_KEY + 1], *a = rmt_path(L"xarch-a.dat"), *b = rmt_path(L"xarch-b.dat"),
          *c = rmt_path(L"xarch-c.dat"), *d = rmt_path(L"xarch-d.dat");
    UINT needed = 0, n = 0;
    DWORD h, reasons = 0;
    char *text;
    (void)state;

    rmt_skip_without_x86();
    if (!find_other_helper()) { skip(); return; }
    h = rmt_start(key);
    assert_int_equal(RmRegisterResources(h, 1, (LPCWSTR *)&a, 0, NULL, 0, NULL), ERROR_SUCCESS);
    text = other_arch_registers(key, b);
    if (!strstr(text, "join 0 ") || !strstr(text, "reg 0")) fail_msg("the other architecture's secondary: %s", text);
    free(text);
    /* This architecture's next commit comes after the other's, not over it. */
    assert_int_equal(RmRegisterResources(h, 1, (LPCWSTR *)&c, 0, NULL, 0, NULL), ERROR_SUCCESS);
    text = other_arch_registers(key, d);
    if (!strstr(text, "reg 0")) fail_msg("the other architecture's secondary: %s", text);
    free(text);
    assert_int_equal(rmt_commits_end(h), 4);
    check_group(h, 0, L"xarch-a.dat");
    check_group(h, 1, L"xarch-b.dat");
    check_group(h, 2, L"xarch-c.dat");
    check_group(h, 3, L"xarch-d.dat");
    assert_int_equal(RmGetList(h, &needed, &n, NULL, &reasons), ERROR_SUCCESS);
    assert_int_equal(RmEndSession(h), ERROR_SUCCESS);
    free(a);
    free(b);
    free(c);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_other_arch_file_holder),
        cmocka_unit_test(test_other_arch_executable),
        cmocka_unit_test(test_other_arch_secondary_commits),
    };
    int r;
    rmt_init();
    r = cmocka_run_group_tests(tests, NULL, NULL);
    rmt_cleanup();
    return r == 0 && !rmt_host_runs_x86() ? RMT_EXIT_SKIPPED : r;
}
