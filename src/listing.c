/*
 * listing.c - directory listings (FileIdBothDirectoryInfo) indexed by name, and
 * the ones kept between calls (dirlist.c looks its paths up in them).
 *
 * A listing holds every entry's long name, 8.3 name, attributes and file ID, and
 * a hash table of the upcased names, so that a name is found the way the file
 * system finds it (ordinal, case-insensitive, either name).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"
#include "ntapi.h"   /* RtlUpcaseUnicodeChar */
#include "listing.h"

/* Upcases n characters the way the file system compares names: ordinal, one
 * character at a time through the system's upcase table (RtlUpcaseUnicodeChar,
 * which NTFS's table and Wine's name lookup agree with), ASCII inline. Returns
 * TRUE when a character outside ASCII was met. */
BOOL rm_name_upcase(WCHAR *dst, const WCHAR *src, SIZE_T n)
{
    BOOL wide = FALSE;
    SIZE_T i;
    for (i = 0; i < n; i++)
    {
        WCHAR c = src[i];
        if (c < 0x80) dst[i] = rm_ascii_upper(c);
        else
        {
            dst[i] = RtlUpcaseUnicodeChar(c);
            wide = TRUE;
        }
    }
    return wide;
}

/* ---- one listing ---- */

static void raw_free(struct listing *l)
{
    SIZE_T i;
    for (i = 0; i < l->nraw; i++) rm_free(l->raw[i]);
    l->nraw = 0;
}

