/*
 * dirlist.c - many registered paths identified at once, from one listing of each
 * of their directories (RmRegisterResources, and RmGetList's re-identification of
 * stored paths).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"
#include "listing.h"

/* Under Wine, opening a file and asking its identity costs about a millisecond
 * (GetFileInformationByHandle asks the volume for its serial number every time),
 * and a name that does not exist is looked up by reading its whole directory:
 * registering thousands of files one open at a time cost most of a millisecond
 * each, quadratic in the size of their directories. A directory listing
 * (FileIdBothDirectoryInfo) gives every entry's long name, 8.3 name, attributes
 * and file ID (the file index GetFileInformationByHandle reports) for about
 * 10 us an entry, and the volume serial number is one for the whole directory.
 * So a batch of paths is grouped by directory, each directory is listed once,
 * and a name is looked up in a hash table of its listing. A file is opened only
 * where the listing cannot answer:
 *  - the directory cannot be listed (access denied: a directory one may traverse
 *    but not read; a handle that is not a directory; a listing that fails);
 *  - the entry is a reparse point (symbolic link, junction, mount point: the
 *    identity is the target's) or a directory (under Wine a Unix mount point is
 *    a directory on another volume with no reparse flag);
 *  - the name is not one the listing can match: empty (the path ends with a
 *    backslash), "." or "..", a stream ("name:stream"), one ending with a dot or
 *    a space (kept as they are in \\?\ paths), one that matches two entries (a
 *    case-sensitive Unix directory under Wine), or a name with characters
 *    outside ASCII that the listing does not hold (the volume's case table may
 *    differ from the system's);
 *  - the file system gives no usable file ID (0, or -1 where a 128-bit ReFS ID
 *    does not fit), or its listing IDs are not its handles' file indexes (checked
 *    once per volume and process, below);
 *  - a 32-bit caller's path under %windir%\System32, where the file system
 *    redirection decides which directory is meant.
 * A name the listing does not hold does not exist now. A directory that does not
 * exist holds nothing. The listings themselves are listing.c's, which also keeps
 * them for later calls while their directory's stamp says they still hold.
 *
 * A batch of several directories is resolved in a pipeline: a worker thread
 * fetches the listings (the system calls: under Wine the listing itself, one
 * stat per entry, and a round trip to another process for the volume) a few
 * directories ahead, while the caller's thread parses each one and looks its
 * paths up in it. On a machine with two CPUs the CPU half costs nothing extra
 * (bench_register's one call of 100,000 paths). */

#define NO_ITEM ((uint32_t)-1)

struct item                          /* one path of the batch */
{
    SIZE_T full;                     /* offset of its full path in the resolver's pool */
    uint32_t full_len;
    uint32_t name_at;                /* where its final component starts */
    uint32_t next;                   /* next item of its directory, NO_ITEM = last */
    BOOL open;                       /* the listing cannot answer: open the file */
};

struct group                         /* one directory of the batch */
{
    uint64_t hash;                   /* of the upcased directory path */
    SIZE_T key;                      /* the upcased directory path in keys */
    uint32_t key_len;
    uint32_t first, last;            /* its items */
    BOOL listable;                   /* some item can be answered by a listing */
};

struct resolver
{
    struct rm_file *out;
    struct rm_strings *strings;      /* where the paths found go */
    BOOL id_only;
    struct item *items;
    WCHAR *pool;             SIZE_T npool, cap_pool;     /* full paths */
    struct group *groups;    SIZE_T ngroups, cap_groups;
    uint32_t *gslots;        SIZE_T gmask;
    WCHAR *gkeys;            SIZE_T ngkeys, cap_gkeys;   /* upcased directory paths */
    WCHAR *scratch;          SIZE_T cap_scratch;
    struct listing list;             /* this call's listing of the group ... */
    const struct listing *cur;       /* ... or a kept one (the group's answer) */
    struct prefetch *ahead;          /* NULL: each group is listed when resolved */
    SIZE_T prev_group;               /* the group of the last path added ... */
    SIZE_T prev_dir, prev_dir_len;   /* ... and its directory as spelled, in pool */
    BOOL wow64;                      /* 32-bit caller on 64-bit Windows */
    WCHAR sys32[MAX_PATH + 16];      /* %windir%\System32\ */
    SIZE_T sys32_len;
};

