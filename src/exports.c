/*
 * exports.c - the twelve exported functions: trace, validate, delegate.
 *
 * Order of checks in every function: argument shape first (NULL pointers, counts,
 * reserved flags: ERROR_BAD_ARGUMENTS), then the handle (ERROR_INVALID_HANDLE),
 * then the caller's role (a secondary gets ERROR_SESSION_CREDENTIAL_CONFLICT from
 * everything but RmRegisterResources and RmEndSession, spec 4.6 and U5). Outputs
 * are written only when the call succeeds, unless the contract says otherwise.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"

#define RETURN(code) return rm_trace_ret(__func__, (code))

/* Takes a reference on the session of handle, checking role; on failure returns
 * the error and *s is NULL. */
static DWORD get_session(DWORD handle, BOOL primary_only, struct rm_session **s)
{
    DWORD err = rm_session_get(handle, s);
    if (err) return err;
    if (primary_only && (*s)->role != RM_ROLE_PRIMARY)
    {
        rm_session_put(*s);
        *s = NULL;
        return ERROR_SESSION_CREDENTIAL_CONFLICT;
    }
    return ERROR_SUCCESS;
}

/* Events 10000/10001: "Starting session %1 - %2." / "Ending session %1 started %2." */
static void log_session_event(BOOL start, DWORD handle)
{
    struct rm_session *s;
    WCHAR number[12], when[32];

    if (rm_session_get(handle, &s)) return;
    wsprintfW(number, L"%lu", handle);
    rm_event_time(&s->opened, when);
    if (start) rm_event(RM_EVT_SESSION_START, EVENTLOG_INFORMATION_TYPE, number, when);
    else rm_event(RM_EVT_SESSION_END, EVENTLOG_INFORMATION_TYPE, number, when);
    rm_session_put(s);
}

DWORD WINAPI RmStartSession(DWORD *pSessionHandle, DWORD dwSessionFlags, WCHAR strSessionKey[])
{
    struct rm_store_session st;
    WCHAR key[RM_KEY_CHARS + 1];
    DWORD err, handle;

    rm_trace("RmStartSession(%p, 0x%lx, %p)", pSessionHandle, dwSessionFlags, strSessionKey);
    if (!pSessionHandle || !strSessionKey) RETURN(ERROR_BAD_ARGUMENTS);
    /* The handle inside the key's 33 characters would be overwritten by the key. */
    if (rm_overlaps(pSessionHandle, sizeof(DWORD), strSessionKey, (RM_KEY_CHARS + 1) * sizeof(WCHAR)))
        RETURN(ERROR_BAD_ARGUMENTS);
    /* Reserved, "should be 0" (spec U4): refuse what a future version might mean. */
    if (dwSessionFlags) RETURN(ERROR_BAD_ARGUMENTS);

    if ((err = rm_store_create(&st, key))) RETURN(err);
    if ((err = rm_session_open(&st, RM_ROLE_PRIMARY, &handle)))
    {
        rm_store_delete(&st);
        rm_store_release(&st);
        SecureZeroMemory(key, sizeof(key));
        RETURN(err);
    }
    *pSessionHandle = handle;
    memcpy(strSessionKey, key, sizeof(key));   /* exactly 33 WCHARs */
    SecureZeroMemory(key, sizeof(key));
    rm_trace("RmStartSession: session %lu (slot %lu)", handle, st.slot);
    log_session_event(TRUE, handle);
    RETURN(ERROR_SUCCESS);
}

DWORD WINAPI RmJoinSession(DWORD *pSessionHandle, const WCHAR strSessionKey[])
{
    struct rm_store_session st;
    BYTE key[RM_KEY_BYTES];
    DWORD err, handle;

    rm_trace("RmJoinSession(%p, %p)", pSessionHandle, strSessionKey);
    if (!pSessionHandle || !strSessionKey) RETURN(ERROR_BAD_ARGUMENTS);
    /* Key comparison is case-insensitive (spec U3): the key is a number in hex. */
    if (!rm_key_parse(strSessionKey, key)) RETURN(ERROR_SESSION_CREDENTIAL_CONFLICT);
    err = rm_sha256(key, sizeof(key), st.key_hash);
    SecureZeroMemory(key, sizeof(key));
    if (err) RETURN(err);
    if ((err = rm_store_find(st.key_hash, &st))) RETURN(err);
    if ((err = rm_session_open(&st, RM_ROLE_SECONDARY, &handle)))
    {
        rm_store_release(&st);
        RETURN(err);
    }
    *pSessionHandle = handle;
    RETURN(ERROR_SUCCESS);
}

