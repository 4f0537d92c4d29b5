/*
 * identify.c - which file a registered path names: its identity (volume serial
 * number and file index) and its canonical spelling.
 *
 * A file is identified by its volume serial number and file index whenever it
 * exists, so that every spelling of one file (case, 8.3 short names, \\?\ prefixes,
 * another drive letter mapped to the same place) is one registration. A file that
 * does not exist yet is identified by its canonical full path, compared without
 * regard to case.
 *
 * This file identifies one path by opening it; dirlist.c identifies many at once
 * from their directories' listings, and opens through here what a listing cannot
 * answer.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"
#include "ntapi.h"   /* RtlUpcaseUnicodeChar */

void rm_file_clear(struct rm_file *f)
{
    /* The path stays in its arena, freed with the set that owns it. */
    memset(f, 0, sizeof(*f));
}

/* Drops the Win32 namespace prefix: \\?\C:\x -> C:\x, \\?\UNC\s\x -> \\s\x. */
const WCHAR *rm_path_skip_prefix(const WCHAR *p, SIZE_T *len, BOOL *unc)
{
    *unc = FALSE;
    if (*len >= 4 && p[0] == L'\\' && p[1] == L'\\' && (p[2] == L'?' || p[2] == L'.') && p[3] == L'\\')
    {
        if (*len >= 8 && (p[4] == L'U' || p[4] == L'u') && (p[5] == L'N' || p[5] == L'n') &&
            (p[6] == L'C' || p[6] == L'c') && p[7] == L'\\')
        {
            *unc = TRUE;
            *len -= 8;
            return p + 8;
        }
        *len -= 4;
        return p + 4;
    }
    return p;
}

/* GetFullPathNameW costs about a third of a microsecond a path under Wine (a tenth
 * of a registration call of 100 paths that finds its directory listed), and
 * installers pass full paths it returns unchanged. This says, by rules stricter
 * than the system's, which paths those are, so that they need not be asked for:
 *  - an upper-case drive letter, a colon and a backslash (a lower-case letter, a
 *    relative, UNC or \\?\ path goes to the system), shorter than MAX_PATH;
 *  - components separated by one backslash, none empty (no trailing backslash),
 *    none "." or "..", none ending with a dot or a space (the system drops
 *    those), none holding a slash, a colon, a control character or one of
 *    * ? " < > | ;
 *  - a last component that does not begin with CON, PRN, AUX, NUL, COM or LPT in
 *    any case: the system turns some such names into devices (NUL, "nul.txt",
 *    COM1 ...), and the rule keeps out all of them, and a few names it would not.
 * A path that fails a rule is not wrong: it goes to GetFullPathNameW. */
static BOOL device_like(const WCHAR *name, SIZE_T n)
{
    static const char prefixes[][4] = { "CON", "PRN", "AUX", "NUL", "COM", "LPT" };
    SIZE_T i, k;
    if (n < 3) return FALSE;
    for (i = 0; i < ARRAYSIZE(prefixes); i++)
    {
        for (k = 0; k < 3; k++)
        {
            WCHAR c = name[k];
            if (c >= L'a' && c <= L'z') c = (WCHAR)(c - L'a' + L'A');
            if (c != (WCHAR)prefixes[i][k]) break;
        }
        if (k == 3) return TRUE;
    }
    return FALSE;
}

BOOL rm_path_is_plain_full(const WCHAR *p, SIZE_T *len)
{
    SIZE_T i, start;

    if (!(p[0] >= L'A' && p[0] <= L'Z') || p[1] != L':' || p[2] != L'\\') return FALSE;
    for (i = start = 3;; i++)
    {
        WCHAR c = p[i];
        if (i >= MAX_PATH) return FALSE;
        if (c == L'\\' || !c)
        {
            SIZE_T n = i - start;
            if (!n || p[i - 1] == L'.' || p[i - 1] == L' ') return FALSE;   /* also "." and ".." */
            if (!c)
            {
                if (device_like(p + start, n)) return FALSE;
                *len = i;
                return TRUE;
            }
            start = i + 1;
            continue;
        }
        if (c < 0x20 || c == L'/' || c == L':' || c == L'*' || c == L'?' || c == L'"' || c == L'<' ||
            c == L'>' || c == L'|')
            return FALSE;
    }
}

/* Stores path (without prefix) and its comparison key in f, cut from strings. */
DWORD rm_file_set_path(struct rm_file *f, const WCHAR *p, SIZE_T len, struct rm_strings *strings)
{
    BOOL unc;
    SIZE_T n, off;
    p = rm_path_skip_prefix(p, &len, &unc);
    off = unc ? 2 : 0;
    n = len + off;
    /* One piece for both strings: registrations come by the hundred thousand. */
    if (!(f->path = rm_strings_alloc(strings, 2 * (n + 1)))) return ERROR_OUTOFMEMORY;
    if (unc) f->path[0] = f->path[1] = L'\\';
    memcpy(f->path + off, p, len * sizeof(WCHAR));
    f->path[n] = 0;
    f->path_len = n;
    f->key = f->path + n + 1;
    memcpy(f->key, f->path, (n + 1) * sizeof(WCHAR));
    rm_wcsupper(f->key, n);
    f->key_hash = rm_file_key_hash(f->key, n);
    return ERROR_SUCCESS;
}

