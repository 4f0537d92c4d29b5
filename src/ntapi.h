/*
 * ntapi.h - the NT declarations this DLL needs that mingw-w64's headers lack.
 * Every block says where its layout is documented.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef RSTRTMGR_NTAPI_H
#define RSTRTMGR_NTAPI_H

#include <windows.h>
#include <winternl.h>

#ifndef NT_SUCCESS
#define NT_SUCCESS(s) ((NTSTATUS)(s) >= 0)
#endif
#define RM_STATUS_INFO_LENGTH_MISMATCH ((NTSTATUS)0xC0000004L)
#define RM_STATUS_BUFFER_TOO_SMALL     ((NTSTATUS)0xC0000023L)
#define RM_STATUS_BUFFER_OVERFLOW      ((NTSTATUS)0x80000005L)

/* SYSTEM_INFORMATION_CLASS 64: every handle in the system, with the owning PID,
 * handle value, access mask and object type index (winternl.h lacks it). */
#define RM_SystemExtendedHandleInformation 64

typedef struct rm_handle_entry_ex
{
    PVOID     Object;
    ULONG_PTR UniqueProcessId;
    ULONG_PTR HandleValue;
    ULONG     GrantedAccess;
    USHORT    CreatorBackTraceIndex;
    USHORT    ObjectTypeIndex;
    ULONG     HandleAttributes;
    ULONG     Reserved;
} RM_HANDLE_ENTRY_EX;

typedef struct rm_handle_info_ex
{
    ULONG_PTR NumberOfHandles;
    ULONG_PTR Reserved;
    RM_HANDLE_ENTRY_EX Handles[1];
} RM_HANDLE_INFO_EX;

/* FILE_INFORMATION_CLASS 47 (wdm.h): the processes that have a file open. Real
 * Windows implements it; Wine answers STATUS_NOT_IMPLEMENTED. */
#define RM_FileProcessIdsUsingFileInformation 47

typedef struct rm_file_process_ids
{
    ULONG     NumberOfProcessIdsInList;
    ULONG_PTR ProcessIdList[1];
} RM_FILE_PROCESS_IDS;

NTSTATUS NTAPI NtQueryInformationFile(HANDLE, PIO_STATUS_BLOCK, PVOID, ULONG, FILE_INFORMATION_CLASS);

/* The system's upcase table, one character at a time: the ordinal case folding
 * that file names are compared with (RtlUpcaseUnicodeChar, WDK). */
WCHAR NTAPI RtlUpcaseUnicodeChar(WCHAR c);

/* ZwDeleteKey in the WDK documentation: deletes the key an open handle names (the
 * handle needs DELETE access and stays to be closed). ntdll exports it. */
NTSTATUS NTAPI NtDeleteKey(HANDLE key);

/* Where another process keeps its command line and current directory, read with
 * ReadProcessMemory (procinfo.c). winternl.h documents the PEB's ProcessParameters
 * pointer and RTL_USER_PROCESS_PARAMETERS' CommandLine; the current directory is
 * the CURDIR (a UNICODE_STRING first) that precedes them in the same structure, as
 * the public symbol files and the Windows Internals book lay it out. Offsets for a
 * 32-bit process (pointers of 4 bytes) and a 64-bit one. */
#define RM_PEB_PROCESS_PARAMETERS_32   0x10
#define RM_PEB_PROCESS_PARAMETERS_64   0x20
#define RM_PARAMS_CURRENT_DIRECTORY_32 0x24
#define RM_PARAMS_CURRENT_DIRECTORY_64 0x38
#define RM_PARAMS_COMMAND_LINE_32      0x40
#define RM_PARAMS_COMMAND_LINE_64      0x70

#endif