DWORD WINAPI RmEndSession(DWORD dwSessionHandle)
{
    struct rm_session *s;
    DWORD err;

    rm_trace("RmEndSession(%lu)", dwSessionHandle);
    if ((err = get_session(dwSessionHandle, FALSE, &s))) RETURN(err);
    if ((err = rm_session_lock(s)))
    {
        rm_session_put(s);
        RETURN(err);
    }
    if (s->role == RM_ROLE_PRIMARY)
    {
        log_session_event(FALSE, dwSessionHandle);
        /* Removes the session and everything registered in it. If the store cannot
         * be changed the handle stays valid, so the caller may try again. */
        err = rm_store_delete(&s->store);
        if (err == ERROR_INVALID_HANDLE) err = ERROR_SUCCESS;   /* already gone */
    }
    /* A secondary only leaves; the session lives on until its primary ends it. */
    if (!err && !rm_session_close(s)) err = ERROR_INVALID_HANDLE;   /* lost a race */
    rm_session_unlock(s);
    rm_session_put(s);
    RETURN(err);
}

DWORD WINAPI RmRegisterResources(DWORD dwSessionHandle, UINT nFiles, LPCWSTR rgsFileNames[],
                                 UINT nApplications, RM_UNIQUE_PROCESS rgApplications[],
                                 UINT nServices, LPCWSTR rgsServiceNames[])
{
    struct rm_resources batch;
    struct rm_session *s;
    SIZE_T bytes;
    DWORD err;

    rm_trace("RmRegisterResources(%lu, %u, %p, %u, %p, %u, %p)", dwSessionHandle, nFiles,
             rgsFileNames, nApplications, rgApplications, nServices, rgsServiceNames);
    if ((nFiles && !rgsFileNames) || (nApplications && !rgApplications) ||
        (nServices && !rgsServiceNames))
        RETURN(ERROR_BAD_ARGUMENTS);
    /* A count whose array could not exist in the address space is a bad argument,
     * not something to walk. */
    if (!rm_mul_ok(nFiles, sizeof(LPCWSTR), &bytes) ||
        !rm_mul_ok(nApplications, sizeof(RM_UNIQUE_PROCESS), &bytes) ||
        !rm_mul_ok(nServices, sizeof(LPCWSTR), &bytes))
        RETURN(ERROR_BAD_ARGUMENTS);
    if ((err = get_session(dwSessionHandle, FALSE, &s))) RETURN(err);
    if (!nFiles && !nApplications && !nServices)
    {
        /* Nothing to add: succeed on any handle this process holds, without the
         * store. WiX's dutil makes this call as a flush right before RmEndSession;
         * failing it because the primary already ended the session would make WiX
         * skip its RmEndSession and keep the handle for good (README, Choices). */
        rm_session_put(s);
        RETURN(ERROR_SUCCESS);
    }

    /* Validation and file lookups happen before any lock is taken. */
    if (!(err = rm_batch_build(&batch, nFiles, rgsFileNames, nApplications, rgApplications,
                               nServices, rgsServiceNames)))
    {
        if (rm_trace_enabled())
        {
            SIZE_T i;
            for (i = 0; i < batch.nfiles; i++)
                rm_trace("  file %ls%s", batch.files[i].path,
                         batch.files[i].absent ? " (does not exist)" : batch.files[i].has_id ? "" : " (no identity)");
            for (i = 0; i < batch.nprocs; i++)
                rm_trace("  process %lu", batch.procs[i].dwProcessId);
            for (i = 0; i < batch.nsvcs; i++) rm_trace("  service %ls", batch.svcs[i]);
        }
        if (!(err = rm_session_lock(s)))
        {
            err = rm_store_register(&s->store, &s->res, &batch);
            rm_session_unlock(s);
        }
        if (!err)
        {
            WCHAR files[12], procs[12], svcs[12];
            wsprintfW(files, L"%u", nFiles);
            wsprintfW(procs, L"%u", nApplications);
            wsprintfW(svcs, L"%u", nServices);
            rm_event(RM_EVT_REGISTERING, EVENTLOG_INFORMATION_TYPE, files, procs, svcs);
        }
        rm_resources_free(&batch);
    }
    rm_session_put(s);
    RETURN(err);
}

