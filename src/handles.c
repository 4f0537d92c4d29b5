/*
 * handles.c - which processes hold an open handle to a registered file.
 *
 * Two ways, giving the same answer:
 *  - Fast path (real Windows): NtQueryInformationFile(FileProcessIdsUsingFileInformation)
 *    on each registered file asks the kernel directly.
 *  - Handle table (where that class is not implemented, e.g. Wine): one
 *    SystemExtendedHandleInformation snapshot; every File handle of another process
 *    is duplicated and identified by volume serial number and file index, never by
 *    its name. The File type index is learnt at run time from a handle we open.
 *
 * Hang-proofing: on Windows, querying a synchronous pipe handle with a read
 * pending blocks until the read completes, possibly forever. The queries run on a
 * worker thread; when it makes no progress for RM_HANDLE_STALL_MS the handle it is
 * on is skipped and a fresh worker carries on after it. A stuck worker is never
 * terminated (that could corrupt the process); it is abandoned and exits on its
 * own if its query ever returns. At most RM_MAX_STUCK_WORKERS are abandoned per
 * scan, so RmGetList's time stays bounded.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"
#include "ntapi.h"

#define RM_HANDLE_STALL_MS   250
#define RM_MAX_STUCK_WORKERS 8

/* ---- the File object type index --------------------------------------------- */

static USHORT file_type_index;       /* 0 = not learnt yet */

static DWORD snapshot_handles(RM_HANDLE_INFO_EX **out)
{
    ULONG size = 1 << 20, got = 0;
    RM_HANDLE_INFO_EX *info;
    NTSTATUS st;
    int tries;

    for (tries = 0; tries < 8; tries++)
    {
        if (!(info = rm_alloc(size))) return ERROR_OUTOFMEMORY;
        st = NtQuerySystemInformation((SYSTEM_INFORMATION_CLASS)RM_SystemExtendedHandleInformation,
                                      info, size, &got);
        if (NT_SUCCESS(st))
        {
            *out = info;
            return ERROR_SUCCESS;
        }
        rm_free(info);
        if (st != RM_STATUS_INFO_LENGTH_MISMATCH && st != RM_STATUS_BUFFER_TOO_SMALL)
        {
            /* A failure status always gives an error, even one with no Win32 twin. */
            DWORD e = RtlNtStatusToDosError(st);
            return e ? e : ERROR_GEN_FAILURE;
        }
        /* Handles come and go between calls: leave room for growth. */
        size = (got > size ? got : size * 2) + (64 << 10);
    }
    return ERROR_OUTOFMEMORY;
}

/* Learns the File type index from a file handle of our own in a snapshot. */
static DWORD learn_file_type(const RM_HANDLE_INFO_EX *info, HANDLE mine)
{
    ULONG_PTR i, pid = GetCurrentProcessId();
    for (i = 0; i < info->NumberOfHandles; i++)
        if (info->Handles[i].UniqueProcessId == pid && info->Handles[i].HandleValue == (ULONG_PTR)mine)
        {
            file_type_index = info->Handles[i].ObjectTypeIndex;
            return ERROR_SUCCESS;
        }
    return ERROR_NOT_FOUND;
}

/* ---- the scan worker --------------------------------------------------------------- */

struct scan
{
    LONG refs;                           /* main thread + worker */
    SRWLOCK lock;                        /* guards abandoned and the result set */
    BOOL abandoned;                      /* main thread no longer waits for it */
    const RM_HANDLE_ENTRY_EX **todo;     /* candidate handles, grouped by process */
    SIZE_T count;
    volatile LONG next;                  /* index being worked on */
    const struct rm_resources *wanted;   /* registered files (read-only here) */
    struct rm_pid_set *found;            /* processes found so far */
    HANDLE done;                         /* set when the worker finishes */
};

static void scan_release(struct scan *sc)
{
    if (InterlockedDecrement(&sc->refs)) return;
    CloseHandle(sc->done);
    rm_free(sc);
}

