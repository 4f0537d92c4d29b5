/*
 * installer_secondary.c - a secondary installer, as in the SDK's flow: joins the
 * primary's session with the key it was given on the command line, registers its
 * own files, and leaves. Exit code: 0, or the Win32 error of the failing call.
 *
 *   installer_secondary.exe KEY FILE...
 */
#include <windows.h>
#include <stdio.h>
#include "restartmanager.h"

int wmain(int argc, WCHAR **argv)
{
    DWORD handle = 0xFFFFFFFF, err;

    if (argc < 2)
    {
        fprintf(stderr, "usage: installer_secondary KEY FILE...\n");
        return ERROR_BAD_ARGUMENTS;
    }
    err = RmJoinSession(&handle, argv[1]);
    printf("  [secondary pid %lu] RmJoinSession -> %lu, handle %lu\n", GetCurrentProcessId(), err, handle);
    if (err) return (int)err;
    err = RmRegisterResources(handle, (UINT)(argc - 2), (LPCWSTR *)(argv + 2), 0, NULL, 0, NULL);
    printf("  [secondary] RmRegisterResources(%d file(s)) -> %lu\n", argc - 2, err);
    if (!err)
    {
        /* The secondary may not list: the documented reply is a credential conflict. */
        UINT needed = 0, n = 0;
        DWORD reasons = 0, e2 = RmGetList(handle, &needed, &n, NULL, &reasons);
        printf("  [secondary] RmGetList -> %lu (secondaries may not list)\n", e2);
        if (e2 != ERROR_SESSION_CREDENTIAL_CONFLICT) err = e2 ? e2 : ERROR_INVALID_FUNCTION;
    }
    {
        DWORD e3 = RmEndSession(handle);
        printf("  [secondary] RmEndSession -> %lu (the session lives on)\n", e3);
        if (!err) err = e3;
    }
    return (int)err;
}
