/*
 * fileusers.c - which processes use a registered file: hold a handle to it, or
 * (ours) a mapped view of it. Loaded modules are discover.c's.
 *
 * Two ways, giving the same answer:
 *  - Fast path (real Windows): NtQueryInformationFile(FileProcessIdsUsingFileInformation)
 *    on each registered file asks the kernel directly. It is decided per file: a
 *    file the kernel does not answer for (the open fails, access denied, a file
 *    system without that class) goes to the handle table, the others do not. The
 *    kernel counts the handle we open to ask, so our own PID in its answer only
 *    means "look at our own handles and mappings".
 *  - The system handle table (handles.c) for the files the kernel did not answer
 *    for: every file under Wine, which answers STATUS_NOT_IMPLEMENTED.
 * A data mapping of ours is a use (the kernel counts it) that holds no handle a
 * scan could see: our own mapped views are checked here.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"
#include "ntapi.h"
#include <psapi.h>

/* ---- our own process ------------------------------------------------------------------- */

/* Opens the file a mapped view of ours shows: the name is a native path
 * (\Device\HarddiskVolumeN\... on Windows, \??\C:\... under Wine), so it is
 * opened as one; a plain DOS path (Wine shows a few) as that. */
static HANDLE open_mapped_name(const WCHAR *name)
{
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    IO_STATUS_BLOCK iosb;
    HANDLE h;

    if (name[0] != L'\\')
        return CreateFileW(name, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                           FILE_FLAG_BACKUP_SEMANTICS, NULL);
    RtlInitUnicodeString(&us, name);
    InitializeObjectAttributes(&oa, &us, OBJ_CASE_INSENSITIVE, NULL, NULL);
    if (!NT_SUCCESS(NtOpenFile(&h, FILE_READ_ATTRIBUTES | SYNCHRONIZE, &oa, &iosb,
                               FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                               FILE_SYNCHRONOUS_IO_NONALERT | FILE_OPEN_FOR_BACKUP_INTENT)))
        return INVALID_HANDLE_VALUE;
    return h;
}

/* TRUE when we have a file of wanted (scope SELF) mapped as data: a mapping is a
 * use (the kernel's answer counts it), and it holds no handle a scan could see.
 * Images are modules, and other processes' data mappings are found by walking
 * their address spaces: both are discover.c's. */
static BOOL self_maps_wanted(const struct rm_idset *wanted)
{
    MEMORY_BASIC_INFORMATION mbi;
    WCHAR *name;
    BYTE *p = NULL;
    BOOL hit = FALSE;
    const DWORD cch = RM_MAX_PATH_CHARS + 16;

    if (!(name = rm_alloc(cch * sizeof(WCHAR)))) return FALSE;
    while (!hit && VirtualQuery(p, &mbi, sizeof(mbi)))
    {
        if (mbi.Type == MEM_MAPPED && mbi.BaseAddress == mbi.AllocationBase &&
            GetMappedFileNameW(GetCurrentProcess(), mbi.BaseAddress, name, cch))
        {
            ULONGLONG index;
            DWORD volume;
            HANDLE h = open_mapped_name(name);
            if (h != INVALID_HANDLE_VALUE)
            {
                /* As in the scan: the volume only for a registered index. */
                hit = !rm_sys.FileIndex(h, &index) && (rm_idset_scope(wanted, index, NULL) & RM_SCOPE_SELF) &&
                      !rm_sys.FileVolume(h, &volume) && (rm_idset_scope(wanted, index, &volume) & RM_SCOPE_SELF);
                CloseHandle(h);
            }
        }
        if ((BYTE *)mbi.BaseAddress + mbi.RegionSize <= p) break;
        p = (BYTE *)mbi.BaseAddress + mbi.RegionSize;
    }
    rm_free(name);
    return hit;
}

/* ---- the fast path ------------------------------------------------------------------ */

static BOOL fast_path_off;

static BOOL CALLBACK fast_path_init(INIT_ONCE *once, void *param, void **ctx)
{
    WCHAR v[16];
    (void)once; (void)param; (void)ctx;
    /* RSTRTMGR_DISCOVERY=handles forces the handle table even where the kernel
     * could answer, so that both paths can be compared on one machine. */
    if (GetEnvironmentVariableW(L"RSTRTMGR_DISCOVERY", v, ARRAYSIZE(v)) && !rm_wcsicmp(v, L"handles"))
        fast_path_off = TRUE;
    /* Where a test plays the kernel's answer (sys.c), it is the handle table's. */
    rm_sys_holders = rm_handles_holders;
    return TRUE;
}

/* Volumes whose system answered STATUS_NOT_IMPLEMENTED: it lacks the class (Wine
 * does for every file), so their files are not asked again in this process. Any
 * other refusal is about one file, this time (access denied, a file system
 * without the class). */
static SRWLOCK unimplemented_lock = SRWLOCK_INIT;
static DWORD unimplemented[16];
static LONG nunimplemented;

static BOOL volume_unimplemented(DWORD volume)
{
    LONG i;
    BOOL hit = FALSE;
    AcquireSRWLockShared(&unimplemented_lock);
    for (i = 0; i < nunimplemented && !hit; i++) hit = unimplemented[i] == volume;
    ReleaseSRWLockShared(&unimplemented_lock);
    return hit;
}