/* Moves f's path and key (one piece, as rm_file_set_path cuts them) into strings:
 * a set keeps copies in its own arena of the paths it takes from another. */
DWORD rm_file_move_path(struct rm_file *f, struct rm_strings *strings)
{
    SIZE_T n = f->path_len + 1;
    WCHAR *p = rm_strings_alloc(strings, 2 * n);
    if (!p) return ERROR_OUTOFMEMORY;
    memcpy(p, f->path, n * sizeof(WCHAR));
    memcpy(p + n, f->key, n * sizeof(WCHAR));
    f->path = p;
    f->key = p + n;
    return ERROR_SUCCESS;
}

/* For a 32-bit caller on 64-bit Windows, a path under %windir%\System32 that does
 * not exist yet still means SysWOW64: the file system redirection the caller lives
 * under (spec 12.10). Existing files get this from their final path. The
 * documented exemptions (catroot, catroot2, drivers\etc, logfiles, spool) stay.
 * Returns a new path or NULL. */
static WCHAR *wow64_redirect(const WCHAR *full)
{
    static const WCHAR *const exempt[] = { L"catroot\\", L"catroot2\\", L"drivers\\etc\\",
                                           L"logfiles\\", L"spool\\" };
    WCHAR windir[MAX_PATH], prefix[MAX_PATH + 16], *out;
    SIZE_T n, plen, len, i;
    BOOL wow64 = FALSE;

    if (!IsWow64Process(GetCurrentProcess(), &wow64) || !wow64) return NULL;
    if (!(n = GetSystemWindowsDirectoryW(windir, MAX_PATH)) || n >= MAX_PATH) return NULL;
    memcpy(prefix, windir, n * sizeof(WCHAR));
    memcpy(prefix + n, L"\\system32\\", 10 * sizeof(WCHAR));
    plen = n + 10;
    prefix[plen] = 0;
    len = rm_wcsnlen(full, RM_MAX_PATH_CHARS);
    if (len <= plen || CompareStringOrdinal(full, (int)plen, prefix, (int)plen, TRUE) != CSTR_EQUAL)
        return NULL;
    for (i = 0; i < ARRAYSIZE(exempt); i++)
    {
        SIZE_T el = rm_wcsnlen(exempt[i], 32);
        if (len - plen >= el && CompareStringOrdinal(full + plen, (int)el, exempt[i], (int)el, TRUE) == CSTR_EQUAL)
            return NULL;
    }
    if (!(out = rm_alloc((len + 2) * sizeof(WCHAR)))) return NULL;
    memcpy(out, full, (n + 1) * sizeof(WCHAR));
    memcpy(out + n + 1, L"SysWOW64", 8 * sizeof(WCHAR));
    memcpy(out + n + 9, full + n + 9, (len - n - 9 + 1) * sizeof(WCHAR));
    return out;
}

/* Stored paths are kept without the prefix (set_path): see internal.h. */
const WCHAR *rm_system_form(const WCHAR *path, WCHAR **copy)
{
    SIZE_T len = rm_wcsnlen(path, RM_MAX_PATH_CHARS + 8), skip = 0;
    const WCHAR *prefix = L"\\\\?\\";

    *copy = NULL;
    if (len < MAX_PATH - 12) return path;   /* 248: the limit for a directory */
    if (path[0] == L'\\' && path[1] == L'\\')
    {
        if (path[2] == L'?' || path[2] == L'.') return path;   /* already a device path */
        prefix = L"\\\\?\\UNC";                                 /* \\srv\x -> \\?\UNC\srv\x */
        skip = 1;
    }
    if (!(*copy = rm_alloc((len + 9) * sizeof(WCHAR)))) return NULL;
    memcpy(*copy, prefix, rm_wcsnlen(prefix, 8) * sizeof(WCHAR));
    memcpy(*copy + rm_wcsnlen(prefix, 8), path + skip, (len - skip + 1) * sizeof(WCHAR));
    return *copy;
}

/* ---- one path, by opening it ------------------------------------------------------- */

/* Access 0 with every sharing mode opens even a file held exclusively; backup
 * semantics lets directories open too, so that RmGetList can report them. */
static HANDLE open_for_identity(const WCHAR *path)
{
    WCHAR *copy;
    const WCHAR *name = rm_system_form(path, &copy);
    HANDLE h = name ? CreateFileW(name, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                                  OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL)
                    : INVALID_HANDLE_VALUE;
    rm_free(copy);
    return h;
}

/* The same two queries the handle scan makes (handles.c), so that a registered
 * file and a handle to it always get the same identity: the file index, then the
 * volume's serial number. Neither needs an access right, so a handle opened with
 * access 0 answers them. */
