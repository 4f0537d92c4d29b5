/*
 * internal.h - private declarations shared by the files of rstrtmgr.dll.
 *
 * Conventions (see README "How the code is organised"):
 *  - every internal function that can fail returns a Win32 error code (DWORD) and
 *    writes its results through out-parameters; NTSTATUS never leaves the file that
 *    called the NT function;
 *  - internal non-static functions are named rm_<module>_<verb>;
 *  - nothing here aborts, exits or raises: this code runs inside other people's
 *    installers.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef RSTRTMGR_INTERNAL_H
#define RSTRTMGR_INTERNAL_H

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include "restartmanager.h"

/* ======================================================================== */
/*  Limits and policy constants                                              */
/* ======================================================================== */

#define RM_MAX_SESSIONS        64      /* per user: slots Session0000..Session0063 (storelayout.h) */
#define RM_MAX_HANDLES         64      /* open handles (started + joined) per process */
#define RM_MAX_PATH_CHARS      32767   /* longest path Windows accepts */
#define RM_MAX_SVC_NAME_CHARS  256     /* longest service name the SCM accepts */
#define RM_STORE_LOCK_TIMEOUT  5000    /* ms to wait for the store lock (spec U13) */
#define RM_KEY_BYTES           16      /* RM_SESSION_KEY_LEN */
#define RM_KEY_CHARS           32      /* CCH_RM_SESSION_KEY */
#define RM_HASH_BYTES          32      /* SHA-256 */

/* ======================================================================== */
/*  Memory and small utilities (util.c)                                      */
/* ======================================================================== */

void *rm_alloc(SIZE_T size);                 /* zeroed; NULL on failure */
void *rm_alloc_raw(SIZE_T size);             /* not zeroed: for what is written whole at once */
void *rm_realloc(void *p, SIZE_T size);      /* keeps p on failure */
void  rm_free(void *p);
/* Multiplies a count by an element size; FALSE if the product overflows SIZE_T. */
BOOL  rm_mul_ok(SIZE_T count, SIZE_T size, SIZE_T *out);
/* TRUE when the byte ranges [a, a + na) and [b, b + nb) share a byte (NULL or empty
 * ranges share none). Outputs that overlap a caller's buffer are refused, so that
 * writing one can never corrupt another. */
BOOL  rm_overlaps(const void *a, SIZE_T na, const void *b, SIZE_T nb);
/* Grows *items (element size elem) so that it can hold need elements. */
DWORD rm_grow(void **items, SIZE_T *cap, SIZE_T need, SIZE_T elem);

/* Strings that live and die together: the paths of one set of files. They are
 * cut from chunks of 64 KiB (a longer string gets a chunk of its own) and freed
 * all at once with the set, never one by one: one heap block per path made
 * Wine's heap the part of a registration whose cost grew with the session
 * (bench_register; util.c). A zeroed struct is an empty arena. */
struct rm_chunk;
struct rm_strings { struct rm_chunk *head; };
/* A piece of chars (>= 1) WCHARs, WCHAR-aligned, valid until the arena is freed;
 * NULL when out of memory, for 0 characters, and for a NULL arena (a caller that
 * stores no strings). */
WCHAR *rm_strings_alloc(struct rm_strings *s, SIZE_T chars);
/* Moves every piece of from into to (from is left empty); pieces stay where they are. */
void   rm_strings_take(struct rm_strings *to, struct rm_strings *from);
void   rm_strings_free(struct rm_strings *s);

/* Length of s, scanning at most max characters; returns max+1 when no NUL was
 * found within max characters (so "too long" is one comparison for callers). */
SIZE_T rm_wcsnlen(const WCHAR *s, SIZE_T max);
WCHAR *rm_wcsdup_n(const WCHAR *s, SIZE_T len);   /* copies len chars + NUL */
int    rm_wcsicmp(const WCHAR *a, const WCHAR *b); /* ordinal, case-insensitive */
void   rm_wcsupper(WCHAR *s, SIZE_T len);          /* in place, ordinal upcase */
/* The upcase of an ASCII character (c < 0x80), done inline by the upcasing
 * functions (rm_wcsupper, listing.c's rm_name_upcase) before any table. */
static inline WCHAR rm_ascii_upper(WCHAR c)
{
    return (c >= L'a' && c <= L'z') ? (WCHAR)(c - (L'a' - L'A')) : c;
}
/* Writes the decimal/hex form of v into buf (NUL-terminated); returns chars. */
int    rm_fmt_dec4(WCHAR *buf, DWORD v);           /* at least 4 digits */
int    rm_fmt_hex8(WCHAR *buf, DWORD v);           /* exactly 8 lowercase digits */
BOOL   rm_parse_hex8(const WCHAR *s, DWORD *v);    /* exactly 8 hex digits */

/* A 64-bit multiply-xorshift hash over bytes, for the in-memory hash sets. */
uint64_t rm_hash_bytes(const void *data, SIZE_T len, uint64_t seed);
/* The hash of a file's comparison key (its upcased path, len characters). */
static inline uint64_t rm_file_key_hash(const WCHAR *key, SIZE_T len)
{
    return rm_hash_bytes(key, len * sizeof(WCHAR), 2);
}


