/*
 * restartmanager.h - public interface of the Restart Manager (rstrtmgr.dll).
 *
 * Part of the clean-room rstrtmgr project. Written from the documented ABI:
 * every type, constant and structure layout here is binary-identical to the
 * Windows SDK's RestartManager.h, on x86 and x64, so that code compiled against
 * either header works with either DLL. Layouts are checked at compile time by
 * tests/unit/test_abi.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef RSTRTMGR_RESTARTMANAGER_H
#define RSTRTMGR_RESTARTMANAGER_H

/* mingw-w64's copy of this header is guarded by _INC_RESTARTMANAGER: defining it
 * here keeps a translation unit that also reaches that copy from getting two
 * definitions of every type. */
#ifndef _INC_RESTARTMANAGER
#define _INC_RESTARTMANAGER

#include <windows.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Sizes --------------------------------------------------------------- */

#define RM_SESSION_KEY_LEN  sizeof(GUID)           /* bytes in the binary key     */
#define CCH_RM_SESSION_KEY  RM_SESSION_KEY_LEN*2   /* characters in the text key  */
#define CCH_RM_MAX_APP_NAME 255
#define CCH_RM_MAX_SVC_NAME 63
#define RM_INVALID_TS_SESSION -1
#define RM_INVALID_PROCESS    -1

/* ---- Error codes some winerror.h copies lack ------------------------------ */

#ifndef ERROR_FAIL_NOACTION_REBOOT
#define ERROR_FAIL_NOACTION_REBOOT 350L
#endif
#ifndef ERROR_FAIL_SHUTDOWN
#define ERROR_FAIL_SHUTDOWN 351L
#endif
#ifndef ERROR_FAIL_RESTART
#define ERROR_FAIL_RESTART 352L
#endif
#ifndef ERROR_MAX_SESSIONS_REACHED
#define ERROR_MAX_SESSIONS_REACHED 353L
#endif
#ifndef ERROR_REQUEST_OUT_OF_SEQUENCE
#define ERROR_REQUEST_OUT_OF_SEQUENCE 776L
#endif

/* ---- Enumerations (all int-sized) ----------------------------------------- */

typedef enum _RM_APP_TYPE {
    RmUnknownApp  = 0,
    RmMainWindow  = 1,
    RmOtherWindow = 2,
    RmService     = 3,
    RmExplorer    = 4,
    RmConsole     = 5,
    RmCritical    = 1000
} RM_APP_TYPE;

typedef enum _RM_SHUTDOWN_TYPE {
    RmForceShutdown          = 0x1,
    RmShutdownOnlyRegistered = 0x10
} RM_SHUTDOWN_TYPE;

typedef enum _RM_APP_STATUS {
    RmStatusUnknown        = 0x0,
    RmStatusRunning        = 0x1,
    RmStatusStopped        = 0x2,
    RmStatusStoppedOther   = 0x4,
    RmStatusRestarted      = 0x8,
    RmStatusErrorOnStop    = 0x10,
    RmStatusErrorOnRestart = 0x20,
    RmStatusShutdownMasked = 0x40,
    RmStatusRestartMasked  = 0x80
} RM_APP_STATUS;

typedef enum _RM_REBOOT_REASON {
    RmRebootReasonNone             = 0x0,
    RmRebootReasonPermissionDenied = 0x1,
    RmRebootReasonSessionMismatch  = 0x2,
    RmRebootReasonCriticalProcess  = 0x4,
    RmRebootReasonCriticalService  = 0x8,
    RmRebootReasonDetectedSelf     = 0x10
} RM_REBOOT_REASON;

typedef enum _RM_FILTER_TRIGGER {
    RmFilterTriggerInvalid = 0,
    RmFilterTriggerFile    = 1,
    RmFilterTriggerProcess = 2,
    RmFilterTriggerService = 3
} RM_FILTER_TRIGGER;

typedef enum _RM_FILTER_ACTION {
    RmInvalidFilterAction = 0,
    RmNoRestart           = 1,
    RmNoShutdown          = 2
} RM_FILTER_ACTION;

/* ---- Structures (natural alignment, no packing pragmas) ------------------- */

/* A process, identified by its PID and its creation time as GetProcessTimes
 * reports it; PIDs are reused, the pair is not. 12 bytes on both architectures. */
