/*
 * store.c - the per-user, cross-process session store.
 *
 * Layout: the one Windows uses (spec section 9; src/shared/storelayout.h), all
 * under a volatile key so that nothing survives logoff or reboot.
 *
 * Slots run from 0 to 63: the 64-session limit is the number of slots, so no count
 * can drift. A slot whose Owner process is gone (or that has no valid Owner) is
 * abandoned and is taken over by the next RmStartSession.
 *
 * Registration is all or nothing. Each kind a call registers is one group value
 * under a number of its own: numbers run on from the session's last commit, one
 * per group (files, then processes, then services), and the groups are written
 * highest number first. A reader reads numbers upwards until one has no group,
 * so a call's groups become visible together, with the write of its lowest
 * number: a registration of one kind commits with a single registry write. A
 * writer that dies half way leaves groups past a number without any, which
 * nobody reads and the next writer that reads the registry deletes (the board,
 * below, tells it when to). Sequence is a lower bound: every number below it
 * holds a commit (a gap below it means damage), and the writers that read the
 * registry move it up to the end; those that trust the board leave it behind.
 * Since groups are never rewritten once committed, a process brings its copy up
 * to date by reading only the commits it has not seen.
 *
 * Cost: every key is opened or created by its full path from HKCU in one request
 * (no separately opened root), the session's key stays open for the session's
 * life, and RmEndSession checks and deletes the slot through it (NtDeleteKey), so
 * a start is 4 wineserver requests (create, three values) and an end 2 (read
 * hash, delete), with the close of the key when the session object goes.
 *
 * A registration of one kind is 1 request (its group) where it was 8: the
 * commit board below spares the SessionHash and Sequence reads, the look for the
 * end and the clearing of what a dead writer left, whenever nothing can have
 * changed, and the store lock in it costs no request unless contended.
 *
 * Writers are serialised by a per-user lock in the commit board, not a kernel
 * mutex (src/shared/storelock.h says why, and how it does what the mutex did);
 * ERROR_SEM_TIMEOUT when it cannot be had within RM_STORE_LOCK_TIMEOUT. Registry
 * failures are reported as ERROR_WRITE_FAULT, the documented code for "could not
 * read or write the registry"; a value of the wrong type or shape counts as such
 * a failure.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"
#include "ntapi.h"
#include "shared/storelayout.h"
#include "shared/storelock.h"

static const WCHAR root_path[] = RM_STORE_PATH;
static const WCHAR owner_value[] = RM_STORE_OWNER;
static const WCHAR hash_value[] = RM_STORE_HASH;
static const WCHAR sequence_value[] = RM_STORE_SEQUENCE;

enum group_kind { GROUP_FILES, GROUP_PROCS, GROUP_SVCS };
static const WCHAR *const group_prefix[] = { RM_STORE_FILES, RM_STORE_PROCS, RM_STORE_SVCS };

#define PROC_TEXT_CHARS 26           /* "pppppppp:hhhhhhhh:llllllll" */
#define MAX_GROUP_BYTES (512u << 20) /* refuse to read absurd values */
#define RM_MAX_COMMITS  0x7fffffffu  /* commit numbers stay below it */

/* ---- naming ------------------------------------------------------------------ */

static void slot_name(WCHAR buf[16], DWORD slot)
{
    memcpy(buf, RM_STORE_SLOT_PREFIX, 7 * sizeof(WCHAR));
    rm_fmt_dec4(buf + 7, slot);
}

static void group_name(WCHAR buf[24], enum group_kind kind, DWORD commit)
{
    SIZE_T n = rm_wcsnlen(group_prefix[kind], 16);
    memcpy(buf, group_prefix[kind], n * sizeof(WCHAR));
    rm_fmt_dec4(buf + n, commit);
}

/* ---- the commit board -------------------------------------------------------------
 *
 * Under Wine every registry request is a round trip to the wineserver, 60-70 us
 * on the project's machine whenever the server runs on the other CPU, which is
 * most of the time (bench_register). A commit used to make eight: lock, read
 * SessionHash (is the slot still our session?), read Sequence (did anyone else
 * commit?), write the group, delete the two other kinds' values under the same
 * number (a dead writer's leftovers), write Sequence, unlock. Only the group
 * write is the commit now; the rest checks what the writer almost always already
 * knows.
 *
 * The board is where it knows it from: a page shared by every process of the
 * user (a named section, which also holds the store lock), one entry per slot,
 * holding the slot's session hash and where its commits end (the field is called
 * sequence), as the last writer left them, and whether that entry is known to be
 * true. Entries are written under the lock. A writer that finds its own
 * session's hash and its own end on a known entry knows the registry holds its
 * commits and nothing past them, so it writes its groups and nothing else;
 * otherwise it reads the registry (the hash, Sequence, the first number without
 * a group), clears past that number, moves Sequence up after its commit, and
 * leaves the entry known. Readers use it too: a known entry that ends where the
 * reader's copy does means nothing new, and the reader reads Sequence only (for
 * the damage it may show), not the groups. An entry stops being known (its
 * writer then reads the registry):
 *  - for every slot, when the lock is found abandoned: a writer died holding it,
 *    maybe between two of its groups, or before updating the board;
 *  - when a start, a registration or an end fails after taking the lock, or a
 *    session ends: its slot;
 *  - when a reader (RmGetList's sync, or the session check of the filter
 *    functions and RmRestart) finds the slot's values damaged: its slot.
 * A fresh board is all zero: nothing known.
 *
 * The registry stays the store: readers read the groups from it. Every writer
 * must keep the board (store_init). What the board cannot see is an edit of a
 * live session's values by anything but this DLL: a writer on a known entry
 * commits over a damaged Sequence or SessionHash, and the damage is reported by
 * the next reader instead, RmGetList or RmJoinSession (README, Choices). The
 * layout is fixed for 32- and 64-bit processes alike (src/shared/storelock.h). */

