/*
 * test_units.c - the DLL's internal pure functions, tested alone (issue 13): this
 * program links rstrtmgr_core, the DLL's code without its entry points, and calls
 * the functions directly, not through the exports. Every expectation comes from
 * the specification (/work/shared/spec/restart-manager-api.md, "spec N.N") or from
 * the contract in the function's header comment, never from what the code returns.
 *
 *   - rm_svc_order_deps   service stop/start order (src/operation.h, spec 8.4)
 *   - rm_progress_*       progress reporting (src/operation.h, spec 2.4, 8.7)
 *   - rm_filters_write    the RmGetFilterList buffer (src/filters.c, spec 5.11, U9)
 *   - rm_error_name, rm_errname_lookup (src/shared/errnames.h, spec 3)
 *   - rm_parse_dec, rm_store_parse_slot (src/shared/storelayout.h, spec 9)
 *   - rm_lock_*           the store lock (src/shared/storelock.h): who is gone,
 *                         time-outs, turns for waiters, unclaimed handovers, dead
 *                         waiters, a dead holder with this thread's ID
 *   - rm_overlaps         byte-range overlap (src/internal.h)
 *   - rm_strings_*        string arenas (src/internal.h)
 *   - rm_path_is_plain_full  full paths taken as they are (src/identify.c), against
 *     GetFullPathNameW itself
 *   - rm_pid_board_*      PIDs posted between threads (src/internal.h)
 *   - memcpy, memmove, memset, memcmp of src/crt.c (the DLL links no C runtime):
 *     the C standard's contract, every length to 80 at every alignment
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <cmocka.h>
#include "operation.h"
#include "listing.h"
#include "shared/errnames.h"
#include "shared/storelayout.h"
#include "shared/storelock.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define SENTINEL_DW 0xdeadbeefu   /* out-parameters are pre-filled with it */

/* ======================================================================== */
/*  Service order: rm_svc_order_deps                                         */
/* ======================================================================== */

/* Where index i stands in order (fails the test unless it is there exactly once;
 * every index below n must be). */
static SIZE_T position(const SIZE_T *order, SIZE_T n, SIZE_T i)
{
    SIZE_T k, found = n, seen = 0;
    for (k = 0; k < n; k++)
        if (order[k] == i) { found = k; seen++; }
    assert_int_equal(seen, 1);
    return found;
}

/* The order's contract: a permutation of 0..n-1 (each service exactly once). */
static void assert_permutation(const SIZE_T *order, SIZE_T n)
{
    SIZE_T i;
    assert_non_null(order);
    for (i = 0; i < n; i++) assert_true(order[i] < n);
    for (i = 0; i < n; i++) position(order, n, i);
}

/* The order for a given direction, checked to be a permutation; caller frees. */
static SIZE_T *order_of(const WCHAR *const *names, WCHAR *const *deps, SIZE_T n, BOOL stopping)
{
    SIZE_T *order = rm_svc_order_deps(names, deps, n, stopping);
    assert_permutation(order, n);
    return order;
}

/* A chain C <- B <- A (A depends on B, B on C), listed out of order: dependents stop
 * before what they depend on and start after it (operation.h; spec 8.4). */
static void test_svc_chain(void **state)
{
    static WCHAR dep_b[] = L"B\0", dep_c[] = L"C\0";
    const WCHAR *names[] = { L"C", L"A", L"B" };
    WCHAR *deps[] = { NULL, dep_b, dep_c };
    SIZE_T *order;
    (void)state;

    order = order_of(names, deps, 3, TRUE);      /* stop: A, B, C */
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 0);
    rm_free(order);
    order = order_of(names, deps, 3, FALSE);     /* start: C, B, A */
    assert_int_equal(order[0], 0);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 1);
    rm_free(order);
}

/* A diamond (A depends on B and C, both on D): A stops first and D last, and the
 * reverse on start (operation.h; spec 8.4). */
static void test_svc_diamond(void **state)
{
    static WCHAR dep_a[] = L"B\0C\0", dep_b[] = L"D\0", dep_c[] = L"D\0";
    const WCHAR *names[] = { L"D", L"B", L"A", L"C" };   /* D=0 B=1 A=2 C=3 */
    WCHAR *deps[] = { NULL, dep_b, dep_a, dep_c };
    /* Each dependent (first) and what it depends on (second): on stop the
     * dependent goes first, on start the other way round. */
    static const SIZE_T edges[][2] = { { 2, 1 }, { 2, 3 }, { 1, 0 }, { 3, 0 } };   /* A-B A-C B-D C-D */
    SIZE_T *order, e;
    int stop;
    (void)state;

    for (stop = 1; stop >= 0; stop--)
    {
        order = order_of(names, deps, 4, stop);
        for (e = 0; e < COUNT(edges); e++)
            assert_true(stop ? position(order, 4, edges[e][0]) < position(order, 4, edges[e][1])
                             : position(order, 4, edges[e][1]) < position(order, 4, edges[e][0]));
        assert_int_equal(order[0], stop ? 2 : 0);      /* A first on stop, D on start */
        assert_int_equal(order[3], stop ? 0 : 2);
        rm_free(order);
    }
}

/* Dependencies on services outside the set constrain nothing; names compare
 * case-insensitively as service names do (rm_multi_sz_has, internal.h). */
static void test_svc_outside_set(void **state)
{
    static WCHAR dep_a[] = L"RpcSs\0b\0", dep_b[] = L"Tcpip\0";
    const WCHAR *names[] = { L"B", L"A" };
    WCHAR *deps[] = { dep_b, dep_a };
    SIZE_T *order;
    (void)state;

    order = order_of(names, deps, 2, TRUE);      /* A (depends on b) stops first */
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 0);
    rm_free(order);
    order = order_of(names, deps, 2, FALSE);
    assert_int_equal(order[0], 0);
    assert_int_equal(order[1], 1);
    rm_free(order);

    /* Only outside dependencies: nothing orders them, both are there once. */
    deps[1] = dep_b;
    order = order_of(names, deps, 2, TRUE);
    rm_free(order);
}

/* A cycle (A <-> B, a 3-cycle, a service depending on itself) ends, with every
 * service exactly once, and what is outside the cycle still keeps its constraint:
 * C, which depends on A, stops before A (svcctl.c: "the rest keep their order"). */
static void test_svc_cycle(void **state)
{
    static WCHAR on_a[] = L"A\0", on_b[] = L"B\0", on_c[] = L"C\0", on_self[] = L"S\0";
    const WCHAR *names[] = { L"A", L"B", L"C" };
    const WCHAR *names3[] = { L"A", L"B", L"C", L"S" };
    WCHAR *deps[] = { on_b, on_a, on_a };            /* A->B, B->A, C->A */
    WCHAR *deps3[] = { on_b, on_c, on_a, on_self };  /* A->B->C->A, S->S */
    SIZE_T *order;
    BOOL stopping;
    (void)state;

    for (stopping = FALSE; stopping <= TRUE; stopping++)
    {
        order = order_of(names, deps, 3, stopping);
        if (stopping) assert_true(position(order, 3, 2) < position(order, 3, 0));
        else assert_true(position(order, 3, 0) < position(order, 3, 2));
        rm_free(order);
        rm_free(order_of(names3, deps3, 4, stopping));
    }
}

/* One service, and none: nothing to order, no failure (operation.h: NULL only when
 * out of memory). */
static void test_svc_trivial(void **state)
{
    const WCHAR *names[] = { L"Only" };
    WCHAR *deps[] = { NULL };
    SIZE_T *order;
    (void)state;

    order = order_of(names, deps, 1, TRUE);
    assert_int_equal(order[0], 0);
    rm_free(order);
    order = rm_svc_order_deps(names, deps, 0, FALSE);
    assert_non_null(order);
    rm_free(order);
}

/* ======================================================================== */
/*  Progress: rm_progress_step / rm_progress_finish                          */
/* ======================================================================== */

static UINT reported[512];
static SIZE_T nreported;

static void record_progress(UINT percent)
{
    if (nreported < COUNT(reported)) reported[nreported] = percent;
    nreported++;
}

/* Values only increase, stay within 0..100 and end with exactly one 100 (spec 2.4
 * "strictly increasing", 8.7 "report 100 at the end"). */
