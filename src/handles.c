/*
 * handles.c - the system handle table: which processes hold an open handle to one
 * of a set of files (rm_idset), for the files the kernel would not answer for
 * itself (fileusers.c).
 *
 * One SystemExtendedHandleInformation snapshot; every File handle of another
 * process is duplicated and identified by its file index first
 * (FileInternalInformation: one query, no volume lookup), and only a handle whose
 * index is a registered file's index is asked for its volume's serial number, so
 * identity stays volume + file index, never a name. Our own handles are queried as
 * they are, without duplicating them. Processes already known to use a registered
 * file are skipped before anything is duplicated. The File type index is learnt at
 * run time from a handle we open.
 *
 * Hang-proofing: on Windows, querying a synchronous file or pipe handle with a read
 * pending blocks until the read completes, possibly forever. The queries run on
 * worker threads; a query that has not answered after RM_HANDLE_STALL_MS is
 * declared stuck: its worker is left waiting (never terminated: that could corrupt
 * the process) and a fresh worker carries on with the handles after it, so a stuck
 * handle costs its worker, not the scan. Only the handles that do not answer are
 * left unchecked. A stuck worker that gets its answer after all still reports it
 * while the scan runs, then exits. A handle whose object is one a stuck query still
 * waits on is not queried again (it could only get stuck as well). What is bounded:
 * a process keeps at most RM_MAX_STUCK_WORKERS such queries waiting; a scan that
 * would need one more gives up, and the call returns ERROR_SEM_TIMEOUT rather than
 * a list that leaves part of the handle table unchecked (README, Choices).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"
#include "ntapi.h"

#define RM_HANDLE_STALL_MS    250   /* a query that has not answered by then is stuck */
#define RM_MAX_STUCK_WORKERS  64    /* stuck queries a process keeps waiting at most */
#define RM_SCAN_WORKERS       1     /* workers a scan starts with: more were slower (bench_getlist) */
#define RM_SCAN_WORKERS_MAX   8     /* after stalls (stuck handles come in runs) */

/* ---- the handle table ------------------------------------------------------------- */

static USHORT file_type_index;       /* 0 = not learnt yet */

static DWORD snapshot_handles(RM_HANDLE_INFO_EX **out)
{
    static volatile LONG last_size = 1 << 18;
    ULONG size = (ULONG)last_size, got = 0;
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
            /* Next time start where this one ended, with room for growth. */
            InterlockedExchange(&last_size, (LONG)(got + (got >> 2) + (64 << 10)));
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

/* Opens a file of ours to find the File type's index in a snapshot: it differs
 * between systems (and, under Wine, from its place in the object type list). */
static HANDLE open_probe(void)
{
    WCHAR path[MAX_PATH];
    SIZE_T len;

    if (!GetSystemDirectoryW(path, MAX_PATH - 16)) return INVALID_HANDLE_VALUE;
    len = rm_wcsnlen(path, MAX_PATH);
    memcpy(path + len, L"\\kernel32.dll", 14 * sizeof(WCHAR));
    return CreateFileW(path, FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                       OPEN_EXISTING, 0, NULL);
}

static void learn_file_type(const RM_HANDLE_INFO_EX *info, HANDLE probe)
{
    ULONG_PTR i, pid = GetCurrentProcessId();
    for (i = 0; i < info->NumberOfHandles; i++)
        if (info->Handles[i].UniqueProcessId == pid && info->Handles[i].HandleValue == (ULONG_PTR)probe)
        {
            file_type_index = info->Handles[i].ObjectTypeIndex;
            return;
        }
}

/* ---- workers and what every scan of this process shares ---------------------------- */

/* Every worker of the process, of every scan, is on one list with the handle it is
 * querying. Two things need it: a later snapshot shows our workers' duplicates as
 * handles of our own process (never a sign that we use a file), and a handle whose
 * object a stuck query still waits on must not be queried again. */
struct worker
{
    struct worker *prev, *next;      /* g_workers, under g_lock */
    LONG refs;                       /* the thread, and the scan while it watches */
    struct scan *sc;                 /* a reference */
    HANDLE done;                     /* set when the thread leaves its loop */
    volatile LONG busy;              /* number of the query under way, 0 between, WORKER_STUCK */
    volatile DWORD since;            /* GetTickCount when that query began */
    DWORD pid;                       /* the handle being queried (under g_lock) ... */
    ULONG_PTR value;                 /* ... its value in that process ... */
    HANDLE handle;                   /* ... and ours for it: a duplicate, or the same */
    BOOL owned;                      /* handle is a duplicate we close */
};

#define WORKER_STUCK (-1)

static SRWLOCK g_lock = SRWLOCK_INIT;       /* g_workers, the handle fields, g_stuck */
static struct worker *g_workers;
static LONG g_stuck;                        /* queries left waiting (declared stuck) */
/* Held shared by a worker from DuplicateHandle to publishing the duplicate and from
 * closing it to withdrawing it, and exclusively around a snapshot: so a snapshot
 * never holds a duplicate of ours that the list does not show (or the other way). */
static SRWLOCK g_dup_lock = SRWLOCK_INIT;

static RM_NtCompareObjects compare_objects;

static BOOL CALLBACK find_compare(INIT_ONCE *once, void *param, void **ctx)
{
    (void)once; (void)param; (void)ctx;
    compare_objects = (RM_NtCompareObjects)(void *)GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "NtCompareObjects");
    return TRUE;
}

