/*
 * rmops.c - rmtool's commands that go through the Restart Manager API: list, close
 * and replace. Each one is the documented installer sequence (spec section 5 and the
 * SDK's "Using Restart Manager with a Primary Installer"): RmStartSession,
 * RmRegisterResources, RmGetList, and for close/replace RmShutdown (and RmRestart),
 * then RmEndSession on every path.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "rmtool.h"
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* Files per RmRegisterResources call: each call is a registry commit (spec 5.4 asks
 * callers to batch), and one value per call must stay a sensible size. */
#define REGISTER_BATCH 1000
/* RmGetList retries while the list keeps growing between the size query and the
 * fetch (the SDK sample retries 3 times; a busy system may need a few more). */
#define GETLIST_TRIES 8

/* ---- the session --------------------------------------------------------------------- */

/* Starts a session and registers every file, REGISTER_BATCH per call. On failure the
 * error is printed, the session ended and the Win32 code returned. */
static DWORD session_open(const struct file_list *files, DWORD *handle)
{
    WCHAR key[CCH_RM_SESSION_KEY + 1];
    DWORD err;
    size_t i;

    *handle = (DWORD)-1;
    if ((err = RmStartSession(handle, 0, key)))
    {
        report_api_error(L"RmStartSession", err);
        *handle = (DWORD)-1;
        return err;
    }
    for (i = 0; i < files->count; i += REGISTER_BATCH)
    {
        size_t n = files->count - i < REGISTER_BATCH ? files->count - i : REGISTER_BATCH;
        err = RmRegisterResources(*handle, (UINT)n, (LPCWSTR *)(files->items + i), 0, NULL, 0, NULL);
        if (err)
        {
            report_api_error(L"RmRegisterResources", err);
            RmEndSession(*handle);
            *handle = (DWORD)-1;
            return err;
        }
    }
    return ERROR_SUCCESS;
}

static void session_close(DWORD handle)
{
    DWORD err = RmEndSession(handle);
    if (err) report_api_error(L"RmEndSession", err);
}

/* RmGetList with the SDK's grow loop: ask with the current buffer, and while the
 * answer is ERROR_MORE_DATA grow the buffer to what it says is needed and ask again.
 * *info is malloc'd (may be NULL when *count is 0). Prints the error line itself. */
static DWORD get_list(DWORD h, RM_PROCESS_INFO **info, UINT *count, DWORD *reasons)
{
    RM_PROCESS_INFO *buf = NULL;
    UINT cap = 0, needed = 0, have;
    DWORD err = ERROR_MORE_DATA;
    int tries;

    *info = NULL;
    *count = 0;
    *reasons = 0;
    for (tries = 0; tries < GETLIST_TRIES && err == ERROR_MORE_DATA; tries++)
    {
        if (needed > cap)
        {
            RM_PROCESS_INFO *grown;
            /* A little headroom: the list may grow again before the next call. */
            UINT want = needed + 4;
            if (!(grown = realloc(buf, (size_t)want * sizeof(*buf))))
            {
                free(buf);
                report_error(L"out of memory");
                return ERROR_OUTOFMEMORY;
            }
            buf = grown;
            cap = want;
        }
        have = cap;
        needed = 0;
        err = RmGetList(h, &needed, &have, buf, reasons);
        if (!err)
        {
            *info = buf;
            *count = have;
            return ERROR_SUCCESS;
        }
    }
    free(buf);
    report_api_error(L"RmGetList", err);
    return err;
}

/* ---- collecting the operands ------------------------------------------------------- */

