/*
 * procinfo.c - what RmGetList says about an application process (spec 7):
 * identity, friendly name, type, terminal-services session, restartability and
 * the reboot reasons it causes.
 *
 * Decision order for ApplicationType (spec 7, reconstructed):
 *   RmCritical    the caller itself (DetectedSelf); a critical system process
 *                 (CriticalProcess); another terminal-services session
 *                 (SessionMismatch); a process the caller may not terminate,
 *                 another user's, or an elevated one when the caller is not
 *                 (PermissionDenied)
 *   RmExplorer    the shell, explorer.exe in the Windows directory
 *   RmMainWindow  owns a visible top-level window
 *   RmOtherWindow owns top-level windows, none visible
 *   RmConsole     a console-subsystem executable
 *   RmUnknownApp  anything else
 * Services are described by discover.c, not here.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"
#include "ntapi.h"

void rm_copy_name(WCHAR *dst, SIZE_T cch, const WCHAR *src)
{
    SIZE_T n = rm_wcsnlen(src, cch - 1);
    if (n > cch - 1) n = cch - 1;
    memcpy(dst, src, n * sizeof(WCHAR));
    dst[n] = 0;
}

/* ---- windows ------------------------------------------------------------------- */

static BOOL CALLBACK window_cb(HWND hwnd, LPARAM param)
{
    struct rm_window_map *m = (struct rm_window_map *)param;
    DWORD pid = 0;
    BOOL visible = IsWindowVisible(hwnd);
    SIZE_T i;

    GetWindowThreadProcessId(hwnd, &pid);
    for (i = 0; i < m->count; i++)
        if (m->items[i].pid == pid)
        {
            m->items[i].visible |= visible;
            return TRUE;
        }
    if (rm_grow((void **)&m->items, &m->cap, m->count + 1, sizeof(*m->items))) return FALSE;
    m->items[m->count].pid = pid;
    m->items[m->count].visible = visible;
    m->count++;
    return TRUE;
}

DWORD rm_window_map_build(struct rm_window_map *m)
{
    memset(m, 0, sizeof(*m));
    EnumWindows(window_cb, (LPARAM)m);   /* no desktop (e.g. a service): no windows */
    return ERROR_SUCCESS;
}

void rm_window_map_free(struct rm_window_map *m)
{
    rm_free(m->items);
    memset(m, 0, sizeof(*m));
}

/* ---- the executable -------------------------------------------------------------- */

static const WCHAR *base_name(const WCHAR *path)
{
    const WCHAR *p, *b = path;
    for (p = path; *p; p++)
        if (*p == L'\\' || *p == L'/') b = p + 1;
    return b;
}

/* TRUE when path is name inside directory dir (compared without case). */
static BOOL is_in_dir(const WCHAR *path, const WCHAR *dir, const WCHAR *name)
{
    WCHAR full[MAX_PATH + 32];
    SIZE_T n = rm_wcsnlen(dir, MAX_PATH), m = rm_wcsnlen(name, 30);
    if (n > MAX_PATH) return FALSE;
    memcpy(full, dir, n * sizeof(WCHAR));
    full[n] = L'\\';
    memcpy(full + n + 1, name, (m + 1) * sizeof(WCHAR));
    return !rm_wcsicmp(path, full);
}

static BOOL is_critical_image(const WCHAR *image)
{
    static const WCHAR *const names[] = { L"smss.exe", L"csrss.exe", L"wininit.exe", L"logonui.exe",
                                          L"lsass.exe", L"services.exe", L"winlogon.exe" };
    WCHAR sysdir[MAX_PATH];
    SIZE_T i;
    if (!GetSystemDirectoryW(sysdir, MAX_PATH)) return FALSE;
    for (i = 0; i < ARRAYSIZE(names); i++)
        if (is_in_dir(image, sysdir, names[i])) return TRUE;
    return FALSE;
}

/* The shell: explorer.exe in the Windows directory (Windows), or in the system
 * directory (where Wine keeps its explorer). */
static BOOL is_explorer_image(const WCHAR *image)
{
    WCHAR dir[MAX_PATH];
    return (GetWindowsDirectoryW(dir, MAX_PATH) && is_in_dir(image, dir, L"explorer.exe")) ||
           (GetSystemDirectoryW(dir, MAX_PATH) && is_in_dir(image, dir, L"explorer.exe"));
}