static DWORD scratch_reserve(struct resolver *rs, SIZE_T chars)
{
    return rm_grow((void **)&rs->scratch, &rs->cap_scratch, chars, sizeof(WCHAR));
}

/* ---- are listing IDs file indexes? ---- */

/* The file ID of a directory entry is the file index GetFileInformationByHandle
 * reports on NTFS, on Wine (both are the Unix inode number) and on the other file
 * systems in use, but nothing documents that every file system driver agrees:
 * RmGetList matches the handles of other processes by that index, so a listing
 * whose IDs were something else would make every registered file unfindable.
 * The first file whose identity would come from a listing on a volume is opened
 * as well and the two compared, once per volume and process; a volume that
 * disagrees is never trusted again (its files are opened). */
#define MAX_VOLUMES 16
static struct { DWORD serial; LONG state; } volumes[MAX_VOLUMES];   /* state: 1 ok, 2 not */
static SRWLOCK volumes_lock = SRWLOCK_INIT;

static LONG volume_state(DWORD serial)
{
    LONG state = 0;
    int i;
    AcquireSRWLockShared(&volumes_lock);
    for (i = 0; i < MAX_VOLUMES && volumes[i].state; i++)
        if (volumes[i].serial == serial) state = volumes[i].state;
    ReleaseSRWLockShared(&volumes_lock);
    return state;
}

static void volume_record(DWORD serial, LONG state)
{
    int i;
    AcquireSRWLockExclusive(&volumes_lock);
    for (i = 0; i < MAX_VOLUMES && volumes[i].state && volumes[i].serial != serial; i++) {}
    /* A full table just means more checks: the check is cheap next to a listing. */
    if (i < MAX_VOLUMES)
    {
        volumes[i].serial = serial;
        volumes[i].state = state;
    }
    ReleaseSRWLockExclusive(&volumes_lock);
}

/* TRUE when the listing's IDs can be used on this volume; full is the path of a
 * file of the listing whose entry says e (the file that is checked). */
static BOOL volume_ids_usable(const struct listing *l, const struct lentry *e, const WCHAR *full)
{
    struct rm_file f;
    LONG state = volume_state(l->volume);
    BOOL same;

    if (state) return state == 1;
    memset(&f, 0, sizeof(f));
    rm_file_identify_open(full, &f);
    if (!f.has_id) return FALSE;   /* gone meanwhile: decide with another file */
    same = f.id.volume == l->volume && f.id.index_high == (DWORD)(e->file_id >> 32) &&
           f.id.index_low == (DWORD)e->file_id;
    if (!same)
        rm_warn("directory listings of volume %08lx give IDs that are not file indexes (%ls): its files are opened",
                l->volume, full);
    volume_record(l->volume, same ? 1 : 2);
    return same;
}

/* ---- the batch ---- */

static void resolver_free(struct resolver *rs)
{
    rm_free(rs->items);
    rm_free(rs->pool);
    rm_free(rs->groups);
    rm_free(rs->gslots);
    rm_free(rs->gkeys);
    rm_free(rs->scratch);
    rm_listing_free(&rs->list);
}

/* Is this 32-bit caller's path under %windir%\System32 (after any \\?\)? */
static BOOL under_system32(const struct resolver *rs, const WCHAR *full, SIZE_T len)
{
    BOOL unc;
    const WCHAR *p = rm_path_skip_prefix(full, &len, &unc);
    return rs->wow64 && !unc && len >= rs->sys32_len &&
           CompareStringOrdinal(p, (int)rs->sys32_len, rs->sys32, (int)rs->sys32_len, TRUE) == CSTR_EQUAL;
}

