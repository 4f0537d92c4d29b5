/*
 * bench_session.c - session start/end throughput (issue 6 target).
 *
 * Measures, in one run and interleaved, CYCLES RmStartSession/RmEndSession pairs
 * against CYCLES bare registry cycles that do what a session minimally needs from
 * the store: RegCreateKeyExW(HKCU\Software\RmBench\K, REG_OPTION_VOLATILE) +
 * RegSetValueExW (one DWORD) + RegDeleteKeyW + RegCloseKey. Each side runs ROUNDS
 * times; the medians are compared.
 *
 * Target: median(RmStartSession/RmEndSession) <= 3.0 x median(bare registry).
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

#define CYCLES 1000
#define ROUNDS 3
#define TARGET_RATIO 3.0

static const WCHAR bench_parent[] = L"Software\\RmBench";
static const WCHAR bench_key[] = L"Software\\RmBench\\K";

/* CYCLES start/end pairs; returns seconds, or a negative value on failure. */
static double rm_cycles(int n)
{
    WCHAR key[CCH_RM_SESSION_KEY + 1];
    double t0 = rmt_now_s();
    int i;
    for (i = 0; i < n; i++)
    {
        DWORD h = SENTINEL, err = RmStartSession(&h, 0, key);
        if (err)
        {
            printf("error: RmStartSession failed with %lu at cycle %d\n", err, i);
            return -1;
        }
        if ((err = RmEndSession(h)))
        {
            printf("error: RmEndSession(%lu) failed with %lu at cycle %d\n", h, err, i);
            return -1;
        }
    }
    return rmt_now_s() - t0;
}

/* CYCLES bare volatile-key cycles; returns seconds, or a negative value on failure. */
static double reg_cycles(int n)
{
    double t0 = rmt_now_s();
    int i;
    for (i = 0; i < n; i++)
    {
        HKEY k;
        DWORD v = (DWORD)i;
        LSTATUS st = RegCreateKeyExW(HKEY_CURRENT_USER, bench_key, 0, NULL, REG_OPTION_VOLATILE,
                                     KEY_ALL_ACCESS, NULL, &k, NULL);
        if (st)
        {
            printf("error: RegCreateKeyExW failed with %ld at cycle %d\n", (long)st, i);
            return -1;
        }
        st = RegSetValueExW(k, L"Value", 0, REG_DWORD, (const BYTE *)&v, sizeof(v));
        if (!st) st = RegDeleteKeyW(HKEY_CURRENT_USER, bench_key);
        RegCloseKey(k);
        if (st)
        {
            printf("error: RegSetValueExW/RegDeleteKeyW failed with %ld at cycle %d\n", (long)st, i);
            return -1;
        }
    }
    return rmt_now_s() - t0;
}

int main(void)
{
    double rm[ROUNDS], reg[ROUNDS], rm_med, reg_med, ratio;
    char reason[512];
    HKEY parent;
    int r, rc = 0;

    rmt_init();
    if (!rmt_is_our_dll(reason, sizeof(reason)))
    {
        printf("error: %s\n", reason);
        return 2;
    }
    printf("# bench_session: %d RmStartSession/RmEndSession cycles vs %d bare volatile registry "
           "key cycles, %d interleaved rounds, medians\n", CYCLES, CYCLES, ROUNDS);
    printf("# dll: %s\n", reason);

    /* The parent key exists for the whole run so that the bare cycle creates and
     * deletes exactly one key, as a session does under its own parent. */
    if (RegCreateKeyExW(HKEY_CURRENT_USER, bench_parent, 0, NULL, REG_OPTION_VOLATILE,
                        KEY_ALL_ACCESS, NULL, &parent, NULL))
    {
        printf("error: cannot create HKCU\\%ls\n", bench_parent);
        return 1;
    }
    RegCloseKey(parent);

    /* Warm-up: first use costs (DLL initialisation, mutex and store creation, the
     * registry's first touches) are not what is measured. */
    if (rm_cycles(10) < 0 || reg_cycles(10) < 0) rc = 1;

    for (r = 0; r < ROUNDS && !rc; r++)
    {
        /* Alternate which side goes first so drift does not favour one. */
        if (r % 2 == 0)
        {
            if ((rm[r] = rm_cycles(CYCLES)) < 0 || (reg[r] = reg_cycles(CYCLES)) < 0) rc = 1;
        }
        else
        {
            if ((reg[r] = reg_cycles(CYCLES)) < 0 || (rm[r] = rm_cycles(CYCLES)) < 0) rc = 1;
        }
        if (!rc)
            printf("round %d: rm %.3f s, registry %.3f s\n", r + 1, rm[r], reg[r]);
    }
    RegDeleteKeyW(HKEY_CURRENT_USER, bench_key);
    RegDeleteKeyW(HKEY_CURRENT_USER, bench_parent);
    if (rc) return rc;

    rm_med = rmt_median(rm, ROUNDS);
    reg_med = rmt_median(reg, ROUNDS);
    ratio = reg_med > 0 ? rm_med / reg_med : 0;
    printf("session_cycles: %d cycles\n", CYCLES);
    printf("rm_start_end_total: %.3f s\n", rm_med);
    printf("rm_start_end_per_cycle: %.1f us\n", rm_med * 1e6 / CYCLES);
    printf("registry_total: %.3f s\n", reg_med);
    printf("registry_per_cycle: %.1f us\n", reg_med * 1e6 / CYCLES);
    printf("ratio_rm_to_registry: %.2f x\n", ratio);
    printf("target session start/end <= %.1fx bare registry cycle (%.2fx): %s\n", TARGET_RATIO,
           ratio, ratio <= TARGET_RATIO ? "MET" : "NOT MET");
    return 0;
}
