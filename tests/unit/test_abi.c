/*
 * test_abi.c - the public header's ABI, checked at compile time against the sizes
 * and offsets in the specification (section 2.3), and the functions' prototypes
 * with their calling convention. Built for x64 and x86: if this file compiles, the
 * ABI matches on that architecture; the run only reports it.
 */
#include "rmtest.h"

#define CHECK(expr) _Static_assert(expr, #expr)

CHECK(sizeof(RM_UNIQUE_PROCESS) == 12);
CHECK(offsetof(RM_UNIQUE_PROCESS, dwProcessId) == 0);
CHECK(offsetof(RM_UNIQUE_PROCESS, ProcessStartTime) == 4);

CHECK(sizeof(RM_PROCESS_INFO) == 668);
CHECK(offsetof(RM_PROCESS_INFO, Process) == 0x000);
CHECK(offsetof(RM_PROCESS_INFO, strAppName) == 0x00C);
CHECK(offsetof(RM_PROCESS_INFO, strServiceShortName) == 0x20C);
CHECK(offsetof(RM_PROCESS_INFO, ApplicationType) == 0x28C);
CHECK(offsetof(RM_PROCESS_INFO, AppStatus) == 0x290);
CHECK(offsetof(RM_PROCESS_INFO, TSSessionId) == 0x294);
CHECK(offsetof(RM_PROCESS_INFO, bRestartable) == 0x298);

#ifdef _WIN64
CHECK(sizeof(RM_FILTER_INFO) == 32);
CHECK(offsetof(RM_FILTER_INFO, strFilename) == 16);
#else
CHECK(sizeof(RM_FILTER_INFO) == 24);
CHECK(offsetof(RM_FILTER_INFO, strFilename) == 12);
#endif
CHECK(offsetof(RM_FILTER_INFO, FilterAction) == 0);
CHECK(offsetof(RM_FILTER_INFO, FilterTrigger) == 4);
CHECK(offsetof(RM_FILTER_INFO, cbNextOffset) == 8);
CHECK(offsetof(RM_FILTER_INFO, Process) == offsetof(RM_FILTER_INFO, strFilename));
CHECK(offsetof(RM_FILTER_INFO, strServiceShortName) == offsetof(RM_FILTER_INFO, strFilename));

CHECK(sizeof(RM_APP_TYPE) == 4 && sizeof(RM_FILTER_ACTION) == 4 && sizeof(RM_FILTER_TRIGGER) == 4);
CHECK(CCH_RM_SESSION_KEY == 32);
CHECK(CCH_RM_MAX_APP_NAME == 255 && CCH_RM_MAX_SVC_NAME == 63);
CHECK(RmCritical == 1000 && RmConsole == 5 && RmExplorer == 4);
CHECK(RmRebootReasonDetectedSelf == 0x10);
CHECK(RmForceShutdown == 0x1 && RmShutdownOnlyRegistered == 0x10);
CHECK(RmStatusRestartMasked == 0x80 && RmStatusShutdownMasked == 0x40);
CHECK(ERROR_FAIL_NOACTION_REBOOT == 350 && ERROR_FAIL_SHUTDOWN == 351);
CHECK(ERROR_FAIL_RESTART == 352 && ERROR_MAX_SESSIONS_REACHED == 353);
CHECK((DWORD)RM_INVALID_TS_SESSION == 0xFFFFFFFFu);

/* Every function as the SDK declares it, calling convention included: on x86 a
 * declaration without WINAPI would make callers push arguments that the DLL's
 * stdcall code pops again (GCC keeps the convention in the function type, so a
 * cdecl prototype is a different type here). The x86 DLL's own `ret $N` are checked
 * against the .def by tests/check-stdcall.sh. */
#define CHECK_PROTO(fn, ...) \
    CHECK(__builtin_types_compatible_p(__typeof__(&fn), DWORD(WINAPI *)(__VA_ARGS__)))
CHECK_PROTO(RmStartSession, DWORD *, DWORD, WCHAR *);
CHECK_PROTO(RmJoinSession, DWORD *, const WCHAR *);
CHECK_PROTO(RmEndSession, DWORD);
CHECK_PROTO(RmRegisterResources, DWORD, UINT, LPCWSTR *, UINT, RM_UNIQUE_PROCESS *, UINT, LPCWSTR *);
CHECK_PROTO(RmGetList, DWORD, UINT *, UINT *, RM_PROCESS_INFO *, LPDWORD);
CHECK_PROTO(RmShutdown, DWORD, ULONG, RM_WRITE_STATUS_CALLBACK);
CHECK_PROTO(RmRestart, DWORD, DWORD, RM_WRITE_STATUS_CALLBACK);
CHECK_PROTO(RmCancelCurrentTask, DWORD);
CHECK_PROTO(RmAddFilter, DWORD, LPCWSTR, RM_UNIQUE_PROCESS *, LPCWSTR, RM_FILTER_ACTION);
CHECK_PROTO(RmRemoveFilter, DWORD, LPCWSTR, RM_UNIQUE_PROCESS *, LPCWSTR);
CHECK_PROTO(RmGetFilterList, DWORD, PBYTE, DWORD, LPDWORD);
CHECK_PROTO(RmReserveHeap, ULONG_PTR);
/* The progress callback has no convention in the SDK: the compiler's default. */
CHECK(__builtin_types_compatible_p(RM_WRITE_STATUS_CALLBACK, void (*)(UINT)));

static void test_layouts_match_spec(void **state)
{
    (void)state;
    /* Also at run time, so the numbers show in the log. */
    print_message("RM_PROCESS_INFO %u, RM_FILTER_INFO %u, RM_UNIQUE_PROCESS %u bytes\n",
                  (unsigned)sizeof(RM_PROCESS_INFO), (unsigned)sizeof(RM_FILTER_INFO),
                  (unsigned)sizeof(RM_UNIQUE_PROCESS));
    assert_int_equal(sizeof(RM_PROCESS_INFO), 668);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_layouts_match_spec) };
    rmt_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