static void assert_progress_shape(void)
{
    SIZE_T i;
    assert_true(nreported >= 1 && nreported <= COUNT(reported));
    for (i = 0; i < nreported; i++) assert_true(reported[i] <= 100);
    for (i = 1; i < nreported; i++) assert_true(reported[i] > reported[i - 1]);
    assert_int_equal(reported[nreported - 1], 100);
}

/* Each step of seven reports the share done, which grew each time, and never 100;
 * finish reports 100 (operation.h contract; spec 8.7 "share of the total"). */
static void test_progress_share(void **state)
{
    struct progress p = { record_progress, 7, 0, 0, FALSE };
    SIZE_T k;
    (void)state;

    nreported = 0;
    for (k = 1; k <= 7; k++)
    {
        rm_progress_step(&p);
        if (k < 7)
        {
            UINT v = reported[nreported - 1];
            assert_int_equal(nreported, k);           /* 100/7 grows every step */
            /* floor or ceiling of 100 k / 7 */
            assert_true(v * 7 > 100 * k - 7 && v * 7 < 100 * k + 7);
        }
    }
    assert_int_equal(nreported, 6);                   /* the last step: not 100 yet */
    rm_progress_finish(&p);
    assert_int_equal(nreported, 7);
    assert_progress_shape();
}

/* More applications than percents: no value repeats, none goes back, one 100
 * (spec 2.4, 8.7). */
/* A progress of total steps after steps of them (what was reported is in reported). */
static struct progress progress_after(SIZE_T total, SIZE_T steps)
{
    struct progress p = { record_progress, total, 0, 0, FALSE };
    SIZE_T k;
    nreported = 0;
    for (k = 0; k < steps; k++) rm_progress_step(&p);
    return p;
}

static void test_progress_many_steps(void **state)
{
    struct progress p = progress_after(1000, 1000);
    SIZE_T k;
    (void)state;

    for (k = 0; k < nreported; k++) assert_true(reported[k] < 100);
    rm_progress_finish(&p);
    assert_true(nreported <= 101);
    assert_progress_shape();
}

/* More steps than the total announced (an application counted twice) never report
 * past 100 nor 100 before the end (operation.h: "never 100" from a step). */
static void test_progress_overrun(void **state)
{
    struct progress p = progress_after(2, 5);
    (void)state;

    assert_int_equal(nreported, 1);
    assert_int_equal(reported[0], 50);
    rm_progress_finish(&p);
    assert_progress_shape();
    assert_int_equal(nreported, 2);
}

/* 100 is reported once even when finish runs twice, and also for a call with
 * nothing to do (operation.h "reports 100 once"; spec 8.7). */
static void test_progress_finish_once(void **state)
{
    struct progress p = { record_progress, 0, 0, 0, FALSE };
    (void)state;

    nreported = 0;
    rm_progress_step(&p);                             /* total 0: no share to report */
    rm_progress_finish(&p);
    rm_progress_finish(&p);
    assert_int_equal(nreported, 1);
    assert_int_equal(reported[0], 100);
}

/* The callback may be NULL (spec 2.4): steps and finish only count. */
static void test_progress_null_callback(void **state)
{
    struct progress p = { NULL, 3, 0, 0, FALSE };
    (void)state;

    rm_progress_step(&p);
    rm_progress_step(&p);
    rm_progress_step(&p);
    rm_progress_finish(&p);
    assert_int_equal(p.done, 3);
}

/* ======================================================================== */
/*  Filters: rm_filters_write (the RmGetFilterList buffer)                    */
/* ======================================================================== */

#define FILTER_EXE L"C:\\Program Files\\App\\app.exe"
#define FILTER_SVC L"Spooler"
#define REC sizeof(RM_FILTER_INFO)

/* Adds one filter as RmAddFilter does (rm_filter_target, then rm_filters_add). */
static void add_filter(struct rm_filters *fl, LPCWSTR module, const RM_UNIQUE_PROCESS *proc,
                       LPCWSTR service, RM_FILTER_ACTION action)
{
    struct rm_filter f;
    assert_int_equal(rm_filter_target(&f, module, proc, service), ERROR_SUCCESS);
    f.action = action;
    assert_int_equal(rm_filters_add(fl, &f), ERROR_SUCCESS);
}

/* Bytes of a string with its NUL. */
static DWORD wbytes(const WCHAR *s)
{
    return (DWORD)((wcslen(s) + 1) * sizeof(WCHAR));
}

/* No filters: zero bytes needed, and a NULL buffer of size 0 is enough (spec 5.11:
 * the needed size is the bytes needed). */
static void test_filters_none(void **state)
{
    struct rm_filters fl = { 0 };
    BYTE buf[64];
    DWORD needed = SENTINEL_DW;
    (void)state;

    assert_int_equal(rm_filters_write(&fl, NULL, 0, &needed), ERROR_SUCCESS);
    assert_int_equal(needed, 0);
    needed = SENTINEL_DW;
    assert_int_equal(rm_filters_write(&fl, buf, sizeof(buf), &needed), ERROR_SUCCESS);
    assert_int_equal(needed, 0);
}


/* Too small (none, one byte short): ERROR_MORE_DATA with the size needed; exactly
 * that size (buf of cap bytes, filled with 0xcc first): written, the size again. */
static void write_exactly(const struct rm_filters *fl, BYTE *buf, DWORD cap, DWORD size)
{
    DWORD needed = SENTINEL_DW;
    assert_int_equal(rm_filters_write(fl, NULL, 0, &needed), ERROR_MORE_DATA);
    assert_int_equal(needed, size);
    needed = SENTINEL_DW;
    assert_int_equal(rm_filters_write(fl, buf, size - 1, &needed), ERROR_MORE_DATA);
    assert_int_equal(needed, size);
    memset(buf, 0xcc, cap);
    needed = SENTINEL_DW;
    assert_int_equal(rm_filters_write(fl, buf, size, &needed), ERROR_SUCCESS);
    assert_int_equal(needed, size);
}
/* One service filter: one record, last (cbNextOffset 0), its string right after it,
 * inside the buffer; one byte short is ERROR_MORE_DATA with the same size (spec 5.11,
 * U9; filters.c layout comment). */
static void test_filters_one(void **state)
{
    struct rm_filters fl = { 0 };
    const DWORD size = REC + wbytes(FILTER_SVC);
    union { BYTE b[256]; RM_FILTER_INFO align; } u;
    BYTE *buf = u.b;
    RM_FILTER_INFO *rec = (RM_FILTER_INFO *)buf;
    DWORD needed;
    (void)state;

    add_filter(&fl, NULL, NULL, FILTER_SVC, RmNoRestart);
    write_exactly(&fl, buf, sizeof(u.b), size);
    assert_int_equal(rec->FilterAction, RmNoRestart);
    assert_int_equal(rec->FilterTrigger, RmFilterTriggerService);
    assert_int_equal(rec->cbNextOffset, 0);
    assert_ptr_equal(rec->strServiceShortName, (WCHAR *)(buf + REC));
    assert_memory_equal(buf + REC, FILTER_SVC, wbytes(FILTER_SVC));
    assert_int_equal(buf[size], 0xcc);                /* nothing written past it */

    /* A bigger buffer: the same answer. */
    needed = SENTINEL_DW;
    assert_int_equal(rm_filters_write(&fl, buf, sizeof(u.b), &needed), ERROR_SUCCESS);
    assert_int_equal(needed, size);
    rm_filters_free(&fl);
}

/* Several filters (file, process, service): all records first, chained by
 * cbNextOffset = sizeof(RM_FILTER_INFO) and ended by 0, then the strings in record
 * order, the process one without a string; the size is exactly records plus strings
 * (spec 2.3 RM_FILTER_INFO, 5.11, U9; filters.c layout comment). */
