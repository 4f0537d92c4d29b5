/*
 * bench_getlist.c - RmGetList against its floors (issue 3 and issue 12 targets).
 *
 * Set-up: HOLDERS helper processes each hold FILES_PER_HOLDER files open
 * (rmhelper.exe "hold PATH rwd PATH2 rwd ..."), and LOADERS helpers each have a
 * copy of a DLL loaded (rmhelper.exe "load PATH"). Three sessions are started: one
 * with 1 registered file (a held one: one holder uses it), one with 100 registered
 * files nobody holds, one with 10,000 (all 4,000 held files, the loaded DLL copies,
 * and the rest existing-but-unheld or nonexistent files).
 *
 * Then, interleaved, RUNS times each:
 *  (i)    the FILE-INDEX FLOOR, done here without the DLL: one
 *         NtQuerySystemInformation(SystemExtendedHandleInformation) snapshot, and for
 *         every File handle of another process OpenProcess(PROCESS_DUP_HANDLE) (once
 *         per process) + DuplicateHandle + NtQueryInformationFile(FileInternalInformation)
 *         + CloseHandle: the cheapest query that tells a handle's file;
 *  (ii)   the same loop with GetFileInformationByHandle instead (it also asks for the
 *         volume's serial number: under Wine a round trip to another process);
 *  (iii)  the MODULE FLOOR: EnumProcessModulesEx of every process (one read per
 *         module: what any check of loaded modules must at least do), and, for
 *         comparison, toolhelp module lists of every process;
 *  (iv)   RmGetList with 1, with 100 unheld and with 10,000 registered files.
 * Medians are compared.
 *
 * Targets: RmGetList(1 file) and RmGetList(100 unheld files) each <= 1.5 x the
 * file-index floor; RmGetList(10,000 files) no slower than RmGetList(1 file).
 * Also checked: the lists are right (1 entry, 0 entries, every holder and loader),
 * else the numbers mean nothing.
 *
 * Reading the result: the floors query every File handle of other processes.
 * RmGetList need not: once a process is known to use a registered file, its other
 * handles do not matter. With 1 registered file or 100 unheld ones it must look at
 * (nearly) every handle, and it also checks loaded modules (the module floor); with
 * 10,000, every holder matches at once.
 *
 * Output: plain "name: value unit" lines and one verdict line per target.
 * Informative only: exit code 0 whether or not a target is met; 1 if an API call
 * failed or set-up was impossible, 2 if the rstrtmgr.dll loaded is not this
 * project's, 3 if a list was wrong.
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
#include <psapi.h>
#include <winternl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define HOLDERS          40
#define FILES_PER_HOLDER 100
#define HELD_FILES       (HOLDERS * FILES_PER_HOLDER)
#define LOADERS          4
#define N_REGISTERED     10000
#define N_UNHELD_REG     100                    /* the "100 files none held" session */
#define UNHELD_FILES     2000                   /* exist, nobody holds them */
#define MISSING_FILES    (N_REGISTERED - HELD_FILES - LOADERS - UNHELD_FILES)
#define RUNS             5
#define MAX_APPS         512
#define TARGET_FLOOR_RATIO 1.5
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

enum floor_query { FLOOR_INDEX, FLOOR_GFIBH };

/* One floor pass with the given per-handle query; returns seconds (negative on
 * failure). */
static double floor_pass(enum floor_query q, struct floor_stats *st)
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
        FILE_INTERNAL_INFORMATION ii;
        IO_STATUS_BLOCK iosb;
        HANDLE dup;
        BOOL ok;

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
        if (q == FLOOR_INDEX)
            ok = NT_SUCCESS(NtQueryInformationFile(dup, &iosb, &ii, sizeof(ii), FileInternalInformation));
        else
            ok = GetFileInformationByHandle(dup, &fi);
        if (ok) st->identified++;
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

/* Runs one_process on every process of the system (but the idle one) and times
 * the whole; *nprocs counts them. */
static double each_process(void (*one_process)(DWORD pid, long *count), long *count, int *nprocs)
{
    PROCESSENTRY32W pe;
    HANDLE procs;
    double t0 = rmt_now_s();

    *nprocs = 0;
    *count = 0;
    if ((procs = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0)) == INVALID_HANDLE_VALUE) return 0;
    pe.dwSize = sizeof(pe);
    for (BOOL more = Process32FirstW(procs, &pe); more; more = Process32NextW(procs, &pe))
    {
        if (!pe.th32ProcessID) continue;
        (*nprocs)++;
        one_process(pe.th32ProcessID, count);
    }
    CloseHandle(procs);
    return rmt_now_s() - t0;
}

/* Toolhelp module list (what RmGetList used to read); count: modules. */
static void toolhelp_modules(DWORD pid, long *count)
{
    MODULEENTRY32W me;
    HANDLE mods = CreateToolhelp32Snapshot(TH32CS_SNAPMODULE | TH32CS_SNAPMODULE32, pid);
    if (mods == INVALID_HANDLE_VALUE) return;
    me.dwSize = sizeof(me);
    for (BOOL m = Module32FirstW(mods, &me); m; m = Module32NextW(mods, &me)) (*count)++;
    CloseHandle(mods);
}

