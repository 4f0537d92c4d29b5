/*
 * rmtool.h - declarations shared by the files of rmtool, the command-line tool that
 * answers "who is using this file" and acts on the answer through the public
 * Restart Manager API only (include/restartmanager.h, linked against the DLL's
 * import library). The session store is read directly (sessions command), never
 * written.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef RMTOOL_H
#define RMTOOL_H

#include <windows.h>
#include <stddef.h>
#include "restartmanager.h"

/* mingw-w64's winerror.h lacks the Restart Manager codes (spec section 3). */
#ifndef ERROR_FAIL_NOACTION_REBOOT
#define ERROR_FAIL_NOACTION_REBOOT 350
#endif
#ifndef ERROR_FAIL_SHUTDOWN
#define ERROR_FAIL_SHUTDOWN 351
#endif
#ifndef ERROR_FAIL_RESTART
#define ERROR_FAIL_RESTART 352
#endif
#ifndef ERROR_MAX_SESSIONS_REACHED
#define ERROR_MAX_SESSIONS_REACHED 353
#endif

/* ---- exit codes (documented in docs/rmtool.md and by "rmtool help") ---------------- */

#define RMTOOL_EXIT_OK 0        /* success; list: nothing uses the files */
#define RMTOOL_EXIT_IN_USE 1    /* list: something uses the files */
#define RMTOOL_EXIT_REBOOT 2    /* a reboot is needed (reboot reasons, or RmShutdown 350) */
#define RMTOOL_EXIT_PARTIAL 3   /* some applications could not be closed/restarted (351/352) */
#define RMTOOL_EXIT_ERROR 4     /* any other API or system error */
#define RMTOOL_EXIT_USAGE 64    /* bad usage (the BSD EX_USAGE value) */

/* ---- output (output.c) -------------------------------------------------------------- */

/* Text goes through a buffer per stream and is written as UTF-16 with WriteConsoleW
 * when the stream is a console, as UTF-8 bytes with WriteFile otherwise (a pipe, a
 * file, or under Wine a Unix terminal). */
enum out_stream { OUT_STDOUT, OUT_STDERR };

/* Appends text to a stream's buffer (flushed when large, and by out_flush). */
void out_w(enum out_stream s, const WCHAR *text);
/* Appends formatted text (swprintf format) to a stream. */
void out_f(enum out_stream s, const WCHAR *fmt, ...);
/* Writes out what a stream has buffered. */
void out_flush(enum out_stream s);
/* TRUE when the stream is a console (WriteConsoleW works on it). */
BOOL out_is_console(enum out_stream s);

/* Appends text as a JSON string literal, quotes included: the escapes JSON requires
 * (quote, backslash, control characters), non-ASCII as is (UTF-8 on the wire), and a
 * lone surrogate as its \uXXXX escape so nothing is lost. */
void out_json_str(enum out_stream s, const WCHAR *text);

/* A JSON writer to stdout that places its own commas, line breaks and indentation:
 * members of an object are written with their name, items of an array with NULL.
 * A container opened one_line stays on one line ({"pid": 1, "name": "x"}); the
 * others put each element on a line of its own, indented two spaces a level. The
 * outermost container's close ends the line. */
#define JSON_MAX_DEPTH 8   /* deeper is a caller's bug: the writer stays in bounds, the JSON is not valid */
struct json
{
    int depth;
    BOOL empty[JSON_MAX_DEPTH];      /* nothing in that container yet */
    BOOL one_line[JSON_MAX_DEPTH];
    WCHAR closer[JSON_MAX_DEPTH];    /* '}' or ']' */
};
void json_open(struct json *j, const WCHAR *name, WCHAR bracket, BOOL one_line);   /* '{' or '[' */
void json_close(struct json *j);
void json_str(struct json *j, const WCHAR *name, const WCHAR *v);                 /* NULL: null */
void json_uint(struct json *j, const WCHAR *name, ULONGLONG v);
void json_int(struct json *j, const WCHAR *name, LONGLONG v);
void json_bool(struct json *j, const WCHAR *name, BOOL v);
void json_null(struct json *j, const WCHAR *name);

/* The symbolic name of a Win32 error code ("ERROR_BAD_ARGUMENTS"), or NULL. */
const WCHAR *err_name(DWORD err);
/* Prints "rmtool: <what> failed: <err> <NAME>" as one line on stderr. */
void report_api_error(const WCHAR *what, DWORD err);
/* Prints "rmtool: " + formatted text + newline on stderr. */
void report_error(const WCHAR *fmt, ...);

/* Formats a FILETIME as local "YYYY-MM-DD hh:mm:ss" (human) or UTC
 * "YYYY-MM-DDThh:mm:ss.mmmZ" (JSON); "-" / "" when it cannot be converted. */
void fmt_time_local(WCHAR buf[32], const FILETIME *ft);
void fmt_time_utc(WCHAR buf[32], const FILETIME *ft);
/* Decimal text of a 64-bit value. */
void fmt_u64(WCHAR buf[24], ULONGLONG v);

/* ---- paths (paths.c) -------------------------------------------------------------- */

struct file_list
{
    WCHAR **items;    /* full paths, malloc'd each */
    size_t count;     /* number of paths */
    size_t cap;       /* capacity of items */
};

/* Adds arg to list: a file (or a path that does not exist, when allow_missing) as its
 * full path, a directory as every file below it, recursively (directory reparse points
 * such as junctions are not followed, so a tree cannot loop). *dir_files, if not NULL,
 * gets the number of files a directory added (0 for a file). Returns ERROR_SUCCESS or
 * the Win32 error; the error line is printed here. */
DWORD files_add_arg(struct file_list *list, const WCHAR *arg, BOOL allow_missing, size_t *dir_files);
void files_free(struct file_list *list);
/* The full path of arg (malloc'd), or NULL with the error printed. */
WCHAR *full_path(const WCHAR *arg);

/* ---- showing what the Restart Manager said (report.c) -------------------------- */

/* Words for an RM_APP_TYPE ("console application"). */
const WCHAR *app_type_words(RM_APP_TYPE t, WCHAR buf[32]);
/* Short keyword for an RM_APP_TYPE as used in JSON ("console"). */
const WCHAR *app_type_key(RM_APP_TYPE t, WCHAR buf[32]);
/* A table, one row per entry, columns as wide as their widest cell; with_status
 * adds the RM_APP_STATUS column (after a shutdown). */
void print_table(const RM_PROCESS_INFO *info, UINT n, BOOL with_status);
/* The reboot reasons in words, on one line. */
void print_reasons(DWORD reasons);
/* The members describing a list, into the open JSON object: "processes",
 * "reboot_needed", "reboot_reasons", "reboot_reasons_code". */
void json_list_members(struct json *j, const RM_PROCESS_INFO *info, UINT n, DWORD reasons);
/* A member "name": [ the strings ] on one line. */
void json_string_array(struct json *j, const WCHAR *name, WCHAR *const *items, size_t n);

/* ---- Restart Manager commands (rmops.c, sessions.c) ---------------------------- */

/* Options shared by the commands. */
struct options
{
    BOOL json;          /* --json */
    BOOL force;         /* --force: RmForceShutdown */
    BOOL only_registered; /* --only-registered: RmShutdownOnlyRegistered */
    WCHAR **args;       /* operands (paths) */
    int nargs;          /* number of operands */
};

int cmd_list(const struct options *o);
int cmd_close(const struct options *o);
int cmd_replace(const struct options *o);
int cmd_sessions(const struct options *o);

#endif
