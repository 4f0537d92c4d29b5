/*
 * bench_getlist.c - RmGetList against its floor (issue 3 targets).
 *
 * Set-up: HOLDERS helper processes each hold FILES_PER_HOLDER files open
 * (rmhelper.exe "hold PATH rwd PATH2 rwd ..."), and LOADERS helpers each have a
 * copy of a DLL loaded (rmhelper.exe "load PATH"). Two sessions are started: one
 * with 1 registered file (a held one), one with 10,000 (all 4,000 held files, the
 * loaded DLL copies, and the rest existing-but-unheld or nonexistent files).
 *
 * Then, interleaved, RUNS times each:
 *  (i)   the FLOOR, done here without the DLL: one
 *        NtQuerySystemInformation(SystemExtendedHandleInformation) snapshot, and for
 *        every File handle of another process OpenProcess(PROCESS_DUP_HANDLE) (once
 *        per process) + DuplicateHandle + GetFileInformationByHandle + CloseHandle;
 *  (ii)  RmGetList with 1 registered file;
 *  (iii) RmGetList with 10,000 registered files.
 * Medians are compared.
 *
 * Targets: RmGetList(10,000) <= 1.5 x floor, and (t10k - t1) / t1 < 20%.
 * Also checked: RmGetList lists every holder and loader (else the numbers mean
 * nothing). For reading the numbers it also times, outside the targets, two
 * components a list call may repeat: existence checks of the nonexistent
 * registered files, and a module list of every process.
 *
 * Reading the result: the floor queries every File handle. RmGetList need not: once
 * a process is known to use a registered file, its other handles do not matter. With
 * 1 registered file it must look at nearly every handle (about the floor); with
 * 10,000, every holder matches at once, so the 10,000 case can be the faster one.
 *
 * Output: plain "name: value unit" lines and one verdict line per target.
 * Informative only: exit code 0 whether or not a target is met; 1 if an API call
 * failed or set-up was impossible, 2 if the rstrtmgr.dll loaded is not this
 * project's, 3 if RmGetList missed a holder or loader.
 *
 * If rmhelper.exe refuses FILES_PER_HOLDER files in one hold role, this program
 * plays the holder itself (bench_getlist.exe --hold-child ...), with the same
 * CreateFileW call, so the set-up stays 40 processes x 100 files.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "rmspawn.h"
#include <shellapi.h>
#include <tlhelp32.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define HOLDERS          40
#define FILES_PER_HOLDER 100
#define HELD_FILES       (HOLDERS * FILES_PER_HOLDER)
#define LOADERS          4
#define N_REGISTERED       10000
#define UNHELD_FILES     2000                   /* exist, nobody holds them */
#define MISSING_FILES    (N_REGISTERED - HELD_FILES - LOADERS - UNHELD_FILES)
#define RUNS             5
#define MAX_APPS         512
#define TARGET_FLOOR_RATIO 1.5
#define TARGET_OVERHEAD    0.20
#define SPAWN_TIMEOUT_MS 30000

/* ---- small tools -------------------------------------------------------------------- */

static WCHAR dir[MAX_PATH];

static WCHAR *wdup(const WCHAR *s)
{
    size_t n = wcslen(s) + 1;
    WCHAR *p = malloc(n * sizeof(WCHAR));
    if (p) memcpy(p, s, n * sizeof(WCHAR));
    return p;
}

static WCHAR *held_path(int holder, int file)
{
    WCHAR buf[MAX_PATH];
    swprintf(buf, MAX_PATH, L"%ls\\held\\h%02d_%03d.dat", dir, holder, file);
    return wdup(buf);
}

static BOOL create_file(const WCHAR *path)
{
    HANDLE h = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    DWORD written;
    if (h == INVALID_HANDLE_VALUE)
    {
        printf("error: cannot create %ls (%lu)\n", path, GetLastError());
        return FALSE;
    }
    WriteFile(h, "rmbench\n", 8, &written, NULL);
    CloseHandle(h);
    return TRUE;
}