/* The PE subsystem of an executable file, 0 if unreadable. */
static WORD image_subsystem(const WCHAR *image)
{
    BYTE buf[1024];
    DWORD got = 0, off;
    WORD subsystem = 0;
    HANDLE h = CreateFileW(image, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                           NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE) return 0;
    if (ReadFile(h, buf, sizeof(buf), &got, NULL) && got >= 0x40 && buf[0] == 'M' && buf[1] == 'Z')
    {
        memcpy(&off, buf + 0x3c, sizeof(off));
        /* Subsystem sits 68 bytes into the optional header, for PE32 and PE32+. */
        if (off < got - 24 - 70 && !memcmp(buf + off, "PE\0\0", 4))
            memcpy(&subsystem, buf + off + 24 + 68, sizeof(subsystem));
    }
    CloseHandle(h);
    return subsystem;
}

/* FileDescription, else ProductName, from the version resource. */
static BOOL friendly_name(const WCHAR *image, WCHAR *out, SIZE_T cch)
{
    static const WCHAR *const fields[] = { L"FileDescription", L"ProductName" };
    struct { WORD lang, cp; } *tr = NULL;
    DWORD size, dummy;
    UINT len = 0, ntr = 0, i, f;
    BYTE *data;
    BOOL found = FALSE;

    if (!(size = GetFileVersionInfoSizeW(image, &dummy)) || !(data = rm_alloc(size))) return FALSE;
    if (GetFileVersionInfoW(image, 0, size, data))
    {
        if (VerQueryValueW(data, L"\\VarFileInfo\\Translation", (void **)&tr, &len)) ntr = len / sizeof(*tr);
        for (f = 0; f < ARRAYSIZE(fields) && !found; f++)
            for (i = 0; i <= ntr && !found; i++)
            {
                WCHAR query[64];
                WCHAR *value = NULL;
                /* The declared translations first, then US English / Unicode. */
                WORD lang = i < ntr ? tr[i].lang : 0x0409, cp = i < ntr ? tr[i].cp : 0x04b0;
                wsprintfW(query, L"\\StringFileInfo\\%04x%04x\\%s", lang, cp, fields[f]);
                if (VerQueryValueW(data, query, (void **)&value, &len) && value && len > 1 && *value)
                {
                    rm_copy_name(out, cch, value);
                    found = TRUE;
                }
            }
    }
    rm_free(data);
    return found;
}

/* ---- permissions ------------------------------------------------------------------ */

/* TRUE when the caller could not shut the process down: it refuses
 * PROCESS_TERMINATE, or rm_token_obstacle has a reason. */
static BOOL permission_denied(HANDLE query, DWORD pid)
{
    HANDLE term = OpenProcess(PROCESS_TERMINATE, FALSE, pid);
    if (!term) return GetLastError() == ERROR_ACCESS_DENIED;
    CloseHandle(term);
    return rm_token_obstacle(query) != NULL;
}

/* ---- restartability ------------------------------------------------------------------ */

enum fallback { FALLBACK_CMDLINE, FALLBACK_OFF };
static enum fallback restart_fallback = FALLBACK_CMDLINE;

static BOOL CALLBACK fallback_init(INIT_ONCE *once, void *param, void **ctx)
{
    WCHAR v[16];
    (void)once; (void)param; (void)ctx;
    if (GetEnvironmentVariableW(L"RSTRTMGR_RESTART_FALLBACK", v, ARRAYSIZE(v)) && !rm_wcsicmp(v, L"off"))
        restart_fallback = FALLBACK_OFF;
    return TRUE;
}

/* Windows: restartable when the process registered a restart command without
 * RESTART_NO_PATCH. Where the system does not implement restart registration
 * (Wine: E_NOTIMPL) the fallback policy decides (README, "Choices"): by default
 * every application counts as restartable with the command line and directory it
 * was started with; RSTRTMGR_RESTART_FALLBACK=off makes them not restartable. */
static BOOL app_restartable(DWORD pid)
{
    static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
    DWORD cch = 0, flags = 0;
    HRESULT hr;
    HANDLE h;

    InitOnceExecuteOnce(&once, fallback_init, NULL, NULL);
    if (!(h = OpenProcess(PROCESS_VM_READ | PROCESS_QUERY_INFORMATION, FALSE, pid))) return FALSE;
    hr = GetApplicationRestartSettings(h, NULL, &cch, &flags);
    CloseHandle(h);
    if (hr == E_NOTIMPL) return restart_fallback == FALLBACK_CMDLINE;
    if (FAILED(hr) && hr != HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER)) return FALSE;
    return !(flags & RESTART_NO_PATCH);
}

/* ---- the description ---------------------------------------------------------------- */

BOOL rm_proc_identity(DWORD pid, RM_UNIQUE_PROCESS *id)
{
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    BOOL ok;
    memset(id, 0, sizeof(*id));
    id->dwProcessId = pid;
    if (!h) return FALSE;
    ok = rm_process_start_time(h, &id->ProcessStartTime);
    CloseHandle(h);
    return ok;
}

