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
 *    atomic value, so never half written). A waiter that waits a whole slice
 *    without being woken looks the holder up; a thread that no longer exists,
 *    has exited, or is not in the named process (its ID reused) is gone, and the
 *    waiter takes the lock over, as WAIT_ABANDONED (RM_LOCK_TAKEN_ABANDONED);
 *  - fairness: a holder that finds waiters gives the lock to them, not back to
 *    anyone: the word becomes RM_LOCK_HANDOFF, which only a waiter woken by the
 *    event (or one that waited a slice without a wake-up, should the woken one
 *    have gone) may take; a newcomer, which only ever takes a free word, waits
 *    its turn;
 *  - time-outs: a wait is bounded (RM_LOCK_TIMEOUT after timeout_ms).
 * Not recursive: a thread that holds it must not take it again.
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
#define RM_BOARD_SUFFIX    L"-Board3"   /* the section: struct rm_board */
#define RM_WAKE_SUFFIX     L"-Wake"     /* the waiters' auto-reset event */

#define RM_LOCK_FREE    0
#define RM_LOCK_HANDOFF 1               /* given to the waiters: thread IDs are multiples of 4 */
#define RM_LOCK_SLICE   50              /* ms a waiter waits before it looks at the holder */

struct rm_board_lock
{
    LONGLONG owner;                     /* process ID << 32 | thread ID, or FREE or HANDOFF */
    LONG waiters;                       /* threads waiting in rm_lock_take */
    LONG spare;
};

struct rm_board_entry
{
    BYTE hash[32];                      /* the slot's SessionHash */
    LONG sequence;                      /* its Sequence */
    LONG known;                         /* 1: both are what the registry holds */
};

struct rm_board
{
    struct rm_board_lock lock;
    struct rm_board_entry slot[RM_STORE_SLOTS];
};

_Static_assert(sizeof(struct rm_board_lock) == 16 && sizeof(struct rm_board_entry) == 40 &&
               offsetof(struct rm_board_entry, sequence) == 32 && offsetof(struct rm_board, slot) == 16 &&
               sizeof(struct rm_board) == 16 + 40 * RM_STORE_SLOTS,
               "the commit board's layout is shared by every process of the user, 32- and 64-bit");

enum rm_lock_result { RM_LOCK_TAKEN, RM_LOCK_TAKEN_ABANDONED, RM_LOCK_TIMEOUT };

static inline LONGLONG rm_lock_self(void)
{
    return (LONGLONG)(((ULONGLONG)GetCurrentProcessId() << 32) | GetCurrentThreadId());
}

static inline LONGLONG rm_lock_read(struct rm_board_lock *lk)
{
    return InterlockedCompareExchange64(&lk->owner, 0, 0);
}

/* TRUE when the holder named by owner is certainly gone: its thread does not
 * exist, has exited, or belongs to another process (the ID was reused). A thread
 * that cannot be looked up for another reason counts as alive. */
static inline BOOL rm_lock_holder_gone(LONGLONG owner)
{
    DWORD pid = (DWORD)((ULONGLONG)owner >> 32), tid = (DWORD)owner;
    HANDLE t;
    BOOL gone;

    if (owner == RM_LOCK_FREE || owner == RM_LOCK_HANDOFF) return FALSE;
    if (!(t = OpenThread(SYNCHRONIZE | THREAD_QUERY_LIMITED_INFORMATION, FALSE, tid)))
        return GetLastError() == ERROR_INVALID_PARAMETER;   /* no thread has that ID */
    gone = WaitForSingleObject(t, 0) == WAIT_OBJECT_0 || GetProcessIdOfThread(t) != pid;
    CloseHandle(t);
    return gone;
}

/* Takes the lock within timeout_ms. wake is the board's event (RM_WAKE_SUFFIX). */
static inline enum rm_lock_result rm_lock_take(struct rm_board_lock *lk, HANDLE wake, DWORD timeout_ms)
{
    const LONGLONG self = rm_lock_self();
    enum rm_lock_result result = RM_LOCK_TIMEOUT;
    ULONGLONG deadline;
    BOOL woken = FALSE, slice_over = FALSE;

    if (InterlockedCompareExchange64(&lk->owner, self, RM_LOCK_FREE) == RM_LOCK_FREE) return RM_LOCK_TAKEN;

    InterlockedIncrement(&lk->waiters);   /* before the next look: a holder letting go sees it */
    deadline = GetTickCount64() + timeout_ms;
    for (;;)
    {
        LONGLONG owner = InterlockedCompareExchange64(&lk->owner, self, RM_LOCK_FREE);
        ULONGLONG now;
        DWORD wait;

        if (owner == RM_LOCK_FREE) { result = RM_LOCK_TAKEN; break; }
        if (owner == RM_LOCK_HANDOFF && (woken || slice_over) &&
            InterlockedCompareExchange64(&lk->owner, self, RM_LOCK_HANDOFF) == RM_LOCK_HANDOFF)
        {
            result = RM_LOCK_TAKEN;
            break;
        }
        if (slice_over && rm_lock_holder_gone(owner) &&
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
    InterlockedDecrement(&lk->waiters);
    return result;
}

/* Gives the lock back: to the waiters if there are any (they take turns, woken
 * one at a time), else free. */
static inline void rm_lock_give(struct rm_board_lock *lk, HANDLE wake)
{
    if (InterlockedCompareExchange(&lk->waiters, 0, 0) > 0)
    {
        InterlockedExchange64(&lk->owner, RM_LOCK_HANDOFF);
        SetEvent(wake);
        return;
    }
    InterlockedExchange64(&lk->owner, RM_LOCK_FREE);
    /* A waiter that came after the look above may have found it still taken. */
    if (InterlockedCompareExchange(&lk->waiters, 0, 0) > 0) SetEvent(wake);
}

#endif
