/*
 * listing.h - directory listings shared by listing.c and dirlist.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef RSTRTMGR_LISTING_H
#define RSTRTMGR_LISTING_H

#define LIST_BUFFER_BYTES 65536      /* one FileIdBothDirectoryInfo read */

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
    BYTE **raw;              SIZE_T nraw, cap_raw;     /* fetched, not parsed yet */
};

/* Upcases n characters the way the file system compares names (ordinal, the
 * system's upcase table); TRUE when a character outside ASCII was met. */
BOOL rm_name_upcase(WCHAR *dst, const WCHAR *src, SIZE_T n);
void rm_listing_free(struct listing *l);
/* The key of an upcased name, or NULL when the directory has no such entry. */
const struct lkey *rm_listing_find(const struct listing *l, const WCHAR *up, SIZE_T n);
/* Opens and lists a directory (dir: NUL-terminated, with its trailing backslash).
 * *why is ERROR_SUCCESS when l holds the listing, else why not (the open's error
 * when the directory cannot be opened). Returns ERROR_OUTOFMEMORY or
 * ERROR_SUCCESS. It is done in two halves that may run on different threads
 * (dirlist.c's prefetch): rm_listing_fetch, the system calls (open, volume,
 * final path, the raw entries, close), then rm_listing_parse, the entries and
 * their name index built from what was fetched (given the fetch's *why).
 * rm_listing_load does both at once, the parse on a thread-pool thread buffer by
 * buffer while the caller's thread reads the next (the caller's if the pool does
 * not start it). */
DWORD rm_listing_load(struct listing *l, const WCHAR *dir, SIZE_T dir_len, DWORD *why);
DWORD rm_listing_fetch(struct listing *l, const WCHAR *dir, SIZE_T dir_len, DWORD *why);
DWORD rm_listing_parse(struct listing *l, DWORD *why);

/* Listings kept between calls (see listing.c). rm_dir_stamp: the directory's
 * stamp, TRUE if it exists and is old enough to rely on. rm_kept_find: the kept
 * listing of key (the upcased directory path) at that stamp, to be given back
 * with rm_kept_release when done (it stays valid until then), or NULL.
 * rm_kept_put: keeps l (taken over, l is left empty) as key's listing at that
 * stamp; out of memory only means it is not kept. */
BOOL rm_dir_stamp(const WCHAR *dir, FILETIME *write, FILETIME *create);
const struct listing *rm_kept_find(const WCHAR *key, SIZE_T len, const FILETIME *write, const FILETIME *create);
void rm_kept_release(void);
void rm_kept_put(const WCHAR *key, SIZE_T len, const FILETIME *write, const FILETIME *create, struct listing *l);

#endif