typedef struct _RM_UNIQUE_PROCESS {
    DWORD    dwProcessId;
    FILETIME ProcessStartTime;
} RM_UNIQUE_PROCESS, *PRM_UNIQUE_PROCESS;

/* One affected application or service. 668 bytes on both architectures. */
typedef struct _RM_PROCESS_INFO {
    RM_UNIQUE_PROCESS Process;
    WCHAR             strAppName[CCH_RM_MAX_APP_NAME + 1];
    WCHAR             strServiceShortName[CCH_RM_MAX_SVC_NAME + 1];
    RM_APP_TYPE       ApplicationType;
    ULONG             AppStatus;        /* RM_APP_STATUS bits, accumulated */
    DWORD             TSSessionId;
    BOOL              bRestartable;
} RM_PROCESS_INFO, *PRM_PROCESS_INFO;

/* One filter in the buffer RmGetFilterList fills; records are chained by
 * cbNextOffset (bytes from this record to the next, 0 on the last).
 * 24 bytes on x86, 32 on x64 (the union holds a pointer). */
typedef struct _RM_FILTER_INFO {
    RM_FILTER_ACTION  FilterAction;
    RM_FILTER_TRIGGER FilterTrigger;
    DWORD             cbNextOffset;
    union {
        LPWSTR            strFilename;
        RM_UNIQUE_PROCESS Process;
        LPWSTR            strServiceShortName;
    };
} RM_FILTER_INFO, *PRM_FILTER_INFO;

/* Progress callback: percentage (0..100) of the applications processed so far.
 * The SDK names no calling convention, so on x86 it is __cdecl; this DLL also
 * survives callbacks declared __stdcall (see call_progress in src/operation.c). */
typedef void (*RM_WRITE_STATUS_CALLBACK)(UINT nPercentComplete);

/* ---- Functions ------------------------------------------------------------- */

DWORD WINAPI RmStartSession(DWORD *pSessionHandle, DWORD dwSessionFlags,
                            WCHAR strSessionKey[]);
DWORD WINAPI RmJoinSession(DWORD *pSessionHandle, const WCHAR strSessionKey[]);
DWORD WINAPI RmEndSession(DWORD dwSessionHandle);
DWORD WINAPI RmRegisterResources(DWORD dwSessionHandle,
                                 UINT nFiles, LPCWSTR rgsFileNames[],
                                 UINT nApplications, RM_UNIQUE_PROCESS rgApplications[],
                                 UINT nServices, LPCWSTR rgsServiceNames[]);
DWORD WINAPI RmGetList(DWORD dwSessionHandle, UINT *pnProcInfoNeeded, UINT *pnProcInfo,
                       RM_PROCESS_INFO rgAffectedApps[], LPDWORD lpdwRebootReasons);
DWORD WINAPI RmShutdown(DWORD dwSessionHandle, ULONG lActionFlags,
                        RM_WRITE_STATUS_CALLBACK fnStatus);
DWORD WINAPI RmRestart(DWORD dwSessionHandle, DWORD dwRestartFlags,
                       RM_WRITE_STATUS_CALLBACK fnStatus);
DWORD WINAPI RmCancelCurrentTask(DWORD dwSessionHandle);
DWORD WINAPI RmAddFilter(DWORD dwSessionHandle, LPCWSTR strModuleName,
                         RM_UNIQUE_PROCESS *pProcess, LPCWSTR strServiceShortName,
                         RM_FILTER_ACTION FilterAction);
DWORD WINAPI RmRemoveFilter(DWORD dwSessionHandle, LPCWSTR strModuleName,
                            RM_UNIQUE_PROCESS *pProcess, LPCWSTR strServiceShortName);
DWORD WINAPI RmGetFilterList(DWORD dwSessionHandle, PBYTE pbFilterBuf,
                             DWORD cbFilterBuf, LPDWORD cbFilterBufNeeded);
/* Undocumented export; accepts one pointer-sized argument and does nothing. */
DWORD WINAPI RmReserveHeap(ULONG_PTR reserved);

#ifdef __cplusplus
}
#endif

#endif /* _INC_RESTARTMANAGER */
#endif /* RSTRTMGR_RESTARTMANAGER_H */