/* Expands every operand; in human mode says what was expanded. */
static int collect(const struct options *o, struct file_list *files, struct file_list *operands)
{
    int i;
    for (i = 0; i < o->nargs; i++)
    {
        size_t in_dir = 0;
        WCHAR *p;
        if (files_add_arg(files, o->args[i], FALSE, &in_dir)) return RMTOOL_EXIT_ERROR;
        if (!(p = full_path(o->args[i]))) return RMTOOL_EXIT_ERROR;
        if (operands->count == operands->cap)
        {
            size_t cap = operands->cap ? operands->cap * 2 : 16;
            WCHAR **items = realloc(operands->items, cap * sizeof(*items));
            if (!items)
            {
                free(p);
                report_error(L"out of memory");
                return RMTOOL_EXIT_ERROR;
            }
            operands->items = items;
            operands->cap = cap;
        }
        operands->items[operands->count++] = p;
        if (!o->json)
        {
            DWORD attrs = GetFileAttributesW(p);
            if (attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_DIRECTORY))
                out_f(OUT_STDOUT, L"checking %ls (directory, %lu file%ls)\n", p,
                      (unsigned long)in_dir, in_dir == 1 ? L"" : L"s");
            else
                out_f(OUT_STDOUT, L"checking %ls\n", p);
        }
    }
    return RMTOOL_EXIT_OK;
}

/* ---- what list and close start from ------------------------------------------------- */

/* The operands expanded, a session with every file registered, and its list. */
struct checked
{
    struct file_list files, operands;
    DWORD h;                         /* (DWORD)-1: no session (no files, or it failed) */
    RM_PROCESS_INFO *info;           /* malloc'd */
    UINT n;
    DWORD reasons;
};

/* RMTOOL_EXIT_OK, or RMTOOL_EXIT_ERROR with the error printed. Either way c is
 * to be released with check_end. */
static int check_begin(const struct options *o, struct checked *c)
{
    int rc;

    memset(c, 0, sizeof(*c));
    c->h = (DWORD)-1;
    if ((rc = collect(o, &c->files, &c->operands)) || !c->files.count) return rc;
    if (session_open(&c->files, &c->h) || get_list(c->h, &c->info, &c->n, &c->reasons))
        return RMTOOL_EXIT_ERROR;
    return RMTOOL_EXIT_OK;
}

static void check_end(struct checked *c)
{
    if (c->h != (DWORD)-1) session_close(c->h);
    free(c->info);
    files_free(&c->files);
    files_free(&c->operands);
}

/* Opens the JSON object with its "paths" and "files" members. */
static void json_checked(struct json *j, const struct checked *c)
{
    memset(j, 0, sizeof(*j));
    json_open(j, NULL, L'{', FALSE);
    json_string_array(j, L"paths", c->operands.items, c->operands.count);
    json_string_array(j, L"files", c->files.items, c->files.count);
}

/* ---- list ---------------------------------------------------------------------------- */

int cmd_list(const struct options *o)
{
    struct checked c;
    int rc = check_begin(o, &c);

    if (rc) goto done;
    rc = c.reasons ? RMTOOL_EXIT_REBOOT : c.n ? RMTOOL_EXIT_IN_USE : RMTOOL_EXIT_OK;
    if (o->json)
    {
        struct json j;
        json_checked(&j, &c);
        json_list_members(&j, c.info, c.n, c.reasons);
        json_int(&j, L"exit_code", rc);
        json_close(&j);
    }
    else if (!c.files.count)
        out_w(OUT_STDOUT, L"no files to check\n");
    else if (!c.n)
        out_f(OUT_STDOUT, L"no process uses %ls\n", c.files.count == 1 ? L"the file" : L"these files");
    else
    {
        out_f(OUT_STDOUT, L"%u process%ls using %ls:\n", c.n, c.n == 1 ? L"" : L"es",
              c.files.count == 1 ? L"the file" : L"these files");
        print_table(c.info, c.n, FALSE);
        print_reasons(c.reasons);
    }
done:
    check_end(&c);
    return rc;
}

/* ---- progress ----------------------------------------------------------------------- */

static BOOL progress_quiet;       /* --json: no progress at all */
static BOOL progress_open;        /* a console bar is on screen without its newline */
static UINT progress_last;        /* last value shown */

/* The status callback handed to RmShutdown and RmRestart, declared exactly as the
 * SDK's RM_WRITE_STATUS_CALLBACK (no calling convention: cdecl on x86). */
