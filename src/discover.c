/*
 * discover.c - RmGetList: who uses the registered resources, recomputed per call.
 *
 * Users of registered files are the processes that hold a handle to one
 * (fileusers.c), have it loaded as their executable or a module (below) or have it
 * mapped as data (mapwalk.c). Then come the registered processes that are still
 * the same process (PID and start time), the registered services that run, and
 * the running services that depend on them. A process hosting services is
 * reported once per hosted service (spec U15); any other process once, as
 * procinfo.c describes it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"
#include "ntapi.h"
#include <stddef.h>
#include <tlhelp32.h>
#include "mapwalk.h"




/* ---- loaded modules -------------------------------------------------------------- */

static BOOL path_registered(const struct rm_resources *r, const WCHAR *path)
{
    WCHAR key[MAX_PATH + 1];
    SIZE_T n = rm_wcsnlen(path, MAX_PATH);
    if (n > MAX_PATH) return FALSE;
    memcpy(key, path, n * sizeof(WCHAR));
    rm_wcsupper(key, n);
    return rm_resources_has_loadable_key(r, key, n);
}

/* A 32-bit process's modules may be reported under %windir%\System32 (its own,
 * redirected view: Wine does this) while the files are in SysWOW64. For such a
 * process, a System32 module path also matches the SysWOW64 registration. */
static BOOL wow64_alias_registered(const struct rm_resources *r, const WCHAR *path)
{
    WCHAR windir[MAX_PATH], alias[MAX_PATH + 1];
    SIZE_T n = GetSystemWindowsDirectoryW(windir, MAX_PATH), len = rm_wcsnlen(path, MAX_PATH);

    if (!n || n >= MAX_PATH || len > MAX_PATH || len <= n + 10) return FALSE;
    if (CompareStringOrdinal(path, (int)n, windir, (int)n, TRUE) != CSTR_EQUAL ||
        CompareStringOrdinal(path + n, 10, L"\\system32\\", 10, TRUE) != CSTR_EQUAL)
        return FALSE;
    memcpy(alias, path, (len + 1) * sizeof(WCHAR));
    memcpy(alias + n + 1, L"SysWOW64", 8 * sizeof(WCHAR));
    return path_registered(r, alias);
}

/* Opens a module file and asks whether it is one of the registered files. */
static BOOL module_identity_registered(const struct rm_resources *r, const WCHAR *path)
{
    struct rm_file_id id;
    return rm_path_identity(path, &id) && rm_resources_has_id(r, &id);
}

/* Is pid a 32-bit process on 64-bit Windows? Asked once per process, lazily. */
static BOOL process_is_wow64(DWORD pid, int *cache)
{
    if (*cache < 0)
    {
        HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
        BOOL wow = FALSE;
        *cache = h && IsWow64Process(h, &wow) && wow;
        if (h) CloseHandle(h);
    }
    return *cache > 0;
}

#ifdef _WIN64
/* Reads the loader's list of a process of our own architecture straight from its
 * memory and tells whether a registered file is among its modules. Toolhelp reads
 * the same list but also every module's two names, and under Wine every read is a
 * round trip to the server: listing every process's modules that way cost three
 * times the whole handle scan (bench_getlist). Here a module whose base name does
 * not have the length of a registered file's final name costs one read, its
 * entry; only a module with a registered file's final name is compared by path
 * and identity. Every image's extent goes to images (for the walk of mapped
 * views, mapwalk.c). FALSE with *read_ok FALSE when the list cannot be read (toolhelp tries
 * then). */