/* ---- the floor ------------------------------------------------------------------------ */

static USHORT file_type_index;

static struct rmt_handle_info *snapshot(void)
{
    LONG st = 0;
    struct rmt_handle_info *info = rmt_handle_snapshot(&st);
    if (!info) printf("error: NtQuerySystemInformation(64) failed with 0x%08lx\n", (unsigned long)st);
    return info;
}

/* Opens a file of ours and finds that handle in a snapshot: its type is File. */
static BOOL learn_file_type(void)
{
    WCHAR path[MAX_PATH];
    struct rmt_handle_info *info;
    HANDLE h;
    ULONG_PTR i, pid = GetCurrentProcessId();

    swprintf(path, MAX_PATH, L"%ls\\probe.dat", dir);
    h = CreateFileW(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) return FALSE;
    if ((info = snapshot()))
    {
        for (i = 0; i < info->NumberOfHandles; i++)
            if (info->Handles[i].UniqueProcessId == pid && info->Handles[i].HandleValue == (ULONG_PTR)h)
            {
                file_type_index = info->Handles[i].ObjectTypeIndex;
                break;
            }
        free(info);
    }
    CloseHandle(h);
    DeleteFileW(path);
    return file_type_index != 0;
}

struct floor_stats
{
    ULONG_PTR handles;        /* all handles in the snapshot */
    ULONG_PTR file_handles;   /* File handles of other processes */
    ULONG_PTR identified;     /* duplicated and queried successfully */
    ULONG processes;          /* distinct processes owning them */
};

struct proc_slot { ULONG_PTR pid; HANDLE h; };

/* One floor pass; returns seconds (negative on failure). */
static double floor_pass(struct floor_stats *st)
{
    static struct proc_slot procs[4096];
    ULONG nprocs = 0, k;
    ULONG_PTR i, self = GetCurrentProcessId(), last_pid = 0;
    HANDLE last = NULL, me = GetCurrentProcess();
    struct rmt_handle_info *info;
    double t0 = rmt_now_s(), t;

    memset(st, 0, sizeof(*st));
    if (!(info = snapshot())) return -1;
    st->handles = info->NumberOfHandles;
    for (i = 0; i < info->NumberOfHandles; i++)
    {
        const struct rmt_handle_entry *e = &info->Handles[i];
        BY_HANDLE_FILE_INFORMATION fi;
        HANDLE dup;

        if (e->ObjectTypeIndex != file_type_index || !e->UniqueProcessId || e->UniqueProcessId == self)
            continue;
        st->file_handles++;
        /* OpenProcess once per process (entries usually come grouped by process;
         * the table covers the case where they do not). */
        if (e->UniqueProcessId != last_pid)
        {
            last_pid = e->UniqueProcessId;
            last = NULL;
            for (k = 0; k < nprocs; k++)
                if (procs[k].pid == last_pid) { last = procs[k].h; break; }
            if (k == nprocs && nprocs < ARRAYSIZE(procs))
            {
                last = OpenProcess(PROCESS_DUP_HANDLE, FALSE, (DWORD)last_pid);
                procs[nprocs].pid = last_pid;
                procs[nprocs++].h = last;
            }
        }
        if (!last || !DuplicateHandle(last, (HANDLE)e->HandleValue, me, &dup, 0, FALSE, DUPLICATE_SAME_ACCESS))
            continue;
        if (GetFileInformationByHandle(dup, &fi)) st->identified++;
        CloseHandle(dup);
    }
    for (k = 0; k < nprocs; k++)
        if (procs[k].h) CloseHandle(procs[k].h);
    st->processes = nprocs;
    free(info);
    t = rmt_now_s() - t0;
    return t;
}

/* ---- components (for reading the numbers, not targets) --------------------------- */

/* Existence checks of the nonexistent registered files: an implementation that
 * notices files created after registration repeats these on every list call. */
