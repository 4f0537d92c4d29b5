/*
 * rmtest.c - support shared by the test programs (see rmtest.h).
 */
#include "rmtest.h"
#include "version.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

void rmt_init(void)
{
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX | SEM_NOOPENFILEERRORBOX);
    setvbuf(stdout, NULL, _IONBF, 0);
    setvbuf(stderr, NULL, _IONBF, 0);
}

HMODULE rmt_rstrtmgr_module(void)
{
    HMODULE m = GetModuleHandleW(L"rstrtmgr.dll");
    if (!m) m = LoadLibraryW(L"rstrtmgr.dll");
    return m;
}

BOOL rmt_is_our_dll(char *reason, size_t cch)
{
    HMODULE m = rmt_rstrtmgr_module();
    WCHAR path[MAX_PATH];
    DWORD size, dummy;
    BYTE *data;
    char *name = NULL;
    UINT len = 0;
    BOOL ours;

    if (!m)
    {
        snprintf(reason, cch, "rstrtmgr.dll could not be loaded (error %lu)", GetLastError());
        return FALSE;
    }
    /* Wine marks its builtin PE images with this string right after the DOS header. */
    if (!memcmp((const char *)m + 0x40, "Wine builtin DLL", 16))
    {
        snprintf(reason, cch, "Wine's builtin rstrtmgr.dll stub is loaded, not ours");
        return FALSE;
    }
    GetModuleFileNameW(m, path, MAX_PATH);
    size = GetFileVersionInfoSizeW(path, &dummy);
    if (!size || !(data = malloc(size)))
    {
        snprintf(reason, cch, "loaded rstrtmgr.dll (%ls) has no version resource", path);
        return FALSE;
    }
    ours = GetFileVersionInfoW(path, 0, size, data) &&
           VerQueryValueA(data, "\\StringFileInfo\\040904B0\\ProductName", (void **)&name, &len) &&
           name && !strcmp(name, RSTRTMGR_PRODUCT_NAME);
    if (!ours)
        snprintf(reason, cch, "loaded rstrtmgr.dll (%ls) is not this project's (ProductName '%s')",
                 path, name ? name : "(none)");
    else
        snprintf(reason, cch, "%ls, ProductName '%s'", path, name);
    free(data);
    return ours;
}

void rmt_assert_our_dll(void)
{
    char reason[512];
    if (!rmt_is_our_dll(reason, sizeof(reason)))
        fail_msg("WRONG DLL UNDER TEST: %s", reason);
}

static WCHAR tempdir[MAX_PATH];

const WCHAR *rmt_tempdir(void)
{
    if (!tempdir[0])
    {
        WCHAR base[MAX_PATH];
        GetTempPathW(MAX_PATH, base);
        swprintf(tempdir, MAX_PATH, L"%lsrmtest-%lu-%lu", base, GetCurrentProcessId(), GetTickCount());
        CreateDirectoryW(tempdir, NULL);
    }
    return tempdir;
}

WCHAR *rmt_path(const WCHAR *name)
{
    size_t n = wcslen(rmt_tempdir()) + wcslen(name) + 2;
    WCHAR *p = malloc(n * sizeof(WCHAR));
    swprintf(p, n, L"%ls\\%ls", rmt_tempdir(), name);
    return p;
}

WCHAR *rmt_make_file(const WCHAR *name)
{
    WCHAR *p = rmt_path(name);
    HANDLE h = CreateFileW(p, GENERIC_WRITE, FILE_SHARE_READ, NULL, CREATE_ALWAYS, 0, NULL);
    DWORD written;
    assert_true(h != INVALID_HANDLE_VALUE);
    WriteFile(h, "rmtest", 6, &written, NULL);
    CloseHandle(h);
    return p;
}

static void remove_tree(const WCHAR *dir)
{
    WCHAR pattern[MAX_PATH], child[MAX_PATH];
    WIN32_FIND_DATAW fd;
    HANDLE f;
    swprintf(pattern, MAX_PATH, L"%ls\\*", dir);
    if ((f = FindFirstFileW(pattern, &fd)) != INVALID_HANDLE_VALUE)
    {
        do
        {
            if (!wcscmp(fd.cFileName, L".") || !wcscmp(fd.cFileName, L"..")) continue;
            swprintf(child, MAX_PATH, L"%ls\\%ls", dir, fd.cFileName);
            if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) remove_tree(child);
            else DeleteFileW(child);
        } while (FindNextFileW(f, &fd));
        FindClose(f);
    }
    RemoveDirectoryW(dir);
}

void rmt_cleanup(void)
{
    if (tempdir[0]) remove_tree(tempdir);
    tempdir[0] = 0;
}

DWORD rmt_start(WCHAR key[CCH_RM_SESSION_KEY + 1])
{
    DWORD h = SENTINEL;
    assert_int_equal(RmStartSession(&h, 0, key), ERROR_SUCCESS);
    assert_int_not_equal(h, SENTINEL);
    return h;
}

RM_UNIQUE_PROCESS rmt_self(void)
{
    RM_UNIQUE_PROCESS p;
    FILETIME e, k, u;
    p.dwProcessId = GetCurrentProcessId();
    GetProcessTimes(GetCurrentProcess(), &p.ProcessStartTime, &e, &k, &u);
    return p;
}

/* Wine's GetProcessHandleCount reports 0; the system handle snapshot
 * (SystemExtendedHandleInformation, class 64) is exact there and on Windows. */
struct handle_entry_ex
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

struct handle_info_ex
{
    ULONG_PTR NumberOfHandles;
    ULONG_PTR Reserved;
    struct handle_entry_ex Handles[1];
};

typedef LONG (WINAPI *query_system_fn)(ULONG, PVOID, ULONG, PULONG);

DWORD rmt_handle_count(void)
{
    query_system_fn query = (query_system_fn)(void (*)(void))GetProcAddress(
        GetModuleHandleW(L"ntdll.dll"), "NtQuerySystemInformation");
    ULONG size = 1 << 20, ret = 0;
    struct handle_info_ex *info = NULL;
    ULONG_PTR i, pid = GetCurrentProcessId();
    DWORD n = 0;
    LONG st;

    assert_non_null(query);
    for (;;)
    {
        info = realloc(info, size);
        assert_non_null(info);
        st = query(64, info, size, &ret);
        if (st != (LONG)0xC0000004 /* STATUS_INFO_LENGTH_MISMATCH */) break;
        size *= 2;
        assert_true(size <= (256u << 20));
    }
    assert_true(st >= 0);
    for (i = 0; i < info->NumberOfHandles; i++)
        if (info->Handles[i].UniqueProcessId == pid) n++;
    free(info);
    return n;
}