static BOOL loader_list_registered(HANDLE process, const struct rm_resources *r, const struct rm_name_set *names,
                                   WCHAR *path, SIZE_T cch, struct rm_ranges *images, BOOL *read_ok)
{
    PROCESS_BASIC_INFORMATION pbi;
    PEB_LDR_DATA *ldr = NULL;
    BYTE *head, *link = NULL;
    int n;

    *read_ok = FALSE;
    if (!NT_SUCCESS(NtQueryInformationProcess(process, ProcessBasicInformation, &pbi, sizeof(pbi), NULL)) ||
        !pbi.PebBaseAddress ||
        !ReadProcessMemory(process, (BYTE *)pbi.PebBaseAddress + offsetof(PEB, Ldr), &ldr, sizeof(ldr), NULL) ||
        !ldr)
        return FALSE;
    head = (BYTE *)ldr + offsetof(PEB_LDR_DATA, InMemoryOrderModuleList);
    if (!ReadProcessMemory(process, head, &link, sizeof(link), NULL)) return FALSE;
    *read_ok = TRUE;
    /* The list may change under us (a module loading): bounded, and a read that
     * fails ends it (as toolhelp's would). */
    for (n = 0; link && link != head && n < 16384; n++)
    {
        RM_LDR_ENTRY e;
        SIZE_T base_len, full_len;
        BOOL tail;

        if (!ReadProcessMemory(process, link - offsetof(RM_LDR_ENTRY, InMemoryOrderLinks), &e, sizeof(e), NULL))
            break;
        link = (BYTE *)e.InMemoryOrderLinks.Flink;
        rm_ranges_add(images, (ULONG_PTR)e.DllBase, e.SizeOfImage);
        full_len = e.FullDllName.Length / sizeof(WCHAR);
        base_len = e.BaseDllName.Length / sizeof(WCHAR);
        if (!full_len || full_len >= cch || !e.FullDllName.Buffer) continue;
        /* The base name is the full name's tail (one buffer): its length alone can
         * rule the module out. An entry where it is not is read in full. */
        tail = e.BaseDllName.Buffer && base_len <= full_len &&
               e.BaseDllName.Buffer + base_len == e.FullDllName.Buffer + full_len;
        if (tail && !names->lengths[base_len < MAX_PATH ? base_len : MAX_PATH]) continue;
        if (!ReadProcessMemory(process, e.FullDllName.Buffer, path, full_len * sizeof(WCHAR), NULL)) continue;
        path[full_len] = 0;
        if (rm_name_set_has(names, path) && (path_registered(r, path) || module_identity_registered(r, path)))
            return TRUE;
    }
    return FALSE;
}
#endif

/* Adds every process that has a registered file loaded (its executable or any
 * module), and gives every other process to the walk for files mapped as data,
 * with its images. Module paths are the loader's canonical full paths, matched
 * against the registered files' canonical paths; a module with a registered
 * file's name but another path is compared by identity (the name set). */
static DWORD find_module_users(const struct rm_resources *r, const struct rm_name_set *names,
                               struct rm_pid_set *found, struct rm_walk *walk, volatile LONG *cancel)
{
    PROCESSENTRY32W pe;
    struct rm_ranges images = { NULL, 0, 0 };
    HANDLE procs;
    DWORD err = ERROR_SUCCESS;
#ifdef _WIN64
    const SIZE_T cch = RM_MAX_PATH_CHARS + 1;
    WCHAR *path;

    if (!(path = rm_alloc(cch * sizeof(WCHAR)))) return ERROR_OUTOFMEMORY;
#endif
    if ((procs = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0)) == INVALID_HANDLE_VALUE)
    {
        err = GetLastError();
#ifdef _WIN64
        rm_free(path);
#endif
        return err;
    }
    pe.dwSize = sizeof(pe);
    for (BOOL more = Process32FirstW(procs, &pe); more && !err; more = Process32NextW(procs, &pe))
    {
        MODULEENTRY32W me;
        HANDLE snap;
        BOOL hit = FALSE;
        int wow64 = -1;

        if (!pe.th32ProcessID || rm_pid_set_has(found, pe.th32ProcessID)) continue;
        if (*cancel) { err = ERROR_CANCELLED; break; }
        images.count = 0;
#ifdef _WIN64
        {
            /* A 64-bit process: its list, read directly. A 32-bit one (WoW64) keeps
             * its modules in a 32-bit list: toolhelp reads both. */
            HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_VM_READ, FALSE, pe.th32ProcessID);
            BOOL wow = TRUE, read_ok = FALSE;
            if (h && IsWow64Process(h, &wow) && !wow)
                hit = loader_list_registered(h, r, names, path, cch, &images, &read_ok);
            if (h) CloseHandle(h);
            if (read_ok) goto modules_done;
            images.count = 0;   /* toolhelp lists them all again */
        }