static double component_missing_stat(WCHAR **paths, int n)
{
    double t0 = rmt_now_s();
    int i;
    for (i = 0; i < n; i++) GetFileAttributesW(paths[i]);
    return rmt_now_s() - t0;
}

/* A module list of every process (how loaded DLLs and executables are found). */
static double component_module_lists(int *nprocs)
{
    PROCESSENTRY32W pe;
    HANDLE procs;
    double t0 = rmt_now_s();
    *nprocs = 0;
    if ((procs = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0)) == INVALID_HANDLE_VALUE) return 0;
    pe.dwSize = sizeof(pe);
    for (BOOL more = Process32FirstW(procs, &pe); more; more = Process32NextW(procs, &pe))
    {
        MODULEENTRY32W me;
        HANDLE mods;
        if (!pe.th32ProcessID) continue;
        (*nprocs)++;
        mods = CreateToolhelp32Snapshot(TH32CS_SNAPMODULE | TH32CS_SNAPMODULE32, pe.th32ProcessID);
        if (mods == INVALID_HANDLE_VALUE) continue;
        me.dwSize = sizeof(me);
        for (BOOL m = Module32FirstW(mods, &me); m; m = Module32NextW(mods, &me)) {}
        CloseHandle(mods);
    }
    CloseHandle(procs);
    return rmt_now_s() - t0;
}

/* ---- holders ------------------------------------------------------------------------ */

/* Child mode (fallback when rmhelper.exe cannot hold FILES_PER_HOLDER files):
 *   bench_getlist.exe --hold-child READY QUIT DIR HOLDER
 * holds DIR\held\hHH_FFF.dat exactly as rmhelper's hold role does, signals READY,
 * waits for QUIT (or at most 10 minutes). */
static int hold_child(int argc, WCHAR **argv)
{
    static HANDLE handles[FILES_PER_HOLDER];
    HANDLE ready, quit;
    int holder, f;

    if (argc != 6) return 3;
    ready = OpenEventW(EVENT_MODIFY_STATE, FALSE, argv[2]);
    quit = OpenEventW(SYNCHRONIZE, FALSE, argv[3]);
    if (!ready || !quit) return 2;
    wcsncpy(dir, argv[4], MAX_PATH - 1);
    holder = _wtoi(argv[5]);
    for (f = 0; f < FILES_PER_HOLDER; f++)
    {
        WCHAR *p = held_path(holder, f);
        handles[f] = p ? CreateFileW(p, GENERIC_READ | GENERIC_WRITE,
                                     FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                                     OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL)
                   : INVALID_HANDLE_VALUE;
        free(p);
        if (handles[f] == INVALID_HANDLE_VALUE) return 2;
    }
    SetEvent(ready);
    WaitForSingleObject(quit, 10 * 60 * 1000);
    for (f = 0; f < FILES_PER_HOLDER; f++) CloseHandle(handles[f]);
    return 0;
}

/* Starts this program as a holder child in a kill-on-close job (same guarantees as
 * rmt_spawn: it dies with us, every wait bounded). */
