/*
 * resources.c - sets of registered resources: files, processes and services.
 *
 * Files are identified as identify.c says (volume serial number and file index
 * when they exist, else the canonical full path without regard to case),
 * processes by PID and creation time, services by their short name without
 * regard to case.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"

/* ---- hash index ------------------------------------------------------------ */

typedef BOOL (*item_equals_fn)(const struct rm_resources *r, SIZE_T item, const void *query);

static DWORD index_reserve(struct rm_hash_index *ix, SIZE_T want)
{
    struct rm_hash_slot *old = ix->slots, *slots;
    SIZE_T old_cap = ix->slots ? ix->mask + 1 : 0, cap = old_cap ? old_cap : 16, i, bytes;

    while (cap / 2 < want)
    {
        if (cap > ((SIZE_T)-1 >> 2)) return ERROR_OUTOFMEMORY;
        cap *= 2;
    }
    if (cap == old_cap) return ERROR_SUCCESS;
    if (!rm_mul_ok(cap, sizeof(*slots), &bytes) || !(slots = rm_alloc(bytes)))
        return ERROR_OUTOFMEMORY;
    for (i = 0; i < old_cap; i++)
    {
        SIZE_T j;
        if (!old[i].item) continue;
        for (j = (SIZE_T)old[i].hash & (cap - 1); slots[j].item; j = (j + 1) & (cap - 1)) {}
        slots[j] = old[i];
    }
    rm_free(old);
    ix->slots = slots;
    ix->mask = cap - 1;
    return ERROR_SUCCESS;
}

/* Returns the item index equal to query, or (SIZE_T)-1. */
static SIZE_T index_find(const struct rm_hash_index *ix, uint64_t hash, item_equals_fn eq,
                         const struct rm_resources *r, const void *query)
{
    SIZE_T j;
    if (!ix->slots) return (SIZE_T)-1;
    for (j = (uint32_t)hash & ix->mask; ix->slots[j].item; j = (j + 1) & ix->mask)
        if (ix->slots[j].hash == (uint32_t)hash && eq(r, ix->slots[j].item - 1, query))
            return ix->slots[j].item - 1;
    return (SIZE_T)-1;
}

/* The caller has reserved room (index_reserve(count + 1)). */
static void index_insert(struct rm_hash_index *ix, uint64_t hash, SIZE_T item)
{
    SIZE_T j;
    for (j = (uint32_t)hash & ix->mask; ix->slots[j].item; j = (j + 1) & ix->mask) {}
    ix->slots[j].hash = (uint32_t)hash;
    ix->slots[j].item = (uint32_t)(item + 1);
    ix->count++;
}

static void index_free(struct rm_hash_index *ix)
{
    rm_free(ix->slots);
    ix->slots = NULL;
    ix->mask = ix->count = 0;
}

/* ---- item hashing and equality ------------------------------------------- */

static uint64_t hash_id(const struct rm_file_id *id) { return rm_hash_bytes(id, sizeof(*id), 1); }
static uint64_t hash_proc(const RM_UNIQUE_PROCESS *p) { return rm_hash_bytes(p, sizeof(*p), 3); }

static BOOL file_id_equals(const struct rm_resources *r, SIZE_T i, const void *q)
{
    const struct rm_file *f = &r->files[i];
    return f->has_id && !memcmp(&f->id, q, sizeof(f->id));
}

static BOOL file_key_equals(const struct rm_resources *r, SIZE_T i, const void *q)
{
    const struct rm_file *f = &r->files[i], *g = q;
    return f->path_len == g->path_len && !memcmp(f->key, g->key, f->path_len * sizeof(WCHAR));
}

static BOOL dir_equals(const struct rm_resources *r, SIZE_T i, const void *q)
{
    const struct rm_dir *d = &r->dirs[i], *g = q;
    return d->len == g->len && !memcmp(d->key, g->key, d->len * sizeof(WCHAR));
}

