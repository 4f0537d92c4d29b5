/*
 * rmhelper.c - the helper process the tests start to play a part: a process that
 * holds files, has a DLL loaded, owns a window, runs a console, is a primary or a
 * secondary installer, or is a service.
 *
 * Built twice from this file: rmhelper.exe (console subsystem) and rmhelper_gui.exe
 * (GUI subsystem, RMHELPER_GUI=1). Both parse the wide command line themselves.
 *
 *   rmhelper[_gui].exe [--ready EVENT] [--quit EVENT] [--record FILE] ROLE [ARGS...]
 *
 *   --ready EVENT   existing event, set once the role is fully set up
 *   --quit EVENT    existing event; when it is set the helper exits with code 0
 *                   (without it the helper runs until killed or its role ends it)
 *                   An event that does not exist (any more) is skipped and
 *                   recorded as NOREADY/NOQUIT <error>: an instance the Restart
 *                   Manager restarted has the same command line.
 *   --record FILE   one line appended (and flushed) per notable event:
 *                     STARTED                        role set up (services: running)
 *                     QUERYENDSESSION lparam=0x%08x  window got WM_QUERYENDSESSION
 *                     ENDSESSION wparam=%u lparam=0x%08x
 *                     CLOSE                          window got WM_CLOSE
 *                     CTRL %u                        console handler got that event
 *                     STOP NAME                      service got SERVICE_CONTROL_STOP
 *                     SHUTDOWN NAME                  service got SERVICE_CONTROL_SHUTDOWN
 *                     (services write "STARTED NAME")
 *                     JOIN %u / REGISTER %u / END %u results of the Rm* calls
 *                     SESSION %u %ls                 start role: handle and key
 *                     FAIL <what> %u                 a setup step failed (then exit 2)
 *                     EXIT                           clean exit (code 0) follows
 *
 * Roles:
 *   hold PATH [SHARE] [PATH2 [SHARE2]]...   SHARE: none r w d rw rd wd rwd (default rwd)
 *   load PATH
 *   map PATH                 maps PATH as data (read-only view) and closes both the
 *                            file and the mapping handle: only the view remains
 *   window [--hidden] [--refuse] [--hang] [--close-delay MS] [--title T] [--hold PATH]
 *          [--say-cwd]       (records "CWD <current directory>" first)
 *          (default title "rmhelper window <pid>", class "RmHelperWindow")
 *   console [--ignore-ctrl-c] [--close-delay MS]
 *   start [--out FILE]       writes "HANDLE KEY\n"; on --quit it calls RmEndSession
 *                            (killing it instead leaves an abandoned session)
 *   join KEY [--no-end] [--svc NAME] [FILE...]   registers the files and the service
 *                            in one call; exit code = first non-zero Rm* result, else 0
 *   service NAME [hold PATH] [--ignore-stop]
 *   sleep
 *   sendctrl PID [c|break]   (extra) sends a console control event to the console
 *                            of PID: FreeConsole, AttachConsole(PID), ignore it
 *                            ourselves, GenerateConsoleCtrlEvent(type, 0)
 *   churn SECONDS THREADS DIR   start/join/register/list/end loops (task "load")
 *   regloop KEY COUNT DIR       joins KEY, registers batches of COUNT names forever
 *   script OP...                start | join KEY | reg PATH | regself | regsvc NAME |
 *                               list | pids | types | shutdown | end | wait | sleep MS |
 *                               open PATH | map PATH
 *                               (see the block near the end for the record lines)
 *
 * Exit codes: 0 ok, 2 role setup failed, 3 bad usage (join: the Rm* error).
 */
#include <windows.h>
#include <shellapi.h>
#include <sddl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include "restartmanager.h"
#include "shared/storelock.h"

#define EXIT_OK 0
#define EXIT_SETUP 2
#define EXIT_USAGE 3

static const WCHAR *record_path;
static CRITICAL_SECTION record_lock;
static HANDLE ready_event;
static HANDLE quit_event;

/* ------------------------------------------------------------------------------ */
/* Recording                                                                        */