/* Whether a listing cannot answer for this final component (see the top). */
static BOOL name_needs_open(const WCHAR *name, SIZE_T n)
{
    SIZE_T i;
    if (!n || (n == 1 && name[0] == L'.') || (n == 2 && name[0] == L'.' && name[1] == L'.')) return TRUE;
    if (name[n - 1] == L'.' || name[n - 1] == L' ') return TRUE;
    for (i = 0; i < n; i++)
        if (name[i] == L':') return TRUE;
    return FALSE;
}

/* ---- the prefetch: listings fetched a few directories ahead ---- */

/* How far ahead the worker may fetch: while the batch's paths are still being
 * added nothing is consumed, so this is also how much of the fetching overlaps
 * that. Bounded in listings and in the bytes they hold (a listing's raw buffers
 * are about 150 bytes an entry). */
#define AHEAD       8
#define AHEAD_BYTES (16u << 20)

/* The resolver never depends on the worker: a group the worker has not taken yet
 * when the resolver reaches it is taken by the resolver, which fetches it itself.
 * A worker that never gets to run (a caller inside DllMain holds the loader lock
 * every new thread needs) therefore costs nothing but the pipeline, and the
 * resolver does not wait for a worker that has not started; the prefetch object
 * is freed by whichever of the two lets go of it last. */

/* A slot's group: the worker has it (BUSY), fetched it (DONE), found a kept
 * listing of it that still holds (KEPT: the resolver takes that itself, a kept
 * listing is held by the thread using it), or left it to the resolver (NONE).
 * DONE and KEPT carry the stamp taken before, which the resolver uses as its own. */
enum fetched { FETCH_FREE, FETCH_BUSY, FETCH_DONE, FETCH_KEPT, FETCH_NONE };

struct ahead_slot
{
    enum fetched state;
    struct listing list;             /* DONE: fetched, not parsed */
    DWORD err, why;                  /* the fetch's */
    SIZE_T held;                     /* its raw bytes, counted in prefetch.held */
    BOOL stamped;                    /* the stamp taken before the fetch */
    FILETIME write, create;
};

struct ahead_dir                     /* a group's directory, as the worker gets it */
{
    WCHAR *dir;                      /* NUL-terminated, trailing backslash; NULL: leave it */
    SIZE_T dir_len;
    const WCHAR *key;                /* upcased, in the same block */
    SIZE_T key_len;
};

struct prefetch
{
    LONG refs;                       /* the resolver's and the worker's */
    SRWLOCK lock;
    CONDITION_VARIABLE changed;      /* a directory queued, a slot filled or freed, stop */
    struct ahead_dir *dirs;  SIZE_T ndirs, cap_dirs;   /* group i's is dirs[i] */
    BOOL complete;                   /* every group is queued */
    SIZE_T next;                     /* the next group to take (by the worker or the resolver) */
    SIZE_T consumed;                 /* groups the resolver is done with */
    SIZE_T held;                     /* raw bytes fetched and not consumed */
    BOOL running, stop;
    HANDLE thread;
    struct ahead_slot slot[AHEAD];   /* group i in slot[i % AHEAD] */
};

static void prefetch_unref(struct prefetch *pf)
{
    int k;
    if (InterlockedDecrement(&pf->refs)) return;
    for (k = 0; k < AHEAD; k++) rm_listing_free(&pf->slot[k].list);
    while (pf->ndirs) rm_free(pf->dirs[--pf->ndirs].dir);
    rm_free(pf->dirs);
    rm_free(pf);
}

/* The worker: in group order, as the groups are found, the stamp and what the
 * resolver would fetch. It leaves alone a directory whose first path needs no
 * listing and one it has no copy of (out of memory). */