static BOOL has_window(const struct rm_window_map *m, DWORD pid, BOOL *visible)
{
    SIZE_T i;
    for (i = 0; i < m->count; i++)
        if (m->items[i].pid == pid)
        {
            *visible = m->items[i].visible;
            return TRUE;
        }
    return FALSE;
}

DWORD rm_proc_describe(DWORD pid, const struct rm_window_map *windows, RM_PROCESS_INFO *info,
                       DWORD *reasons, WCHAR *image, DWORD image_cch)
{
    const struct rm_self *self;
    DWORD len = image_cch, reason = 0;
    BOOL visible = FALSE;
    HANDLE h;

    rm_self_get(&self);
    memset(info, 0, sizeof(*info));
    image[0] = 0;
    info->Process.dwProcessId = pid;
    info->AppStatus = RmStatusRunning;
    if (!ProcessIdToSessionId(pid, &info->TSSessionId)) info->TSSessionId = (DWORD)RM_INVALID_TS_SESSION;

    if (!(h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE, FALSE, pid)))
    {
        if (GetLastError() != ERROR_ACCESS_DENIED) return ERROR_NOT_FOUND;   /* exited */
        /* It exists but tells us nothing: it cannot be shut down by us. */
        rm_warn("process %lu cannot be opened (access denied): RmCritical, PermissionDenied", pid);
        rm_copy_name(info->strAppName, ARRAYSIZE(info->strAppName), L"(inaccessible process)");
        info->ApplicationType = RmCritical;
        *reasons |= RmRebootReasonPermissionDenied;
        return ERROR_SUCCESS;
    }
    if (!rm_process_start_time(h, &info->Process.ProcessStartTime) || WaitForSingleObject(h, 0) == WAIT_OBJECT_0)
    {
        CloseHandle(h);
        return ERROR_NOT_FOUND;   /* exited between the scan and now */
    }
    if (!QueryFullProcessImageNameW(h, 0, image, &len)) image[0] = 0;
    if (!image[0] || !friendly_name(image, info->strAppName, ARRAYSIZE(info->strAppName)))
        rm_copy_name(info->strAppName, ARRAYSIZE(info->strAppName), image[0] ? base_name(image) : L"");

    if (pid == self->process.dwProcessId) reason = RmRebootReasonDetectedSelf;
    else if (image[0] && is_critical_image(image)) reason = RmRebootReasonCriticalProcess;
    else if (info->TSSessionId != (DWORD)RM_INVALID_TS_SESSION &&
             self->ts_session != (DWORD)RM_INVALID_TS_SESSION && info->TSSessionId != self->ts_session)
        reason = RmRebootReasonSessionMismatch;
    else if (permission_denied(h, pid)) reason = RmRebootReasonPermissionDenied;
    CloseHandle(h);

    if (reason)
    {
        /* Why an RmShutdown will refuse (350) or leave it alone, for the trace. */
        rm_warn("process %lu (%ls) is RmCritical: %s", pid, image[0] ? image : L"?",
                reason == RmRebootReasonDetectedSelf      ? "it is the caller (DetectedSelf)"
                : reason == RmRebootReasonCriticalProcess ? "a critical system process (CriticalProcess)"
                : reason == RmRebootReasonSessionMismatch ? "another terminal-services session (SessionMismatch)"
                                                          : "another user's, or elevated above us (PermissionDenied)");
        /* A critical entry is named by its executable's file name (spec 2.3, D16),
         * not by its description. (D16 gives a service caller the "long name";
         * a caller in session 0 is taken to be a service.) */
        if (image[0] && self->ts_session != 0)
            rm_copy_name(info->strAppName, ARRAYSIZE(info->strAppName), base_name(image));
        info->ApplicationType = RmCritical;
        info->bRestartable = FALSE;
        *reasons |= reason;
        return ERROR_SUCCESS;
    }
    if (image[0] && is_explorer_image(image)) info->ApplicationType = RmExplorer;
    else if (has_window(windows, pid, &visible)) info->ApplicationType = visible ? RmMainWindow : RmOtherWindow;
    else if (image[0] && image_subsystem(image) == IMAGE_SUBSYSTEM_WINDOWS_CUI) info->ApplicationType = RmConsole;
    else info->ApplicationType = RmUnknownApp;
    info->bRestartable = app_restartable(pid);
    return ERROR_SUCCESS;
}

/* ---- the restart command ------------------------------------------------------------ */

/* Reads a UNICODE_STRING that lives in another process at addr (layout of the
 * target's bitness) into a new NUL-terminated string. */
