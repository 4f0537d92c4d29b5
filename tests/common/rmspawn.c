/*
 * rmspawn.c - helper processes and helper services for the tests (see rmspawn.h).
 */
#include "rmspawn.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static LONG spawn_counter;

const WCHAR *rmt_helper_path(BOOL gui)
{
    static WCHAR paths[2][MAX_PATH];
    WCHAR *p = paths[gui ? 1 : 0];
    if (!p[0])
    {
        WCHAR *slash;
        DWORD n = GetModuleFileNameW(NULL, p, MAX_PATH);
        if (!n || n >= MAX_PATH) p[0] = 0;
        slash = wcsrchr(p, L'\\');
        if (slash) slash[1] = 0;
        else p[0] = 0;
        wcscat(p, gui ? L"rmhelper_gui.exe" : L"rmhelper.exe");
    }
    return p;
}

static void release(struct rmt_child *c)
{
    if (c->process) CloseHandle(c->process);
    if (c->quit) CloseHandle(c->quit);
    /* Closing the last job handle kills whatever is still in the job. */
    if (c->job) CloseHandle(c->job);
    c->process = NULL;
    c->quit = NULL;
    c->job = NULL;
}

void rmt_child_kill(struct rmt_child *c)
{
    if (!c) return;
    if (c->process)
    {
        if (WaitForSingleObject(c->process, 0) == WAIT_TIMEOUT)
        {
            TerminateProcess(c->process, 0xdead);
            WaitForSingleObject(c->process, rmt_timeout(5000));
        }
    }
    release(c);
}

BOOL rmt_child_alive(const struct rmt_child *c)
{
    return c && c->process && WaitForSingleObject(c->process, 0) == WAIT_TIMEOUT;
}

DWORD rmt_child_wait(struct rmt_child *c, DWORD timeout_ms)
{
    DWORD code = (DWORD)-1;
    if (!c->process) return code;
    if (WaitForSingleObject(c->process, timeout_ms) == WAIT_OBJECT_0)
    {
        if (!GetExitCodeProcess(c->process, &code)) code = (DWORD)-1;
    }
    rmt_child_kill(c);
    return code;
}

DWORD rmt_child_quit(struct rmt_child *c, DWORD timeout_ms)
{
    if (c->quit) SetEvent(c->quit);
    return rmt_child_wait(c, timeout_ms);
}

DWORD rmt_spawn_ex(BOOL gui, const WCHAR *args, DWORD create_flags, BOOL wait_ready,
                   DWORD timeout_ms, struct rmt_child *c)
{
    return rmt_spawn_exe(rmt_helper_path(gui), args, create_flags, wait_ready, timeout_ms, c);
}

DWORD rmt_spawn_exe(const WCHAR *exe, const WCHAR *args, DWORD create_flags, BOOL wait_ready,
                    DWORD timeout_ms, struct rmt_child *c)
{
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limit;
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    WCHAR ready_name[64];
    FILETIME exit_time, kernel, user;
    HANDLE ready = NULL;
    WCHAR *cmdline;
    size_t len;
    LONG n = InterlockedIncrement(&spawn_counter);
    DWORD err;

    memset(c, 0, sizeof(*c));
    if (!args) args = L"";

    swprintf(ready_name, 64, L"rmt-%lu-%ld-ready", GetCurrentProcessId(), n);
    swprintf(c->quit_name, 64, L"rmt-%lu-%ld-quit", GetCurrentProcessId(), n);
    ready = CreateEventW(NULL, TRUE, FALSE, ready_name);
    c->quit = CreateEventW(NULL, TRUE, FALSE, c->quit_name);
    if (!ready || !c->quit)
    {
        err = GetLastError();
        if (ready) CloseHandle(ready);
        release(c);
        return err;
    }

    len = wcslen(exe) + wcslen(args) + 2 * 64 + 32;
    cmdline = malloc(len * sizeof(WCHAR));
    if (!cmdline)
    {
        CloseHandle(ready);
        release(c);
        return ERROR_OUTOFMEMORY;
    }
    /* --ready only when we wait for it: the child must find the event still open. */
    if (wait_ready)
        swprintf(cmdline, len, L"\"%ls\" --ready %ls --quit %ls %ls", exe,
                 ready_name, c->quit_name, args);
    else
        swprintf(cmdline, len, L"\"%ls\" --quit %ls %ls", exe, c->quit_name,
                 args);

    /* The job makes the child die with us. If this process is in a job that forbids
     * nesting the assignment fails; the child then just runs without one. */
    c->job = CreateJobObjectW(NULL, NULL);
    if (c->job)
    {
        memset(&limit, 0, sizeof(limit));
        limit.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        if (!SetInformationJobObject(c->job, JobObjectExtendedLimitInformation, &limit,
                                     sizeof(limit)))
        {
            CloseHandle(c->job);
            c->job = NULL;
        }
    }

    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    if (!CreateProcessW(exe, cmdline, NULL, NULL, FALSE,
                        create_flags | CREATE_SUSPENDED, NULL, NULL, &si, &pi))
    {
        err = GetLastError();
        free(cmdline);
        CloseHandle(ready);
        release(c);
        return err ? err : ERROR_GEN_FAILURE;
    }
    free(cmdline);
    c->process = pi.hProcess;
    c->pid = pi.dwProcessId;
    if (c->job && !AssignProcessToJobObject(c->job, pi.hProcess))
    {
        CloseHandle(c->job);
        c->job = NULL;
    }
    c->id.dwProcessId = pi.dwProcessId;
    GetProcessTimes(pi.hProcess, &c->id.ProcessStartTime, &exit_time, &kernel, &user);
    ResumeThread(pi.hThread);
    CloseHandle(pi.hThread);

    if (wait_ready)
    {
        HANDLE objs[2] = {ready, c->process};
        DWORD r = WaitForMultipleObjects(2, objs, FALSE, timeout_ms);
        if (r != WAIT_OBJECT_0)
        {
            /* The ready event wins a tie: a child that signalled and then exited by
             * itself counts as started. */
            if (WaitForSingleObject(ready, 0) != WAIT_OBJECT_0)
            {
                CloseHandle(ready);
                rmt_child_kill(c);
                return r == WAIT_OBJECT_0 + 1 ? ERROR_PROCESS_ABORTED : ERROR_TIMEOUT;
            }
        }
    }
    CloseHandle(ready);
    return ERROR_SUCCESS;
}

