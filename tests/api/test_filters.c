/*
 * test_filters.c - RmAddFilter, RmRemoveFilter and RmGetFilterList: the one-of-three
 * rule, actions, replacement of a target's action, removal, and the exact layout of
 * the buffer RmGetFilterList fills (records contiguous, strings after the records,
 * every pointer inside the caller's buffer, needed size exact).
 */
#include "rmtest.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define APP_PATH L"C:\\Program Files\\RmTestApp\\app.exe"
#define APP_PATH_OTHER_CASE L"c:\\PROGRAM FILES\\rmtestapp\\APP.EXE"
#define SVC_NAME L"RmTestFilterSvc"

/* ---- reading the filter list ------------------------------------------------------------ */

struct flist
{
    BYTE *buf;
    DWORD cb;
    RM_FILTER_INFO *rec[32];
    int n;
};

/* Fetches the list with a size query and an exact-size buffer, walks the chain, and
 * checks every layout rule on the way. */
static void get_list(DWORD h, struct flist *l)
{
    DWORD needed = SENTINEL, needed2 = SENTINEL, off = 0, records, strings, ret;
    const BYTE *end;
    int i;

    memset(l, 0, sizeof(*l));
    /* The size query: 0 with 0 bytes when there are no filters, else 234. */
    ret = RmGetFilterList(h, NULL, 0, &needed);
    assert_int_not_equal(needed, SENTINEL);
    if (!needed)
    {
        assert_int_equal(ret, ERROR_SUCCESS);
        return;
    }
    assert_int_equal(ret, ERROR_MORE_DATA);
    /* Pointer-aligned (malloc), filled with 0x41, one spare byte we can watch. */
    l->buf = malloc(needed + 16);
    assert_non_null(l->buf);
    memset(l->buf, 0x41, needed + 16);
    needed2 = SENTINEL;
    assert_int_equal(RmGetFilterList(h, l->buf, needed, &needed2), ERROR_SUCCESS);
    assert_int_equal(needed2, needed);
    for (i = 0; i < 16; i++) assert_int_equal(l->buf[needed + i], 0x41);
    l->cb = needed;
    end = l->buf + needed;

    /* Walk: records first, contiguous, cbNextOffset = record size, 0 on the last. */
    for (;;)
    {
        RM_FILTER_INFO *r = (RM_FILTER_INFO *)(l->buf + off);
        assert_true(off + sizeof(RM_FILTER_INFO) <= needed);
        assert_true(((ULONG_PTR)r % sizeof(void *)) == 0);
        assert_true(l->n < (int)ARRAYSIZE(l->rec));
        l->rec[l->n++] = r;
        if (!r->cbNextOffset) break;
        assert_int_equal(r->cbNextOffset, sizeof(RM_FILTER_INFO));
        off += r->cbNextOffset;
    }
    records = l->n * (DWORD)sizeof(RM_FILTER_INFO);
    strings = 0;
    for (i = 0; i < l->n; i++)
    {
        RM_FILTER_INFO *r = l->rec[i];
        assert_true(r->FilterAction == RmNoRestart || r->FilterAction == RmNoShutdown);
        if (r->FilterTrigger == RmFilterTriggerProcess) continue;
        assert_true(r->FilterTrigger == RmFilterTriggerFile || r->FilterTrigger == RmFilterTriggerService);
        {
            const WCHAR *s = r->strFilename;
            size_t maxc;
            /* Inside the caller's buffer, after all records, WCHAR aligned,
             * NUL-terminated before the end of what was needed. */
            assert_true((const BYTE *)s >= l->buf + records);
            assert_true((const BYTE *)s < end);
            assert_true(((ULONG_PTR)s % sizeof(WCHAR)) == 0);
            maxc = (size_t)(end - (const BYTE *)s) / sizeof(WCHAR);
            assert_true(wcsnlen(s, maxc) < maxc);
            strings += (DWORD)((wcslen(s) + 1) * sizeof(WCHAR));
        }
    }
    /* Exactly records plus strings: no slack, no padding beyond alignment. */
    assert_int_equal(needed, records + strings);
}

static void free_list(struct flist *l)
{
    free(l->buf);
    memset(l, 0, sizeof(*l));
}

static RM_FILTER_INFO *find_trigger(struct flist *l, RM_FILTER_TRIGGER t)
{
    int i;
    for (i = 0; i < l->n; i++)
        if (l->rec[i]->FilterTrigger == t) return l->rec[i];
    return NULL;
}