/* TRUE when h (a handle of process pid, value in that process) names an object a
 * stuck query still waits on. Without NtCompareObjects it is queried again. */
static BOOL still_stuck(DWORD pid, ULONG_PTR value, HANDLE h)
{
    struct worker *w;
    BOOL same = FALSE;

    if (!g_stuck || !compare_objects) return FALSE;
    AcquireSRWLockShared(&g_lock);
    for (w = g_workers; w && !same; w = w->next)
        if (w->busy == WORKER_STUCK && w->pid == pid && w->value == value)
            same = compare_objects(h, w->handle) == 0;
    ReleaseSRWLockShared(&g_lock);
    return same;
}

/* Marks w's query (number seq) stuck unless it answered meanwhile. */
static BOOL declare_stuck(struct worker *w, LONG seq)
{
    BOOL stuck;
    AcquireSRWLockExclusive(&g_lock);
    stuck = InterlockedCompareExchange(&w->busy, WORKER_STUCK, seq) == seq;
    if (stuck) g_stuck++;
    ReleaseSRWLockExclusive(&g_lock);
    return stuck;
}

/* ---- one scan ------------------------------------------------------------------------ */

struct scan_proc
{
    DWORD pid;
    LONG matched;                    /* a registered file found: skip the rest */
};

struct scan_item
{
    ULONG_PTR value;                 /* the handle in its process */
    DWORD proc;                      /* index in procs */
};

struct scan
{
    LONG refs;                       /* the caller + each worker */
    SRWLOCK lock;                    /* abandoned, err, and every use of the arrays below */
    BOOL abandoned;                  /* the caller returned: the arrays are gone */
    DWORD err;                       /* first failure a worker met */
    volatile LONG next;              /* next item to claim */
    DWORD self;                      /* our PID */
    SIZE_T count;
    const struct scan_item *items;   /* the caller's, like procs, wanted and found */
    struct scan_proc *procs;
    const struct rm_idset *wanted;
    struct rm_pid_set *found;
};

static void scan_release(struct scan *sc)
{
    if (!InterlockedDecrement(&sc->refs)) rm_free(sc);
}

static void worker_release(struct worker *w)
{
    if (InterlockedDecrement(&w->refs)) return;
    CloseHandle(w->done);
    rm_free(w);
}

/* Publishes the handle a query is about to be made on, and starts the clock. */
static LONG begin_query(struct worker *w, DWORD pid, ULONG_PTR value, HANDLE h, BOOL owned, LONG *seq)
{
    AcquireSRWLockExclusive(&g_lock);
    w->pid = pid;
    w->value = value;
    w->handle = h;
    w->owned = owned;
    w->since = GetTickCount();
    if (++*seq <= 0) *seq = 1;
    InterlockedExchange(&w->busy, *seq);
    ReleaseSRWLockExclusive(&g_lock);
    return *seq;
}

/* Ends the query; FALSE when it had been declared stuck meanwhile. */
static BOOL end_query(struct worker *w, LONG seq)
{
    BOOL in_time;
    AcquireSRWLockExclusive(&g_lock);
    in_time = InterlockedCompareExchange(&w->busy, 0, seq) == seq;
    if (!in_time)
    {
        w->busy = 0;
        g_stuck--;
    }
    w->handle = NULL;
    w->pid = 0;
    w->value = 0;
    ReleaseSRWLockExclusive(&g_lock);
    return in_time;
}