/* The board's layout and its lock: src/shared/storelock.h. */
static struct rm_board *board;       /* mapped once per process (store_init) */

/* Does the board know slot to be session hash, at Sequence *seq? */
static BOOL board_get(DWORD slot, const BYTE hash[RM_HASH_BYTES], DWORD *seq)
{
    struct rm_board_entry *e;
    if (!board || slot >= RM_MAX_SESSIONS) return FALSE;
    e = &board->slot[slot];
    if (!InterlockedCompareExchange(&e->known, 0, 0) || memcmp(e->hash, hash, RM_HASH_BYTES)) return FALSE;
    *seq = (DWORD)e->sequence;
    return TRUE;
}

/* Under the lock, after the registry was read (or written) to be exactly this. */
static void board_set(DWORD slot, const BYTE hash[RM_HASH_BYTES], DWORD seq)
{
    struct rm_board_entry *e;
    if (!board || slot >= RM_MAX_SESSIONS) return;
    e = &board->slot[slot];
    InterlockedExchange(&e->known, 0);
    memcpy(e->hash, hash, RM_HASH_BYTES);
    InterlockedExchange(&e->sequence, (LONG)seq);
    InterlockedExchange(&e->known, 1);
}

/* Under the lock, after a commit on a known entry: only the counter moves. A
 * reader's forget that came meanwhile stands. */
static void board_advance(DWORD slot, DWORD seq)
{
    if (board && slot < RM_MAX_SESSIONS) InterlockedExchange(&board->slot[slot].sequence, (LONG)seq);
}

/* Any time, any thread: the next writer of the slot reads the registry. */
static void board_forget(DWORD slot)
{
    if (board && slot < RM_MAX_SESSIONS) InterlockedExchange(&board->slot[slot].known, 0);
}

/* A reader's verdict on its session's slot: damaged values, or a slot that is not
 * its session's any more, mean the board's entry may describe what was there
 * before, so the slot's writers read the registry from now on. */
static DWORD board_verdict(const struct rm_store_session *s, DWORD err)
{
    if (err == ERROR_WRITE_FAULT || err == ERROR_INVALID_HANDLE) board_forget(s->slot);
    return err;
}

static void board_forget_all(void)
{
    DWORD slot;
    for (slot = 0; slot < RM_MAX_SESSIONS; slot++) board_forget(slot);
}

/* ---- the store lock ------------------------------------------------------------- */

static HANDLE board_section;         /* kept open: see store_init */
static HANDLE board_wake;            /* the lock's waiters wait on it */
static DWORD store_error;            /* why the store cannot be written, if it cannot */

/* Creates (or opens) the board and its event, named after the user: the store is
 * HKCU, so that is the scope to serialise. A writer without the board would
 * commit without taking the lock or moving the board, and every other writer
 * would then trust a stale entry and write over that commit: so a process that
 * cannot have both cannot write. The section handle stays open as long as the
 * view: under Wine a mapped view does not keep a section's name alive, so a
 * process that closed its handle would let the next one create a second, empty
 * board of the same name (seen in test_random). */
static BOOL CALLBACK store_init(INIT_ONCE *once, void *param, void **ctx)
{
    static const WCHAR base[] = RM_STORE_BASE_NAME;
    const struct rm_self *self;
    WCHAR name[256];
    SIZE_T n = ARRAYSIZE(base) - 1, m;
    (void)once; (void)param; (void)ctx;

    if ((store_error = rm_self_get(&self))) return TRUE;
    memcpy(name, base, n * sizeof(WCHAR));
    m = rm_wcsnlen(self->sid, ARRAYSIZE(name) - n - 16);
    memcpy(name + n, self->sid, m * sizeof(WCHAR));
    memcpy(name + n + m, RM_BOARD_SUFFIX, sizeof(RM_BOARD_SUFFIX));
    board_section = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, sizeof(struct rm_board),
                                       name);
    if (board_section)
        board = MapViewOfFile(board_section, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, sizeof(struct rm_board));
    memcpy(name + n + m, RM_WAKE_SUFFIX, sizeof(RM_WAKE_SUFFIX));
    if (board) board_wake = CreateEventW(NULL, FALSE, FALSE, name);
    if (board_wake) return TRUE;
    store_error = GetLastError();
    if (!store_error) store_error = ERROR_OUTOFMEMORY;
    rm_trace("commit board not available (%lu): the store cannot be written", store_error);
    rm_store_unload();
    return TRUE;
}

void rm_store_unload(void)
{
    if (board_wake) CloseHandle(board_wake);
    board_wake = NULL;
    if (board) UnmapViewOfFile(board);
    board = NULL;
    if (board_section) CloseHandle(board_section);
    board_section = NULL;
}

/* Takes the store lock (src/shared/storelock.h): no wineserver request unless
 * another writer holds it. */