static DWORD WINAPI scan_worker(void *arg)
{
    struct scan *sc = arg;
    HANDLE process = NULL, self = GetCurrentProcess();
    ULONG_PTR process_pid = 0;
    LONG i;

    /* Everything shared with the main thread (todo, wanted, found) is touched only
     * under sc->lock after checking abandoned: once the main thread has set it
     * (under the same lock) it may free them, and this thread must not look. */
    for (i = sc->next;; i = InterlockedIncrement(&sc->next))
    {
        RM_HANDLE_ENTRY_EX e;
        BY_HANDLE_FILE_INFORMATION fi;
        struct rm_file_id id;
        HANDLE dup;
        BOOL stop, known = FALSE, ok;

        AcquireSRWLockShared(&sc->lock);
        stop = sc->abandoned || (SIZE_T)i >= sc->count;
        if (!stop)
        {
            e = *sc->todo[i];
            known = rm_pid_set_has(sc->found, (DWORD)e.UniqueProcessId);
        }
        ReleaseSRWLockShared(&sc->lock);
        if (stop) break;
        if (known) continue;   /* one match per process is enough */

        if (e.UniqueProcessId != process_pid)
        {
            if (process) CloseHandle(process);
            process_pid = e.UniqueProcessId;
            process = OpenProcess(PROCESS_DUP_HANDLE, FALSE, (DWORD)process_pid);
        }
        /* A process that exited, or that we may not open, or a handle closed since
         * the snapshot: skipped. */
        if (!process || !DuplicateHandle(process, (HANDLE)e.HandleValue, self, &dup, 0, FALSE,
                                         DUPLICATE_SAME_ACCESS))
            continue;
        /* Tests make a query hang like a pipe with a read pending (sys.c). */
        if (rm_sys_handle_query_stalls()) WaitForSingleObject(self, INFINITE);
        ok = GetFileInformationByHandle(dup, &fi);   /* the call that may block */
        CloseHandle(dup);
        if (!ok) continue;
        id.volume = fi.dwVolumeSerialNumber;
        id.index_high = fi.nFileIndexHigh;
        id.index_low = fi.nFileIndexLow;
        AcquireSRWLockExclusive(&sc->lock);
        if (!sc->abandoned && rm_resources_has_id(sc->wanted, &id))
            rm_pid_set_add(sc->found, (DWORD)e.UniqueProcessId);
        ReleaseSRWLockExclusive(&sc->lock);
    }
    if (process) CloseHandle(process);
    SetEvent(sc->done);
    scan_release(sc);
    rm_thread_exit();
}

/* Runs workers over todo[] until done, skipping handles a worker gets stuck on. */
static DWORD run_scan(const RM_HANDLE_ENTRY_EX **todo, SIZE_T count, const struct rm_resources *wanted,
                      struct rm_pid_set *found, volatile LONG *cancel, HANDLE cancel_event)
{
    LONG start = 0, last;
    int stuck = 0;
    DWORD err = ERROR_SUCCESS;

    while ((SIZE_T)start < count)
    {
        struct scan *sc = rm_alloc(sizeof(*sc));
        HANDLE thread;

        if (!sc) return ERROR_OUTOFMEMORY;
        InitializeSRWLock(&sc->lock);
        sc->refs = 2;
        sc->todo = todo;
        sc->count = count;
        sc->next = start;
        sc->wanted = wanted;
        sc->found = found;
        if (!(sc->done = CreateEventW(NULL, TRUE, FALSE, NULL)) ||
            !(thread = rm_thread_start(scan_worker, sc)))
        {
            err = GetLastError();
            if (sc->done) CloseHandle(sc->done);
            rm_free(sc);
            return err;
        }
        CloseHandle(thread);

        last = -1;
        for (;;)
        {
            HANDLE wait[2] = { sc->done, cancel_event };
            DWORD w = WaitForMultipleObjects(cancel_event ? 2 : 1, wait, FALSE, RM_HANDLE_STALL_MS);
            LONG now = sc->next;
            if (w == WAIT_OBJECT_0) { start = (LONG)count; break; }
            if (*cancel) { err = ERROR_CANCELLED; break; }
            if (now == last)
            {
                /* No progress for a whole interval: skip this handle. */
                rm_trace("handle scan: skipping a handle that does not answer (entry %ld)", now);
                start = now + 1;
                if (++stuck >= RM_MAX_STUCK_WORKERS) err = ERROR_TIMEOUT;
                break;
            }
            last = now;
        }
        /* From here on the worker, finished or stuck, never touches todo, wanted
         * or found again (see scan_worker), so the caller may free them. */
        AcquireSRWLockExclusive(&sc->lock);
        sc->abandoned = TRUE;
        ReleaseSRWLockExclusive(&sc->lock);
        scan_release(sc);
        if (err) break;
    }
    if (err == ERROR_TIMEOUT)
    {
        rm_trace("handle scan: %d handles did not answer; the rest is not scanned", stuck);
        err = ERROR_SUCCESS;
    }
    return err;
}

/* ---- the fast path ---------------------------------------------------------------- */

enum { FAST_UNKNOWN, FAST_YES, FAST_NO };
static volatile LONG fast_path = FAST_UNKNOWN;

static BOOL CALLBACK fast_path_init(INIT_ONCE *once, void *param, void **ctx)
{
    WCHAR v[16];
    (void)once; (void)param; (void)ctx;
    /* RSTRTMGR_DISCOVERY=handles forces the handle table even where the kernel
     * could answer, so that both paths can be compared on one machine. */
    if (GetEnvironmentVariableW(L"RSTRTMGR_DISCOVERY", v, ARRAYSIZE(v)) && !rm_wcsicmp(v, L"handles"))
        fast_path = FAST_NO;
    return TRUE;
}