static void record(struct scan *sc, DWORD proc, DWORD pid, ULONGLONG index, DWORD volume, DWORD scope)
{
    AcquireSRWLockExclusive(&sc->lock);
    if (!sc->abandoned && (rm_idset_scope(sc->wanted, index, &volume) & scope))
    {
        sc->procs[proc].matched = TRUE;
        if (!sc->err) sc->err = rm_pid_set_add(sc->found, pid);
    }
    ReleaseSRWLockExclusive(&sc->lock);
}

static DWORD WINAPI scan_worker(void *arg)
{
    struct worker *w = arg;
    struct scan *sc = w->sc;
    HANDLE self = GetCurrentProcess(), process = NULL;
    DWORD process_pid = 0;
    LONG seq = 0;
    BOOL in_time = TRUE;

    /* The arrays the scan points to are touched only under sc->lock after checking
     * abandoned: once the caller has set it (under the same lock) it may free them. */
    while (in_time)
    {
        struct scan_item it;
        DWORD pid = 0, scope = 0, volume = 0;
        ULONGLONG index = 0;
        HANDLE h;
        BOOL stop, known = FALSE, own;
        LONG i;

        AcquireSRWLockShared(&sc->lock);
        stop = sc->abandoned;
        if (!stop)
        {
            i = InterlockedIncrement(&sc->next) - 1;
            stop = (SIZE_T)i >= sc->count;
            if (!stop)
            {
                it = sc->items[i];
                pid = sc->procs[it.proc].pid;
                known = sc->procs[it.proc].matched;
            }
        }
        ReleaseSRWLockShared(&sc->lock);
        if (stop) break;
        if (known) continue;   /* one match per process is enough */

        own = pid == sc->self;
        AcquireSRWLockShared(&g_dup_lock);
        if (own)
            h = (HANDLE)it.value;   /* ours: no duplicate needed */
        else
        {
            /* Handles come grouped by process: each process is opened once. */
            if (pid != process_pid)
            {
                if (process) CloseHandle(process);
                process_pid = pid;
                process = OpenProcess(PROCESS_DUP_HANDLE, FALSE, pid);
            }
            /* A process that exited, or that we may not open, or a handle closed since
             * the snapshot: skipped. */
            if (!process ||
                !DuplicateHandle(process, (HANDLE)it.value, self, &h, 0, FALSE, DUPLICATE_SAME_ACCESS))
            {
                ReleaseSRWLockShared(&g_dup_lock);
                continue;
            }
        }
        if (still_stuck(pid, it.value, h))
        {
            if (!own) CloseHandle(h);
            ReleaseSRWLockShared(&g_dup_lock);
            rm_trace("handle scan: handle %lx of process %lu is still stuck from before: not asked again",
                     (unsigned long)it.value, pid);
            continue;
        }
        begin_query(w, pid, it.value, h, !own, &seq);
        ReleaseSRWLockShared(&g_dup_lock);

        /* Tests make a query hang like a pipe with a read pending (sys.c). */
        if (rm_sys_handle_query_stalls(pid)) WaitForSingleObject(self, INFINITE);
        /* The calls that may block. The index alone rules out nearly every handle;
         * the volume is asked only when the index is a registered file's. */
        if (!rm_sys.FileIndex(h, &index))
        {
            AcquireSRWLockShared(&sc->lock);
            if (!sc->abandoned) scope = rm_idset_scope(sc->wanted, index, NULL) & (own ? RM_SCOPE_SELF : RM_SCOPE_OTHERS);
            ReleaseSRWLockShared(&sc->lock);
            if (scope && rm_sys.FileVolume(h, &volume)) scope = 0;
        }

        AcquireSRWLockShared(&g_dup_lock);
        if (!own) CloseHandle(h);
        in_time = end_query(w, seq);
        ReleaseSRWLockShared(&g_dup_lock);
        /* A late answer still counts while the scan runs. */
        if (scope) record(sc, it.proc, pid, index, volume, scope);
    }
    if (process) CloseHandle(process);

    AcquireSRWLockExclusive(&g_lock);
    if (w->prev) w->prev->next = w->next;
    else g_workers = w->next;
    if (w->next) w->next->prev = w->prev;
    ReleaseSRWLockExclusive(&g_lock);
    SetEvent(w->done);
    scan_release(sc);
    worker_release(w);
    rm_thread_exit();
}

