/*
 * bench_leak.c - 10,000 full cycles in one process: start a session, register a
 * missing file, this process and a service (and, one cycle in ten, an existing file,
 * which makes RmGetList scan the system's handles), add a filter, list the filters,
 * RmGetList, end the session. The same cycle as tests/api/test_leak.c, ten times as
 * many (the test does 1,000 to stay fast).
 *
 * Targets: the handle count returns exactly to its value after the warm-up, private
 * bytes grow by less than 256 KiB over the 10,000 cycles (under 27 bytes a cycle),
 * and the bytes in use in the process heap (which the DLL allocates from; exact,
 * unlike page-granular private bytes) grow by at most 4 KiB. Private bytes are PrivateUsage on Windows; Wine 8 reports no real
 * PrivateUsage, so the process's anonymous memory (PagefileUsage there) is used
 * when a 1 MiB probe shows that PrivateUsage does not move.
 *
 * Output: "name: value unit" lines and one verdict line per target. Exit code 0
 * whether or not the targets are met, 1 if an API call failed, 2 if the
 * rstrtmgr.dll loaded is not this project's. RM_LEAK_CYCLES overrides the count.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "rmtest.h"
#include <psapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CYCLES 10000
#define WARMUP 100
#define SCAN_EVERY 10
#define PRIVATE_TARGET (256 * 1024)

static WCHAR *held, *missing;
static BOOL use_pagefile;

static SIZE_T private_bytes(void)
{
    PROCESS_MEMORY_COUNTERS_EX pmc;
    memset(&pmc, 0, sizeof(pmc));
    pmc.cb = sizeof(pmc);
    if (!GetProcessMemoryInfo(GetCurrentProcess(), (PROCESS_MEMORY_COUNTERS *)&pmc, sizeof(pmc))) return 0;
    return use_pagefile ? pmc.PagefileUsage : pmc.PrivateUsage;
}

static BOOL counter_moves(void)
{
    SIZE_T before = private_bytes(), after;
    BYTE *p = VirtualAlloc(NULL, 1 << 20, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    if (!p) return FALSE;
    memset(p, 1, 1 << 20);
    after = private_bytes();
    VirtualFree(p, 0, MEM_RELEASE);
    return after >= before + (1 << 20) - 64 * 1024 && after <= before + 2 * (1 << 20);
}

/* One cycle; returns FALSE (after printing why) if a call did not do what it must. */
static BOOL cycle(int i)
{
    WCHAR key[CCH_RM_SESSION_KEY + 1];
    LPCWSTR files[2] = { missing, held }, svcs[1] = { L"RmLeakSvc" };
    RM_UNIQUE_PROCESS self = rmt_self();
    RM_PROCESS_INFO apps[4];
    BYTE filters[512];
    UINT needed = 0, n = 0, nfiles = i % SCAN_EVERY ? 1 : 2;
    DWORD h = SENTINEL, reasons = 0, cb = 0, r;

    if ((r = RmStartSession(&h, 0, key)))
    {
        printf("error: RmStartSession returned %lu at cycle %d\n", r, i);
        return FALSE;
    }
    if ((r = RmRegisterResources(h, nfiles, files, 1, &self, 1, svcs)) ||
        (r = RmAddFilter(h, NULL, NULL, L"RmLeakSvc", RmNoRestart)) ||
        (r = RmGetFilterList(h, filters, sizeof(filters), &cb)))
    {
        printf("error: register/filter call returned %lu at cycle %d\n", r, i);
        RmEndSession(h);
        return FALSE;
    }
    if (nfiles == 2 && (r = RmGetList(h, &needed, &n, NULL, &reasons)) != ERROR_MORE_DATA)
    {
        printf("error: RmGetList size query returned %lu at cycle %d\n", r, i);
        RmEndSession(h);
        return FALSE;
    }
    n = ARRAYSIZE(apps);
    if ((r = RmGetList(h, &needed, &n, apps, &reasons)) || n != 1)
    {
        printf("error: RmGetList returned %lu with %u entries at cycle %d\n", r, n, i);
        RmEndSession(h);
        return FALSE;
    }
    if ((r = RmEndSession(h)))
    {
        printf("error: RmEndSession returned %lu at cycle %d\n", r, i);
        return FALSE;
    }
    return TRUE;
}