static BOOL proc_equals(const struct rm_resources *r, SIZE_T i, const void *q)
{
    return !memcmp(&r->procs[i], q, sizeof(RM_UNIQUE_PROCESS));
}

static BOOL svc_equals(const struct rm_resources *r, SIZE_T i, const void *q)
{
    return !rm_wcsicmp(r->svcs[i], q);
}

/* Service names compare without regard to case: hash their upcased form. */
static uint64_t hash_svc(const WCHAR *name)
{
    WCHAR buf[RM_MAX_SVC_NAME_CHARS + 1];
    SIZE_T len = rm_wcsnlen(name, RM_MAX_SVC_NAME_CHARS);
    if (len > RM_MAX_SVC_NAME_CHARS) len = RM_MAX_SVC_NAME_CHARS;
    memcpy(buf, name, len * sizeof(WCHAR));
    rm_wcsupper(buf, len);
    return rm_hash_bytes(buf, len * sizeof(WCHAR), 4);
}

/* ---- sets ------------------------------------------------------------------- */

void rm_resources_free(struct rm_resources *r)
{
    SIZE_T i;
    for (i = 0; i < r->nsvcs; i++) rm_free(r->svcs[i]);
    for (i = 0; i < r->ndirs; i++)
    {
        rm_free(r->dirs[i].path);
        rm_free(r->dirs[i].key);
    }
    rm_free(r->dirs);
    index_free(&r->dir_index);
    rm_free(r->files);
    rm_free(r->procs);
    rm_free(r->svcs);
    index_free(&r->file_by_id);
    index_free(&r->file_by_key);
    index_free(&r->proc_index);
    index_free(&r->svc_index);
    rm_strings_free(&r->strings);   /* every file's path */
    memset(r, 0, sizeof(*r));
}

/* A set of 100,000 files has index tables of megabytes: every lookup or insert of
 * a batch's file misses the cache, one after the other. Asking for the slots of
 * the file LOOKAHEAD places further on before handling this one lets those
 * misses overlap (bench_register: the merge of a call of 100 files into a set of
 * 100,000 cost 25 us without). */
#define LOOKAHEAD 8

static void file_slots_prefetch(const struct rm_resources *r, const struct rm_file *f)
{
    if (f->has_id && r->file_by_id.slots)
        __builtin_prefetch(&r->file_by_id.slots[(uint32_t)hash_id(&f->id) & r->file_by_id.mask]);
    if (r->file_by_key.slots) __builtin_prefetch(&r->file_by_key.slots[(uint32_t)f->key_hash & r->file_by_key.mask]);
}

/* Called before handling files[i] of n, in order from 0: asks for r's slots of
 * the file LOOKAHEAD places on (of the first LOOKAHEAD + 1 files at i = 0). */
static void files_prefetch_ahead(const struct rm_resources *r, const struct rm_file *files, SIZE_T i, SIZE_T n)
{
    SIZE_T k = i ? i + LOOKAHEAD : 0;
    for (; k <= i + LOOKAHEAD && k < n; k++) file_slots_prefetch(r, &files[k]);
}

static BOOL has_file(const struct rm_resources *r, const struct rm_file *f)
{
    if (f->has_id && index_find(&r->file_by_id, hash_id(&f->id), file_id_equals, r, &f->id) != (SIZE_T)-1)
        return TRUE;
    return index_find(&r->file_by_key, f->key_hash, file_key_equals, r, f) != (SIZE_T)-1;
}

/* Puts f, known not to be in r yet, into r (with room reserved for it). */
static void append_file(struct rm_resources *r, struct rm_file *f)
{
    if (f->has_id) index_insert(&r->file_by_id, hash_id(&f->id), r->nfiles);
    index_insert(&r->file_by_key, f->key_hash, r->nfiles);
    r->files[r->nfiles] = *f;
    r->files[r->nfiles++].dir = 0;   /* directories are per set (rm_resources_refresh) */
    memset(f, 0, sizeof(*f));
}