static struct worker *start_worker(struct scan *sc)
{
    struct worker *w = rm_alloc(sizeof(*w));
    HANDLE thread;

    if (!w) return NULL;
    if (!(w->done = CreateEventW(NULL, TRUE, FALSE, NULL)))
    {
        rm_free(w);
        return NULL;
    }
    w->refs = 2;
    w->sc = sc;
    InterlockedIncrement(&sc->refs);
    AcquireSRWLockExclusive(&g_lock);
    w->next = g_workers;
    if (g_workers) g_workers->prev = w;
    g_workers = w;
    ReleaseSRWLockExclusive(&g_lock);
    if (!(thread = rm_thread_start(scan_worker, w)))
    {
        DWORD err = GetLastError();
        AcquireSRWLockExclusive(&g_lock);
        if (w->prev) w->prev->next = w->next;
        else g_workers = w->next;
        if (w->next) w->next->prev = w->prev;
        ReleaseSRWLockExclusive(&g_lock);
        scan_release(sc);
        CloseHandle(w->done);
        rm_free(w);
        SetLastError(err);
        return NULL;
    }
    CloseHandle(thread);
    return w;
}

/* The query w is in, and for how long it has been running; FALSE when none. */
static BOOL query_age(struct worker *w, DWORD now, LONG *seq, DWORD *age)
{
    LONG a = w->busy, b;
    DWORD since;
    MemoryBarrier();
    since = w->since;
    MemoryBarrier();
    b = w->busy;
    /* since belongs to query a only if the worker was in it before and after. */
    if (a <= 0 || a != b) return FALSE;
    *seq = a;
    *age = now - since;
    return TRUE;
}

/* Runs workers over the scan's items until every one is checked or left behind as
 * stuck. */
static DWORD run_scan(struct scan *sc, volatile LONG *cancel, HANDLE cancel_event)
{
    struct worker *live[RM_SCAN_WORKERS_MAX];
    int nlive = 0, want = RM_SCAN_WORKERS, i, stuck = 0;
    DWORD err = ERROR_SUCCESS;

    for (;;)
    {
        HANDLE waits[RM_SCAN_WORKERS_MAX + 1];
        DWORD n, timeout = RM_HANDLE_STALL_MS, now, r, age;
        LONG seq;

        while (nlive < want && (SIZE_T)sc->next < sc->count)
        {
            if (!(live[nlive] = start_worker(sc)))
            {
                if (!nlive) err = GetLastError() ? GetLastError() : ERROR_OUTOFMEMORY;
                break;
            }
            nlive++;
        }
        if (err || !nlive) break;   /* failed, or everything checked */

        now = GetTickCount();
        for (i = 0, n = 0; i < nlive; i++)
        {
            waits[n++] = live[i]->done;
            if (query_age(live[i], now, &seq, &age))
                timeout = min(timeout, age >= RM_HANDLE_STALL_MS ? 0 : RM_HANDLE_STALL_MS - age);
        }
        if (cancel_event) waits[n++] = cancel_event;
        r = WaitForMultipleObjects(n, waits, FALSE, timeout);
        if (*cancel) { err = ERROR_CANCELLED; break; }
        if (r == WAIT_FAILED) { err = GetLastError(); break; }
        if (r < WAIT_OBJECT_0 + (DWORD)nlive)
        {
            /* That worker found nothing more to claim. */
            worker_release(live[r - WAIT_OBJECT_0]);
            live[r - WAIT_OBJECT_0] = live[--nlive];
            continue;
        }

        now = GetTickCount();
        for (i = 0; i < nlive && !err; i++)
        {
            if (!query_age(live[i], now, &seq, &age) || age < RM_HANDLE_STALL_MS) continue;
            if (g_stuck >= RM_MAX_STUCK_WORKERS)
            {
                err = ERROR_SEM_TIMEOUT;
                break;
            }
            if (!declare_stuck(live[i], seq)) continue;
            rm_trace("handle scan: a handle of process %lu does not answer; left behind, the scan goes on "
                     "(%ld waiting)", live[i]->pid, g_stuck);
            stuck++;
            worker_release(live[i]);
            live[i--] = live[--nlive];
            /* Stuck handles come in runs (one process's pipes): more workers get past them sooner. */
            if (want < RM_SCAN_WORKERS_MAX) want++;
        }
    }

    /* From here on no worker touches the arrays again (see scan_worker), so the
     * caller may free them. A worker still in a query is left to it, counted as
     * stuck so that the bound holds. */
    AcquireSRWLockExclusive(&sc->lock);
    sc->abandoned = TRUE;
    if (!err) err = sc->err;
    ReleaseSRWLockExclusive(&sc->lock);
    for (i = 0; i < nlive; i++)
    {
        DWORD now = GetTickCount(), age;
        LONG seq;
        if (query_age(live[i], now, &seq, &age)) declare_stuck(live[i], seq);
        worker_release(live[i]);
    }
    if (err == ERROR_SEM_TIMEOUT)
        rm_trace("handle scan: %ld queries of this process do not answer; giving up rather than "
                 "leaving handles unchecked", g_stuck);
    else if (stuck)
        rm_trace("handle scan: done; %d handle(s) did not answer and were left unchecked", stuck);
    return err;
}

