/*
 * services.c - the running services, which process hosts each, and dependents.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"

void rm_services_free(struct rm_services *s)
{
    SIZE_T i;
    for (i = 0; s->deps && i < s->count; i++) rm_free(s->deps[i]);
    rm_free(s->deps);
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

BOOL rm_service_may_control(const struct rm_services *s, const WCHAR *name)
{
    SC_HANDLE svc;

    rm_sys_init();
    if (!s->scm) return TRUE;   /* not listed without the SCM anyway */
    if ((svc = rm_sys.OpenServiceW(s->scm, name, SERVICE_STOP | SERVICE_START | SERVICE_QUERY_STATUS)))
    {
        CloseServiceHandle(svc);
        return TRUE;
    }
    /* Only a refusal counts; a service that went away meanwhile is for the
     * shutdown to find. */
    if (GetLastError() != ERROR_ACCESS_DENIED) return TRUE;
    rm_trace("service %ls: the caller may not stop it (OpenService: access denied)", name);
    return FALSE;
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

/* The services name depends on, as a double-NUL list (caller frees). The SCM's
 * QueryServiceConfig is asked first; where it reports none (Wine 8 leaves
 * lpDependencies empty) the service's DependOnService registry value, which is
 * where the SCM keeps them, is read instead. */
WCHAR *rm_service_dependencies(SC_HANDLE scm, const WCHAR *name)
{
    QUERY_SERVICE_CONFIGW *cfg = NULL;
    DWORD needed = 0, type, cb = 0;
    WCHAR path[300], *list = NULL;
    SC_HANDLE svc;
    SIZE_T n;
    HKEY key;

    if ((svc = OpenServiceW(scm, name, SERVICE_QUERY_CONFIG)))
    {
        if (!QueryServiceConfigW(svc, NULL, 0, &needed) && GetLastError() == ERROR_INSUFFICIENT_BUFFER &&
            (cfg = rm_alloc(needed)) && QueryServiceConfigW(svc, cfg, needed, &needed) &&
            cfg->lpDependencies && cfg->lpDependencies[0])
        {
            const WCHAR *p = cfg->lpDependencies;
            while (*p) p += rm_wcsnlen(p, 512) + 1;
            list = rm_wcsdup_n(cfg->lpDependencies, (SIZE_T)(p - cfg->lpDependencies));
        }
        rm_free(cfg);
        CloseServiceHandle(svc);
        if (list) return list;
    }
    n = rm_wcsnlen(L"System\\CurrentControlSet\\Services\\", 64);
    if (rm_wcsnlen(name, 256) > 256) return NULL;
    memcpy(path, L"System\\CurrentControlSet\\Services\\", n * sizeof(WCHAR));
    memcpy(path + n, name, (rm_wcsnlen(name, 256) + 1) * sizeof(WCHAR));
    if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, path, 0, KEY_QUERY_VALUE, &key)) return NULL;
    if (!RegQueryValueExW(key, L"DependOnService", NULL, &type, NULL, &cb) && type == REG_MULTI_SZ &&
        cb && (list = rm_alloc(cb + 2 * sizeof(WCHAR))) &&
        RegQueryValueExW(key, L"DependOnService", NULL, &type, (BYTE *)list, &cb))
    {
        rm_free(list);
        list = NULL;
    }
    RegCloseKey(key);
    return list;
}

BOOL rm_multi_sz_has(const WCHAR *list, const WCHAR *name)
{
    for (; list && *list; list += rm_wcsnlen(list, 512) + 1)
        if (!rm_wcsicmp(list, name)) return TRUE;
    return FALSE;
}

DWORD rm_services_dependents(struct rm_services *s, const WCHAR *name, const WCHAR ***out,
                             SIZE_T *count)
{
    const WCHAR **list = NULL;
    WCHAR **deps;
    SIZE_T n = 0, cap = 0, done, i, j;
    DWORD err;

    *out = NULL;
    *count = 0;
    if (!s->scm || !s->count) return ERROR_SUCCESS;
    /* What each running service depends on: asked of the SCM once per snapshot,
     * however many registered or hosting services look for their dependents. */
    if (!s->deps)
    {
        if (!(s->deps = rm_alloc(s->count * sizeof(*s->deps)))) return ERROR_OUTOFMEMORY;
        for (i = 0; i < s->count; i++) s->deps[i] = rm_service_dependencies(s->scm, s->items[i].lpServiceName);
    }
    deps = s->deps;

    /* Breadth first from name: every running service that depends on something
     * already in the list joins it, once. list[0] is name itself. */
    if (!(err = rm_grow((void **)&list, &cap, 1, sizeof(*list)))) list[n++] = name;
    for (done = 0; done < n && !err; done++)
        for (i = 0; i < s->count && !err; i++)
        {
            BOOL seen = FALSE;
            if (!rm_multi_sz_has(deps[i], list[done])) continue;
            for (j = 0; j < n; j++) seen |= !rm_wcsicmp(list[j], s->items[i].lpServiceName);
            if (seen) continue;
            if (!(err = rm_grow((void **)&list, &cap, n + 1, sizeof(*list))))
                list[n++] = s->items[i].lpServiceName;   /* points into the snapshot */
        }
    if (err) { rm_free(list); return err; }
    memmove(list, list + 1, (n - 1) * sizeof(*list));
    *out = list;
    *count = n - 1;
    return ERROR_SUCCESS;
}