DWORD WINAPI RmGetList(DWORD dwSessionHandle, UINT *pnProcInfoNeeded, UINT *pnProcInfo,
                       RM_PROCESS_INFO rgAffectedApps[], LPDWORD lpdwRebootReasons)
{
    struct rm_session *s;
    UINT capacity, needed = 0, count = 0;
    SIZE_T bytes;
    DWORD err, reasons = 0;

    rm_trace("RmGetList(%lu, %p, %p, %p, %p)", dwSessionHandle, pnProcInfoNeeded, pnProcInfo,
             rgAffectedApps, lpdwRebootReasons);
    if (!pnProcInfoNeeded || !pnProcInfo || !lpdwRebootReasons) RETURN(ERROR_BAD_ARGUMENTS);
    /* The capacity is read once, here: callers pass one variable as both counts
     * (RmGetList(h, &n, &n, ...)), and a count written before the capacity is read
     * would let the array overflow. */
    capacity = *pnProcInfo;
    if (capacity && !rgAffectedApps) RETURN(ERROR_BAD_ARGUMENTS);
    /* A count or the reasons inside the array would be overwritten by an element. */
    if (!rm_mul_ok(capacity, sizeof(RM_PROCESS_INFO), &bytes) ||
        rm_overlaps(pnProcInfoNeeded, sizeof(UINT), rgAffectedApps, bytes) ||
        rm_overlaps(pnProcInfo, sizeof(UINT), rgAffectedApps, bytes) ||
        rm_overlaps(lpdwRebootReasons, sizeof(DWORD), rgAffectedApps, bytes))
        RETURN(ERROR_BAD_ARGUMENTS);
    if ((err = get_session(dwSessionHandle, TRUE, &s))) RETURN(err);
    err = rm_get_list(s, capacity, rgAffectedApps, &needed, &count, &reasons);
    rm_session_put(s);
    if (!err || err == ERROR_MORE_DATA)
    {
        /* Written last, in this order: with one variable for both counts, the
         * caller is left with the size it needs (and, on success, the two are equal
         * anyway). */
        *lpdwRebootReasons = reasons;
        *pnProcInfo = count;
        *pnProcInfoNeeded = needed;
    }
    RETURN(err);
}

DWORD WINAPI RmShutdown(DWORD dwSessionHandle, ULONG lActionFlags, RM_WRITE_STATUS_CALLBACK fnStatus)
{
    struct rm_session *s;
    DWORD err;

    rm_trace("RmShutdown(%lu, 0x%lx, %p)", dwSessionHandle, lActionFlags, fnStatus);
    if (lActionFlags & ~(ULONG)(RmForceShutdown | RmShutdownOnlyRegistered))
        RETURN(ERROR_BAD_ARGUMENTS);
    if ((err = get_session(dwSessionHandle, TRUE, &s))) RETURN(err);
    err = rm_shutdown(s, lActionFlags, fnStatus);
    rm_session_put(s);
    RETURN(err);
}

DWORD WINAPI RmRestart(DWORD dwSessionHandle, DWORD dwRestartFlags, RM_WRITE_STATUS_CALLBACK fnStatus)
{
    struct rm_session *s;
    DWORD err;

    rm_trace("RmRestart(%lu, 0x%lx, %p)", dwSessionHandle, dwRestartFlags, fnStatus);
    if (dwRestartFlags) RETURN(ERROR_BAD_ARGUMENTS);   /* reserved (spec U4) */
    if ((err = get_session(dwSessionHandle, TRUE, &s))) RETURN(err);
    err = rm_restart(s, fnStatus);
    rm_session_put(s);
    RETURN(err);
}

DWORD WINAPI RmCancelCurrentTask(DWORD dwSessionHandle)
{
    struct rm_session *s;
    DWORD err;

    rm_trace("RmCancelCurrentTask(%lu)", dwSessionHandle);
    if ((err = get_session(dwSessionHandle, TRUE, &s))) RETURN(err);
    /* Deliberately not under s->lock: the call to cancel holds it. With nothing
     * running this only arms a flag the next operation clears (spec U17). */
    rm_cancel_request(s);
    rm_session_put(s);
    RETURN(ERROR_SUCCESS);
}