#endif
        snap = CreateToolhelp32Snapshot(TH32CS_SNAPMODULE | TH32CS_SNAPMODULE32, pe.th32ProcessID);
        if (snap != INVALID_HANDLE_VALUE)
        {
            me.dwSize = sizeof(me);
            for (BOOL m = Module32FirstW(snap, &me); m && !hit; m = Module32NextW(snap, &me))
            {
                hit = path_registered(r, me.szExePath) ||
                      (wow64_alias_registered(r, me.szExePath) && process_is_wow64(pe.th32ProcessID, &wow64)) ||
                      (rm_name_set_has(names, me.szExePath) && module_identity_registered(r, me.szExePath));
                rm_ranges_add(&images, (ULONG_PTR)me.modBaseAddr, me.modBaseSize);
            }
            CloseHandle(snap);
        }
        else
        {
            /* A 32-bit caller cannot list a 64-bit process's modules: at least
             * check its executable. */
            WCHAR image[MAX_PATH];
            DWORD len = MAX_PATH;
            HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pe.th32ProcessID);
            if (h)
            {
                hit = QueryFullProcessImageNameW(h, 0, image, &len) &&
                      (path_registered(r, image) ||
                       (rm_name_set_has(names, image) && module_identity_registered(r, image)));
                CloseHandle(h);
            }
        }
#ifdef _WIN64
    modules_done:
#endif
        err = hit ? rm_pid_set_add(found, pe.th32ProcessID) : rm_walk_add(walk, pe.th32ProcessID, &images);
    }
    CloseHandle(procs);
    rm_free(images.items);
#ifdef _WIN64
    rm_free(path);
#endif
    return err;
}

/* Is a mapped file's name a registered file, by path or by identity (the walk
 * gives only names that pass the name set)? */
static BOOL view_registered(const WCHAR *name, void *ctx)
{
    const struct rm_resources *r = ctx;
    return path_registered(r, name) || module_identity_registered(r, name);
}

/* Every process that uses a registered file: handles (fileusers.c), modules, and
 * views of files mapped as data (mapwalk.c). The modules come first (one read of
 * each process's loader list), then the handle scan and the walk of the other
 * processes' address spaces run side by side, the walk skipping what the scan
 * matches meanwhile. */
static DWORD find_file_users(const struct rm_resources *r, struct rm_pid_set *users, volatile LONG *cancel,
                             HANDLE cancel_event)
{
    struct rm_name_set names;
    struct rm_pid_set loaders = { 0 };
    struct rm_walk *walk = NULL;
    DWORD err, walk_err;
    SIZE_T i;

    /* Only files that exist are loaded or mapped by anybody: a registered path
     * known to have no file behind it (yet) is ignored at list time (spec 5.4,
     * UNCERTAIN: the recommended default), and with none left no process is
     * looked into. A file that exists but has no identity (a volume that answers
     * no serial number) is still matched by its path. */
    for (i = 0; i < r->nfiles && !rm_file_loadable(&r->files[i]); i++) {}
    if (i == r->nfiles) return rm_file_users(r, users, cancel, cancel_event);

    if ((err = rm_name_set_build(r, &names))) return err;
    err = rm_walk_new(&names, &walk);
    if (!err) err = find_module_users(r, &names, &loaders, walk, cancel);
    if (err)
    {
        rm_walk_free(walk);
        rm_pid_set_free(&loaders);
        rm_name_set_free(&names);
        return err;
    }
    users->board = rm_walk_board(walk);
    rm_walk_start(walk);
    err = rm_file_users(r, users, cancel, cancel_event);
    users->board = NULL;
    walk_err = rm_walk_finish(walk, cancel, view_registered, (void *)r, users);
    if (!err) err = walk_err;
    for (i = 0; i < loaders.count && !err; i++) err = rm_pid_set_add(users, loaders.pids[i]);
    rm_pid_set_free(&loaders);
    rm_name_set_free(&names);
    return err;
}

/* ---- building the list ------------------------------------------------------------ */

static BOOL listed(const struct rm_app_list *l, DWORD pid, const WCHAR *service)
{
    SIZE_T i;
    for (i = 0; i < l->count; i++)
        if (l->items[i].info.Process.dwProcessId == pid &&
            !rm_wcsicmp(l->items[i].info.strServiceShortName, service ? service : L""))
            return TRUE;
    return FALSE;
}