static void note_unimplemented(DWORD volume)
{
    AcquireSRWLockExclusive(&unimplemented_lock);
    if (nunimplemented < (LONG)ARRAYSIZE(unimplemented)) unimplemented[nunimplemented++] = volume;
    ReleaseSRWLockExclusive(&unimplemented_lock);
    rm_trace("discovery: volume %08lx cannot list a file's processes; its files go to the handle table",
             volume);
}

/* Asks the kernel which processes have f open, adding them to found. *answered is
 * FALSE when it would not say (then the handle table must); *self when it named
 * us, which our own handle to ask always makes it do. */
static DWORD fast_query(const struct rm_file *f, struct rm_pid_set *found, BOOL *answered, BOOL *self)
{
    ULONG size = 4096;
    RM_FILE_PROCESS_IDS *ids = NULL;
    DWORD err = ERROR_SUCCESS, e, me = GetCurrentProcessId();
    WCHAR *copy;
    const WCHAR *name;
    HANDLE h;
    ULONG i;

    *answered = *self = FALSE;
    /* Stored paths have no \\?\ prefix: a long one needs it back, or it does not
     * open in a process that is not long-path aware. */
    if (!(name = rm_system_form(f->path, &copy))) return ERROR_OUTOFMEMORY;
    h = rm_sys.CreateFileW(name, FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                           NULL, OPEN_EXISTING, 0, NULL);
    e = h == INVALID_HANDLE_VALUE ? GetLastError() : ERROR_SUCCESS;
    rm_free(copy);
    /* Not opened is not "nobody uses it": the handle table will tell. */
    if (h == INVALID_HANDLE_VALUE)
    {
        rm_trace("discovery: %ls does not open (%lu); its users come from the handle table", f->path, e);
        return ERROR_SUCCESS;
    }
    for (;;)
    {
        if (!(ids = rm_alloc(size))) { err = ERROR_OUTOFMEMORY; break; }
        e = rm_sys.FileProcessIds(h, ids, size);
        if (!e)
        {
            ULONG max = (size - FIELD_OFFSET(RM_FILE_PROCESS_IDS, ProcessIdList)) / sizeof(ULONG_PTR);
            *answered = TRUE;
            for (i = 0; i < ids->NumberOfProcessIdsInList && i < max && !err; i++)
            {
                if ((DWORD)ids->ProcessIdList[i] == me) *self = TRUE;
                else err = rm_pid_set_add(found, (DWORD)ids->ProcessIdList[i]);
            }
            break;
        }
        rm_free(ids);
        ids = NULL;
        if (e == ERROR_MORE_DATA)
        {
            if (size >= (64u << 20)) { err = ERROR_OUTOFMEMORY; break; }
            size *= 4;
            continue;
        }
        if (e == ERROR_CALL_NOT_IMPLEMENTED) note_unimplemented(f->id.volume);
        else rm_trace("discovery: the kernel would not list the users of %ls (%lu); the handle table will",
                      f->path, e);
        break;
    }
    rm_free(ids);
    CloseHandle(h);
    return err;
}

/* ---- the entry point ----------------------------------------------------------------- */

DWORD rm_file_users(const struct rm_resources *r, struct rm_pid_set *found, volatile LONG *cancel,
                    HANDLE cancel_event)
{
    static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
    struct rm_idset wanted = { NULL, 0 };
    SIZE_T i, with_id = 0, to_table = 0, self_only = 0;
    DWORD err, me = GetCurrentProcessId();
    BOOL answered, self;

    for (i = 0; i < r->nfiles; i++) with_id += r->files[i].has_id && !r->files[i].is_dir;
    if (!with_id) return ERROR_SUCCESS;
    if ((err = rm_idset_init(&wanted, with_id))) return err;

    rm_sys_init();
    InitOnceExecuteOnce(&once, fast_path_init, NULL, NULL);
    for (i = 0; i < r->nfiles && !err; i++)
    {
        const struct rm_file *f = &r->files[i];
        if (!f->has_id || f->is_dir) continue;
        if (*cancel) { err = ERROR_CANCELLED; break; }
        answered = self = FALSE;
        if (!fast_path_off && !volume_unimplemented(f->id.volume)) err = fast_query(f, found, &answered, &self);
        if (err) break;
        if (!answered)
        {
            rm_idset_add(&wanted, &f->id, RM_SCOPE_OTHERS | RM_SCOPE_SELF);
            to_table++;
        }
        else if (self)
        {
            /* Our own handle to ask is one of those the kernel counted. */
            rm_idset_add(&wanted, &f->id, RM_SCOPE_SELF);
            self_only++;
        }
    }
    if (!err && to_table < with_id)
        rm_trace("discovery: the kernel answered for %lu of %lu files", (unsigned long)(with_id - to_table),
                 (unsigned long)with_id);
    if (!err && (to_table || (self_only && !rm_pid_set_has(found, me))))
        err = rm_handle_scan(&wanted, to_table != 0, !rm_pid_set_has(found, me), found, cancel, cancel_event);
    /* A file we have mapped is one we use, handle or not (the kernel counts the
     * mapping); other processes' mappings are discover.c's. */
    if (!err && (to_table || self_only) && !rm_pid_set_has(found, me) && self_maps_wanted(&wanted))
        err = rm_pid_set_add(found, me);
    rm_idset_free(&wanted);
    return err;
}
