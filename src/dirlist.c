/*
 * dirlist.c - many registered paths identified at once, from one listing of each
 * of their directories (RmRegisterResources, and RmGetList's re-identification of
 * stored paths).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"
#include "ntapi.h"   /* RtlUpcaseUnicodeChar */

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
 * exist holds nothing. */

#define LIST_BUFFER_BYTES 65536      /* one FileIdBothDirectoryInfo read */
#define NO_ITEM ((uint32_t)-1)

struct lentry                        /* one entry of a listing */
{
    uint64_t file_id;
    DWORD attrs;
    uint32_t name, name_len;         /* long name, real case, in the pool */
};

struct lkey                          /* one name of an entry, upcased, in the pool */
{
    uint64_t hash;
    uint32_t name, len;
    uint32_t entry;
    BOOL ambiguous;                  /* two entries have this name */
};

struct listing                       /* one directory, reused from group to group */
{
    struct lentry *entries;  SIZE_T nentries, cap_entries;
    struct lkey *keys;       SIZE_T nkeys, cap_keys;
    uint32_t *slots;         SIZE_T mask, cap_slots;   /* key index + 1, 0 = empty */
    WCHAR *pool;             SIZE_T npool, cap_pool;
    WCHAR *final;            SIZE_T final_len, cap_final;   /* canonical path, trailing '\' */
    DWORD volume;
};

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
    struct listing list;
    BOOL wow64;                      /* 32-bit caller on 64-bit Windows */
    WCHAR sys32[MAX_PATH + 16];      /* %windir%\System32\ */
    SIZE_T sys32_len;
};

/* Upcases n characters the way the file system compares names: ordinal, one
 * character at a time through the system's upcase table (RtlUpcaseUnicodeChar,
 * which NTFS's table and Wine's name lookup agree with), ASCII inline. Returns
 * TRUE when a character outside ASCII was met. */
static BOOL name_upcase(WCHAR *dst, const WCHAR *src, SIZE_T n)
{
    BOOL wide = FALSE;
    SIZE_T i;
    for (i = 0; i < n; i++)
    {
        WCHAR c = src[i];
        if (c < 0x80) dst[i] = (c >= L'a' && c <= L'z') ? (WCHAR)(c - (L'a' - L'A')) : c;
        else
        {
            dst[i] = RtlUpcaseUnicodeChar(c);
            wide = TRUE;
        }
    }
    return wide;
}

static DWORD scratch_reserve(struct resolver *rs, SIZE_T chars)
{
    return rm_grow((void **)&rs->scratch, &rs->cap_scratch, chars, sizeof(WCHAR));
}

/* ---- listings ---- */

static void listing_free(struct listing *l)
{
    rm_free(l->entries);
    rm_free(l->keys);
    rm_free(l->slots);
    rm_free(l->pool);
    rm_free(l->final);
    memset(l, 0, sizeof(*l));
}

/* Appends n characters (upcased when asked) to the listing's pool. */
static DWORD pool_add(struct listing *l, const WCHAR *s, SIZE_T n, BOOL upcase, uint32_t *at)
{
    DWORD err;
    if (l->npool + n >= UINT32_MAX) return ERROR_OUTOFMEMORY;
    if ((err = rm_grow((void **)&l->pool, &l->cap_pool, l->npool + n, sizeof(WCHAR)))) return err;
    if (upcase) name_upcase(l->pool + l->npool, s, n);
    else memcpy(l->pool + l->npool, s, n * sizeof(WCHAR));
    *at = (uint32_t)l->npool;
    l->npool += n;
    return ERROR_SUCCESS;
}

static DWORD key_add(struct listing *l, const WCHAR *name, SIZE_T n, uint32_t entry)
{
    struct lkey *k;
    DWORD err;
    if ((err = rm_grow((void **)&l->keys, &l->cap_keys, l->nkeys + 1, sizeof(*l->keys)))) return err;
    k = &l->keys[l->nkeys];
    if ((err = pool_add(l, name, n, TRUE, &k->name))) return err;
    k->len = (uint32_t)n;
    k->hash = rm_hash_bytes(l->pool + k->name, n * sizeof(WCHAR), 7);
    k->entry = entry;
    k->ambiguous = FALSE;
    l->nkeys++;
    return ERROR_SUCCESS;
}