static DWORD add_entry(struct rm_app_list *l, const RM_PROCESS_INFO *info, const WCHAR *image)
{
    DWORD err = rm_grow((void **)&l->items, &l->cap, l->count + 1, sizeof(*l->items));
    if (err) return err;
    memset(&l->items[l->count], 0, sizeof(l->items[0]));
    l->items[l->count].info = *info;
    rm_copy_name(l->items[l->count].image, MAX_PATH, image);
    l->count++;
    return ERROR_SUCCESS;
}

static DWORD add_service(struct rm_app_list *l, const struct rm_services *svcs,
                         const ENUM_SERVICE_STATUS_PROCESSW *svc)
{
    RM_PROCESS_INFO info;
    DWORD pid = svc->ServiceStatusProcess.dwProcessId, len = MAX_PATH;
    WCHAR image[MAX_PATH];
    HANDLE h;

    if (listed(l, pid, svc->lpServiceName)) return ERROR_SUCCESS;
    image[0] = 0;
    if ((h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid)))
    {
        if (!QueryFullProcessImageNameW(h, 0, image, &len)) image[0] = 0;
        CloseHandle(h);
    }
    memset(&info, 0, sizeof(info));
    rm_proc_identity(pid, &info.Process);
    rm_copy_name(info.strAppName, ARRAYSIZE(info.strAppName),
                 svc->lpDisplayName ? svc->lpDisplayName : svc->lpServiceName);
    rm_copy_name(info.strServiceShortName, ARRAYSIZE(info.strServiceShortName), svc->lpServiceName);
    info.AppStatus = RmStatusRunning;
    if (!ProcessIdToSessionId(pid, &info.TSSessionId)) info.TSSessionId = (DWORD)RM_INVALID_TS_SESSION;
    if (rm_service_is_critical(svc->lpServiceName))
    {
        info.ApplicationType = RmCritical;
        l->reboot_reasons |= RmRebootReasonCriticalService;
    }
    else if (!rm_service_may_control(svcs, svc->lpServiceName))
    {
        /* Listed, but not ours to stop: RmShutdown refuses up front (350). */
        info.ApplicationType = RmCritical;
        l->reboot_reasons |= RmRebootReasonPermissionDenied;
    }
    else
    {
        info.ApplicationType = RmService;
        info.bRestartable = TRUE;   /* always, for a service (spec 2.3) */
    }
    return add_entry(l, &info, image);
}

/* A registered service and the running services that depend on it. */
static DWORD add_service_tree(struct rm_app_list *l, struct rm_services *svcs, const WCHAR *name)
{
    const ENUM_SERVICE_STATUS_PROCESSW *svc = rm_services_find(svcs, name);
    const WCHAR **deps;
    SIZE_T n, i;
    DWORD err;

    if (!svc) return ERROR_SUCCESS;   /* not running: nothing to shut down */
    if ((err = add_service(l, svcs, svc))) return err;
    if ((err = rm_services_dependents(svcs, svc->lpServiceName, &deps, &n))) return err;
    for (i = 0; i < n && !err; i++) err = add_service(l, svcs, rm_services_find(svcs, deps[i]));
    rm_free(deps);
    return err;
}

/* A process that uses a registered resource: per hosted service, or itself. */
static DWORD add_user(struct rm_app_list *l, struct rm_services *svcs, const struct rm_window_map *wins,
                      DWORD pid)
{
    RM_PROCESS_INFO info;
    WCHAR image[MAX_PATH];
    BOOL hosts = FALSE;
    SIZE_T i;
    DWORD err = ERROR_SUCCESS;

    for (i = 0; i < svcs->count && !err; i++)
        if (svcs->items[i].ServiceStatusProcess.dwProcessId == pid)
        {
            /* A hosted service is stopped with its running dependents (spec 8.4). */
            hosts = TRUE;
            err = add_service_tree(l, svcs, svcs->items[i].lpServiceName);
        }
    if (hosts || err || listed(l, pid, NULL)) return err;
    err = rm_proc_describe(pid, wins, &info, &l->reboot_reasons, image, MAX_PATH);
    if (err == ERROR_NOT_FOUND) return ERROR_SUCCESS;   /* exited meanwhile */
    return err ? err : add_entry(l, &info, image);
}

/* ---- the reboot decision ------------------------------------------------------------- */

/* Event 10005; its string lists the entries that need the reboot, one
 * "Application <name>" line each, as Windows' event data does. */
