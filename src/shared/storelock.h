/*
 * storelock.h - the lock that serialises the writers of the per-user session
 * store (src/store.c), and the commit board it lives in. Written once for the DLL
 * and for the tests, which hold the lock from outside to play a slow or a dead
 * writer.
 *
 * Why not a kernel mutex: under Wine every wait and release of a kernel object is
 * a request to the wineserver, 60-90 us on the project's machine whenever the
 * server runs on the other CPU; a registration's commit was four requests, two of
 * them the mutex. This lock costs no request unless it is contended: a holder is
 * one 64-bit word in the board, taken and given back with an interlocked exchange.
 * Only a thread that finds it taken waits, on a named auto-reset event.
 *
 * What a kernel mutex gave for free, and how this lock gives it:
 *  - abandonment: the word names the holder (process ID << 32 | thread ID, one
 *    atomic value, so never half written), and `since` says when it took the
 *    lock. A waiter that waits a whole slice without being woken looks the holder
 *    up: a thread that no longer exists, has exited, is not in the named process,
 *    or was created more than 2 s after `since` (its ID reused, in this process
 *    or another; an ID reused sooner is taken for the holder until that thread
 *    ends) is gone, and the waiter takes the lock over, as WAIT_ABANDONED
 *    (RM_LOCK_TAKEN_ABANDONED). A waiter that finds its own ID on the word takes
 *    it at once: the lock is not recursive, so that holder was a dead thread
 *    whose ID the waiter now has;
 *  - fairness: a holder that finds waiters gives the lock to them, not back to
 *    anyone: the word becomes RM_LOCK_HANDOFF, which only a waiter woken by the
 *    event (or one that waited a slice without a wake-up, should the woken one
 *    have gone) may take; a newcomer takes only a free word, so it waits its turn
 *    unless it comes at the very moment a holder that saw no waiter lets go;
 *  - time-outs: a wait is bounded (RM_LOCK_TIMEOUT after timeout_ms).
 * Waiters say who they are in waiter[] (a slot each, while there is one free),
 * which is how a holder knows to hand over, and how a waiter that was killed
 * while waiting stops counting: a holder about to hand over looks up the
 * waiters it has not looked at for RM_LOCK_RECHECK ms and clears the gone ones
 * (else every later give would hand over to nobody, and every take after it
 * wait for the event: two requests a commit). A waiter without a slot polls
 * a slice at a time.
 *
 * The layout is the same in 32- and 64-bit processes (no pointers), and a change
 * of it needs a new section name (RM_BOARD_SUFFIX).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef RSTRTMGR_STORELOCK_H
#define RSTRTMGR_STORELOCK_H

#include <stddef.h>
#include <windows.h>
#include "storelayout.h"

/* Named after the store's base name, Local\RstrtMgr-Store-<user SID>. */
#define RM_STORE_BASE_NAME L"Local\\RstrtMgr-Store-"
#define RM_BOARD_SUFFIX    L"-Board4"   /* the section: struct rm_board */
#define RM_WAKE_SUFFIX     L"-Wake"     /* the waiters' auto-reset event */

#define RM_LOCK_FREE    0
#define RM_LOCK_HANDOFF 1               /* given to the waiters: thread IDs are multiples of 4 */
#define RM_LOCK_SLICE   50              /* ms a waiter waits before it looks at the holder */
#define RM_LOCK_WAITERS 14              /* waiter slots */
#define RM_LOCK_RECHECK 1000            /* ms a waiter found alive is not looked up again */
/* A thread created this long (100 ns units: 2 s) after `since` is not the holder.
 * The slack is for the system clock, which can be set back between a thread's
 * creation and its take: a live holder must never look newer than its take. */
#define RM_LOCK_CLOCK_SLACK 20000000LL

struct rm_board_lock
{
    LONGLONG owner;                     /* process ID << 32 | thread ID, or FREE or HANDOFF */
    LONGLONG since;                     /* when the holder took it (FILETIME); 0: not said yet */
    LONGLONG waiter[RM_LOCK_WAITERS];   /* process ID << 32 | thread ID of a waiter, or 0 */
};

struct rm_board_entry
{
    BYTE hash[32];                      /* the slot's SessionHash */
    LONG sequence;                      /* where its commits end */
    LONG known;                         /* 1: both are what the registry holds */
};

