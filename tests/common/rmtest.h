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

#define SENTINEL 0xdeadbeefu

/* Call at the start of main(): no crash dialogs, unbuffered output. */
void rmt_init(void);

/* Module handle of the rstrtmgr.dll this process uses, loading it if needed. */
HMODULE rmt_rstrtmgr_module(void);
/* TRUE when that module is this project's DLL (version resource), FALSE when it is
 * Wine's builtin stub or anything else; why is written to reason. */
BOOL rmt_is_our_dll(char *reason, size_t cch);
/* Fails the current test loudly unless our DLL is loaded. */
void rmt_assert_our_dll(void);

/* A fresh directory under %TEMP% for this test program (removed by rmt_cleanup). */
const WCHAR *rmt_tempdir(void);
/* Creates dir\name with some content; returns a heap path (free with free()). */
WCHAR *rmt_make_file(const WCHAR *name);
/* Joins the temp dir and a name without creating anything. */
WCHAR *rmt_path(const WCHAR *name);
/* Deletes the temp dir and what is in it. */
void rmt_cleanup(void);

/* Starts a session and asserts success; returns the handle, key in key. */
DWORD rmt_start(WCHAR key[CCH_RM_SESSION_KEY + 1]);

/* This process as an RM_UNIQUE_PROCESS. */
RM_UNIQUE_PROCESS rmt_self(void);

/* Number of open handles of this process. */
DWORD rmt_handle_count(void);

#endif