static DWORD WINAPI prefetch_main(void *param)
{
    struct prefetch *pf = param;

    AcquireSRWLockExclusive(&pf->lock);
    pf->running = TRUE;
    for (;;)
    {
        struct ahead_slot *sl;
        enum fetched state = FETCH_NONE;
        struct ahead_dir d;
        SIZE_T i;

        while (!pf->stop && (pf->next - pf->consumed >= AHEAD || (pf->next > pf->consumed && pf->held > AHEAD_BYTES) ||
                             (pf->next >= pf->ndirs && !pf->complete)))
            SleepConditionVariableSRW(&pf->changed, &pf->lock, INFINITE, 0);
        if (pf->stop || pf->next >= pf->ndirs) break;
        i = pf->next++;
        d = pf->dirs[i];
        sl = &pf->slot[i % AHEAD];
        sl->state = FETCH_BUSY;
        ReleaseSRWLockExclusive(&pf->lock);

        if (d.dir)
        {
            sl->stamped = rm_dir_stamp(d.dir, &sl->write, &sl->create);
            if (sl->stamped && rm_kept_find(d.key, d.key_len, &sl->write, &sl->create))
            {
                rm_kept_release();
                state = FETCH_KEPT;
            }
            else
            {
                sl->err = rm_listing_fetch(&sl->list, d.dir, d.dir_len, &sl->why);
                state = FETCH_DONE;
            }
        }
        AcquireSRWLockExclusive(&pf->lock);
        sl->state = state;
        sl->held = state == FETCH_DONE ? sl->list.nraw * LIST_BUFFER_BYTES : 0;
        pf->held += sl->held;
        WakeAllConditionVariable(&pf->changed);
    }
    pf->running = FALSE;
    ReleaseSRWLockExclusive(&pf->lock);
    WakeAllConditionVariable(&pf->changed);
    prefetch_unref(pf);
    rm_thread_exit();
}

/* Queues group index's directory for the worker (add_path, as groups are found). */
static void prefetch_queue(struct resolver *rs, SIZE_T index)
{
    struct prefetch *pf = rs->ahead;
    const struct group *g = &rs->groups[index];
    const struct item *first = &rs->items[g->first];
    struct ahead_dir d = { NULL, first->name_at, NULL, g->key_len };

    /* Only a group whose first path can be answered by a listing: the few whose
     * first path cannot and a later one can are fetched by the resolver. */
    if (!first->open && (d.dir = rm_alloc_raw((d.dir_len + 1 + d.key_len) * sizeof(WCHAR))))
    {
        memcpy(d.dir, rs->pool + first->full, d.dir_len * sizeof(WCHAR));
        d.dir[d.dir_len] = 0;
        memcpy(d.dir + d.dir_len + 1, rs->gkeys + g->key, d.key_len * sizeof(WCHAR));
        d.key = d.dir + d.dir_len + 1;
    }
    AcquireSRWLockExclusive(&pf->lock);
    if (pf->ndirs != index || rm_grow((void **)&pf->dirs, &pf->cap_dirs, pf->ndirs + 1, sizeof(*pf->dirs)))
    {
        /* Out of memory: the worker stops at the groups queued so far, and the
         * resolver takes the rest itself. */
        rm_free(d.dir);
        pf->complete = TRUE;
    }
    else pf->dirs[pf->ndirs++] = d;
    ReleaseSRWLockExclusive(&pf->lock);
    WakeAllConditionVariable(&pf->changed);
}

/* Every group is queued. */
static void prefetch_complete(struct resolver *rs)
{
    struct prefetch *pf = rs->ahead;
    if (!pf) return;
    AcquireSRWLockExclusive(&pf->lock);
    pf->complete = TRUE;
    ReleaseSRWLockExclusive(&pf->lock);
    WakeAllConditionVariable(&pf->changed);
}

/* Starts the worker when a batch's second directory is found, and queues both;
 * a batch of one directory (the common call of a few hundred paths) lists it on
 * the caller's thread. Without a thread, each group is fetched when resolved. */
static void prefetch_start(struct resolver *rs)
{
    struct prefetch *pf;

    if (!(pf = rm_alloc(sizeof(*pf)))) return;
    pf->refs = 2;
    InitializeSRWLock(&pf->lock);
    InitializeConditionVariable(&pf->changed);
    rs->ahead = pf;
    prefetch_queue(rs, 0);
    prefetch_queue(rs, 1);
    if (!(pf->thread = rm_thread_start(prefetch_main, pf)))
    {
        pf->refs = 1;
        prefetch_unref(pf);
        rs->ahead = NULL;
    }
}

