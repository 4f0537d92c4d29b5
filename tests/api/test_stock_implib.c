/*
 * test_stock_implib.c - built against mingw-w64's own restartmanager.h and its
 * stock -lrstrtmgr import library (not ours, no cmocka): an existing program,
 * unchanged. It must load this project's DLL and get real answers from it.
 * Prints a plain "N passed, N failed" line.
 */
#include <windows.h>
#include <restartmanager.h>
#include <stdio.h>
#include <string.h>

static int passed, failed;

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok:  " : "FAIL:", what);
    if (ok) passed++; else failed++;
}

int main(void)
{
    WCHAR key[CCH_RM_SESSION_KEY + 1], *self_path = L"C:\\windows\\system32\\kernel32.dll";
    LPCWSTR files[1];
    DWORD h = 0xFFFFFFFF, h2 = 0xFFFFFFFF, reasons = 0;
    UINT needed = 0, n = 0;
    HMODULE m;

    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
    memset(key, 0, sizeof(key));
    check(RmStartSession(&h, 0, key) == ERROR_SUCCESS, "RmStartSession");
    m = GetModuleHandleW(L"rstrtmgr.dll");
    check(m && memcmp((const char *)m + 0x40, "Wine builtin DLL", 16) != 0, "loaded DLL is not Wine's builtin");
    check(wcslen(key) == CCH_RM_SESSION_KEY, "key has 32 characters");
    check(RmJoinSession(&h2, key) == ERROR_SUCCESS, "RmJoinSession with the key");
    files[0] = self_path;
    check(RmRegisterResources(h2, 1, files, 0, NULL, 0, NULL) == ERROR_SUCCESS, "secondary registers");
    check(RmGetList(h2, &needed, &n, NULL, &reasons) == ERROR_SESSION_CREDENTIAL_CONFLICT, "secondary may not list");
    check(RmEndSession(h2) == ERROR_SUCCESS, "secondary leaves");
    check(RmGetList(h, &needed, &n, NULL, &reasons) != ERROR_INVALID_HANDLE, "primary lists");
    check(RmAddFilter(h, NULL, NULL, L"spooler", RmNoRestart) == ERROR_SUCCESS, "RmAddFilter");
    check(RmRemoveFilter(h, NULL, NULL, L"spooler") == ERROR_SUCCESS, "RmRemoveFilter");
    check(RmRemoveFilter(h, NULL, NULL, L"spooler") == ERROR_FILE_NOT_FOUND, "RmRemoveFilter again: 2");
    check(RmCancelCurrentTask(h) == ERROR_SUCCESS, "RmCancelCurrentTask, nothing running");
    check(RmEndSession(h) == ERROR_SUCCESS, "RmEndSession");
    check(RmEndSession(h) == ERROR_INVALID_HANDLE, "RmEndSession again: 6");
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
