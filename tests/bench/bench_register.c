/*
 * bench_register.c - RmRegisterResources cost at scale (issue 12, item 2).
 *
 * The files: 100,000 paths in 50 directories. Every block of 10,000 paths is five
 * directories of 400, 1,100, 2,000, 3,000 and 3,500 entries, and in each
 * directory 17 names in 20 exist (85,000 files, created first); the others do
 * not exist yet, as installers register files they are about to create. Paths
 * are in directory order.
 *
 * The floor is measured here, without the DLL: one listing of every directory
 * involved (open, GetFileInformationByHandleEx(FileIdBothDirectoryInfo) until
 * ERROR_NO_MORE_FILES with a 64 KiB buffer, close), the median of three passes
 * after a warm-up pass. What the DLL must learn of each file is in that listing.
 *
 *  (a) 100,000 paths in ONE RmRegisterResources call, against the floor;
 *  (b) the same paths in 1,000 calls of 100 into another session (sessions share
 *      nothing), against the same floor; the sum over the calls of the floor of
 *      each call's own directories (what a call that learns nothing from earlier
 *      calls would pay) is printed beside it;
 *  (c) growth: the median call of the last 100 calls of (b) against the first 100
 *      (blocks 0 and 9 have the same directory sizes, so a ratio above 1 is cost
 *      that grows with what the session already holds);
 *  (d) a secondary joining a session of 10,000 files (block 0, registered by the
 *      primary in one call): the secondary's first RmRegisterResources (one file;
 *      it loads the 10,000 first) and the primary's next RmGetList (it loads the
 *      secondary's commit and checks the new file's directory), beside the
 *      primary's RmGetList before the join. Printed, no target.
 * For scale it also times the old way on a sample: each path opened for its
 * identity and canonical name (full path, open, GetFileInformationByHandle,
 * GetFinalPathNameByHandleW, close). And, before (b), what one request to the
 * Wine server costs in this run (a registry write), since (b)'s calls are mostly
 * the one request of their commits on a machine where a request is slow.
 *
 * Output: plain "name: value unit" lines and one verdict line per target.
 * Informative only: exit code 0 whether or not the targets are met, 1 if an API
 * call failed, 2 if the rstrtmgr.dll loaded is not this project's.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "rmtest.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define TOTAL_FILES    100000
#define BLOCK_FILES    10000
#define NBLOCKS        (TOTAL_FILES / BLOCK_FILES)
#define DIRS_PER_BLOCK 5
#define NDIRS          (NBLOCKS * DIRS_PER_BLOCK)
#define EXIST_OF_20    17                      /* 85% of the names exist */
#define CALLS          1000
#define PER_CALL       (TOTAL_FILES / CALLS)
#define EDGE_CALLS     100                     /* first/last calls compared in (c) */
#define TARGET_FLOOR   2.0                     /* (a) and (b) against the floor */
#define TARGET_GROWTH  1.2                     /* last-100 / first-100 */
#define OPEN_SAMPLE    2000                    /* paths opened the old way */
#define FLOOR_PASSES   3
#define SETTLE_S       2.5                     /* seconds since the last file was created */
#define ROUND_TRIPS    2000                    /* requests timed for server_round_trip */

static const int dir_sizes[DIRS_PER_BLOCK] = { 400, 1100, 2000, 3000, 3500 };

static WCHAR base[MAX_PATH];
static WCHAR dirs[NDIRS][MAX_PATH];
static int path_dir[TOTAL_FILES];              /* directory of each path */
static double dir_floor[NDIRS];                /* median listing time of each directory */

static void free_paths(WCHAR **paths, int n)
{
    int i;
    if (!paths) return;
    for (i = 0; i < n; i++) free(paths[i]);
    free(paths);
}

static BOOL create_file(const WCHAR *path)
{
    HANDLE h = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) return FALSE;
    CloseHandle(h);
    return TRUE;
}