/* ---- RmAddFilter / RmRemoveFilter arguments ----------------------------------------------- */

static void test_add_filter_target_count(void **state)
{
    RM_UNIQUE_PROCESS self = rmt_self();
    struct flist l;
    DWORD h;
    (void)state;

    h = rmt_start_tracked(NULL);
    /* None. */
    assert_int_equal(RmAddFilter(h, NULL, NULL, NULL, RmNoRestart), ERROR_BAD_ARGUMENTS);
    /* Two. */
    assert_int_equal(RmAddFilter(h, APP_PATH, &self, NULL, RmNoRestart), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmAddFilter(h, APP_PATH, NULL, SVC_NAME, RmNoRestart), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmAddFilter(h, NULL, &self, SVC_NAME, RmNoShutdown), ERROR_BAD_ARGUMENTS);
    /* Three. */
    assert_int_equal(RmAddFilter(h, APP_PATH, &self, SVC_NAME, RmNoShutdown), ERROR_BAD_ARGUMENTS);

    /* The same for RmRemoveFilter (after a real filter exists, so 160 is not 2). */
    assert_int_equal(RmAddFilter(h, NULL, NULL, SVC_NAME, RmNoRestart), ERROR_SUCCESS);
    assert_int_equal(RmRemoveFilter(h, NULL, NULL, NULL), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmRemoveFilter(h, APP_PATH, &self, NULL), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmRemoveFilter(h, NULL, &self, SVC_NAME), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmRemoveFilter(h, APP_PATH, NULL, SVC_NAME), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmRemoveFilter(h, APP_PATH, &self, SVC_NAME), ERROR_BAD_ARGUMENTS);

    /* Only the one valid filter exists. */
    get_list(h, &l);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.rec[0]->FilterTrigger, RmFilterTriggerService);
    free_list(&l);
    rmt_end_ok(h);
}

static void test_add_filter_bad_action(void **state)
{
    RM_UNIQUE_PROCESS self = rmt_self();
    struct flist l;
    DWORD h;
    (void)state;

    h = rmt_start_tracked(NULL);
    assert_int_equal(RmAddFilter(h, NULL, NULL, SVC_NAME, RmInvalidFilterAction), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmAddFilter(h, NULL, NULL, SVC_NAME, (RM_FILTER_ACTION)3), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmAddFilter(h, NULL, &self, NULL, (RM_FILTER_ACTION)3), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmAddFilter(h, APP_PATH, NULL, NULL, RmInvalidFilterAction), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmAddFilter(h, APP_PATH, NULL, NULL, (RM_FILTER_ACTION)-1), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmAddFilter(h, APP_PATH, NULL, NULL, (RM_FILTER_ACTION)0x101), ERROR_BAD_ARGUMENTS);
    get_list(h, &l);
    assert_int_equal(l.n, 0);
    free_list(&l);
    rmt_end_ok(h);
}

static void test_add_filter_empty_strings(void **state)
{
    struct flist l;
    DWORD h;
    (void)state;

    h = rmt_start_tracked(NULL);
    assert_int_equal(RmAddFilter(h, L"", NULL, NULL, RmNoRestart), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmAddFilter(h, NULL, NULL, L"", RmNoShutdown), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmRemoveFilter(h, L"", NULL, NULL), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmRemoveFilter(h, NULL, NULL, L""), ERROR_BAD_ARGUMENTS);
    get_list(h, &l);
    assert_int_equal(l.n, 0);
    free_list(&l);
    rmt_end_ok(h);
}

/* ---- success ----------------------------------------------------------------------------- */