static void log_reboot_required(const struct rm_app_list *list)
{
    WCHAR text[900];
    SIZE_T i, used = 0;

    text[0] = 0;
    for (i = 0; i < list->count && used < ARRAYSIZE(text) - CCH_RM_MAX_APP_NAME - 20; i++)
        if (list->items[i].info.ApplicationType == RmCritical)
            used += (SIZE_T)wsprintfW(text + used, L"\r\nApplication %s", list->items[i].info.strAppName);
    rm_event(RM_EVT_REBOOT_REQUIRED, EVENTLOG_INFORMATION_TYPE, text);
}
/* Logged when the session's reboot reasons become non-zero, whichever of RmGetList
 * and RmShutdown finds it (spec U10): once per change, not on every call of an
 * installer's list loop. */
void rm_note_reboot(struct rm_session *s, const struct rm_app_list *list)
{
    BOOL becomes = list->reboot_reasons && !s->reboot_reasons;
    s->reboot_reasons = list->reboot_reasons;
    if (becomes) log_reboot_required(list);
}

/* ---- RmGetList ---------------------------------------------------------------------- */

DWORD rm_discover(struct rm_session *s, struct rm_app_list *out)
{
    struct rm_resources *r = &s->res;
    struct rm_pid_set users = { 0 };
    struct rm_services svcs = { 0 };
    struct rm_window_map wins = { 0 };
    DWORD err;
    SIZE_T i;

    memset(out, 0, sizeof(*out));
    if ((err = rm_resources_refresh(r))) return err;
    /* A directory cannot be "in use" the way RM understands it (spec 5.5). */
    for (i = 0; i < r->nfiles; i++)
        if (r->files[i].is_dir)
        {
            rm_trace("RmGetList: registered path %ls is a directory", r->files[i].path);
            return ERROR_ACCESS_DENIED;
        }

    if ((err = find_file_users(r, &users, &s->cancel, s->cancel_event))) goto done;
    /* A registered process counts only while it is the same process (PID and
     * creation time): a reused PID is somebody else. */
    for (i = 0; i < r->nprocs && !err; i++)
        if (rm_process_alive(&r->procs[i])) err = rm_pid_set_add(&users, r->procs[i].dwProcessId);
    if (err) goto done;
    if (s->cancel) { err = ERROR_CANCELLED; goto done; }

    /* Nobody uses anything and no service is registered: the list is empty, and
     * the service snapshot and window map (tens of ms under Wine) are not needed. */
    if (!users.count && !r->nsvcs) goto done;
    if ((err = rm_services_snapshot(&svcs)) || (err = rm_window_map_build(&wins))) goto done;
    for (i = 0; i < r->nsvcs && !err; i++) err = add_service_tree(out, &svcs, r->svcs[i]);
    for (i = 0; i < users.count && !err; i++) err = add_user(out, &svcs, &wins, users.pids[i]);

done:
    rm_pid_set_free(&users);
    rm_services_free(&svcs);
    rm_window_map_free(&wins);
    if (err) rm_app_list_free(out);
    return err;
}

DWORD rm_get_list(struct rm_session *s, UINT capacity, RM_PROCESS_INFO *apps, UINT *needed,
                  UINT *count, DWORD *reasons)
{
    struct rm_app_list list;
    DWORD err;
    SIZE_T i;

    if ((err = rm_session_begin_long(s))) return err;
    if (!(err = rm_store_sync(&s->store, &s->res)) && !(err = rm_discover(s, &list)))
    {
        rm_note_reboot(s, &list);
        if ((err = rm_history_merge(&s->history, &list))) rm_app_list_free(&list);
    }
    rm_session_end_long(s);
    if (err) return err;

    if (list.count > UINT_MAX) { rm_app_list_free(&list); return ERROR_OUTOFMEMORY; }
    *needed = (UINT)list.count;
    *reasons = list.reboot_reasons;
    if (capacity < list.count)
    {
        /* Too small (or the size query): write no element, and say none were
         * filled (spec U6). */
        *count = 0;
        rm_app_list_free(&list);
        return ERROR_MORE_DATA;
    }
    for (i = 0; i < list.count; i++) apps[i] = list.items[i].info;
    *count = (UINT)list.count;
    rm_app_list_free(&list);
    return ERROR_SUCCESS;
}
