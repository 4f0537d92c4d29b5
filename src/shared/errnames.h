/*
 * errnames.h - the names of the Win32 errors the Restart Manager and its callers
 * meet, written once for the DLL's trace (trace.c) and rmtool's messages
 * (tools/rmtool/output.c). Include it in one .c file of each; rm_errname_lookup
 * returns NULL for a code without a name here.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef RSTRTMGR_ERRNAMES_H
#define RSTRTMGR_ERRNAMES_H

#include <windows.h>

static const struct rm_errname { DWORD code; const char *name; } rm_errnames[] = {
    { 0, "ERROR_SUCCESS" },
    { 1, "ERROR_INVALID_FUNCTION" },
    { 2, "ERROR_FILE_NOT_FOUND" },
    { 3, "ERROR_PATH_NOT_FOUND" },
    { 5, "ERROR_ACCESS_DENIED" },
    { 6, "ERROR_INVALID_HANDLE" },
    { 8, "ERROR_NOT_ENOUGH_MEMORY" },
    { 13, "ERROR_INVALID_DATA" },
    { 14, "ERROR_OUTOFMEMORY" },
    { 17, "ERROR_NOT_SAME_DEVICE" },
    { 29, "ERROR_WRITE_FAULT" },
    { 31, "ERROR_GEN_FAILURE" },
    { 32, "ERROR_SHARING_VIOLATION" },
    { 33, "ERROR_LOCK_VIOLATION" },
    { 53, "ERROR_BAD_NETPATH" },
    { 80, "ERROR_FILE_EXISTS" },
    { 87, "ERROR_INVALID_PARAMETER" },
    { 112, "ERROR_DISK_FULL" },
    { 120, "ERROR_CALL_NOT_IMPLEMENTED" },
    { 121, "ERROR_SEM_TIMEOUT" },
    { 123, "ERROR_INVALID_NAME" },
    { 160, "ERROR_BAD_ARGUMENTS" },
    { 161, "ERROR_BAD_PATHNAME" },
    { 183, "ERROR_ALREADY_EXISTS" },
    { 193, "ERROR_BAD_EXE_FORMAT" },
    { 206, "ERROR_FILENAME_EXCED_RANGE" },
    { 234, "ERROR_MORE_DATA" },
    { 267, "ERROR_DIRECTORY" },
    { 299, "ERROR_PARTIAL_COPY" },
    { 350, "ERROR_FAIL_NOACTION_REBOOT" },
    { 351, "ERROR_FAIL_SHUTDOWN" },
    { 352, "ERROR_FAIL_RESTART" },
    { 353, "ERROR_MAX_SESSIONS_REACHED" },
    { 776, "ERROR_REQUEST_OUT_OF_SEQUENCE" },
    { 1053, "ERROR_SERVICE_REQUEST_TIMEOUT" },
    { 1056, "ERROR_SERVICE_ALREADY_RUNNING" },
    { 1058, "ERROR_SERVICE_DISABLED" },
    { 1060, "ERROR_SERVICE_DOES_NOT_EXIST" },
    { 1061, "ERROR_SERVICE_CANNOT_ACCEPT_CTRL" },
    { 1062, "ERROR_SERVICE_NOT_ACTIVE" },
    { 1150, "ERROR_OLD_WIN_VERSION" },
    { 1168, "ERROR_NOT_FOUND" },
    { 1175, "ERROR_UNABLE_TO_REMOVE_REPLACED" },
    { 1176, "ERROR_UNABLE_TO_MOVE_REPLACEMENT" },
    { 1177, "ERROR_UNABLE_TO_MOVE_REPLACEMENT_2" },
    { 1219, "ERROR_SESSION_CREDENTIAL_CONFLICT" },
    { 1223, "ERROR_CANCELLED" },
    { 1314, "ERROR_PRIVILEGE_NOT_HELD" },
    { 1460, "ERROR_TIMEOUT" },
};

static inline const char *rm_errname_lookup(DWORD code)
{
    SIZE_T i;
    for (i = 0; i < sizeof(rm_errnames) / sizeof(rm_errnames[0]); i++)
        if (rm_errnames[i].code == code) return rm_errnames[i].name;
    return NULL;
}

#endif