static void test_add_each_trigger(void **state)
{
    RM_UNIQUE_PROCESS self = rmt_self();
    RM_FILTER_INFO *r;
    struct flist l;
    DWORD h;
    (void)state;

    h = rmt_start_tracked(NULL);
    assert_int_equal(RmAddFilter(h, APP_PATH, NULL, NULL, RmNoRestart), ERROR_SUCCESS);
    assert_int_equal(RmAddFilter(h, NULL, &self, NULL, RmNoShutdown), ERROR_SUCCESS);
    assert_int_equal(RmAddFilter(h, NULL, NULL, SVC_NAME, RmNoRestart), ERROR_SUCCESS);

    get_list(h, &l);
    assert_int_equal(l.n, 3);
    assert_non_null(r = find_trigger(&l, RmFilterTriggerFile));
    assert_int_equal(r->FilterAction, RmNoRestart);
    assert_int_equal(_wcsicmp(r->strFilename, APP_PATH), 0);
    assert_non_null(r = find_trigger(&l, RmFilterTriggerProcess));
    assert_int_equal(r->FilterAction, RmNoShutdown);
    assert_memory_equal(&r->Process, &self, sizeof(self));
    assert_non_null(r = find_trigger(&l, RmFilterTriggerService));
    assert_int_equal(r->FilterAction, RmNoRestart);
    assert_int_equal(_wcsicmp(r->strServiceShortName, SVC_NAME), 0);
    free_list(&l);

    /* Filters belong to their session. */
    {
        DWORD h2 = rmt_start_tracked(NULL);
        get_list(h2, &l);
        assert_int_equal(l.n, 0);
        free_list(&l);
        rmt_end_ok(h2);
    }
    rmt_end_ok(h);
}

static void test_later_add_replaces_action(void **state)
{
    RM_UNIQUE_PROCESS self = rmt_self();
    struct flist l;
    DWORD h;
    (void)state;

    h = rmt_start_tracked(NULL);
    assert_int_equal(RmAddFilter(h, NULL, NULL, SVC_NAME, RmNoRestart), ERROR_SUCCESS);
    assert_int_equal(RmAddFilter(h, NULL, NULL, SVC_NAME, RmNoShutdown), ERROR_SUCCESS);
    get_list(h, &l);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.rec[0]->FilterAction, RmNoShutdown);
    free_list(&l);

    /* Service names differing in case are one target. */
    assert_int_equal(RmAddFilter(h, NULL, NULL, L"RMTESTFILTERSVC", RmNoRestart), ERROR_SUCCESS);
    get_list(h, &l);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.rec[0]->FilterAction, RmNoRestart);
    free_list(&l);

    /* Same process. */
    assert_int_equal(RmAddFilter(h, NULL, &self, NULL, RmNoShutdown), ERROR_SUCCESS);
    assert_int_equal(RmAddFilter(h, NULL, &self, NULL, RmNoRestart), ERROR_SUCCESS);
    get_list(h, &l);
    assert_int_equal(l.n, 2);
    assert_int_equal(find_trigger(&l, RmFilterTriggerProcess)->FilterAction, RmNoRestart);
    free_list(&l);

    /* Same module path, spelled in another case. */
    assert_int_equal(RmAddFilter(h, APP_PATH, NULL, NULL, RmNoRestart), ERROR_SUCCESS);
    assert_int_equal(RmAddFilter(h, APP_PATH_OTHER_CASE, NULL, NULL, RmNoShutdown), ERROR_SUCCESS);
    get_list(h, &l);
    assert_int_equal(l.n, 3);
    assert_int_equal(find_trigger(&l, RmFilterTriggerFile)->FilterAction, RmNoShutdown);
    free_list(&l);

    /* And removing in a third spelling removes it. */
    assert_int_equal(RmRemoveFilter(h, L"C:\\program files\\RMTESTAPP\\app.exe", NULL, NULL), ERROR_SUCCESS);
    get_list(h, &l);
    assert_int_equal(l.n, 2);
    assert_null(find_trigger(&l, RmFilterTriggerFile));
    free_list(&l);
    rmt_end_ok(h);
}