static DWORD reserve_files(struct rm_resources *r, SIZE_T n)
{
    DWORD err;
    if ((err = rm_grow((void **)&r->files, &r->cap_files, r->nfiles + n, sizeof(*r->files))) ||
        (err = index_reserve(&r->file_by_id, r->file_by_id.count + n)) ||
        (err = index_reserve(&r->file_by_key, r->file_by_key.count + n)))
        return err;
    return ERROR_SUCCESS;
}

DWORD rm_resources_add_file(struct rm_resources *r, struct rm_file *f, BOOL *added)
{
    DWORD err;

    *added = FALSE;
    if (has_file(r, f))
    {
        rm_file_clear(f);
        return ERROR_SUCCESS;
    }
    if ((err = reserve_files(r, 1)) || (err = rm_file_move_path(f, &r->strings)))
    {
        rm_file_clear(f);
        return err;
    }
    append_file(r, f);
    *added = TRUE;
    return ERROR_SUCCESS;
}

DWORD rm_resources_add_proc(struct rm_resources *r, const RM_UNIQUE_PROCESS *p, BOOL *added)
{
    uint64_t h = hash_proc(p);
    DWORD err;

    *added = FALSE;
    if (index_find(&r->proc_index, h, proc_equals, r, p) != (SIZE_T)-1) return ERROR_SUCCESS;
    if ((err = rm_grow((void **)&r->procs, &r->cap_procs, r->nprocs + 1, sizeof(*r->procs))) ||
        (err = index_reserve(&r->proc_index, r->proc_index.count + 1)))
        return err;
    index_insert(&r->proc_index, h, r->nprocs);
    r->procs[r->nprocs++] = *p;
    *added = TRUE;
    return ERROR_SUCCESS;
}

DWORD rm_resources_add_svc(struct rm_resources *r, WCHAR *name, BOOL *added)
{
    uint64_t h = hash_svc(name);
    DWORD err;

    *added = FALSE;
    if (index_find(&r->svc_index, h, svc_equals, r, name) != (SIZE_T)-1)
    {
        rm_free(name);
        return ERROR_SUCCESS;
    }
    if ((err = rm_grow((void **)&r->svcs, &r->cap_svcs, r->nsvcs + 1, sizeof(*r->svcs))) ||
        (err = index_reserve(&r->svc_index, r->svc_index.count + 1)))
    {
        rm_free(name);
        return err;
    }
    index_insert(&r->svc_index, h, r->nsvcs);
    r->svcs[r->nsvcs++] = name;
    *added = TRUE;
    return ERROR_SUCCESS;
}

/* ---- batches ----------------------------------------------------------------- */

