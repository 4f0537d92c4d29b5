/*
 * mapwalk.c - files mapped as data: which processes have a registered file mapped
 * with no handle open to it.
 *
 * A file can be in use with no handle open: mapped as data (CreateFileMapping +
 * MapViewOfFile, then both handles closed), the view alone keeps it (spec 6: "open
 * or mapped"). Such views are found by walking the process's address space
 * (VirtualQueryEx) and asking each mapped view's file name (GetMappedFileName).
 * Images are skipped whole, without a query where the walk reaches a module's base
 * (their extent is known from the module list), so the walk costs about one query
 * per heap, stack, free gap and data view.
 *
 * Under Wine each VirtualQueryEx of another process is carried out by that
 * process (a system APC), so a walk waits for every process it looks into, and a
 * query of a process that is killed at the wrong moment of its start-up may never
 * be answered (seen in test_faults' holders-coming-and-going test: a walk stuck in
 * VirtualQueryEx for good). So the walk runs on a worker thread, beside the handle
 * scan (both mostly wait for other processes and the server: side by side a list
 * costs about the longer of the two, bench_getlist), and the caller watches it: a
 * query that has not answered after RM_WALK_STALL_MS is stuck, its worker is left
 * waiting (never terminated: that could corrupt the process), and a fresh worker
 * carries on with the next process. The stuck process is left unchecked; such a
 * process is dying or not yet running code of its own, and either way maps
 * nothing. What the workers share is the walk object, reference-counted, so a
 * worker left behind never touches the caller's memory. A process keeps at most
 * RM_WALK_MAX_STUCK such workers waiting: a walk that would need one more, and
 * every walk once that many wait, fails the call with ERROR_SEM_TIMEOUT rather
 * than leave processes unchecked (as the handle scan does).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"
#include "mapwalk.h"
#include <psapi.h>   /* K32GetMappedFileNameW, in kernel32 since Windows 7 */

#define RM_WALK_STALL_MS   2000   /* a query unanswered this long is stuck (in the
                                     * emulated x86 VM a list of 10,000 takes 3 s) */
#define RM_WALK_MAX_STUCK  16     /* workers a process keeps waiting at most */
#define RM_WALK_POLL_MS    50
#define RM_WALK_WORKERS    (RM_WALK_MAX_STUCK + 1)   /* per walk: each stall starts one */

/* ---- final names ---------------------------------------------------------------------- */

static uint64_t final_name_hash(const WCHAR *path, SIZE_T len)
{
    WCHAR name[MAX_PATH];
    SIZE_T start = len, n;
    uint64_t h;

    while (start && path[start - 1] != L'\\' && path[start - 1] != L'/') start--;
    n = len - start;
    if (!n || n >= MAX_PATH) return 0;
    memcpy(name, path + start, n * sizeof(WCHAR));
    rm_wcsupper(name, n);
    h = rm_hash_bytes(name, n * sizeof(WCHAR), 6);
    return h ? h : 1;
}

DWORD rm_name_set_build(const struct rm_resources *r, struct rm_name_set *s)
{
    SIZE_T cap = 16, i, j;

    memset(s, 0, sizeof(*s));
    while (cap / 2 < r->nfiles)
    {
        if (cap > ((SIZE_T)-1 >> 4)) return ERROR_OUTOFMEMORY;
        cap *= 2;
    }
    if (!(s->slots = rm_alloc(cap * sizeof(*s->slots)))) return ERROR_OUTOFMEMORY;
    s->mask = cap - 1;
    for (i = 0; i < r->nfiles; i++)
    {
        uint64_t h = final_name_hash(r->files[i].key, r->files[i].path_len);
        SIZE_T len = r->files[i].path_len, start = len;
        if (!h || !rm_file_loadable(&r->files[i])) continue;
        while (start && r->files[i].key[start - 1] != L'\\' && r->files[i].key[start - 1] != L'/') start--;
        s->lengths[len - start < MAX_PATH ? len - start : MAX_PATH] = 1;
        for (j = (SIZE_T)h & s->mask; s->slots[j] && s->slots[j] != h; j = (j + 1) & s->mask) {}
        s->slots[j] = h;
    }
    return ERROR_SUCCESS;
}

BOOL rm_name_set_has(const struct rm_name_set *s, const WCHAR *path)
{
    uint64_t h = final_name_hash(path, rm_wcsnlen(path, MAX_PATH));
    SIZE_T j;
    if (!h || !s->slots) return FALSE;
    for (j = (SIZE_T)h & s->mask; s->slots[j]; j = (j + 1) & s->mask)
        if (s->slots[j] == h) return TRUE;
    return FALSE;
}

void rm_name_set_free(struct rm_name_set *s)
{
    rm_free(s->slots);
    s->slots = NULL;
}

