/*
 * svcctl.c - stopping and starting services through the SCM (spec 8.4): a set of
 * services in dependency order (dependents stop first and start last), each
 * waited for within WaitToKillServiceTimeout; forced, a service that does not
 * stop has its process ended. A service already STOP_PENDING cannot take the
 * control and is waited for. Critical services never get here (discover.c makes
 * them RmCritical, so RmShutdown refuses with 350).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "operation.h"

static BOOL wait_service_state(struct rm_call *c, SC_HANDLE svc, DWORD want, DWORD timeout)
{
    SERVICE_STATUS_PROCESS st;
    DWORD got, start = GetTickCount();
    for (;;)
    {
        if (!QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (BYTE *)&st, sizeof(st), &got)) return FALSE;
        if (st.dwCurrentState == want) return TRUE;
        if (GetTickCount() - start >= timeout || rm_call_cancelled(c)) return FALSE;
        WaitForSingleObject(c->op->cancel, RM_POLL_MS);
    }
}

/* Indexes of the n services in an order that respects their dependencies within
 * the set: for stopping, each after every member that depends on it; for
 * starting, each after every member it depends on. Dependencies come from the
 * SCM (or its registry data, services.c). Should a cycle appear (the SCM forbids
 * them), the rest keep their listed order. NULL when out of memory: the caller
 * then uses the listed order (dependents after what they depend on, discover.c). */
SIZE_T *rm_svc_order_deps(const WCHAR *const *names, WCHAR *const *deps, SIZE_T n, BOOL stopping)
{
    SIZE_T *order = rm_alloc(n * sizeof(*order)), out = 0, i, j;
    BOOL *done = rm_alloc(n * sizeof(*done));

    if (!order || !done)
    {
        rm_free(order);
        rm_free(done);
        return NULL;
    }
    while (out < n)
    {
        BOOL progress = FALSE;
        for (i = 0; i < n; i++)
        {
            BOOL blocked = FALSE;
            if (done[i]) continue;
            for (j = 0; j < n && !blocked; j++)
                if (j != i && !done[j])
                    blocked = stopping ? rm_multi_sz_has(deps[j], names[i]) : rm_multi_sz_has(deps[i], names[j]);
            if (blocked) continue;
            done[i] = TRUE;
            order[out++] = i;
            progress = TRUE;
        }
        /* A cycle (the SCM forbids them; a damaged configuration): the first one
         * left goes next, and the others follow in order. */
        for (i = 0; !progress && i < n; i++)
            if (!done[i])
            {
                done[i] = TRUE;
                order[out++] = i;
                progress = TRUE;
            }
    }
    rm_free(done);
    return order;
}

SIZE_T *rm_svc_order(SC_HANDLE scm, const WCHAR *const *names, SIZE_T n, BOOL stopping)
{
    WCHAR **deps = rm_alloc(n * sizeof(*deps));
    SIZE_T *order, i;

    if (!deps) return NULL;
    for (i = 0; i < n; i++) deps[i] = scm ? rm_service_dependencies(scm, names[i]) : NULL;
    order = rm_svc_order_deps(names, deps, n, stopping);
    for (i = 0; i < n; i++) rm_free(deps[i]);
    rm_free(deps);
    return order;
}

/* Stops one service (and, forced, ends its process). Returns TRUE when it is
 * stopped, or, after a cancel, on its way down (then RmRestart must start it). */
static BOOL stop_service(struct rm_call *c, SC_HANDLE scm, struct target *t)
{
    SC_HANDLE svc = scm ? OpenServiceW(scm, t->app->info.strServiceShortName,
                                       SERVICE_STOP | SERVICE_QUERY_STATUS) : NULL;
    SERVICE_STATUS st;
    BOOL ok = FALSE;
    DWORD e;

    if (!svc)
    {
        rm_fail(ERROR_FAIL_SHUTDOWN, scm ? GetLastError() : ERROR_INVALID_HANDLE, "OpenServiceW",
                t->app->info.strServiceShortName);
        return FALSE;
    }
    /* A service already on its way down cannot take the control: wait for it. */
    if (ControlService(svc, SERVICE_CONTROL_STOP, &st) || (e = GetLastError()) == ERROR_SERVICE_NOT_ACTIVE ||
        e == ERROR_SERVICE_CANNOT_ACCEPT_CTRL)
        ok = wait_service_state(c, svc, SERVICE_STOPPED, c->svc_timeout);
    else
        rm_fail(ERROR_FAIL_SHUTDOWN, e, "ControlService(STOP)", t->app->info.strServiceShortName);
    if (!ok && !c->cancelled)
        rm_warn("service %ls did not stop within %lu ms%s", t->app->info.strServiceShortName, c->svc_timeout,
                c->op->force ? "; ending its process" : "");
    if (!ok && c->cancelled && QueryServiceStatus(svc, &st))
        ok = st.dwCurrentState == SERVICE_STOPPED || st.dwCurrentState == SERVICE_STOP_PENDING;
    else if (!ok && c->op->force && t->process)
    {
        /* Forced after WaitToKillServiceTimeout: end its process. */
        ok = rm_terminate_wait(t->process);
    }
    CloseServiceHandle(svc);
    return ok;
}

/* Dependents before what they depend on (spec 8.4). */
DWORD rm_svc_stop_all(struct rm_call *c, struct target *tg, SIZE_T n)
{
    SC_HANDLE scm;
    const WCHAR **names;
    SIZE_T *order = NULL, k;
    DWORD err = ERROR_SUCCESS;

    if (!n) return ERROR_SUCCESS;
    if (rm_call_cancelled(c)) return ERROR_CANCELLED;
    scm = rm_call_scm(c);
    if ((names = rm_alloc(n * sizeof(*names))))
    {
        for (k = 0; k < n; k++) names[k] = tg[k].app->info.strServiceShortName;
        order = rm_svc_order(scm, names, n, TRUE);
        rm_free(names);
    }
    rm_call_log_shutting_down(tg, n);
    for (k = 0; k < n; k++)
    {
        struct target *t = &tg[order ? order[k] : n - 1 - k];
        BOOL ok;

        if (rm_call_cancelled(c)) { err = ERROR_CANCELLED; break; }
        ok = stop_service(c, scm, t);
        if (c->cancelled)
        {
            if (ok) rm_call_set_stopped(t->app, TRUE);
            err = ERROR_CANCELLED;
            break;
        }
        rm_call_set_stopped(t->app, ok);
        if (!ok) err = ERROR_FAIL_SHUTDOWN;
        rm_progress_step(&c->progress);
    }
    rm_free(order);
    return err;
}

/* Starts one service and waits for it to run (RmRestart). */
BOOL rm_svc_restart(struct rm_call *c, const WCHAR *name)
{
    SC_HANDLE scm = rm_call_scm(c), svc;
    BOOL ok = FALSE;

    if (!scm) return FALSE;
    if ((svc = OpenServiceW(scm, name, SERVICE_START | SERVICE_QUERY_STATUS)))
    {
        if (StartServiceW(svc, 0, NULL) || GetLastError() == ERROR_SERVICE_ALREADY_RUNNING)
            ok = wait_service_state(c, svc, SERVICE_RUNNING, c->svc_timeout);
        else
            rm_fail(ERROR_FAIL_RESTART, GetLastError(), "StartServiceW", name);
        if (!ok && !c->cancelled) rm_warn("service %ls is not running %lu ms after its start", name, c->svc_timeout);
        CloseServiceHandle(svc);
    }
    else
        rm_fail(ERROR_FAIL_RESTART, GetLastError(), "OpenServiceW", name);
    return ok;
}