struct rm_board
{
    struct rm_board_lock lock;
    struct rm_board_entry slot[RM_STORE_SLOTS];
};

_Static_assert(sizeof(struct rm_board_lock) == 128 && sizeof(struct rm_board_entry) == 40 &&
               offsetof(struct rm_board_entry, sequence) == 32 && offsetof(struct rm_board, slot) == 128 &&
               sizeof(struct rm_board) == 128 + 40 * RM_STORE_SLOTS,
               "the commit board's layout is shared by every process of the user, 32- and 64-bit");

enum rm_lock_result { RM_LOCK_TAKEN, RM_LOCK_TAKEN_ABANDONED, RM_LOCK_TIMEOUT };

static inline LONGLONG rm_lock_self(void)
{
    return (LONGLONG)(((ULONGLONG)GetCurrentProcessId() << 32) | GetCurrentThreadId());
}

static inline LONGLONG rm_lock_now(void)
{
    FILETIME ft;
    GetSystemTimeAsFileTime(&ft);   /* no request: read from the shared user data */
    return (LONGLONG)(((ULONGLONG)ft.dwHighDateTime << 32) | ft.dwLowDateTime);
}

/* TRUE when the thread named by who (process ID << 32 | thread ID) is certainly
 * not the one that took the lock (or started waiting) at `since` (0: unknown):
 * its thread does not exist, has exited, belongs to another process, or was
 * created after `since`. A thread that cannot be looked up for another reason
 * counts as the one. */
static inline BOOL rm_lock_holder_gone(LONGLONG who, LONGLONG since)
{
    DWORD pid = (DWORD)((ULONGLONG)who >> 32), tid = (DWORD)who, in;
    FILETIME created, t1, t2, t3;
    HANDLE t;
    BOOL gone;

    if (who == RM_LOCK_FREE || who == RM_LOCK_HANDOFF) return FALSE;
    if (!(t = OpenThread(SYNCHRONIZE | THREAD_QUERY_LIMITED_INFORMATION, FALSE, tid)))
        return GetLastError() == ERROR_INVALID_PARAMETER;   /* no thread has that ID */
    in = GetProcessIdOfThread(t);
    gone = WaitForSingleObject(t, 0) == WAIT_OBJECT_0 || (in && in != pid);
    if (!gone && since && GetThreadTimes(t, &created, &t1, &t2, &t3))
        gone = (LONGLONG)(((ULONGLONG)created.dwHighDateTime << 32) | created.dwLowDateTime) >
               since + RM_LOCK_CLOCK_SLACK;
    CloseHandle(t);
    return gone;
}

/* Puts who in a free waiter slot; returns the slot, or -1 when none is free. */
static inline int rm_lock_wait_begin(struct rm_board_lock *lk, LONGLONG who)
{
    int i;
    for (i = 0; i < RM_LOCK_WAITERS; i++)
        if (!InterlockedCompareExchange64(&lk->waiter[i], who, 0)) return i;
    return -1;
}

static inline BOOL rm_lock_has_waiters(struct rm_board_lock *lk)
{
    int i;
    for (i = 0; i < RM_LOCK_WAITERS; i++)
        if (InterlockedCompareExchange64(&lk->waiter[i], 0, 0)) return TRUE;
    return FALSE;
}

/* The holder's word and its `since` as one consistent pair (a holder writes
 * `since` after it takes the word and clears it before it lets go); FALSE when
 * the word moved meanwhile. */
static inline BOOL rm_lock_read_holder(struct rm_board_lock *lk, LONGLONG *owner, LONGLONG *since)
{
    *owner = InterlockedCompareExchange64(&lk->owner, 0, 0);
    *since = InterlockedCompareExchange64(&lk->since, 0, 0);
    return InterlockedCompareExchange64(&lk->owner, 0, 0) == *owner;
}

