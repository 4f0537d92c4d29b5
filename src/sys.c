/*
 * sys.c - the table of replaceable system calls, and fault injection.
 *
 * The session store's registry and random-number calls, the event log, and the
 * file queries of RmGetList go through rm_sys, so that tests can make them fail
 * or play what Wine does not implement. Tests (and anyone reproducing an
 * installer failure) arm them by setting, before the DLL's first use in a process,
 *
 *     RSTRTMGR_FAULT=<item>[,<item>...]
 *
 * Counted faults, <call>:<n>[+]: the n-th use of <call> (counted from 1) fails;
 * with "+", that use and every later one. <call> is RegCreateKeyExW,
 * RegSetValueExW, RegQueryValueExW, RegDeleteValueW, GenRandom, ReportEventW,
 * OpenServiceW, GetFileInformationByHandleEx, EventSourceKey (the creation
 * of the event source's key in HKLM, as for a caller that may not write there),
 * HandleQuery or WalkQuery. Registry calls fail
 * with ERROR_ACCESS_DENIED, GenRandom with NTE_FAIL's Win32 equivalent
 * ERROR_GEN_FAILURE, ReportEventW and OpenServiceW (the check of whether the
 * caller may stop a service) with ERROR_ACCESS_DENIED, GetFileInformationByHandleEx
 * (a directory listing, listing.c) with ERROR_ACCESS_DENIED as a directory one
 * may not read.
 * HandleQuery makes the handle scan's query of a handle never return, as a
 * synchronous pipe with a pending read does on Windows (handles.c); with a suffix
 * @<pid> (HandleQuery:1+@1234) only the handles of that process are counted and
 * hang. WalkQuery does the same to the queries of another process's address
 * space (mapwalk.c), as a process killed at the wrong moment does under Wine;
 * WalkQuery:1+@1234 makes every query of that process hang.
 *
 * Switches, a bare name:
 *  - FastPath: the kernel's list of a file's users, which Wine does not implement
 *    (FileProcessIdsUsingFileInformation answers STATUS_NOT_IMPLEMENTED), answered
 *    as Windows does: the processes with a handle to the file, the asking process
 *    included for the handle it opened to ask. A file whose name contains
 *    "fastdeny" is refused with ERROR_ACCESS_DENIED, one whose name contains
 *    "fastnoclass" with STATUS_INVALID_INFO_CLASS's ERROR_INVALID_PARAMETER (a file
 *    system without the class). Opening a path of MAX_PATH characters or more
 *    without the \\?\ prefix fails with ERROR_PATH_NOT_FOUND, as it does on
 *    Windows for a process that is not long-path aware (Wine opens it).
 *  - FakeVolume: a file whose name starts with "rmfakevol<digit>" reports file
 *    index 0x00FA4E000000C0DE and volume serial number 0xFA4E000<digit>: files on
 *    "different volumes" sharing an index, which Wine cannot make. Directory
 *    listings are refused meanwhile (ERROR_INVALID_PARAMETER, a file system without
 *    the class), so that registration opens each file and sees the fake too.
 *  - NoVolume: a file or directory whose name starts with "rmnovol" has no volume
 *    serial number (ERROR_INVALID_PARAMETER), as files on a volume that does not
 *    answer the query have (seen under Wine on a 9p share): they exist, but have
 *    no identity.
 *
 * Without the variable the table holds the real functions and costs one indirect
 * call.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"
#include "ntapi.h"
#include <bcrypt.h>
#include <stdint.h>   /* SIZE_MAX */
#include "shared/storelayout.h"   /* rm_parse_dec */

static DWORD WINAPI gen_random(BYTE *buf, DWORD len)
{
    NTSTATUS status = BCryptGenRandom(NULL, buf, len, BCRYPT_USE_SYSTEM_PREFERRED_RNG);
    return BCRYPT_SUCCESS(status) ? ERROR_SUCCESS : ERROR_GEN_FAILURE;
}