DWORD rmt_spawn(BOOL gui, const WCHAR *args, DWORD timeout_ms, struct rmt_child *c)
{
    return rmt_spawn_ex(gui, args, 0, TRUE, timeout_ms, c);
}

static struct rmt_child spawned[32];
static int nspawned;

struct rmt_child *rmt_spawn_tracked(BOOL gui, DWORD create_flags, const WCHAR *args,
                                    DWORD timeout_ms)
{
    struct rmt_child *c;
    DWORD rc;
    assert_true(nspawned < (int)ARRAYSIZE(spawned));
    c = &spawned[nspawned];
    memset(c, 0, sizeof(*c));
    rc = rmt_spawn_ex(gui, args, create_flags, TRUE, timeout_ms, c);
    if (rc != ERROR_SUCCESS) fail_msg("starting helper '%ls' failed: %lu", args, rc);
    nspawned++;
    return c;
}

void rmt_kill_all(void)
{
    int i;
    for (i = 0; i < nspawned; i++) rmt_child_kill(&spawned[i]);
    nspawned = 0;
}

void rmt_release_process(HANDLE *process, HANDLE *job)
{
    if (*process)
    {
        TerminateProcess(*process, 1);
        WaitForSingleObject(*process, rmt_timeout(5000));
        CloseHandle(*process);
        *process = NULL;
    }
    if (*job)
    {
        CloseHandle(*job);
        *job = NULL;
    }
}

/* ------------------------------------------------------------------------------ */
/* Services                                                                         */

/* Services installed and not yet removed: removed at exit, so a failing test (cmocka
 * leaves the test function at the failed assert) does not leave one behind. */
#define MAX_TRACKED 32
static WCHAR *tracked[MAX_TRACKED];
static BOOL atexit_done;

static void untrack(const WCHAR *name)
{
    WCHAR *copy = _wcsdup(name); /* name may be one of the entries freed below */
    int i;
    if (!copy) return;
    for (i = 0; i < MAX_TRACKED; i++)
        if (tracked[i] && !_wcsicmp(tracked[i], copy))
        {
            free(tracked[i]);
            tracked[i] = NULL;
        }
    free(copy);
}

static void remove_tracked(void)
{
    int i;
    /* Newest first: dependents usually come after what they depend on. */
    for (i = MAX_TRACKED - 1; i >= 0; i--)
        if (tracked[i]) rmt_service_remove(tracked[i]);
}

static void track(const WCHAR *name)
{
    int i;
    if (!atexit_done) atexit_done = !atexit(remove_tracked);
    for (i = 0; i < MAX_TRACKED; i++)
        if (!tracked[i])
        {
            tracked[i] = _wcsdup(name);
            return;
        }
}

static BOOL has_word(const WCHAR *s, const WCHAR *word)
{
    size_t n = wcslen(word);
    const WCHAR *p = s;
    while ((p = wcsstr(p, word)))
    {
        BOOL start = (p == s) || iswspace(p[-1]);
        BOOL end = !p[n] || iswspace(p[n]);
        if (start && end) return TRUE;
        p += n;
    }
    return FALSE;
}