static void test_filters_several(void **state)
{
    struct rm_filters fl = { 0 };
    const RM_UNIQUE_PROCESS proc = { 1234, { 0x89abcdef, 0x01234567 } };
    const DWORD size = 3 * REC + wbytes(FILTER_EXE) + wbytes(FILTER_SVC);
    union { BYTE b[1024]; RM_FILTER_INFO align; } u;
    BYTE *buf = u.b, *p;
    const RM_FILTER_INFO *rec[3];
    DWORD k;
    (void)state;

    add_filter(&fl, FILTER_EXE, NULL, NULL, RmNoShutdown);
    add_filter(&fl, NULL, &proc, NULL, RmNoRestart);
    add_filter(&fl, NULL, NULL, FILTER_SVC, RmNoShutdown);

    write_exactly(&fl, buf, sizeof(u.b), size);

    /* Follow the chain as a caller does (spec 5.11). */
    for (p = buf, k = 0; k < 3; k++)
    {
        rec[k] = (const RM_FILTER_INFO *)p;
        assert_ptr_equal(p, buf + k * REC);
        assert_int_equal(rec[k]->cbNextOffset, k < 2 ? REC : 0);
        p += rec[k]->cbNextOffset;
    }
    assert_int_equal(rec[0]->FilterTrigger, RmFilterTriggerFile);
    assert_int_equal(rec[0]->FilterAction, RmNoShutdown);
    assert_ptr_equal(rec[0]->strFilename, (WCHAR *)(buf + 3 * REC));
    assert_memory_equal(rec[0]->strFilename, FILTER_EXE, wbytes(FILTER_EXE));

    assert_int_equal(rec[1]->FilterTrigger, RmFilterTriggerProcess);
    assert_int_equal(rec[1]->FilterAction, RmNoRestart);
    assert_memory_equal(&rec[1]->Process, &proc, sizeof(proc));

    assert_int_equal(rec[2]->FilterTrigger, RmFilterTriggerService);
    assert_int_equal(rec[2]->FilterAction, RmNoShutdown);
    assert_ptr_equal(rec[2]->strServiceShortName, (WCHAR *)(buf + 3 * REC + wbytes(FILTER_EXE)));
    assert_memory_equal(rec[2]->strServiceShortName, FILTER_SVC, wbytes(FILTER_SVC));
    assert_int_equal(buf[size], 0xcc);
    rm_filters_free(&fl);
}

/* The same service filtered again: the latest call wins, still one record (spec
 * 5.9 "the latest call wins"). */
static void test_filters_latest_wins(void **state)
{
    struct rm_filters fl = { 0 };
    union { BYTE b[256]; RM_FILTER_INFO rec; } u;
    DWORD needed;
    (void)state;

    add_filter(&fl, NULL, NULL, FILTER_SVC, RmNoShutdown);
    add_filter(&fl, NULL, NULL, L"SPOOLER", RmNoRestart);
    assert_int_equal(rm_filters_write(&fl, u.b, sizeof(u.b), &needed), ERROR_SUCCESS);
    assert_int_equal(needed, REC + wbytes(FILTER_SVC));
    assert_int_equal(u.rec.FilterAction, RmNoRestart);
    assert_int_equal(u.rec.cbNextOffset, 0);
    rm_filters_free(&fl);
}

/* ======================================================================== */
/*  Error names: rm_error_name, rm_errname_lookup                              */
/* ======================================================================== */

#define N(code) { code, #code }
static const struct { DWORD code; const char *name; } known[] = {
    /* spec 3: every code the API returns */
    N(ERROR_SUCCESS), N(ERROR_FILE_NOT_FOUND), N(ERROR_ACCESS_DENIED), N(ERROR_INVALID_HANDLE),
    N(ERROR_OUTOFMEMORY), N(ERROR_WRITE_FAULT), N(ERROR_SEM_TIMEOUT), N(ERROR_BAD_ARGUMENTS),
    N(ERROR_MORE_DATA), N(ERROR_FAIL_NOACTION_REBOOT), N(ERROR_FAIL_SHUTDOWN),
    N(ERROR_FAIL_RESTART), N(ERROR_MAX_SESSIONS_REACHED), N(ERROR_REQUEST_OUT_OF_SEQUENCE),
    N(ERROR_SESSION_CREDENTIAL_CONFLICT), N(ERROR_CANCELLED),
    /* the rest of errnames.h's table, against winerror.h */
    N(ERROR_INVALID_FUNCTION), N(ERROR_PATH_NOT_FOUND), N(ERROR_NOT_ENOUGH_MEMORY),
    N(ERROR_INVALID_DATA), N(ERROR_NOT_SAME_DEVICE), N(ERROR_GEN_FAILURE),
    N(ERROR_SHARING_VIOLATION), N(ERROR_LOCK_VIOLATION), N(ERROR_BAD_NETPATH),
    N(ERROR_FILE_EXISTS), N(ERROR_INVALID_PARAMETER), N(ERROR_DISK_FULL),
    N(ERROR_CALL_NOT_IMPLEMENTED), N(ERROR_INVALID_NAME), N(ERROR_BAD_PATHNAME),
    N(ERROR_ALREADY_EXISTS), N(ERROR_BAD_EXE_FORMAT), N(ERROR_FILENAME_EXCED_RANGE),
    N(ERROR_DIRECTORY), N(ERROR_PARTIAL_COPY), N(ERROR_SERVICE_REQUEST_TIMEOUT),
    N(ERROR_SERVICE_ALREADY_RUNNING), N(ERROR_SERVICE_DISABLED), N(ERROR_SERVICE_DOES_NOT_EXIST),
    N(ERROR_SERVICE_CANNOT_ACCEPT_CTRL), N(ERROR_SERVICE_NOT_ACTIVE), N(ERROR_OLD_WIN_VERSION),
    N(ERROR_NOT_FOUND), N(ERROR_UNABLE_TO_REMOVE_REPLACED), N(ERROR_UNABLE_TO_MOVE_REPLACEMENT),
    N(ERROR_UNABLE_TO_MOVE_REPLACEMENT_2), N(ERROR_PRIVILEGE_NOT_HELD), N(ERROR_TIMEOUT),
};

/* Every code the API returns (spec 3), and every other code in the table, is named
 * after its winerror.h symbol, and the table holds each code once (errnames.h). */
static void test_error_names_known(void **state)
{
    SIZE_T i, j;
    (void)state;

    for (i = 0; i < COUNT(known); i++)
    {
        const char *name = rm_error_name(known[i].code);
        if (strcmp(name, known[i].name)) fail_msg("%lu is named %s, not %s", known[i].code, name, known[i].name);
        assert_string_equal(rm_errname_lookup(known[i].code), known[i].name);
    }
    assert_int_equal(COUNT(rm_errnames), COUNT(known));   /* this list covers the table */
    for (i = 0; i < COUNT(rm_errnames); i++)
        for (j = i + 1; j < COUNT(rm_errnames); j++)
            assert_int_not_equal(rm_errnames[i].code, rm_errnames[j].code);
}

/* An unknown code: no name from the lookup (errnames.h "NULL for a code without a
 * name"), and the trace's name is printable and no other code's name. */
static void test_error_names_unknown(void **state)
{
    const DWORD unknown[] = { 4, 999, 0x12345678, 0xffffffff };
    SIZE_T i, j;
    (void)state;

    for (i = 0; i < COUNT(unknown); i++)
    {
        const char *name = rm_error_name(unknown[i]);
        assert_null(rm_errname_lookup(unknown[i]));
        assert_non_null(name);
        for (j = 0; j < COUNT(rm_errnames); j++) assert_string_not_equal(name, rm_errnames[j].name);
    }
}

/* ======================================================================== */
/*  Store layout: rm_parse_dec, rm_store_parse_slot                            */
/* ======================================================================== */

/* The decimal number at the start: digits taken, at most 9 (no overflow), 0 for a
 * string that does not start with one (storelayout.h contract). */
static void test_parse_dec(void **state)
{
    static const struct { const WCHAR *s; SIZE_T taken; DWORD value; } cases[] = {
        { L"0", 1, 0 },               { L"7", 1, 7 },
        { L"42", 2, 42 },             { L"0063", 4, 63 },
        { L"12ab", 2, 12 },           { L"3000 ms", 4, 3000 },
        { L"999999999", 9, 999999999 },
        { L"1234567890", 9, 123456789 },   /* the tenth digit is left */
        { L"4294967296", 9, 429496729 },   /* past MAXDWORD: no wrap */
        { L"", 0, 0 },                { L"x1", 0, 0 },
        { L"-5", 0, 0 },              { L"+5", 0, 0 },
        { L" 5", 0, 0 },              { L"\x0661", 0, 0 },   /* Arabic-Indic one */
    };
    SIZE_T i;
    (void)state;

    for (i = 0; i < COUNT(cases); i++)
    {
        DWORD v = SENTINEL_DW;
        assert_int_equal(rm_parse_dec(cases[i].s, &v), cases[i].taken);
        assert_int_equal(v, cases[i].value);
    }
}