/* A failure status always gives an error, even one with no Win32 twin. */
static DWORD status_error(NTSTATUS st)
{
    DWORD e = RtlNtStatusToDosError(st);
    return e ? e : ERROR_GEN_FAILURE;
}

DWORD rm_sha256(const void *data, SIZE_T len, BYTE out[RM_HASH_BYTES])
{
    BCRYPT_ALG_HANDLE alg = NULL;
    BCRYPT_HASH_HANDLE hash = NULL;
    NTSTATUS st;

#if SIZE_MAX > 0xFFFFFFFFu /* BCryptHashData takes a ULONG length; x86 cannot exceed it */
    if (len > 0xFFFFFFFFu) return ERROR_BAD_ARGUMENTS;
#endif
    if (BCRYPT_SUCCESS(st = BCryptOpenAlgorithmProvider(&alg, BCRYPT_SHA256_ALGORITHM, NULL, 0)) &&
        BCRYPT_SUCCESS(st = BCryptCreateHash(alg, &hash, NULL, 0, NULL, 0, 0)) &&
        BCRYPT_SUCCESS(st = BCryptHashData(hash, (BYTE *)(ULONG_PTR)data, (ULONG)len, 0)))
        st = BCryptFinishHash(hash, out, RM_HASH_BYTES, 0);
    if (hash) BCryptDestroyHash(hash);
    if (alg) BCryptCloseAlgorithmProvider(alg, 0);
    if (BCRYPT_SUCCESS(st)) return ERROR_SUCCESS;
    rm_trace("SHA-256 through bcrypt failed: status 0x%08lx", (unsigned long)st);
    return status_error(st);
}

static DWORD WINAPI file_index(HANDLE h, ULONGLONG *index)
{
    FILE_INTERNAL_INFORMATION info;
    IO_STATUS_BLOCK iosb;
    NTSTATUS st = NtQueryInformationFile(h, &iosb, &info, sizeof(info),
                                         (FILE_INFORMATION_CLASS)RM_FileInternalInformation);
    if (!NT_SUCCESS(st)) return status_error(st);
    *index = (ULONGLONG)info.IndexNumber.QuadPart;
    return ERROR_SUCCESS;
}

static DWORD WINAPI file_volume(HANDLE h, DWORD *serial)
{
    /* Room for a label: only the serial number is wanted, but a buffer too small
     * for the label gives STATUS_BUFFER_OVERFLOW (the fixed part still filled). */
    union { FILE_FS_VOLUME_INFORMATION info; BYTE bytes[sizeof(FILE_FS_VOLUME_INFORMATION) + 64 * sizeof(WCHAR)]; } u;
    IO_STATUS_BLOCK iosb;
    NTSTATUS st = NtQueryVolumeInformationFile(h, &iosb, &u, sizeof(u), (FS_INFORMATION_CLASS)RM_FileFsVolumeInformation);
    if (!NT_SUCCESS(st) && st != RM_STATUS_BUFFER_OVERFLOW) return status_error(st);
    *serial = u.info.VolumeSerialNumber;
    return ERROR_SUCCESS;
}

static DWORD WINAPI file_process_ids(HANDLE h, void *buf, ULONG cb)
{
    IO_STATUS_BLOCK iosb;
    NTSTATUS st = NtQueryInformationFile(h, &iosb, buf, cb, (FILE_INFORMATION_CLASS)RM_FileProcessIdsUsingFileInformation);
    if (NT_SUCCESS(st) && st != RM_STATUS_BUFFER_OVERFLOW) return ERROR_SUCCESS;
    /* Windows has said "too small" in each of these three ways. */
    if (st == RM_STATUS_INFO_LENGTH_MISMATCH || st == RM_STATUS_BUFFER_OVERFLOW || st == RM_STATUS_BUFFER_TOO_SMALL)
        return ERROR_MORE_DATA;
    /* Kept apart from every other refusal: the system lacks the class (Wine), the
     * same answer for every file of the volume (fileusers.c remembers it). */
    if (st == RM_STATUS_NOT_IMPLEMENTED) return ERROR_CALL_NOT_IMPLEMENTED;
    return status_error(st);
}

