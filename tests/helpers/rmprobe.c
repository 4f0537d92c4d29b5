/*
 * rmprobe.c - which rstrtmgr.dll does a program get when it loads it by name?
 * Loads the DLL the way installers do and reports, from inside the process, what
 * was mapped. Used by the tests of tools/wine-install and of the installed package.
 *
 *   rmprobe [--system32 | --fullpath] [--session]
 *     (default)   LoadLibraryW(L"rstrtmgr.dll"): the standard search order, as an
 *                 import or a plain LoadLibrary of the name does
 *     --system32  LoadLibraryExW(..., LOAD_LIBRARY_SEARCH_SYSTEM32): System32 only,
 *                 as NSIS 3's System plugin and Go's NewLazySystemDLL do
 *     --fullpath  LoadLibraryW(<system directory>\rstrtmgr.dll)
 *     --session   also RmStartSession + RmEndSession through GetProcAddress
 *
 * Prints one line and exits with:
 *   0  "ours <FileVersion> <path>"   this project's DLL (its version resource)
 *   1  "builtin <path>"              Wine's builtin (the marker at offset 0x40)
 *   2  "other <path>"                some other rstrtmgr.dll
 *   3  "none <error>"                nothing could be loaded
 *   4  "session-failed ..."          --session: the calls did not behave as ours do
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <windows.h>
#include <stdio.h>
#include <string.h>
#include "version.h"

/* The module's own version resource (not the file's on disk: under Wine the path
 * of a builtin module names a file that may not be what was mapped). */
static BOOL module_version(HMODULE m, char *product, size_t cch_product, char *version, size_t cch_version)
{
    HRSRC res = FindResourceW(m, MAKEINTRESOURCEW(VS_VERSION_INFO), MAKEINTRESOURCEW(16) /* RT_VERSION */);
    HGLOBAL mem;
    DWORD size;
    BYTE *copy;
    char *value;
    UINT len;
    BOOL ok = FALSE;

    if (!res || !(mem = LoadResource(m, res)) || !(size = SizeofResource(m, res))) return FALSE;
    /* VerQueryValue may write into its block: work on a copy with room to spare. */
    if (!(copy = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, size * 2))) return FALSE;
    memcpy(copy, LockResource(mem), size);
    if (VerQueryValueA(copy, "\\StringFileInfo\\040904B0\\ProductName", (void **)&value, &len) && value)
    {
        lstrcpynA(product, value, (int)cch_product);
        ok = TRUE;
    }
    if (VerQueryValueA(copy, "\\StringFileInfo\\040904B0\\FileVersion", (void **)&value, &len) && value)
        lstrcpynA(version, value, (int)cch_version);
    HeapFree(GetProcessHeap(), 0, copy);
    return ok;
}

typedef DWORD (WINAPI *start_fn)(DWORD *, DWORD, WCHAR *);
typedef DWORD (WINAPI *end_fn)(DWORD);

/* Our DLL writes a 32-hex-digit key and refuses a handle it already ended;
 * Wine's stub returns 0xDEADBEEF without a key and accepts anything. */
static int check_session(HMODULE m)
{
    start_fn start = (start_fn)(void *)GetProcAddress(m, "RmStartSession");
    end_fn end = (end_fn)(void *)GetProcAddress(m, "RmEndSession");
    WCHAR key[33];
    DWORD h = 0xDEADBEEF, err, err2;
    int i;

    if (!start || !end)
    {
        printf("session-failed: RmStartSession/RmEndSession not exported\n");
        return 4;
    }
    for (i = 0; i < 33; i++) key[i] = L'#';
    if ((err = start(&h, 0, key)))
    {
        printf("session-failed: RmStartSession returned %lu\n", err);
        return 4;
    }
    for (i = 0; i < 32; i++)
        if (!((key[i] >= L'0' && key[i] <= L'9') || (key[i] >= L'a' && key[i] <= L'f'))) break;
    err = end(h);
    err2 = end(h);
    if (i != 32 || key[32] || err || err2 != ERROR_INVALID_HANDLE)
    {
        printf("session-failed: handle %lu, key %s, RmEndSession %lu then %lu\n", h,
               i == 32 && !key[32] ? "ok" : "not written", err, err2);
        return 4;
    }
    printf("session ok: handle %lu, key %.32ls\n", h, key);
    return 0;
}

int main(int argc, char **argv)
{
    BOOL system32 = FALSE, fullpath = FALSE, session = FALSE;
    char path[MAX_PATH], product[128] = "", version[64] = "?";
    WCHAR full[MAX_PATH];
    UINT len;
    HMODULE m;
    int i;

    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOOPENFILEERRORBOX);
    for (i = 1; i < argc; i++)
    {
        if (!strcmp(argv[i], "--system32")) system32 = TRUE;
        else if (!strcmp(argv[i], "--fullpath")) fullpath = TRUE;
        else if (!strcmp(argv[i], "--session")) session = TRUE;
        else
        {
            fprintf(stderr, "usage: rmprobe [--system32 | --fullpath] [--session]\n");
            return 64;
        }
    }
    if (fullpath)
    {
        len = GetSystemDirectoryW(full, MAX_PATH - 14);
        if (!len || len >= MAX_PATH - 14) return 3;
        lstrcatW(full, L"\\rstrtmgr.dll");
        m = LoadLibraryW(full);
    }
    else if (system32)
        m = LoadLibraryExW(L"rstrtmgr.dll", NULL, LOAD_LIBRARY_SEARCH_SYSTEM32);
    else
        m = LoadLibraryW(L"rstrtmgr.dll");
    if (!m)
    {
        printf("none error %lu\n", GetLastError());
        return 3;
    }
    if (!GetModuleFileNameA(m, path, sizeof(path))) lstrcpyA(path, "?");
    if (!memcmp((const char *)m + 0x40, "Wine builtin DLL", 16))
    {
        printf("builtin %s\n", path);
        return 1;
    }
    if (!module_version(m, product, sizeof(product), version, sizeof(version)) ||
        strcmp(product, RSTRTMGR_PRODUCT_NAME))
    {
        printf("other %s (ProductName '%s')\n", path, product);
        return 2;
    }
    printf("ours %s %s\n", version, path);
    return session ? check_session(m) : 0;
}