/* Group i's slot when the worker fetched or stamped it; NULL when the resolver is
 * to do it all itself: the worker left it, or had not taken it yet (it is the
 * resolver's now). */
static struct ahead_slot *prefetch_take(struct prefetch *pf, SIZE_T i)
{
    struct ahead_slot *sl = &pf->slot[i % AHEAD];
    AcquireSRWLockExclusive(&pf->lock);
    if (pf->next <= i)
    {
        pf->next = i + 1;
        sl->state = FETCH_NONE;
    }
    while (sl->state == FETCH_BUSY) SleepConditionVariableSRW(&pf->changed, &pf->lock, INFINITE, 0);
    ReleaseSRWLockExclusive(&pf->lock);
    return sl->state == FETCH_DONE || sl->state == FETCH_KEPT ? sl : NULL;
}

/* The resolver is done with group i: its slot is free for group i + AHEAD. */
static void prefetch_done(struct prefetch *pf, SIZE_T i)
{
    struct ahead_slot *sl = &pf->slot[i % AHEAD];
    AcquireSRWLockExclusive(&pf->lock);
    pf->held -= sl->held;
    sl->held = 0;
    sl->state = FETCH_FREE;
    pf->consumed = i + 1;
    ReleaseSRWLockExclusive(&pf->lock);
    WakeAllConditionVariable(&pf->changed);
}

/* Stops the worker. One that is running is waited for until it leaves its loop
 * (it finishes the fetch it is in, no longer than the resolver would take over
 * it), not until its thread ends: ending takes the loader lock, which a thread
 * inside DllMain may hold while it waits for this session. One that never
 * started is not waited for at all (see above). */
static void prefetch_end(struct resolver *rs)
{
    struct prefetch *pf = rs->ahead;

    if (!pf) return;
    AcquireSRWLockExclusive(&pf->lock);
    pf->stop = TRUE;
    WakeAllConditionVariable(&pf->changed);
    while (pf->running) SleepConditionVariableSRW(&pf->changed, &pf->lock, INFINITE, 0);
    ReleaseSRWLockExclusive(&pf->lock);
    CloseHandle(pf->thread);
    prefetch_unref(pf);
    rs->ahead = NULL;
}

/* Puts item index last in group g, which becomes the group of the last path added. */
static void group_append(struct resolver *rs, struct group *g, uint32_t index)
{
    rs->items[g->last].next = index;
    g->last = index;
    g->listable |= !rs->items[index].open;
    rs->prev_group = (SIZE_T)(g - rs->groups);
}