/* A slot key is "Session" and 4 or more digits, nothing else (storelayout.h; spec
 * 9 "SessionNNNN, four decimal digits"). */
static void test_parse_slot(void **state)
{
    static const struct { const WCHAR *s; BOOL ok; DWORD slot; } cases[] = {
        { L"Session0000", TRUE, 0 },   { L"Session0063", TRUE, 63 },
        { L"Session0064", TRUE, 64 },  { L"Session12345", TRUE, 12345 },
        { L"Session000", FALSE, 0 },   { L"Session", FALSE, 0 },
        { L"Session0001x", FALSE, 0 }, { L"Session00 01", FALSE, 0 },
        { L"Session-001", FALSE, 0 },  { L"Sessio0001", FALSE, 0 },
        { L"XSession0001", FALSE, 0 }, { L"RegFiles0000", FALSE, 0 },
        { L"", FALSE, 0 },
    };
    SIZE_T i;
    (void)state;

    for (i = 0; i < COUNT(cases); i++)
    {
        DWORD slot = SENTINEL_DW;
        BOOL ok = rm_store_parse_slot(cases[i].s, &slot);
        if (ok != cases[i].ok) fail_msg("%ls: %d, expected %d", cases[i].s, ok, cases[i].ok);
        if (ok) assert_int_equal(slot, cases[i].slot);
    }
}

/* ======================================================================== */
/*  Byte ranges: rm_overlaps                                                   */
/* ======================================================================== */

/* Both argument orders give the same answer (the contract is symmetric). */
static BOOL overlaps(ULONG_PTR a, SIZE_T na, ULONG_PTR b, SIZE_T nb)
{
    BOOL ab = rm_overlaps((const void *)a, na, (const void *)b, nb);
    BOOL ba = rm_overlaps((const void *)b, nb, (const void *)a, na);
    assert_int_equal(ab, ba);
    return ab;
}

/* Ranges [a, a+na) and [b, b+nb) overlap exactly when they share a byte: adjacent
 * ones do not, overlapping, contained and equal ones do (internal.h contract). */
static void test_overlaps_plain(void **state)
{
    BYTE buf[32] = { 0 };
    ULONG_PTR p = (ULONG_PTR)buf;
    (void)state;

    assert_false(overlaps(p, 8, p + 8, 8));          /* adjacent */
    assert_false(overlaps(p, 8, p + 9, 8));          /* apart */
    assert_true(overlaps(p, 8, p + 7, 8));           /* one byte shared */
    assert_true(overlaps(p, 32, p + 4, 2));          /* contained */
    assert_false(overlaps(p, 1, p + 31, 1));         /* first and last byte */
    assert_true(overlaps(p + 5, 1, p + 5, 1));       /* the same byte */
    assert_true(overlaps(p, 16, p, 16));             /* equal */
}

/* NULL or empty ranges share no byte, even inside another (internal.h contract). */
static void test_overlaps_empty(void **state)
{
    BYTE buf[32] = { 0 };
    ULONG_PTR p = (ULONG_PTR)buf;
    (void)state;

    assert_false(overlaps(p, 0, p, 32));
    assert_false(overlaps(p + 4, 0, p, 32));
    assert_false(overlaps(p, 0, p, 0));
    assert_false(overlaps(0, 32, p, 32));
    assert_false(overlaps(0, (SIZE_T)-1, 0, (SIZE_T)-1));
}

/* At the top of the address space: sizes that would wrap past it cover only up to
 * it (no byte at a low address), and the last byte of the address space counts
 * like any other (internal.h: "share a byte"; "clamped ... rather than wrapped"). */
static void test_overlaps_wraparound(void **state)
{
    const ULONG_PTR top = (ULONG_PTR)-1;
    const SIZE_T huge = (SIZE_T)-1;
    (void)state;

    assert_false(overlaps(top - 15, huge, 16, 16));  /* wrapping would reach 16 */
    assert_false(overlaps(top - 15, 32, 8, 8));      /* ends 16 past the top */
    assert_true(overlaps(top - 15, huge, top - 3, 2));
    assert_true(overlaps(16, huge, top - 15, 16));   /* covers everything above 16 */
    assert_true(overlaps(top - 15, 16, top, 1));     /* both hold the last byte */
    assert_true(overlaps(top, 1, top, 1));
    assert_true(overlaps(top - 15, 32, top, 1));
    assert_false(overlaps(top - 15, 15, top, 1));    /* ends just below it */
}

/* ======================================================================== */
/*  String arenas: rm_strings_alloc, rm_strings_free                           */
/* ======================================================================== */

#define PIECES      3000
#define CHUNK_CHARS 32768   /* a chunk is 64 KiB (internal.h) */

/* Fills piece i with its own number, so that a piece overlapping another loses it. */
static void fill(WCHAR *p, SIZE_T len, SIZE_T i)
{
    SIZE_T k;
    for (k = 0; k < len; k++) p[k] = (WCHAR)(i + 1);
}

static void check(const WCHAR *p, SIZE_T len, SIZE_T i)
{
    SIZE_T k;
    for (k = 0; k < len; k++)
        if (p[k] != (WCHAR)(i + 1)) fail_msg("piece %u changed at %u", (unsigned)i, (unsigned)k);
}

/* Every piece holds the characters asked for and keeps what was written in it
 * while more are cut after it: short ones by the thousand (many chunks) and,
 * among them, ones around and over a chunk's size, which get a chunk of their
 * own without giving up the room left in the current one (internal.h). Nothing
 * is written outside a heap block (HeapValidate). Freed, the arena is empty and
 * can be used again. */
static void test_strings_pieces(void **state)
{
    static const SIZE_T edge[] = { CHUNK_CHARS - 3, CHUNK_CHARS, CHUNK_CHARS + 1, 40000 };
    static WCHAR *piece[PIECES];
    static SIZE_T len[PIECES];
    struct rm_strings s = { NULL };
    SIZE_T i;
    (void)state;

    for (i = 0; i < PIECES; i++)
    {
        struct rm_chunk *head = s.head;
        len[i] = i % 250 == 7 ? edge[(i / 250) % COUNT(edge)] : 1 + i % 300;
        piece[i] = rm_strings_alloc(&s, len[i]);
        assert_non_null(piece[i]);
        if (len[i] > CHUNK_CHARS && head) assert_ptr_equal(s.head, head);
        fill(piece[i], len[i], i);
    }
    for (i = 0; i < PIECES; i++) check(piece[i], len[i], i);
    assert_true(HeapValidate(GetProcessHeap(), 0, NULL));
    rm_strings_free(&s);
    assert_null(s.head);
    assert_true(HeapValidate(GetProcessHeap(), 0, NULL));
    assert_non_null(piece[0] = rm_strings_alloc(&s, 10));
    rm_strings_free(&s);
}

/* An empty arena whose first piece is longer than a chunk still cuts short pieces
 * after it, and all keep their content. */
static void test_strings_long_first(void **state)
{
    struct rm_strings s = { NULL };
    WCHAR *p[3];
    (void)state;

    assert_non_null(p[0] = rm_strings_alloc(&s, 50000));
    assert_non_null(p[1] = rm_strings_alloc(&s, 20));
    assert_non_null(p[2] = rm_strings_alloc(&s, 30000));
    fill(p[0], 50000, 0);
    fill(p[1], 20, 1);
    fill(p[2], 30000, 2);
    check(p[0], 50000, 0);
    check(p[1], 20, 1);
    check(p[2], 30000, 2);
    assert_true(HeapValidate(GetProcessHeap(), 0, NULL));
    rm_strings_free(&s);
    assert_null(s.head);
}

/* No arena, no characters, or more than memory holds: NULL, and the arena is as
 * it was (internal.h). */