int main(void)
{
    const char *env = getenv("RM_LEAK_CYCLES");
    int cycles = env ? atoi(env) : CYCLES, quarter, i;
    DWORD h_before, h_after;
    SIZE_T p_before, p_quarter[4], p_after, heap_before, heap_after;
    double t0, secs;
    char reason[512];
    HANDLE f;
    BOOL ok;

    rmt_init();
    if (!rmt_is_our_dll(reason, sizeof(reason)))
    {
        printf("error: %s\n", reason);
        return 2;
    }
    printf("# bench_leak: %d start/register/filter/list/end cycles in one process (one in %d "
           "with a handle scan), after %d warm-up cycles\n", cycles, SCAN_EVERY, WARMUP);
    printf("# dll: %s\n", reason);

    if (!counter_moves())
    {
        use_pagefile = TRUE;
        if (!counter_moves())
        {
            printf("error: neither PrivateUsage nor PagefileUsage sees 1 MiB being committed\n");
            return 1;
        }
    }
    printf("private_bytes_counter: %s\n", use_pagefile ? "PagefileUsage (Wine: PrivateUsage is not reported)" : "PrivateUsage");

    held = rmt_path(L"leak-held.txt");
    missing = rmt_path(L"leak-missing.txt");
    f = CreateFileW(held, GENERIC_WRITE, FILE_SHARE_READ, NULL, CREATE_ALWAYS, 0, NULL);
    if (f == INVALID_HANDLE_VALUE)
    {
        printf("error: cannot create %ls\n", held);
        return 1;
    }
    CloseHandle(f);

    for (i = 0, ok = TRUE; i < WARMUP && ok; i++) ok = cycle(i);
    h_before = rmt_handle_count();
    p_before = private_bytes();
    heap_before = rmt_heap_in_use();
    quarter = cycles / 4;
    memset(p_quarter, 0, sizeof(p_quarter));
    t0 = rmt_now_s();
    for (i = 0; i < cycles && ok; i++)
    {
        ok = cycle(i);
        if (quarter && (i + 1) % quarter == 0 && (i + 1) / quarter <= 4)
            p_quarter[(i + 1) / quarter - 1] = private_bytes();
    }
    secs = rmt_now_s() - t0;
    h_after = rmt_handle_count();
    p_after = private_bytes();
    heap_after = rmt_heap_in_use();
    rmt_cleanup();
    free(held);
    free(missing);
    if (!ok) return 1;

    printf("cycles: %d\n", cycles);
    printf("total: %.1f s\n", secs);
    printf("per_cycle: %.0f us\n", secs * 1e6 / cycles);
    printf("handles_before: %lu\n", h_before);
    printf("handles_after: %lu\n", h_after);
    printf("private_before: %lu KiB\n", (unsigned long)(p_before / 1024));
    for (i = 0; quarter && i < 4; i++)
        printf("private_after_%d_cycles: %lu KiB\n", (i + 1) * quarter, (unsigned long)(p_quarter[i] / 1024));
    printf("private_after: %lu KiB\n", (unsigned long)(p_after / 1024));
    printf("private_growth: %ld bytes\n", (long)((LONG_PTR)p_after - (LONG_PTR)p_before));
    printf("process_heap_before: %lu bytes\n", (unsigned long)heap_before);
    printf("process_heap_after: %lu bytes\n", (unsigned long)heap_after);
    printf("target handle count back to its baseline (%lu -> %lu): %s\n", h_before, h_after,
           h_after <= h_before ? "MET" : "NOT MET");
    printf("target private bytes grow < 256 KiB over %d cycles (%+ld bytes): %s\n", cycles,
           (long)((LONG_PTR)p_after - (LONG_PTR)p_before),
           (LONG_PTR)p_after - (LONG_PTR)p_before < PRIVATE_TARGET ? "MET" : "NOT MET");
    printf("target process heap in use grows <= 4 KiB (%+ld bytes): %s\n",
           (long)((LONG_PTR)heap_after - (LONG_PTR)heap_before),
           (LONG_PTR)heap_after - (LONG_PTR)heap_before <= 4096 ? "MET" : "NOT MET");
    return 0;
}