static DWORD store_lock(void)
{
    static INIT_ONCE once = INIT_ONCE_STATIC_INIT;

    rm_sys_init();
    InitOnceExecuteOnce(&once, store_init, NULL, NULL);
    if (!board_wake) return store_error ? store_error : ERROR_INVALID_HANDLE;
    switch (rm_lock_take(&board->lock, board_wake, RM_STORE_LOCK_TIMEOUT))
    {
    case RM_LOCK_TAKEN:
        return ERROR_SUCCESS;
    case RM_LOCK_TAKEN_ABANDONED:
        /* The previous holder died holding it. Every change is committed by a
         * single value write (see above), so the store is consistent and we carry
         * on as the new holder; but what the board says may be behind the
         * registry, or ahead of what it holds, so nothing on it is known now. */
        rm_trace("store lock abandoned: a writer died holding it; the commit board is forgotten");
        board_forget_all();
        return ERROR_SUCCESS;
    default:
        return ERROR_SEM_TIMEOUT;
    }
}

static void store_unlock(void)
{
    if (!rm_lock_give(&board->lock, board_wake))
        rm_trace("store lock taken over while held: this thread was taken for gone");
}

/* ---- keys and values --------------------------------------------------------------- */

/* Writes the slot key's path relative to HKCU ("Software\...\SessionNNNN"). Slots
 * are named from HKCU in one go: a relative open or create costs the same single
 * registry request as one below a separately opened root, and there is no root
 * handle to keep, close, or find stale after another process deleted the key.
 *
 * A session's own slot key is different: create and find keep it open for the
 * session object's life (struct rm_store_session.key, rm_store_release), so a
 * registration or a list costs no open and close of it (four registry requests of
 * the dozen a registration made, bench_register). The key stays the one whose
 * hash matched: when the session ends, Windows and Wine mark the key deleted and
 * every request through the kept handle fails with ERROR_KEY_DELETED, read here
 * as "the session ended" (ERROR_INVALID_HANDLE); a slot taken over in place by
 * another session is told by its hash, checked on every call as before. */
static void slot_path(WCHAR path[64], DWORD slot)
{
    WCHAR name[16];
    SIZE_T n = rm_wcsnlen(root_path, 48);

    slot_name(name, slot);
    memcpy(path, root_path, n * sizeof(WCHAR));
    path[n] = L'\\';
    memcpy(path + n + 1, name, 12 * sizeof(WCHAR));
}

/* Opens SessionNNNN for reading (and writing) if it exists. */
static DWORD open_slot(DWORD slot, REGSAM access, HKEY *key)
{
    WCHAR path[64];
    LSTATUS st;

    slot_path(path, slot);
    st = rm_sys.RegOpenKeyExW(HKEY_CURRENT_USER, path, 0, access, key);
    if (st == ERROR_FILE_NOT_FOUND) return ERROR_FILE_NOT_FOUND;
    return st == ERROR_SUCCESS ? ERROR_SUCCESS : rm_fail(ERROR_WRITE_FAULT, (DWORD)st, "RegOpenKeyExW", path);
}

/* Reads a value of fixed type and size; ERROR_FILE_NOT_FOUND if absent,
 * ERROR_WRITE_FAULT if unreadable or of the wrong type or size. */
static DWORD read_fixed(HKEY key, const WCHAR *name, DWORD type, void *out, DWORD size)
{
    DWORD t, cb = size;
    LSTATUS st = rm_sys.RegQueryValueExW(key, name, NULL, &t, out, &cb);
    if (st == ERROR_FILE_NOT_FOUND) return ERROR_FILE_NOT_FOUND;
    if (st == ERROR_KEY_DELETED) return ERROR_INVALID_HANDLE;   /* the session ended */
    if (st != ERROR_SUCCESS) return rm_fail(ERROR_WRITE_FAULT, (DWORD)st, "RegQueryValueExW", name);
    /* Damaged by someone else: the session cannot be read (spec 9). */
    if (t != type || cb != size) return rm_fail(ERROR_WRITE_FAULT, ERROR_INVALID_DATA, "RegQueryValueExW", name);
    return ERROR_SUCCESS;
}

static DWORD write_value(HKEY key, const WCHAR *name, DWORD type, const void *data, DWORD size)
{
    LSTATUS st = rm_sys.RegSetValueExW(key, name, 0, type, data, size);
    if (st == ERROR_KEY_DELETED) return ERROR_INVALID_HANDLE;   /* the session ended */
    return st == ERROR_SUCCESS ? ERROR_SUCCESS : rm_fail(ERROR_WRITE_FAULT, (DWORD)st, "RegSetValueExW", name);
}

/* Is this slot's session the one whose key hashes to key_hash? */
static DWORD check_hash(HKEY key, const BYTE key_hash[RM_HASH_BYTES])
{
    BYTE stored[RM_HASH_BYTES];
    DWORD err = read_fixed(key, hash_value, REG_BINARY, stored, sizeof(stored));
    if (err == ERROR_FILE_NOT_FOUND) return ERROR_INVALID_HANDLE;
    if (err) return err;
    return memcmp(stored, key_hash, RM_HASH_BYTES) ? ERROR_INVALID_HANDLE : ERROR_SUCCESS;
}

/* A slot is in use while its Owner value names a live process. */
static BOOL slot_owner_alive(HKEY key)
{
    RM_UNIQUE_PROCESS owner;
    if (read_fixed(key, owner_value, REG_BINARY, &owner, sizeof(owner))) return FALSE;
    return rm_process_alive(&owner);
}