static void test_remove_filter(void **state)
{
    RM_UNIQUE_PROCESS self = rmt_self(), other;
    struct flist l;
    DWORD h;
    (void)state;

    other = self;
    other.ProcessStartTime.dwLowDateTime ^= 1;
    h = rmt_start_tracked(NULL);
    /* Nothing to remove: 2 for every kind of target. */
    assert_int_equal(RmRemoveFilter(h, APP_PATH, NULL, NULL), ERROR_FILE_NOT_FOUND);
    assert_int_equal(RmRemoveFilter(h, NULL, &self, NULL), ERROR_FILE_NOT_FOUND);
    assert_int_equal(RmRemoveFilter(h, NULL, NULL, SVC_NAME), ERROR_FILE_NOT_FOUND);

    assert_int_equal(RmAddFilter(h, APP_PATH, NULL, NULL, RmNoRestart), ERROR_SUCCESS);
    assert_int_equal(RmAddFilter(h, NULL, &self, NULL, RmNoRestart), ERROR_SUCCESS);
    assert_int_equal(RmAddFilter(h, NULL, NULL, SVC_NAME, RmNoRestart), ERROR_SUCCESS);

    /* Near misses are other targets. */
    assert_int_equal(RmRemoveFilter(h, NULL, &other, NULL), ERROR_FILE_NOT_FOUND);
    assert_int_equal(RmRemoveFilter(h, NULL, NULL, L"RmTestFilterSvc2"), ERROR_FILE_NOT_FOUND);
    assert_int_equal(RmRemoveFilter(h, L"C:\\Program Files\\RmTestApp\\app2.exe", NULL, NULL), ERROR_FILE_NOT_FOUND);
    /* A service named like the module is not the module's filter. */
    assert_int_equal(RmRemoveFilter(h, NULL, NULL, APP_PATH), ERROR_FILE_NOT_FOUND);
    get_list(h, &l);
    assert_int_equal(l.n, 3);
    free_list(&l);

    /* Remove, then remove again. */
    assert_int_equal(RmRemoveFilter(h, NULL, &self, NULL), ERROR_SUCCESS);
    assert_int_equal(RmRemoveFilter(h, NULL, &self, NULL), ERROR_FILE_NOT_FOUND);
    assert_int_equal(RmRemoveFilter(h, NULL, NULL, L"rmtestfiltersvc"), ERROR_SUCCESS);
    assert_int_equal(RmRemoveFilter(h, NULL, NULL, SVC_NAME), ERROR_FILE_NOT_FOUND);
    get_list(h, &l);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.rec[0]->FilterTrigger, RmFilterTriggerFile);
    free_list(&l);
    assert_int_equal(RmRemoveFilter(h, APP_PATH, NULL, NULL), ERROR_SUCCESS);
    assert_int_equal(RmRemoveFilter(h, APP_PATH, NULL, NULL), ERROR_FILE_NOT_FOUND);
    get_list(h, &l);
    assert_int_equal(l.n, 0);
    free_list(&l);

    /* Removed targets can be added again. */
    assert_int_equal(RmAddFilter(h, NULL, &self, NULL, RmNoShutdown), ERROR_SUCCESS);
    get_list(h, &l);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.rec[0]->FilterAction, RmNoShutdown);
    free_list(&l);
    rmt_end_ok(h);
}

/* ---- RmGetFilterList ---------------------------------------------------------------------- */

static void test_get_filter_list_bad_args(void **state)
{
    BYTE buf[64];
    DWORD h, cb;
    int i;
    (void)state;

    h = rmt_start_tracked(NULL);
    assert_int_equal(RmAddFilter(h, NULL, NULL, SVC_NAME, RmNoRestart), ERROR_SUCCESS);
    memset(buf, 0x41, sizeof(buf));
    assert_int_equal(RmGetFilterList(h, buf, sizeof(buf), NULL), ERROR_BAD_ARGUMENTS);
    assert_int_equal(RmGetFilterList(h, NULL, 0, NULL), ERROR_BAD_ARGUMENTS);
    for (i = 0; i < (int)sizeof(buf); i++) assert_int_equal(buf[i], 0x41);
    cb = SENTINEL;
    assert_int_equal(RmGetFilterList(h, NULL, 1, &cb), ERROR_BAD_ARGUMENTS);
    assert_int_equal(cb, SENTINEL);
    assert_int_equal(RmGetFilterList(h, NULL, 4096, &cb), ERROR_BAD_ARGUMENTS);
    assert_int_equal(cb, SENTINEL);
    /* The size inside the buffer it sizes: the records would overwrite it (or it
     * them). Refused, nothing written. */
    memset(buf, 0x41, sizeof(buf));
    assert_int_equal(RmGetFilterList(h, buf, sizeof(buf), (DWORD *)(buf + 8)), ERROR_BAD_ARGUMENTS);
    for (i = 0; i < (int)sizeof(buf); i++) assert_int_equal(buf[i], 0x41);
    rmt_end_ok(h);
}