static void progress(UINT percent)
{
    if (progress_quiet) return;
    if (percent > 100) percent = 100;
    progress_last = percent;
    if (out_is_console(OUT_STDOUT))
    {
        WCHAR bar[41];
        UINT fill = percent * 40 / 100, i;
        for (i = 0; i < 40; i++) bar[i] = i < fill ? L'#' : L'.';
        bar[40] = 0;
        out_f(OUT_STDOUT, L"\r[%ls] %3u%%", bar, percent);
        progress_open = TRUE;
        if (percent == 100)
        {
            out_w(OUT_STDOUT, L"\n");
            progress_open = FALSE;
        }
    }
    else
        out_f(OUT_STDOUT, L"progress %u%%\n", percent);
    out_flush(OUT_STDOUT);
}

static const RM_WRITE_STATUS_CALLBACK progress_cb = progress;

static void progress_begin(BOOL quiet)
{
    progress_quiet = quiet;
    progress_open = FALSE;
    progress_last = 0;
}

static void progress_end(void)
{
    if (progress_open) out_w(OUT_STDOUT, L"\n");
    progress_open = FALSE;
}

static ULONG shutdown_flags(const struct options *o)
{
    return (o->force ? RmForceShutdown : 0) | (o->only_registered ? RmShutdownOnlyRegistered : 0);
}

/* Exit code for an RmShutdown / RmRestart result. */
static int code_for(DWORD err)
{
    switch (err)
    {
    case ERROR_SUCCESS: return RMTOOL_EXIT_OK;
    case ERROR_FAIL_NOACTION_REBOOT: return RMTOOL_EXIT_REBOOT;
    case ERROR_FAIL_SHUTDOWN:
    case ERROR_FAIL_RESTART: return RMTOOL_EXIT_PARTIAL;
    default: return RMTOOL_EXIT_ERROR;
    }
}

/* The one-line explanation of an RmShutdown result. */
static void explain_shutdown(DWORD err)
{
    if (err == ERROR_FAIL_NOACTION_REBOOT)
        report_error(L"RmShutdown: nothing was closed because a reboot is needed: 350 ERROR_FAIL_NOACTION_REBOOT");
    else if (err == ERROR_FAIL_SHUTDOWN)
        report_error(L"RmShutdown: some applications could not be closed: 351 ERROR_FAIL_SHUTDOWN");
    else if (err)
        report_api_error(L"RmShutdown", err);
}

/* ---- close -------------------------------------------------------------------------- */

int cmd_close(const struct options *o)
{
    struct checked c;
    RM_PROCESS_INFO *after = NULL;
    UINT n_after = 0;
    DWORD reasons_after = 0, sd = ERROR_SUCCESS;
    BOOL have_after = FALSE;
    int rc = check_begin(o, &c);

    if (rc) goto done;
    if (c.n)
    {
        if (!o->json)
        {
            out_f(OUT_STDOUT, L"closing %u application%ls%ls%ls:\n", c.n, c.n == 1 ? L"" : L"s",
                  o->force ? L" (forced)" : L"",
                  o->only_registered ? L" (only if all are registered for restart)" : L"");
            print_table(c.info, c.n, FALSE);
            out_flush(OUT_STDOUT);
        }
        progress_begin(o->json);
        sd = RmShutdown(c.h, shutdown_flags(o), progress_cb);
        progress_end();
        /* What happened to each one: the list carries the AppStatus history now. */
        have_after = get_list(c.h, &after, &n_after, &reasons_after) == ERROR_SUCCESS;
        rc = code_for(sd);
        if (!have_after && !rc) rc = RMTOOL_EXIT_ERROR;
    }

    if (o->json)
    {
        struct json j;
        json_checked(&j, &c);
        json_bool(&j, L"shutdown_called", c.n != 0);
        json_uint(&j, L"shutdown_result", sd);
        if (have_after) json_list_members(&j, after, n_after, c.reasons);
        else json_list_members(&j, c.info, c.n, c.reasons);
        json_int(&j, L"exit_code", rc);
        json_close(&j);
    }
    else if (!c.n)
        out_w(OUT_STDOUT, c.files.count ? L"nothing to close: no process uses the files\n"
                                        : L"no files to check\n");
    else
    {
        if (have_after)
        {
            out_w(OUT_STDOUT, L"result:\n");
            print_table(after, n_after, TRUE);
        }
        if (!sd) out_w(OUT_STDOUT, L"all closed\n");
    }
    if (c.n) explain_shutdown(sd);

done:
    check_end(&c);
    free(after);
    return rc;
}