/* ---- ranges --------------------------------------------------------------------------- */

void rm_ranges_add(struct rm_ranges *l, ULONG_PTR base, SIZE_T size)
{
    if (rm_grow((void **)&l->items, &l->cap, l->count + 1, sizeof(*l->items))) return;
    l->items[l->count].start = base;
    l->items[l->count++].end = base + size;
}

static ULONG_PTR image_end(const struct rm_range *images, SIZE_T n, ULONG_PTR base)
{
    SIZE_T i;
    for (i = 0; i < n; i++)
        if (images[i].start == base) return images[i].end;
    return 0;
}

/* The end of a module the loader list places at addr, to step over it without
 * asking (a process has tens of modules: a sixth of the walk's queries). The list
 * is the process's own memory, so only a plausible entry is believed: a base on the
 * allocation granularity and at most 1 GiB. 0 if there is none. */
static ULONG_PTR known_image_end(const struct rm_range *images, SIZE_T n, ULONG_PTR addr)
{
    ULONG_PTR end;
    if (!addr || (addr & 0xffff)) return 0;
    end = image_end(images, n, addr);
    return end > addr && end - addr <= ((ULONG_PTR)1 << 30) ? end : 0;
}

/* ---- NT names of mapped files ----------------------------------------------------------- */

/* NT device names of the drive letters (\Device\HarddiskVolume2 -> C:), to read
 * the names GetMappedFileName gives on Windows; Wine gives \??\C:\... instead. */
struct dos_devices
{
    WCHAR letter[26];
    WCHAR device[26][64];
    int count;
};

static void dos_devices_read(struct dos_devices *d)
{
    DWORD drives = GetLogicalDrives();
    WCHAR name[3] = L"A:";
    int i;

    d->count = 0;
    for (i = 0; i < 26; i++)
        if (drives & (1u << i))
        {
            name[0] = (WCHAR)(L'A' + i);
            if (!QueryDosDeviceW(name, d->device[d->count], ARRAYSIZE(d->device[0]))) continue;
            d->letter[d->count++] = name[0];
        }
}

/* The DOS path of a mapped file's NT name, in place; FALSE if it has none. */
static BOOL mapped_name_to_dos(const struct dos_devices *d, WCHAR *name, SIZE_T cch)
{
    SIZE_T len = rm_wcsnlen(name, cch - 1), n;
    int i;

    if (len > 4 && !memcmp(name, L"\\??\\", 4 * sizeof(WCHAR)))
    {
        if (len > 8 && CompareStringOrdinal(name + 4, 4, L"UNC\\", 4, TRUE) == CSTR_EQUAL)
        {
            memmove(name + 2, name + 8, (len - 8 + 1) * sizeof(WCHAR));   /* \\server\share */
            name[0] = name[1] = L'\\';
        }
        else memmove(name, name + 4, (len - 4 + 1) * sizeof(WCHAR));
        return TRUE;
    }
    for (i = 0; i < d->count; i++)
    {
        n = rm_wcsnlen(d->device[i], ARRAYSIZE(d->device[0]));
        if (n && len > n && name[n] == L'\\' &&
            CompareStringOrdinal(name, (int)n, d->device[i], (int)n, TRUE) == CSTR_EQUAL)
        {
            name[0] = d->letter[i];
            name[1] = L':';
            memmove(name + 2, name + n, (len - n + 1) * sizeof(WCHAR));
            return TRUE;
        }
    }
    return FALSE;
}

/* ---- the walk ------------------------------------------------------------------------- */

struct target { DWORD pid; SIZE_T first, count; };   /* its images: ranges[first..] */
struct view { DWORD pid; SIZE_T name; };             /* a candidate: name in the pool */

struct worker
{
    struct rm_walk *walk;
    HANDLE thread;
    volatile LONG in_query;          /* a query of another process is under way ... */
    volatile LONG since;             /* ... since this tick count */
    volatile LONG left;              /* the caller stopped waiting for it */
    volatile LONG done;              /* no target left for it */
};

struct rm_walk
{
    LONG refs;                       /* the caller's and each started worker's */
    SRWLOCK lock;                    /* next, stop, views, pool */
    struct rm_name_set names;        /* a copy: workers outlive the caller's */
    struct dos_devices dev;
    struct target *targets;  SIZE_T ntargets, cap_targets, next;
    struct rm_range *ranges; SIZE_T nranges, cap_ranges;
    struct view *views;      SIZE_T nviews, cap_views;
    WCHAR *pool;             SIZE_T npool, cap_pool;
    BOOL stop;
    BOOL refused;                    /* too many workers already wait: not walked */
    struct rm_pid_board board;       /* processes the handle scan matched */
    struct worker workers[RM_WALK_WORKERS];
    int nworkers;
};

