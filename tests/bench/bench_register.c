/*
 * bench_register.c - RmRegisterResources cost at scale (issue 2 target).
 *
 *  (a) 100,000 file paths in ONE RmRegisterResources call;
 *  (b) 1,000 calls of 100 files each into one session;
 *  (c) the quadratic-cost check: the last 100 calls of (b) against the first 100
 *      (a ratio near 1 means the cost of a call does not grow with what the
 *      session already holds). Verdict on the median call of each hundred.
 * For scale it first times the raw per-file lookup without the DLL (full path,
 * open, identity, canonical name, close) on 10,000 of the same paths: under Wine
 * that lookup, not the DLL's bookkeeping, is most of the cost.
 *
 * The paths are in one temporary directory. Every 50th path is a real file
 * (2,000 of them, created first); the others do not exist, which is both cheaper
 * to set up under Wine and what installers register (files they are about to
 * create). Real files are spread evenly so that every call of (b) has the same mix.
 * (a) and (b) register the same paths into two different sessions (sessions share
 * nothing, so nothing in (b) is already known).
 *
 * Output: plain "name: value unit" lines and one verdict line. Informative only:
 * exit code 0 whether or not the target is met, 1 if an API call failed, 2 if the
 * rstrtmgr.dll loaded is not this project's.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "rmtest.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define TOTAL_FILES   100000
#define REAL_EVERY    50                       /* 1 in 50 paths exists: 2,000 files */
#define CALLS         1000
#define PER_CALL      (TOTAL_FILES / CALLS)
#define EDGE_CALLS    100                      /* first/last calls compared in (c) */
#define TARGET_GROWTH 1.5                      /* last-100 / first-100 */
#define RAW_SAMPLE    10000                    /* paths in the raw lookup floor */

static WCHAR dir[MAX_PATH];

/* Path number i of set tag ('a' or 'b'); real files are named f..., the others n.... */
static WCHAR *make_path(WCHAR tag, int i)
{
    WCHAR buf[MAX_PATH];
    WCHAR *p;
    size_t n;
    swprintf(buf, MAX_PATH, L"%ls\\%lc%c%06d.dat", dir, tag, i % REAL_EVERY == 0 ? 'f' : 'n', i);
    n = wcslen(buf) + 1;
    if (!(p = malloc(n * sizeof(WCHAR)))) return NULL;
    memcpy(p, buf, n * sizeof(WCHAR));
    return p;
}

static BOOL create_file(const WCHAR *path)
{
    HANDLE h = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    DWORD written;
    if (h == INVALID_HANDLE_VALUE) return FALSE;
    WriteFile(h, "rmbench\n", 8, &written, NULL);
    CloseHandle(h);
    return TRUE;
}

static void free_paths(WCHAR **paths, int n)
{
    int i;
    if (!paths) return;
    for (i = 0; i < n; i++) free(paths[i]);
    free(paths);
}

/* Builds the TOTAL_FILES paths of a set and creates its real files. */
static WCHAR **make_set(WCHAR tag, int *created)
{
    WCHAR **paths = calloc(TOTAL_FILES, sizeof(*paths));
    int i;
    if (!paths) return NULL;
    for (i = 0; i < TOTAL_FILES; i++)
    {
        if (!(paths[i] = make_path(tag, i)))
        {
            free_paths(paths, TOTAL_FILES);
            return NULL;
        }
        if (i % REAL_EVERY == 0)
        {
            if (!create_file(paths[i]))
            {
                printf("error: cannot create %ls (%lu)\n", paths[i], GetLastError());
                free_paths(paths, TOTAL_FILES);
                return NULL;
            }
            (*created)++;
        }
    }
    return paths;
}

/* What any implementation must pay per registered file, done here without the
 * DLL: make the path full and look the file up (for a file that exists: its
 * identity and its canonical name). Returns seconds for n paths. */