/* Takes the lock within timeout_ms. wake is the board's event (RM_WAKE_SUFFIX). */
static inline enum rm_lock_result rm_lock_take(struct rm_board_lock *lk, HANDLE wake, DWORD timeout_ms)
{
    const LONGLONG self = rm_lock_self();
    enum rm_lock_result result = RM_LOCK_TIMEOUT;
    ULONGLONG deadline;
    BOOL woken = FALSE, slice_over = FALSE;
    int slot;

    if (InterlockedCompareExchange64(&lk->owner, self, RM_LOCK_FREE) == RM_LOCK_FREE)
    {
        result = RM_LOCK_TAKEN;
        goto taken;
    }

    slot = rm_lock_wait_begin(lk, self);   /* before the next look: a holder letting go sees it */
    deadline = GetTickCount64() + timeout_ms;
    for (;;)
    {
        LONGLONG owner = InterlockedCompareExchange64(&lk->owner, self, RM_LOCK_FREE), since;
        ULONGLONG now;
        DWORD wait;

        if (owner == RM_LOCK_FREE) { result = RM_LOCK_TAKEN; break; }
        if (owner == RM_LOCK_HANDOFF && (woken || slice_over) &&
            InterlockedCompareExchange64(&lk->owner, self, RM_LOCK_HANDOFF) == RM_LOCK_HANDOFF)
        {
            result = RM_LOCK_TAKEN;
            break;
        }
        /* This thread's own ID: a dead holder's, reused (the lock is not recursive). */
        if ((owner == self || (slice_over && rm_lock_read_holder(lk, &owner, &since) &&
                               rm_lock_holder_gone(owner, since))) &&
            InterlockedCompareExchange64(&lk->owner, self, owner) == owner)
        {
            result = RM_LOCK_TAKEN_ABANDONED;
            break;
        }
        now = GetTickCount64();
        if (now >= deadline) break;
        wait = deadline - now < RM_LOCK_SLICE ? (DWORD)(deadline - now) : RM_LOCK_SLICE;
        switch (WaitForSingleObject(wake, wait))
        {
        case WAIT_OBJECT_0: woken = TRUE; slice_over = FALSE; break;
        case WAIT_TIMEOUT: woken = FALSE; slice_over = TRUE; break;
        default: Sleep(wait); woken = FALSE; slice_over = TRUE; break;   /* no event: poll */
        }
    }
    if (slot >= 0) InterlockedExchange64(&lk->waiter[slot], 0);
    if (result == RM_LOCK_TIMEOUT) return result;
taken:
    InterlockedExchange64(&lk->since, rm_lock_now());
    return result;
}

/* Clears the waiter slots of waiters that are gone, looking up only those this
 * process has not found alive in the last RM_LOCK_RECHECK ms; TRUE if a waiter
 * is left. Only a holder that finds waiters calls it. */
static inline BOOL rm_lock_live_waiters(struct rm_board_lock *lk)
{
    static LONGLONG seen[RM_LOCK_WAITERS];            /* the waiter last found alive ... */
    static ULONGLONG seen_at[RM_LOCK_WAITERS];        /* ... and when */
    ULONGLONG now = GetTickCount64();
    BOOL any = FALSE;
    int i;

    for (i = 0; i < RM_LOCK_WAITERS; i++)
    {
        LONGLONG w = InterlockedCompareExchange64(&lk->waiter[i], 0, 0);
        if (!w) continue;
        if (seen[i] == w && now - seen_at[i] < RM_LOCK_RECHECK) { any = TRUE; continue; }
        if (rm_lock_holder_gone(w, 0))
        {
            InterlockedCompareExchange64(&lk->waiter[i], 0, w);
            continue;
        }
        seen[i] = w;
        seen_at[i] = now;
        any = TRUE;
    }
    return any;
}

/* Gives the lock back: to the waiters if there are any (they take turns, woken
 * one at a time), else free. FALSE (and nothing changed) when this thread does
 * not hold it: it was taken over, which only happens to a holder that is gone. */
static inline BOOL rm_lock_give(struct rm_board_lock *lk, HANDLE wake)
{
    const LONGLONG self = rm_lock_self();
    BOOL handoff = rm_lock_has_waiters(lk) && rm_lock_live_waiters(lk);

    if (InterlockedCompareExchange64(&lk->owner, 0, 0) != self) return FALSE;
    InterlockedExchange64(&lk->since, 0);
    if (InterlockedCompareExchange64(&lk->owner, handoff ? RM_LOCK_HANDOFF : RM_LOCK_FREE, self) != self)
        return FALSE;
    /* With no waiter seen, one may have come after the look above and found it
     * still taken. */
    if (handoff || rm_lock_has_waiters(lk)) SetEvent(wake);
    return TRUE;
}

#endif