static void test_strings_refused(void **state)
{
    struct rm_strings s = { NULL };
    struct rm_chunk *head;
    WCHAR *p;
    (void)state;

    assert_null(rm_strings_alloc(NULL, 10));
    assert_null(rm_strings_alloc(&s, 0));
    assert_null(rm_strings_alloc(&s, (SIZE_T)-1));
    assert_null(rm_strings_alloc(&s, (SIZE_T)-1 / 2));
    assert_null(s.head);
    assert_non_null(p = rm_strings_alloc(&s, 8));
    fill(p, 8, 5);
    head = s.head;
    assert_null(rm_strings_alloc(&s, (SIZE_T)-1 / 4));   /* past the checks, more than the heap has */
    assert_ptr_equal(s.head, head);
    check(p, 8, 5);
    rm_strings_free(&s);
}

/* Taking one arena's pieces into another (a batch's paths into the session's):
 * into an empty arena and into one with room left, the pieces taken keep their
 * content, the taker's head keeps cutting from its room, the giver is left
 * empty, and freeing the taker frees everything (HeapValidate before and after). */
static void test_strings_take(void **state)
{
    struct rm_strings to = { NULL }, from = { NULL };
    WCHAR *mine, *taken[PIECES / 10], *after;
    struct rm_chunk *head;
    SIZE_T i;
    (void)state;

    for (i = 0; i < COUNT(taken); i++)
    {
        assert_non_null(taken[i] = rm_strings_alloc(&from, 200));   /* several chunks */
        fill(taken[i], 200, i);
    }
    rm_strings_take(&to, &from);                /* into an empty arena */
    assert_null(from.head);
    assert_non_null(to.head);
    for (i = 0; i < COUNT(taken); i++) check(taken[i], 200, i);

    rm_strings_free(&to);
    assert_non_null(mine = rm_strings_alloc(&to, 10));
    fill(mine, 10, 1000);
    head = to.head;
    for (i = 0; i < COUNT(taken); i++)
    {
        assert_non_null(taken[i] = rm_strings_alloc(&from, 150));
        fill(taken[i], 150, i);
    }
    rm_strings_take(&to, &from);                /* behind a head with room */
    assert_null(from.head);
    assert_ptr_equal(to.head, head);
    assert_non_null(after = rm_strings_alloc(&to, 10));
    assert_ptr_equal(after, mine + 10);         /* cut from the head's room */
    fill(after, 10, 1001);
    check(mine, 10, 1000);
    for (i = 0; i < COUNT(taken); i++) check(taken[i], 150, i);
    rm_strings_take(&to, &from);                /* nothing to take */
    assert_ptr_equal(to.head, head);
    assert_true(HeapValidate(GetProcessHeap(), 0, NULL));
    rm_strings_free(&to);
    assert_null(to.head);
    assert_true(HeapValidate(GetProcessHeap(), 0, NULL));
}

/* rm_wcsupper: ASCII inline, the rest from its first character outside ASCII
 * through the invariant locale; the result is what LCMapStringEx gives for the
 * whole string, whatever comes first. */
static void test_wcsupper_matches_locale(void **state)
{
    static const WCHAR *const texts[] = {
        L"c:\\program files\\app\\library-module-00123.dll", L"C:\\ALREADY\\UPPER.TXT", L"az@[`{~",
        L"c:\\\x00e9t\x00e9\\fichier.txt", L"\x0444\x0430\x0439\x043b abc", L"abc \x00ff\x0101 xyz", L"",
    };
    WCHAR got[64], want[64];
    SIZE_T i, n;
    (void)state;

    for (i = 0; i < COUNT(texts); i++)
    {
        n = wcslen(texts[i]);
        memcpy(got, texts[i], (n + 1) * sizeof(WCHAR));
        memcpy(want, texts[i], (n + 1) * sizeof(WCHAR));
        rm_wcsupper(got, n);
        if (n) assert_int_equal(LCMapStringEx(LOCALE_NAME_INVARIANT, LCMAP_UPPERCASE, want, (int)n, want, (int)n,
                                              NULL, NULL, 0), (int)n);
        assert_memory_equal(got, want, (n + 1) * sizeof(WCHAR));
    }
}

/* ======================================================================== */
/*  Directory listings: rm_listing_load (listing.c)                           */
/* ======================================================================== */

#define LISTED_FILES 1000   /* about three 64 KiB buffers of FileIdBothDirectoryInfo */

static LONG listing_reads, listing_fail_at;

/* rm_sys's listing read, counted; the listing_fail_at-th read is refused. */
static BOOL WINAPI counted_listing_read(HANDLE h, FILE_INFO_BY_HANDLE_CLASS cls, LPVOID buf, DWORD cb)
{
    if (InterlockedIncrement(&listing_reads) == listing_fail_at)
    {
        SetLastError(ERROR_ACCESS_DENIED);
        return FALSE;
    }
    return GetFileInformationByHandleEx(h, cls, buf, cb);
}

/* Loads dir and checks that every file is in it, found by its upcased name, with
 * its own long name and the file index the file system gives its handle. */
static void check_full_listing(struct listing *l, const WCHAR *dir)
{
    WCHAR name[64], up[64], path[MAX_PATH];
    BY_HANDLE_FILE_INFORMATION info;
    DWORD why = 1;
    int i;

    assert_int_equal(rm_listing_load(l, dir, wcslen(dir), &why), ERROR_SUCCESS);
    assert_int_equal(why, ERROR_SUCCESS);
    assert_int_equal(l->nentries, LISTED_FILES);
    for (i = 0; i < LISTED_FILES; i++)
    {
        const struct lkey *k;
        const struct lentry *e;
        HANDLE h;
        swprintf(name, ARRAYSIZE(name), L"Listed-Component-File-%04d.dll", i);
        rm_name_upcase(up, name, wcslen(name));
        assert_non_null(k = rm_listing_find(l, up, wcslen(name)));
        e = &l->entries[k->entry];
        assert_int_equal(e->name_len, wcslen(name));
        assert_memory_equal(l->pool + e->name, name, e->name_len * sizeof(WCHAR));
        if (i % 97) continue;
        swprintf(path, MAX_PATH, L"%ls%ls", dir, name);
        h = CreateFileW(path, FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                        OPEN_EXISTING, 0, NULL);
        assert_true(h != INVALID_HANDLE_VALUE);
        assert_true(GetFileInformationByHandle(h, &info));
        CloseHandle(h);
        assert_true(e->file_id == (((uint64_t)info.nFileIndexHigh << 32) | info.nFileIndexLow));
    }
}

/* A listing of several buffers, parsed on the thread pool as they are read
 * (listing.h), holds every entry; one whose second read is refused says why and
 * answers no name, even in a listing that held the directory before (nothing of
 * the first buffer, parsed meanwhile, is left to be trusted); loaded again, it is
 * whole again. */
static void test_listing_parsed_beside_read(void **state)
{
    BOOL (WINAPI *saved)(HANDLE, FILE_INFO_BY_HANDLE_CLASS, LPVOID, DWORD);
    WCHAR dir[MAX_PATH], path[MAX_PATH], up[64];
    struct listing l;
    DWORD why = 0;
    int i;
    (void)state;

    assert_true(GetTempPathW(MAX_PATH, dir) > 0);
    swprintf(dir + wcslen(dir), 64, L"rmunit-listing-%lu\\", GetCurrentProcessId());
    assert_true(CreateDirectoryW(dir, NULL));
    for (i = 0; i < LISTED_FILES; i++)
    {
        HANDLE h;
        swprintf(path, MAX_PATH, L"%lsListed-Component-File-%04d.dll", dir, i);
        h = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
        assert_true(h != INVALID_HANDLE_VALUE);
        CloseHandle(h);
    }
    rm_sys_init();
    saved = rm_sys.GetFileInformationByHandleEx;
    rm_sys.GetFileInformationByHandleEx = counted_listing_read;
    memset(&l, 0, sizeof(l));

    listing_reads = listing_fail_at = 0;
    check_full_listing(&l, dir);
    assert_true(listing_reads >= 3);                        /* several buffers and the end */

    listing_reads = 0;
    listing_fail_at = 2;
    assert_int_equal(rm_listing_load(&l, dir, wcslen(dir), &why), ERROR_SUCCESS);
    assert_int_equal(why, ERROR_ACCESS_DENIED);
    assert_int_equal(l.nentries, 0);
    rm_name_upcase(up, L"Listed-Component-File-0000.dll", 30);
    assert_null(rm_listing_find(&l, up, 30));

    listing_reads = listing_fail_at = 0;
    check_full_listing(&l, dir);

    rm_sys.GetFileInformationByHandleEx = saved;
    rm_listing_free(&l);
    for (i = 0; i < LISTED_FILES; i++)
    {
        swprintf(path, MAX_PATH, L"%lsListed-Component-File-%04d.dll", dir, i);
        DeleteFileW(path);
    }
    assert_true(RemoveDirectoryW(dir));
}