/* ---- building a scan --------------------------------------------------------------- */

/* Takes the snapshot with our workers' duplicates known (g_dup_lock): they are
 * ours, but never the caller's use of a file. Returns the values to leave out. */
static DWORD snapshot_ours(RM_HANDLE_INFO_EX **info, HANDLE **internal, SIZE_T *ninternal)
{
    struct worker *w;
    SIZE_T n = 0;
    DWORD err;

    *internal = NULL;
    *ninternal = 0;
    AcquireSRWLockExclusive(&g_dup_lock);
    err = snapshot_handles(info);
    AcquireSRWLockShared(&g_lock);
    for (w = g_workers; w; w = w->next) n += w->handle && w->owned;
    if (!err && n && !(*internal = rm_alloc(n * sizeof(HANDLE)))) err = ERROR_OUTOFMEMORY;
    if (!err && n)
        for (w = g_workers; w; w = w->next)
            if (w->handle && w->owned) (*internal)[(*ninternal)++] = w->handle;
    ReleaseSRWLockShared(&g_lock);
    ReleaseSRWLockExclusive(&g_dup_lock);
    if (err)
    {
        rm_free(*info);
        *info = NULL;
    }
    return err;
}

static BOOL is_internal(ULONG_PTR value, HANDLE probe, const HANDLE *internal, SIZE_T n)
{
    SIZE_T i;
    if (value == (ULONG_PTR)probe) return TRUE;
    for (i = 0; i < n; i++)
        if ((ULONG_PTR)internal[i] == value) return TRUE;
    return FALSE;
}

/* The File handles to check, grouped by process: other processes' when a file is
 * wanted there, ours when one is wanted here; processes already in found skipped. */
static DWORD build_items(const RM_HANDLE_INFO_EX *info, HANDLE probe, const HANDLE *internal, SIZE_T ninternal,
                         const struct rm_pid_set *found, BOOL others, BOOL self, struct scan *sc)
{
    struct scan_item *items;
    struct scan_proc *procs;
    ULONG_PTR i, last = (ULONG_PTR)-1, mine = GetCurrentProcessId();
    SIZE_T n = 0, np = 0;
    BOOL skip = TRUE;

    if (!(items = rm_alloc((SIZE_T)info->NumberOfHandles * sizeof(*items) + 1)) ||
        !(procs = rm_alloc((SIZE_T)info->NumberOfHandles * sizeof(*procs) + 1)))
    {
        rm_free(items);
        return ERROR_OUTOFMEMORY;
    }
    for (i = 0; i < info->NumberOfHandles; i++)
    {
        const RM_HANDLE_ENTRY_EX *e = &info->Handles[i];
        if (e->ObjectTypeIndex != file_type_index || !e->UniqueProcessId) continue;
        if (e->UniqueProcessId != last)
        {
            last = e->UniqueProcessId;
            skip = (last == mine ? !self : !others) || rm_pid_set_has(found, (DWORD)last);
            if (!skip)
            {
                procs[np].pid = (DWORD)last;
                procs[np++].matched = FALSE;
            }
        }
        if (skip || (last == mine && is_internal(e->HandleValue, probe, internal, ninternal))) continue;
        items[n].value = e->HandleValue;
        items[n++].proc = (DWORD)(np - 1);
    }
    sc->items = items;
    sc->count = n;
    sc->procs = procs;
    return ERROR_SUCCESS;
}