/* Makes paths[i] full, in the pool, and files it under its directory. */
static DWORD add_path(struct resolver *rs, const WCHAR *path, uint32_t index)
{
    struct item *it = &rs->items[index];
    SIZE_T avail, len, i, dir_len, j;
    const WCHAR *full;
    uint64_t hash;
    struct group *g;
    DWORD err;

    /* GetFullPathNameW resolves relative parts, "." and "..", and "/" separators;
     * it keeps \\?\ paths as they are. It returns the size it needs (with the NUL)
     * when the room is short. A path it would return as it is is copied instead
     * (rm_path_is_plain_full). */
    if ((err = rm_grow((void **)&rs->pool, &rs->cap_pool, rs->npool + MAX_PATH + 1, sizeof(WCHAR)))) return err;
    avail = rs->cap_pool - rs->npool;
    if (avail > RM_MAX_PATH_CHARS + 16) avail = RM_MAX_PATH_CHARS + 16;
    if (rm_path_is_plain_full(path, &len)) memcpy(rs->pool + rs->npool, path, (len + 1) * sizeof(WCHAR));
    else len = GetFullPathNameW(path, (DWORD)avail, rs->pool + rs->npool, NULL);
    if (len >= avail)
    {
        if ((err = rm_grow((void **)&rs->pool, &rs->cap_pool, rs->npool + len + 1, sizeof(WCHAR)))) return err;
        avail = len + 1;
        len = GetFullPathNameW(path, (DWORD)avail, rs->pool + rs->npool, NULL);
        if (len >= avail) len = 0;   /* the current directory changed meanwhile */
    }
    if (!len || len > UINT32_MAX / 2) return rm_fail(ERROR_BAD_ARGUMENTS, GetLastError(), "GetFullPathNameW", path);
    full = rs->pool + rs->npool;
    it->full = rs->npool;
    it->full_len = (uint32_t)len;
    rs->npool += len + 1;   /* with its NUL */
    for (i = len; i && full[i - 1] != L'\\'; i--) {}
    it->name_at = (uint32_t)i;
    it->next = NO_ITEM;
    it->open = name_needs_open(full + i, len - i) || under_system32(rs, full, len);

    /* Its directory: the last path's, spelled the same (batches come in
     * directory order), or found or added, compared upcased, so that spellings
     * that differ in case share one listing. */
    dir_len = i;
    if (rs->ngroups && dir_len == rs->prev_dir_len &&
        !memcmp(full, rs->pool + rs->prev_dir, dir_len * sizeof(WCHAR)))
    {
        group_append(rs, &rs->groups[rs->prev_group], index);
        return ERROR_SUCCESS;
    }
    rs->prev_dir = it->full;
    rs->prev_dir_len = dir_len;
    if ((err = scratch_reserve(rs, dir_len + 1))) return err;
    rm_name_upcase(rs->scratch, full, dir_len);
    hash = rm_hash_bytes(rs->scratch, dir_len * sizeof(WCHAR), 8);
    for (j = (SIZE_T)hash & rs->gmask; rs->gslots[j]; j = (j + 1) & rs->gmask)
    {
        g = &rs->groups[rs->gslots[j] - 1];
        if (g->hash == hash && g->key_len == dir_len &&
            !memcmp(rs->gkeys + g->key, rs->scratch, dir_len * sizeof(WCHAR)))
        {
            group_append(rs, g, index);
            return ERROR_SUCCESS;
        }
    }
    if ((err = rm_grow((void **)&rs->groups, &rs->cap_groups, rs->ngroups + 1, sizeof(*rs->groups))) ||
        (err = rm_grow((void **)&rs->gkeys, &rs->cap_gkeys, rs->ngkeys + dir_len + 1, sizeof(WCHAR))))
        return err;
    g = &rs->groups[rs->ngroups];
    g->hash = hash;
    g->key = rs->ngkeys;
    g->key_len = (uint32_t)dir_len;
    memcpy(rs->gkeys + rs->ngkeys, rs->scratch, dir_len * sizeof(WCHAR));
    rs->ngkeys += dir_len + 1;
    g->first = g->last = index;
    g->listable = !it->open;
    rs->gslots[j] = (uint32_t)(++rs->ngroups);
    rs->prev_group = rs->ngroups - 1;
    /* The listings are fetched while the rest of the batch is added. */
    if (rs->ngroups == 2) prefetch_start(rs);
    else if (rs->ahead) prefetch_queue(rs, rs->ngroups - 1);
    return ERROR_SUCCESS;
}

/* A file of a listed directory: its identity from the entry, its canonical path
 * the directory's plus the entry's long name. */
static DWORD file_from_entry(struct resolver *rs, const struct lentry *e, struct rm_file *f)
{
    const struct listing *l = rs->cur;
    SIZE_T n = l->final_len + e->name_len;
    DWORD err;

    f->has_id = TRUE;
    f->is_dir = FALSE;
    f->id.volume = l->volume;
    f->id.index_high = (DWORD)(e->file_id >> 32);
    f->id.index_low = (DWORD)e->file_id;
    if (rs->id_only) return ERROR_SUCCESS;
    if ((err = scratch_reserve(rs, n + 1))) return err;
    memcpy(rs->scratch, l->final, l->final_len * sizeof(WCHAR));
    memcpy(rs->scratch + l->final_len, l->pool + e->name, e->name_len * sizeof(WCHAR));
    rs->scratch[n] = 0;
    return rm_file_set_path(f, rs->scratch, n, rs->strings);
}