/* TRUE when the SessionHash value is missing or not 32 bytes of REG_BINARY (as
 * opposed to unreadable: a failing query is not damage). */
static BOOL hash_damaged(HKEY key)
{
    BYTE stored[RM_HASH_BYTES];
    DWORD type = 0, cb = sizeof(stored);
    LSTATUS st = rm_sys.RegQueryValueExW(key, hash_value, NULL, &type, stored, &cb);
    if (st == ERROR_FILE_NOT_FOUND || st == ERROR_MORE_DATA) return TRUE;
    return st == ERROR_SUCCESS && (type != REG_BINARY || cb != sizeof(stored));
}

/* TRUE when the slot's Owner is this process (PID and creation time). */
static BOOL owned_by_self(HKEY key)
{
    const struct rm_self *self;
    RM_UNIQUE_PROCESS owner;
    if (rm_self_get(&self) || read_fixed(key, owner_value, REG_BINARY, &owner, sizeof(owner))) return FALSE;
    return !memcmp(&owner, &self->process, sizeof(owner));
}

/* ---- sessions ----------------------------------------------------------------------- */

DWORD rm_store_create(struct rm_store_session *s, WCHAR key_text[RM_KEY_CHARS + 1])
{
    const struct rm_self *self;
    BYTE key[RM_KEY_BYTES];
    DWORD err, slot, zero = 0, disp;
    LSTATUS st;
    HKEY k = NULL;
    WCHAR path[64];
    BOOL retried = FALSE;

    s->key = NULL;
    if ((err = rm_self_get(&self))) return err;
    rm_sys_init();
    if ((err = rm_sys.GenRandom(key, sizeof(key))) || (err = rm_sha256(key, sizeof(key), s->key_hash)))
    {
        SecureZeroMemory(key, sizeof(key));
        return err;
    }

    if ((err = store_lock())) return err;

    err = ERROR_MAX_SESSIONS_REACHED;
    for (slot = 0; slot < RM_MAX_SESSIONS; slot++)
    {
        /* Creating the slot by its full path also creates the (volatile) root the
         * first time, with the same options. */
        slot_path(path, slot);
        if ((st = rm_sys.RegCreateKeyExW(HKEY_CURRENT_USER, path, 0, NULL, REG_OPTION_VOLATILE,
                                         KEY_ALL_ACCESS, NULL, &k, &disp)) != ERROR_SUCCESS)
        {
            k = NULL;
            err = rm_fail(ERROR_WRITE_FAULT, (DWORD)st, "RegCreateKeyExW", path);
            break;
        }
        if (disp == REG_OPENED_EXISTING_KEY)
        {
            BOOL alive = slot_owner_alive(k);
            rm_sys.RegCloseKey(k);
            k = NULL;
            if (alive)
            {
                retried = FALSE;   /* the one-retry rule is per slot */
                continue;
            }
            /* Abandoned: its owner exited without RmEndSession. Take it over. */
            rm_trace("taking over abandoned slot %lu", slot);
            if (retried || (st = rm_sys.RegDeleteTreeW(HKEY_CURRENT_USER, path)) != ERROR_SUCCESS)
            {
                err = rm_fail(ERROR_WRITE_FAULT, retried ? ERROR_ALREADY_EXISTS : (DWORD)st, "RegDeleteTreeW", path);
                break;
            }
            retried = TRUE;
            slot--;
            continue;
        }
        /* Owner last: until it is there a crash leaves a slot the next start reclaims. */
        if ((err = write_value(k, hash_value, REG_BINARY, s->key_hash, RM_HASH_BYTES)) ||
            (err = write_value(k, sequence_value, REG_DWORD, &zero, sizeof(zero))) ||
            (err = write_value(k, owner_value, REG_BINARY, &self->process, sizeof(self->process))))
        {
            rm_sys.RegCloseKey(k);
            k = NULL;
            rm_sys.RegDeleteTreeW(HKEY_CURRENT_USER, path);
            break;
        }
        s->slot = slot;
        s->key = k;   /* kept for the session's calls */
        k = NULL;
        rm_key_format(key, key_text);
        board_set(slot, s->key_hash, 0);
        break;
    }

    if (err) board_forget(slot);   /* a failure half way through a slot (none past the last) */
    if (k) rm_sys.RegCloseKey(k);
    store_unlock();
    SecureZeroMemory(key, sizeof(key));
    return err;
}

DWORD rm_store_find(const BYTE key_hash[RM_HASH_BYTES], struct rm_store_session *s)
{
    DWORD err, slot;
    HKEY k;

    s->key = NULL;
    if ((err = store_lock())) return err;
    err = ERROR_SESSION_CREDENTIAL_CONFLICT;
    for (slot = 0; slot < RM_MAX_SESSIONS; slot++)
    {
        DWORD e = open_slot(slot, KEY_QUERY_VALUE | KEY_SET_VALUE, &k);
        if (e) continue;
        if (!check_hash(k, key_hash) && slot_owner_alive(k))
        {
            s->slot = slot;
            memcpy(s->key_hash, key_hash, RM_HASH_BYTES);
            s->key = k;   /* kept for the session's calls */
            err = ERROR_SUCCESS;
            break;
        }
        rm_sys.RegCloseKey(k);
    }
    store_unlock();
    return err;
}