static void record(const char *fmt, ...)
{
    char line[600];
    va_list ap;
    int n;
    HANDLE h;
    DWORD written, tries;

    if (!record_path) return;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (n > (int)sizeof(line) - 3) n = (int)sizeof(line) - 3;
    line[n++] = '\n';
    line[n] = 0;

    EnterCriticalSection(&record_lock);
    /* Opened per line so the helper never keeps a handle on the record file; a
     * reader that briefly holds it without sharing only delays us. */
    for (tries = 0; tries < 100; tries++)
    {
        h = CreateFileW(record_path, FILE_APPEND_DATA | SYNCHRONIZE,
                        FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                        OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
        if (h != INVALID_HANDLE_VALUE) break;
        if (GetLastError() != ERROR_SHARING_VIOLATION) break;
        Sleep(10);
    }
    if (h != INVALID_HANDLE_VALUE)
    {
        WriteFile(h, line, (DWORD)n, &written, NULL);
        FlushFileBuffers(h);
        CloseHandle(h);
    }
    LeaveCriticalSection(&record_lock);
}

static void diag(const char *fmt, ...)
{
#ifndef RMHELPER_GUI
    va_list ap;
    va_start(ap, fmt);
    fputs("rmhelper: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
#else
    (void)fmt;
#endif
}

static int usage(const char *why)
{
    diag("usage: %s", why);
    record("FAIL usage %s", why);
    return EXIT_USAGE;
}

static int setup_failed(const char *what, DWORD err)
{
    diag("%s failed: %lu", what, err);
    record("FAIL %s %lu", what, err);
    return EXIT_SETUP;
}

static void signal_ready(void)
{
    record("STARTED");
    if (ready_event) SetEvent(ready_event);
}

/* Blocks until the quit event is set, or forever without one. */
static void wait_quit(void)
{
    if (quit_event) WaitForSingleObject(quit_event, INFINITE);
    else for (;;) Sleep(INFINITE);
}

static int clean_exit(void)
{
    record("EXIT");
    return EXIT_OK;
}

static BOOL parse_dword(const WCHAR *s, DWORD *out)
{
    WCHAR *end;
    unsigned long v;
    if (!s || !*s) return FALSE;
    v = wcstoul(s, &end, 0);
    if (*end) return FALSE;
    *out = (DWORD)v;
    return TRUE;
}

/* ------------------------------------------------------------------------------ */
/* hold                                                                             */

static BOOL parse_share(const WCHAR *s, DWORD *share)
{
    DWORD v = 0;
    if (!wcscmp(s, L"none"))
    {
        *share = 0;
        return TRUE;
    }
    if (!*s || wcslen(s) > 3) return FALSE;
    for (; *s; s++)
    {
        DWORD bit;
        if (*s == L'r') bit = FILE_SHARE_READ;
        else if (*s == L'w') bit = FILE_SHARE_WRITE;
        else if (*s == L'd') bit = FILE_SHARE_DELETE;
        else return FALSE;
        if (v & bit) return FALSE;
        v |= bit;
    }
    *share = v;
    return TRUE;
}

#define MAX_HOLD 128

static int role_hold(int argc, WCHAR **argv)
{
    HANDLE handles[MAX_HOLD];
    const WCHAR *paths[MAX_HOLD];
    DWORD shares[MAX_HOLD];
    int n = 0, i = 0, k;

    if (argc < 1) return usage("hold PATH [SHARE] ...");
    while (i < argc)
    {
        if (n == MAX_HOLD) return usage("hold: too many files");
        paths[n] = argv[i++];
        shares[n] = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
        if (i < argc && parse_share(argv[i], &shares[n])) i++;
        n++;
    }
    for (k = 0; k < n; k++)
    {
        handles[k] = CreateFileW(paths[k], GENERIC_READ | GENERIC_WRITE, shares[k], NULL,
                                 OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
        if (handles[k] == INVALID_HANDLE_VALUE) return setup_failed("CreateFile", GetLastError());
    }
    signal_ready();
    wait_quit();
    for (k = 0; k < n; k++) CloseHandle(handles[k]);
    return clean_exit();
}

/* ------------------------------------------------------------------------------ */
/* load                                                                             */

static int role_load(int argc, WCHAR **argv)
{
    HMODULE m;
    if (argc != 1) return usage("load PATH");
    m = LoadLibraryExW(argv[0], NULL, 0);
    if (!m) return setup_failed("LoadLibraryEx", GetLastError());
    signal_ready();
    wait_quit();
    FreeLibrary(m);
    return clean_exit();
}

static int role_map(int argc, WCHAR **argv)
{
    HANDLE f, m;
    void *view;
    if (argc != 1) return usage("map PATH");
    f = CreateFileW(argv[0], GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                    OPEN_EXISTING, 0, NULL);
    if (f == INVALID_HANDLE_VALUE) return setup_failed("CreateFile", GetLastError());
    m = CreateFileMappingW(f, NULL, PAGE_READONLY, 0, 0, NULL);
    if (!m) return setup_failed("CreateFileMapping", GetLastError());
    view = MapViewOfFile(m, FILE_MAP_READ, 0, 0, 0);
    if (!view) return setup_failed("MapViewOfFile", GetLastError());
    CloseHandle(m);
    CloseHandle(f);
    signal_ready();
    wait_quit();
    UnmapViewOfFile(view);
    return clean_exit();
}

/* ------------------------------------------------------------------------------ */
/* window                                                                           */

static BOOL win_refuse;
static DWORD win_close_delay;

static LRESULT CALLBACK window_proc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp)
{
    switch (msg)
    {
    case WM_QUERYENDSESSION:
        record("QUERYENDSESSION lparam=0x%08lx", (unsigned long)(DWORD)lp);
        return win_refuse ? FALSE : TRUE;
    case WM_ENDSESSION:
        record("ENDSESSION wparam=%u lparam=0x%08lx", (unsigned)(wp ? 1 : 0),
               (unsigned long)(DWORD)lp);
        if (wp)
        {
            if (win_close_delay) Sleep(win_close_delay);
            record("EXIT");
            ExitProcess(EXIT_OK);
        }
        return 0;
    case WM_CLOSE:
        record("CLOSE");
        if (win_close_delay) Sleep(win_close_delay);
        DestroyWindow(hwnd);
        return 0;
    case WM_DESTROY:
        PostQuitMessage(0);
        return 0;
    }
    return DefWindowProcW(hwnd, msg, wp, lp);
}

static int role_window(int argc, WCHAR **argv)
{
    BOOL hidden = FALSE, hang = FALSE;
    WCHAR deftitle[64];
    const WCHAR *title = NULL;
    HANDLE held = INVALID_HANDLE_VALUE;
    WNDCLASSEXW wc;
    HWND hwnd;
    MSG msg;
    int i;

    for (i = 0; i < argc; i++)
    {
        if (!wcscmp(argv[i], L"--hidden")) hidden = TRUE;
        else if (!wcscmp(argv[i], L"--refuse")) win_refuse = TRUE;
        else if (!wcscmp(argv[i], L"--hang")) hang = TRUE;
        else if (!wcscmp(argv[i], L"--close-delay") && i + 1 < argc)
        {
            if (!parse_dword(argv[++i], &win_close_delay)) return usage("window --close-delay MS");
        }
        else if (!wcscmp(argv[i], L"--title") && i + 1 < argc) title = argv[++i];
        else if (!wcscmp(argv[i], L"--say-cwd"))
        {
            WCHAR cwd[MAX_PATH];
            if (!GetCurrentDirectoryW(MAX_PATH, cwd)) cwd[0] = 0;
            record("CWD %ls", cwd);
        }
        else if (!wcscmp(argv[i], L"--hold") && i + 1 < argc)
        {
            /* A document the application keeps open (all sharing), until it exits. */
            held = CreateFileW(argv[++i], GENERIC_READ | GENERIC_WRITE,
                               FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                               OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
            if (held == INVALID_HANDLE_VALUE) return setup_failed("CreateFile", GetLastError());
        }
        else return usage("window [--hidden] [--refuse] [--hang] [--close-delay MS] [--title T] [--hold PATH] [--say-cwd]");
    }
    if (!title)
    {
        swprintf(deftitle, 64, L"rmhelper window %lu", GetCurrentProcessId());
        title = deftitle;
    }

    memset(&wc, 0, sizeof(wc));
    wc.cbSize = sizeof(wc);
    wc.lpfnWndProc = window_proc;
    wc.hInstance = GetModuleHandleW(NULL);
    wc.hCursor = LoadCursorW(NULL, (LPCWSTR)IDC_ARROW);
    wc.hbrBackground = (HBRUSH)(COLOR_WINDOW + 1);
    wc.lpszClassName = L"RmHelperWindow";
    if (!RegisterClassExW(&wc)) return setup_failed("RegisterClassEx", GetLastError());
    hwnd = CreateWindowExW(0, L"RmHelperWindow", title, WS_OVERLAPPEDWINDOW, CW_USEDEFAULT,
                           CW_USEDEFAULT, 320, 200, NULL, NULL, wc.hInstance, NULL);
    if (!hwnd) return setup_failed("CreateWindowEx", GetLastError());
    if (!hidden) ShowWindow(hwnd, SW_SHOWNOACTIVATE);
    UpdateWindow(hwnd);
    /* Empty the queue once so the window is fully created and pumping. */
    while (PeekMessageW(&msg, NULL, 0, 0, PM_REMOVE))
    {
        TranslateMessage(&msg);
        DispatchMessageW(&msg);
    }
    signal_ready();

    if (hang)
    {
        wait_quit();
        return clean_exit();
    }
    for (;;)
    {
        DWORD r = MsgWaitForMultipleObjectsEx(quit_event ? 1 : 0, quit_event ? &quit_event : NULL,
                                              INFINITE, QS_ALLINPUT, MWMO_INPUTAVAILABLE);
        if (quit_event && r == WAIT_OBJECT_0) return clean_exit();
        while (PeekMessageW(&msg, NULL, 0, 0, PM_REMOVE))
        {
            if (msg.message == WM_QUIT) return clean_exit();
            TranslateMessage(&msg);
            DispatchMessageW(&msg);
        }
    }
}

/* ------------------------------------------------------------------------------ */
/* console                                                                          */

static BOOL con_ignore;
static DWORD con_close_delay;

static BOOL WINAPI console_handler(DWORD type)
{
    record("CTRL %lu", (unsigned long)type);
    if (!con_ignore &&
        (type == CTRL_C_EVENT || type == CTRL_BREAK_EVENT || type == CTRL_CLOSE_EVENT))
    {
        if (con_close_delay) Sleep(con_close_delay);
        record("EXIT");
        ExitProcess(EXIT_OK);
    }
    return TRUE;
}

static int role_console(int argc, WCHAR **argv)
{
    int i;
    for (i = 0; i < argc; i++)
    {
        if (!wcscmp(argv[i], L"--ignore-ctrl-c")) con_ignore = TRUE;
        else if (!wcscmp(argv[i], L"--close-delay") && i + 1 < argc)
        {
            if (!parse_dword(argv[++i], &con_close_delay)) return usage("console --close-delay MS");
        }
        else return usage("console [--ignore-ctrl-c] [--close-delay MS]");
    }
    /* A process started in a new process group has CTRL_C disabled: enable it. */
    SetConsoleCtrlHandler(NULL, FALSE);
    if (!SetConsoleCtrlHandler(console_handler, TRUE))
        return setup_failed("SetConsoleCtrlHandler", GetLastError());
    signal_ready();
    wait_quit();
    return clean_exit();
}

/* sendctrl PID [c|break] */
static BOOL WINAPI swallow_handler(DWORD type)
{
    return TRUE;
}

static int role_sendctrl(int argc, WCHAR **argv)
{
    DWORD pid, type = CTRL_C_EVENT;
    BOOL ok;
    if (argc < 1 || argc > 2 || !parse_dword(argv[0], &pid)) return usage("sendctrl PID [c|break]");
    if (argc == 2)
    {
        if (!wcscmp(argv[1], L"break")) type = CTRL_BREAK_EVENT;
        else if (wcscmp(argv[1], L"c")) return usage("sendctrl PID [c|break]");
    }
    FreeConsole();
    if (!AttachConsole(pid)) return setup_failed("AttachConsole", GetLastError());
    SetConsoleCtrlHandler(NULL, TRUE);
    SetConsoleCtrlHandler(swallow_handler, TRUE);
    ok = GenerateConsoleCtrlEvent(type, 0);
    if (!ok) return setup_failed("GenerateConsoleCtrlEvent", GetLastError());
    /* Give our own (ignored) delivery a moment before leaving the console. */
    Sleep(100);
    FreeConsole();
    signal_ready();
    return clean_exit();
}

/* ------------------------------------------------------------------------------ */
/* start / join                                                                     */

static int role_start(int argc, WCHAR **argv)
{
    const WCHAR *out = NULL;
    WCHAR key[CCH_RM_SESSION_KEY + 1];
    char text[128];
    DWORD handle = 0, rc, written;
    HANDLE h;
    int n;

    if (argc == 2 && !wcscmp(argv[0], L"--out")) out = argv[1];
    else if (argc != 0) return usage("start [--out FILE]");

    memset(key, 0, sizeof(key));
    rc = RmStartSession(&handle, 0, key);
    if (rc != ERROR_SUCCESS) return setup_failed("RmStartSession", rc);
    record("SESSION %lu %ls", (unsigned long)handle, key);
    n = snprintf(text, sizeof(text), "%lu %ls\n", (unsigned long)handle, key);
    if (out)
    {
        h = CreateFileW(out, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_DELETE, NULL,
                        CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
        if (h == INVALID_HANDLE_VALUE)
        {
            DWORD err = GetLastError();
            RmEndSession(handle);
            return setup_failed("CreateFile", err);
        }
        if (!WriteFile(h, text, (DWORD)n, &written, NULL) || written != (DWORD)n)
        {
            DWORD err = GetLastError();
            CloseHandle(h);
            RmEndSession(handle);
            return setup_failed("WriteFile", err);
        }
        CloseHandle(h);
    }
    else
    {
        h = GetStdHandle(STD_OUTPUT_HANDLE);
        if (h && h != INVALID_HANDLE_VALUE) WriteFile(h, text, (DWORD)n, &written, NULL);
    }
    signal_ready();
    wait_quit();
    rc = RmEndSession(handle);
    record("END %lu", (unsigned long)rc);
    return clean_exit();
}

static int role_join(int argc, WCHAR **argv)
{
    LPCWSTR files[MAX_HOLD], svc[1] = { NULL };
    UINT nfiles = 0;
    BOOL no_end = FALSE;
    DWORD handle = 0, rc, first = ERROR_SUCCESS;
    int i;

    if (argc < 1) return usage("join KEY [--no-end] [--svc NAME] [FILE...]");
    for (i = 1; i < argc; i++)
    {
        if (!wcscmp(argv[i], L"--no-end")) no_end = TRUE;
        else if (!wcscmp(argv[i], L"--svc") && i + 1 < argc) svc[0] = argv[++i];
        else if (nfiles == MAX_HOLD) return usage("join: too many files");
        else files[nfiles++] = argv[i];
    }
    rc = RmJoinSession(&handle, argv[0]);
    record("JOIN %lu", (unsigned long)rc);
    if (rc != ERROR_SUCCESS) return (int)rc;
    if (nfiles || svc[0])
    {
        rc = RmRegisterResources(handle, nfiles, files, 0, NULL, svc[0] ? 1 : 0, svc[0] ? svc : NULL);
        record("REGISTER %lu", (unsigned long)rc);
        if (rc != ERROR_SUCCESS && first == ERROR_SUCCESS) first = rc;
    }
    if (no_end)
    {
        signal_ready();
        wait_quit();
        if (first == ERROR_SUCCESS) record("EXIT");
        return (int)first;
    }
    rc = RmEndSession(handle);
    record("END %lu", (unsigned long)rc);
    if (rc != ERROR_SUCCESS && first == ERROR_SUCCESS) first = rc;
    signal_ready();
    if (first == ERROR_SUCCESS) record("EXIT");
    return (int)first;
}

/* ------------------------------------------------------------------------------ */
/* service                                                                          */

static WCHAR *svc_name;
static const WCHAR *svc_hold_path;
static BOOL svc_ignore_stop;         /* --ignore-stop: a service that never stops */
static SERVICE_STATUS_HANDLE svc_status_handle;
static SERVICE_STATUS svc_status;
static HANDLE svc_stop_event;
static int svc_exit_code = EXIT_OK;

static void svc_report(DWORD state, DWORD exit_code, DWORD wait_hint)
{
    static DWORD checkpoint = 1;
    svc_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    svc_status.dwCurrentState = state;
    svc_status.dwControlsAccepted =
        (state == SERVICE_RUNNING) ? (SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN) : 0;
    svc_status.dwWin32ExitCode = exit_code ? ERROR_SERVICE_SPECIFIC_ERROR : NO_ERROR;
    svc_status.dwServiceSpecificExitCode = exit_code;
    svc_status.dwWaitHint = wait_hint;
    svc_status.dwCheckPoint =
        (state == SERVICE_RUNNING || state == SERVICE_STOPPED) ? 0 : checkpoint++;
    SetServiceStatus(svc_status_handle, &svc_status);
}

static DWORD WINAPI svc_control(DWORD control, DWORD type, void *data, void *context)
{
    switch (control)
    {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
        /* The name lets services sharing a record file be told apart (order). */
        record("%s %ls", control == SERVICE_CONTROL_STOP ? "STOP" : "SHUTDOWN", svc_name);
        if (svc_ignore_stop) return NO_ERROR;   /* says yes, never stops */
        svc_report(SERVICE_STOP_PENDING, 0, 3000);
        SetEvent(svc_stop_event);
        return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
        return NO_ERROR;
    }
    return ERROR_CALL_NOT_IMPLEMENTED;
}

static void WINAPI svc_main(DWORD argc, LPWSTR *argv)
{
    HANDLE file = INVALID_HANDLE_VALUE;

    svc_status_handle = RegisterServiceCtrlHandlerExW(svc_name, svc_control, NULL);
    if (!svc_status_handle)
    {
        setup_failed("RegisterServiceCtrlHandlerEx", GetLastError());
        svc_exit_code = EXIT_SETUP;
        return;
    }
    svc_report(SERVICE_START_PENDING, 0, 3000);
    svc_stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!svc_stop_event)
    {
        setup_failed("CreateEvent", GetLastError());
        svc_exit_code = EXIT_SETUP;
        svc_report(SERVICE_STOPPED, EXIT_SETUP, 0);
        return;
    }
    if (svc_hold_path)
    {
        file = CreateFileW(svc_hold_path, GENERIC_READ | GENERIC_WRITE,
                           FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
        if (file == INVALID_HANDLE_VALUE)
        {
            setup_failed("CreateFile", GetLastError());
            svc_exit_code = EXIT_SETUP;
            svc_report(SERVICE_STOPPED, EXIT_SETUP, 0);
            return;
        }
    }
    /* Recorded before the SCM hears "running", so whoever waited for that finds it. */
    record("STARTED %ls", svc_name);
    svc_report(SERVICE_RUNNING, 0, 0);
    WaitForSingleObject(svc_stop_event, INFINITE);
    if (file != INVALID_HANDLE_VALUE) CloseHandle(file);
    record("EXIT");
    svc_report(SERVICE_STOPPED, 0, 0);
}

static int role_service(int argc, WCHAR **argv)
{
    SERVICE_TABLE_ENTRYW table[2];

    if (argc >= 2 && !wcscmp(argv[argc - 1], L"--ignore-stop"))
    {
        svc_ignore_stop = TRUE;
        argc--;
    }
    if (argc == 3 && !wcscmp(argv[1], L"hold")) svc_hold_path = argv[2];
    else if (argc != 1) return usage("service NAME [hold PATH] [--ignore-stop]");
    svc_name = argv[0];
    table[0].lpServiceName = svc_name;
    table[0].lpServiceProc = svc_main;
    table[1].lpServiceName = NULL;
    table[1].lpServiceProc = NULL;
    if (!StartServiceCtrlDispatcherW(table))
        return setup_failed("StartServiceCtrlDispatcher", GetLastError());
    return svc_exit_code;
}

/* ------------------------------------------------------------------------------ */
/* sleep                                                                            */

static int role_sleep(int argc, WCHAR **argv)
{
    if (argc != 0) return usage("sleep");
    signal_ready();
    wait_quit();
    return clean_exit();
}

/* ------------------------------------------------------------------------------ */
/* churn / regloop / script  (task "load": load, concurrency and fault tests)       */

/* churn SECONDS THREADS DIR: THREADS threads, each in a loop until SECONDS pass (or
 * the quit event; up to SECONDS more while the process has not started a session): RmStartSession, RmJoinSession with its key, RmRegisterResources
 * through the secondary handle (one new file name under DIR, which need not exist,
 * plus this process), RmGetList through the primary (this process must be listed:
 * the registration is visible), then both RmEndSession. At the end one line:
 *   CHURN starts=%lu maxed=%lu semtimeout=%lu joins=%lu registers=%lu lists=%lu
 *         lost=%lu ends=%lu errors=%lu
 * maxed counts ERROR_MAX_SESSIONS_REACHED, semtimeout ERROR_SEM_TIMEOUT from any
 * call, lost a listed registration RmGetList did not show, errors anything else
 * (the first few are recorded as "CHURNERR <call> <code>"). Exit 0, or 4 when
 * lost or errors is not 0. */

struct churn_counts
{
    LONG starts, maxed, semtimeout, joins, registers, lists, lost, ends, errors, logged;
};

static struct churn_counts churn;
static DWORD churn_deadline, churn_grace_ms;
static const WCHAR *churn_dir;

static void churn_error(const char *call, DWORD code)
{
    if (code == ERROR_SEM_TIMEOUT)
    {
        InterlockedIncrement(&churn.semtimeout);
        return;
    }
    InterlockedIncrement(&churn.errors);
    if (InterlockedIncrement(&churn.logged) <= 8) record("CHURNERR %s %lu", call, (unsigned long)code);
}

static BOOL churn_self(RM_UNIQUE_PROCESS *p)
{
    FILETIME c, e, k, u;
    if (!GetProcessTimes(GetCurrentProcess(), &c, &e, &k, &u)) return FALSE;
    p->dwProcessId = GetCurrentProcessId();
    p->ProcessStartTime = c;
    return TRUE;
}

/* TRUE if RmGetList(h) succeeds and lists this process. */
static BOOL churn_listed(DWORD h)
{
    RM_PROCESS_INFO *info = NULL;
    UINT needed = 0, n = 0, i, tries;
    DWORD reasons, rc = ERROR_MORE_DATA, me = GetCurrentProcessId();
    BOOL found = FALSE;

    for (tries = 0; tries < 3 && rc == ERROR_MORE_DATA; tries++)
    {
        free(info);
        info = NULL;
        n = needed;
        if (n && !(info = calloc(n, sizeof(*info)))) return FALSE;
        rc = RmGetList(h, &needed, &n, info, &reasons);
    }
    if (rc != ERROR_SUCCESS) churn_error("RmGetList", rc);
    else
    {
        InterlockedIncrement(&churn.lists);
        for (i = 0; i < n; i++)
            if (info[i].Process.dwProcessId == me) found = TRUE;
        if (!found)
        {
            InterlockedIncrement(&churn.lost);
            if (InterlockedIncrement(&churn.logged) <= 8) record("CHURNLOST session %lu", (unsigned long)h);
        }
    }
    free(info);
    return found;
}

/* Until the deadline; past it, only while this process has not had a session yet
 * (for at most as long again). The slots are first come, first served, with no
 * fairness between processes, and a helper that starts late (process creation is
 * slow under emulation) can find them all taken until the others stop: the test's
 * claim is that every process gets a slot once the others let go, not that it wins
 * a race it joined late. */
static BOOL churn_going(void)
{
    LONG left = (LONG)(churn_deadline - GetTickCount());
    if (left > 0) return TRUE;
    return !churn.starts && -left < (LONG)churn_grace_ms;
}

static DWORD WINAPI churn_thread(void *param)
{
    WCHAR key[CCH_RM_SESSION_KEY + 1], file[MAX_PATH + 64];
    RM_UNIQUE_PROCESS self;
    DWORD n = 0, id = GetCurrentThreadId();
    (void)param;

    if (!churn_self(&self)) return 1;
    while (churn_going() && !(quit_event && WaitForSingleObject(quit_event, 0) == WAIT_OBJECT_0))
    {
        DWORD h = 0, hj = 0, rc;
        LPCWSTR files[1] = { file };

        rc = RmStartSession(&h, 0, key);
        if (rc == ERROR_MAX_SESSIONS_REACHED)
        {
            InterlockedIncrement(&churn.maxed);
            Sleep(n++ % 3);
            continue;
        }
        if (rc)
        {
            churn_error("RmStartSession", rc);
            continue;
        }
        InterlockedIncrement(&churn.starts);
        rc = RmJoinSession(&hj, key);
        if (rc) churn_error("RmJoinSession", rc);
        else
        {
            InterlockedIncrement(&churn.joins);
            swprintf(file, ARRAYSIZE(file), L"%ls\\churn-%lu-%lu-%lu.dat", churn_dir,
                     (unsigned long)GetCurrentProcessId(), (unsigned long)id, (unsigned long)n++);
            rc = RmRegisterResources(hj, 1, files, 1, &self, 0, NULL);
            if (rc) churn_error("RmRegisterResources", rc);
            else
            {
                InterlockedIncrement(&churn.registers);
                churn_listed(h);
            }
            if ((rc = RmEndSession(hj))) churn_error("RmEndSession(secondary)", rc);
            else InterlockedIncrement(&churn.ends);
        }
        /* A failed end leaves the handle valid: try again once. */
        if ((rc = RmEndSession(h)) && (rc = RmEndSession(h))) churn_error("RmEndSession", rc);
        else InterlockedIncrement(&churn.ends);
    }
    return 0;
}

static int role_churn(int argc, WCHAR **argv)
{
    HANDLE threads[32];
    DWORD seconds, nthreads, i, started = 0;

    if (argc != 3 || !parse_dword(argv[0], &seconds) || !parse_dword(argv[1], &nthreads) ||
        !nthreads || nthreads > ARRAYSIZE(threads))
        return usage("churn SECONDS THREADS DIR");
    churn_dir = argv[2];
    churn_deadline = GetTickCount() + seconds * 1000;
    churn_grace_ms = seconds * 1000;
    for (i = 0; i < nthreads; i++)
    {
        if (!(threads[i] = CreateThread(NULL, 0, churn_thread, NULL, 0, NULL))) break;
        started++;
    }
    if (started != nthreads)
    {
        churn_deadline = GetTickCount();
        WaitForMultipleObjects(started, threads, TRUE, INFINITE);
        return setup_failed("CreateThread", GetLastError());
    }
    signal_ready();
    WaitForMultipleObjects(started, threads, TRUE, INFINITE);
    for (i = 0; i < started; i++) CloseHandle(threads[i]);
    record("CHURN starts=%ld maxed=%ld semtimeout=%ld joins=%ld registers=%ld lists=%ld lost=%ld "
           "ends=%ld errors=%ld", churn.starts, churn.maxed, churn.semtimeout, churn.joins,
           churn.registers, churn.lists, churn.lost, churn.ends, churn.errors);
    if (churn.lost || churn.errors) return 4;
    return clean_exit();
}

/* regloop KEY COUNT DIR: joins KEY, then registers batches of COUNT new file names
 * (DIR\regloop-<pid>-<batch>-<i>.dat, need not exist) in one RmRegisterResources
 * each, forever (until killed or the quit event). After each call one line:
 *   BATCH <n> <result>
 * The first batch is registered before ready is signalled. */
static int role_regloop(int argc, WCHAR **argv)
{
    DWORD handle = 0, count, batch, i, rc;
    WCHAR **names;
    LPCWSTR *files;

    if (argc != 3 || !parse_dword(argv[1], &count) || !count || count > 100000)
        return usage("regloop KEY COUNT DIR");
    names = calloc(count, sizeof(*names));
    files = calloc(count, sizeof(*files));
    if (!names || !files) return setup_failed("calloc", ERROR_OUTOFMEMORY);
    for (i = 0; i < count; i++)
        if (!(names[i] = malloc((wcslen(argv[2]) + 64) * sizeof(WCHAR))))
            return setup_failed("malloc", ERROR_OUTOFMEMORY);
    rc = RmJoinSession(&handle, argv[0]);
    record("JOIN %lu", (unsigned long)rc);
    if (rc) return (int)rc;
    for (batch = 0;; batch++)
    {
        for (i = 0; i < count; i++)
        {
            swprintf(names[i], wcslen(argv[2]) + 64, L"%ls\\regloop-%lu-%lu-%lu.dat", argv[2],
                     (unsigned long)GetCurrentProcessId(), (unsigned long)batch, (unsigned long)i);
            files[i] = names[i];
        }
        rc = RmRegisterResources(handle, count, files, 0, NULL, 0, NULL);
        record("BATCH %lu %lu", (unsigned long)batch, (unsigned long)rc);
        if (batch == 0) signal_ready();
        if (quit_event && WaitForSingleObject(quit_event, 0) == WAIT_OBJECT_0) break;
    }
    RmEndSession(handle);
    return clean_exit();
}

/* script OP...: runs the Rm* calls in order, one line each, and exits 0:
 *   start          RmStartSession            -> "start <rc> <handle> <key>"
 *   join KEY       RmJoinSession             -> "join <rc> <handle>"
 *   reg PATH       RmRegisterResources(file) -> "reg <rc>"
 *   regself        RmRegisterResources(this process) -> "regself <rc>"
 *   regboth PATH   RmRegisterResources(the file and this process, one call: two
 *                  groups)                              -> "regboth <rc>"
 *   regsvc NAME    RmRegisterResources(service) -> "regsvc <rc>"
 *   list           RmGetList                 -> "list <rc> <needed> <reasons>"
 *   pids           RmGetList (room for 64)   -> "pids <rc> <needed> <pid> <pid> ..."
 *   types          RmGetList, the entries    -> "types <rc> <type>..." (ApplicationType)
 *   shutdown       RmShutdown(0)             -> "shutdown <rc>"
 *   end            RmEndSession              -> "end <rc>"
 *   wait           signals ready and waits for the quit event
 *   sleep MS       Sleep(MS)
 *   open PATH      opens the file (kept open until exit) -> "open <error>"
 *   map PATH       maps the file as data and closes every handle to it, keeping
 *                  only the view                         -> "map <error>"
 *   mypid          -> "mypid <pid>"
 *   reg2 PATH PATH RmRegisterResources(both files, one call) -> "reg2 <rc>"
 *   loaderlock     takes the loader lock (LdrLockLoaderLock), as a caller inside
 *                  DllMain holds it, until loaderunlock -> "loaderlock <status>"
 *   loaderunlock   -> "loaderunlock <status>"
 *   storelock      takes the store's lock (src/shared/storelock.h) from outside the
 *                  DLL and keeps it until exit: killed, it plays a writer that
 *                  died holding it     -> "storelock <0 taken, 1 abandoned, 2 timed out, 3 no board>"
 * Calls use the handle of the last successful start or join. */
/* The store lock, taken as a writer would (the store must have been used: a start
 * creates its board). The board stays mapped until exit. */
static int take_store_lock(void)
{
    BYTE buf[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    WCHAR *sid = NULL, name[256];
    HANDLE token, section, wake;
    struct rm_board *board;
    DWORD len;

    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) return 3;
    if (!GetTokenInformation(token, TokenUser, buf, sizeof(buf), &len) ||
        !ConvertSidToStringSidW(((TOKEN_USER *)buf)->User.Sid, &sid))
    {
        CloseHandle(token);
        return 3;
    }
    CloseHandle(token);
    swprintf(name, ARRAYSIZE(name), L"%ls%ls%ls", RM_STORE_BASE_NAME, sid, RM_BOARD_SUFFIX);
    section = OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, name);
    swprintf(name, ARRAYSIZE(name), L"%ls%ls%ls", RM_STORE_BASE_NAME, sid, RM_WAKE_SUFFIX);
    wake = OpenEventW(SYNCHRONIZE | EVENT_MODIFY_STATE, FALSE, name);
    LocalFree(sid);
    if (!section || !wake) return 3;
    if (!(board = MapViewOfFile(section, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, sizeof(*board)))) return 3;
    return (int)rm_lock_take(&board->lock, wake, 10000);
}

static int role_script(int argc, WCHAR **argv)
{
    WCHAR key[CCH_RM_SESSION_KEY + 1];
    DWORD handle = 0, rc;
    int i;

    for (i = 0; i < argc; i++)
    {
        const WCHAR *op = argv[i];
        if (!wcscmp(op, L"start"))
        {
            DWORD h = 0;
            memset(key, 0, sizeof(key));
            rc = RmStartSession(&h, 0, key);
            if (!rc) handle = h;
            record("start %lu %lu %ls", (unsigned long)rc, (unsigned long)h, rc ? L"-" : key);
        }
        else if (!wcscmp(op, L"join") && i + 1 < argc)
        {
            DWORD h = 0;
            rc = RmJoinSession(&h, argv[++i]);
            if (!rc) handle = h;
            record("join %lu %lu", (unsigned long)rc, (unsigned long)h);
        }
        else if (!wcscmp(op, L"reg") && i + 1 < argc)
        {
            LPCWSTR files[1] = { argv[++i] };
            rc = RmRegisterResources(handle, 1, files, 0, NULL, 0, NULL);
            record("reg %lu", (unsigned long)rc);
        }
        else if (!wcscmp(op, L"regsvc") && i + 1 < argc)
        {
            LPCWSTR svcs[1] = { argv[++i] };
            rc = RmRegisterResources(handle, 0, NULL, 0, NULL, 1, svcs);
            record("regsvc %lu", (unsigned long)rc);
        }
        else if (!wcscmp(op, L"types"))
        {
            RM_PROCESS_INFO info[8];
            UINT needed = 0, n = 8, j;
            DWORD reasons = 0;
            char line[256];
            int len;
            rc = RmGetList(handle, &needed, &n, info, &reasons);
            len = snprintf(line, sizeof(line), "types %lu", (unsigned long)rc);
            for (j = 0; !rc && j < n && len < (int)sizeof(line) - 16; j++)
                len += snprintf(line + len, sizeof(line) - len, " %d", (int)info[j].ApplicationType);
            record("%s", line);
        }
        else if (!wcscmp(op, L"shutdown"))
        {
            rc = RmShutdown(handle, 0, NULL);
            record("shutdown %lu", (unsigned long)rc);
        }
        else if (!wcscmp(op, L"regboth") && i + 1 < argc)
        {
            RM_UNIQUE_PROCESS self;
            LPCWSTR files[1] = { argv[++i] };
            rc = churn_self(&self) ? RmRegisterResources(handle, 1, files, 1, &self, 0, NULL) : GetLastError();
            record("regboth %lu", (unsigned long)rc);
        }
        else if (!wcscmp(op, L"regself"))
        {
            RM_UNIQUE_PROCESS self;
            rc = churn_self(&self) ? RmRegisterResources(handle, 0, NULL, 1, &self, 0, NULL)
                                   : GetLastError();
            record("regself %lu", (unsigned long)rc);
        }
        else if (!wcscmp(op, L"list"))
        {
            UINT needed = 0, n = 0;
            DWORD reasons = 0;
            rc = RmGetList(handle, &needed, &n, NULL, &reasons);
            record("list %lu %u %lu", (unsigned long)rc, needed, (unsigned long)reasons);
        }
        else if (!wcscmp(op, L"pids"))
        {
            static RM_PROCESS_INFO info[64];
            char line[64 * 12 + 64];
            UINT needed = 0, n = ARRAYSIZE(info), k;
            DWORD reasons = 0;
            int len;
            rc = RmGetList(handle, &needed, &n, info, &reasons);
            len = snprintf(line, sizeof(line), "pids %lu %u", (unsigned long)rc, needed);
            for (k = 0; !rc && k < n && len > 0 && (size_t)len < sizeof(line) - 12; k++)
                len += snprintf(line + len, sizeof(line) - (size_t)len, " %lu",
                                (unsigned long)info[k].Process.dwProcessId);
            record("%s", line);
        }
        else if (!wcscmp(op, L"open") && i + 1 < argc)
        {
            HANDLE h = CreateFileW(argv[++i], GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                                   NULL, OPEN_EXISTING, 0, NULL);
            record("open %lu", h == INVALID_HANDLE_VALUE ? (unsigned long)GetLastError() : 0ul);
        }
        else if (!wcscmp(op, L"map") && i + 1 < argc)
        {
            HANDLE h = CreateFileW(argv[++i], GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                                   NULL, OPEN_EXISTING, 0, NULL), m = NULL;
            void *view = NULL;
            if (h != INVALID_HANDLE_VALUE && (m = CreateFileMappingW(h, NULL, PAGE_READONLY, 0, 0, NULL)))
                view = MapViewOfFile(m, FILE_MAP_READ, 0, 0, 0);
            record("map %lu", view ? 0ul : (unsigned long)GetLastError());
            if (m) CloseHandle(m);
            if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
        }
        else if (!wcscmp(op, L"mypid"))
            record("mypid %lu", (unsigned long)GetCurrentProcessId());
        else if (!wcscmp(op, L"reg2") && i + 2 < argc)
        {
            LPCWSTR files[2] = { argv[i + 1], argv[i + 2] };
            i += 2;
            rc = RmRegisterResources(handle, 2, files, 0, NULL, 0, NULL);
            record("reg2 %lu", (unsigned long)rc);
        }
        else if (!wcscmp(op, L"loaderlock") || !wcscmp(op, L"loaderunlock"))
        {
            /* ntdll's, undocumented but in every Windows and Wine: what the loader
             * holds around DllMain. */
            typedef LONG (NTAPI *lock_fn)(ULONG flags, ULONG *state, ULONG_PTR *cookie);
            typedef LONG (NTAPI *unlock_fn)(ULONG flags, ULONG_PTR cookie);
            static ULONG_PTR cookie;
            HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
            LONG st = -1;
            if (!wcscmp(op, L"loaderlock"))
            {
                lock_fn lock = (lock_fn)(void *)GetProcAddress(ntdll, "LdrLockLoaderLock");
                if (lock) st = lock(0, NULL, &cookie);
            }
            else
            {
                unlock_fn unlock = (unlock_fn)(void *)GetProcAddress(ntdll, "LdrUnlockLoaderLock");
                if (unlock) st = unlock(0, cookie);
            }
            record("%ls %ld", op, (long)st);
        }
        else if (!wcscmp(op, L"storelock")) record("storelock %d", take_store_lock());
        else if (!wcscmp(op, L"end"))
        {
            rc = RmEndSession(handle);
            record("end %lu", (unsigned long)rc);
        }
        else if (!wcscmp(op, L"wait"))
        {
            signal_ready();
            wait_quit();
        }
        else if (!wcscmp(op, L"sleep") && i + 1 < argc)
        {
            DWORD ms;
            if (!parse_dword(argv[++i], &ms)) return usage("script: sleep MS");
            Sleep(ms);
        }
        else return usage("script: unknown op");
    }
    return clean_exit();
}

/* ------------------------------------------------------------------------------ */

static int run(void)
{
    int argc = 0, i = 1;
    WCHAR **argv = CommandLineToArgvW(GetCommandLineW(), &argc);
    const WCHAR *role;

    InitializeCriticalSection(&record_lock);
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX | SEM_NOOPENFILEERRORBOX);
    if (!argv) return EXIT_USAGE;

    /* --record first, so failures of the other options can be recorded. */
    for (i = 1; i + 1 < argc && !wcsncmp(argv[i], L"--", 2); i += 2)
        if (!wcscmp(argv[i], L"--record")) record_path = argv[i + 1];
    for (i = 1; i < argc && !wcsncmp(argv[i], L"--", 2); i += 2)
    {
        if (i + 1 >= argc) return usage("option without value");
        /* An instance the Restart Manager restarted runs the same command line
         * after the test may have closed these events: without them it just
         * runs (until killed), and says so. */
        if (!wcscmp(argv[i], L"--ready"))
        {
            ready_event = OpenEventW(EVENT_MODIFY_STATE, FALSE, argv[i + 1]);
            if (!ready_event) record("NOREADY %lu", GetLastError());
        }
        else if (!wcscmp(argv[i], L"--quit"))
        {
            quit_event = OpenEventW(SYNCHRONIZE, FALSE, argv[i + 1]);
            if (!quit_event) record("NOQUIT %lu", GetLastError());
        }
        else if (wcscmp(argv[i], L"--record")) return usage("unknown option");
    }
    if (i >= argc) return usage("no role");
    role = argv[i++];
    argc -= i;
    argv += i;

    if (!wcscmp(role, L"hold")) return role_hold(argc, argv);
    if (!wcscmp(role, L"map")) return role_map(argc, argv);
    if (!wcscmp(role, L"load")) return role_load(argc, argv);
    if (!wcscmp(role, L"window")) return role_window(argc, argv);
    if (!wcscmp(role, L"console")) return role_console(argc, argv);
    if (!wcscmp(role, L"start")) return role_start(argc, argv);
    if (!wcscmp(role, L"join")) return role_join(argc, argv);
    if (!wcscmp(role, L"service")) return role_service(argc, argv);
    if (!wcscmp(role, L"sleep")) return role_sleep(argc, argv);
    if (!wcscmp(role, L"sendctrl")) return role_sendctrl(argc, argv);
    /* task "load" */
    if (!wcscmp(role, L"churn")) return role_churn(argc, argv);
    if (!wcscmp(role, L"regloop")) return role_regloop(argc, argv);
    if (!wcscmp(role, L"script")) return role_script(argc, argv);
    return usage("unknown role");
}

#ifdef RMHELPER_GUI
int WINAPI WinMain(HINSTANCE instance, HINSTANCE prev, LPSTR cmdline, int show)
{
    ExitProcess((UINT)run());
}
#else
int main(void)
{
    ExitProcess((UINT)run());
}
#endif
