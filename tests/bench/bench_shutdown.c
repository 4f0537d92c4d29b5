/*
 * bench_shutdown.c - shutdown parallelism (issue 4 target).
 *
 * Times RmShutdown of N GUI applications that each take CLOSE_MS to close (the
 * helper's window sleeps that long in WM_ENDSESSION before it exits), for N = 1
 * and N = MANY, ROUNDS times each, and compares the medians. Closed one after the
 * other, MANY applications would cost MANY times one; closed concurrently they
 * cost about one such wait.
 *
 * Target: median(MANY apps) <= 2.0 x median(1 app).
 *
 * Output: plain "name: value unit" lines and one verdict line. Exit code 0 whether
 * or not the target is met, 1 if a helper or an API call failed, 2 if the
 * rstrtmgr.dll loaded is not this project's.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "rmtest.h"
#include "rmspawn.h"
#include <stdio.h>
#include <stdlib.h>

#define MANY 20
#define CLOSE_MS 200
#define ROUNDS 3
#define TARGET_RATIO 2.0

/* Starts n slow-closing windows, shuts them down in one RmShutdown and returns
 * the seconds RmShutdown took, or a negative value on failure. */
static double shutdown_round(int n)
{
    struct rmt_child kids[MANY];
    RM_UNIQUE_PROCESS procs[MANY];
    WCHAR key[CCH_RM_SESSION_KEY + 1], args[64];
    DWORD h = 0, err;
    double t0, spent = -1;
    int i, started = 0;

    memset(kids, 0, sizeof(kids));
    swprintf(args, ARRAYSIZE(args), L"window --close-delay %d", CLOSE_MS);
    for (i = 0; i < n; i++, started++)
    {
        if ((err = rmt_spawn(TRUE, args, 15000, &kids[i])))
        {
            printf("error: helper %d did not start (%lu)\n", i, err);
            goto done;
        }
        procs[i] = kids[i].id;
    }
    if ((err = RmStartSession(&h, 0, key)) ||
        (err = RmRegisterResources(h, 0, NULL, (UINT)n, procs, 0, NULL)))
    {
        printf("error: session setup failed with %lu\n", err);
        goto done;
    }
    t0 = rmt_now_s();
    err = RmShutdown(h, 0, NULL);
    spent = rmt_now_s() - t0;
    if (err)
    {
        printf("error: RmShutdown of %d applications failed with %lu\n", n, err);
        spent = -1;
    }
    for (i = 0; i < n && spent >= 0; i++)
        if (WaitForSingleObject(kids[i].process, 5000) != WAIT_OBJECT_0)
        {
            printf("error: application %d still running after RmShutdown\n", i);
            spent = -1;
        }
    RmEndSession(h);
done:
    for (i = 0; i < started; i++) rmt_child_kill(&kids[i]);
    return spent;
}

int main(void)
{
    double one[ROUNDS], many[ROUNDS], one_med, many_med, ratio;
    char reason[512];
    int r;

    rmt_init();
    if (!rmt_is_our_dll(reason, sizeof(reason)))
    {
        printf("error: %s\n", reason);
        return 2;
    }
    printf("# bench_shutdown: RmShutdown of 1 vs %d GUI applications that each take %d ms to "
           "close after WM_ENDSESSION, %d rounds, medians\n", MANY, CLOSE_MS, ROUNDS);
    printf("# dll: %s\n", reason);

    if (shutdown_round(1) < 0) return 1;   /* warm-up */
    for (r = 0; r < ROUNDS; r++)
    {
        if ((one[r] = shutdown_round(1)) < 0 || (many[r] = shutdown_round(MANY)) < 0) return 1;
        printf("round %d: 1 app %.3f s, %d apps %.3f s\n", r + 1, one[r], MANY, many[r]);
    }
    one_med = rmt_median(one, ROUNDS);
    many_med = rmt_median(many, ROUNDS);
    ratio = one_med > 0 ? many_med / one_med : 0;
    printf("shutdown_1_app: %.3f s\n", one_med);
    printf("shutdown_%d_apps: %.3f s\n", MANY, many_med);
    printf("sequential_estimate_%d_apps: %.3f s\n", MANY, one_med * MANY);
    printf("ratio_%d_to_1: %.2f x\n", MANY, ratio);
    printf("target %d apps <= %.1fx one app (%.2fx): %s\n", MANY, TARGET_RATIO, ratio,
           ratio <= TARGET_RATIO ? "MET" : "NOT MET");
    return 0;
}