void rm_listing_free(struct listing *l)
{
    raw_free(l);
    rm_free(l->raw);
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
    if (upcase) rm_name_upcase(l->pool + l->npool, s, n);
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
const struct lkey *rm_listing_find(const struct listing *l, const WCHAR *up, SIZE_T n)
{
    uint64_t hash = rm_hash_bytes(up, n * sizeof(WCHAR), 7);
    SIZE_T j;
    if (!l->slots || !l->nkeys) return NULL;   /* never listed, or the last listing failed */
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

/* The entries of one raw buffer. *why becomes ERROR_INVALID_DATA for a buffer
 * whose entries run past its end (never from a sane file system). */
static DWORD parse_buffer(struct listing *l, const BYTE *buf, DWORD *why)
{
    const SIZE_T head = offsetof(FILE_ID_BOTH_DIR_INFO, FileName);
    SIZE_T off = 0;
    DWORD err;

    for (;;)
    {
        const FILE_ID_BOTH_DIR_INFO *e = (const FILE_ID_BOTH_DIR_INFO *)(buf + off);
        if (off + head > LIST_BUFFER_BYTES || e->FileNameLength > LIST_BUFFER_BYTES - off - head)
        {
            *why = ERROR_INVALID_DATA;
            return ERROR_SUCCESS;
        }
        if ((err = entry_add(l, e))) return err;
        if (!e->NextEntryOffset) return ERROR_SUCCESS;
        off += e->NextEntryOffset;
    }
}

/* The entries and name index of the raw buffers fetched from buffer `from` on
 * (the ones before it are parsed already); the buffers go. */
static DWORD listing_parse(struct listing *l, SIZE_T from, DWORD *why)
{
    DWORD err = ERROR_SUCCESS;
    SIZE_T i;

    for (i = from; i < l->nraw && !err && !*why; i++) err = parse_buffer(l, l->raw[i], why);
    raw_free(l);
    if (!err && !*why) err = listing_index(l);
    return err;
}

/* The volume's serial number and the directory's final path, asked on a
 * thread-pool thread while the caller's thread reads the entries. Under Wine each
 * is a round trip to another process (the volume through the mount manager, about
 * 0.6 ms a directory; the final path through the wineserver, about 0.14 ms),
 * against 4 ms for the entries of a directory of 2,000 (timers, bench_register).
 * The caller never depends on the pool: queries the pool has not started when the
 * entries are read are cancelled and asked by the caller (a pool that needs a new
 * thread cannot start one while a DllMain caller holds the loader lock), and
 * queries it has started are waited for, so no callback outlives the fetch. */
struct side_queries
{
    HANDLE h;
    struct listing *l;               /* its final path is written by the queries */
    const WCHAR *dir;
    SIZE_T dir_len;
    DWORD serial, err, final_err;
    volatile LONG done;
    /* rm_listing_load only: the same callback then parses the raw buffers as the
     * caller's thread reads them (a directory of 2,000 entries is five buffers,
     * each parsed in about 70 us while the next is read in 700), so that a
     * listing is ready about when its last buffer is read. The parse touches
     * only the listing's entries, keys and pool; l->raw and l->nraw change under
     * the lock. */
    BOOL parse;
    SRWLOCK lock;
    CONDITION_VARIABLE more;         /* a buffer was read, or the reading is over */
    BOOL read_all;
    SIZE_T parsed;                   /* raw buffers parsed (the rest are the caller's) */
    DWORD parse_err, parse_why;
};

static void side_queries_run(struct side_queries *q)
{
    q->err = rm_sys.FileVolume(q->h, &q->serial);
    q->final_err = listing_final(q->l, q->h, q->dir, q->dir_len);
}

/* Parses the buffers as they come until the reading is over and every buffer is
 * parsed, or a buffer cannot be parsed (the caller then has parse_err/_why). */
static void parse_alongside(struct side_queries *q)
{
    struct listing *l = q->l;

    AcquireSRWLockExclusive(&q->lock);
    for (;;)
    {
        const BYTE *buf;
        while (q->parsed == l->nraw && !q->read_all) SleepConditionVariableSRW(&q->more, &q->lock, INFINITE, 0);
        if (q->parsed == l->nraw) break;
        buf = l->raw[q->parsed];
        ReleaseSRWLockExclusive(&q->lock);
        q->parse_err = parse_buffer(l, buf, &q->parse_why);
        AcquireSRWLockExclusive(&q->lock);
        if (q->parse_err || q->parse_why) break;
        q->parsed++;
    }
    ReleaseSRWLockExclusive(&q->lock);
}

static void CALLBACK side_callback(PTP_CALLBACK_INSTANCE instance, void *ctx, PTP_WORK work)
{
    struct side_queries *q = ctx;
    (void)instance; (void)work;
    side_queries_run(q);
    if (q->parse) parse_alongside(q);
    InterlockedExchange(&q->done, 1);
}

/* Starts the queries (and the parse, if asked); NULL when the pool cannot take
 * them (the caller does it all). */
static PTP_WORK side_start(struct side_queries *q, HANDLE h, struct listing *l, const WCHAR *dir, SIZE_T dir_len,
                           BOOL parse)
{
    PTP_WORK work;
    memset(q, 0, sizeof(*q));
    q->h = h;
    q->l = l;
    q->dir = dir;
    q->dir_len = dir_len;
    q->parse = parse;
    InitializeSRWLock(&q->lock);
    InitializeConditionVariable(&q->more);
    if (!(work = CreateThreadpoolWork(side_callback, q, NULL))) return NULL;
    SubmitThreadpoolWork(work);
    return work;
}

/* The caller's thread has read every buffer it will read (or failed). */
static void side_read_all(struct side_queries *q)
{
    if (!q->parse) return;
    AcquireSRWLockExclusive(&q->lock);
    q->read_all = TRUE;
    ReleaseSRWLockExclusive(&q->lock);
    WakeConditionVariable(&q->more);
}

/* Their answers, asked here if the pool did not get to them. Returns the final
 * path's failure (out of memory); the volume's is in *vol_err. */
static DWORD side_finish(struct side_queries *q, PTP_WORK work, DWORD *serial, DWORD *vol_err)
{
    if (work)
    {
        WaitForThreadpoolWorkCallbacks(work, TRUE);   /* cancels them if not started */
        CloseThreadpoolWork(work);
    }
    if (!work || !InterlockedCompareExchange(&q->done, 0, 0)) side_queries_run(q);
    *serial = q->serial;
    *vol_err = q->err;
    return q->final_err;
}

/* Reads every entry of an open directory into l's raw buffers, as the file system
 * returns them (parsed by q's parser as they come when there is one, else later
 * by rm_listing_parse). *why is ERROR_SUCCESS when the listing is complete, else
 * the reason it is not. */
static DWORD listing_read(struct listing *l, HANDLE h, struct side_queries *q, DWORD *why)
{
    DWORD err;

    for (;;)
    {
        BYTE *buf;
        if (!(buf = rm_alloc_raw(LIST_BUFFER_BYTES))) return ERROR_OUTOFMEMORY;
        if (!rm_sys.GetFileInformationByHandleEx(h, FileIdBothDirectoryInfo, buf, LIST_BUFFER_BYTES))
        {
            DWORD e = GetLastError();
            rm_free(buf);
            if (e != ERROR_NO_MORE_FILES) *why = e;
            return ERROR_SUCCESS;
        }
        /* A parser on the pool reads l->raw under the lock (q is NULL without one). */
        if (q) AcquireSRWLockExclusive(&q->lock);
        if (!(err = rm_grow((void **)&l->raw, &l->cap_raw, l->nraw + 1, sizeof(*l->raw)))) l->raw[l->nraw++] = buf;
        if (q) ReleaseSRWLockExclusive(&q->lock);
        if (err)
        {
            rm_free(buf);
            return err;
        }
        if (q) WakeConditionVariable(&q->more);
    }
}

/* rm_listing_fetch, and with `parse` the parse alongside (rm_listing_load): then
 * *parsed is how many raw buffers are parsed already, and a failure of that
 * parse is returned (out of memory) or in *why (damaged buffer). */
static DWORD fetch(struct listing *l, const WCHAR *dir, SIZE_T dir_len, BOOL parse, SIZE_T *parsed, DWORD *why)
{
    struct side_queries q;
    PTP_WORK work;
    WCHAR *copy;
    const WCHAR *name = rm_system_form(dir, &copy);
    DWORD err = ERROR_SUCCESS, vol_err, final_err;
    HANDLE h;

    l->nentries = l->nkeys = l->npool = 0;
    raw_free(l);
    *parsed = 0;
    *why = ERROR_SUCCESS;
    if (!name) return ERROR_OUTOFMEMORY;
    h = CreateFileW(name, FILE_LIST_DIRECTORY | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                    FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (h == INVALID_HANDLE_VALUE) *why = GetLastError();
    rm_free(copy);
    if (h == INVALID_HANDLE_VALUE) return ERROR_SUCCESS;
    /* One volume query for the whole directory (the handle scan's query, so both
     * sides agree) and its final path, beside the reading of the entries
     * (side_queries). A file opened where a directory was meant cannot be listed:
     * the read says so (no attribute query first, a round trip saved). */
    work = side_start(&q, h, l, dir, dir_len, parse);
    err = listing_read(l, h, work && parse ? &q : NULL, why);
    side_read_all(&q);
    /* Always collected before the handle is closed; the volume's failure comes
     * first, as when it was asked before the entries. */
    final_err = side_finish(&q, work, &l->volume, &vol_err);
    if (!err) err = final_err;
    if (vol_err) *why = vol_err;
    if (!err) err = q.parse_err;
    if (!*why) *why = q.parse_why;
    *parsed = q.parsed;
    CloseHandle(h);
    if (err || *why)
    {
        raw_free(l);
        l->nentries = l->nkeys = l->npool = 0;
    }
    return err;
}

DWORD rm_listing_fetch(struct listing *l, const WCHAR *dir, SIZE_T dir_len, DWORD *why)
{
    SIZE_T parsed;
    return fetch(l, dir, dir_len, FALSE, &parsed, why);
}

DWORD rm_listing_parse(struct listing *l, DWORD *why)
{
    if (*why)
    {
        raw_free(l);
        return ERROR_SUCCESS;
    }
    return listing_parse(l, 0, why);
}

DWORD rm_listing_load(struct listing *l, const WCHAR *dir, SIZE_T dir_len, DWORD *why)
{
    SIZE_T parsed;
    DWORD err = fetch(l, dir, dir_len, TRUE, &parsed, why);
    if (err || *why) return err;
    return listing_parse(l, parsed, why);
}

/* ---- listings kept between calls ---- */

/* Installers register in batches (rmtool: 1,000 paths a call): each batch of one
 * directory's files would list it again, tens of milliseconds for a few thousand
 * entries under Wine (bench_register). So a listing is kept for later calls of
 * this process and used while its directory's stamp (last-write and creation
 * time: one attribute query) is what it was before the listing was taken, if
 * that stamp was two seconds old by then. Which file a name names changes only
 * with the entries of its directory, and a change of them moves the last-write
 * time, except that two changes within one tick look like one: RmGetList's rule
 * (resources.c). At most KEPT_MAX listings and KEPT_BYTES in all. */
#define KEPT_MAX   16
#define KEPT_BYTES (16u << 20)

struct kept
{
    WCHAR *key;                      /* the group's key: upcased directory path */
    SIZE_T key_len, bytes;
    FILETIME write, create;
    struct listing list;
    LONG64 used;                     /* for eviction: the oldest use goes first */
};

static SRWLOCK kept_lock = SRWLOCK_INIT;   /* the table; shared while a kept listing is read */
static struct kept kept[KEPT_MAX];
static LONG64 kept_clock;

BOOL rm_dir_stamp(const WCHAR *dir, FILETIME *write, FILETIME *create)
{
    WIN32_FILE_ATTRIBUTE_DATA d;
    FILETIME now;
    WCHAR *copy;
    const WCHAR *name = rm_system_form(dir, &copy);
    BOOL ok = name && GetFileAttributesExW(name, GetFileExInfoStandard, &d) &&
              (d.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY);

    rm_free(copy);
    if (!ok) return FALSE;
    GetSystemTimeAsFileTime(&now);
    *write = d.ftLastWriteTime;
    *create = d.ftCreationTime;
    return rm_stamp_settled(write, &now);
}

BOOL rm_stamp_settled(const FILETIME *write, const FILETIME *now)
{
    ULONGLONG w = ((ULONGLONG)write->dwHighDateTime << 32) | write->dwLowDateTime;
    ULONGLONG t = ((ULONGLONG)now->dwHighDateTime << 32) | now->dwLowDateTime;
    return w <= t && t - w >= 20000000;   /* 2 s in 100 ns units */
}

const struct listing *rm_kept_find(const WCHAR *key, SIZE_T len, const FILETIME *write, const FILETIME *create)
{
    int i;
    AcquireSRWLockShared(&kept_lock);
    for (i = 0; i < KEPT_MAX; i++)
        if (kept[i].key && kept[i].key_len == len && !memcmp(kept[i].key, key, len * sizeof(WCHAR)) &&
            !memcmp(&kept[i].write, write, sizeof(*write)) && !memcmp(&kept[i].create, create, sizeof(*create)))
        {
            InterlockedExchange64(&kept[i].used, InterlockedIncrement64(&kept_clock));
            return &kept[i].list;
        }
    ReleaseSRWLockShared(&kept_lock);
    return NULL;
}

void rm_kept_release(void)
{
    ReleaseSRWLockShared(&kept_lock);
}

static void kept_clear(struct kept *k)
{
    rm_free(k->key);
    rm_listing_free(&k->list);
    memset(k, 0, sizeof(*k));
}

void rm_kept_put(const WCHAR *key, SIZE_T len, const FILETIME *write, const FILETIME *create, struct listing *l)
{
    SIZE_T bytes = l->cap_entries * sizeof(*l->entries) + l->cap_keys * sizeof(*l->keys) +
                   l->cap_slots * sizeof(*l->slots) + (l->cap_pool + l->cap_final) * sizeof(WCHAR), total;
    WCHAR *copy;
    int i, slot;

    if (bytes > KEPT_BYTES / 4 || !(copy = rm_wcsdup_n(key, len))) return;
    AcquireSRWLockExclusive(&kept_lock);
    for (i = 0; i < KEPT_MAX; i++)   /* the same directory's older listing goes */
        if (kept[i].key && kept[i].key_len == len && !memcmp(kept[i].key, key, len * sizeof(WCHAR)))
            kept_clear(&kept[i]);
    for (;;)                         /* then the oldest, until a slot is free and the total fits */
    {
        int oldest = -1;
        for (i = 0, slot = -1, total = bytes; i < KEPT_MAX; i++)
        {
            if (!kept[i].key)
            {
                if (slot < 0) slot = i;
                continue;
            }
            total += kept[i].bytes;
            if (oldest < 0 || kept[i].used < kept[oldest].used) oldest = i;
        }
        if (slot >= 0 && total <= KEPT_BYTES) break;
        kept_clear(&kept[oldest]);   /* there is one: all free would have fitted */
    }
    kept[slot].key = copy;
    kept[slot].key_len = len;
    kept[slot].bytes = bytes;
    kept[slot].write = *write;
    kept[slot].create = *create;
    kept[slot].list = *l;
    kept[slot].used = InterlockedIncrement64(&kept_clock);
    memset(l, 0, sizeof(*l));
    ReleaseSRWLockExclusive(&kept_lock);
}

void rm_listings_unload(void)
{
    int i;
    for (i = 0; i < KEPT_MAX; i++) kept_clear(&kept[i]);
}