static void test_get_filter_list_empty(void **state)
{
    BYTE buf[64];
    DWORD h, cb;
    int i;
    (void)state;

    h = rmt_start_tracked(NULL);
    cb = SENTINEL;
    assert_int_equal(RmGetFilterList(h, NULL, 0, &cb), ERROR_SUCCESS);
    assert_int_equal(cb, 0);
    cb = SENTINEL;
    memset(buf, 0x41, sizeof(buf));
    assert_int_equal(RmGetFilterList(h, buf, sizeof(buf), &cb), ERROR_SUCCESS);
    assert_int_equal(cb, 0);
    for (i = 0; i < (int)sizeof(buf); i++) assert_int_equal(buf[i], 0x41);

    /* Empty again after add + remove. */
    assert_int_equal(RmAddFilter(h, NULL, NULL, SVC_NAME, RmNoRestart), ERROR_SUCCESS);
    assert_int_equal(RmRemoveFilter(h, NULL, NULL, SVC_NAME), ERROR_SUCCESS);
    cb = SENTINEL;
    assert_int_equal(RmGetFilterList(h, NULL, 0, &cb), ERROR_SUCCESS);
    assert_int_equal(cb, 0);
    rmt_end_ok(h);
}

static void test_get_filter_list_sizes(void **state)
{
    RM_UNIQUE_PROCESS self = rmt_self();
    DWORD h, cb, expect, i;
    BYTE *buf;
    struct flist l;
    (void)state;

    /* Records plus NUL-terminated strings, exactly. */
    expect = 3 * (DWORD)sizeof(RM_FILTER_INFO) + (DWORD)((wcslen(APP_PATH) + 1) * sizeof(WCHAR)) +
             (DWORD)((wcslen(SVC_NAME) + 1) * sizeof(WCHAR));
#ifdef _WIN64
    assert_int_equal(sizeof(RM_FILTER_INFO), 32);
#else
    assert_int_equal(sizeof(RM_FILTER_INFO), 24);
#endif

    h = rmt_start_tracked(NULL);
    assert_int_equal(RmAddFilter(h, APP_PATH, NULL, NULL, RmNoRestart), ERROR_SUCCESS);
    assert_int_equal(RmAddFilter(h, NULL, &self, NULL, RmNoShutdown), ERROR_SUCCESS);
    assert_int_equal(RmAddFilter(h, NULL, NULL, SVC_NAME, RmNoShutdown), ERROR_SUCCESS);

    /* The size query. */
    cb = SENTINEL;
    assert_int_equal(RmGetFilterList(h, NULL, 0, &cb), ERROR_MORE_DATA);
    assert_int_equal(cb, expect);

    buf = malloc(expect + 64);
    assert_non_null(buf);

    /* One byte short: 234, the same count, the buffer untouched. */
    memset(buf, 0x41, expect + 64);
    cb = SENTINEL;
    assert_int_equal(RmGetFilterList(h, buf, expect - 1, &cb), ERROR_MORE_DATA);
    assert_int_equal(cb, expect);
    for (i = 0; i < expect + 64; i++) assert_int_equal(buf[i], 0x41);

    /* Only room for the records: still 234. */
    cb = SENTINEL;
    assert_int_equal(RmGetFilterList(h, buf, 3 * sizeof(RM_FILTER_INFO), &cb), ERROR_MORE_DATA);
    assert_int_equal(cb, expect);
    for (i = 0; i < expect + 64; i++) assert_int_equal(buf[i], 0x41);

    /* Exact: 0, nothing written past the needed size. */
    cb = SENTINEL;
    assert_int_equal(RmGetFilterList(h, buf, expect, &cb), ERROR_SUCCESS);
    assert_int_equal(cb, expect);
    for (i = expect; i < expect + 64; i++) assert_int_equal(buf[i], 0x41);

    /* Larger than needed: 0, the same count, the slack untouched. */
    memset(buf, 0x41, expect + 64);
    cb = SENTINEL;
    assert_int_equal(RmGetFilterList(h, buf, expect + 64, &cb), ERROR_SUCCESS);
    assert_int_equal(cb, expect);
    for (i = expect; i < expect + 64; i++) assert_int_equal(buf[i], 0x41);
    free(buf);

    /* The full layout walk (alignment, bounds, exact size). */
    get_list(h, &l);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.cb, expect);
    assert_int_equal(l.rec[l.n - 1]->cbNextOffset, 0);
    free_list(&l);
    rmt_end_ok(h);
}