static double raw_lookup(WCHAR **paths, int n)
{
    WCHAR full[MAX_PATH], final[MAX_PATH];
    BY_HANDLE_FILE_INFORMATION fi;
    double t0 = rmt_now_s();
    int i;
    for (i = 0; i < n; i++)
    {
        HANDLE h;
        if (!GetFullPathNameW(paths[i], MAX_PATH, full, NULL)) continue;
        h = CreateFileW(full, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                        OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
        if (h == INVALID_HANDLE_VALUE) continue;
        GetFileInformationByHandle(h, &fi);
        GetFinalPathNameByHandleW(h, final, MAX_PATH, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
        CloseHandle(h);
    }
    return rmt_now_s() - t0;
}

static void remove_dir(void)
{
    WCHAR pattern[MAX_PATH], child[MAX_PATH];
    WIN32_FIND_DATAW fd;
    HANDLE f;
    if (!dir[0]) return;
    swprintf(pattern, MAX_PATH, L"%ls\\*", dir);
    if ((f = FindFirstFileW(pattern, &fd)) != INVALID_HANDLE_VALUE)
    {
        do
        {
            if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) continue;
            swprintf(child, MAX_PATH, L"%ls\\%ls", dir, fd.cFileName);
            DeleteFileW(child);
        } while (FindNextFileW(f, &fd));
        FindClose(f);
    }
    RemoveDirectoryW(dir);
}

int main(void)
{
    WCHAR key[CCH_RM_SESSION_KEY + 1], base[MAX_PATH];
    WCHAR **set = NULL;
    double t0, t_raw, t_one, t_many, t_first = 0, t_last = 0, growth, *per_call = NULL;
    DWORD h = SENTINEL, err;
    char reason[512];
    int created = 0, i, rc = 1;

    rmt_init();
    if (!rmt_is_our_dll(reason, sizeof(reason)))
    {
        printf("error: %s\n", reason);
        return 2;
    }
    printf("# bench_register: %d files in one call, then %d calls of %d into one session\n",
           TOTAL_FILES, CALLS, PER_CALL);
    printf("# dll: %s\n", reason);

    GetTempPathW(MAX_PATH, base);
    swprintf(dir, MAX_PATH, L"%lsrmbench-reg-%lu", base, GetCurrentProcessId());
    if (!CreateDirectoryW(dir, NULL))
    {
        printf("error: cannot create %ls (%lu)\n", dir, GetLastError());
        dir[0] = 0;
        return 1;
    }
    t0 = rmt_now_s();
    if (!(set = make_set(L'r', &created))) goto out;
    printf("setup_create_files: %.3f s\n", rmt_now_s() - t0);
    printf("file_mix: %d existing + %d nonexistent of %d paths (1 in %d exists, evenly spread)\n",
           created, TOTAL_FILES - created, TOTAL_FILES, REAL_EVERY);

    /* The floor: the same lookups without the DLL, on a sample with the same mix. */
    t_raw = raw_lookup(set, RAW_SAMPLE);
    printf("raw_lookup_sample: %d paths\n", RAW_SAMPLE);
    printf("raw_lookup_per_file: %.1f us\n", t_raw * 1e6 / RAW_SAMPLE);
    {
        /* For comparison: a missing name in an empty directory. Wine looks a name it
         * cannot stat up by scanning the directory, so the cost of a nonexistent path
         * grows with the number of files beside it. */
        WCHAR sub[MAX_PATH], **missing = calloc(RAW_SAMPLE / 10, sizeof(*missing));
        double t_empty;
        int k, made = 0;
        swprintf(sub, MAX_PATH, L"%ls\\empty", dir);
        if (missing && CreateDirectoryW(sub, NULL))
        {
            for (k = 0; k < RAW_SAMPLE / 10; k++)
            {
                WCHAR buf[MAX_PATH];
                swprintf(buf, MAX_PATH, L"%ls\\m%06d.dat", sub, k);
                if (!(missing[k] = _wcsdup(buf))) break;
                made++;
            }
            t_empty = raw_lookup(missing, made);
            printf("raw_lookup_missing_in_empty_dir_per_file: %.1f us\n", made ? t_empty * 1e6 / made : 0);
            RemoveDirectoryW(sub);
        }
        if (missing) free_paths(missing, RAW_SAMPLE / 10);
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
    printf("one_call_files: %d files\n", TOTAL_FILES);
    printf("one_call_total: %.3f s\n", t_one);
    printf("one_call_per_file: %.1f us\n", t_one * 1e6 / TOTAL_FILES);
    printf("one_call_vs_raw_lookup: %.2f x\n", t_raw > 0 ? (t_one / TOTAL_FILES) / (t_raw / RAW_SAMPLE) : 0);

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
    printf("many_calls: %d calls x %d files\n", CALLS, PER_CALL);
    printf("many_calls_total: %.3f s\n", t_many);
    printf("many_calls_per_file: %.1f us\n", t_many * 1e6 / TOTAL_FILES);
    printf("many_calls_per_call: %.1f us\n", t_many * 1e6 / CALLS);
    printf("many_calls_vs_raw_lookup: %.2f x\n", t_raw > 0 ? (t_many / TOTAL_FILES) / (t_raw / RAW_SAMPLE) : 0);

    /* (c) growth: sums, and medians per call (robust against a stray spike from
     * whatever else the machine runs); the verdict uses the medians. */
    for (i = 0; i < EDGE_CALLS; i++)
    {
        t_first += per_call[i];
        t_last += per_call[CALLS - EDGE_CALLS + i];
    }
    printf("first_%d_calls: %.3f s\n", EDGE_CALLS, t_first);
    printf("last_%d_calls: %.3f s\n", EDGE_CALLS, t_last);
    printf("growth_sum_last_to_first: %.2f x\n", t_first > 0 ? t_last / t_first : 0);
    t_first = rmt_median(per_call, EDGE_CALLS);
    t_last = rmt_median(per_call + CALLS - EDGE_CALLS, EDGE_CALLS);
    growth = t_first > 0 ? t_last / t_first : 0;
    printf("first_%d_median_call: %.1f us\n", EDGE_CALLS, t_first * 1e6);
    printf("last_%d_median_call: %.1f us\n", EDGE_CALLS, t_last * 1e6);
    printf("growth_median_last_to_first: %.2f x\n", growth);
    printf("target no quadratic cost (last %d calls <= %.1fx first %d, %.2fx): %s\n", EDGE_CALLS,
           TARGET_GROWTH, EDGE_CALLS, growth, growth <= TARGET_GROWTH ? "MET" : "NOT MET");
    rc = 0;

out:
    free(per_call);
    free_paths(set, TOTAL_FILES);
    t0 = rmt_now_s();
    remove_dir();
    if (!rc) printf("cleanup: %.3f s\n", rmt_now_s() - t0);
    return rc;
}