/* ======================================================================== */
/*  Replaceable system calls (sys.c)                                          */
/* ======================================================================== */

/* Every registry and random-number call of the store goes through this table so
 * that tests can inject failures (a registry write that fails must give
 * ERROR_WRITE_FAULT with nothing half-written), and so does the directory listing
 * of listing.c (a directory that cannot be listed). */
struct rm_syscalls
{
    LSTATUS (WINAPI *RegCreateKeyExW)(HKEY, LPCWSTR, DWORD, LPWSTR, DWORD, REGSAM,
                                      LPSECURITY_ATTRIBUTES, PHKEY, LPDWORD);
    LSTATUS (WINAPI *RegOpenKeyExW)(HKEY, LPCWSTR, DWORD, REGSAM, PHKEY);
    LSTATUS (WINAPI *RegQueryValueExW)(HKEY, LPCWSTR, LPDWORD, LPDWORD, LPBYTE, LPDWORD);
    LSTATUS (WINAPI *RegSetValueExW)(HKEY, LPCWSTR, DWORD, DWORD, const BYTE *, DWORD);
    LSTATUS (WINAPI *RegDeleteValueW)(HKEY, LPCWSTR);
    LSTATUS (WINAPI *RegDeleteTreeW)(HKEY, LPCWSTR);
    LSTATUS (WINAPI *RegDeleteKeyW)(HKEY, LPCWSTR);
    LSTATUS (WINAPI *RegCloseKey)(HKEY);
    DWORD   (WINAPI *GenRandom)(BYTE *buf, DWORD len);   /* Win32 error code */
    HANDLE  (WINAPI *RegisterEventSourceW)(LPCWSTR, LPCWSTR);
    BOOL    (WINAPI *ReportEventW)(HANDLE, WORD, WORD, DWORD, PSID, WORD, DWORD, LPCWSTR *, LPVOID);
    SC_HANDLE (WINAPI *OpenServiceW)(SC_HANDLE, LPCWSTR, DWORD);
    /* Files (resources.c, fileusers.c, handles.c), so that tests can play what Wine lacks: the
     * kernel's list of a file's users (FileProcessIdsUsingFileInformation), with
     * Windows' path-length rule for the file it is asked about, and two volumes
     * whose files share an index. All return Win32 error codes. */
    HANDLE  (WINAPI *CreateFileW)(LPCWSTR, DWORD, DWORD, LPSECURITY_ATTRIBUTES, DWORD, DWORD, HANDLE);
    DWORD   (WINAPI *FileIndex)(HANDLE h, ULONGLONG *index);     /* FileInternalInformation */
    DWORD   (WINAPI *FileVolume)(HANDLE h, DWORD *serial);       /* FileFsVolumeInformation */
    /* FileProcessIdsUsingFileInformation into buf (RM_FILE_PROCESS_IDS, ntapi.h):
     * ERROR_MORE_DATA when cb is too small, ERROR_CALL_NOT_IMPLEMENTED when the
     * system does not implement the class at all, else the refusal's Win32 code. */
    DWORD   (WINAPI *FileProcessIds)(HANDLE h, void *buf, ULONG cb);
    /* Directory listings (listing.c): a directory that cannot be listed. */
    BOOL    (WINAPI *GetFileInformationByHandleEx)(HANDLE, FILE_INFO_BY_HANDLE_CLASS, LPVOID, DWORD);
    /* RegCreateKeyExW of the event source's key (HKLM), apart so that a test can
     * refuse it alone (fault "EventSourceKey") without moving the store's counts. */
    LSTATUS (WINAPI *EventSourceKey)(HKEY, LPCWSTR, DWORD, LPWSTR, DWORD, REGSAM,
                                     LPSECURITY_ATTRIBUTES, PHKEY, LPDWORD);
};
extern struct rm_syscalls rm_sys;
/* SHA-256 of data, through the system's CNG provider (bcrypt, as the random
 * session keys). ERROR_SUCCESS or the provider's failure as a Win32 error. */
DWORD rm_sha256(const void *data, SIZE_T len, BYTE out[RM_HASH_BYTES]);
#ifndef RM_TEST_HOOKS
#define RM_TEST_HOOKS 0              /* CMake option: fault injection compiled in */
#endif
/* Reads RSTRTMGR_FAULT once (test builds of installers can set it) and arms the
 * matching faults. Called lazily before the table is used; never from DllMain. */
void rm_sys_init(void);
/* Fault injection for the handle scan: TRUE when this query of a handle of process
 * pid is to hang. */
BOOL rm_sys_handle_query_stalls(DWORD pid);
/* The same for the walk of mapped views (mapwalk.c): TRUE when this query of
 * process pid's address space is to hang. */
BOOL rm_sys_walk_query_stalls(DWORD pid);
/* The handle table's answer to "who holds this file" (rm_handles_holders), which
 * the played fast path of tests (fault "FastPath") reports as the kernel's. Set by
 * fileusers.c before its first query: a pointer, so that sys.c, below every
 * module, never calls up into one. */
