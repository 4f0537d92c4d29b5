/*
 * eventlog.c - the Restart Manager events of spec section 10, written through the
 * event log API so that administrators can see what an installer's session did.
 *
 * The events go to the Application log under a source of our own,
 * RM_EVENT_SOURCE, with Windows' event IDs (10000 session started ... 10010
 * cannot be restarted). The DLL carries no message table, so each event has one
 * insertion string holding the whole English message; Event Viewer shows it as
 * the event's data. The source is opened once per process, on first use, and
 * never closed (it lives as long as the DLL's users do; closing it from DllMain
 * is not allowed).
 *
 * Logging never fails an API call: every failure here is ignored (and traced).
 * Tests make ReportEventW fail with RSTRTMGR_FAULT=ReportEventW:1+ (sys.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"

#define RM_EVENT_SOURCE L"RestartManager (rstrtmgr clean-room)"

static HANDLE source;

static BOOL CALLBACK open_source(INIT_ONCE *once, void *param, void **ctx)
{
    (void)once; (void)param; (void)ctx;
    rm_sys_init();
    source = rm_sys.RegisterEventSourceW(NULL, RM_EVENT_SOURCE);
    if (!source) rm_trace("event log: RegisterEventSource failed (%lu); events are not logged", GetLastError());
    return TRUE;
}

void rm_event(DWORD id, WORD type, const WCHAR *fmt, ...)
{
    static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
    WCHAR text[1024];   /* wvsprintfW's own limit */
    const WCHAR *strings[1] = { text };
    va_list ap;

    va_start(ap, fmt);
    wvsprintfW(text, fmt, ap);
    va_end(ap);
    rm_trace("event %lu: %ls", id, text);
    InitOnceExecuteOnce(&once, open_source, NULL, NULL);
    if (source && !rm_sys.ReportEventW(source, type, 0, id, NULL, 1, 0, strings, NULL))
        rm_trace("event log: ReportEvent %lu failed (%lu)", id, GetLastError());
}

void rm_event_time(const FILETIME *ft, WCHAR buf[32])
{
    SYSTEMTIME st;
    if (!FileTimeToSystemTime(ft, &st)) memset(&st, 0, sizeof(st));
    wsprintfW(buf, L"%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", st.wYear, st.wMonth, st.wDay, st.wHour,
              st.wMinute, st.wSecond, st.wMilliseconds);
}