static DWORD service_pid(SC_HANDLE svc, DWORD *state)
{
    SERVICE_STATUS_PROCESS st;
    DWORD needed;
    if (!QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (BYTE *)&st, sizeof(st), &needed))
    {
        *state = 0;
        return 0;
    }
    *state = st.dwCurrentState;
    return st.dwProcessId;
}

/* Stops svc (bounded), making sure its process is gone. */
static void stop_service(SC_HANDLE svc)
{
    SERVICE_STATUS ss;
    DWORD state = 0, pid = service_pid(svc, &state), start = GetTickCount();
    HANDLE process = NULL;

    if (pid) process = OpenProcess(SYNCHRONIZE | PROCESS_TERMINATE, FALSE, pid);
    if (state && state != SERVICE_STOPPED)
    {
        /* A refused request (dependents still running, ...) is not waited for. */
        BOOL sent = ControlService(svc, SERVICE_CONTROL_STOP, &ss) ||
                    GetLastError() == ERROR_SERVICE_CANNOT_ACCEPT_CTRL;
        while (sent && GetTickCount() - start < 10000)
        {
            service_pid(svc, &state);
            if (!state || state == SERVICE_STOPPED) break;
            Sleep(20);
        }
    }
    if (process)
    {
        if (WaitForSingleObject(process, rmt_timeout(5000)) != WAIT_OBJECT_0)
        {
            TerminateProcess(process, 0xdead);
            WaitForSingleObject(process, rmt_timeout(5000));
        }
        CloseHandle(process);
    }
}

void rmt_service_remove(const WCHAR *name)
{
    SC_HANDLE scm, svc;
    DWORD start = GetTickCount();

    if (!name) return;
    if (!(scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_ALL_ACCESS))) return;
    svc = OpenServiceW(scm, name, SERVICE_ALL_ACCESS);
    if (svc)
    {
        stop_service(svc);
        DeleteService(svc);
        CloseServiceHandle(svc);
        /* Deletion completes once the last handle is gone; wait for it (bounded). */
        while (GetTickCount() - start < 5000)
        {
            svc = OpenServiceW(scm, name, SERVICE_QUERY_STATUS);
            if (!svc) break;
            CloseServiceHandle(svc);
            Sleep(20);
        }
    }
    CloseServiceHandle(scm);
    untrack(name); /* last: name may be the tracked copy itself */
}

DWORD rmt_service_install(const WCHAR *name, const WCHAR *display_name, const WCHAR *args,
                          const WCHAR *dependencies, DWORD timeout_ms, DWORD *pid)
{
    SC_HANDLE scm, svc;
    WCHAR *binpath;
    size_t len;
    DWORD err = ERROR_SUCCESS, state = 0, spid = 0, start;

    if (pid) *pid = 0;
    if (!name || !*name) return ERROR_INVALID_PARAMETER;
    len = wcslen(rmt_helper_path(FALSE)) + wcslen(name) + (args ? wcslen(args) : 0) + 32;
    binpath = malloc(len * sizeof(WCHAR));
    if (!binpath) return ERROR_OUTOFMEMORY;
    if (!args)
        swprintf(binpath, len, L"\"%ls\" service %ls", rmt_helper_path(FALSE), name);
    else if (has_word(args, L"service"))
        swprintf(binpath, len, L"\"%ls\" %ls", rmt_helper_path(FALSE), args);
    else
        swprintf(binpath, len, L"\"%ls\" service %ls %ls", rmt_helper_path(FALSE), name, args);

    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_ALL_ACCESS);
    if (!scm)
    {
        err = GetLastError();
        free(binpath);
        return err;
    }
    svc = CreateServiceW(scm, name, display_name ? display_name : name, SERVICE_ALL_ACCESS,
                         SERVICE_WIN32_OWN_PROCESS, SERVICE_DEMAND_START, SERVICE_ERROR_IGNORE,
                         binpath, NULL, NULL, dependencies, NULL, NULL);
    free(binpath);
    if (!svc)
    {
        err = GetLastError();
        CloseServiceHandle(scm);
        return err;
    }
    track(name);
    if (!StartServiceW(svc, 0, NULL)) err = GetLastError();
    start = GetTickCount();
    while (err == ERROR_SUCCESS)
    {
        spid = service_pid(svc, &state);
        if (state == SERVICE_RUNNING) break;
        if (!state || state == SERVICE_STOPPED)
        {
            SERVICE_STATUS_PROCESS st;
            DWORD needed;
            err = ERROR_SERVICE_NOT_ACTIVE;
            if (QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (BYTE *)&st, sizeof(st),
                                     &needed) && st.dwWin32ExitCode)
                err = st.dwWin32ExitCode == ERROR_SERVICE_SPECIFIC_ERROR
                          ? st.dwServiceSpecificExitCode : st.dwWin32ExitCode;
            break;
        }
        if (GetTickCount() - start >= timeout_ms)
        {
            err = ERROR_SERVICE_REQUEST_TIMEOUT;
            break;
        }
        Sleep(10);
    }
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    if (err != ERROR_SUCCESS)
    {
        rmt_service_remove(name);
        return err;
    }
    if (pid) *pid = spid;
    return ERROR_SUCCESS;
}