void rm_store_release(struct rm_store_session *s)
{
    if (s->key) rm_sys.RegCloseKey(s->key);
    s->key = NULL;
}

DWORD rm_store_check(const struct rm_store_session *s)
{
    return board_verdict(s, check_hash(s->key, s->key_hash));
}

DWORD rm_store_delete(const struct rm_store_session *s)
{
    HKEY k = s->key;
    DWORD err;

    if ((err = store_lock())) return err;
    /* Checked and deleted through the session's own key, kept open since the start
     * (rm_store_create opens it with every right, DELETE too): the key whose hash
     * matched is the key that goes, whatever happens to the name meanwhile, and no
     * open or close is needed (3 requests to the Wine server for an end, with the
     * close of the key when the session object goes, where it was 5). A key
     * deleted meanwhile reads as the session ended (ERROR_INVALID_HANDLE).
     *
     * A missing or malformed hash (a hostile or buggy program) must not keep the
     * primary from ending its session: a slot whose Owner is this very process is
     * then ours to delete. A well-formed hash of another key is another session,
     * and a read that fails is a failure, not damage. */
    err = check_hash(k, s->key_hash);
    if (err && hash_damaged(k) && owned_by_self(k)) err = ERROR_SUCCESS;
    if (!err && !NT_SUCCESS(NtDeleteKey(k)))
    {
        /* A session key holds values only, so the delete above removes it; a key
         * someone has added subkeys to is emptied through the same handle first. */
        LSTATUS st = rm_sys.RegDeleteTreeW(k, NULL);
        if (st != ERROR_SUCCESS || !NT_SUCCESS(NtDeleteKey(k)))
            err = rm_fail(ERROR_WRITE_FAULT, (DWORD)st, "RegDeleteTreeW", L"(session key)");
    }
    /* Gone, or in a state the next writer of the slot had better read. */
    board_forget(s->slot);
    store_unlock();
    return err;
}

/* ---- reading registrations --------------------------------------------------------- */

/* Reads a REG_MULTI_SZ group value; *data is NULL if the value does not exist. */
static DWORD read_group(HKEY key, enum group_kind kind, DWORD commit, WCHAR **data, DWORD *chars)
{
    WCHAR name[24];
    DWORD type, cb = 0, cb2;
    LSTATUS st;
    WCHAR *buf;

    *data = NULL;
    *chars = 0;
    group_name(name, kind, commit);
    st = rm_sys.RegQueryValueExW(key, name, NULL, &type, NULL, &cb);
    if (st == ERROR_FILE_NOT_FOUND) return ERROR_SUCCESS;
    if (st == ERROR_KEY_DELETED) return ERROR_INVALID_HANDLE;   /* the session ended */
    if (st != ERROR_SUCCESS) return rm_fail(ERROR_WRITE_FAULT, (DWORD)st, "RegQueryValueExW", name);
    if (type != REG_MULTI_SZ || cb > MAX_GROUP_BYTES)
        return rm_fail(ERROR_WRITE_FAULT, ERROR_INVALID_DATA, "RegQueryValueExW", name);
    /* Two extra NULs make even a value stored without its terminators parse safely. */
    if (!(buf = rm_alloc(cb + 2 * sizeof(WCHAR)))) return ERROR_OUTOFMEMORY;
    cb2 = cb;
    st = rm_sys.RegQueryValueExW(key, name, NULL, &type, (BYTE *)buf, &cb2);
    if (st != ERROR_SUCCESS || type != REG_MULTI_SZ || cb2 > cb)
    {
        rm_free(buf);
        /* Changed between the two reads: only another writer's damage does that. */
        return rm_fail(ERROR_WRITE_FAULT, st ? (DWORD)st : ERROR_INVALID_DATA, "RegQueryValueExW", name);
    }
    *data = buf;
    *chars = cb2 / sizeof(WCHAR);
    return ERROR_SUCCESS;
}

static BOOL parse_proc(const WCHAR *s, SIZE_T len, RM_UNIQUE_PROCESS *p)
{
    DWORD pid, high, low;
    if (len != PROC_TEXT_CHARS || s[8] != L':' || s[17] != L':') return FALSE;
    if (!rm_parse_hex8(s, &pid) || !rm_parse_hex8(s + 9, &high) || !rm_parse_hex8(s + 18, &low))
        return FALSE;
    p->dwProcessId = pid;
    p->ProcessStartTime.dwHighDateTime = high;
    p->ProcessStartTime.dwLowDateTime = low;
    return TRUE;
}

/* The file paths of the commits being loaded, gathered so that they are
 * identified together: one listing per directory for all of them (dirlist.c),
 * however many commits and processes registered them. The strings stay in the
 * group values read, which are kept until then. */
struct pending_files
{
    const WCHAR **paths;  SIZE_T count, cap;
    WCHAR **values;       SIZE_T nvalues, cap_values;
};

static void pending_free(struct pending_files *p)
{
    SIZE_T i;
    for (i = 0; i < p->nvalues; i++) rm_free(p->values[i]);
    rm_free(p->values);
    rm_free(p->paths);
    memset(p, 0, sizeof(*p));
}

/* Adds the entries of one group value to r (processes, services) or to the
 * pending files (files: the value is then kept). A malformed entry makes the
 * whole session unreadable (ERROR_WRITE_FAULT) rather than silently dropping it. */
