/*
 * rmconsumer - a client of the installed package: includes <restartmanager.h>,
 * links the import library, and calls the DLL through its imports. It proves the
 * DLL it got is this project's: the loaded module has our version resource (not
 * Wine's builtin marker), RmStartSession writes a key, and an ended handle is
 * refused (Wine's stub accepts anything); and it is the copy beside the program.
 * Prints "rmconsumer: ours <version> <path>" and exits 0, or says what is wrong
 * and exits 1.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <windows.h>
#include <restartmanager.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

static int fail(const char *what, DWORD code)
{
    printf("rmconsumer: FAILED: %s (%lu)\n", what, code);
    return 1;
}

int main(void)
{
    WCHAR key[CCH_RM_SESSION_KEY + 1], path[MAX_PATH], exe[MAX_PATH], *slash;
    DWORD h = 0xDEADBEEF, err, size, dummy;
    HMODULE m;
    BYTE *data;
    char *product = NULL, *version = NULL;
    UINT len;
    int i;

    memset(key, 0, sizeof(key));
    if ((err = RmStartSession(&h, 0, key))) return fail("RmStartSession", err);
    for (i = 0; i < CCH_RM_SESSION_KEY; i++)
        if (!iswxdigit(key[i])) return fail("RmStartSession wrote no key", h);
    if ((err = RmEndSession(h))) return fail("RmEndSession", err);
    if ((err = RmEndSession(h)) != ERROR_INVALID_HANDLE) return fail("an ended session was accepted", err);

    if (!(m = GetModuleHandleW(L"rstrtmgr.dll"))) return fail("rstrtmgr.dll is not loaded", GetLastError());
    if (!memcmp((const char *)m + 0x40, "Wine builtin DLL", 16)) return fail("Wine's builtin stub was loaded", 0);
    GetModuleFileNameW(m, path, MAX_PATH);
    /* The installed copy beside this program (app-local), not one from elsewhere. */
    GetModuleFileNameW(NULL, exe, MAX_PATH);
    if ((slash = wcsrchr(exe, L'\\'))) slash[1] = 0;
    if (_wcsnicmp(path, exe, wcslen(exe)) || wcschr(path + wcslen(exe), L'\\'))
    {
        printf("rmconsumer: FAILED: rstrtmgr.dll loaded from %ls, not beside the program in %ls\n", path, exe);
        return 1;
    }
    size = GetFileVersionInfoSizeW(path, &dummy);
    if (!size || !(data = HeapAlloc(GetProcessHeap(), 0, size))) return fail("no version resource", GetLastError());
    if (!GetFileVersionInfoW(path, 0, size, data) ||
        !VerQueryValueA(data, "\\StringFileInfo\\040904B0\\ProductName", (void **)&product, &len) ||
        !VerQueryValueA(data, "\\StringFileInfo\\040904B0\\FileVersion", (void **)&version, &len) ||
        strcmp(product, "rstrtmgr clean-room Restart Manager"))
        return fail("the loaded rstrtmgr.dll is not this project's", 0);
    printf("rmconsumer: ours %s %ls\n", version, path);
    HeapFree(GetProcessHeap(), 0, data);
    return 0;
}