BOOL rm_handle_identity(HANDLE h, struct rm_file_id *id)
{
    ULONGLONG index;
    DWORD serial;

    rm_sys_init();
    if (rm_sys.FileIndex(h, &index) || rm_sys.FileVolume(h, &serial)) return FALSE;
    id->volume = serial;
    id->index_high = (DWORD)(index >> 32);
    id->index_low = (DWORD)index;
    return TRUE;
}

/* Whether a failed open says the path names nothing (rather than something that
 * could not be opened: access denied, sharing, a device). */
static BOOL open_says_absent(DWORD error)
{
    return error == ERROR_FILE_NOT_FOUND || error == ERROR_PATH_NOT_FOUND;
}

/* Fills has_id, is_dir, absent and id from an open handle (has_id FALSE on
 * failure: the file exists but has no identity). */
static void identify(HANDLE h, struct rm_file *f)
{
    FILE_STANDARD_INFO info;

    f->absent = FALSE;
    f->has_id = rm_handle_identity(h, &f->id) &&
                GetFileInformationByHandleEx(h, FileStandardInfo, &info, sizeof(info));
    f->is_dir = f->has_id && info.Directory;
}

void rm_file_identify_open(const WCHAR *path, struct rm_file *f)
{
    HANDLE h = open_for_identity(path);

    f->has_id = FALSE;
    if (h == INVALID_HANDLE_VALUE)
    {
        f->absent = open_says_absent(GetLastError());
        return;
    }
    identify(h, f);
    CloseHandle(h);
}

BOOL rm_path_identity(const WCHAR *path, struct rm_file_id *id)
{
    HANDLE h = open_for_identity(path);
    BOOL ok;

    if (h == INVALID_HANDLE_VALUE) return FALSE;
    ok = rm_handle_identity(h, id);
    CloseHandle(h);
    return ok;
}

/* What opening says of a full path that cannot be opened: no identity, and the
 * path itself as the canonical spelling (for a 32-bit caller under System32,
 * redirected). */
DWORD rm_file_not_opened(const WCHAR *full, struct rm_file *f, struct rm_strings *strings)
{
    WCHAR *redirected = wow64_redirect(full);
    const WCHAR *p = redirected ? redirected : full;
    DWORD err = rm_file_set_path(f, p, rm_wcsnlen(p, RM_MAX_PATH_CHARS + 8), strings);
    rm_free(redirected);
    return err;
}

/* Identifies a full path (GetFullPathNameW already applied) by opening it: its
 * identity and final path when it exists, else as file_not_opened. id_only:
 * has_id, is_dir, absent and id only. */
DWORD rm_file_by_opening(const WCHAR *full, struct rm_file *f, BOOL id_only, struct rm_strings *strings)
{
    WCHAR *final = NULL;
    const WCHAR *spelling;
    DWORD n, err;
    HANDLE h = open_for_identity(full);

    if (h == INVALID_HANDLE_VALUE)
    {
        f->absent = open_says_absent(GetLastError());
        return id_only ? ERROR_SUCCESS : rm_file_not_opened(full, f, strings);
    }
    identify(h, f);
    /* The final path is the canonical spelling: long names, real case, and, for a
     * 32-bit caller, the file system redirection already applied. */
    n = id_only ? 0 : GetFinalPathNameByHandleW(h, NULL, 0, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
    if (n && (final = rm_alloc((SIZE_T)n * sizeof(WCHAR))) &&
        GetFinalPathNameByHandleW(h, final, n, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS) >= n)
    {
        rm_free(final);
        final = NULL;
    }
    CloseHandle(h);
    if (id_only) return ERROR_SUCCESS;
    spelling = final ? final : full;
    err = rm_file_set_path(f, spelling, rm_wcsnlen(spelling, RM_MAX_PATH_CHARS + 8), strings);
    rm_free(final);
    return err;
}

DWORD rm_file_from_path(const WCHAR *path, SIZE_T len, struct rm_file *f, struct rm_strings *strings)
{
    WCHAR stack_buf[MAX_PATH], *full = stack_buf;
    DWORD n, err;

    memset(f, 0, sizeof(*f));
    (void)len;
    /* GetFullPathNameW resolves relative parts, "." and "..", and "/" separators;
     * it keeps \\?\ paths as they are. */
    n = GetFullPathNameW(path, ARRAYSIZE(stack_buf), full, NULL);
    if (n >= ARRAYSIZE(stack_buf))
    {
        if (!(full = rm_alloc((SIZE_T)n * sizeof(WCHAR)))) return ERROR_OUTOFMEMORY;
        n = GetFullPathNameW(path, n, full, NULL);
    }
    err = n ? rm_file_by_opening(full, f, FALSE, strings) : ERROR_BAD_ARGUMENTS;
    if (full != stack_buf) rm_free(full);
    if (err) rm_file_clear(f);
    return err;
}