static WCHAR *read_remote_string(HANDLE h, ULONG_PTR addr, BOOL target32)
{
    USHORT length;
    ULONG_PTR buffer = 0;
    SIZE_T got;
    WCHAR *s;

    if (!ReadProcessMemory(h, (void *)addr, &length, sizeof(length), &got) || got != sizeof(length)) return NULL;
    if (target32)
    {
        DWORD b32 = 0;
        if (!ReadProcessMemory(h, (void *)(addr + 4), &b32, sizeof(b32), &got)) return NULL;
        buffer = b32;
    }
    else if (!ReadProcessMemory(h, (void *)(addr + sizeof(void *)), &buffer, sizeof(buffer), &got))
        return NULL;
    if (!buffer || !(s = rm_alloc(length + sizeof(WCHAR)))) return NULL;
    if (length && !ReadProcessMemory(h, (void *)buffer, s, length, &got))
    {
        rm_free(s);
        return NULL;
    }
    s[length / sizeof(WCHAR)] = 0;
    return s;
}

DWORD rm_proc_capture_command(DWORD pid, WCHAR **cmdline, WCHAR **cwd)
{
    PROCESS_BASIC_INFORMATION pbi;
    ULONG_PTR peb = 0, params = 0;
    BOOL self_wow = FALSE, target_wow = FALSE, target32;
    SIZE_T got;
    ULONG len;
    HANDLE h;

    *cmdline = *cwd = NULL;
    if (!(h = OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, FALSE, pid))) return GetLastError();
    IsWow64Process(GetCurrentProcess(), &self_wow);
    IsWow64Process(h, &target_wow);
    /* The process parameters, through the PEB (offsets: ntapi.h). */
    if (sizeof(void *) == 8 && target_wow)
    {
        ULONG_PTR peb32 = 0;   /* a 32-bit process, seen from 64 bits: its own PEB */
        if (!NtQueryInformationProcess(h, ProcessWow64Information, &peb32, sizeof(peb32), &len)) peb = peb32;
        target32 = TRUE;
    }
    else if (self_wow && !target_wow)
        target32 = FALSE, peb = 0;   /* 64-bit process from a 32-bit caller: out of reach */
    else
    {
        if (!NtQueryInformationProcess(h, ProcessBasicInformation, &pbi, sizeof(pbi), &len))
            peb = (ULONG_PTR)pbi.PebBaseAddress;
        target32 = sizeof(void *) == 4;
    }
    if (peb)
    {
        if (target32)
        {
            DWORD p32 = 0;
            if (ReadProcessMemory(h, (void *)(peb + RM_PEB_PROCESS_PARAMETERS_32), &p32, sizeof(p32), &got))
                params = p32;
        }
        else
            ReadProcessMemory(h, (void *)(peb + RM_PEB_PROCESS_PARAMETERS_64), &params, sizeof(params), &got);
    }
    if (params)
    {
        *cmdline = read_remote_string(h, params + (target32 ? RM_PARAMS_COMMAND_LINE_32 : RM_PARAMS_COMMAND_LINE_64),
                                      target32);
        *cwd = read_remote_string(h, params + (target32 ? RM_PARAMS_CURRENT_DIRECTORY_32
                                                       : RM_PARAMS_CURRENT_DIRECTORY_64), target32);
    }
    CloseHandle(h);
    return *cmdline ? ERROR_SUCCESS : ERROR_NOT_FOUND;
}

DWORD rm_proc_restart_command(DWORD pid, const WCHAR *image, WCHAR **cmdline, WCHAR **cwd)
{
    WCHAR args[RESTART_MAX_CMD_LINE];
    DWORD cch = ARRAYSIZE(args), flags = 0;
    HRESULT hr;
    HANDLE h;

    *cmdline = *cwd = NULL;
    if (!(h = OpenProcess(PROCESS_VM_READ | PROCESS_QUERY_INFORMATION, FALSE, pid))) return GetLastError();
    hr = GetApplicationRestartSettings(h, args, &cch, &flags);
    CloseHandle(h);
    if (hr == S_OK)
    {
        /* The registered string holds the arguments; the system adds the image. */
        SIZE_T n = rm_wcsnlen(image, MAX_PATH), m = rm_wcsnlen(args, RESTART_MAX_CMD_LINE);
        if (!(*cmdline = rm_alloc((n + m + 4) * sizeof(WCHAR)))) return ERROR_OUTOFMEMORY;
        (*cmdline)[0] = L'"';
        memcpy(*cmdline + 1, image, n * sizeof(WCHAR));
        (*cmdline)[n + 1] = L'"';
        (*cmdline)[n + 2] = L' ';
        memcpy(*cmdline + n + 3, args, (m + 1) * sizeof(WCHAR));
        return ERROR_SUCCESS;
    }
    if (hr != E_NOTIMPL) return ERROR_NOT_FOUND;
    /* No restart registration on this system (Wine): the fallback policy restarts
     * the application as it was started, in the directory it was in. */
    return rm_proc_capture_command(pid, cmdline, cwd);
}