struct rm_syscalls rm_sys = {
    RegCreateKeyExW, RegOpenKeyExW, RegQueryValueExW, RegSetValueExW,
    RegDeleteValueW, RegDeleteTreeW, RegDeleteKeyW, RegCloseKey, gen_random,
    RegisterEventSourceW, ReportEventW, OpenServiceW,
    CreateFileW, file_index, file_volume, file_process_ids, GetFileInformationByHandleEx,
    RegCreateKeyExW,
};

/* ---- counted faults ------------------------------------------------------------- */

enum fault_call { F_CREATE, F_SET, F_QUERY, F_DELETE, F_RANDOM, F_REPORT, F_OPEN_SERVICE, F_FILE_INFO_EX, F_EVENT_KEY, F_HANDLE, F_WALK, F_COUNT };

static struct fault
{
    LONG calls;      /* uses of the faulty call so far */
    LONG fail_at;    /* first use that fails; 0 = not armed */
    BOOL sticky;     /* every later use fails too */
    DWORD pid;       /* HandleQuery, WalkQuery: only this process (0 = any) */
} faults[F_COUNT];

static BOOL fault_now(enum fault_call c)
{
    LONG n = InterlockedIncrement(&faults[c].calls);
    return n == faults[c].fail_at || (faults[c].sticky && n > faults[c].fail_at);
}

static LSTATUS WINAPI faulty_create(HKEY k, LPCWSTR sub, DWORD r, LPWSTR cls, DWORD opt,
                                    REGSAM sam, LPSECURITY_ATTRIBUTES sa, PHKEY out,
                                    LPDWORD disp)
{
    if (fault_now(F_CREATE)) return ERROR_ACCESS_DENIED;
    return RegCreateKeyExW(k, sub, r, cls, opt, sam, sa, out, disp);
}

static LSTATUS WINAPI faulty_set(HKEY k, LPCWSTR name, DWORD r, DWORD type,
                                 const BYTE *data, DWORD cb)
{
    if (fault_now(F_SET)) return ERROR_ACCESS_DENIED;
    return RegSetValueExW(k, name, r, type, data, cb);
}

static LSTATUS WINAPI faulty_query(HKEY k, LPCWSTR name, LPDWORD r, LPDWORD type,
                                   LPBYTE data, LPDWORD cb)
{
    if (fault_now(F_QUERY)) return ERROR_ACCESS_DENIED;
    return RegQueryValueExW(k, name, r, type, data, cb);
}

static LSTATUS WINAPI faulty_delete_value(HKEY k, LPCWSTR name)
{
    if (fault_now(F_DELETE)) return ERROR_ACCESS_DENIED;
    return RegDeleteValueW(k, name);
}

static DWORD WINAPI faulty_random(BYTE *buf, DWORD len)
{
    if (fault_now(F_RANDOM)) return ERROR_GEN_FAILURE;
    return gen_random(buf, len);
}

static BOOL WINAPI faulty_report(HANDLE src, WORD type, WORD category, DWORD id, PSID sid,
                                 WORD nstrings, DWORD cb, LPCWSTR *strings, LPVOID data)
{
    if (fault_now(F_REPORT))
    {
        SetLastError(ERROR_ACCESS_DENIED);
        return FALSE;
    }
    return ReportEventW(src, type, category, id, sid, nstrings, cb, strings, data);
}

static SC_HANDLE WINAPI faulty_open_service(SC_HANDLE scm, LPCWSTR name, DWORD access)
{
    if (fault_now(F_OPEN_SERVICE))
    {
        SetLastError(ERROR_ACCESS_DENIED);
        return NULL;
    }
    return OpenServiceW(scm, name, access);
}