/* ------------------------------------------------------------------------------ */
/* Records, windows, console control                                                */

char *rmt_run_script(const WCHAR *exe, const WCHAR *fault, const WCHAR *ops)
{
    struct rmt_child c;
    size_t cch = wcslen(ops) + MAX_PATH + 64;
    WCHAR *rec = rmt_path(L"script.txt"), *args = malloc(cch * sizeof(WCHAR));
    DWORD err, code;
    char *text;

    assert_non_null(args);
    DeleteFileW(rec);
    swprintf(args, cch, L"--record \"%ls\" script %ls", rec, ops);
    if (fault) assert_true(SetEnvironmentVariableW(L"RSTRTMGR_FAULT", fault));
    err = rmt_spawn_exe(exe ? exe : rmt_helper_path(FALSE), args, 0, FALSE, 20000, &c);
    SetEnvironmentVariableW(L"RSTRTMGR_FAULT", NULL);
    free(args);
    assert_int_equal(err, ERROR_SUCCESS);
    code = rmt_child_wait(&c, RMT_BOUND_MS);
    text = rmt_read_record(rec);
    printf("# RSTRTMGR_FAULT=%ls script %ls: exit %lu, record:\n%s", fault ? fault : L"(none)", ops,
           code, text);
    assert_int_equal(code, 0);
    DeleteFileW(rec);
    free(rec);
    return text;
}

char *rmt_read_record(const WCHAR *path)
{
    HANDLE h = CreateFileW(path, GENERIC_READ,
                           FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    LARGE_INTEGER size;
    DWORD got = 0;
    char *text;

    if (h == INVALID_HANDLE_VALUE)
    {
        text = malloc(1);
        if (text) text[0] = 0;
        return text;
    }
    if (!GetFileSizeEx(h, &size) || size.QuadPart > 16 * 1024 * 1024) size.QuadPart = 0;
    text = malloc((size_t)size.QuadPart + 1);
    if (text)
    {
        if (size.QuadPart && !ReadFile(h, text, (DWORD)size.QuadPart, &got, NULL)) got = 0;
        text[got] = 0;
    }
    CloseHandle(h);
    return text;
}

BOOL rmt_wait_record(const WCHAR *path, const char *needle, DWORD timeout_ms)
{
    DWORD start = GetTickCount();
    for (;;)
    {
        char *text = rmt_read_record(path);
        BOOL found = text && strstr(text, needle) != NULL;
        free(text);
        if (found) return TRUE;
        if (GetTickCount() - start >= timeout_ms) return FALSE;
        Sleep(10);
    }
}

struct find_window
{
    DWORD pid;
    BOOL visible_only;
    HWND found;
};

static BOOL CALLBACK find_window_cb(HWND hwnd, LPARAM lp)
{
    struct find_window *f = (struct find_window *)lp;
    DWORD pid = 0;
    WCHAR cls[64];
    GetWindowThreadProcessId(hwnd, &pid);
    if (pid != f->pid) return TRUE;
    if (!GetClassNameW(hwnd, cls, 64) || wcscmp(cls, L"RmHelperWindow")) return TRUE;
    if (f->visible_only && !IsWindowVisible(hwnd)) return TRUE;
    f->found = hwnd;
    return FALSE;
}

HWND rmt_find_window(DWORD pid, BOOL visible_only)
{
    struct find_window f = {pid, visible_only, NULL};
    EnumWindows(find_window_cb, (LPARAM)&f);
    return f.found;
}

DWORD rmt_send_ctrl(DWORD pid, DWORD ctrl_type, DWORD timeout_ms)
{
    struct rmt_child sender;
    WCHAR args[64];
    DWORD rc;

    swprintf(args, 64, L"sendctrl %lu %ls", pid, ctrl_type == CTRL_BREAK_EVENT ? L"break" : L"c");
    rc = rmt_spawn_ex(FALSE, args, 0, FALSE, timeout_ms, &sender);
    if (rc != ERROR_SUCCESS) return rc;
    return rmt_child_wait(&sender, timeout_ms);
}