static volatile LONG g_walks_stuck;  /* workers left waiting, process-wide */

static void walk_release(struct rm_walk *w)
{
    if (InterlockedDecrement(&w->refs)) return;
    rm_name_set_free(&w->names);
    rm_free(w->targets);
    rm_free(w->ranges);
    rm_free(w->views);
    rm_free(w->pool);
    rm_free(w);
}

DWORD rm_walk_new(const struct rm_name_set *names, struct rm_walk **out)
{
    struct rm_walk *w = rm_alloc(sizeof(*w));   /* zeroed: the board is empty */

    *out = NULL;
    if (!w) return ERROR_OUTOFMEMORY;
    rm_sys_init();   /* fault injection (WalkQuery) is armed before the first query */
    w->refs = 1;
    InitializeSRWLock(&w->lock);
    w->names = *names;
    if (names->slots)
    {
        if (!(w->names.slots = rm_alloc((names->mask + 1) * sizeof(*names->slots))))
        {
            rm_free(w);
            return ERROR_OUTOFMEMORY;
        }
        memcpy(w->names.slots, names->slots, (names->mask + 1) * sizeof(*names->slots));
    }
    dos_devices_read(&w->dev);
    *out = w;
    return ERROR_SUCCESS;
}

DWORD rm_walk_add(struct rm_walk *w, DWORD pid, const struct rm_ranges *images)
{
    struct target *t;
    DWORD err;

    if ((err = rm_grow((void **)&w->targets, &w->cap_targets, w->ntargets + 1, sizeof(*w->targets))) ||
        (err = rm_grow((void **)&w->ranges, &w->cap_ranges, w->nranges + images->count + 1, sizeof(*w->ranges))))
        return err;
    t = &w->targets[w->ntargets++];
    t->pid = pid;
    t->first = w->nranges;
    t->count = images->count;
    if (images->count) memcpy(w->ranges + w->nranges, images->items, images->count * sizeof(*images->items));
    w->nranges += images->count;
    return ERROR_SUCCESS;
}

void rm_walk_free(struct rm_walk *w)
{
    if (w) walk_release(w);
}

struct rm_pid_board *rm_walk_board(struct rm_walk *w)
{
    return &w->board;
}

/* Notes a view whose final name is a registered file's, for the caller to judge. */
static void note_view(struct rm_walk *w, DWORD pid, const WCHAR *name)
{
    SIZE_T n = rm_wcsnlen(name, MAX_PATH);
    AcquireSRWLockExclusive(&w->lock);
    /* Out of memory loses the candidate, as a failed query would. */
    if (!rm_grow((void **)&w->views, &w->cap_views, w->nviews + 1, sizeof(*w->views)) &&
        !rm_grow((void **)&w->pool, &w->cap_pool, w->npool + n + 1, sizeof(WCHAR)))
    {
        memcpy(w->pool + w->npool, name, n * sizeof(WCHAR));
        w->pool[w->npool + n] = 0;
        w->views[w->nviews].pid = pid;
        w->views[w->nviews++].name = w->npool;
        w->npool += n + 1;
    }
    ReleaseSRWLockExclusive(&w->lock);
}

static BOOL worker_should_stop(struct worker *k)
{
    return k->left || k->walk->stop;
}

/* Walks one process, noting the views whose names may be registered files. */
static void walk_target(struct worker *k, const struct target *t)
{
    struct rm_walk *w = k->walk;
    const struct rm_range *images = w->ranges + t->first;
    MEMORY_BASIC_INFORMATION mbi;
    WCHAR name[MAX_PATH + 8];
    ULONG_PTR addr = 0, next;
    SIZE_T got;
    HANDLE h;

    if (rm_pid_board_has(&w->board, t->pid)) return;
    if (!(h = OpenProcess(PROCESS_QUERY_INFORMATION, FALSE, t->pid))) return;
    while (!worker_should_stop(k) && !rm_pid_board_has(&w->board, t->pid))
    {
        if ((next = known_image_end(images, t->count, addr)))
        {
            addr = next;
            continue;
        }
        k->since = (LONG)GetTickCount();
        InterlockedExchange(&k->in_query, 1);
        /* Tests make a query hang as Wine's does for a process killed mid-start. */
        if (rm_sys_walk_query_stalls(t->pid)) WaitForSingleObject(GetCurrentThread(), INFINITE);
        got = VirtualQueryEx(h, (void *)addr, &mbi, sizeof(mbi));
        InterlockedExchange(&k->in_query, 0);
        if (got != sizeof(mbi)) break;
        next = (ULONG_PTR)mbi.BaseAddress + mbi.RegionSize;
        if (mbi.Type == MEM_MAPPED && mbi.BaseAddress == mbi.AllocationBase &&
            GetMappedFileNameW(h, mbi.BaseAddress, name, MAX_PATH) && mapped_name_to_dos(&w->dev, name, MAX_PATH) &&
            rm_name_set_has(&w->names, name))
            note_view(w, t->pid, name);
        else if (mbi.Type == MEM_IMAGE)
        {
            ULONG_PTR end = image_end(images, t->count, (ULONG_PTR)mbi.AllocationBase);
            if (end > next) next = end;
        }
        if (next <= addr) break;   /* the top of the address space */
        addr = next;
    }
    CloseHandle(h);
}

