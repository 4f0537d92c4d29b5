/*
 * session.c - the session handles this process holds.
 *
 * A handle is a small integer. The primary's handle is the store slot number, as
 * on Windows (the first session of a user is handle 0, kept in Session0000). A
 * second handle to the same slot in one process (the primary joining its own
 * session, or two joins) gets slot + 64 * k, the smallest such value not in use,
 * so every handle in a process is distinct and still tells its slot.
 *
 * Objects are reference counted: a call in flight keeps its session alive even if
 * another thread ends it meanwhile; the end only removes the handle from the table.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"

static SRWLOCK table_lock = SRWLOCK_INIT;
static struct rm_session *table[RM_MAX_HANDLES];

static struct rm_session *find_locked(DWORD handle)
{
    int i;
    for (i = 0; i < RM_MAX_HANDLES; i++)
        if (table[i] && table[i]->handle == handle) return table[i];
    return NULL;
}

DWORD rm_session_open(const struct rm_store_session *st, enum rm_role role, DWORD *handle)
{
    struct rm_session *s;
    int i, free_index = -1;
    DWORD h;

    if (!(s = rm_alloc(sizeof(*s)))) return ERROR_OUTOFMEMORY;
    s->role = role;
    s->store = *st;
    s->refs = 1;
    GetSystemTimeAsFileTime(&s->opened);
    InitializeSRWLock(&s->lock);

    AcquireSRWLockExclusive(&table_lock);
    for (i = 0; i < RM_MAX_HANDLES; i++)
        if (!table[i]) { free_index = i; break; }
    if (free_index < 0)
    {
        ReleaseSRWLockExclusive(&table_lock);
        rm_free(s);
        return ERROR_MAX_SESSIONS_REACHED;
    }
    for (h = st->slot; find_locked(h); h += RM_MAX_SESSIONS) {}
    s->handle = h;
    table[free_index] = s;
    ReleaseSRWLockExclusive(&table_lock);
    *handle = h;
    return ERROR_SUCCESS;
}

DWORD rm_session_get(DWORD handle, struct rm_session **out)
{
    struct rm_session *s;

    AcquireSRWLockShared(&table_lock);
    if ((s = find_locked(handle))) InterlockedIncrement(&s->refs);
    ReleaseSRWLockShared(&table_lock);
    *out = s;
    return s ? ERROR_SUCCESS : ERROR_INVALID_HANDLE;
}

void rm_session_put(struct rm_session *s)
{
    if (InterlockedDecrement(&s->refs)) return;
    rm_store_release(&s->store);
    rm_resources_free(&s->res);
    rm_filters_free(&s->filters);
    rm_app_list_free(&s->history);
    if (s->cancel_event) CloseHandle(s->cancel_event);
    rm_free(s);
}

BOOL rm_session_close(struct rm_session *s)
{
    BOOL removed = FALSE;
    int i;

    AcquireSRWLockExclusive(&table_lock);
    for (i = 0; i < RM_MAX_HANDLES; i++)
        if (table[i] == s)
        {
            table[i] = NULL;
            removed = TRUE;
            break;
        }
    ReleaseSRWLockExclusive(&table_lock);
    if (removed) rm_session_put(s);   /* the table's reference */
    return removed;
}

void rm_sessions_unload(void)
{
    int i;
    /* The table's references; nothing else holds one once the DLL can unload. */
    for (i = 0; i < RM_MAX_HANDLES; i++)
        if (table[i])
        {
            rm_session_put(table[i]);
            table[i] = NULL;
        }
}

DWORD rm_session_lock(struct rm_session *s)
{
    if (s->lock_owner == GetCurrentThreadId()) return ERROR_SEM_TIMEOUT;
    InterlockedIncrement(&s->short_waiters);
    AcquireSRWLockExclusive(&s->lock);
    InterlockedDecrement(&s->short_waiters);
    s->lock_owner = GetCurrentThreadId();
    return ERROR_SUCCESS;
}

static DWORD rm_session_lock_long(struct rm_session *s)
{
    DWORD start = GetTickCount();
    if (s->lock_owner == GetCurrentThreadId()) return ERROR_SEM_TIMEOUT;
    while (s->short_waiters && GetTickCount() - start < 200) Sleep(1);
    AcquireSRWLockExclusive(&s->lock);
    s->lock_owner = GetCurrentThreadId();
    return ERROR_SUCCESS;
}

void rm_session_unlock(struct rm_session *s)
{
    s->lock_owner = 0;
    ReleaseSRWLockExclusive(&s->lock);
}

/* ---- cancellation ------------------------------------------------------------------------ */

/* Each operation gets an event of its own: workers of an earlier, cancelled one
 * may still be waiting on theirs (a duplicate held by their op), and must keep
 * seeing it set; resetting a shared event would revive them. */
static void operation_announce(struct rm_session *s)
{
    AcquireSRWLockExclusive(&s->cancel_lock);
    s->entering++;
    ReleaseSRWLockExclusive(&s->cancel_lock);
}

static void operation_withdraw(struct rm_session *s)
{
    AcquireSRWLockExclusive(&s->cancel_lock);
    if (s->entering > 0 && !--s->entering) s->cancel_early = FALSE;
    ReleaseSRWLockExclusive(&s->cancel_lock);
}

static void operation_begin(struct rm_session *s)
{
    HANDLE fresh = CreateEventW(NULL, TRUE, FALSE, NULL);
    BOOL early;

    AcquireSRWLockExclusive(&s->cancel_lock);
    if (s->cancel_event) CloseHandle(s->cancel_event);
    s->cancel_event = fresh;
    /* A cancel that came while this call waited for its turn applies to it. */
    early = s->cancel_early;
    if (s->entering > 0 && !--s->entering) s->cancel_early = FALSE;
    InterlockedExchange(&s->cancel, early);
    if (early && fresh) SetEvent(fresh);
    InterlockedExchange(&s->busy, 1);
    ReleaseSRWLockExclusive(&s->cancel_lock);
}

static void operation_end(struct rm_session *s)
{
    AcquireSRWLockExclusive(&s->cancel_lock);
    InterlockedExchange(&s->busy, 0);
    ReleaseSRWLockExclusive(&s->cancel_lock);
}

void rm_cancel_request(struct rm_session *s)
{
    /* Only a running operation is cancelled (spec U17): the next one starts clean. */
    AcquireSRWLockExclusive(&s->cancel_lock);
    if (s->busy)
    {
        InterlockedExchange(&s->cancel, 1);
        if (s->cancel_event) SetEvent(s->cancel_event);
    }
    else if (s->entering) s->cancel_early = TRUE;   /* for the call about to begin */
    ReleaseSRWLockExclusive(&s->cancel_lock);
}

DWORD rm_session_begin_long(struct rm_session *s)
{
    DWORD err;
    operation_announce(s);
    if ((err = rm_session_lock_long(s)))
    {
        operation_withdraw(s);
        return err;
    }
    operation_begin(s);
    return ERROR_SUCCESS;
}

void rm_session_end_long(struct rm_session *s)
{
    operation_end(s);
    rm_session_unlock(s);
}