DWORD rm_batch_build(struct rm_resources *b, UINT nfiles, LPCWSTR *files, UINT nprocs,
                     const RM_UNIQUE_PROCESS *procs, UINT nsvcs, LPCWSTR *svcs)
{
    DWORD err = ERROR_SUCCESS;
    SIZE_T i, len;
    BOOL added;

    memset(b, 0, sizeof(*b));
    /* Every string is checked before any file is opened: a bad argument anywhere
     * rejects the whole call at once. */
    for (i = 0; i < nfiles; i++)
    {
        if (!files[i]) return ERROR_BAD_ARGUMENTS;
        len = rm_wcsnlen(files[i], RM_MAX_PATH_CHARS);
        if (!len || len > RM_MAX_PATH_CHARS) return ERROR_BAD_ARGUMENTS;
    }
    for (i = 0; i < nsvcs; i++)
    {
        if (!svcs[i]) return ERROR_BAD_ARGUMENTS;
        len = rm_wcsnlen(svcs[i], RM_MAX_SVC_NAME_CHARS);
        if (!len || len > RM_MAX_SVC_NAME_CHARS) return ERROR_BAD_ARGUMENTS;
    }

    /* The files all at once: grouped by directory, one listing each (dirlist.c). */
    if (nfiles)
    {
        struct rm_file *found = rm_alloc((SIZE_T)nfiles * sizeof(*found));
        if (!found) return ERROR_OUTOFMEMORY;
        if ((err = rm_files_identify(files, nfiles, found, FALSE, &b->strings)) ||
            (err = index_reserve(&b->file_by_id, nfiles)) || (err = index_reserve(&b->file_by_key, nfiles)))
        {
            rm_free(found);   /* their paths are in b's strings, freed with b */
            rm_resources_free(b);
            return err;
        }
        /* The identified array becomes the batch's, duplicates squeezed out in
         * place (an entry is only ever moved down, over one already read). */
        b->files = found;
        b->cap_files = nfiles;
        for (i = 0; i < nfiles; i++)
        {
            struct rm_file f = found[i];
            if (has_file(b, &f))
            {
                rm_file_clear(&f);
                continue;
            }
            append_file(b, &f);
        }
        memset(b->files + b->nfiles, 0, (nfiles - b->nfiles) * sizeof(*b->files));   /* moved or cleared */
    }
    for (i = 0; i < nprocs && !err; i++)
        err = rm_resources_add_proc(b, &procs[i], &added);
    for (i = 0; i < nsvcs && !err; i++)
    {
        WCHAR *name = rm_wcsdup_n(svcs[i], rm_wcsnlen(svcs[i], RM_MAX_SVC_NAME_CHARS));
        err = name ? rm_resources_add_svc(b, name, &added) : ERROR_OUTOFMEMORY;
    }
    if (err) rm_resources_free(b);
    return err;
}

void rm_batch_subtract(struct rm_resources *b, const struct rm_resources *r)
{
    SIZE_T i, kept, before = b->nfiles + b->nprocs + b->nsvcs;

    for (i = kept = 0; i < b->nfiles; i++)
    {
        files_prefetch_ahead(r, b->files, i, b->nfiles);
        if (has_file(r, &b->files[i])) rm_file_clear(&b->files[i]);
        else b->files[kept++] = b->files[i];
    }
    b->nfiles = kept;
    for (i = kept = 0; i < b->nprocs; i++)
        if (index_find(&r->proc_index, hash_proc(&b->procs[i]), proc_equals, r, &b->procs[i]) == (SIZE_T)-1)
            b->procs[kept++] = b->procs[i];
    b->nprocs = kept;
    for (i = kept = 0; i < b->nsvcs; i++)
    {
        if (index_find(&r->svc_index, hash_svc(b->svcs[i]), svc_equals, r, b->svcs[i]) != (SIZE_T)-1)
            rm_free(b->svcs[i]);
        else
            b->svcs[kept++] = b->svcs[i];
    }
    b->nsvcs = kept;
    /* Compacted arrays leave the indexes pointing at the wrong items: they go.
     * Untouched, they stay valid, and rm_resources_merge can move them. */
    if (b->nfiles + b->nprocs + b->nsvcs != before)
    {
        index_free(&b->file_by_id);
        index_free(&b->file_by_key);
        index_free(&b->proc_index);
        index_free(&b->svc_index);
    }
}