static DWORD spawn_self_holder(int holder, struct rmt_child *c)
{
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limit;
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    WCHAR exe[MAX_PATH], ready_name[64], cmd[MAX_PATH * 2 + 256];
    FILETIME e, k, u;
    HANDLE ready, objs[2];
    DWORD r;

    memset(c, 0, sizeof(*c));
    GetModuleFileNameW(NULL, exe, MAX_PATH);
    swprintf(ready_name, 64, L"rmbench-%lu-%d-ready", GetCurrentProcessId(), holder);
    swprintf(c->quit_name, 64, L"rmbench-%lu-%d-quit", GetCurrentProcessId(), holder);
    if (!(ready = CreateEventW(NULL, TRUE, FALSE, ready_name))) return GetLastError();
    if (!(c->quit = CreateEventW(NULL, TRUE, FALSE, c->quit_name)))
    {
        CloseHandle(ready);
        return GetLastError();
    }
    if ((c->job = CreateJobObjectW(NULL, NULL)))
    {
        memset(&limit, 0, sizeof(limit));
        limit.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        SetInformationJobObject(c->job, JobObjectExtendedLimitInformation, &limit, sizeof(limit));
    }
    swprintf(cmd, ARRAYSIZE(cmd), L"\"%ls\" --hold-child %ls %ls \"%ls\" %d", exe, ready_name,
             c->quit_name, dir, holder);
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    if (!CreateProcessW(exe, cmd, NULL, NULL, FALSE, CREATE_SUSPENDED, NULL, NULL, &si, &pi))
    {
        r = GetLastError();
        CloseHandle(ready);
        rmt_child_kill(c);
        return r;
    }
    c->process = pi.hProcess;
    c->pid = c->id.dwProcessId = pi.dwProcessId;
    if (c->job) AssignProcessToJobObject(c->job, pi.hProcess);
    GetProcessTimes(pi.hProcess, &c->id.ProcessStartTime, &e, &k, &u);
    ResumeThread(pi.hThread);
    CloseHandle(pi.hThread);
    objs[0] = ready;
    objs[1] = c->process;
    r = WaitForMultipleObjects(2, objs, FALSE, SPAWN_TIMEOUT_MS);
    CloseHandle(ready);
    if (r != WAIT_OBJECT_0)
    {
        rmt_child_kill(c);
        return r == WAIT_OBJECT_0 + 1 ? ERROR_PROCESS_ABORTED : ERROR_TIMEOUT;
    }
    return ERROR_SUCCESS;
}

/* rmhelper.exe hold PATH rwd PATH2 rwd ... for one holder. */
static DWORD spawn_rmhelper_holder(int holder, struct rmt_child *c)
{
    size_t cap = (size_t)FILES_PER_HOLDER * (MAX_PATH + 8) + 16, len;
    WCHAR *args = malloc(cap * sizeof(WCHAR));
    DWORD err;
    int f;

    if (!args) return ERROR_OUTOFMEMORY;
    wcscpy(args, L"hold");
    len = wcslen(args);
    for (f = 0; f < FILES_PER_HOLDER; f++)
    {
        WCHAR *p = held_path(holder, f);
        if (!p)
        {
            free(args);
            return ERROR_OUTOFMEMORY;
        }
        len += (size_t)swprintf(args + len, cap - len, L" \"%ls\" rwd", p);
        free(p);
    }
    err = rmt_spawn(FALSE, args, SPAWN_TIMEOUT_MS, c);
    free(args);
    return err;
}

/* ---- main ---------------------------------------------------------------------------- */

static struct rmt_child holders[HOLDERS], loaders[LOADERS];
static RM_PROCESS_INFO apps[MAX_APPS];

/* One RmGetList call; returns seconds (negative on failure), needed count in *needed. */
static double timed_getlist(DWORD session, UINT *needed)
{
    UINT n = MAX_APPS;
    DWORD reasons = SENTINEL, err;
    double t0 = rmt_now_s(), t;
    *needed = SENTINEL;
    err = RmGetList(session, needed, &n, apps, &reasons);
    t = rmt_now_s() - t0;
    if (err)
    {
        printf("error: RmGetList failed with %lu (needed %u)\n", err, *needed);
        return -1;
    }
    return t;
}

/* How many of the children appear in the last RmGetList result. */
static int count_listed(const struct rmt_child *kids, int nkids, UINT n)
{
    int i, found = 0;
    UINT j;
    for (i = 0; i < nkids; i++)
        for (j = 0; j < n; j++)
            if (apps[j].Process.dwProcessId == kids[i].id.dwProcessId &&
                !CompareFileTime(&apps[j].Process.ProcessStartTime, &kids[i].id.ProcessStartTime))
            {
                found++;
                break;
            }
    return found;
}