/* Makes the directories, the paths and the files that exist; *created counts them. */
static WCHAR **make_set(int *created)
{
    WCHAR **paths = calloc(TOTAL_FILES, sizeof(*paths)), buf[MAX_PATH];
    int d, i, k = 0;
    if (!paths) return NULL;
    for (d = 0; d < NDIRS; d++)
    {
        swprintf(dirs[d], MAX_PATH, L"%ls\\Component%02d", base, d);
        if (!CreateDirectoryW(dirs[d], NULL))
        {
            printf("error: cannot create %ls (%lu)\n", dirs[d], GetLastError());
            free_paths(paths, TOTAL_FILES);
            return NULL;
        }
        for (i = 0; i < dir_sizes[d % DIRS_PER_BLOCK]; i++, k++)
        {
            BOOL exists = i % 20 < EXIST_OF_20;
            swprintf(buf, MAX_PATH, L"%ls\\Library-Module-%05d.%ls", dirs[d], i, exists ? L"dll" : L"new");
            if (!(paths[k] = _wcsdup(buf)))
            {
                free_paths(paths, TOTAL_FILES);
                return NULL;
            }
            path_dir[k] = d;
            if (exists)
            {
                if (!create_file(buf))
                {
                    printf("error: cannot create %ls (%lu)\n", buf, GetLastError());
                    free_paths(paths, TOTAL_FILES);
                    return NULL;
                }
                (*created)++;
            }
        }
    }
    return paths;
}

/* One listing of a directory, as the floor defines it; returns the entries, -1 if
 * the directory cannot be opened or listed. */
static int list_dir(const WCHAR *dir, BYTE *buf)
{
    HANDLE h = CreateFileW(dir, FILE_LIST_DIRECTORY | SYNCHRONIZE,
                           FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                           FILE_FLAG_BACKUP_SEMANTICS, NULL);
    int n = 0;
    if (h == INVALID_HANDLE_VALUE) return -1;
    for (;;)
    {
        if (!GetFileInformationByHandleEx(h, FileIdBothDirectoryInfo, buf, 65536))
        {
            if (GetLastError() != ERROR_NO_MORE_FILES) n = -1;
            break;
        }
        FILE_ID_BOTH_DIR_INFO *e = (FILE_ID_BOTH_DIR_INFO *)buf;
        for (;;)
        {
            n++;
            if (!e->NextEntryOffset) break;
            e = (FILE_ID_BOTH_DIR_INFO *)((BYTE *)e + e->NextEntryOffset);
        }
    }
    CloseHandle(h);
    return n;
}

/* The floor: every directory listed once, median of FLOOR_PASSES passes after a
 * warm-up pass; each directory's own median in dir_floor. Returns seconds, or a
 * negative value if a directory could not be listed. */
static double measure_floor(int *entries)
{
    static double t[FLOOR_PASSES][NDIRS];
    double total[FLOOR_PASSES], v[FLOOR_PASSES];
    BYTE *buf = malloc(65536);
    int p, d;

    *entries = 0;
    if (!buf) return -1;
    for (d = 0; d < NDIRS; d++) list_dir(dirs[d], buf);
    for (p = 0; p < FLOOR_PASSES; p++)
    {
        total[p] = 0;
        for (d = 0; d < NDIRS; d++)
        {
            double t0 = rmt_now_s();
            int n = list_dir(dirs[d], buf);
            t[p][d] = rmt_now_s() - t0;
            total[p] += t[p][d];
            if (n < 0)
            {
                printf("error: cannot list %ls (%lu)\n", dirs[d], GetLastError());
                free(buf);
                return -1;
            }
            if (!p) *entries += n;
        }
    }
    for (d = 0; d < NDIRS; d++)
    {
        for (p = 0; p < FLOOR_PASSES; p++) v[p] = t[p][d];
        dir_floor[d] = rmt_median(v, FLOOR_PASSES);
    }
    free(buf);
    return rmt_median(total, FLOOR_PASSES);
}