DWORD rm_resources_merge(struct rm_resources *to, struct rm_resources *from)
{
    DWORD err = ERROR_SUCCESS;
    SIZE_T i;
    BOOL added, whole;

    /* Into an empty set (an installer's first registration, often all of its
     * files at once), a batch whose indexes are whole is moved as it is, not
     * hashed into the set again. */
    if (!to->nfiles && !to->nprocs && !to->nsvcs && !to->ndirs &&
        from->file_by_key.count == from->nfiles && from->proc_index.count == from->nprocs &&
        from->svc_index.count == from->nsvcs)
    {
        DWORD sequence = to->sequence;
        rm_resources_free(to);
        *to = *from;
        to->sequence = sequence;
        memset(from, 0, sizeof(*from));
        return ERROR_SUCCESS;
    }

    /* The batch was subtracted from to and holds no duplicates of its own: every
     * file is new, so it is put in without a lookup, into room made once. Where
     * nothing was subtracted (its index is whole), the batch's strings hold its
     * files' paths and little else (the paths of duplicates within the batch): they
     * move over as they are. Otherwise each path is copied into to's strings, so
     * that registering known files again and again keeps nothing. */
    whole = from->file_by_key.count == from->nfiles;
    err = reserve_files(to, from->nfiles);
    if (!err && whole) rm_strings_take(&to->strings, &from->strings);
    for (i = 0; i < from->nfiles; i++)
    {
        if (!err) files_prefetch_ahead(to, from->files, i, from->nfiles);
        if (!err && (whole || !(err = rm_file_move_path(&from->files[i], &to->strings))))
            append_file(to, &from->files[i]);
        else rm_file_clear(&from->files[i]);
    }
    for (i = 0; i < from->nprocs && !err; i++)
        err = rm_resources_add_proc(to, &from->procs[i], &added);
    for (i = 0; i < from->nsvcs; i++)
        if (!err) err = rm_resources_add_svc(to, from->svcs[i], &added);
        else rm_free(from->svcs[i]);
    from->nfiles = from->nprocs = from->nsvcs = 0;
    rm_resources_free(from);
    return err;
}

BOOL rm_resources_has_id(const struct rm_resources *r, const struct rm_file_id *id)
{
    return index_find(&r->file_by_id, hash_id(id), file_id_equals, r, id) != (SIZE_T)-1;
}

BOOL rm_resources_has_loadable_key(const struct rm_resources *r, const WCHAR *key, SIZE_T len)
{
    struct rm_file probe;
    SIZE_T i;
    memset(&probe, 0, sizeof(probe));
    probe.key = (WCHAR *)key;
    probe.path_len = len;
    probe.key_hash = rm_file_key_hash(key, len);
    i = index_find(&r->file_by_key, probe.key_hash, file_key_equals, r, &probe);
    return i != (SIZE_T)-1 && rm_file_loadable(&r->files[i]);
}

/* ---- process ID sets ------------------------------------------------------------ */

BOOL rm_pid_set_has(const struct rm_pid_set *s, DWORD pid)
{
    SIZE_T i;
    for (i = 0; i < s->count; i++)
        if (s->pids[i] == pid) return TRUE;
    return FALSE;
}

DWORD rm_pid_set_add(struct rm_pid_set *s, DWORD pid)
{
    DWORD err;
    if (rm_pid_set_has(s, pid)) return ERROR_SUCCESS;
    if ((err = rm_grow((void **)&s->pids, &s->cap, s->count + 1, sizeof(*s->pids)))) return err;
    s->pids[s->count++] = pid;
    if (s->board) rm_pid_board_post(s->board, pid);
    return ERROR_SUCCESS;
}

/* Open addressing from the PID's hash; a slot once taken keeps its PID. */
static SIZE_T board_start(DWORD pid)
{
    return (SIZE_T)((pid * 2654435761u) >> 22) & (RM_PID_BOARD_SLOTS - 1);
}

void rm_pid_board_post(struct rm_pid_board *b, DWORD pid)
{
    SIZE_T i, at = board_start(pid);
    if (!pid) return;   /* 0 marks a free slot */
    for (i = 0; i < RM_PID_BOARD_SLOTS; i++, at = (at + 1) & (RM_PID_BOARD_SLOTS - 1))
    {
        LONG seen = InterlockedCompareExchange(&b->slots[at], (LONG)pid, 0);
        if (!seen || seen == (LONG)pid) return;
    }
}

