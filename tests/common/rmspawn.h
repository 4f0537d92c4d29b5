/*
 * rmspawn.h - starting, steering and stopping helper processes (tests/helpers/rmhelper.c)
 * and helper services from the tests.
 *
 * Every child runs in its own job object with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, so
 * it dies with the test program even if the test forgets it or crashes. Every wait
 * is bounded.
 *
 * Helper command line (see rmhelper.c for the full contract):
 *   rmhelper[_gui].exe [--ready EVENT] [--quit EVENT] [--record FILE] ROLE [ARGS...]
 * rmt_spawn adds --ready and --quit itself; args is what follows them, e.g.
 *   L"--record \"C:\\...\\rec.txt\" hold \"C:\\...\\file\" none"
 *   L"window --refuse --title \"my window\""
 * Quote paths; they may contain spaces.
 */
#ifndef RMSPAWN_H
#define RMSPAWN_H

#include "rmtest.h"

struct rmt_child
{
    HANDLE process;          /* NULL once released */
    DWORD pid;
    RM_UNIQUE_PROCESS id;    /* pid + creation time (kept after release) */
    HANDLE job;
    HANDLE quit;             /* manual-reset event passed as --quit */
    WCHAR quit_name[64];
};

/* Starts the helper (gui FALSE: rmhelper.exe, TRUE: rmhelper_gui.exe, next to the
 * test exe) with args after the --ready/--quit options, inside a kill-on-close job,
 * and waits up to timeout_ms until it signals ready. Returns ERROR_SUCCESS, or, with
 * the child killed and *c released: ERROR_TIMEOUT (not ready in time),
 * ERROR_PROCESS_ABORTED (exited before ready), or the CreateProcess error. */
DWORD rmt_spawn(BOOL gui, const WCHAR *args, DWORD timeout_ms, struct rmt_child *c);
/* Same with extra CreateProcess flags (CREATE_NEW_CONSOLE, CREATE_NO_WINDOW, ...)
 * and wait_ready FALSE for roles that end by themselves (join, sendctrl): then it
 * returns as soon as the child runs. */
DWORD rmt_spawn_ex(BOOL gui, const WCHAR *args, DWORD create_flags, BOOL wait_ready,
                   DWORD timeout_ms, struct rmt_child *c);
/* Sets the quit event and waits up to timeout_ms for the exit. Returns the exit code,
 * or (DWORD)-1 on timeout (the child is then killed). Releases the handles either way
 * (pid and id stay). */
DWORD rmt_child_quit(struct rmt_child *c, DWORD timeout_ms);
/* Waits for the child to exit by itself; returns its exit code, or (DWORD)-1 after
 * timeout (child killed). Releases the handles either way. */
DWORD rmt_child_wait(struct rmt_child *c, DWORD timeout_ms);
/* TRUE while the child runs (FALSE once released). */
BOOL rmt_child_alive(const struct rmt_child *c);
/* Kills (TerminateProcess), waits for it (bounded) and releases everything; safe to
 * call twice and on a zeroed struct. */
void rmt_child_kill(struct rmt_child *c);
/* Path of the helper exe next to the current test executable (static buffer). */
const WCHAR *rmt_helper_path(BOOL gui);
/* Like rmt_spawn_ex, for a helper at an explicit path (e.g. the other
 * architecture's rmhelper.exe). */
DWORD rmt_spawn_exe(const WCHAR *exe, const WCHAR *args, DWORD create_flags, BOOL wait_ready,
                    DWORD timeout_ms, struct rmt_child *c);

/* Like rmt_spawn_ex with wait_ready TRUE, but fails the test if the helper does not
 * start and records the child for rmt_kill_all (at most 32 at a time). The struct
 * stays valid until rmt_kill_all. */
struct rmt_child *rmt_spawn_tracked(BOOL gui, DWORD create_flags, const WCHAR *args,
                                    DWORD timeout_ms);
/* Kills every child rmt_spawn_tracked recorded (rmt_child_kill) and forgets them. */
void rmt_kill_all(void);
/* For a process a test started by hand: terminates *process (bounded wait) and closes
 * it and *job, setting both to NULL; NULLs are skipped. */
void rmt_release_process(HANDLE *process, HANDLE *job);

/* Services. rmt_service_install creates a SERVICE_WIN32_OWN_PROCESS, demand-start
 * service NAME whose binary is the quoted rmhelper.exe path followed by args:
 *  - args NULL:                       "service NAME"
 *  - args containing the word service: args verbatim, e.g.
 *        L"--record \"C:\\...\\rec.txt\" service NAME hold \"C:\\...\\f\""
 *  - any other args:                  "service NAME " + args (e.g. L"hold \"C:\\f\"")
 * dependencies is a double-NUL-terminated list or NULL. It then starts the service
 * and polls (bounded by timeout_ms) until it runs. Returns ERROR_SUCCESS and the
 * service's PID in *pid (may be NULL); on failure the service is removed again and
 * the error returned (a service that stopped during start-up gives
 * ERROR_SERVICE_NOT_ACTIVE or its exit code, a slow one ERROR_SERVICE_REQUEST_TIMEOUT).
 * rmt_service_remove stops it (bounded; the process is killed if it will not stop)
 * and deletes it; safe if absent. */
DWORD rmt_service_install(const WCHAR *name, const WCHAR *display_name, const WCHAR *args,
                          const WCHAR *dependencies, DWORD timeout_ms, DWORD *pid);
void rmt_service_remove(const WCHAR *name);

/* Reads a --record file into a malloc'd NUL-terminated string ("" if absent); free()
 * it. */
char *rmt_read_record(const WCHAR *path);
/* Runs "EXE --record FILE script OPS" (rmhelper's script role; exe NULL: this
 * architecture's rmhelper) with RSTRTMGR_FAULT=fault (NULL: none) to the end,
 * prints and returns its record (free() it); fails the test unless it exits 0. */
char *rmt_run_script(const WCHAR *exe, const WCHAR *fault, const WCHAR *ops);
/* Polls the record file until it contains needle or timeout_ms passes. */
BOOL rmt_wait_record(const WCHAR *path, const char *needle, DWORD timeout_ms);
/* The helper's top-level window (class "RmHelperWindow") of process pid, only a
 * visible one if visible_only, or NULL. Other top-level windows the system gives a
 * process (IME windows ...) are skipped. */
HWND rmt_find_window(DWORD pid, BOOL visible_only);
/* Sends a console control event (CTRL_C_EVENT or CTRL_BREAK_EVENT) to the console of
 * pid without disturbing this process's console: a "sendctrl" helper does the
 * FreeConsole/AttachConsole(pid)/GenerateConsoleCtrlEvent dance. The target must
 * have its own console (CREATE_NEW_CONSOLE). Returns the sender's exit code (0 ok,
 * 2 attach/generate failed) or (DWORD)-1 on timeout. */
DWORD rmt_send_ctrl(DWORD pid, DWORD ctrl_type, DWORD timeout_ms);

#endif
