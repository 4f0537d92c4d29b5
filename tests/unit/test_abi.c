/*
 * test_abi.c - the public header's ABI, checked at compile time against the sizes
 * and offsets in the specification (section 2.3). If this file compiles, the
 * layouts match; the run only reports it.
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