extern DWORD (*rm_sys_holders)(HANDLE h, ULONG_PTR *pids, ULONG cap, ULONG *count);

/* ======================================================================== */
/*  Tracing (trace.c)                                                        */
/* ======================================================================== */

/* Opt-in: RSTRTMGR_TRACE=1 (or "stderr") writes to stderr, any other value is a
 * file path to append to; a level first (error, warning, flow: "error:C:\x.log")
 * writes only that much (trace.c). Silent and cheap when unset. */
enum { RM_TRACE_ERROR = 1, RM_TRACE_WARNING, RM_TRACE_FLOW };
/* TRUE when flow tracing is on (every call). */
BOOL  rm_trace_enabled(void);
/* DLL unload (FreeLibrary, never at process exit): each module gives back its
 * process-wide handles and memory. Kernel handle closes and heap frees only: they
 * run under the loader lock (dllmain.c). */
void  rm_trace_unload(void);
void  rm_store_unload(void);
void  rm_sessions_unload(void);
void  rm_console_unload(void);
void  rm_trace(const char *fmt, ...);   /* flow: wvsprintfA format, one line */
void  rm_warn(const char *fmt, ...);    /* something went wrong; the call goes on */
/* A failure where it happens: traces file:line, the system call, its object
 * (may be NULL), the system's error and the code the caller gets; returns code:
 *     return rm_fail(ERROR_WRITE_FAULT, st, "RegSetValueExW", name); */
#define rm_fail(code, syserr, api, object) rm_fail_at(__FILE__, __LINE__, (code), (syserr), (api), (object))
DWORD rm_fail_at(const char *file, int line, DWORD code, DWORD syserr, const char *api, const WCHAR *object);
/* Logs "name(...) -> code (ERROR_NAME)" and returns code, for `return rm_trace_ret()`. */
DWORD rm_trace_ret(const char *func, DWORD code);
const char *rm_error_name(DWORD code);

/* ======================================================================== */
/*  Worker threads (thread.c)                                               */
/* ======================================================================== */

/* CreateThread with a reference on this DLL, for workers that may outlive the
 * call; such a worker ends with rm_thread_exit() (never returns). */
HANDLE rm_thread_start(LPTHREAD_START_ROUTINE fn, void *arg);
DECLSPEC_NORETURN void rm_thread_exit(void);
/* This DLL's module handle (its message table, its path; thread.c). */
HMODULE rm_self_module(void);

/* ======================================================================== */
/*  Event log (eventlog.c)                                                   */
/* ======================================================================== */

/* The events, their IDs and insertion-string counts: events.h (their text:
 * rstrtmgr.mc, the DLL's message table). */
#include "events.h"

/* rm_event(RM_EVT_xxx, EVENTLOG_xxx_TYPE, string, ...): writes one event with
 * these insertion strings (%1, %2, ... of its message); the number of strings
 * must be the one events.h gives the ID (checked at compile time). Never fails
 * the caller. */
