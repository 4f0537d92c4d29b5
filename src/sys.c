/*
 * sys.c - the table of system calls the session store makes, and fault injection.
 *
 * Tests (and anyone reproducing an installer failure) can make one of these calls
 * fail by setting, before the DLL's first use in a process,
 *
 *     RSTRTMGR_FAULT=<call>:<n>[+]
 *
 * where <call> is RegCreateKeyExW, RegSetValueExW, RegQueryValueExW,
 * RegDeleteValueW, GenRandom, ReportEventW, OpenServiceW, EventSourceKey (the
 * creation of the event source's key in HKLM, as for a caller that may not write
 * there) or HandleQuery, and <n>
 * counts that call's uses from 1: the n-th
 * use fails (with "+", that use and every later one). Registry calls fail with
 * ERROR_ACCESS_DENIED, GenRandom with NTE_FAIL's Win32 equivalent
 * ERROR_GEN_FAILURE, ReportEventW and OpenServiceW (the check of whether the
 * caller may stop a service) with ERROR_ACCESS_DENIED; HandleQuery makes the
 * handle scan's query of that handle never return, as a synchronous pipe with a
 * pending read does on Windows (handles.c). Without the variable the table holds the real functions and
 * costs one indirect call.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"
#include <bcrypt.h>

static DWORD WINAPI gen_random(BYTE *buf, DWORD len)
{
    NTSTATUS status = BCryptGenRandom(NULL, buf, len, BCRYPT_USE_SYSTEM_PREFERRED_RNG);
    return BCRYPT_SUCCESS(status) ? ERROR_SUCCESS : ERROR_GEN_FAILURE;
}

struct rm_syscalls rm_sys = {
    RegCreateKeyExW, RegOpenKeyExW, RegQueryValueExW, RegSetValueExW,
    RegDeleteValueW, RegDeleteTreeW, RegDeleteKeyW, RegCloseKey, gen_random,
    RegisterEventSourceW, ReportEventW, OpenServiceW, RegCreateKeyExW,
};

/* ---- fault injection ------------------------------------------------------ */

static struct
{
    LONG calls;      /* uses of the faulty call so far */
    LONG fail_at;    /* first use that fails */
    BOOL sticky;     /* every later use fails too */
} fault;

static BOOL fault_now(void)
{
    LONG n = InterlockedIncrement(&fault.calls);
    return n == fault.fail_at || (fault.sticky && n > fault.fail_at);
}

static LSTATUS WINAPI faulty_create(HKEY k, LPCWSTR sub, DWORD r, LPWSTR cls, DWORD opt,
                                    REGSAM sam, LPSECURITY_ATTRIBUTES sa, PHKEY out,
                                    LPDWORD disp)
{
    if (fault_now()) return ERROR_ACCESS_DENIED;
    return RegCreateKeyExW(k, sub, r, cls, opt, sam, sa, out, disp);
}

static LSTATUS WINAPI faulty_set(HKEY k, LPCWSTR name, DWORD r, DWORD type,
                                 const BYTE *data, DWORD cb)
{
    if (fault_now()) return ERROR_ACCESS_DENIED;
    return RegSetValueExW(k, name, r, type, data, cb);
}

static LSTATUS WINAPI faulty_query(HKEY k, LPCWSTR name, LPDWORD r, LPDWORD type,
                                   LPBYTE data, LPDWORD cb)
{
    if (fault_now()) return ERROR_ACCESS_DENIED;
    return RegQueryValueExW(k, name, r, type, data, cb);
}

static LSTATUS WINAPI faulty_delete_value(HKEY k, LPCWSTR name)
{
    if (fault_now()) return ERROR_ACCESS_DENIED;
    return RegDeleteValueW(k, name);
}

static DWORD WINAPI faulty_random(BYTE *buf, DWORD len)
{
    if (fault_now()) return ERROR_GEN_FAILURE;
    return gen_random(buf, len);
}

static BOOL WINAPI faulty_report(HANDLE src, WORD type, WORD category, DWORD id, PSID sid,
                                 WORD nstrings, DWORD cb, LPCWSTR *strings, LPVOID data)
{
    if (fault_now())
    {
        SetLastError(ERROR_ACCESS_DENIED);
        return FALSE;
    }
    return ReportEventW(src, type, category, id, sid, nstrings, cb, strings, data);
}

static SC_HANDLE WINAPI faulty_open_service(SC_HANDLE scm, LPCWSTR name, DWORD access)
{
    if (fault_now())
    {
        SetLastError(ERROR_ACCESS_DENIED);
        return NULL;
    }
    return OpenServiceW(scm, name, access);
}

static BOOL stall_armed;

BOOL rm_sys_handle_query_stalls(void)
{
    return stall_armed && fault_now();
}

static BOOL CALLBACK init_once(INIT_ONCE *once, void *param, void **ctx)
{
    WCHAR spec[96], *colon, *p;
    DWORD len, n = 0;
    (void)once; (void)param; (void)ctx;

    len = GetEnvironmentVariableW(L"RSTRTMGR_FAULT", spec, ARRAYSIZE(spec));
    if (!len || len >= ARRAYSIZE(spec)) return TRUE;
    for (colon = spec; *colon && *colon != L':'; colon++) {}
    if (!*colon) return TRUE;
    *colon = 0;
    for (p = colon + 1; *p >= L'0' && *p <= L'9' && n < 100000000; p++) n = n * 10 + (DWORD)(*p - L'0');
    if (!n) return TRUE;
    fault.fail_at = (LONG)n;
    fault.sticky = (*p == L'+');

    if (!rm_wcsicmp(spec, L"RegCreateKeyExW")) rm_sys.RegCreateKeyExW = faulty_create;
    else if (!rm_wcsicmp(spec, L"RegSetValueExW")) rm_sys.RegSetValueExW = faulty_set;
    else if (!rm_wcsicmp(spec, L"RegQueryValueExW")) rm_sys.RegQueryValueExW = faulty_query;
    else if (!rm_wcsicmp(spec, L"RegDeleteValueW")) rm_sys.RegDeleteValueW = faulty_delete_value;
    else if (!rm_wcsicmp(spec, L"GenRandom")) rm_sys.GenRandom = faulty_random;
    else if (!rm_wcsicmp(spec, L"ReportEventW")) rm_sys.ReportEventW = faulty_report;
    else if (!rm_wcsicmp(spec, L"OpenServiceW")) rm_sys.OpenServiceW = faulty_open_service;
    else if (!rm_wcsicmp(spec, L"EventSourceKey")) rm_sys.EventSourceKey = faulty_create;
    else if (!rm_wcsicmp(spec, L"HandleQuery")) stall_armed = TRUE;
    else return TRUE;
    rm_trace("fault injection armed: %ls use %lu%s", spec, n, fault.sticky ? " and later" : "");
    return TRUE;
}

void rm_sys_init(void)
{
    static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
    InitOnceExecuteOnce(&once, init_once, NULL, NULL);
}
