/*
 * rmhandles.c - the system handle table (see rmhandles.h).
 */
#include "rmhandles.h"
#include <stdlib.h>

/* Wine's GetProcessHandleCount reports 0; the system handle snapshot
 * (SystemExtendedHandleInformation, class 64) is exact there and on Windows. */
typedef LONG (WINAPI *query_system_fn)(ULONG, PVOID, ULONG, PULONG);

struct rmt_handle_info *rmt_handle_snapshot(LONG *status)
{
    static query_system_fn query;
    ULONG size = 1 << 20, got = 0;
    struct rmt_handle_info *info;
    LONG st = (LONG)0xC0000001; /* STATUS_UNSUCCESSFUL */

    if (!query)
        query = (query_system_fn)(void (*)(void))GetProcAddress(GetModuleHandleW(L"ntdll.dll"),
                                                                "NtQuerySystemInformation");
    while (query && size <= (256u << 20))
    {
        if (!(info = malloc(size))) break;
        st = query(64, info, size, &got);
        if (st >= 0)
        {
            if (status) *status = st;
            return info;
        }
        free(info);
        if (st != (LONG)0xC0000004 /* STATUS_INFO_LENGTH_MISMATCH */ &&
            st != (LONG)0xC0000023 /* STATUS_BUFFER_TOO_SMALL */)
            break;
        size = (got > size ? got : size * 2) + (64 << 10);
    }
    if (status) *status = st;
    return NULL;
}

DWORD rmt_own_handle_count(LONG *status)
{
    struct rmt_handle_info *info = rmt_handle_snapshot(status);
    ULONG_PTR i, pid = GetCurrentProcessId();
    DWORD n = 0;

    if (!info) return (DWORD)-1;
    for (i = 0; i < info->NumberOfHandles; i++)
        if (info->Handles[i].UniqueProcessId == pid) n++;
    free(info);
    return n;
}