/* Asks the kernel which processes have f open. ERROR_NOT_SUPPORTED when this
 * system does not implement the query. */
static DWORD fast_query(const struct rm_file *f, struct rm_pid_set *found)
{
    ULONG size = 4096;
    IO_STATUS_BLOCK iosb;
    RM_FILE_PROCESS_IDS *ids = NULL;
    NTSTATUS st;
    HANDLE h;
    DWORD err = ERROR_SUCCESS;
    ULONG i;

    h = CreateFileW(f->path, FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE) return ERROR_SUCCESS;   /* gone: nobody uses it */
    for (;;)
    {
        if (!(ids = rm_alloc(size))) { err = ERROR_OUTOFMEMORY; break; }
        st = NtQueryInformationFile(h, &iosb, ids, size, (FILE_INFORMATION_CLASS)RM_FileProcessIdsUsingFileInformation);
        if (NT_SUCCESS(st))
        {
            for (i = 0; i < ids->NumberOfProcessIdsInList && !err; i++)
                if (!rm_pid_set_has(found, (DWORD)ids->ProcessIdList[i]))
                    err = rm_pid_set_add(found, (DWORD)ids->ProcessIdList[i]);
            break;
        }
        rm_free(ids);
        ids = NULL;
        if (st == RM_STATUS_INFO_LENGTH_MISMATCH || st == RM_STATUS_BUFFER_OVERFLOW ||
            st == RM_STATUS_BUFFER_TOO_SMALL)
        {
            if (size >= (64u << 20)) { err = ERROR_OUTOFMEMORY; break; }
            size *= 4;
            continue;
        }
        err = ERROR_NOT_SUPPORTED;   /* not implemented here (Wine), or refused */
        break;
    }
    rm_free(ids);
    CloseHandle(h);
    return err;
}

/* ---- entry point -------------------------------------------------------------------- */

DWORD rm_handles_find_users(const struct rm_resources *r, struct rm_pid_set *found, volatile LONG *cancel,
                            HANDLE cancel_event)
{
    static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
    RM_HANDLE_INFO_EX *info = NULL;
    const RM_HANDLE_ENTRY_EX **todo = NULL;
    HANDLE probe = INVALID_HANDLE_VALUE;
    SIZE_T i, n = 0, with_id = 0;
    DWORD err;

    for (i = 0; i < r->nfiles; i++) with_id += r->files[i].has_id && !r->files[i].is_dir;
    if (!with_id) return ERROR_SUCCESS;

    InitOnceExecuteOnce(&once, fast_path_init, NULL, NULL);
    if (fast_path != FAST_NO)
    {
        for (i = 0, err = ERROR_SUCCESS; i < r->nfiles && !err; i++)
        {
            if (!r->files[i].has_id || r->files[i].is_dir) continue;
            if (*cancel) return ERROR_CANCELLED;
            err = fast_query(&r->files[i], found);
        }
        if (err != ERROR_NOT_SUPPORTED)
        {
            if (!err) fast_path = FAST_YES;
            return err;
        }
        fast_path = FAST_NO;
        rm_trace("discovery: the kernel cannot list a file's processes here; scanning the handle table");
    }

    if (!file_type_index)
    {
        /* Any file handle of ours shows the File type's index in the snapshot. */
        WCHAR path[MAX_PATH];
        if (GetSystemDirectoryW(path, MAX_PATH - 16))
        {
            SIZE_T len = rm_wcsnlen(path, MAX_PATH);
            memcpy(path + len, L"\\kernel32.dll", 14 * sizeof(WCHAR));
            probe = CreateFileW(path, FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE |
                                FILE_SHARE_DELETE, NULL, OPEN_EXISTING, 0, NULL);
        }
        if (probe == INVALID_HANDLE_VALUE) return GetLastError();
    }
    err = snapshot_handles(&info);
    if (probe != INVALID_HANDLE_VALUE)
    {
        if (!err) err = learn_file_type(info, probe);
        CloseHandle(probe);
    }
    if (err) goto done;

    if (!(todo = rm_alloc((SIZE_T)info->NumberOfHandles * sizeof(*todo) + 1))) { err = ERROR_OUTOFMEMORY; goto done; }
    for (i = 0; i < info->NumberOfHandles; i++)
        if (info->Handles[i].ObjectTypeIndex == file_type_index && info->Handles[i].UniqueProcessId)
            todo[n++] = &info->Handles[i];
    err = run_scan(todo, n, r, found, cancel, cancel_event);

done:
    rm_free(todo);
    rm_free(info);
    return err;
}
