/*
 * report.c - how rmtool shows what the Restart Manager said: the words for
 * application types, statuses and reboot reasons, and a list of affected
 * applications as a table or as JSON members (rmops.c runs the commands).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "rmtool.h"
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* ---- words ---------------------------------------------------------------------------- */

struct bit_word { DWORD bit; const WCHAR *key; };

static const struct bit_word reason_words[] = {
    { RmRebootReasonPermissionDenied, L"permission_denied" },
    { RmRebootReasonSessionMismatch, L"session_mismatch" },
    { RmRebootReasonCriticalProcess, L"critical_process" },
    { RmRebootReasonCriticalService, L"critical_service" },
    { RmRebootReasonDetectedSelf, L"detected_self" },
};

static const struct bit_word status_words[] = {
    { RmStatusRunning, L"running" },
    { RmStatusStopped, L"stopped" },
    { RmStatusStoppedOther, L"stopped_other" },
    { RmStatusRestarted, L"restarted" },
    { RmStatusErrorOnStop, L"error_on_stop" },
    { RmStatusErrorOnRestart, L"error_on_restart" },
    { RmStatusShutdownMasked, L"shutdown_masked" },
    { RmStatusRestartMasked, L"restart_masked" },
};

const WCHAR *app_type_key(RM_APP_TYPE t, WCHAR buf[32])
{
    switch (t)
    {
    case RmUnknownApp: return L"unknown";
    case RmMainWindow: return L"main_window";
    case RmOtherWindow: return L"other_window";
    case RmService: return L"service";
    case RmExplorer: return L"explorer";
    case RmConsole: return L"console";
    case RmCritical: return L"critical";
    }
    swprintf(buf, 32, L"type_%ld", (long)t);
    return buf;
}

/* key with '_' shown as ' ' (the human form of every keyword). */
static const WCHAR *words_of(const WCHAR *key, WCHAR *buf, size_t cch)
{
    size_t i;
    for (i = 0; key[i] && i + 1 < cch; i++) buf[i] = key[i] == L'_' ? L' ' : key[i];
    buf[i] = 0;
    return buf;
}

const WCHAR *app_type_words(RM_APP_TYPE t, WCHAR buf[32])
{
    WCHAR tmp[32];
    return words_of(app_type_key(t, tmp), buf, 32);
}

/* Comma-separated words for the bits of v ("none" when 0; unknown bits in hex). */
static void bits_text(DWORD v, const struct bit_word *w, size_t nw, WCHAR *buf, size_t cch)
{
    size_t i;
    WCHAR word[40];
    buf[0] = 0;
    if (!v)
    {
        wcscpy(buf, L"none");
        return;
    }
    for (i = 0; i < nw; i++)
    {
        if (!(v & w[i].bit)) continue;
        if (buf[0]) wcsncat(buf, L", ", cch - wcslen(buf) - 1);
        wcsncat(buf, words_of(w[i].key, word, ARRAYSIZE(word)), cch - wcslen(buf) - 1);
        v &= ~w[i].bit;
    }
    if (v)
    {
        swprintf(word, ARRAYSIZE(word), L"%ls0x%lx", buf[0] ? L", " : L"", (unsigned long)v);
        wcsncat(buf, word, cch - wcslen(buf) - 1);
    }
}

/* A JSON array of the keys of v's bits; unknown bits as "0x..." strings. */
static void bits_json(struct json *j, const WCHAR *name, DWORD v, const struct bit_word *w, size_t nw)
{
    WCHAR hex[16];
    size_t i;
    json_open(j, name, L'[', TRUE);
    for (i = 0; i < nw; i++)
    {
        if (!(v & w[i].bit)) continue;
        json_str(j, NULL, w[i].key);
        v &= ~w[i].bit;
    }
    if (v)
    {
        swprintf(hex, ARRAYSIZE(hex), L"0x%lx", (unsigned long)v);
        json_str(j, NULL, hex);
    }
    json_close(j);
}

/* ---- printing a list ----------------------------------------------------------------- */

static void pad(const WCHAR *text, size_t width)
{
    size_t n = wcslen(text);
    out_w(OUT_STDOUT, text);
    while (n++ < width) out_w(OUT_STDOUT, L" ");
}

/* The row texts of one entry. */
struct row
{
    WCHAR pid[16], started[32], type[32], restartable[8], ts[16], status[160];
};

static void make_row(const RM_PROCESS_INFO *e, struct row *r)
{
    swprintf(r->pid, 16, L"%lu", (unsigned long)e->Process.dwProcessId);
    fmt_time_local(r->started, &e->Process.ProcessStartTime);
    app_type_words(e->ApplicationType, r->type);
    wcscpy(r->restartable, e->bRestartable ? L"yes" : L"no");
    if (e->TSSessionId == (DWORD)RM_INVALID_TS_SESSION) wcscpy(r->ts, L"-");
    else swprintf(r->ts, 16, L"%lu", (unsigned long)e->TSSessionId);
    bits_text(e->AppStatus, status_words, ARRAYSIZE(status_words), r->status, ARRAYSIZE(r->status));
}

/* A table, one row per entry, columns as wide as their widest cell. The name is last:
 * it is the only free-form column (and may hold any character). */