static BOOL key_equals(const struct listing *l, const struct lkey *k, uint64_t hash, const WCHAR *up, SIZE_T n)
{
    return k->hash == hash && k->len == n && !memcmp(l->pool + k->name, up, n * sizeof(WCHAR));
}

/* Adds one FileIdBothDirectoryInfo entry: its long name, and its 8.3 name when it
 * has a distinct one. */
static DWORD entry_add(struct listing *l, const FILE_ID_BOTH_DIR_INFO *e)
{
    SIZE_T n = e->FileNameLength / sizeof(WCHAR), sn = (SIZE_T)(BYTE)e->ShortNameLength / sizeof(WCHAR);
    struct lentry *le;
    uint32_t index;
    DWORD err;

    if ((n == 1 && e->FileName[0] == L'.') || (n == 2 && e->FileName[0] == L'.' && e->FileName[1] == L'.'))
        return ERROR_SUCCESS;
    if (!n || n > 0xFFFF || l->nentries >= UINT32_MAX - 1) return ERROR_SUCCESS;
    if (sn > ARRAYSIZE(e->ShortName)) sn = 0;
    if ((err = rm_grow((void **)&l->entries, &l->cap_entries, l->nentries + 1, sizeof(*l->entries)))) return err;
    index = (uint32_t)l->nentries;
    le = &l->entries[index];
    le->file_id = (uint64_t)e->FileId.QuadPart;
    le->attrs = e->FileAttributes;
    le->name_len = (uint32_t)n;
    if ((err = pool_add(l, e->FileName, n, FALSE, &le->name))) return err;
    l->nentries++;
    if ((err = key_add(l, e->FileName, n, index))) return err;
    if (sn && (sn != n || CompareStringOrdinal(e->ShortName, (int)sn, e->FileName, (int)n, TRUE) != CSTR_EQUAL))
        err = key_add(l, e->ShortName, sn, index);
    return err;
}

/* The hash table over every name of the listing. Two entries with one upcased
 * name (Unix directories are case-sensitive; a generated 8.3 name may equal
 * another file's long name under Wine) leave the name ambiguous: the file
 * system, not the listing, then says which file it means. */
static DWORD listing_index(struct listing *l)
{
    SIZE_T cap = 16, i, j;
    DWORD err;

    while (cap / 2 < l->nkeys + 1)
    {
        if (cap > ((SIZE_T)-1 >> 3)) return ERROR_OUTOFMEMORY;
        cap *= 2;
    }
    if ((err = rm_grow((void **)&l->slots, &l->cap_slots, cap, sizeof(*l->slots)))) return err;
    memset(l->slots, 0, cap * sizeof(*l->slots));
    l->mask = cap - 1;
    for (i = 0; i < l->nkeys; i++)
    {
        struct lkey *k = &l->keys[i];
        BOOL dup = FALSE;
        for (j = (SIZE_T)k->hash & l->mask; l->slots[j]; j = (j + 1) & l->mask)
        {
            struct lkey *o = &l->keys[l->slots[j] - 1];
            if (key_equals(l, o, k->hash, l->pool + k->name, k->len))
            {
                if (o->entry != k->entry) o->ambiguous = TRUE;
                dup = TRUE;
                break;
            }
        }
        if (!dup) l->slots[j] = (uint32_t)(i + 1);
    }
    return ERROR_SUCCESS;
}

