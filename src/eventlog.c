/*
 * eventlog.c - the Restart Manager events of spec section 10, written through the
 * event log API so that administrators can see what an installer's session did.
 *
 * The events go to the Application log under a source of our own,
 * RM_EVENT_SOURCE, with Windows' event IDs (10000 session started ... 10010
 * cannot be restarted; events.h). Each carries its insertion strings; their text
 * is the DLL's message table (rstrtmgr.mc). For Event Viewer to find that text,
 * the source's registry key names this DLL as its EventMessageFile: the first
 * event of a process that may write HKLM registers it (register_source), once,
 * never in DllMain. A registration that names an existing file (another copy of
 * this DLL, say the one in System32) is left alone: an installer's temporary
 * copy must not take the source over and leave it pointing at a deleted file.
 * With tracing on, the trace shows each event as Event Viewer would: its
 * message formatted from this DLL's table with the strings the event carries.
 *
 * The source is opened and closed around each event: events are few (a handful
 * per session), and a handle kept for the process could only be closed at
 * unload, under the loader lock, where DeregisterEventSource (a call to the
 * event log service) must not run.
 *
 * Logging never fails an API call: every failure here is ignored (and traced).
 * Tests make ReportEventW fail with RSTRTMGR_FAULT=ReportEventW:1+ (sys.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"

#define TYPES_SUPPORTED (EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE | EVENTLOG_INFORMATION_TYPE)

/* Does a registered EventMessageFile value (REG_EXPAND_SZ) name an existing file? */
static BOOL message_file_exists(const WCHAR *value)
{
    WCHAR path[MAX_PATH + 1];
    DWORD len = ExpandEnvironmentStringsW(value, path, ARRAYSIZE(path));
    return len && len <= ARRAYSIZE(path) && GetFileAttributesW(path) != INVALID_FILE_ATTRIBUTES;
}

/* HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\<source>:
 * EventMessageFile (REG_EXPAND_SZ) = this DLL, TypesSupported = 7. Only where the
 * caller may write there (an unelevated caller on Windows may not: then nothing
 * happens); kept when it already names an existing file. */
static BOOL CALLBACK register_source(INIT_ONCE *once, void *param, void **ctx)
{
    WCHAR self[MAX_PATH + 1], current[MAX_PATH + 1];
    DWORD len, type, size, types = TYPES_SUPPORTED;
    LSTATUS err;
    HKEY key;
    (void)once; (void)param; (void)ctx;

    len = GetModuleFileNameW(rm_self_module(), self, ARRAYSIZE(self));
    if (!len || len >= ARRAYSIZE(self)) return TRUE;
    err = rm_sys.EventSourceKey(HKEY_LOCAL_MACHINE, RM_EVENT_SOURCE_KEY, 0, NULL, 0,
                                KEY_QUERY_VALUE | KEY_SET_VALUE, NULL, &key, NULL);
    if (err)
    {
        rm_trace("event source not registered: HKLM not writable here (%ld)", err);
        return TRUE;
    }
    size = sizeof(current) - sizeof(WCHAR);
    err = RegQueryValueExW(key, L"EventMessageFile", NULL, &type, (BYTE *)current, &size);
    if (!err && (type == REG_EXPAND_SZ || type == REG_SZ))
    {
        current[size / sizeof(WCHAR)] = 0;
        if (message_file_exists(current))
        {
            rm_trace("event source: EventMessageFile is already %ls", current);
            RegCloseKey(key);
            return TRUE;
        }
    }
    err = RegSetValueExW(key, L"EventMessageFile", 0, REG_EXPAND_SZ, (const BYTE *)self,
                         (len + 1) * sizeof(WCHAR));
    if (!err)
        err = RegSetValueExW(key, L"TypesSupported", 0, REG_DWORD, (const BYTE *)&types, sizeof(types));
    if (err) rm_trace("event source not registered (%ld)", err);
    else rm_trace("event source registered: EventMessageFile %ls", self);
    RegCloseKey(key);
    return TRUE;
}

/* The trace line of an event: its text as Event Viewer shows it. */
static void trace_event(DWORD id, WORD count, const WCHAR *const *strings)
{
    WCHAR text[1024];
    DWORD len;

    len = FormatMessageW(FORMAT_MESSAGE_FROM_HMODULE | FORMAT_MESSAGE_ARGUMENT_ARRAY, rm_self_module(), id, 0,
                         text, ARRAYSIZE(text), (va_list *)(void *)strings);
    if (len)
        rm_trace("event %lu: %ls", id, text);
    else
        rm_trace("event %lu: no message text (%lu); %u insertion string(s), the first: %ls", id, GetLastError(),
                 count, count ? strings[0] : L"");
}

void rm_event_report(DWORD id, WORD type, WORD count, const WCHAR *const *strings)
{
    static INIT_ONCE registered = INIT_ONCE_STATIC_INIT;
    HANDLE source;

    if (rm_trace_enabled()) trace_event(id, count, strings);
    rm_sys_init();
    InitOnceExecuteOnce(&registered, register_source, NULL, NULL);
    if (!(source = rm_sys.RegisterEventSourceW(NULL, RM_EVENT_SOURCE)))
    {
        rm_trace("event log: RegisterEventSource failed (%lu); event %lu not logged", GetLastError(), id);
        return;
    }
    if (!rm_sys.ReportEventW(source, type, 0, id, NULL, count, 0, (LPCWSTR *)strings, NULL))
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