/* ======================================================================== */
/*  Full paths taken as they are: rm_path_is_plain_full                       */
/* ======================================================================== */

/* The contract (internal.h): a path it accepts is one GetFullPathNameW returns
 * unchanged, with the length it reports. Checked against the system itself for
 * paths of every kind, the ones the system changes or reads specially among them
 * (dots, spaces, devices, separators, streams, relative and long paths). */
static void test_plain_full_agrees_with_system(void **state)
{
    static const WCHAR *const paths[] = {
        L"C:\\Program Files\\App\\app.exe", L"C:\\a\\b.c", L"Z:\\x", L"C:\\dir with space\\file name.txt",
        L"C:\\\x00dcnicode\\\x0444\x0430\x0439\x043b.dll", L"C:\\a\\.hidden", L"C:\\a\\b..c", L"C:\\ lead\\x",
        L"c:\\lower", L"C:\\a\\..\\b", L"C:\\a\\.\\b", L"C:\\a\\b.", L"C:\\a\\b ", L"C:\\a.\\b", L"C:\\a \\b",
        L"C:\\a\\\\b", L"C:\\a\\b\\", L"C:\\a/b", L"C:a", L"C:", L"C:\\", L"\\\\server\\share\\x",
        L"\\\\?\\C:\\x", L"relative\\x", L"C:\\a\\NUL", L"C:\\a\\nul.txt", L"C:\\a\\COM1", L"C:\\a\\con",
        L"C:\\a\\lpt1.log", L"C:\\a\\aux", L"C:\\a\\prn.", L"C:\\a\\b:stream", L"C:\\a\\b*", L"C:\\a\\b?",
        L"C:\\a\\<b>", L"C:\\a\\b|c", L"C:\\a\\b\"c", L"C:\\a\\tab\tx", L"C:\\con\\x.txt",
    };
    WCHAR longp[400], full[1024];
    SIZE_T i, len, k;
    DWORD n;
    (void)state;

    for (i = 0; i <= COUNT(paths); i++)
    {
        const WCHAR *p = paths[i < COUNT(paths) ? i : 0];
        if (i == COUNT(paths))
        {
            /* longer than MAX_PATH */
            wcscpy(longp, L"C:\\");
            for (k = 0; k < 30; k++) wcscat(longp, L"component\\");
            wcscat(longp, L"file.dll");
            p = longp;
        }
        if (!rm_path_is_plain_full(p, &len)) continue;
        n = GetFullPathNameW(p, COUNT(full), full, NULL);
        if (n != len || wcscmp(full, p)) fail_msg("accepted %ls, but the system makes it %ls", p, full);
    }
}

/* What installers pass, full paths of existing-looking files, is taken as it is
 * (or the rule saves nothing); what the system changes or reads specially is not
 * (identify.c's rules). */
static void test_plain_full_rules(void **state)
{
    static const WCHAR *const taken[] = { L"C:\\Program Files\\App\\app.exe", L"Z:\\x",
                                          L"C:\\Windows\\System32\\kernel32.dll", L"C:\\a\\.hidden" };
    static const WCHAR *const refused[] = { L"c:\\lower", L"C:\\a\\..\\b", L"C:\\a\\b.", L"C:\\a\\b ",
                                            L"C:\\a\\\\b", L"C:\\a\\b\\", L"C:\\a/b", L"C:a", L"C:\\",
                                            L"C:\\a\\nul.txt", L"C:\\a\\Com1", L"C:\\a\\b:s", L"\\\\?\\C:\\x" };
    SIZE_T i, len;
    (void)state;

    for (i = 0; i < COUNT(taken); i++)
    {
        if (!rm_path_is_plain_full(taken[i], &len)) fail_msg("%ls not taken as it is", taken[i]);
        assert_int_equal(len, wcslen(taken[i]));
    }
    for (i = 0; i < COUNT(refused); i++)
        if (rm_path_is_plain_full(refused[i], &len)) fail_msg("%ls taken as it is", refused[i]);
}

/* ======================================================================== */
/*  PIDs posted between threads: rm_pid_board_post, rm_pid_board_has          */
/* ======================================================================== */

/* A posted PID is found, one never posted is not, 0 is never posted, and posting
 * again changes nothing (internal.h contract). PIDs 4 apart, as Windows and Wine
 * hand them out, plus ones far apart. */
static void test_pid_board_post_has(void **state)
{
    struct rm_pid_board *b = calloc(1, sizeof(*b));
    DWORD pid;
    (void)state;

    assert_non_null(b);
    assert_false(rm_pid_board_has(b, 4));
    for (pid = 4; pid <= 400; pid += 4) rm_pid_board_post(b, pid);
    rm_pid_board_post(b, 0xfffffffcu);
    rm_pid_board_post(b, 0x80000000u);
    rm_pid_board_post(b, 0);
    for (pid = 4; pid <= 400; pid += 4) rm_pid_board_post(b, pid);   /* again */
    for (pid = 4; pid <= 400; pid += 4) assert_true(rm_pid_board_has(b, pid));
    assert_true(rm_pid_board_has(b, 0xfffffffcu));
    assert_true(rm_pid_board_has(b, 0x80000000u));
    for (pid = 2; pid <= 402; pid += 4) assert_false(rm_pid_board_has(b, pid));
    assert_false(rm_pid_board_has(b, 404));
    assert_false(rm_pid_board_has(b, 0));
    free(b);
}

/* A full board still answers, and only for what it holds: a PID that found no
 * room is not there ("simply not posted"), and neither call loops for ever. */
static void test_pid_board_full(void **state)
{
    struct rm_pid_board *b = calloc(1, sizeof(*b));
    DWORD pid;
    (void)state;

    assert_non_null(b);
    for (pid = 1; pid <= RM_PID_BOARD_SLOTS; pid++) rm_pid_board_post(b, pid * 4);
    for (pid = 1; pid <= RM_PID_BOARD_SLOTS; pid++) assert_true(rm_pid_board_has(b, pid * 4));
    rm_pid_board_post(b, (RM_PID_BOARD_SLOTS + 1) * 4);
    assert_false(rm_pid_board_has(b, (RM_PID_BOARD_SLOTS + 1) * 4));
    assert_false(rm_pid_board_has(b, 3));
    rm_pid_board_post(b, 4);   /* already there: still fine */
    assert_true(rm_pid_board_has(b, 4));
    free(b);
}

struct board_poster { struct rm_pid_board *b; DWORD first; };

static DWORD WINAPI board_post_range(void *arg)
{
    const struct board_poster *p = arg;
    DWORD i;
    for (i = 0; i < 400; i++) rm_pid_board_post(p->b, p->first + i * 8);
    return 0;
}

/* Two threads posting at once lose nothing: 800 PIDs, interleaved (4 + 8i and
 * 8 + 8i), all there afterwards. */
static void test_pid_board_two_threads(void **state)
{
    struct rm_pid_board *b = calloc(1, sizeof(*b));
    struct board_poster p1, p2;
    HANDLE t1, t2;
    DWORD i;
    (void)state;

    assert_non_null(b);
    p1.b = p2.b = b;
    p1.first = 4;
    p2.first = 8;
    t1 = CreateThread(NULL, 0, board_post_range, &p1, 0, NULL);
    t2 = CreateThread(NULL, 0, board_post_range, &p2, 0, NULL);
    assert_non_null(t1);
    assert_non_null(t2);
    assert_int_equal(WaitForSingleObject(t1, 10000), WAIT_OBJECT_0);
    assert_int_equal(WaitForSingleObject(t2, 10000), WAIT_OBJECT_0);
    CloseHandle(t1);
    CloseHandle(t2);
    for (i = 0; i < 400; i++)
    {
        assert_true(rm_pid_board_has(b, 4 + i * 8));
        assert_true(rm_pid_board_has(b, 8 + i * 8));
    }
    free(b);
}