/* The key for an upcased name, or NULL. */
static const struct lkey *listing_find(const struct listing *l, const WCHAR *up, SIZE_T n)
{
    uint64_t hash = rm_hash_bytes(up, n * sizeof(WCHAR), 7);
    SIZE_T j;
    if (!l->slots) return NULL;
    for (j = (SIZE_T)hash & l->mask; l->slots[j]; j = (j + 1) & l->mask)
        if (key_equals(l, &l->keys[l->slots[j] - 1], hash, up, n)) return &l->keys[l->slots[j] - 1];
    return NULL;
}

/* The directory's canonical path (its final path, as a file's final path is
 * read) with a trailing backslash; the path as given when the system cannot say. */
static DWORD listing_final(struct listing *l, HANDLE h, const WCHAR *dir, SIZE_T dir_len)
{
    DWORD n = GetFinalPathNameByHandleW(h, NULL, 0, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS), got = 0;
    DWORD err;

    if ((err = rm_grow((void **)&l->final, &l->cap_final, (n > dir_len ? n : dir_len) + 2, sizeof(WCHAR))))
        return err;
    if (n) got = GetFinalPathNameByHandleW(h, l->final, n, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
    if (!got || got >= n)
    {
        memcpy(l->final, dir, dir_len * sizeof(WCHAR));
        got = (DWORD)dir_len;
    }
    /* The root comes back as "\\?\C:\", any other directory without the backslash. */
    if (got && l->final[got - 1] != L'\\') l->final[got++] = L'\\';
    l->final[got] = 0;
    l->final_len = got;
    return ERROR_SUCCESS;
}

/* Reads every entry of an open directory. *why is ERROR_SUCCESS when the listing
 * is complete, else the reason it is not. */
static DWORD listing_read(struct listing *l, HANDLE h, BYTE *buf, DWORD *why)
{
    const SIZE_T head = offsetof(FILE_ID_BOTH_DIR_INFO, FileName);
    DWORD err;

    for (;;)
    {
        SIZE_T off = 0;
        if (!rm_sys.GetFileInformationByHandleEx(h, FileIdBothDirectoryInfo, buf, LIST_BUFFER_BYTES))
        {
            DWORD e = GetLastError();
            if (e != ERROR_NO_MORE_FILES) *why = e;
            return ERROR_SUCCESS;
        }
        for (;;)
        {
            const FILE_ID_BOTH_DIR_INFO *e = (const FILE_ID_BOTH_DIR_INFO *)(buf + off);
            if (off + head > LIST_BUFFER_BYTES || e->FileNameLength > LIST_BUFFER_BYTES - off - head)
            {
                *why = ERROR_INVALID_DATA;   /* never from a sane file system */
                return ERROR_SUCCESS;
            }
            if ((err = entry_add(l, e))) return err;
            if (!e->NextEntryOffset) break;
            off += e->NextEntryOffset;
        }
    }
}

/* Opens and lists a directory (dir: NUL-terminated, with its trailing
 * backslash). *why is ERROR_SUCCESS when l holds the listing, else why it does
 * not (the error of the open when the directory cannot be opened). Returns
 * ERROR_OUTOFMEMORY or ERROR_SUCCESS. */
static DWORD listing_load(struct listing *l, BYTE *buf, const WCHAR *dir, SIZE_T dir_len, DWORD *why)
{
    FILE_BASIC_INFO info;
    WCHAR *copy;
    const WCHAR *name = rm_system_form(dir, &copy);
    DWORD err = ERROR_SUCCESS;
    HANDLE h;

    l->nentries = l->nkeys = l->npool = 0;
    *why = ERROR_SUCCESS;
    if (!name) return ERROR_OUTOFMEMORY;
    h = CreateFileW(name, FILE_LIST_DIRECTORY | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                    FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (h == INVALID_HANDLE_VALUE) *why = GetLastError();
    rm_free(copy);
    if (h == INVALID_HANDLE_VALUE) return ERROR_SUCCESS;
    /* One volume query for the whole directory (the handle scan's query, so both
     * sides agree): this is the call that costs about a millisecond under Wine. */
    if (!GetFileInformationByHandleEx(h, FileBasicInfo, &info, sizeof(info))) *why = GetLastError();
    else if (!(info.FileAttributes & FILE_ATTRIBUTE_DIRECTORY)) *why = ERROR_DIRECTORY;
    else if ((*why = rm_sys.FileVolume(h, &l->volume)) == ERROR_SUCCESS)
    {
        if (!(err = listing_final(l, h, dir, dir_len)) && !(err = listing_read(l, h, buf, why)) && !*why)
            err = listing_index(l);
    }
    CloseHandle(h);
    return err;
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
    listing_free(&rs->list);
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
    name_upcase(rs->scratch, full, dir_len);
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
    struct listing *l = &rs->list;
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
    struct listing *l = &rs->list;
    SIZE_T n = l->final_len + name_len;
    DWORD err;

    if (rs->id_only) return ERROR_SUCCESS;
    if ((err = scratch_reserve(rs, n + 1))) return err;
    memcpy(rs->scratch, l->final, l->final_len * sizeof(WCHAR));
    memcpy(rs->scratch + l->final_len, name, name_len * sizeof(WCHAR));
    rs->scratch[n] = 0;
    return rm_file_set_path(f, rs->scratch, n);
}

/* Resolves every item of one directory. */
static DWORD resolve_group(struct resolver *rs, const struct group *g)
{
    const struct item *first = &rs->items[g->first];
    const WCHAR *first_full = rs->pool + first->full;
    SIZE_T dir_len = first->name_at;
    DWORD err, why = ERROR_NOT_SUPPORTED;
    BOOL listed, absent;
    uint32_t i;

    if (g->listable)
    {
        if ((err = scratch_reserve(rs, dir_len + 1))) return err;
        memcpy(rs->scratch, first_full, dir_len * sizeof(WCHAR));
        rs->scratch[dir_len] = 0;
        if ((err = listing_load(&rs->list, rs->buf, rs->scratch, dir_len, &why))) return err;
        if (why && why != ERROR_FILE_NOT_FOUND && why != ERROR_PATH_NOT_FOUND)
            rm_warn("directory %ls cannot be listed (%lu): its files are opened one by one", rs->scratch, why);
    }
    listed = !why;
    /* A directory that is not there holds no file: what opening each would say. */
    absent = why == ERROR_FILE_NOT_FOUND || why == ERROR_PATH_NOT_FOUND;

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
        wide = name_upcase(rs->scratch, name, name_len);
        k = listing_find(&rs->list, rs->scratch, name_len);
        if (k && !k->ambiguous) e = &rs->list.entries[k->entry];
        if (e && !(e->attrs & (FILE_ATTRIBUTE_REPARSE_POINT | FILE_ATTRIBUTE_DIRECTORY)) &&
            e->file_id && e->file_id != (uint64_t)-1 && volume_ids_usable(&rs->list, e, full))
            err = file_from_entry(rs, e, f);
        else if (!k && !wide)
            err = file_missing(rs, name, name_len, f);
        else
            err = rm_file_by_opening(full, f, rs->id_only);
        if (err) return err;
    }
    return ERROR_SUCCESS;
}

DWORD rm_files_identify(const WCHAR *const *paths, SIZE_T n, struct rm_file *out, BOOL id_only)
{
    struct resolver rs;
    SIZE_T i, cap = 16;
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
    if (!(rs.items = rm_alloc(n * sizeof(*rs.items))) || !(rs.gslots = rm_alloc(cap * sizeof(*rs.gslots))) ||
        !(rs.buf = rm_alloc(LIST_BUFFER_BYTES)))
        err = ERROR_OUTOFMEMORY;
    rs.gmask = cap - 1;
    for (i = 0; i < n && !err; i++) err = add_path(&rs, paths[i], (uint32_t)i);
    for (i = 0; i < rs.ngroups && !err; i++) err = resolve_group(&rs, &rs.groups[i]);
    resolver_free(&rs);
    if (err)
        for (i = 0; i < n; i++) rm_file_clear(&out[i]);
    return err;
}