/* The event source's key, refused as to a caller that may not write HKLM. */
static LSTATUS WINAPI faulty_event_key(HKEY k, LPCWSTR sub, DWORD r, LPWSTR cls, DWORD opt,
                                       REGSAM sam, LPSECURITY_ATTRIBUTES sa, PHKEY out, LPDWORD disp)
{
    if (fault_now(F_EVENT_KEY)) return ERROR_ACCESS_DENIED;
    return RegCreateKeyExW(k, sub, r, cls, opt, sam, sa, out, disp);
}

/* A directory that cannot be listed (dirlist.c then opens its files one by one). */
static BOOL WINAPI faulty_file_info_ex(HANDLE h, FILE_INFO_BY_HANDLE_CLASS cls, LPVOID buf, DWORD cb)
{
    if (fault_now(F_FILE_INFO_EX))
    {
        SetLastError(ERROR_ACCESS_DENIED);
        return FALSE;
    }
    return GetFileInformationByHandleEx(h, cls, buf, cb);
}

static BOOL query_stalls(enum fault_call c, DWORD pid)
{
    if (!faults[c].fail_at || (faults[c].pid && faults[c].pid != pid)) return FALSE;
    return fault_now(c);
}

BOOL rm_sys_handle_query_stalls(DWORD pid)
{
    return query_stalls(F_HANDLE, pid);
}

BOOL rm_sys_walk_query_stalls(DWORD pid)
{
    return query_stalls(F_WALK, pid);
}

/* ---- switches: what Wine cannot do, played as Windows does it --------------------- */

/* The final component of the name of the file h is open on, upcased, in buf
 * (cch characters); FALSE when the handle has no file name (a pipe ...). */