#define rm_event(sym, type, ...) \
    do \
    { \
        const WCHAR *rm_event_strings_[] = { __VA_ARGS__ }; \
        _Static_assert(ARRAYSIZE(rm_event_strings_) == sym##_STRINGS, \
                       #sym ": not the number of insertion strings of its message (events.h)"); \
        rm_event_report((sym), (type), (WORD)ARRAYSIZE(rm_event_strings_), rm_event_strings_); \
    } while (0)
void rm_event_report(DWORD id, WORD type, WORD count, const WCHAR *const *strings);
/* Formats a UTC FILETIME as "YYYY-MM-DDTHH:MM:SS.mmmZ" (buf: 32 chars). */
void rm_event_time(const FILETIME *ft, WCHAR buf[32]);

/* ======================================================================== */
/*  Identity of this process and user (self.c)                                */
/* ======================================================================== */

struct rm_self
{
    RM_UNIQUE_PROCESS process;       /* our PID and creation time */
    WCHAR sid[192];                  /* our user's SID, string form */
    BYTE  sid_bin[SECURITY_MAX_SID_SIZE]; /* the same, binary */
    BOOL  elevated;                  /* our token is elevated */
    DWORD ts_session;                /* our terminal-services session */
};
/* Filled once, lazily; returns the Win32 error of the first failure. */
DWORD rm_self_get(const struct rm_self **self);
/* Why this caller may not shut down or restart the process (spec 6, 5.7): another
 * user's (the SID differs), or elevated while the caller is not; NULL when it may.
 * One rule for classification (RmCritical, PermissionDenied) and for RmRestart. */
const WCHAR *rm_token_obstacle(HANDLE process);

/* TRUE when a process with this PID and exactly this creation time is running. */
BOOL rm_process_alive(const RM_UNIQUE_PROCESS *p);
/* Creation time of an open process, as GetProcessTimes reports it. */
BOOL rm_process_start_time(HANDLE process, FILETIME *start);

/* ======================================================================== */
/*  Registered resources (resources.c, identify.c, dirlist.c)                */
/* ======================================================================== */

struct rm_file_id
{
    DWORD volume;                    /* volume serial number */
    DWORD index_high, index_low;     /* file index on that volume */
};

struct rm_file
{
    WCHAR *path;                     /* canonical full path, as stored */
    WCHAR *key;                      /* path upcased: the comparison form (same piece) */
    SIZE_T path_len;                 /* characters, without the NUL */
    uint64_t key_hash;               /* rm_file_key_hash of key, computed once */
    BOOL   has_id;                   /* the file existed when it was resolved */
    BOOL   is_dir;                   /* the path named a directory */
    BOOL   absent;                   /* known not to exist when resolved (not found,
                                        or its directory is gone); FALSE when it
                                        exists, even without an identity */
    struct rm_file_id id;            /* valid when has_id */
    uint32_t dir;                    /* parent in rm_resources.dirs + 1; 0 = not yet */
};

/* Whether a registered file can be loaded or mapped by a process, so that module
 * and mapped-view discovery look for it: not a directory, not known to be absent
 * (spec 5.4, UNCERTAIN: a path with no file behind it is used by nobody). */
static inline BOOL rm_file_loadable(const struct rm_file *f)
{
    return !f->is_dir && !f->absent;
}

/* A directory that holds registered files. Which file a path names can only change
 * when the entries of its directory change (create, delete, rename), and that
 * changes the directory's last-write time: RmGetList re-identifies the files of a
 * directory only when its stamp moved (resources.c, rm_resources_refresh). */
struct rm_dir
{
    WCHAR *path;                     /* with the trailing backslash */
    WCHAR *key;                      /* upcased */
    SIZE_T len;
    FILETIME stamp_write, stamp_create;
    BOOL exists;
    BOOL trusted;                    /* stamp valid and old enough to rely on */
    BOOL changed;                    /* scratch for one refresh */
};

struct rm_hash_slot                  /* 8 bytes: a set of 100,000 files has two tables of 256 Ki slots */
{
    uint32_t hash;                   /* the item's hash, its low 32 bits (where it is put, and a filter) */
    uint32_t item;                   /* item index + 1; 0 = empty */
};

struct rm_hash_index                 /* open addressing, grows at half load */
{
    struct rm_hash_slot *slots;
    SIZE_T mask;                     /* capacity - 1 (a power of 2), 0 = none yet */
    SIZE_T count;
};

/* A set of registered resources: what one session holds as this process last read
 * it from the store, or a batch a caller is registering. Never holds duplicates. */
struct rm_resources
{
    struct rm_file    *files;        SIZE_T nfiles, cap_files;
    RM_UNIQUE_PROCESS *procs;        SIZE_T nprocs, cap_procs;
    WCHAR            **svcs;         SIZE_T nsvcs,  cap_svcs;
    struct rm_dir     *dirs;         SIZE_T ndirs,  cap_dirs;
    struct rm_hash_index file_by_id, file_by_key, proc_index, svc_index, dir_index;
    struct rm_strings strings;       /* where its files' paths live */
    DWORD sequence;                  /* store commits included (see store.c) */
};

void  rm_resources_free(struct rm_resources *r);
/* Validates and canonicalises the caller's arrays into a duplicate-free batch.
 * ERROR_BAD_ARGUMENTS for a NULL string, an empty one or one longer than the
 * system allows; nothing is kept on failure. Opens no store. */
DWORD rm_batch_build(struct rm_resources *batch, UINT nfiles, LPCWSTR *files, UINT nprocs,
                     const RM_UNIQUE_PROCESS *procs, UINT nsvcs, LPCWSTR *svcs);
/* Removes from batch what r already holds. */
void  rm_batch_subtract(struct rm_resources *batch, const struct rm_resources *r);
/* Moves every entry of from into to (which must not hold them yet); from is
 * left empty. A file's path is copied into to's strings (into an empty to the
 * whole set moves, strings and all). On failure to is unchanged for the entries
 * not moved. */
DWORD rm_resources_merge(struct rm_resources *to, struct rm_resources *from);
/* Adds one entry unless an equal one is present (*added tells). A file's path is
 * copied into r's strings; f is cleared either way. Ownership of a service name
 * passes to r either way. */
DWORD rm_resources_add_file(struct rm_resources *r, struct rm_file *f, BOOL *added);
DWORD rm_resources_add_proc(struct rm_resources *r, const RM_UNIQUE_PROCESS *p, BOOL *added);
DWORD rm_resources_add_svc(struct rm_resources *r, WCHAR *name, BOOL *added);
/* Builds an rm_file for a path: full path, identity if the file exists, canonical
 * spelling (cut from strings, which the caller frees). Takes a NUL-terminated path
 * of len characters. */
DWORD rm_file_from_path(const WCHAR *path, SIZE_T len, struct rm_file *f, struct rm_strings *strings);
/* The same for n paths at once (NUL-terminated, each checked by the caller to be
 * non-empty and at most RM_MAX_PATH_CHARS long), into out[0..n): the paths are
 * grouped by directory and each directory is listed once (dirlist.c says when a
 * file is opened instead). id_only: has_id, is_dir, absent and id only, no strings (for
 * re-identifying stored canonical paths; strings may then be NULL). The paths
 * found are cut from strings, whose owner frees them (after a failure too). ERROR_BAD_ARGUMENTS for a path
 * GetFullPathNameW rejects, ERROR_OUTOFMEMORY; on failure out holds nothing. */
DWORD rm_files_identify(const WCHAR *const *paths, SIZE_T n, struct rm_file *out, BOOL id_only,
                        struct rm_strings *strings);
/* TRUE when a directory's last-write time is two seconds or more before now: old
 * enough that a change of its entries would have moved it (two changes within one
 * tick of the file system's clock look like one). The rule behind RmGetList's
 * re-identification (resources.c) and the listings kept between calls (listing.c). */
BOOL  rm_stamp_settled(const FILETIME *write, const FILETIME *now);
/* Frees the directory listings kept between calls (listing.c; DLL unload). */
void  rm_listings_unload(void);
/* Empties f; its path stays in the arena it was cut from, freed with it. */
void  rm_file_clear(struct rm_file *f);
/* Stored paths are kept without the \\?\ prefix; a long one needs it back for
 * the file system calls of a process that is not long-path aware. Returns path
 * itself, or a prefixed copy in *copy (caller frees), or NULL when out of memory. */
const WCHAR *rm_system_form(const WCHAR *path, WCHAR **copy);
/* Fills has_id, is_dir, absent and id of f by opening path (has_id FALSE when it
 * cannot be opened or identified); the rest of f is left alone. */
void  rm_file_identify_open(const WCHAR *path, struct rm_file *f);
/* The identity (volume serial number and file index) of whatever path names now;
 * FALSE when it cannot be opened. */
BOOL  rm_path_identity(const WCHAR *path, struct rm_file_id *id);
/* For dirlist.c, which opens through identify.c what a listing cannot answer:
 * drops the Win32 namespace prefix (\\?\C:\x -> C:\x, \\?\UNC\s\x -> \\s\x, *len
 * updated, *unc set for the second) ... */
const WCHAR *rm_path_skip_prefix(const WCHAR *p, SIZE_T *len, BOOL *unc);
/* TRUE when p (NUL-terminated) is a full path GetFullPathNameW would return as it
 * is, by rules stricter than the system's (identify.c); *len is then its length.
 * FALSE says nothing: the caller asks GetFullPathNameW. */
BOOL  rm_path_is_plain_full(const WCHAR *p, SIZE_T *len);
/* ... stores a path (prefix dropped) and its comparison key in f ... */
DWORD rm_file_set_path(struct rm_file *f, const WCHAR *p, SIZE_T len, struct rm_strings *strings);
/* ... copies them into another arena (the set that takes f over) ... */
DWORD rm_file_move_path(struct rm_file *f, struct rm_strings *strings);
/* ... describes a full path that cannot be opened (no identity; for a 32-bit
 * caller under System32, the redirected path; absent is the caller's) ... */
DWORD rm_file_not_opened(const WCHAR *full, struct rm_file *f, struct rm_strings *strings);
/* ... and identifies a full path by opening it (id_only: has_id, is_dir, absent
 * and id). */
DWORD rm_file_by_opening(const WCHAR *full, struct rm_file *f, BOOL id_only, struct rm_strings *strings);
/* Resolves registered files that did not exist before and may now. */
DWORD rm_resources_refresh(struct rm_resources *r);
/* TRUE when r holds a file with this identity. */
BOOL  rm_resources_has_id(const struct rm_resources *r, const struct rm_file_id *id);
/* TRUE when r holds a file whose comparison key (upcased path) is key and that
 * can be loaded or mapped: not a directory, not known to be absent. */
BOOL  rm_resources_has_loadable_key(const struct rm_resources *r, const WCHAR *key, SIZE_T len);

/* Process IDs one thread posts for others to read without a lock while it works:
 * a fixed table filled with interlocked compare-exchange, never emptied. A PID
 * that finds no room is simply not posted, so a reader may only use it to skip
 * work, never to conclude anything. */
#define RM_PID_BOARD_SLOTS 1024
struct rm_pid_board
{
    volatile LONG slots[RM_PID_BOARD_SLOTS];   /* 0 = free */
};
void rm_pid_board_post(struct rm_pid_board *b, DWORD pid);
BOOL rm_pid_board_has(const struct rm_pid_board *b, DWORD pid);

/* A small set of process IDs; with a board, every PID added is also posted there. */
struct rm_pid_set
{
    DWORD *pids;
    SIZE_T count, cap;
    struct rm_pid_board *board;
};
BOOL  rm_pid_set_has(const struct rm_pid_set *s, DWORD pid);
DWORD rm_pid_set_add(struct rm_pid_set *s, DWORD pid);
void  rm_pid_set_free(struct rm_pid_set *s);

/* The registered files' identities a search for their users looks for (idset.c),
 * each with where it is looked for: in other processes' handles (a file the
 * kernel did not answer for), in ours (also a file whose kernel answer named us).
 * Keyed by the file index alone; two files on different volumes may share one. */
enum { RM_SCOPE_OTHERS = 1, RM_SCOPE_SELF = 2 };
struct rm_wanted_id
{
    ULONGLONG index;
    DWORD volume;
    DWORD scope;                     /* 0 = empty slot */
};
struct rm_idset
{
    struct rm_wanted_id *slots;
    SIZE_T mask;
};
/* Makes room for n identities (rm_idset_add never grows the set). */
DWORD rm_idset_init(struct rm_idset *s, SIZE_T n);
void  rm_idset_add(struct rm_idset *s, const struct rm_file_id *id, DWORD scope);
/* The scopes of the identities with this index (and this volume, if given). */
DWORD rm_idset_scope(const struct rm_idset *s, ULONGLONG index, const DWORD *volume);
void  rm_idset_free(struct rm_idset *s);

/* fileusers.c: adds to found every process with an open handle to a registered
 * file (the kernel's answer where it gives one, else the handle table), and this
 * process when it has one mapped. Stops with ERROR_CANCELLED when *cancel is set
 * (cancel_event, if not NULL, is set at the same time and ends a wait at once).
 * ERROR_SEM_TIMEOUT when so many handles do not answer that the scan gives up
 * (the answer would be incomplete). */
DWORD rm_file_users(const struct rm_resources *r, struct rm_pid_set *found, volatile LONG *cancel,
                    HANDLE cancel_event);
/* handles.c: scans the handle table for the files in wanted: other processes'
 * handles if others, ours if self; processes already in found are skipped. Adds
 * the users to found. Errors as rm_file_users. */
DWORD rm_handle_scan(const struct rm_idset *wanted, BOOL others, BOOL self, struct rm_pid_set *found,
                     volatile LONG *cancel, HANDLE cancel_event);
/* Every process with a handle to the file h is open on, this one included, from
 * the handle table (what the played fast path of tests reports). Writes up to cap
 * PIDs; *count is the number of processes (more than cap: the caller's buffer is
 * too small). */
DWORD rm_handles_holders(HANDLE h, ULONG_PTR *pids, ULONG cap, ULONG *count);
/* The identity of an open file (rm_sys: file index, then the volume's serial). */
BOOL  rm_handle_identity(HANDLE h, struct rm_file_id *id);

/* ======================================================================== */
/*  The per-user session store (store.c)                                     */
/* ======================================================================== */

struct rm_store_session
{
    DWORD slot;                      /* NNNN of SessionNNNN, also the handle */
    BYTE  key_hash[RM_HASH_BYTES];   /* SHA-256 of the binary key */
    HKEY  key;                       /* SessionNNNN, open from create/find to release */
};

/* Creates a session owned by this process: claims the lowest free slot (taking over
 * slots whose owner is gone), writes a fresh random key to key_text (33 WCHARs). */
DWORD rm_store_create(struct rm_store_session *s, WCHAR key_text[RM_KEY_CHARS + 1]);
/* Finds the live session whose key hashes to key_hash. */
DWORD rm_store_find(const BYTE key_hash[RM_HASH_BYTES], struct rm_store_session *s);
/* Closes the slot key create or find opened (the session object goes). */
void rm_store_release(struct rm_store_session *s);
/* Deletes the session and everything registered in it. */
DWORD rm_store_delete(const struct rm_store_session *s);
/* Checks that the session still exists (same key); ERROR_INVALID_HANDLE if not. */
DWORD rm_store_check(const struct rm_store_session *s);
/* Brings r up to date with the store (reads only commits r has not seen). */
DWORD rm_store_sync(const struct rm_store_session *s, struct rm_resources *r);
/* Adds a batch as one all-or-nothing commit, skipping what is already registered;
 * r is synced and then updated with what was added. */
DWORD rm_store_register(const struct rm_store_session *s, struct rm_resources *r,
                        struct rm_resources *batch);

/* Text key <-> bytes. Parsing accepts exactly 32 hex digits (either case) and a NUL,
 * reading no further than 33 characters. */
void rm_key_format(const BYTE key[RM_KEY_BYTES], WCHAR text[RM_KEY_CHARS + 1]);
BOOL rm_key_parse(const WCHAR *text, BYTE key[RM_KEY_BYTES]);

/* ======================================================================== */
/*  Filters (filters.c)                                                      */
/* ======================================================================== */

struct rm_filter
{
    RM_FILTER_TRIGGER trigger;
    RM_FILTER_ACTION  action;
    WCHAR            *name;          /* module path or service name, as given */
    WCHAR            *key;           /* comparison form: upcased (and full path) */
    RM_UNIQUE_PROCESS process;       /* for RmFilterTriggerProcess */
};

struct rm_filters
{
    struct rm_filter *items;
    SIZE_T count, cap;
};

/* Validates "exactly one target" and builds the comparison key. */
DWORD rm_filter_target(struct rm_filter *f, LPCWSTR module, const RM_UNIQUE_PROCESS *proc,
                       LPCWSTR service);
DWORD rm_filters_add(struct rm_filters *fl, struct rm_filter *f);      /* takes f */
DWORD rm_filters_remove(struct rm_filters *fl, const struct rm_filter *target);
DWORD rm_filters_write(const struct rm_filters *fl, BYTE *buf, DWORD cb, DWORD *needed);
void  rm_filters_free(struct rm_filters *fl);
/* The action of the filter that names this application (by process, service
 * short name or executable path), or RmInvalidFilterAction when none does. */
RM_FILTER_ACTION rm_filters_match(const struct rm_filters *fl, const RM_PROCESS_INFO *info,
                                  const WCHAR *image);
void  rm_filter_clear(struct rm_filter *f);

/* ---- affected applications (discover.c, shutdown.c) ---- */

struct rm_app                        /* one entry RmGetList reports */
{
    RM_PROCESS_INFO info;
    WCHAR image[MAX_PATH];           /* executable (for services, the host's) */
    WCHAR *cmdline, *cwd;            /* restart command, captured before shutdown */
    const WCHAR *no_restart;         /* why this caller may not restart it, or NULL */
    int group;                       /* shutdown group (shutdown.c) */
};

struct rm_app_list
{
    struct rm_app *items;
    SIZE_T count, cap;
    DWORD reboot_reasons;            /* RM_REBOOT_REASON bits */
};

/* The list and the session history (applist.c). */
void  rm_app_list_free(struct rm_app_list *l);
/* One application: the same process (PID and start time) and hosted service. */
BOOL  rm_app_same(const RM_PROCESS_INFO *a, const RM_PROCESS_INFO *b);
/* ORs the recorded history into a fresh list and appends what is no longer
 * running, so RmGetList after RmShutdown reports what was done. */
DWORD rm_history_merge(const struct rm_app_list *history, struct rm_app_list *list);
/* Records what one call did in the history (entries it touched; an entry it
 * acted on brings its group and restart command, moved out of list). */
DWORD rm_history_record(struct rm_app_list *history, struct rm_app_list *list);

/* ======================================================================== */
/*  Sessions as this process holds them (session.c)                           */
/* ======================================================================== */

enum rm_role { RM_ROLE_PRIMARY = 1, RM_ROLE_SECONDARY = 2 };

struct rm_session
{
    DWORD handle;                    /* what the caller holds */
    enum rm_role role;               /* primary (started it) or secondary (joined) */
    struct rm_store_session store;   /* where it lives in the per-user store */
    LONG refs;                       /* table reference + calls in flight */
    SRWLOCK lock;                    /* guards everything below */
    struct rm_resources res;         /* registered resources, synced by sequence */
    struct rm_filters filters;       /* primary only */
    volatile LONG cancel;            /* RmCancelCurrentTask request */
    volatile LONG busy;              /* an operation that can be cancelled runs */
    volatile LONG short_waiters;     /* short calls waiting for lock (rm_session_lock) */
    volatile DWORD lock_owner;       /* thread holding lock, 0 if none */
    HANDLE cancel_event;             /* the running operation's; a new one each time */
    SRWLOCK cancel_lock;             /* orders begin/end/cancel (zeroed = initialised) */
    LONG entering;                   /* cancellable calls waiting to begin */
    BOOL cancel_early;               /* a cancel came while one was waiting */
    FILETIME opened;                 /* UTC time this process opened the handle */
    BOOL shutdown_done;              /* RmShutdown ran: RmRestart is in sequence */
    struct rm_app_list history;      /* what RmShutdown acted on, with status */
    DWORD reboot_reasons;            /* as last found, for event 10005 (spec U10) */
};

/* Adds a session object for a new handle of this process. */
DWORD rm_session_open(const struct rm_store_session *st, enum rm_role role,
                      DWORD *handle);
/* Looks up a handle and takes a reference; ERROR_INVALID_HANDLE if unknown. */
DWORD rm_session_get(DWORD handle, struct rm_session **s);
/* The session's lock, for short calls (registration, filters, end) and for long
 * ones (RmGetList, RmShutdown, RmRestart). SRW locks are not fair: a thread
 * calling RmGetList back to back could keep the others out for ever, so a long
 * call first lets the short calls already waiting go ahead (for a bounded time). */
DWORD rm_session_lock(struct rm_session *s);
/* A long call (RmGetList, RmShutdown, RmRestart): announces itself (so that a
 * RmCancelCurrentTask arriving while it waits for the lock applies to it), takes
 * the lock after the short calls already waiting, and arms cancellation for this
 * call (a fresh cancel event: workers of an earlier, cancelled call keep seeing
 * theirs set). rm_session_end_long disarms and unlocks. */
DWORD rm_session_begin_long(struct rm_session *s);
void  rm_session_end_long(struct rm_session *s);
/* RmCancelCurrentTask: cancels the long call running (or about to begin); with
 * none, nothing (spec U17). Not under the lock, which the call to cancel holds. */
void  rm_cancel_request(struct rm_session *s);
/* Both lock functions return ERROR_SEM_TIMEOUT instead of deadlocking when the calling thread
 * already holds the lock: a progress callback that calls back into the DLL on
 * the session its RmShutdown/RmRestart is running on. */
void  rm_session_unlock(struct rm_session *s);
void  rm_session_put(struct rm_session *s);
/* Removes the handle from the table (the object lives until the last put).
 * FALSE if another thread removed it first. */
BOOL  rm_session_close(struct rm_session *s);

/* ======================================================================== */
/*  Services (services.c)                                                    */
/* ======================================================================== */

struct rm_services                   /* running Win32 services, one snapshot */
{
    SC_HANDLE scm;
    BYTE *buffer;
    ENUM_SERVICE_STATUS_PROCESSW *items;
    SIZE_T count;
    WCHAR **deps;                    /* what items[i] depends on; read once, on first need */
};
DWORD rm_services_snapshot(struct rm_services *s);
/* The services name depends on, as a double-NUL list (caller frees), or NULL. */
WCHAR *rm_service_dependencies(SC_HANDLE scm, const WCHAR *name);
/* TRUE when the double-NUL list holds name (case-insensitive). */
BOOL  rm_multi_sz_has(const WCHAR *list, const WCHAR *name);
void  rm_services_free(struct rm_services *s);
const ENUM_SERVICE_STATUS_PROCESSW *rm_services_find(const struct rm_services *s, const WCHAR *name);
/* Running services that depend on name, directly or not (names point into s). */
DWORD rm_services_dependents(struct rm_services *s, const WCHAR *name, const WCHAR ***out,
                             SIZE_T *count);
BOOL  rm_service_is_critical(const WCHAR *name);
/* FALSE when the caller may not stop and start the service (the SCM refuses
 * SERVICE_STOP | SERVICE_START): RM cannot shut it down, so it is reported as
 * RmCritical with PermissionDenied (spec 6, 7). */
BOOL  rm_service_may_control(const struct rm_services *s, const WCHAR *name);

/* ======================================================================== */
/*  Facts about a process (procinfo.c)                                       */
/* ======================================================================== */

struct rm_window_map                 /* which processes own top-level windows */
{
    struct { DWORD pid; BOOL visible; } *items;
    SIZE_T count, cap;
};
DWORD rm_window_map_build(struct rm_window_map *m);
void  rm_window_map_free(struct rm_window_map *m);

/* Fills info (Process, strAppName, ApplicationType, TSSessionId, bRestartable,
 * AppStatus Running) for an application process and ORs its reboot reasons.
 * ERROR_NOT_FOUND when the process is gone. image receives its full path. */
DWORD rm_proc_describe(DWORD pid, const struct rm_window_map *windows, RM_PROCESS_INFO *info,
                       DWORD *reasons, WCHAR *image, DWORD image_cch);
/* The command line and current directory a process was started with (read from
 * its process parameters); ERROR_NOT_FOUND when out of reach. */
DWORD rm_proc_capture_command(DWORD pid, WCHAR **cmdline, WCHAR **cwd);
/* The command to restart an application with: its registered restart command
 * (Windows), or under the fallback policy its original command line and
 * directory (*cwd may be NULL). */
DWORD rm_proc_restart_command(DWORD pid, const WCHAR *image, WCHAR **cmdline, WCHAR **cwd);
/* Start time of a live process by PID (for services). */
BOOL  rm_proc_identity(DWORD pid, RM_UNIQUE_PROCESS *id);
/* Copies s into a fixed WCHAR array, truncating, always NUL-terminated. */
void  rm_copy_name(WCHAR *dst, SIZE_T cch, const WCHAR *src);

/* ======================================================================== */
/*  Discovery (discover.c) and operations (shutdown.c)                       */
/* ======================================================================== */

/* Finds everything that uses the session's registered resources, now. The caller
 * holds s->lock exclusively (the registered set is synced first). */
DWORD rm_discover(struct rm_session *s, struct rm_app_list *out);
/* RmGetList after argument checks: capacity is the caller's *pnProcInfo, read once.
 * Fills apps only when everything fits; *needed, *count and *reasons are the
 * values to hand back on ERROR_SUCCESS and ERROR_MORE_DATA. */
DWORD rm_get_list(struct rm_session *s, UINT capacity, RM_PROCESS_INFO *apps, UINT *needed,
                  UINT *count, DWORD *reasons);
DWORD rm_shutdown(struct rm_session *s, ULONG flags, RM_WRITE_STATUS_CALLBACK cb);
DWORD rm_restart(struct rm_session *s, RM_WRITE_STATUS_CALLBACK cb);
/* Logs event 10005 when the reboot reasons become non-zero (spec U10), in
 * RmGetList or RmShutdown; s->lock held. */
void  rm_note_reboot(struct rm_session *s, const struct rm_app_list *list);

#endif /* RSTRTMGR_INTERNAL_H */