/* Takes the next target; FALSE when there is none left for this worker. */
static BOOL take_target(struct worker *k, SIZE_T *t)
{
    struct rm_walk *w = k->walk;
    BOOL ok;
    AcquireSRWLockExclusive(&w->lock);
    ok = !w->stop && !k->left && w->next < w->ntargets;
    if (ok) *t = w->next++;
    ReleaseSRWLockExclusive(&w->lock);
    return ok;
}

static void walk_all(struct worker *k)
{
    SIZE_T t;
    while (take_target(k, &t)) walk_target(k, &k->walk->targets[t]);
    InterlockedExchange(&k->done, 1);
}

static DWORD WINAPI worker_main(void *arg)
{
    struct worker *k = arg;
    struct rm_walk *w = k->walk;

    walk_all(k);
    /* Left behind and back after all: no longer waiting. */
    if (InterlockedCompareExchange(&k->left, 2, 1) == 1) InterlockedDecrement(&g_walks_stuck);
    walk_release(w);
    rm_thread_exit();
    return 0;
}

/* Starts one more worker; FALSE if no thread could be started. */
static BOOL start_worker(struct rm_walk *w)
{
    struct worker *k;

    if (w->nworkers == RM_WALK_WORKERS) return FALSE;
    k = &w->workers[w->nworkers];
    k->walk = w;
    InterlockedIncrement(&w->refs);
    if (!(k->thread = rm_thread_start(worker_main, k)))
    {
        InterlockedDecrement(&w->refs);   /* the caller still holds one */
        return FALSE;
    }
    w->nworkers++;
    return TRUE;
}

void rm_walk_start(struct rm_walk *w)
{
    if (!w->ntargets) return;
    if (g_walks_stuck >= RM_WALK_MAX_STUCK) w->refused = TRUE;
    else start_worker(w);
}

/* Is the current worker stuck in a query? Then it is left waiting. */
static BOOL leave_if_stuck(struct worker *k)
{
    if (!k->in_query || (DWORD)(GetTickCount() - (DWORD)k->since) < RM_WALK_STALL_MS) return FALSE;
    if (InterlockedCompareExchange(&k->left, 1, 0) != 0) return FALSE;
    InterlockedIncrement(&g_walks_stuck);
    rm_trace("RmGetList: a process did not answer a query of its address space for %u ms; it is left unchecked",
             RM_WALK_STALL_MS);
    return TRUE;
}

DWORD rm_walk_finish(struct rm_walk *w, volatile LONG *cancel,
                     BOOL (*is_registered)(const WCHAR *name, void *ctx), void *ctx, struct rm_pid_set *found)
{
    DWORD err = ERROR_SUCCESS;
    SIZE_T i;

    if (w->refused) err = ERROR_SEM_TIMEOUT;
    else if (w->ntargets && !w->nworkers)
    {
        /* No thread: walk here, unwatched. */
        w->workers[0].walk = w;
        walk_all(&w->workers[0]);
    }
    while (w->nworkers)
    {
        struct worker *k = &w->workers[w->nworkers - 1];
        if (WaitForSingleObject(k->thread, RM_WALK_POLL_MS) == WAIT_OBJECT_0 || k->done) break;
        if (*cancel)
        {
            err = ERROR_CANCELLED;
            break;
        }
        if (!leave_if_stuck(k)) continue;
        if (g_walks_stuck >= RM_WALK_MAX_STUCK)
        {
            err = ERROR_SEM_TIMEOUT;
            break;
        }
        if (!start_worker(w))
        {
            err = ERROR_SEM_TIMEOUT;   /* the rest cannot be walked unwatched */
            break;
        }
    }
    AcquireSRWLockExclusive(&w->lock);
    w->stop = TRUE;   /* a worker still running (cancel, error) stops at its next step */
    for (i = 0; i < w->nviews && !err; i++)
        if (!rm_pid_set_has(found, w->views[i].pid) && is_registered(w->pool + w->views[i].name, ctx))
            err = rm_pid_set_add(found, w->views[i].pid);
    ReleaseSRWLockExclusive(&w->lock);
    for (i = 0; i < (SIZE_T)w->nworkers; i++) CloseHandle(w->workers[i].thread);
    walk_release(w);
    return err;
}