static DWORD load_group(struct rm_resources *r, struct pending_files *pf, enum group_kind kind, WCHAR *data,
                        DWORD chars)
{
    DWORD pos = 0, err = ERROR_SUCCESS;
    BOOL added;

    if (kind == GROUP_FILES)
    {
        if ((err = rm_grow((void **)&pf->values, &pf->cap_values, pf->nvalues + 1, sizeof(*pf->values))))
        {
            rm_free(data);
            return err;
        }
        pf->values[pf->nvalues++] = data;
    }
    while (pos < chars && data[pos] && !err)
    {
        SIZE_T len = rm_wcsnlen(data + pos, chars - pos);
        if (kind == GROUP_FILES)
        {
            /* The value was read with two extra NULs (read_group): every entry,
             * the last one too, ends with a NUL inside the buffer. */
            if (len > RM_MAX_PATH_CHARS) return ERROR_WRITE_FAULT;
            if (!(err = rm_grow((void **)&pf->paths, &pf->cap, pf->count + 1, sizeof(*pf->paths))))
                pf->paths[pf->count++] = data + pos;
        }
        else if (kind == GROUP_PROCS)
        {
            RM_UNIQUE_PROCESS p;
            if (!parse_proc(data + pos, len, &p)) return ERROR_WRITE_FAULT;
            err = rm_resources_add_proc(r, &p, &added);
        }
        else
        {
            WCHAR *name;
            if (len > RM_MAX_SVC_NAME_CHARS) return ERROR_WRITE_FAULT;
            if (!(name = rm_wcsdup_n(data + pos, len))) return ERROR_OUTOFMEMORY;
            err = rm_resources_add_svc(r, name, &added);
        }
        pos += (DWORD)len + 1;
    }
    if (kind != GROUP_FILES) rm_free(data);
    return err;
}

/* Identifies the pending files and adds them to r. */
static DWORD load_files(struct rm_resources *r, const struct pending_files *pf)
{
    struct rm_strings strings = { NULL };   /* the found paths, until r copies them */
    struct rm_file *found;
    DWORD err;
    SIZE_T i;
    BOOL added;

    if (!pf->count) return ERROR_SUCCESS;
    if (!(found = rm_alloc(pf->count * sizeof(*found)))) return ERROR_OUTOFMEMORY;
    err = rm_files_identify(pf->paths, pf->count, found, FALSE, &strings);
    /* A stored path the system rejects was not written by this DLL. */
    if (err == ERROR_BAD_ARGUMENTS) err = ERROR_WRITE_FAULT;
    for (i = 0; i < pf->count && !err; i++) err = rm_resources_add_file(r, &found[i], &added);
    rm_free(found);
    rm_strings_free(&strings);
    return err;
}

/* Is any group stored under commit number n? One request per kind, up to the
 * first one found (a size query, no data). */
static DWORD commit_present(HKEY key, DWORD n, BOOL *present)
{
    WCHAR name[24];
    int kind;

    *present = FALSE;
    for (kind = GROUP_FILES; kind <= GROUP_SVCS; kind++)
    {
        LSTATUS st;
        group_name(name, kind, n);
        st = rm_sys.RegQueryValueExW(key, name, NULL, NULL, NULL, NULL);
        if (st == ERROR_FILE_NOT_FOUND) continue;
        if (st == ERROR_KEY_DELETED) return ERROR_INVALID_HANDLE;   /* the session ended */
        if (st != ERROR_SUCCESS) return rm_fail(ERROR_WRITE_FAULT, (DWORD)st, "RegQueryValueExW", name);
        *present = TRUE;
        break;
    }
    return ERROR_SUCCESS;
}

/* Where the slot's commits end, as the registry shows it: the first number from
 * `from` on without a group (see rm_store_register: the run of a commit's
 * numbers becomes visible with its lowest). */
static DWORD commits_end(HKEY key, DWORD from, DWORD *end)
{
    BOOL present = TRUE;
    DWORD err = ERROR_SUCCESS, n;

    for (n = from; present && n < RM_MAX_COMMITS; n++)
        if ((err = commit_present(key, n, &present))) return err;
    if (present) return ERROR_WRITE_FAULT;   /* more than any session can have written */
    *end = n - 1;
    return ERROR_SUCCESS;
}

/* Brings r up to date; key is open on the session's slot and checked. With
 * nothing_new (the board knows the slot's commits end where r's do), only the
 * Sequence value is read, for the damage it may show. */
static DWORD sync_locked(HKEY key, struct rm_resources *r, BOOL nothing_new)
{
    struct pending_files pf;
    DWORD floor, commit, err;
    int kind;

    if ((err = read_fixed(key, sequence_value, REG_DWORD, &floor, sizeof(floor))))
        return err == ERROR_FILE_NOT_FOUND ? ERROR_WRITE_FAULT : err;
    if (nothing_new) return floor > r->sequence ? ERROR_WRITE_FAULT : ERROR_SUCCESS;
    memset(&pf, 0, sizeof(pf));
    for (commit = r->sequence; !err && commit < RM_MAX_COMMITS; commit++)
    {
        BOOL any = FALSE;
        for (kind = GROUP_FILES; kind <= GROUP_SVCS && !err; kind++)
        {
            WCHAR *data;
            DWORD chars;
            if ((err = read_group(key, kind, commit, &data, &chars))) break;
            if (!data) continue;
            any = TRUE;
            err = load_group(r, &pf, kind, data, chars);
        }
        if (!any) break;   /* the end of the commits */
    }
    /* Every number below Sequence holds a commit: a gap below it means the counter
     * or the groups were damaged. */
    if (!err && (commit < floor || commit >= RM_MAX_COMMITS)) err = ERROR_WRITE_FAULT;
    /* The files of every commit read, identified together. Loading is idempotent
     * (sets drop duplicates), so after a failure the next sync simply reads these
     * commits again. */
    if (!err) err = load_files(r, &pf);
    if (!err) r->sequence = commit;
    pending_free(&pf);
    return err;
}