/* A name a listed directory does not hold: it does not exist; its canonical path
 * is the directory's plus the name as given. */
static DWORD file_missing(struct resolver *rs, const WCHAR *name, SIZE_T name_len, struct rm_file *f)
{
    const struct listing *l = rs->cur;
    SIZE_T n = l->final_len + name_len;
    DWORD err;

    f->absent = TRUE;
    if (rs->id_only) return ERROR_SUCCESS;
    if ((err = scratch_reserve(rs, n + 1))) return err;
    memcpy(rs->scratch, l->final, l->final_len * sizeof(WCHAR));
    memcpy(rs->scratch + l->final_len, name, name_len * sizeof(WCHAR));
    rs->scratch[n] = 0;
    return rm_file_set_path(f, rs->scratch, n, rs->strings);
}

/* Resolves every item of one directory from rs->cur (listed) or by opening. */
static DWORD resolve_items(struct resolver *rs, const struct group *g, BOOL listed, BOOL absent)
{
    DWORD err;
    uint32_t i;

    for (i = g->first; i != NO_ITEM; i = rs->items[i].next)
    {
        const struct item *it = &rs->items[i];
        const WCHAR *full = rs->pool + it->full, *name = full + it->name_at;
        SIZE_T name_len = it->full_len - it->name_at;
        struct rm_file *f = &rs->out[i];
        const struct lkey *k = NULL;
        const struct lentry *e = NULL;
        BOOL wide;

        if (!it->open && absent)
        {
            f->absent = TRUE;
            err = rs->id_only ? ERROR_SUCCESS : rm_file_not_opened(full, f, rs->strings);
            if (err) return err;
            continue;
        }
        if (it->open || !listed)
        {
            if ((err = rm_file_by_opening(full, f, rs->id_only, rs->strings))) return err;
            continue;
        }
        if ((err = scratch_reserve(rs, name_len + 1))) return err;
        wide = rm_name_upcase(rs->scratch, name, name_len);
        k = rm_listing_find(rs->cur, rs->scratch, name_len);
        if (k && !k->ambiguous) e = &rs->cur->entries[k->entry];
        if (e && !(e->attrs & (FILE_ATTRIBUTE_REPARSE_POINT | FILE_ATTRIBUTE_DIRECTORY)) &&
            e->file_id && e->file_id != (uint64_t)-1 && volume_ids_usable(rs->cur, e, full))
            err = file_from_entry(rs, e, f);
        else if (!k && !wide)
            err = file_missing(rs, name, name_len, f);
        else
            err = rm_file_by_opening(full, f, rs->id_only, rs->strings);
        if (err) return err;
    }
    return ERROR_SUCCESS;
}

/* Resolves group i's items: from a kept listing of it if its stamp allows, else
 * from a new one (kept for later calls if the stamp allows), else by opening. */