BOOL rm_pid_board_has(const struct rm_pid_board *b, DWORD pid)
{
    SIZE_T i, at = board_start(pid);
    if (!pid) return FALSE;
    for (i = 0; i < RM_PID_BOARD_SLOTS; i++, at = (at + 1) & (RM_PID_BOARD_SLOTS - 1))
    {
        LONG seen = b->slots[at];
        if (seen == (LONG)pid) return TRUE;
        if (!seen) return FALSE;
    }
    return FALSE;
}

void rm_pid_set_free(struct rm_pid_set *s)
{
    rm_free(s->pids);
    memset(s, 0, sizeof(*s));
}

/* ---- refresh ------------------------------------------------------------------------ */

/* The parent directory of a registered file, found or added (returns index + 1,
 * or 0 when out of memory: the file is then simply checked on every call). */
static uint32_t dir_of(struct rm_resources *r, const struct rm_file *f)
{
    struct rm_dir q, *d;
    SIZE_T len = f->path_len, at;
    uint64_t hash;

    while (len && f->key[len - 1] != L'\\') len--;
    if (!len) return 0;
    q.key = f->key;
    q.len = len;
    hash = rm_hash_bytes(f->key, len * sizeof(WCHAR), 5);
    at = index_find(&r->dir_index, hash, dir_equals, r, &q);
    if (at != (SIZE_T)-1) return (uint32_t)(at + 1);
    if (r->ndirs >= UINT32_MAX - 1 ||
        rm_grow((void **)&r->dirs, &r->cap_dirs, r->ndirs + 1, sizeof(*r->dirs)) ||
        index_reserve(&r->dir_index, r->dir_index.count + 1))
        return 0;
    d = &r->dirs[r->ndirs];
    memset(d, 0, sizeof(*d));
    if (!(d->path = rm_wcsdup_n(f->path, len)) || !(d->key = rm_wcsdup_n(f->key, len)))
    {
        rm_free(d->path);
        rm_free(d->key);
        return 0;
    }
    d->len = len;
    index_insert(&r->dir_index, hash, r->ndirs);
    return (uint32_t)(++r->ndirs);
}

/* Takes the directory's stamp now. A stamp younger than two seconds is not
 * trusted (a change within the same clock tick would go unseen), so its files
 * are checked again on the next call. */
static void dir_restamp(struct rm_dir *d, const FILETIME *now)
{
    WIN32_FILE_ATTRIBUTE_DATA data;
    WCHAR *copy;
    const WCHAR *name = rm_system_form(d->path, &copy);
    BOOL exists = name && GetFileAttributesExW(name, GetFileExInfoStandard, &data);
    DWORD e = exists ? ERROR_SUCCESS : name ? GetLastError() : ERROR_OUTOFMEMORY;

    rm_free(copy);
    if (!exists) memset(&data, 0, sizeof(data));
    /* Only "not there" is an answer; any other failure (access denied, a network
     * hiccup) says nothing about the entries: check the files, trust nothing. */
    if (!exists && e != ERROR_FILE_NOT_FOUND && e != ERROR_PATH_NOT_FOUND)
    {
        d->changed = TRUE;
        d->exists = TRUE;   /* so that its files are opened */
        d->trusted = FALSE;
        return;
    }
    d->changed = !d->trusted || exists != d->exists ||
                 memcmp(&data.ftLastWriteTime, &d->stamp_write, sizeof(FILETIME)) ||
                 memcmp(&data.ftCreationTime, &d->stamp_create, sizeof(FILETIME));
    d->exists = exists;
    d->stamp_write = data.ftLastWriteTime;
    d->stamp_create = data.ftCreationTime;
    d->trusted = !exists || rm_stamp_settled(&data.ftLastWriteTime, now);
}

