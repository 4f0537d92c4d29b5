/*
 * eventlog.c - the Restart Manager events of spec section 10, written through the
 * event log API so that administrators can see what an installer's session did.
 *
 * The events go to the Application log under a source of our own,
 * RM_EVENT_SOURCE, with Windows' event IDs (10000 session started ... 10010
 * cannot be restarted). The DLL carries no message table, so each event has one
 * insertion string holding the whole English message; Event Viewer shows it as
 * the event's data. The source is opened and closed around each event: events are
 * few (a handful per session), and a handle kept for the process could only be
 * closed at unload, under the loader lock, where DeregisterEventSource (a call
 * to the event log service) must not run.
 *
 * Logging never fails an API call: every failure here is ignored (and traced).
 * Tests make ReportEventW fail with RSTRTMGR_FAULT=ReportEventW:1+ (sys.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"

#define RM_EVENT_SOURCE L"RestartManager (rstrtmgr clean-room)"

void rm_event(DWORD id, WORD type, const WCHAR *fmt, ...)
{
    WCHAR text[1024];   /* wvsprintfW's own limit */
    const WCHAR *strings[1] = { text };
    HANDLE source;
    va_list ap;

    va_start(ap, fmt);
    wvsprintfW(text, fmt, ap);
    va_end(ap);
    rm_trace("event %lu: %ls", id, text);
    rm_sys_init();
    if (!(source = rm_sys.RegisterEventSourceW(NULL, RM_EVENT_SOURCE)))
    {
        rm_trace("event log: RegisterEventSource failed (%lu); event %lu not logged", GetLastError(), id);
        return;
    }
    if (!rm_sys.ReportEventW(source, type, 0, id, NULL, 1, 0, strings, NULL))
        rm_trace("event log: ReportEvent %lu failed (%lu)", id, GetLastError());
    DeregisterEventSource(source);
}

void rm_event_time(const FILETIME *ft, WCHAR buf[32])
{
    SYSTEMTIME st;
    if (!FileTimeToSystemTime(ft, &st)) memset(&st, 0, sizeof(st));
    wsprintfW(buf, L"%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", st.wYear, st.wMonth, st.wDay, st.wHour,
              st.wMinute, st.wSecond, st.wMilliseconds);
}