/* The walk of the address space by VirtualQueryEx, one query per region, as a
 * search for data mappings (files mapped without a handle) must do; under Wine
 * each query is carried out by the target process. count: regions. */
static void address_space(DWORD pid, long *count)
{
    MEMORY_BASIC_INFORMATION mbi;
    BYTE *p = NULL;
    HANDLE h = OpenProcess(PROCESS_QUERY_INFORMATION, FALSE, pid);
    if (!h) return;
    while (VirtualQueryEx(h, p, &mbi, sizeof(mbi)))
    {
        (*count)++;
        if ((BYTE *)mbi.BaseAddress + mbi.RegionSize <= p) break;
        p = (BYTE *)mbi.BaseAddress + mbi.RegionSize;
    }
    CloseHandle(h);
}

/* The module floor: the cheapest documented call, EnumProcessModulesEx (one read
 * of the loader's list per module, no names). Any check of loaded modules reads
 * at least this. count: modules. */
static void enum_modules(DWORD pid, long *count)
{
    static HMODULE mods[4096];
    DWORD cb;
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_VM_READ, FALSE, pid);
    if (!h) return;
    if (EnumProcessModulesEx(h, mods, sizeof(mods), &cb, LIST_MODULES_ALL)) *count += (long)(cb / sizeof(HMODULE));
    CloseHandle(h);
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
    /* Seconds per run: the floors, the toolhelp module lists, the three RmGetList calls. */
    double fl_index[RUNS], fl_gfibh[RUNS], fl_mod[RUNS], comp_th[RUNS], comp_walk[RUNS], g1[RUNS], g100[RUNS], g10k[RUNS];
    double t0, m_index, m_gfibh, m_mod, m_th, m_walk, m_1, m_100, m_10k, r1, r100, r10k;
    struct floor_stats fs = {0}, fs2 = {0};
    DWORD s1 = SENTINEL, s100 = SENTINEL, s10k = SENTINEL, err;
    UINT needed1 = 0, needed100 = 0, needed10k = 0;
    int argc, i, f, nreg = 0, rc = 1, holders_found = 0, loaders_found = 0, self_holders = 0, np = 0;
    long nm = 0, nth = 0, nregions = 0;
    char reason[512];

    argv = CommandLineToArgvW(GetCommandLineW(), &argc);
    if (argv && argc >= 2 && !wcscmp(argv[1], L"--hold-child")) return hold_child(argc, argv);

    rmt_init();
    if (!rmt_is_our_dll(reason, sizeof(reason)))
    {
        printf("error: %s\n", reason);
        return 2;
    }
    printf("# bench_getlist: %d holders x %d files + %d DLL loaders; RmGetList with 1 held, %d unheld and %d "
           "registered files vs the handle-table floors; %d interleaved runs, medians\n",
           HOLDERS, FILES_PER_HOLDER, LOADERS, N_UNHELD_REG, N_REGISTERED, RUNS);
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

    /* The sessions: 1 held file (holder 0's first), 100 unheld files, all 10,000. */
    if ((err = RmStartSession(&s1, 0, key)) || (err = RmStartSession(&s100, 0, key)) ||
        (err = RmStartSession(&s10k, 0, key)))
    {
        printf("error: RmStartSession failed with %lu\n", err);
        goto out;
    }
    if ((err = RmRegisterResources(s1, 1, (LPCWSTR *)reg, 0, NULL, 0, NULL)) ||
        (err = RmRegisterResources(s100, N_UNHELD_REG, (LPCWSTR *)reg + HELD_FILES + LOADERS, 0, NULL, 0, NULL)))
    {
        printf("error: RmRegisterResources(1 / %d) failed with %lu\n", N_UNHELD_REG, err);
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
    if (floor_pass(FLOOR_INDEX, &fs) < 0 || timed_getlist(s1, &needed1) < 0 || timed_getlist(s100, &needed100) < 0 ||
        timed_getlist(s10k, &needed10k) < 0)
        goto out;

    for (i = 0; i < RUNS; i++)
    {
        if ((fl_index[i] = floor_pass(FLOOR_INDEX, &fs)) < 0) goto out;
        if ((g1[i] = timed_getlist(s1, &needed1)) < 0) goto out;
        if ((fl_gfibh[i] = floor_pass(FLOOR_GFIBH, &fs2)) < 0) goto out;
        if ((g100[i] = timed_getlist(s100, &needed100)) < 0) goto out;
        fl_mod[i] = each_process(enum_modules, &nm, &np);
        if ((g10k[i] = timed_getlist(s10k, &needed10k)) < 0) goto out;
        comp_th[i] = each_process(toolhelp_modules, &nth, &np);
        comp_walk[i] = each_process(address_space, &nregions, &np);
        printf("run %d: floor_index %.1f ms, getlist_1 %.1f ms, floor_gfibh %.1f ms, getlist_100_unheld %.1f ms, "
               "floor_modules %.1f ms, getlist_%d %.1f ms, modules_toolhelp %.1f ms, mapped_walk %.1f ms\n", i + 1,
               fl_index[i] * 1e3, g1[i] * 1e3, fl_gfibh[i] * 1e3, g100[i] * 1e3, fl_mod[i] * 1e3, N_REGISTERED,
               g10k[i] * 1e3, comp_th[i] * 1e3, comp_walk[i] * 1e3);
    }
    /* apps[] holds the last 10k result. */
    holders_found = count_listed(holders, HOLDERS, needed10k < MAX_APPS ? needed10k : MAX_APPS);
    loaders_found = count_listed(loaders, LOADERS, needed10k < MAX_APPS ? needed10k : MAX_APPS);

    m_index = rmt_median(fl_index, RUNS);
    m_gfibh = rmt_median(fl_gfibh, RUNS);
    m_mod = rmt_median(fl_mod, RUNS);
    m_th = rmt_median(comp_th, RUNS);
    m_walk = rmt_median(comp_walk, RUNS);
    m_1 = rmt_median(g1, RUNS);
    m_100 = rmt_median(g100, RUNS);
    m_10k = rmt_median(g10k, RUNS);
    r1 = m_index > 0 ? m_1 / m_index : 0;
    r100 = m_index > 0 ? m_100 / m_index : 0;
    r10k = m_1 > 0 ? m_10k / m_1 : 0;

    printf("snapshot_handles: %lu handles\n", (unsigned long)fs.handles);
    printf("file_handles_other_processes: %lu handles\n", (unsigned long)fs.file_handles);
    printf("file_handles_identified: %lu handles\n", (unsigned long)fs.identified);
    printf("processes_with_file_handles: %lu processes\n", (unsigned long)fs.processes);
    printf("processes: %d, modules: %ld\n", np, nm);
    printf("floor_file_index_median: %.1f ms (%.1f us per File handle)\n", m_index * 1e3,
           fs.file_handles ? m_index * 1e6 / (double)fs.file_handles : 0);
    printf("floor_getfileinformationbyhandle_median: %.1f ms (%.2f x the file-index floor)\n", m_gfibh * 1e3,
           m_index > 0 ? m_gfibh / m_index : 0);
    printf("floor_modules_median: %.1f ms (%.2f x the file-index floor)\n", m_mod * 1e3,
           m_index > 0 ? m_mod / m_index : 0);
    printf("modules_toolhelp_median: %.1f ms (%.2f x the file-index floor)\n", m_th * 1e3,
           m_index > 0 ? m_th / m_index : 0);
    printf("mapped_walk_median: %.1f ms (%.2f x the file-index floor), %ld regions in all processes\n",
           m_walk * 1e3, m_index > 0 ? m_walk / m_index : 0, nregions);
    printf("getlist_1_held_median: %.1f ms (%.2f x the file-index floor), %u entries\n", m_1 * 1e3, r1, needed1);
    printf("getlist_100_unheld_median: %.1f ms (%.2f x the file-index floor), %u entries\n", m_100 * 1e3, r100,
           needed100);
    printf("getlist_%d_median: %.1f ms (%.2f x the file-index floor, %.2f x getlist_1), %u entries\n", N_REGISTERED,
           m_10k * 1e3, m_index > 0 ? m_10k / m_index : 0, r10k, needed10k);
    printf("holders_listed: %d of %d\n", holders_found, HOLDERS);
    printf("loaders_listed: %d of %d\n", loaders_found, LOADERS);
    printf("target RmGetList(1 held file) <= %.1fx file-index floor (%.2fx): %s\n", TARGET_FLOOR_RATIO, r1,
           r1 <= TARGET_FLOOR_RATIO ? "MET" : "NOT MET");
    printf("target RmGetList(%d unheld files) <= %.1fx file-index floor (%.2fx): %s\n", N_UNHELD_REG,
           TARGET_FLOOR_RATIO, r100, r100 <= TARGET_FLOOR_RATIO ? "MET" : "NOT MET");
    printf("target RmGetList(%d files) no slower than RmGetList(1 file) (%.2fx): %s\n", N_REGISTERED, r10k,
           r10k <= 1.0 ? "MET" : "NOT MET");
    rc = 0;
    if (needed1 != 1)
    {
        printf("check: RmGetList with 1 held file lists %u entries, expected 1: WRONG\n", needed1);
        rc = 3;
    }
    if (needed100 != 0)
    {
        printf("check: RmGetList with %d unheld files lists %u entries, expected 0: WRONG\n", N_UNHELD_REG, needed100);
        rc = 3;
    }
    if (holders_found != HOLDERS || loaders_found != LOADERS || needed10k < HOLDERS)
    {
        printf("check: RmGetList(%d) missed %d holder(s) and %d loader(s): WRONG\n", N_REGISTERED,
               HOLDERS - holders_found, LOADERS - loaders_found);
        rc = 3;
    }
    if (!rc) printf("check: 1 held file lists its holder, %d unheld files nobody, %d files all %d holders and %d loaders: OK\n",
                    N_UNHELD_REG, N_REGISTERED, HOLDERS, LOADERS);

out:
    if (s1 != SENTINEL) RmEndSession(s1);
    if (s100 != SENTINEL) RmEndSession(s100);
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