/* The old way, per path: full path, open, identity, canonical name, close. */
static double open_each(WCHAR **paths, int n, int step)
{
    WCHAR full[MAX_PATH], final[MAX_PATH];
    BY_HANDLE_FILE_INFORMATION fi;
    double t0 = rmt_now_s();
    int i;
    for (i = 0; i < n; i++)
    {
        HANDLE h;
        if (!GetFullPathNameW(paths[i * step], MAX_PATH, full, NULL)) continue;
        h = CreateFileW(full, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                        OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
        if (h == INVALID_HANDLE_VALUE) continue;
        GetFileInformationByHandle(h, &fi);
        GetFinalPathNameByHandleW(h, final, MAX_PATH, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
        CloseHandle(h);
    }
    return rmt_now_s() - t0;
}

/* What one request to the Wine server costs in this run: the median of
 * ROUND_TRIPS RegSetValueExW of a DWORD on a volatile key of the benchmark's own
 * (a registration of one kind commits with one: its group; the store lock makes
 * none unless another writer holds it).
 * On a machine with two CPUs it depends on whether the server and the caller run
 * on the same one, which the benchmark does not choose. Returns seconds, or a
 * negative value if the key cannot be made. */
static double server_round_trip(void)
{
    static double t[ROUND_TRIPS];
    WCHAR name[64];
    HKEY key;
    DWORD v, disp;
    int i;

    swprintf(name, ARRAYSIZE(name), L"Software\\rstrtmgr-bench-%lu", GetCurrentProcessId());
    if (RegCreateKeyExW(HKEY_CURRENT_USER, name, 0, NULL, REG_OPTION_VOLATILE, KEY_ALL_ACCESS, NULL, &key,
                        &disp))
        return -1;
    for (i = 0; i < ROUND_TRIPS; i++)
    {
        double t0 = rmt_now_s();
        v = (DWORD)i;
        RegSetValueExW(key, L"v", 0, REG_DWORD, (const BYTE *)&v, sizeof(v));
        t[i] = rmt_now_s() - t0;
    }
    RegCloseKey(key);
    RegDeleteKeyW(HKEY_CURRENT_USER, name);
    return rmt_median(t, ROUND_TRIPS);
}

/* Removes the temporary directory and everything in it, however far setup got;
 * returns FALSE if it is still there. */
static BOOL remove_base(void)
{
    if (!base[0]) return TRUE;
    rmt_remove_tree(base);
    if (GetFileAttributesW(base) == INVALID_FILE_ATTRIBUTES) return TRUE;
    printf("warning: could not remove %ls\n", base);
    return FALSE;
}

static double list_call(DWORD h, UINT *needed, DWORD *err)
{
    UINT n = 0;
    DWORD reasons;
    double t0 = rmt_now_s();
    *err = RmGetList(h, needed, &n, NULL, &reasons);
    return rmt_now_s() - t0;
}

/* (d): a secondary joins a session of the first BLOCK_FILES paths. */
static int join_scenario(WCHAR **paths)
{
    WCHAR key[CCH_RM_SESSION_KEY + 1], extra[MAX_PATH];
    LPCWSTR one[1] = { extra };
    DWORD hp = SENTINEL, hs = SENTINEL, err;
    double t0, t_reg, t_first = 0, t_before = 0, t_join, t_after = 0;
    UINT needed;

    swprintf(extra, MAX_PATH, L"%ls\\Library-Module-added.dll", dirs[0]);
    if ((err = RmStartSession(&hp, 0, key)))
    {
        printf("error: RmStartSession failed with %lu\n", err);
        return 1;
    }
    t0 = rmt_now_s();
    err = RmRegisterResources(hp, BLOCK_FILES, (LPCWSTR *)paths, 0, NULL, 0, NULL);
    t_reg = rmt_now_s() - t0;
    if (!err) t_first = list_call(hp, &needed, &err);
    if (!err) t_before = list_call(hp, &needed, &err);
    if (err)
    {
        printf("error: primary of %d files failed with %lu\n", BLOCK_FILES, err);
        RmEndSession(hp);
        return 1;
    }
    if ((err = RmJoinSession(&hs, key)))
    {
        printf("error: RmJoinSession failed with %lu\n", err);
        RmEndSession(hp);
        return 1;
    }
    t0 = rmt_now_s();
    err = RmRegisterResources(hs, 1, one, 0, NULL, 0, NULL);
    t_join = rmt_now_s() - t0;
    if (!err) t_after = list_call(hp, &needed, &err);
    RmEndSession(hs);
    RmEndSession(hp);
    if (err)
    {
        printf("error: the join scenario failed with %lu\n", err);
        return 1;
    }
    printf("join_session_files: %d files in %d directories, registered by the primary in %.3f s\n",
           BLOCK_FILES, DIRS_PER_BLOCK, t_reg);
    printf("join_primary_first_getlist: %.1f ms\n", t_first * 1e3);
    printf("join_primary_getlist_before: %.1f ms\n", t_before * 1e3);
    printf("join_secondary_first_register_1_file: %.1f ms (loads the %d files first)\n", t_join * 1e3,
           BLOCK_FILES);
    printf("join_primary_next_getlist: %.1f ms (loads the secondary's commit)\n", t_after * 1e3);
    return 0;
}

int main(void)
{
    WCHAR key[CCH_RM_SESSION_KEY + 1], tmp[MAX_PATH];
    WCHAR **set = NULL;
    double t0, t_floor, t_one, t_many, t_call_floor = 0, t_first, t_last, growth, t_open, t_setup, settle, *per_call = NULL;
    DWORD h = SENTINEL, err;
    char reason[512];
    int created = 0, entries, i, k, rc = 1, last_dir;

    rmt_init();
    if (!rmt_is_our_dll(reason, sizeof(reason)))
    {
        printf("error: %s\n", reason);
        return 2;
    }
    printf("# bench_register: %d paths in %d directories of 400-3500 entries (85%% exist): one call, "
           "%d calls of %d, a secondary joining %d\n", TOTAL_FILES, NDIRS, CALLS, PER_CALL, BLOCK_FILES);
    printf("# dll: %s\n", reason);

    GetTempPathW(MAX_PATH, tmp);
    swprintf(base, MAX_PATH, L"%lsrmbench-reg-%lu", tmp, GetCurrentProcessId());
    if (!CreateDirectoryW(base, NULL))
    {
        printf("error: cannot create %ls (%lu)\n", base, GetLastError());
        base[0] = 0;
        return 1;
    }
    t0 = rmt_now_s();
    if (!(set = make_set(&created))) goto out;
    t_setup = rmt_now_s();
    printf("setup_create_files: %.3f s\n", t_setup - t0);
    printf("file_mix: %d existing + %d nonexistent of %d paths in %d directories\n", created,
           TOTAL_FILES - created, TOTAL_FILES, NDIRS);

    if ((t_floor = measure_floor(&entries)) <= 0) goto out;
    printf("floor_list_every_directory_once: %.3f s (%d entries, median of %d passes)\n", t_floor, entries,
           FLOOR_PASSES);
    printf("floor_per_entry: %.1f us\n", t_floor * 1e6 / entries);
    t_open = open_each(set, OPEN_SAMPLE, TOTAL_FILES / OPEN_SAMPLE);
    printf("old_way_open_each_per_path: %.1f us (sample of %d paths)\n", t_open * 1e6 / OPEN_SAMPLE, OPEN_SAMPLE);
    printf("old_way_estimate_100000: %.1f s\n", t_open / OPEN_SAMPLE * TOTAL_FILES);

    /* The DLL trusts a directory listing it keeps only while the directory's
     * last write is two seconds old or more (listing.c); until then each call lists
     * the directory again. The setup's last directories are that young when the
     * calls begin, on a fast machine: waiting out the rest of those seconds keeps
     * what the calls measure the same from run to run. */
    settle = SETTLE_S - (rmt_now_s() - t_setup);
    if (settle > 0)
    {
        printf("settle_wait: %.3f s (the last directory written must be %.1f s old)\n", settle, SETTLE_S);
        Sleep((DWORD)(settle * 1000) + 1);
    }

    /* (a) one call */
    if ((err = RmStartSession(&h, 0, key)))
    {
        printf("error: RmStartSession failed with %lu\n", err);
        goto out;
    }
    t0 = rmt_now_s();
    err = RmRegisterResources(h, TOTAL_FILES, (LPCWSTR *)set, 0, NULL, 0, NULL);
    t_one = rmt_now_s() - t0;
    RmEndSession(h);
    if (err)
    {
        printf("error: RmRegisterResources(%d files) failed with %lu\n", TOTAL_FILES, err);
        goto out;
    }
    printf("one_call_total: %.3f s\n", t_one);
    printf("one_call_per_file: %.1f us\n", t_one * 1e6 / TOTAL_FILES);
    printf("one_call_vs_floor: %.2f x\n", t_one / t_floor);

    t0 = server_round_trip();
    if (t0 > 0)
        printf("server_round_trip: %.1f us (median of %d registry writes; a registration of one kind commits with 1 request)\n",
               t0 * 1e6, ROUND_TRIPS);

    /* (b) many calls, each timed for (c) */
    if (!(per_call = calloc(CALLS, sizeof(*per_call)))) goto out;
    if ((err = RmStartSession(&h, 0, key)))
    {
        printf("error: RmStartSession failed with %lu\n", err);
        goto out;
    }
    t_many = 0;
    for (i = 0; i < CALLS; i++)
    {
        t0 = rmt_now_s();
        err = RmRegisterResources(h, PER_CALL, (LPCWSTR *)set + (size_t)i * PER_CALL, 0, NULL, 0, NULL);
        per_call[i] = rmt_now_s() - t0;
        t_many += per_call[i];
        if (err)
        {
            printf("error: RmRegisterResources call %d failed with %lu\n", i, err);
            RmEndSession(h);
            goto out;
        }
    }
    RmEndSession(h);
    /* What calls that each list their own directories would pay at least. */
    for (i = 0; i < CALLS; i++)
        for (k = 0, last_dir = -1; k < PER_CALL; k++)
        {
            int dir = path_dir[i * PER_CALL + k];
            if (dir != last_dir) t_call_floor += dir_floor[dir];
            last_dir = dir;
        }
    printf("many_calls_total: %.3f s\n", t_many);
    printf("many_calls_per_call: %.1f us\n", t_many * 1e6 / CALLS);
    printf("many_calls_vs_floor: %.2f x\n", t_many / t_floor);
    printf("many_calls_floor_if_each_call_lists_its_directories: %.3f s (%.2f x of it)\n", t_call_floor,
           t_many / t_call_floor);

    /* (c) growth, on the median call of each hundred (robust against a stray spike
     * from whatever else the machine runs) */
    t_first = rmt_median(per_call, EDGE_CALLS);
    t_last = rmt_median(per_call + CALLS - EDGE_CALLS, EDGE_CALLS);
    growth = t_first > 0 ? t_last / t_first : 0;
    printf("first_%d_median_call: %.1f us\n", EDGE_CALLS, t_first * 1e6);
    printf("last_%d_median_call: %.1f us\n", EDGE_CALLS, t_last * 1e6);

    /* (d) */
    if (join_scenario(set)) goto out;

    printf("target RmRegisterResources(%d files, one call) <= %.1fx floor (%.2fx): %s\n", TOTAL_FILES,
           TARGET_FLOOR, t_one / t_floor, t_one <= TARGET_FLOOR * t_floor ? "MET" : "NOT MET");
    printf("target %d calls of %d <= %.1fx floor (%.2fx): %s\n", CALLS, PER_CALL, TARGET_FLOOR,
           t_many / t_floor, t_many <= TARGET_FLOOR * t_floor ? "MET" : "NOT MET");
    printf("target no growth (last %d calls <= %.1fx first %d, %.2fx): %s\n", EDGE_CALLS, TARGET_GROWTH,
           EDGE_CALLS, growth, growth <= TARGET_GROWTH ? "MET" : "NOT MET");
    rc = 0;

out:
    free(per_call);
    t0 = rmt_now_s();
    free_paths(set, TOTAL_FILES);
    if (remove_base() && !rc) printf("cleanup: %.3f s\n", rmt_now_s() - t0);
    return rc;
}