static void test_get_filter_list_chain(void **state)
{
    RM_UNIQUE_PROCESS self = rmt_self(), procs[3];
    WCHAR name[64], mod[128];
    struct flist l;
    DWORD h;
    int i, seen_mod[4] = { 0 }, seen_svc[4] = { 0 }, seen_proc[3] = { 0 };
    (void)state;

    h = rmt_start_tracked(NULL);
    /* Strings of different lengths (odd byte counts of characters would expose
     * missing alignment of later strings; WCHARs keep them even anyway). */
    for (i = 0; i < 4; i++)
    {
        swprintf(mod, ARRAYSIZE(mod), L"C:\\RmTest\\%.*ls.exe", i * 7 + 1, L"abcdefghijklmnopqrstuvwxyz");
        assert_int_equal(RmAddFilter(h, mod, NULL, NULL, (i & 1) ? RmNoShutdown : RmNoRestart), ERROR_SUCCESS);
        swprintf(name, ARRAYSIZE(name), L"RmSvc%.*ls", i * 5 + 1, L"ABCDEFGHIJKLMNOPQRSTUVWXYZ");
        assert_int_equal(RmAddFilter(h, NULL, NULL, name, (i & 1) ? RmNoRestart : RmNoShutdown), ERROR_SUCCESS);
    }
    for (i = 0; i < 3; i++)
    {
        procs[i] = self;
        procs[i].dwProcessId += i;
        assert_int_equal(RmAddFilter(h, NULL, &procs[i], NULL, RmNoShutdown), ERROR_SUCCESS);
    }

    get_list(h, &l);
    assert_int_equal(l.n, 11);
    for (i = 0; i < l.n; i++)
    {
        RM_FILTER_INFO *r = l.rec[i];
        int j;
        if (r->FilterTrigger == RmFilterTriggerFile)
        {
            for (j = 0; j < 4; j++)
            {
                swprintf(mod, ARRAYSIZE(mod), L"C:\\RmTest\\%.*ls.exe", j * 7 + 1, L"abcdefghijklmnopqrstuvwxyz");
                if (!_wcsicmp(mod, r->strFilename))
                {
                    seen_mod[j]++;
                    assert_int_equal(r->FilterAction, (j & 1) ? RmNoShutdown : RmNoRestart);
                }
            }
        }
        else if (r->FilterTrigger == RmFilterTriggerService)
        {
            for (j = 0; j < 4; j++)
            {
                swprintf(name, ARRAYSIZE(name), L"RmSvc%.*ls", j * 5 + 1, L"ABCDEFGHIJKLMNOPQRSTUVWXYZ");
                if (!_wcsicmp(name, r->strServiceShortName))
                {
                    seen_svc[j]++;
                    assert_int_equal(r->FilterAction, (j & 1) ? RmNoRestart : RmNoShutdown);
                }
            }
        }
        else
        {
            assert_int_equal(r->FilterTrigger, RmFilterTriggerProcess);
            assert_int_equal(r->FilterAction, RmNoShutdown);
            for (j = 0; j < 3; j++)
                if (!memcmp(&r->Process, &procs[j], sizeof(procs[j]))) seen_proc[j]++;
        }
    }
    for (i = 0; i < 4; i++)
    {
        assert_int_equal(seen_mod[i], 1);
        assert_int_equal(seen_svc[i], 1);
    }
    for (i = 0; i < 3; i++) assert_int_equal(seen_proc[i], 1);
    free_list(&l);

    /* An unaligned caller buffer still gets a correct chain (copy to check). */
    {
        DWORD cb = SENTINEL, needed = 0;
        BYTE *raw;
        assert_int_equal(RmGetFilterList(h, NULL, 0, &needed), ERROR_MORE_DATA);
        raw = malloc(needed + 8);
        assert_non_null(raw);
        memset(raw, 0x41, needed + 8);
        assert_int_equal(RmGetFilterList(h, raw + 2, needed, &cb), ERROR_SUCCESS);
        assert_int_equal(cb, needed);
        assert_int_equal(raw[0], 0x41);
        assert_int_equal(raw[1], 0x41);
        assert_int_equal(raw[needed + 2], 0x41);
        free(raw);
    }
    rmt_end_ok(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_add_filter_target_count, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_add_filter_bad_action, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_add_filter_empty_strings, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_add_each_trigger, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_later_add_replaces_action, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_remove_filter, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_get_filter_list_bad_args, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_get_filter_list_empty, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_get_filter_list_sizes, rmt_teardown_sessions),
        cmocka_unit_test_teardown(test_get_filter_list_chain, rmt_teardown_sessions),
    };
    rmt_init();
    rmt_assert_our_dll();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
