/*
 * rmhandles.h - the system handle table as the tests see it, without cmocka, so
 * that helper programs that must not load anything else (rmunload) can use it.
 */
#ifndef RMHANDLES_H
#define RMHANDLES_H

#include <windows.h>

/* Every handle in the system (NtQuerySystemInformation class 64,
 * SystemExtendedHandleInformation; the tests' own declaration, not the DLL's). */
struct rmt_handle_entry
{
    PVOID Object;
    ULONG_PTR UniqueProcessId;
    ULONG_PTR HandleValue;
    ULONG GrantedAccess;
    USHORT CreatorBackTraceIndex;
    USHORT ObjectTypeIndex;
    ULONG HandleAttributes;
    ULONG Reserved;
};

struct rmt_handle_info
{
    ULONG_PTR NumberOfHandles;
    ULONG_PTR Reserved;
    struct rmt_handle_entry Handles[1];
};

/* A malloc'd snapshot of every handle in the system (free() it), or NULL if the
 * query fails (*status, if not NULL, gets its NTSTATUS); asserts nothing. */
struct rmt_handle_info *rmt_handle_snapshot(LONG *status);

/* This process's open handles, counted in the snapshot (Wine's GetProcessHandleCount
 * reports 0); (DWORD)-1 if the query fails (*status, if not NULL, gets why). */
DWORD rmt_own_handle_count(LONG *status);

#endif
