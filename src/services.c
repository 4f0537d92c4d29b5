/*
 * services.c - the running services, which process hosts each, and dependents.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"

void rm_services_free(struct rm_services *s)
{
    rm_free(s->buffer);
    if (s->scm) CloseServiceHandle(s->scm);
    memset(s, 0, sizeof(*s));
}

DWORD rm_services_snapshot(struct rm_services *s)
{
    DWORD needed = 0, count = 0, resume = 0, size = 64 << 10;
    int tries;

    memset(s, 0, sizeof(*s));
    if (!(s->scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT | SC_MANAGER_ENUMERATE_SERVICE)))
        return ERROR_SUCCESS;   /* no SCM access: no services to report */
    for (tries = 0; tries < 6; tries++)
    {
        rm_free(s->buffer);
        if (!(s->buffer = rm_alloc(size))) return ERROR_OUTOFMEMORY;
        resume = 0;
        if (EnumServicesStatusExW(s->scm, SC_ENUM_PROCESS_INFO, SERVICE_WIN32, SERVICE_ACTIVE,
                                  s->buffer, size, &needed, &count, &resume, NULL))
        {
            s->items = (ENUM_SERVICE_STATUS_PROCESSW *)s->buffer;
            s->count = count;
            return ERROR_SUCCESS;
        }
        if (GetLastError() != ERROR_MORE_DATA) break;
        size = needed + (16 << 10);
    }
    s->items = NULL;
    s->count = 0;
    return ERROR_SUCCESS;   /* degrade to "no services" rather than fail the list */
}

const ENUM_SERVICE_STATUS_PROCESSW *rm_services_find(const struct rm_services *s, const WCHAR *name)
{
    SIZE_T i;
    for (i = 0; i < s->count; i++)
        if (!rm_wcsicmp(s->items[i].lpServiceName, name)) return &s->items[i];
    return NULL;
}

BOOL rm_service_is_critical(const WCHAR *name)
{
    /* The services whose host the documentation calls a critical system process
     * (spec 7): stopping them takes the system down. */
    static const WCHAR *const critical[] = { L"RpcSs", L"DcomLaunch", L"PlugPlay", L"RpcEptMapper",
                                             L"LSM", L"SamSs" };
    SIZE_T i;
    for (i = 0; i < ARRAYSIZE(critical); i++)
        if (!rm_wcsicmp(name, critical[i])) return TRUE;
    return FALSE;
}

DWORD rm_services_dependents(const struct rm_services *s, const WCHAR *name, const WCHAR ***out,
                             SIZE_T *count)
{
    const WCHAR **list = NULL;
    SIZE_T n = 0, cap = 0, done = 0;
    DWORD err = ERROR_SUCCESS;

    *out = NULL;
    *count = 0;
    if (!s->scm) return ERROR_SUCCESS;
    /* Breadth first over direct dependents, so indirect ones are found whatever
     * EnumDependentServices reports, and each service once. */
    if ((err = rm_grow((void **)&list, &cap, 1, sizeof(*list)))) return err;
    list[n++] = name;
    for (done = 0; done < n && !err; done++)
    {
        SC_HANDLE svc = OpenServiceW(s->scm, list[done], SERVICE_ENUMERATE_DEPENDENTS);
        ENUM_SERVICE_STATUSW *deps = NULL;
        DWORD needed = 0, ndeps = 0, i;
        if (!svc) continue;
        if (!EnumDependentServicesW(svc, SERVICE_ACTIVE, NULL, 0, &needed, &ndeps) &&
            GetLastError() == ERROR_MORE_DATA && needed && (deps = rm_alloc(needed)) &&
            EnumDependentServicesW(svc, SERVICE_ACTIVE, deps, needed, &needed, &ndeps))
        {
            for (i = 0; i < ndeps && !err; i++)
            {
                const ENUM_SERVICE_STATUS_PROCESSW *known = rm_services_find(s, deps[i].lpServiceName);
                SIZE_T j;
                BOOL seen = FALSE;
                if (!known) continue;   /* not running */
                for (j = 0; j < n; j++) seen |= !rm_wcsicmp(list[j], known->lpServiceName);
                if (seen) continue;
                if (!(err = rm_grow((void **)&list, &cap, n + 1, sizeof(*list))))
                    list[n++] = known->lpServiceName;   /* points into the snapshot */
            }
        }
        rm_free(deps);
        CloseServiceHandle(svc);
    }
    if (err) { rm_free(list); return err; }
    /* list[0] is the service itself. */
    memmove(list, list + 1, (n - 1) * sizeof(*list));
    *out = list;
    *count = n - 1;
    return ERROR_SUCCESS;
}