int main(void)
{
    WCHAR key[CCH_RM_SESSION_KEY + 1], base[MAX_PATH], sub[MAX_PATH], dllsrc[MAX_PATH];
    WCHAR **reg = NULL, **argv;
    double floor_t[RUNS], t1[RUNS], t10k[RUNS], t, t0, floor_med, t1_med, t10k_med, ratio, overhead;
    struct floor_stats fs = {0};
    DWORD s1 = SENTINEL, s10k = SENTINEL, err;
    UINT needed1 = 0, needed10k = 0;
    int argc, i, f, nreg = 0, rc = 1, holders_found = 0, loaders_found = 0, self_holders = 0;
    char reason[512];

    argv = CommandLineToArgvW(GetCommandLineW(), &argc);
    if (argv && argc >= 2 && !wcscmp(argv[1], L"--hold-child")) return hold_child(argc, argv);

    rmt_init();
    if (!rmt_is_our_dll(reason, sizeof(reason)))
    {
        printf("error: %s\n", reason);
        return 2;
    }
    printf("# bench_getlist: %d holders x %d files + %d DLL loaders; RmGetList with 1 and %d registered "
           "files vs the handle-table floor; %d interleaved runs, medians\n",
           HOLDERS, FILES_PER_HOLDER, LOADERS, N_REGISTERED, RUNS);
    printf("# dll: %s\n", reason);

    GetTempPathW(MAX_PATH, base);
    swprintf(dir, MAX_PATH, L"%lsrmbench-gl-%lu", base, GetCurrentProcessId());
    if (!CreateDirectoryW(dir, NULL))
    {
        printf("error: cannot create %ls (%lu)\n", dir, GetLastError());
        return 1;
    }
    /* Separate directories: Wine looks a missing name up by scanning its directory,
     * so nonexistent paths go where an installer's not-yet-created files would be,
     * not among thousands of other files. */
    swprintf(sub, MAX_PATH, L"%ls\\held", dir);
    CreateDirectoryW(sub, NULL);
    swprintf(sub, MAX_PATH, L"%ls\\unheld", dir);
    CreateDirectoryW(sub, NULL);
    swprintf(sub, MAX_PATH, L"%ls\\missing", dir);
    CreateDirectoryW(sub, NULL);
    swprintf(sub, MAX_PATH, L"%ls\\lib", dir);
    CreateDirectoryW(sub, NULL);

    /* The registered set: held files first (index h*100+f), then the DLL copies,
     * then unheld and missing files. */
    t0 = rmt_now_s();
    if (!(reg = calloc(N_REGISTERED, sizeof(*reg)))) goto out;
    for (i = 0; i < HOLDERS; i++)
        for (f = 0; f < FILES_PER_HOLDER; f++)
        {
            if (!(reg[nreg] = held_path(i, f)) || !create_file(reg[nreg])) goto out;
            nreg++;
        }
    GetModuleFileNameW(rmt_rstrtmgr_module(), dllsrc, MAX_PATH);
    for (i = 0; i < LOADERS; i++)
    {
        swprintf(sub, MAX_PATH, L"%ls\\lib\\rmbench_lib%d.dll", dir, i);
        if (!CopyFileW(dllsrc, sub, FALSE))
        {
            printf("error: cannot copy %ls to %ls (%lu)\n", dllsrc, sub, GetLastError());
            goto out;
        }
        if (!(reg[nreg++] = wdup(sub))) goto out;
    }
    for (i = 0; i < UNHELD_FILES; i++)
    {
        swprintf(sub, MAX_PATH, L"%ls\\unheld\\u%04d.dat", dir, i);
        if (!(reg[nreg] = wdup(sub)) || !create_file(reg[nreg])) goto out;
        nreg++;
    }
    for (i = 0; i < MISSING_FILES; i++)
    {
        swprintf(sub, MAX_PATH, L"%ls\\missing\\m%04d.dat", dir, i);
        if (!(reg[nreg++] = wdup(sub))) goto out;
    }
    printf("setup_files: %.3f s\n", rmt_now_s() - t0);
    printf("registered_mix: %d held + %d loaded DLLs + %d existing unheld + %d nonexistent = %d files\n",
           HELD_FILES, LOADERS, UNHELD_FILES, MISSING_FILES, nreg);

    /* The helpers. */
    t0 = rmt_now_s();
    for (i = 0; i < HOLDERS; i++)
    {
        err = self_holders ? ERROR_PROCESS_ABORTED : spawn_rmhelper_holder(i, &holders[i]);
        if (err == ERROR_PROCESS_ABORTED)
        {
            /* rmhelper refused (too many files for its hold role): hold ourselves. */
            if (!self_holders)
                printf("# note: rmhelper.exe would not hold %d files; holders are bench_getlist.exe "
                       "--hold-child processes\n", FILES_PER_HOLDER);
            self_holders = 1;
            err = spawn_self_holder(i, &holders[i]);
        }
        if (err)
        {
            printf("error: holder %d did not start (%lu)\n", i, err);
            goto out;
        }
    }
    for (i = 0; i < LOADERS; i++)
    {
        WCHAR args[MAX_PATH + 16];
        swprintf(args, ARRAYSIZE(args), L"load \"%ls\"", reg[HELD_FILES + i]);
        if ((err = rmt_spawn(FALSE, args, SPAWN_TIMEOUT_MS, &loaders[i])))
        {
            printf("error: loader %d did not start (%lu)\n", i, err);
            goto out;
        }
    }
    printf("setup_helpers: %.3f s\n", rmt_now_s() - t0);
    printf("holder_processes: %d (%ls)\n", HOLDERS, self_holders ? L"bench_getlist.exe --hold-child" : L"rmhelper.exe hold");
    printf("loader_processes: %d\n", LOADERS);

    /* The sessions. */
    if ((err = RmStartSession(&s1, 0, key)) || (err = RmStartSession(&s10k, 0, key)))
    {
        printf("error: RmStartSession failed with %lu\n", err);
        goto out;
    }
    if ((err = RmRegisterResources(s1, 1, (LPCWSTR *)reg, 0, NULL, 0, NULL)))
    {
        printf("error: RmRegisterResources(1) failed with %lu\n", err);
        goto out;
    }
    t0 = rmt_now_s();
    if ((err = RmRegisterResources(s10k, N_REGISTERED, (LPCWSTR *)reg, 0, NULL, 0, NULL)))
    {
        printf("error: RmRegisterResources(%d) failed with %lu\n", N_REGISTERED, err);
        goto out;
    }
    printf("register_%d: %.3f s\n", N_REGISTERED, rmt_now_s() - t0);

    /* Warm-up: the floor learns the File type; each session's first list call. */
    if (!learn_file_type())
    {
        printf("error: could not learn the File object type index\n");
        goto out;
    }
    printf("file_type_index: %u\n", file_type_index);
    if (floor_pass(&fs) < 0 || timed_getlist(s1, &needed1) < 0 || timed_getlist(s10k, &needed10k) < 0)
        goto out;

    for (i = 0; i < RUNS; i++)
    {
        if ((floor_t[i] = floor_pass(&fs)) < 0) goto out;
        if ((t1[i] = timed_getlist(s1, &needed1)) < 0) goto out;
        if ((t = timed_getlist(s10k, &needed10k)) < 0) goto out;
        t10k[i] = t;
        printf("run %d: floor %.1f ms, getlist_1 %.1f ms, getlist_%d %.1f ms\n", i + 1, floor_t[i] * 1e3,
               t1[i] * 1e3, N_REGISTERED, t10k[i] * 1e3);
    }
    {
        double cm[RUNS], cs[RUNS];
        int np = 0;
        for (i = 0; i < RUNS; i++)
        {
            cs[i] = component_missing_stat(reg + HELD_FILES + LOADERS + UNHELD_FILES, MISSING_FILES);
            cm[i] = component_module_lists(&np);
        }
        printf("component_stat_%d_missing_files: %.1f ms\n", MISSING_FILES, rmt_median(cs, RUNS) * 1e3);
        printf("component_module_lists_%d_processes: %.1f ms\n", np, rmt_median(cm, RUNS) * 1e3);
    }
    /* apps[] holds the last 10k result. */
    holders_found = count_listed(holders, HOLDERS, needed10k < MAX_APPS ? needed10k : MAX_APPS);
    loaders_found = count_listed(loaders, LOADERS, needed10k < MAX_APPS ? needed10k : MAX_APPS);

    floor_med = rmt_median(floor_t, RUNS);
    t1_med = rmt_median(t1, RUNS);
    t10k_med = rmt_median(t10k, RUNS);
    ratio = floor_med > 0 ? t10k_med / floor_med : 0;
    overhead = t1_med > 0 ? (t10k_med - t1_med) / t1_med : 0;

    printf("snapshot_handles: %lu handles\n", (unsigned long)fs.handles);
    printf("file_handles_other_processes: %lu handles\n", (unsigned long)fs.file_handles);
    printf("file_handles_identified: %lu handles\n", (unsigned long)fs.identified);
    printf("processes_with_file_handles: %lu processes\n", (unsigned long)fs.processes);
    printf("floor_median: %.1f ms\n", floor_med * 1e3);
    printf("floor_per_file_handle: %.1f us\n", fs.file_handles ? floor_med * 1e6 / (double)fs.file_handles : 0);
    printf("getlist_1_median: %.1f ms\n", t1_med * 1e3);
    printf("getlist_1_needed: %u entries\n", needed1);
    printf("ratio_getlist_1_to_floor: %.2f x\n", floor_med > 0 ? t1_med / floor_med : 0);
    printf("getlist_%d_median: %.1f ms\n", N_REGISTERED, t10k_med * 1e3);
    printf("getlist_%d_needed: %u entries\n", N_REGISTERED, needed10k);
    printf("holders_listed: %d of %d\n", holders_found, HOLDERS);
    printf("loaders_listed: %d of %d\n", loaders_found, LOADERS);
    printf("ratio_getlist_%d_to_floor: %.2f x\n", N_REGISTERED, ratio);
    printf("overhead_%d_vs_1: %.1f %%\n", N_REGISTERED, overhead * 100);
    printf("target RmGetList(%d files) <= %.1fx floor (%.2fx): %s\n", N_REGISTERED, TARGET_FLOOR_RATIO, ratio,
           ratio <= TARGET_FLOOR_RATIO ? "MET" : "NOT MET");
    printf("target %d files instead of 1 adds < %.0f%% (%.1f%%): %s\n", N_REGISTERED, TARGET_OVERHEAD * 100,
           overhead * 100, overhead < TARGET_OVERHEAD ? "MET" : "NOT MET");
    if (needed1 != 1)
        printf("check: RmGetList with 1 held file lists %u entries, expected 1: WRONG\n", needed1);
    if (holders_found != HOLDERS || loaders_found != LOADERS || needed10k < HOLDERS)
    {
        printf("check: RmGetList missed %d holder(s) and %d loader(s): WRONG\n", HOLDERS - holders_found,
               LOADERS - loaders_found);
        rc = 3;
    }
    else
    {
        printf("check: all %d holders and %d loaders listed: OK\n", HOLDERS, LOADERS);
        rc = needed1 == 1 ? 0 : 3;
    }

out:
    if (s1 != SENTINEL) RmEndSession(s1);
    if (s10k != SENTINEL) RmEndSession(s10k);
    for (i = 0; i < HOLDERS; i++) rmt_child_quit(&holders[i], 5000);
    for (i = 0; i < LOADERS; i++) rmt_child_quit(&loaders[i], 5000);
    if (reg)
    {
        for (i = 0; i < N_REGISTERED; i++) free(reg[i]);
        free(reg);
    }
    rmt_remove_tree(dir);
    if (argv) LocalFree(argv);
    return rc;
}