DWORD rm_store_sync(const struct rm_store_session *s, struct rm_resources *r)
{
    DWORD err = check_hash(s->key, s->key_hash), end;
    BOOL nothing_new = board_get(s->slot, s->key_hash, &end) && end == r->sequence;
    return board_verdict(s, err ? err : sync_locked(s->key, r, nothing_new));
}

/* ---- writing registrations ----------------------------------------------------------- */

/* Serialises one kind of the batch as REG_MULTI_SZ; *cb = 0 when there is none. */
static DWORD format_group(const struct rm_resources *b, enum group_kind kind, WCHAR **out, DWORD *cb)
{
    SIZE_T i, chars = 1, n = kind == GROUP_FILES ? b->nfiles : kind == GROUP_PROCS ? b->nprocs : b->nsvcs;
    WCHAR *buf, *p;

    *out = NULL;
    *cb = 0;
    if (!n) return ERROR_SUCCESS;
    for (i = 0; i < n; i++)
    {
        SIZE_T len = kind == GROUP_FILES ? b->files[i].path_len
                   : kind == GROUP_PROCS ? PROC_TEXT_CHARS
                   : rm_wcsnlen(b->svcs[i], RM_MAX_SVC_NAME_CHARS);
        chars += len + 1;
        if (chars > MAX_GROUP_BYTES / sizeof(WCHAR)) return ERROR_OUTOFMEMORY;
    }
    if (!(buf = rm_alloc_raw(chars * sizeof(WCHAR)))) return ERROR_OUTOFMEMORY;   /* written whole */
    for (i = 0, p = buf; i < n; i++)
    {
        if (kind == GROUP_FILES)
        {
            memcpy(p, b->files[i].path, b->files[i].path_len * sizeof(WCHAR));
            p += b->files[i].path_len;
        }
        else if (kind == GROUP_PROCS)
        {
            p += rm_fmt_hex8(p, b->procs[i].dwProcessId);
            *p++ = L':';
            p += rm_fmt_hex8(p, b->procs[i].ProcessStartTime.dwHighDateTime);
            *p++ = L':';
            p += rm_fmt_hex8(p, b->procs[i].ProcessStartTime.dwLowDateTime);
        }
        else
        {
            SIZE_T len = rm_wcsnlen(b->svcs[i], RM_MAX_SVC_NAME_CHARS);
            memcpy(p, b->svcs[i], len * sizeof(WCHAR));
            p += len;
        }
        *p++ = 0;
    }
    *p++ = 0;
    *out = buf;
    *cb = (DWORD)((SIZE_T)(p - buf) * sizeof(WCHAR));
    return ERROR_SUCCESS;
}

/* Takes out of the batch what r already holds and formats the rest, replacing any
 * earlier formatting. */
static DWORD prepare_commit(struct rm_resources *batch, const struct rm_resources *r, WCHAR *data[3], DWORD cb[3])
{
    DWORD err = ERROR_SUCCESS;
    int kind;

    rm_batch_subtract(batch, r);
    for (kind = GROUP_FILES; kind <= GROUP_SVCS; kind++)
    {
        rm_free(data[kind]);
        data[kind] = NULL;
    }
    for (kind = GROUP_FILES; kind <= GROUP_SVCS && !err; kind++) err = format_group(batch, kind, &data[kind], &cb[kind]);
    return err;
}

/* Under the lock: where the slot's commits end, from the board when it knows
 * (*known) or else from the registry, after checking the slot is still this
 * session's: from Sequence, or from what this process has read if that is
 * further, up to the first number without a group. */
static DWORD read_sequence(const struct rm_store_session *s, DWORD expect, DWORD *seq, BOOL *known)
{
    DWORD err, floor;

    /* The board behind what this process has read means the registry was edited
     * under it: read the registry. */
    if ((*known = board_get(s->slot, s->key_hash, seq) && *seq >= expect)) return ERROR_SUCCESS;
    if ((err = check_hash(s->key, s->key_hash))) return err;
    err = read_fixed(s->key, sequence_value, REG_DWORD, &floor, sizeof(floor));
    if (err) return err == ERROR_FILE_NOT_FOUND ? ERROR_WRITE_FAULT : err;
    return commits_end(s->key, floor > expect ? floor : expect, seq);
}

/* Under the lock, before a commit at number `at` when the board did not know the
 * slot: deletes every group a writer that failed or died may have left at the
 * two numbers after it (the most a commit of three kinds leaves behind its
 * lowest, unwritten, number), so that this commit does not make them visible. */