/* Shared by RmAddFilter and RmRemoveFilter. */
static DWORD filter_call(DWORD handle, LPCWSTR module, RM_UNIQUE_PROCESS *proc, LPCWSTR service,
                         RM_FILTER_ACTION action, BOOL add)
{
    struct rm_filter f;
    struct rm_session *s;
    DWORD err;

    if (add && action != RmNoRestart && action != RmNoShutdown) return ERROR_BAD_ARGUMENTS;
    if ((err = rm_filter_target(&f, module, proc, service))) return err;
    f.action = action;
    if ((err = get_session(handle, TRUE, &s)))
    {
        rm_filter_clear(&f);
        return err;
    }
    if ((err = rm_session_lock(s)))
    {
        rm_filter_clear(&f);
        rm_session_put(s);
        return err;
    }
    if (!(err = rm_store_check(&s->store)))
    {
        if (add) err = rm_filters_add(&s->filters, &f);
        else err = rm_filters_remove(&s->filters, &f);
    }
    rm_session_unlock(s);
    rm_filter_clear(&f);
    rm_session_put(s);
    return err;
}

DWORD WINAPI RmAddFilter(DWORD dwSessionHandle, LPCWSTR strModuleName, RM_UNIQUE_PROCESS *pProcess,
                         LPCWSTR strServiceShortName, RM_FILTER_ACTION FilterAction)
{
    rm_trace("RmAddFilter(%lu, %ls, %p, %ls, %d)", dwSessionHandle,
             strModuleName ? strModuleName : L"(null)", pProcess,
             strServiceShortName ? strServiceShortName : L"(null)", FilterAction);
    RETURN(filter_call(dwSessionHandle, strModuleName, pProcess, strServiceShortName,
                       FilterAction, TRUE));
}

DWORD WINAPI RmRemoveFilter(DWORD dwSessionHandle, LPCWSTR strModuleName, RM_UNIQUE_PROCESS *pProcess,
                            LPCWSTR strServiceShortName)
{
    rm_trace("RmRemoveFilter(%lu, %ls, %p, %ls)", dwSessionHandle,
             strModuleName ? strModuleName : L"(null)", pProcess,
             strServiceShortName ? strServiceShortName : L"(null)");
    RETURN(filter_call(dwSessionHandle, strModuleName, pProcess, strServiceShortName,
                       RmInvalidFilterAction, FALSE));
}

DWORD WINAPI RmGetFilterList(DWORD dwSessionHandle, PBYTE pbFilterBuf, DWORD cbFilterBuf,
                             LPDWORD cbFilterBufNeeded)
{
    struct rm_session *s;
    DWORD err, needed = 0;

    rm_trace("RmGetFilterList(%lu, %p, %lu, %p)", dwSessionHandle, pbFilterBuf, cbFilterBuf,
             cbFilterBufNeeded);
    /* The needed-size pointer is required (spec U9); a NULL buffer is only the size
     * query with a zero size. */
    if (!cbFilterBufNeeded || (!pbFilterBuf && cbFilterBuf)) RETURN(ERROR_BAD_ARGUMENTS);
    /* The size inside the buffer would be overwritten by the records, or the
     * reverse. */
    if (rm_overlaps(cbFilterBufNeeded, sizeof(DWORD), pbFilterBuf, cbFilterBuf))
        RETURN(ERROR_BAD_ARGUMENTS);
    if ((err = get_session(dwSessionHandle, TRUE, &s))) RETURN(err);
    if ((err = rm_session_lock(s)))
    {
        rm_session_put(s);
        RETURN(err);
    }
    if (!(err = rm_store_check(&s->store)))
    {
        err = rm_filters_write(&s->filters, pbFilterBuf, cbFilterBuf, &needed);
        if (!err || err == ERROR_MORE_DATA) *cbFilterBufNeeded = needed;
    }
    rm_session_unlock(s);
    rm_session_put(s);
    RETURN(err);
}

DWORD WINAPI RmReserveHeap(ULONG_PTR reserved)
{
    /* Undocumented, with no known caller (spec U2): accept and succeed. */
    rm_trace("RmReserveHeap(%p)", (void *)reserved);
    RETURN(ERROR_SUCCESS);
}