DWORD rm_handle_scan(const struct rm_idset *wanted, BOOL others, BOOL self, struct rm_pid_set *found,
                     volatile LONG *cancel, HANDLE cancel_event)
{
    static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
    RM_HANDLE_INFO_EX *info = NULL;
    HANDLE probe = INVALID_HANDLE_VALUE, *internal = NULL;
    SIZE_T ninternal = 0;
    struct scan *sc;
    DWORD err;

    InitOnceExecuteOnce(&once, find_compare, NULL, NULL);
    if (!(sc = rm_alloc(sizeof(*sc)))) return ERROR_OUTOFMEMORY;
    sc->refs = 1;
    InitializeSRWLock(&sc->lock);
    sc->self = GetCurrentProcessId();
    sc->wanted = wanted;
    sc->found = found;

    if (!file_type_index && (probe = open_probe()) == INVALID_HANDLE_VALUE)
    {
        err = GetLastError();
        goto done;
    }
    err = snapshot_ours(&info, &internal, &ninternal);
    if (!err && probe != INVALID_HANDLE_VALUE) learn_file_type(info, probe);
    if (!err && !file_type_index) err = ERROR_NOT_FOUND;
    if (!err) err = build_items(info, probe, internal, ninternal, found, others, self, sc);
    if (probe != INVALID_HANDLE_VALUE) CloseHandle(probe);
    rm_free(internal);
    rm_free(info);   /* the items are copies */
    if (!err && sc->count) err = run_scan(sc, cancel, cancel_event);
    rm_free((void *)sc->items);
    rm_free(sc->procs);
done:
    scan_release(sc);
    return err;
}

/* ---- who holds one file (the played fast path) -------------------------------------- */

DWORD rm_handles_holders(HANDLE h, ULONG_PTR *pids, ULONG cap, ULONG *count)
{
    RM_HANDLE_INFO_EX *info = NULL;
    HANDLE probe = INVALID_HANDLE_VALUE, *internal = NULL, self = GetCurrentProcess(), process = NULL;
    SIZE_T ninternal = 0;
    ULONG_PTR i, mine = GetCurrentProcessId(), last = (ULONG_PTR)-1;
    struct rm_file_id id;
    ULONG n = 0, k;
    DWORD err;
    BOOL listed = FALSE;

    *count = 0;
    if (!rm_handle_identity(h, &id)) return GetLastError() ? GetLastError() : ERROR_GEN_FAILURE;
    if (!file_type_index && (probe = open_probe()) == INVALID_HANDLE_VALUE) return GetLastError();
    err = snapshot_ours(&info, &internal, &ninternal);
    if (!err && probe != INVALID_HANDLE_VALUE) learn_file_type(info, probe);
    for (i = 0; !err && i < info->NumberOfHandles; i++)
    {
        const RM_HANDLE_ENTRY_EX *e = &info->Handles[i];
        struct rm_file_id other;
        HANDLE dup;
        BOOL same;

        if (e->ObjectTypeIndex != file_type_index || !e->UniqueProcessId) continue;
        if (e->UniqueProcessId != last)
        {
            last = e->UniqueProcessId;
            listed = FALSE;
            if (process) CloseHandle(process);
            process = last == mine ? NULL : OpenProcess(PROCESS_DUP_HANDLE, FALSE, (DWORD)last);
        }
        if (listed || (last == mine && is_internal(e->HandleValue, probe, internal, ninternal))) continue;
        if (last == mine) dup = (HANDLE)e->HandleValue;
        else if (!process || !DuplicateHandle(process, (HANDLE)e->HandleValue, self, &dup, 0, FALSE,
                                              DUPLICATE_SAME_ACCESS))
            continue;
        same = rm_handle_identity(dup, &other) && !memcmp(&id, &other, sizeof(id));
        if (last != mine) CloseHandle(dup);
        if (!same) continue;
        for (k = 0; k < n && k < cap && pids[k] != last; k++) {}
        if (k < n && k < cap) continue;
        if (n < cap) pids[n] = last;
        n++;
        listed = TRUE;
    }
    if (process) CloseHandle(process);
    if (probe != INVALID_HANDLE_VALUE) CloseHandle(probe);
    rm_free(internal);
    rm_free(info);
    *count = n;
    return err;
}