static DWORD clear_leftovers(HKEY key, DWORD at)
{
    WCHAR name[24];
    DWORD n;
    int kind;

    for (n = at + 1; n <= at + 2; n++)
        for (kind = GROUP_FILES; kind <= GROUP_SVCS; kind++)
        {
            LSTATUS st;
            group_name(name, kind, n);
            st = rm_sys.RegDeleteValueW(key, name);
            if (st == ERROR_KEY_DELETED) return ERROR_INVALID_HANDLE;   /* the session ended */
            if (st != ERROR_SUCCESS && st != ERROR_FILE_NOT_FOUND)
                return rm_fail(ERROR_WRITE_FAULT, (DWORD)st, "RegDeleteValueW", name);
        }
    return ERROR_SUCCESS;
}

DWORD rm_store_register(const struct rm_store_session *s, struct rm_resources *r,
                        struct rm_resources *batch)
{
    WCHAR *data[3] = { NULL, NULL, NULL }, name[24];
    DWORD cb[3] = { 0, 0, 0 }, number[3] = { 0, 0, 0 }, err, commit, seq, nkinds;
    BOOL written[3] = { FALSE, FALSE, FALSE }, locked = FALSE, known = FALSE;
    HKEY k = s->key;
    int kind, tries;

    /* Under the store lock, only registry requests, back to back: the batch is
     * checked against what this process knows and formatted before the lock is
     * taken, and merged into r after it is let go. Every session call of the user
     * waits on this lock.
     *
     * Loading other processes' commits means identifying each of their files (a
     * listing of each of their directories, dirlist.c): tens of milliseconds and
     * more for a session of thousands of files. That is done by rm_store_sync, which
     * needs no lock (a commit becomes visible with the one write of its lowest
     * number), not under the lock. So the lock is taken first and the commits' end
     * read under it (from the board when it knows): in the common case (nobody else committed) that is
     * all, and the commit follows; otherwise the lock is let go, the new commits
     * are loaded outside it, the batch is prepared again, and the lock is taken
     * again, twice at most, after which the few commits that keep arriving are
     * loaded under it. */
    if ((err = prepare_commit(batch, r, data, cb))) goto out;
    for (tries = 0;; tries++)
    {
        if ((err = store_lock())) goto out;
        locked = TRUE;
        if ((err = read_sequence(s, r->sequence, &seq, &known))) goto out;
        if (seq == r->sequence || tries == 2) break;
        store_unlock();
        locked = FALSE;
        if ((err = rm_store_sync(s, r)) || (err = prepare_commit(batch, r, data, cb))) goto out;
    }
    if (seq != r->sequence)
    {
        rm_trace("RmRegisterResources: commits %lu..%lu arrived while syncing; loading them under the store lock",
                 r->sequence, seq - 1);
        if ((err = check_hash(k, s->key_hash)) || (err = sync_locked(k, r, FALSE)) ||
            (err = prepare_commit(batch, r, data, cb)))
            goto out;
        known = FALSE;   /* read from the registry: the end may have moved since */
    }
    if (!batch->nfiles && !batch->nprocs && !batch->nsvcs) goto out;   /* all known */

    /* The commit: each kind's group under its own number, from `commit` up
     * (files, processes, services, those there are), written highest first: the
     * lowest is the commit point, since a reader reads numbers upwards until one
     * has no group. One request for a registration of one kind. Where the board
     * did not know the slot, what a failed or dead writer may have left past
     * this number goes first, and Sequence is brought up to the new end after.
     * A failure before the lowest is written leaves nothing committed; what was
     * written is deleted. */
    commit = r->sequence;
    for (kind = GROUP_FILES, nkinds = 0; kind <= GROUP_SVCS; kind++)
        if (data[kind]) number[kind] = commit + nkinds++;
    if (!known && (err = clear_leftovers(k, commit))) goto out;
    for (kind = GROUP_SVCS; kind >= GROUP_FILES && !err; kind--)
    {
        if (!data[kind]) continue;
        group_name(name, kind, number[kind]);
        err = write_value(k, name, REG_MULTI_SZ, data[kind], cb[kind]);
        written[kind] = !err;
    }
    if (err)
    {
        for (kind = GROUP_FILES; kind <= GROUP_SVCS; kind++)
            if (written[kind])
            {
                group_name(name, kind, number[kind]);
                rm_sys.RegDeleteValueW(k, name);
            }
        goto out;
    }
    if (!known)
    {
        /* Only a lower bound for readers: committed without it, so a failure
         * here is traced, not reported. */
        DWORD end = commit + nkinds;
        if (write_value(k, sequence_value, REG_DWORD, &end, sizeof(end)))
            rm_trace("RmRegisterResources: committed, but Sequence stays behind");
        board_set(s->slot, s->key_hash, commit + nkinds);
    }
    else board_advance(s->slot, commit + nkinds);
    store_unlock();
    locked = FALSE;

    /* Committed. Keep our copy current without reading back what we just wrote
     * (the caller's session lock keeps r ours meanwhile); if memory runs out here
     * the next sync reads the commit from the store instead. */
    if (rm_resources_merge(r, batch) == ERROR_SUCCESS) r->sequence = commit + nkinds;
    else r->sequence = commit;

out:
    if (locked)
    {
        /* A failure under the lock (the rollback itself may have failed too): the
         * next writer reads what is really there. */
        if (err) board_forget(s->slot);
        store_unlock();
    }
    for (kind = GROUP_FILES; kind <= GROUP_SVCS; kind++) rm_free(data[kind]);
    return err;
}