/* ======================================================================== */
/*  The store lock: rm_lock_* (src/shared/storelock.h)                      */
/* ======================================================================== */

static LONGLONG lock_word(DWORD pid, DWORD tid)
{
    return (LONGLONG)(((ULONGLONG)pid << 32) | tid);
}

static DWORD WINAPI just_return(void *param)
{
    (void)param;
    return 0;
}

static DWORD WINAPI wait_for_event(void *param)
{
    WaitForSingleObject((HANDLE)param, 30000);
    return 0;
}

/* Gone means certainly gone: a thread that does not exist, has exited, is not in
 * the process named beside it, or was created more than the clock's slack after
 * the take (`since`): its ID reused. A live holder, and the two words that name
 * no holder, are not gone. */
static void test_lock_holder_gone(void **state)
{
    DWORD pid = GetCurrentProcessId(), tid = GetCurrentThreadId(), dead_tid, new_tid;
    LONGLONG now = rm_lock_now(), minute = 600000000LL;
    HANDLE t, ev;
    (void)state;

    assert_false(rm_lock_holder_gone(lock_word(pid, tid), 0));
    assert_false(rm_lock_holder_gone(lock_word(pid, tid), now));   /* this thread is older */
    assert_false(rm_lock_holder_gone(RM_LOCK_FREE, 0));
    assert_false(rm_lock_holder_gone(RM_LOCK_HANDOFF, 0));
    assert_true(rm_lock_holder_gone(lock_word(pid + 4, tid), 0));   /* this thread, another process */
    assert_non_null(t = CreateThread(NULL, 0, just_return, NULL, 0, &dead_tid));
    assert_int_equal(WaitForSingleObject(t, 10000), WAIT_OBJECT_0);
    assert_true(rm_lock_holder_gone(lock_word(pid, dead_tid), 0));    /* exited, handle still open */
    CloseHandle(t);
    assert_true(rm_lock_holder_gone(lock_word(pid, 0x7ffffffcu), 0)); /* no such thread */

    /* A live thread created a minute after the take it is named for: not its
     * holder. Created before it, or with the take unknown: the holder. */
    assert_non_null(ev = CreateEventW(NULL, TRUE, FALSE, NULL));
    assert_non_null(t = CreateThread(NULL, 0, wait_for_event, ev, 0, &new_tid));
    assert_true(rm_lock_holder_gone(lock_word(pid, new_tid), now - minute));
    assert_false(rm_lock_holder_gone(lock_word(pid, new_tid), now + minute));
    assert_false(rm_lock_holder_gone(lock_word(pid, new_tid), 0));
    SetEvent(ev);
    assert_int_equal(WaitForSingleObject(t, 10000), WAIT_OBJECT_0);
    CloseHandle(t);
    CloseHandle(ev);
}

static int lock_waiting(const struct rm_board_lock *lk)
{
    int i, n = 0;
    for (i = 0; i < RM_LOCK_WAITERS; i++) n += lk->waiter[i] != 0;
    return n;
}

struct lock_user
{
    struct rm_board_lock *lk;
    HANDLE wake;
    DWORD timeout;
    enum rm_lock_result result;
};

static DWORD WINAPI take_once(void *param)
{
    struct lock_user *u = param;
    u->result = rm_lock_take(u->lk, u->wake, u->timeout);
    return 0;
}

/* This thread takes u's lock, then another thread tries to take it within
 * u->timeout (take_once); returns that thread. */
static HANDLE held_while_another_takes(struct lock_user *u)
{
    HANDLE t;
    assert_non_null(u->wake = CreateEventW(NULL, FALSE, FALSE, NULL));
    assert_int_equal(rm_lock_take(u->lk, u->wake, 0), RM_LOCK_TAKEN);
    assert_true(u->lk->owner == rm_lock_self());
    assert_non_null(t = CreateThread(NULL, 0, take_once, u, 0, NULL));
    return t;
}

/* Held, a taker waits out its time-out and gets RM_LOCK_TIMEOUT, without taking
 * it; given back, it is free for the next taker. */
static void test_lock_times_out(void **state)
{
    struct rm_board_lock lk = { 0 };
    struct lock_user u = { &lk, NULL, 300, RM_LOCK_TAKEN };
    DWORD t0 = GetTickCount();
    HANDLE t;
    (void)state;

    t = held_while_another_takes(&u);
    assert_int_equal(WaitForSingleObject(t, 10000), WAIT_OBJECT_0);
    CloseHandle(t);
    assert_int_equal(u.result, RM_LOCK_TIMEOUT);
    assert_true(GetTickCount() - t0 >= 250);
    assert_true(lk.owner == rm_lock_self());
    assert_int_equal(lock_waiting(&lk), 0);
    assert_true(rm_lock_give(&lk, u.wake));
    assert_true(lk.owner == RM_LOCK_FREE);
    CloseHandle(u.wake);
}

/* A holder that gives the lock back while a thread waits for it gives it to that
 * thread: a newcomer that comes right after finds it taken (by the waiter, or
 * handed to it: RM_LOCK_HANDOFF) and does not get in ahead, where a lock that
 * just became free would let it take the waiter's turn, and a busy newcomer
 * starve the waiter. */
static void test_lock_turns_for_waiters(void **state)
{
    struct rm_board_lock lk = { 0 };
    struct lock_user waiter = { &lk, NULL, 30000, RM_LOCK_TIMEOUT };
    HANDLE t;
    DWORD t0;
    (void)state;

    t = held_while_another_takes(&waiter);
    for (t0 = GetTickCount(); lock_waiting(&lk) != 1 && GetTickCount() - t0 < 30000;) Sleep(1);
    assert_int_equal(lock_waiting(&lk), 1);
    Sleep(20);   /* well into its wait */
    rm_lock_give(&lk, waiter.wake);
    /* This thread again, at once: not its turn. */
    assert_int_equal(rm_lock_take(&lk, waiter.wake, 0), RM_LOCK_TIMEOUT);
    assert_int_equal(WaitForSingleObject(t, 10000), WAIT_OBJECT_0);
    CloseHandle(t);
    assert_int_equal(waiter.result, RM_LOCK_TAKEN);
    assert_int_equal(lock_waiting(&lk), 0);
    CloseHandle(waiter.wake);
}

/* Handed over to a waiter that never came for it (killed after the wake-up):
 * the next taker, which finds no signal, takes it after a slice. */
static void test_lock_handoff_unclaimed(void **state)
{
    struct rm_board_lock lk = { 0 };
    HANDLE wake = CreateEventW(NULL, FALSE, FALSE, NULL);
    DWORD t0;
    (void)state;

    assert_non_null(wake);
    lk.owner = RM_LOCK_HANDOFF;
    t0 = GetTickCount();
    assert_int_equal(rm_lock_take(&lk, wake, 30000), RM_LOCK_TAKEN);
    printf("# an unclaimed handover taken after %lu ms\n", GetTickCount() - t0);
    assert_true(lk.owner == rm_lock_self());
    assert_true(rm_lock_give(&lk, wake));
    CloseHandle(wake);
}

/* A waiter killed while it waited leaves its slot: the next holder that gives
 * the lock back finds it gone, clears it and frees the lock (rather than hand it
 * to nobody, after which every take would wait for the event). */
static void test_lock_dead_waiter_cleared(void **state)
{
    struct rm_board_lock lk = { 0 };
    HANDLE wake = CreateEventW(NULL, FALSE, FALSE, NULL), t;
    DWORD dead_tid;
    (void)state;

    assert_non_null(wake);
    assert_non_null(t = CreateThread(NULL, 0, just_return, NULL, 0, &dead_tid));
    assert_int_equal(WaitForSingleObject(t, 10000), WAIT_OBJECT_0);
    CloseHandle(t);
    lk.waiter[3] = lock_word(GetCurrentProcessId(), dead_tid);
    assert_int_equal(rm_lock_take(&lk, wake, 0), RM_LOCK_TAKEN);
    assert_true(rm_lock_give(&lk, wake));
    assert_true(lk.owner == RM_LOCK_FREE);
    assert_int_equal(lock_waiting(&lk), 0);
    CloseHandle(wake);
}