DWORD rm_resources_refresh(struct rm_resources *r)
{
    struct rm_hash_index fresh;
    struct rm_file *now_files = NULL;
    const WCHAR **paths = NULL;
    SIZE_T *which = NULL, n = 0, i, k;
    FILETIME now;
    BOOL changed = FALSE;
    DWORD err = ERROR_SUCCESS;

    /* A path names whatever file is there now: an installer that replaced a file
     * (a new file ID) asks about the new one, and a file registered before it
     * existed matches once it does. Which file a path names changes only with the
     * entries of its directory, so each directory's stamp is taken first (one
     * cheap attribute query per directory) and only the files of directories
     * whose stamp moved are identified again: all of them together, one listing
     * per directory (dirlist.c). */
    /* Files new to this set were identified when they were registered, before any
     * stamp of ours: their directory is checked in full once. */
    for (i = 0; i < r->nfiles; i++)
        if (!r->files[i].dir && (r->files[i].dir = dir_of(r, &r->files[i])))
            r->dirs[r->files[i].dir - 1].trusted = FALSE;
    GetSystemTimeAsFileTime(&now);
    for (i = 0; i < r->ndirs; i++) dir_restamp(&r->dirs[i], &now);

    for (i = 0; i < r->nfiles; i++)
    {
        const struct rm_file *f = &r->files[i];
        if (!f->dir || r->dirs[f->dir - 1].changed) n++;
    }
    if (!n) return ERROR_SUCCESS;
    if (!(paths = rm_alloc(n * sizeof(*paths))) || !(which = rm_alloc(n * sizeof(*which))) ||
        !(now_files = rm_alloc(n * sizeof(*now_files))))
    {
        err = ERROR_OUTOFMEMORY;
        goto failed;
    }
    for (i = k = 0; i < r->nfiles; i++)
    {
        const struct rm_file *f = &r->files[i];
        if (f->dir && !r->dirs[f->dir - 1].changed) continue;
        /* A directory that is gone holds nothing: no need to look. */
        if (f->dir && !r->dirs[f->dir - 1].exists)
        {
            if (f->has_id) changed = TRUE;
            r->files[i].has_id = r->files[i].is_dir = FALSE;
            r->files[i].absent = TRUE;
            continue;
        }
        which[k] = i;
        paths[k++] = f->path;
    }
    if ((err = rm_files_identify(paths, k, now_files, TRUE, NULL))) goto failed;   /* id_only: no strings */
    for (i = 0; i < k; i++)
    {
        struct rm_file *f = &r->files[which[i]], *g = &now_files[i];
        f->absent = g->absent;
        if (g->has_id == f->has_id && g->is_dir == f->is_dir &&
            (!g->has_id || !memcmp(&g->id, &f->id, sizeof(g->id))))
            continue;
        f->has_id = g->has_id;
        f->is_dir = g->is_dir;
        f->id = g->id;
        changed = TRUE;
    }
    rm_free(paths);
    rm_free(which);
    rm_free(now_files);   /* id_only: no strings in them */
    if (!changed) return ERROR_SUCCESS;

    /* Built aside and swapped in, so a failure leaves the old index whole (the
     * directories are marked untrusted so the next call tries again). */
    memset(&fresh, 0, sizeof(fresh));
    if ((err = index_reserve(&fresh, r->nfiles)))
    {
        /* Without identities every file differs from what the next call finds,
         * so that call rebuilds the index. */
        for (i = 0; i < r->ndirs; i++) r->dirs[i].trusted = FALSE;
        for (i = 0; i < r->nfiles; i++) r->files[i].has_id = FALSE;
        return err;
    }
    for (i = 0; i < r->nfiles; i++)
        if (r->files[i].has_id) index_insert(&fresh, hash_id(&r->files[i].id), i);
    index_free(&r->file_by_id);
    r->file_by_id = fresh;
    return ERROR_SUCCESS;

failed:
    /* Nothing was learnt: look at every directory again next time. */
    for (i = 0; i < r->ndirs; i++) r->dirs[i].trusted = FALSE;
    rm_free(paths);
    rm_free(which);
    rm_free(now_files);
    return err;
}