static BOOL final_name(HANDLE h, WCHAR *buf, DWORD cch)
{
    WCHAR small[MAX_PATH], *path = small;
    DWORD n = GetFinalPathNameByHandleW(h, small, MAX_PATH, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
    SIZE_T start, len;
    BOOL ok = FALSE;

    if (n >= MAX_PATH && (path = rm_alloc((SIZE_T)n * sizeof(WCHAR))))
        n = GetFinalPathNameByHandleW(h, path, n, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
    if (path && n)
    {
        for (start = len = n; start && path[start - 1] != L'\\'; start--) {}
        len -= start;
        if (len < cch)
        {
            memcpy(buf, path + start, len * sizeof(WCHAR));
            buf[len] = 0;
            rm_wcsupper(buf, len);
            ok = TRUE;
        }
    }
    if (path != small) rm_free(path);
    return ok;
}

static BOOL contains(const WCHAR *s, const WCHAR *needle)
{
    SIZE_T i, j;
    for (i = 0; s[i]; i++)
    {
        for (j = 0; needle[j] && s[i + j] == needle[j]; j++) {}
        if (!needle[j]) return TRUE;
    }
    return FALSE;
}

static HANDLE WINAPI fake_create(LPCWSTR path, DWORD access, DWORD share, LPSECURITY_ATTRIBUTES sa,
                                 DWORD disposition, DWORD flags, HANDLE tmpl)
{
    if (rm_wcsnlen(path, MAX_PATH) >= MAX_PATH &&
        !(path[0] == L'\\' && path[1] == L'\\' && path[2] == L'?' && path[3] == L'\\'))
    {
        SetLastError(ERROR_PATH_NOT_FOUND);
        return INVALID_HANDLE_VALUE;
    }
    return CreateFileW(path, access, share, sa, disposition, flags, tmpl);
}

DWORD (*rm_sys_holders)(HANDLE h, ULONG_PTR *pids, ULONG cap, ULONG *count);

static DWORD WINAPI fake_process_ids(HANDLE h, void *buf, ULONG cb)
{
    RM_FILE_PROCESS_IDS *ids = buf;
    WCHAR name[MAX_PATH];
    ULONG cap, count = 0;
    DWORD err;

    if (final_name(h, name, MAX_PATH))
    {
        if (contains(name, L"FASTDENY")) return ERROR_ACCESS_DENIED;
        if (contains(name, L"FASTNOCLASS")) return status_error(RM_STATUS_INVALID_INFO_CLASS);
    }
    if (cb < FIELD_OFFSET(RM_FILE_PROCESS_IDS, ProcessIdList)) return ERROR_MORE_DATA;
    cap = (ULONG)((cb - FIELD_OFFSET(RM_FILE_PROCESS_IDS, ProcessIdList)) / sizeof(ULONG_PTR));
    if (!rm_sys_holders) return ERROR_CALL_NOT_IMPLEMENTED;
    if ((err = rm_sys_holders(h, ids->ProcessIdList, cap, &count))) return err;
    if (count > cap) return ERROR_MORE_DATA;
    ids->NumberOfProcessIdsInList = count;
    return ERROR_SUCCESS;
}

#define FAKE_INDEX  0x00FA4E000000C0DEull
#define FAKE_VOLUME 0xFA4E0000u

/* The digit of a file named rmfakevol<digit>..., or -1. */
static int fake_volume_of(HANDLE h)
{
    WCHAR name[MAX_PATH];
    if (!final_name(h, name, MAX_PATH) || CompareStringOrdinal(name, 9, L"RMFAKEVOL", 9, FALSE) != CSTR_EQUAL ||
        name[9] < L'0' || name[9] > L'9')
        return -1;
    return name[9] - L'0';
}

static DWORD WINAPI fake_index(HANDLE h, ULONGLONG *index)
{
    if (fake_volume_of(h) < 0) return file_index(h, index);
    *index = FAKE_INDEX;
    return ERROR_SUCCESS;
}

static DWORD WINAPI fake_volume(HANDLE h, DWORD *serial)
{
    int d = fake_volume_of(h);
    if (d < 0) return file_volume(h, serial);
    *serial = FAKE_VOLUME | (DWORD)d;
    return ERROR_SUCCESS;
}

static DWORD WINAPI no_volume(HANDLE h, DWORD *serial)
{
    WCHAR name[MAX_PATH];
    if (final_name(h, name, MAX_PATH) && rm_wcsnlen(name, 7) >= 7 &&
        CompareStringOrdinal(name, 7, L"RMNOVOL", 7, FALSE) == CSTR_EQUAL)
        return ERROR_INVALID_PARAMETER;
    return file_volume(h, serial);
}

/* ---- RSTRTMGR_FAULT ---------------------------------------------------------------- */

/* FakeVolume's identities exist only for opened files: directories are refused
 * as a file system without the listing class refuses them, so every file is
 * opened (dirlist.c's fallback). */
static BOOL WINAPI no_listing(HANDLE h, FILE_INFO_BY_HANDLE_CLASS cls, LPVOID buf, DWORD cb)
{
    if (cls == FileIdBothDirectoryInfo || cls == FileIdBothDirectoryRestartInfo)
    {
        SetLastError(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    return GetFileInformationByHandleEx(h, cls, buf, cb);
}

static void arm(WCHAR *item)
{
    static const struct { const WCHAR *name; enum fault_call call; } counted[] = {
        { L"RegCreateKeyExW", F_CREATE }, { L"RegSetValueExW", F_SET }, { L"RegQueryValueExW", F_QUERY },
        { L"RegDeleteValueW", F_DELETE }, { L"GenRandom", F_RANDOM }, { L"ReportEventW", F_REPORT },
        { L"OpenServiceW", F_OPEN_SERVICE }, { L"GetFileInformationByHandleEx", F_FILE_INFO_EX },
        { L"EventSourceKey", F_EVENT_KEY }, { L"HandleQuery", F_HANDLE }, { L"WalkQuery", F_WALK },
    };
    WCHAR *colon, *p;
    DWORD n = 0, pid = 0;
    SIZE_T i;

    if (!rm_wcsicmp(item, L"FastPath"))
    {
        rm_sys.CreateFileW = fake_create;
        rm_sys.FileProcessIds = fake_process_ids;
        rm_trace("fault injection armed: the kernel's list of a file's users is played");
        return;
    }
    if (!rm_wcsicmp(item, L"FakeVolume"))
    {
        rm_sys.FileIndex = fake_index;
        rm_sys.FileVolume = fake_volume;
        rm_sys.GetFileInformationByHandleEx = no_listing;
        rm_trace("fault injection armed: rmfakevol<n> files share an index on volume <n>");
        return;
    }
    if (!rm_wcsicmp(item, L"NoVolume"))
    {
        rm_sys.FileVolume = no_volume;
        rm_trace("fault injection armed: rmnovol files have no volume serial number");
        return;
    }
    for (colon = item; *colon && *colon != L':'; colon++) {}
    if (!*colon) return;
    *colon = 0;
    p = colon + 1;
    p += rm_parse_dec(p, &n);
    if (!n) return;
    for (i = 0; i < ARRAYSIZE(counted) && rm_wcsicmp(item, counted[i].name); i++) {}
    if (i == ARRAYSIZE(counted)) return;
    faults[counted[i].call].sticky = (*p == L'+');
    if (*p == L'+') p++;
    if (*p == L'@' && (counted[i].call == F_HANDLE || counted[i].call == F_WALK))
        rm_parse_dec(p + 1, &pid);   /* the last field: nothing follows it */
    faults[counted[i].call].pid = pid;
    faults[counted[i].call].fail_at = (LONG)n;
    switch (counted[i].call)
    {
    case F_CREATE: rm_sys.RegCreateKeyExW = faulty_create; break;
    case F_SET: rm_sys.RegSetValueExW = faulty_set; break;
    case F_QUERY: rm_sys.RegQueryValueExW = faulty_query; break;
    case F_DELETE: rm_sys.RegDeleteValueW = faulty_delete_value; break;
    case F_RANDOM: rm_sys.GenRandom = faulty_random; break;
    case F_REPORT: rm_sys.ReportEventW = faulty_report; break;
    case F_OPEN_SERVICE: rm_sys.OpenServiceW = faulty_open_service; break;
    case F_FILE_INFO_EX: rm_sys.GetFileInformationByHandleEx = faulty_file_info_ex; break;
    case F_EVENT_KEY: rm_sys.EventSourceKey = faulty_event_key; break;
    default: break;   /* HandleQuery, WalkQuery: handles.c and mapwalk.c ask */
    }
    rm_trace("fault injection armed: %ls use %lu%s%s", item, n, faults[counted[i].call].sticky ? " and later" : "",
             pid ? " of one process" : "");
}

static BOOL CALLBACK init_once(INIT_ONCE *once, void *param, void **ctx)
{
    WCHAR spec[256], *item, *end;
    DWORD len;
    (void)once; (void)param; (void)ctx;

    /* Only a test build reads RSTRTMGR_FAULT (CMake option RM_TEST_HOOKS): in a
     * release build no environment an installer inherits can make its registry
     * writes fail, its scans stall or its file queries lie. */
    if (!RM_TEST_HOOKS) return TRUE;
    len = GetEnvironmentVariableW(L"RSTRTMGR_FAULT", spec, ARRAYSIZE(spec));
    if (!len || len >= ARRAYSIZE(spec)) return TRUE;
    for (item = spec; *item; item = end)
    {
        for (end = item; *end && *end != L','; end++) {}
        if (*end) *end++ = 0;
        arm(item);
    }
    return TRUE;
}

void rm_sys_init(void)
{
    static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
    InitOnceExecuteOnce(&once, init_once, NULL, NULL);
}
