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
#define RM_STATUS_NOT_IMPLEMENTED      ((NTSTATUS)0xC0000002L)
#define RM_STATUS_INVALID_INFO_CLASS   ((NTSTATUS)0xC0000003L)
#define RM_STATUS_ACCESS_DENIED        ((NTSTATUS)0xC0000022L)
#define RM_STATUS_NOT_SAME_OBJECT      ((NTSTATUS)0xC00001ACL)

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
/* FILE_INFORMATION_CLASS 6 (winternl.h: FileInternalInformation): the file's index
 * on its volume, the same number GetFileInformationByHandle splits into
 * nFileIndexHigh/Low. It needs no access right and, unlike that call, does not ask
 * for the volume's serial number. FS_INFORMATION_CLASS 1 (FileFsVolumeInformation)
 * gives the serial number on its own. Both structures are in winternl.h. */
#define RM_FileInternalInformation 6
#define RM_FileFsVolumeInformation 1

/* ntdll's NtCompareObjects (Windows 10; Wine has it): STATUS_SUCCESS when two
 * handles name one object, STATUS_NOT_SAME_OBJECT otherwise. Looked up at run time:
 * older systems lack it. */
typedef NTSTATUS (NTAPI *RM_NtCompareObjects)(HANDLE, HANDLE);

/* The loader's entry for one module, read from another process of our own
 * architecture: winternl.h's LDR_DATA_TABLE_ENTRY up to FullDllName (its
 * Reserved3[2] are the entry point and the image's size, as the public symbols name
 * them), then the module's base name, which is what that header's
 * Reserved4/Reserved5[0] cover. The
 * entries hang off PEB_LDR_DATA.InMemoryOrderModuleList (winternl.h) by their
 * InMemoryOrderLinks. */
typedef struct rm_ldr_entry
{
    PVOID Reserved1[2];
    LIST_ENTRY InMemoryOrderLinks;
    PVOID Reserved2[2];
    PVOID DllBase;
    PVOID EntryPoint;
    ULONG SizeOfImage;
    UNICODE_STRING FullDllName;
    UNICODE_STRING BaseDllName;
} RM_LDR_ENTRY;

#endif