/* The word names this very thread: not a recursive take (there is none) but a
 * dead holder whose thread ID this thread now has. Taken over at once. */
static void test_lock_own_id_is_abandoned(void **state)
{
    struct rm_board_lock lk = { 0 };
    HANDLE wake = CreateEventW(NULL, FALSE, FALSE, NULL);
    DWORD t0 = GetTickCount();
    (void)state;

    assert_non_null(wake);
    lk.owner = rm_lock_self();
    assert_int_equal(rm_lock_take(&lk, wake, 30000), RM_LOCK_TAKEN_ABANDONED);
    assert_true(GetTickCount() - t0 < 1000);
    assert_true(rm_lock_give(&lk, wake));
    /* Given back by a thread that does not hold it: refused, nothing changed. */
    lk.owner = lock_word(GetCurrentProcessId() + 4, 8);
    assert_false(rm_lock_give(&lk, wake));
    assert_true(lk.owner == lock_word(GetCurrentProcessId() + 4, 8));
    CloseHandle(wake);
}

/* ---- src/crt.c (tests/unit/crt_renamed.c) ---- */

void *rmcrt_memcpy(void *dst, const void *src, size_t n);
void *rmcrt_memmove(void *dst, const void *src, size_t n);
void *rmcrt_memset(void *dst, int c, size_t n);
int rmcrt_memcmp(const void *a, const void *b, size_t n);

#define CRT_MAX 80
#define CRT_BUF (CRT_MAX + 32)

static void crt_fill(unsigned char *b, size_t n, unsigned seed)
{
    size_t i;
    for (i = 0; i < n; i++) b[i] = (unsigned char)(seed * 131u + i * 7u + 1u);
}

/* memcpy and memset write exactly [dst, dst + n) and return dst. */
static void test_crt_copy_set(void **state)
{
    unsigned char src[CRT_BUF], got[CRT_BUF], want[CRT_BUF];
    size_t n, off;
    (void)state;

    crt_fill(src, sizeof(src), 3);
    for (n = 0; n <= CRT_MAX; n++)
        for (off = 0; off < 8; off++)
        {
            crt_fill(got, sizeof(got), 9);
            memcpy(want, got, sizeof(want));
            for (size_t i = 0; i < n; i++) want[off + i] = src[(off * 3 + i) % sizeof(src)];
            {
                unsigned char tmp[CRT_BUF];
                for (size_t i = 0; i < n; i++) tmp[i] = src[(off * 3 + i) % sizeof(src)];
                assert_ptr_equal(rmcrt_memcpy(got + off, tmp, n), got + off);
            }
            assert_memory_equal(got, want, sizeof(got));

            crt_fill(got, sizeof(got), 5);
            memcpy(want, got, sizeof(want));
            for (size_t i = 0; i < n; i++) want[off + i] = 0xA5;
            assert_ptr_equal(rmcrt_memset(got + off, 0x1A5, n), got + off);   /* converted to unsigned char */
            assert_memory_equal(got, want, sizeof(got));
        }
}

/* memmove copies as if through a temporary buffer, whichever way the two overlap. */
static void test_crt_move_overlap(void **state)
{
    unsigned char buf[CRT_BUF], want[CRT_BUF], tmp[CRT_BUF];
    size_t n, from, to;
    (void)state;

    for (n = 0; n <= CRT_MAX; n += 3)
        for (from = 0; from + n <= CRT_BUF && from < 24; from++)
            for (to = 0; to + n <= CRT_BUF && to < 24; to++)
            {
                crt_fill(buf, sizeof(buf), (unsigned)(n + from));
                memcpy(want, buf, sizeof(want));
                memcpy(tmp, buf + from, n);
                memcpy(want + to, tmp, n);
                assert_ptr_equal(rmcrt_memmove(buf + to, buf + from, n), buf + to);
                assert_memory_equal(buf, want, sizeof(buf));
            }
}

static int sign(int v) { return (v > 0) - (v < 0); }

/* memcmp: 0 for equal ranges, else the sign of the first differing byte taken as
 * unsigned char, wherever it lies in a word. */
static void test_crt_compare(void **state)
{
    unsigned char a[CRT_BUF], b[CRT_BUF];
    size_t n, at;
    (void)state;

    crt_fill(a, sizeof(a), 7);
    memcpy(b, a, sizeof(b));
    for (n = 0; n <= CRT_MAX; n++) assert_int_equal(rmcrt_memcmp(a, b, n), 0);
    for (n = 1; n <= CRT_MAX; n++)
        for (at = 0; at < n; at++)
        {
            memcpy(b, a, sizeof(b));
            b[at] = (unsigned char)(a[at] + 0x80);   /* one byte above 0x7f, one below */
            assert_int_equal(sign(rmcrt_memcmp(a, b, n)), sign(memcmp(a, b, n)));
            assert_int_equal(sign(rmcrt_memcmp(b, a, n)), -sign(memcmp(a, b, n)));
            assert_int_not_equal(rmcrt_memcmp(a, b, n), 0);
            assert_int_equal(rmcrt_memcmp(a, b, at), 0);   /* the bytes before it agree */
            if (at + 1 < n)   /* a later difference does not change the answer */
            {
                b[at + 1] = (unsigned char)(a[at + 1] ^ 0xFF);
                assert_int_equal(sign(rmcrt_memcmp(a, b, n)), sign((int)a[at] - (int)b[at]));
            }
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_svc_chain),
        cmocka_unit_test(test_svc_diamond),
        cmocka_unit_test(test_svc_outside_set),
        cmocka_unit_test(test_svc_cycle),
        cmocka_unit_test(test_svc_trivial),
        cmocka_unit_test(test_progress_share),
        cmocka_unit_test(test_progress_many_steps),
        cmocka_unit_test(test_progress_overrun),
        cmocka_unit_test(test_progress_finish_once),
        cmocka_unit_test(test_progress_null_callback),
        cmocka_unit_test(test_filters_none),
        cmocka_unit_test(test_filters_one),
        cmocka_unit_test(test_filters_several),
        cmocka_unit_test(test_filters_latest_wins),
        cmocka_unit_test(test_error_names_known),
        cmocka_unit_test(test_error_names_unknown),
        cmocka_unit_test(test_parse_dec),
        cmocka_unit_test(test_parse_slot),
        cmocka_unit_test(test_overlaps_plain),
        cmocka_unit_test(test_overlaps_empty),
        cmocka_unit_test(test_overlaps_wraparound),
        cmocka_unit_test(test_strings_pieces),
        cmocka_unit_test(test_strings_long_first),
        cmocka_unit_test(test_strings_refused),
        cmocka_unit_test(test_strings_take),
        cmocka_unit_test(test_wcsupper_matches_locale),
        cmocka_unit_test(test_listing_parsed_beside_read),
        cmocka_unit_test(test_plain_full_agrees_with_system),
        cmocka_unit_test(test_plain_full_rules),
        cmocka_unit_test(test_pid_board_post_has),
        cmocka_unit_test(test_pid_board_full),
        cmocka_unit_test(test_pid_board_two_threads),
        cmocka_unit_test(test_lock_holder_gone),
        cmocka_unit_test(test_lock_times_out),
        cmocka_unit_test(test_lock_turns_for_waiters),
        cmocka_unit_test(test_lock_handoff_unclaimed),
        cmocka_unit_test(test_lock_dead_waiter_cleared),
        cmocka_unit_test(test_lock_own_id_is_abandoned),
        cmocka_unit_test(test_crt_copy_set),
        cmocka_unit_test(test_crt_move_overlap),
        cmocka_unit_test(test_crt_compare),
    };
    /* No crash dialogs (a crash must fail the run, not wait), unbuffered output. */
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
    setvbuf(stdout, NULL, _IONBF, 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
