/*
 * rmtest.h - support shared by the test programs.
 *
 * Conventions (after Wine's conformance tests): out-parameters are pre-filled with
 * a sentinel so a test proves what was and was not written; bad inputs are tested
 * before good ones; expectations are truths about Windows from the spec.
 */
#ifndef RMTEST_H
#define RMTEST_H

#include <windows.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <wchar.h>
#include <wctype.h>
#include <cmocka.h>
#include "restartmanager.h"
#include "shared/storelayout.h"
#include "shared/storelock.h"

#define SENTINEL 0xdeadbeefu

/* Call at the start of main(): no crash dialogs, unbuffered output. */
void rmt_init(void);
/* The usual main(): rmt_init, proof that our DLL is loaded, the group, cleanup;
 * returns the number of failed tests. */
#define rmt_run_tests(tests) rmt_run_group(#tests, (tests), sizeof(tests) / sizeof((tests)[0]))
int rmt_run_group(const char *name, const struct CMUnitTest *tests, size_t count);
/* The same for programs whose tests start children with RSTRTMGR_FAULT set: the
 * DLL reads the variable once, at its first use in a process, so this process
 * uses it once first with the variable cleared and never injects into itself. */
#define rmt_run_tests_fault_free(tests) \
    rmt_run_group_fault_free(#tests, (tests), sizeof(tests) / sizeof((tests)[0]))
int rmt_run_group_fault_free(const char *name, const struct CMUnitTest *tests, size_t count);
/* Bytes in busy blocks of the process heap (the DLL's allocator), exactly; 0 if
 * the heap cannot be walked. For leak checks. */
SIZE_T rmt_heap_in_use(void);

/* ---- timeouts ----------------------------------------------------------------------- */

/* Every wait of the tests for something that should happen (a helper ready, a process
 * gone, a record line written) and every upper bound on a duration goes through
 * this: ms times RM_TIMEOUT_SCALE from the environment (default 1; the emulated x86
 * lane sets it, where every instruction is emulated). Waits that prove something
 * did NOT happen keep their plain values: on a slow machine they only get weaker. */
DWORD rmt_timeout(DWORD ms);
/* The same for bounds measured in seconds. */
double rmt_seconds(double s);
/* The usual waits. */
#define RMT_SPAWN_TIMEOUT rmt_timeout(20000)   /* a helper process to be ready */
#define RMT_BOUND_MS rmt_timeout(60000)        /* anything still running this late is stuck */

/* ---- what the machine can run ---------------------------------------------------- */

/* The exit status of a test program whose every test was skipped for a reason of
 * the machine (ctest's SKIP_RETURN_CODE for such tests). */
#define RMT_EXIT_SKIPPED 77
/* Why a 32-bit process cannot be tested here, as tools/check prints it. */
#define RMT_X86_NOT_RUN "this machine cannot execute 32-bit code"
/* FALSE when the machine cannot execute 32-bit x86 code, so no 32-bit process can
 * start: the project's scripts probe it and pass RM_HOST_X86=no (tools/platform.sh).
 * Unset means yes: run, and let a failure show. */
BOOL rmt_host_runs_x86(void);
/* For a test that needs a 32-bit process: on a machine without them, prints the
 * reason and skips the current test (cmocka's skip: counted as skipped, not passed). */
#define rmt_skip_without_x86() \
    do { if (!rmt_host_runs_x86()) { print_message("SKIPPED: needs a 32-bit process: " \
         RMT_X86_NOT_RUN "\n"); skip(); } } while (0)

/* Module handle of the rstrtmgr.dll this process uses, loading it if needed. */
HMODULE rmt_rstrtmgr_module(void);
/* TRUE when that module is this project's DLL (version resource), FALSE when it is
 * Wine's builtin stub or anything else; why is written to reason. */
BOOL rmt_is_our_dll(char *reason, size_t cch);
/* Fails the current test loudly unless our DLL is loaded (in conformance mode:
 * unless the DLL the run asked for is loaded, rmt_is_requested_dll). */
void rmt_assert_our_dll(void);

/* ---- conformance mode: our expectations against another rstrtmgr.dll ------------ */

/* TRUE when RMT_CONFORMANCE=1: the program runs against another rstrtmgr.dll
 * (Windows' own, or any given one; tests/conformance.cmake sets it up), so the
 * truths about Windows are checked and our own choices are not. */
BOOL rmt_conformance(void);
/* For a test of one of our documented choices (README, Choices: what Windows does
 * is not known or not documented): skipped in conformance mode, with the choice
 * named, since another DLL may choose otherwise. */
#define RMT_OUR_CHOICE(what) \
    do { if (rmt_conformance()) { print_message("SKIPPED in conformance mode: our choice: %s\n", what); \
         skip(); } } while (0)
/* For a test that needs this DLL's own test hooks (RSTRTMGR_FAULT, its trace
 * file): skipped in conformance mode, since another DLL has none. */
#define RMT_OURS_ONLY(what) \
    do { if (rmt_conformance()) { print_message("SKIPPED in conformance mode: needs this DLL's %s\n", what); \
         skip(); } } while (0)
/* In conformance mode, TRUE when the loaded rstrtmgr.dll is the one the run asked
 * for: RMT_CONFORMANCE_DLL=beside (the copy next to this program) or system (the
 * system directory's); where it is loaded from goes to reason either way. */
BOOL rmt_is_requested_dll(char *reason, size_t cch);

/* A fresh directory under %TEMP% for this test program (removed by rmt_cleanup). */
const WCHAR *rmt_tempdir(void);
/* Creates dir\name with some content; returns a heap path (free with free()). */
WCHAR *rmt_make_file(const WCHAR *name);
/* Joins the temp dir and a name without creating anything. */
WCHAR *rmt_path(const WCHAR *name);
/* Deletes the temp dir and what is in it. */
void rmt_cleanup(void);
/* Deletes dir and everything below it (best effort, no asserts). */
void rmt_remove_tree(const WCHAR *dir);

/* Starts a session and asserts success; returns the handle, key in key. */
DWORD rmt_start(WCHAR key[CCH_RM_SESSION_KEY + 1]);

/* This process as an RM_UNIQUE_PROCESS. */
RM_UNIQUE_PROCESS rmt_self(void);

#include "rmhandles.h"

/* Number of open handles of this process (exact, from the snapshot). */
DWORD rmt_handle_count(void);

/* ---- timing (benchmarks; no asserts) ----------------------------------------------- */

/* Seconds from the performance counter (an arbitrary origin). */
double rmt_now_s(void);
/* Median of the n values in v (v is left as it is); 0 if n is 0 or memory is short. */
double rmt_median(const double *v, int n);

/* ---- sessions a program opened: rmt_end_all ends what a failed test left open ---- */

/* Records h for rmt_end_all; fails the test if 256 handles are recorded already. */
void rmt_track(DWORD h);
/* Forgets h (ended, or names nothing any more); an unknown h is ignored. */
void rmt_untrack(DWORD h);
/* rmt_start and rmt_track; key may be NULL when the caller does not need it. */
DWORD rmt_start_tracked(WCHAR *key);
/* RmJoinSession(key) asserting success and a written handle, then rmt_track. */
DWORD rmt_join_tracked(const WCHAR *key);
/* RmEndSession(h) asserting ERROR_SUCCESS, then rmt_untrack. */
void rmt_end_ok(DWORD h);
/* Ends every tracked handle, newest first (secondaries before their primaries). */
void rmt_end_all(void);
/* cmocka teardown that calls rmt_end_all; returns 0. */
int rmt_teardown_sessions(void **state);

/* ---- the session store as the registry shows it ----------------------------------- */

#define RMT_STORE_KEY RM_STORE_PATH   /* under HKCU (src/shared/storelayout.h) */
#define RMT_NSLOTS RM_STORE_SLOTS

/* Writes slot's key path relative to HKCU (RMT_STORE_KEY\SessionNNNN) into path. */
void rmt_slot_path(WCHAR *path, size_t cch, DWORD slot);
/* Opens slot's SessionNNNN key with access; NULL if it cannot be opened. */
HKEY rmt_open_slot(DWORD slot, REGSAM access);
/* TRUE if slot's SessionNNNN key exists (live or not). */
BOOL rmt_slot_exists(DWORD slot);
/* TRUE if slot's key has a value called name; asserts the key exists. */
BOOL rmt_value_exists(DWORD slot, const WCHAR *name);
/* slot's value name, malloc'd with four extra NULs (a REG_MULTI_SZ reads as one);
 * NULL if absent. *type gets its type. Asserts the key exists. */
WCHAR *rmt_read_value(DWORD slot, const WCHAR *name, DWORD *type);
/* The store's per-user lock (src/shared/storelock.h), for holding it from outside
 * the DLL with rm_lock_take and rm_lock_give, as a slow or a dead writer would:
 * the board it lives in and the waiters' event, opened by name. Fails the test if
 * this process has not used the store. */
struct rmt_store_lock
{
    struct rm_board *board;
    HANDLE section, wake;
};
void rmt_store_lock_open(struct rmt_store_lock *l);
void rmt_store_lock_close(struct rmt_store_lock *l);
/* Where slot's committed groups end, as a reader finds it (src/shared/storelayout.h):
 * the first number from Sequence on without a group. Asserts the key exists,
 * Sequence is a 4-byte REG_DWORD, and every number below it holds a group. With
 * one registration of one kind per commit, it counts the registrations. */
DWORD rmt_commits_end(DWORD slot);
/* TRUE while the process p names (pid and creation time) is running. */
BOOL rmt_process_alive(const RM_UNIQUE_PROCESS *p);
/* TRUE if slot's key has a valid Owner (12-byte REG_BINARY) naming a live process. */
BOOL rmt_slot_live(DWORD slot);
/* The lowest slot that is not live, or -1 if all RMT_NSLOTS are. */
int rmt_lowest_free_slot(void);

/* ---- RmGetList results --------------------------------------------------------------- */

/* The first of the n entries in l whose process id is pid, or NULL. */
const RM_PROCESS_INFO *rmt_find_pid(const RM_PROCESS_INFO *l, UINT n, DWORD pid);

#endif