/* ---- replace -------------------------------------------------------------------------- */

static void step(int k, const WCHAR *what)
{
    out_f(OUT_STDOUT, L"[%d/8] %ls:", k, what);
    out_flush(OUT_STDOUT);
}

static void step_ok(const WCHAR *detail)
{
    out_f(OUT_STDOUT, L" %ls\n", detail ? detail : L"ok");
    out_flush(OUT_STDOUT);
}

static void step_failed(void)
{
    out_w(OUT_STDOUT, L" FAILED\n");
    out_flush(OUT_STDOUT);
}

int cmd_replace(const struct options *o)
{
    WCHAR *target = NULL, *source = NULL, *temp = NULL, key[CCH_RM_SESSION_KEY + 1], detail[64];
    const WCHAR *targets[1];
    RM_PROCESS_INFO *info = NULL;
    UINT n = 0;
    DWORD h = (DWORD)-1, reasons = 0, err, attrs, sd = ERROR_SUCCESS;
    BOOL shut = FALSE, replaced = FALSE;
    int rc = RMTOOL_EXIT_ERROR;
    size_t len;

    if (!(target = full_path(o->args[0])) || !(source = full_path(o->args[1]))) goto done;
    attrs = GetFileAttributesW(source);
    if (attrs == INVALID_FILE_ATTRIBUTES || (attrs & FILE_ATTRIBUTE_DIRECTORY))
    {
        err = attrs == INVALID_FILE_ATTRIBUTES ? GetLastError() : ERROR_DIRECTORY;
        report_error(L"%ls: not a readable file: %lu %ls", source, (unsigned long)err,
                     err_name(err) ? err_name(err) : L"");
        goto done;
    }
    attrs = GetFileAttributesW(target);
    if (attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_DIRECTORY))
    {
        report_error(L"%ls: is a directory: %lu ERROR_DIRECTORY", target, (unsigned long)ERROR_DIRECTORY);
        goto done;
    }
    out_f(OUT_STDOUT, L"replacing %ls\n     with %ls\n", target, source);

    /* 1. The new content next to the target first: same volume, so the final step is
     *    a rename, and nothing is closed if the copy cannot be made. */
    len = wcslen(target) + 40;
    if (!(temp = malloc(len * sizeof(WCHAR))))
    {
        report_error(L"out of memory");
        goto done;
    }
    swprintf(temp, len, L"%ls.rmtool-%lu.new", target, (unsigned long)GetCurrentProcessId());
    step(1, L"copy the new file next to the target");
    if (!CopyFileW(source, temp, TRUE))
    {
        err = GetLastError();
        step_failed();
        report_api_error(L"CopyFile", err);
        free(temp);
        temp = NULL;   /* not ours to delete: it may be someone else's file */
        goto done;
    }
    step_ok(temp);

    /* 2-4. Session, registration, who uses it. */
    step(2, L"start a Restart Manager session");
    if ((err = RmStartSession(&h, 0, key)))
    {
        step_failed();
        report_api_error(L"RmStartSession", err);
        h = (DWORD)-1;
        goto done;
    }
    swprintf(detail, ARRAYSIZE(detail), L"ok (session %lu)", (unsigned long)h);
    step_ok(detail);

    step(3, L"register the target");
    targets[0] = target;
    if ((err = RmRegisterResources(h, 1, targets, 0, NULL, 0, NULL)))
    {
        step_failed();
        report_api_error(L"RmRegisterResources", err);
        goto done;
    }
    step_ok(NULL);

    step(4, L"list the applications using it");
    if (get_list(h, &info, &n, &reasons))
    {
        step_failed();
        goto done;
    }
    swprintf(detail, ARRAYSIZE(detail), L"%u found", n);
    step_ok(detail);
    if (n)
    {
        print_table(info, n, FALSE);
        print_reasons(reasons);
    }

    /* 5. Close them (RmShutdown decides itself when a reboot is needed: 350). */
    step(5, L"close them");
    if (!n) step_ok(L"nothing to close");
    else
    {
        out_w(OUT_STDOUT, L"\n");
        progress_begin(FALSE);
        sd = RmShutdown(h, shutdown_flags(o), progress_cb);
        progress_end();
        shut = TRUE;
        if (sd == ERROR_SUCCESS) step_ok(L"    closed");
        else
        {
            out_w(OUT_STDOUT, L"     not all closed\n");
            explain_shutdown(sd);
        }
    }

    /* 6. The atomic swap, unless nothing was closed because a reboot is needed or the
     *    shutdown failed outright; with some applications still running (351) it is
     *    tried anyway: those may not be the ones that lock the file. */
    step(6, L"replace the target");
    if (sd && sd != ERROR_FAIL_SHUTDOWN)
    {
        out_w(OUT_STDOUT, L" skipped\n");
        rc = code_for(sd);
    }
    /* ReplaceFile keeps the old file's security descriptor and attributes; a
     * TARGET that does not exist yet is simply renamed into place. */
    else if (!ReplaceFileW(target, temp, NULL, REPLACEFILE_IGNORE_MERGE_ERRORS, NULL, NULL) &&
             ((err = GetLastError()) != ERROR_FILE_NOT_FOUND ||
              !MoveFileExW(temp, target, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)))
    {
        if (err == ERROR_FILE_NOT_FOUND) err = GetLastError();
        step_failed();
        report_api_error(L"ReplaceFile", err);
        rc = sd ? code_for(sd) : RMTOOL_EXIT_ERROR;
    }
    else
    {
        replaced = TRUE;
        free(temp);
        temp = NULL;
        step_ok(NULL);
        rc = code_for(sd);
    }

    /* 7. Restart what was closed (after a partial failure too, as the docs advise). */
    step(7, L"restart the closed applications");
    if (!shut || sd == ERROR_FAIL_NOACTION_REBOOT) step_ok(L"nothing to restart");
    else
    {
        DWORD rr;
        out_w(OUT_STDOUT, L"\n");
        progress_begin(FALSE);
        rr = RmRestart(h, 0, progress_cb);
        progress_end();
        if (!rr) step_ok(L"    restarted");
        else if (rr == ERROR_FAIL_RESTART)
        {
            out_w(OUT_STDOUT, L"     not all restarted\n");
            report_error(L"RmRestart: some applications could not be restarted: 352 ERROR_FAIL_RESTART");
            if (rc == RMTOOL_EXIT_OK) rc = RMTOOL_EXIT_PARTIAL;
        }
        else
        {
            out_w(OUT_STDOUT, L"     FAILED\n");
            report_api_error(L"RmRestart", rr);
            if (rc == RMTOOL_EXIT_OK) rc = RMTOOL_EXIT_ERROR;
        }
    }

done:
    if (h != (DWORD)-1)
    {
        step(8, L"end the session");
        err = RmEndSession(h);
        if (err)
        {
            step_failed();
            report_api_error(L"RmEndSession", err);
            if (rc == RMTOOL_EXIT_OK) rc = RMTOOL_EXIT_ERROR;
        }
        else step_ok(NULL);
    }
    if (temp) DeleteFileW(temp);
    if (h != (DWORD)-1)
        out_w(OUT_STDOUT, replaced ? L"done: the target was replaced\n" : L"done: the target was NOT replaced\n");
    free(info);
    free(target);
    free(source);
    free(temp);
    return rc;
}