void print_table(const RM_PROCESS_INFO *info, UINT n, BOOL with_status)
{
    static const WCHAR *const head[] = { L"PID", L"STARTED", L"TYPE", L"RESTARTABLE", L"TS",
                                         L"SERVICE", L"STATUS", L"NAME" };
    size_t w[8], i;
    UINT k;
    struct row r;

    for (i = 0; i < 8; i++) w[i] = wcslen(head[i]);
    for (k = 0; k < n; k++)
    {
        const WCHAR *svc = info[k].strServiceShortName[0] ? info[k].strServiceShortName : L"-";
        make_row(&info[k], &r);
        if (wcslen(r.pid) > w[0]) w[0] = wcslen(r.pid);
        if (wcslen(r.started) > w[1]) w[1] = wcslen(r.started);
        if (wcslen(r.type) > w[2]) w[2] = wcslen(r.type);
        if (wcslen(r.ts) > w[4]) w[4] = wcslen(r.ts);
        if (wcsnlen(svc, CCH_RM_MAX_SVC_NAME + 1) > w[5]) w[5] = wcsnlen(svc, CCH_RM_MAX_SVC_NAME + 1);
        if (wcslen(r.status) > w[6]) w[6] = wcslen(r.status);
    }
    for (i = 0; i < 8; i++)
    {
        if (i == 6 && !with_status) continue;
        if (i == 7) out_w(OUT_STDOUT, head[i]);
        else
        {
            pad(head[i], w[i]);
            out_w(OUT_STDOUT, L"  ");
        }
    }
    out_w(OUT_STDOUT, L"\n");
    for (k = 0; k < n; k++)
    {
        WCHAR svc[CCH_RM_MAX_SVC_NAME + 1], name[CCH_RM_MAX_APP_NAME + 1];
        /* Copies: the DLL NUL-terminates them, but the tool does not rely on it. */
        wcsncpy(svc, info[k].strServiceShortName, CCH_RM_MAX_SVC_NAME);
        svc[CCH_RM_MAX_SVC_NAME] = 0;
        wcsncpy(name, info[k].strAppName, CCH_RM_MAX_APP_NAME);
        name[CCH_RM_MAX_APP_NAME] = 0;
        make_row(&info[k], &r);
        pad(r.pid, w[0]); out_w(OUT_STDOUT, L"  ");
        pad(r.started, w[1]); out_w(OUT_STDOUT, L"  ");
        pad(r.type, w[2]); out_w(OUT_STDOUT, L"  ");
        pad(r.restartable, w[3]); out_w(OUT_STDOUT, L"  ");
        pad(r.ts, w[4]); out_w(OUT_STDOUT, L"  ");
        pad(svc[0] ? svc : L"-", w[5]); out_w(OUT_STDOUT, L"  ");
        if (with_status)
        {
            pad(r.status, w[6]);
            out_w(OUT_STDOUT, L"  ");
        }
        out_w(OUT_STDOUT, name[0] ? name : L"-");
        out_w(OUT_STDOUT, L"\n");
    }
}

void print_reasons(DWORD reasons)
{
    WCHAR text[256];
    bits_text(reasons, reason_words, ARRAYSIZE(reason_words), text, ARRAYSIZE(text));
    if (reasons)
        out_f(OUT_STDOUT, L"reboot needed: %ls\n", text);
    else
        out_w(OUT_STDOUT, L"reboot needed: no\n");
}

static void json_process(struct json *j, const RM_PROCESS_INFO *e)
{
    WCHAR t[32], svc[CCH_RM_MAX_SVC_NAME + 1], name[CCH_RM_MAX_APP_NAME + 1];
    ULARGE_INTEGER ft;

    wcsncpy(svc, e->strServiceShortName, CCH_RM_MAX_SVC_NAME);
    svc[CCH_RM_MAX_SVC_NAME] = 0;
    wcsncpy(name, e->strAppName, CCH_RM_MAX_APP_NAME);
    name[CCH_RM_MAX_APP_NAME] = 0;
    ft.LowPart = e->Process.ProcessStartTime.dwLowDateTime;
    ft.HighPart = e->Process.ProcessStartTime.dwHighDateTime;
    json_open(j, NULL, L'{', TRUE);
    json_uint(j, L"pid", e->Process.dwProcessId);
    fmt_time_utc(t, &e->Process.ProcessStartTime);
    json_str(j, L"start_time", t);
    json_uint(j, L"start_filetime", ft.QuadPart);
    json_str(j, L"type", app_type_key(e->ApplicationType, t));
    json_int(j, L"type_code", (LONGLONG)e->ApplicationType);
    json_str(j, L"name", name);
    json_str(j, L"service", svc);
    if (e->TSSessionId == (DWORD)RM_INVALID_TS_SESSION) json_null(j, L"ts_session");
    else json_uint(j, L"ts_session", e->TSSessionId);
    json_bool(j, L"restartable", e->bRestartable);
    bits_json(j, L"status", e->AppStatus, status_words, ARRAYSIZE(status_words));
    json_uint(j, L"status_code", e->AppStatus);
    json_close(j);
}

void json_list_members(struct json *j, const RM_PROCESS_INFO *info, UINT n, DWORD reasons)
{
    UINT k;
    json_open(j, L"processes", L'[', FALSE);
    for (k = 0; k < n; k++) json_process(j, &info[k]);
    json_close(j);
    json_bool(j, L"reboot_needed", reasons != 0);
    bits_json(j, L"reboot_reasons", reasons, reason_words, ARRAYSIZE(reason_words));
    json_uint(j, L"reboot_reasons_code", reasons);
}

void json_string_array(struct json *j, const WCHAR *name, WCHAR *const *items, size_t n)
{
    size_t i;
    json_open(j, name, L'[', TRUE);
    for (i = 0; i < n; i++) json_str(j, NULL, items[i]);
    json_close(j);
}