static DWORD resolve_group(struct resolver *rs, SIZE_T index)
{
    const struct group *g = &rs->groups[index];
    const struct item *first = &rs->items[g->first];
    const WCHAR *first_full = rs->pool + first->full, *key = rs->gkeys + g->key;
    SIZE_T dir_len = first->name_at;
    DWORD err, why = ERROR_NOT_SUPPORTED;
    FILETIME write, create;
    const struct listing *hit = NULL;
    struct listing *list = &rs->list;
    struct ahead_slot *ahead = rs->ahead ? prefetch_take(rs->ahead, index) : NULL;
    BOOL fetched = ahead && ahead->state == FETCH_DONE, stamped = FALSE;

    rs->cur = list;
    if (g->listable)
    {
        if ((err = scratch_reserve(rs, dir_len + 1))) return err;
        memcpy(rs->scratch, first_full, dir_len * sizeof(WCHAR));
        rs->scratch[dir_len] = 0;
        /* The stamp before the listing (a change after it moves the stamp), the
         * worker's if it took one. */
        if (ahead)
        {
            stamped = ahead->stamped;
            write = ahead->write;
            create = ahead->create;
        }
        else stamped = rm_dir_stamp(rs->scratch, &write, &create);
        if (fetched)
        {
            list = &ahead->list;
            rs->cur = list;
            why = ahead->why;
            if ((err = ahead->err) || (err = rm_listing_parse(list, &why))) return err;
        }
        else if (stamped && (hit = rm_kept_find(key, g->key_len, &write, &create)))
        {
            rs->cur = hit;
            why = ERROR_SUCCESS;
        }
        else if ((err = rm_listing_load(list, rs->scratch, dir_len, &why)))
            return err;
        if (why && why != ERROR_FILE_NOT_FOUND && why != ERROR_PATH_NOT_FOUND)
            rm_warn("directory %ls cannot be listed (%lu): its files are opened one by one", rs->scratch, why);
    }
    /* A directory that is not there holds no file: what opening each would say. */
    err = resolve_items(rs, g, !why, why == ERROR_FILE_NOT_FOUND || why == ERROR_PATH_NOT_FOUND);
    if (hit) rm_kept_release();
    else if (!err && stamped && !why) rm_kept_put(key, g->key_len, &write, &create, list);
    /* A fetched listing not kept goes now: the slots hold raw listings only
     * (AHEAD_BYTES), never up to AHEAD parsed ones. */
    if (fetched) rm_listing_free(list);
    if (rs->ahead) prefetch_done(rs->ahead, index);
    return err;
}

DWORD rm_files_identify(const WCHAR *const *paths, SIZE_T n, struct rm_file *out, BOOL id_only,
                        struct rm_strings *strings)
{
    struct resolver rs;
    SIZE_T i, cap = 16, pool_chars = 0;
    DWORD err = ERROR_SUCCESS;
    BOOL wow64 = FALSE;

    memset(out, 0, n * sizeof(*out));
    if (!n) return ERROR_SUCCESS;
    rm_sys_init();   /* the listing goes through rm_sys (fault injection) */
    memset(&rs, 0, sizeof(rs));
    rs.out = out;
    rs.strings = strings;
    rs.id_only = id_only;
    if (n >= UINT32_MAX - 1) return ERROR_OUTOFMEMORY;
    while (cap / 2 < n) cap *= 2;
    if (IsWow64Process(GetCurrentProcess(), &wow64) && wow64)
    {
        SIZE_T w = GetSystemWindowsDirectoryW(rs.sys32, MAX_PATH);
        if (w && w < MAX_PATH)
        {
            memcpy(rs.sys32 + w, L"\\system32\\", 10 * sizeof(WCHAR));
            rs.sys32_len = w + 10;
            rs.wow64 = TRUE;
        }
    }
    /* The pool of full paths, sized once: most paths come in full already. */
    for (i = 0; i < n; i++) pool_chars += rm_wcsnlen(paths[i], RM_MAX_PATH_CHARS) + 1;
    if (!(rs.items = rm_alloc(n * sizeof(*rs.items))) || !(rs.gslots = rm_alloc(cap * sizeof(*rs.gslots))) ||
        rm_grow((void **)&rs.pool, &rs.cap_pool, pool_chars + MAX_PATH + 1, sizeof(WCHAR)))
        err = ERROR_OUTOFMEMORY;
    rs.gmask = cap - 1;
    for (i = 0; i < n && !err; i++) err = add_path(&rs, paths[i], (uint32_t)i);
    prefetch_complete(&rs);
    for (i = 0; i < rs.ngroups && !err; i++) err = resolve_group(&rs, i);
    prefetch_end(&rs);
    resolver_free(&rs);
    if (err)
        for (i = 0; i < n; i++) rm_file_clear(&out[i]);
    return err;
}
