/*
 * events.h - the events the DLL writes to the Application event log (spec 10):
 * Windows' IDs, and how many insertion strings each one carries. Their text is
 * the DLL's message table, src/rstrtmgr.mc (same IDs, inserts %1..%n), so that
 * Event Viewer can show it; the event source is registered with the DLL as its
 * EventMessageFile (eventlog.c).
 *
 * One list, three uses: the IDs, the string counts that rm_event() checks at
 * compile time, and tests/api/test_eventmsg.c, which checks that the message table
 * has a message for every ID here, taking exactly that many strings, and no other.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef RSTRTMGR_EVENTS_H
#define RSTRTMGR_EVENTS_H

/* The event source, under HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application. */
#define RM_EVENT_SOURCE L"RestartManager (rstrtmgr clean-room)"
#define RM_EVENT_SOURCE_KEY L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\" RM_EVENT_SOURCE

/* X(symbol, ID, insertion strings)              message text (rstrtmgr.mc) */
#define RM_EVENT_LIST(X) \
    X(RM_EVT_SESSION_START, 10000, 2)   /* Starting session %1 - %2. */ \
    X(RM_EVT_SESSION_END, 10001, 2)     /* Ending session %1 started %2. */ \
    X(RM_EVT_SHUTTING_DOWN, 10002, 1)   /* Shutting down application or service '%1'. */ \
    X(RM_EVT_RESTARTING, 10003, 1)      /* Restarting application or service '%1'. */ \
    X(RM_EVT_REGISTERING, 10004, 3)     /* Registering %1 file(s), %2 process(es), %3 service(s). */ \
    X(RM_EVT_REBOOT_REQUIRED, 10005, 1) /* Machine restart is required.%1 (%1: "\r\nApplication <name>" lines) */ \
    X(RM_EVT_SHUTDOWN_FAILED, 10006, 1) /* Application or service '%1' could not be shut down. */ \
    X(RM_EVT_RESTART_FAILED, 10007, 1)  /* Application or service '%1' could not be restarted. */ \
    X(RM_EVT_CANNOT_RESTART, 10010, 3)  /* Application '%1' (pid %2) cannot be restarted - %3 */

enum rm_event_id
{
#define RM_EVENT_ID(sym, id, n) sym = id,
    RM_EVENT_LIST(RM_EVENT_ID)
#undef RM_EVENT_ID
};

/* RM_EVT_xxx_STRINGS: the number of insertion strings of RM_EVT_xxx. */
enum rm_event_strings
{
#define RM_EVENT_STRINGS(sym, id, n) sym##_STRINGS = n,
    RM_EVENT_LIST(RM_EVENT_STRINGS)
#undef RM_EVENT_STRINGS
};

#endif
