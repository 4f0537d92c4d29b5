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
 * them for later calls while their directory's stamp says they still hold. */

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
    BOOL id_only;
    struct item *items;
    WCHAR *pool;             SIZE_T npool, cap_pool;     /* full paths */
    struct group *groups;    SIZE_T ngroups, cap_groups;
    uint32_t *gslots;        SIZE_T gmask;
    WCHAR *gkeys;            SIZE_T ngkeys, cap_gkeys;   /* upcased directory paths */
    WCHAR *scratch;          SIZE_T cap_scratch;
    BYTE *buf;                                           /* LIST_BUFFER_BYTES */
    struct listing list;             /* this call's listing of the group ... */
    const struct listing *cur;       /* ... or a kept one (the group's answer) */
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
    rm_free(rs->buf);
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
     * when the room is short. */
    if ((err = rm_grow((void **)&rs->pool, &rs->cap_pool, rs->npool + MAX_PATH + 1, sizeof(WCHAR)))) return err;
    avail = rs->cap_pool - rs->npool;
    if (avail > RM_MAX_PATH_CHARS + 16) avail = RM_MAX_PATH_CHARS + 16;
    len = GetFullPathNameW(path, (DWORD)avail, rs->pool + rs->npool, NULL);
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

    /* Its directory, found or added: compared upcased, so that spellings that
     * differ in case share one listing. */
    dir_len = i;
    if ((err = scratch_reserve(rs, dir_len + 1))) return err;
    rm_name_upcase(rs->scratch, full, dir_len);
    hash = rm_hash_bytes(rs->scratch, dir_len * sizeof(WCHAR), 8);
    for (j = (SIZE_T)hash & rs->gmask; rs->gslots[j]; j = (j + 1) & rs->gmask)
    {
        g = &rs->groups[rs->gslots[j] - 1];
        if (g->hash == hash && g->key_len == dir_len &&
            !memcmp(rs->gkeys + g->key, rs->scratch, dir_len * sizeof(WCHAR)))
        {
            rs->items[g->last].next = index;
            g->last = index;
            g->listable |= !it->open;
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
    return rm_file_set_path(f, rs->scratch, n);
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
    return rm_file_set_path(f, rs->scratch, n);
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
            err = rs->id_only ? ERROR_SUCCESS : rm_file_not_opened(full, f);
            if (err) return err;
            continue;
        }
        if (it->open || !listed)
        {
            if ((err = rm_file_by_opening(full, f, rs->id_only))) return err;
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
            err = rm_file_by_opening(full, f, rs->id_only);
        if (err) return err;
    }
    return ERROR_SUCCESS;
}

/* Resolves one directory's items: from a kept listing of it if its stamp allows,
 * else from a new one (kept for later calls if the stamp allows), else by opening. */
static DWORD resolve_group(struct resolver *rs, const struct group *g)
{
    const struct item *first = &rs->items[g->first];
    const WCHAR *first_full = rs->pool + first->full, *key = rs->gkeys + g->key;
    SIZE_T dir_len = first->name_at;
    DWORD err, why = ERROR_NOT_SUPPORTED;
    FILETIME write, create;
    const struct listing *hit = NULL;
    BOOL stamped = FALSE;

    rs->cur = &rs->list;
    if (g->listable)
    {
        if ((err = scratch_reserve(rs, dir_len + 1))) return err;
        memcpy(rs->scratch, first_full, dir_len * sizeof(WCHAR));
        rs->scratch[dir_len] = 0;
        /* The stamp before the listing: a change after it moves the stamp. */
        if ((stamped = rm_dir_stamp(rs->scratch, &write, &create)) &&
            (hit = rm_kept_find(key, g->key_len, &write, &create)))
        {
            rs->cur = hit;
            why = ERROR_SUCCESS;
        }
        else if ((err = rm_listing_load(&rs->list, rs->buf, rs->scratch, dir_len, &why)))
            return err;
        if (why && why != ERROR_FILE_NOT_FOUND && why != ERROR_PATH_NOT_FOUND)
            rm_warn("directory %ls cannot be listed (%lu): its files are opened one by one", rs->scratch, why);
    }
    /* A directory that is not there holds no file: what opening each would say. */
    err = resolve_items(rs, g, !why, why == ERROR_FILE_NOT_FOUND || why == ERROR_PATH_NOT_FOUND);
    if (hit) rm_kept_release();
    else if (!err && stamped && !why) rm_kept_put(key, g->key_len, &write, &create, &rs->list);
    return err;
}

DWORD rm_files_identify(const WCHAR *const *paths, SIZE_T n, struct rm_file *out, BOOL id_only)
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
        !(rs.buf = rm_alloc(LIST_BUFFER_BYTES)) ||
        rm_grow((void **)&rs.pool, &rs.cap_pool, pool_chars + MAX_PATH + 1, sizeof(WCHAR)))
        err = ERROR_OUTOFMEMORY;
    rs.gmask = cap - 1;
    for (i = 0; i < n && !err; i++) err = add_path(&rs, paths[i], (uint32_t)i);
    for (i = 0; i < rs.ngroups && !err; i++) err = resolve_group(&rs, &rs.groups[i]);
    resolver_free(&rs);
    if (err)
        for (i = 0; i < n; i++) rm_file_clear(&out[i]);
    return err;
}
