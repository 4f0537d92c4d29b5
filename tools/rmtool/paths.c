/*
 * paths.c - turning rmtool's PATH operands into the list of files to register:
 * files as their full path, directories as every file beneath them.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "rmtool.h"
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

WCHAR *full_path(const WCHAR *arg)
{
    DWORD n = GetFullPathNameW(arg, 0, NULL, NULL), m;
    WCHAR *buf;

    if (!n)
    {
        DWORD err = GetLastError();
        report_error(L"%ls: cannot resolve the path: %lu %ls", arg, (unsigned long)err,
                     err_name(err) ? err_name(err) : L"");
        return NULL;
    }
    if (!(buf = malloc((size_t)n * sizeof(WCHAR))))
    {
        report_error(L"out of memory");
        return NULL;
    }
    m = GetFullPathNameW(arg, n, buf, NULL);
    if (!m || m >= n)
    {
        free(buf);
        report_error(L"%ls: cannot resolve the path", arg);
        return NULL;
    }
    return buf;
}

/* Takes ownership of path. */
static DWORD list_push(struct file_list *list, WCHAR *path)
{
    if (list->count == list->cap)
    {
        size_t cap = list->cap ? list->cap * 2 : 64;
        WCHAR **items = realloc(list->items, cap * sizeof(*items));
        if (!items)
        {
            free(path);
            return ERROR_OUTOFMEMORY;
        }
        list->items = items;
        list->cap = cap;
    }
    list->items[list->count++] = path;
    return ERROR_SUCCESS;
}

void files_free(struct file_list *list)
{
    size_t i;
    for (i = 0; i < list->count; i++) free(list->items[i]);
    free(list->items);
    memset(list, 0, sizeof(*list));
}

/* dir + "\" + name, malloc'd. */
static WCHAR *join(const WCHAR *dir, const WCHAR *name)
{
    size_t a = wcslen(dir), b = wcslen(name);
    BOOL sep = a && dir[a - 1] != L'\\' && dir[a - 1] != L'/';
    WCHAR *p = malloc((a + sep + b + 1) * sizeof(WCHAR));
    if (!p) return NULL;
    memcpy(p, dir, a * sizeof(WCHAR));
    if (sep) p[a++] = L'\\';
    memcpy(p + a, name, (b + 1) * sizeof(WCHAR));
    return p;
}

/* The search pattern dir\* in a form FindFirstFileEx accepts beyond MAX_PATH. */
static WCHAR *pattern_for(const WCHAR *dir)
{
    WCHAR *pat = join(dir, L"*"), *ext;
    size_t n;
    if (!pat || wcslen(pat) < MAX_PATH - 1 || !wcsncmp(pat, L"\\\\?\\", 4)) return pat;
    n = wcslen(pat);
    /* Long: the \\?\ form (\\?\UNC\server\share for UNC paths). */
    if (!wcsncmp(pat, L"\\\\", 2))
    {
        if (!(ext = malloc((n + 8) * sizeof(WCHAR)))) { free(pat); return NULL; }
        wcscpy(ext, L"\\\\?\\UNC\\");
        wcscat(ext, pat + 2);
    }
    else
    {
        if (!(ext = malloc((n + 5) * sizeof(WCHAR)))) { free(pat); return NULL; }
        wcscpy(ext, L"\\\\?\\");
        wcscat(ext, pat);
    }
    free(pat);
    return ext;
}

/* Adds the files below dir (a full path) to list, depth first. */
static DWORD walk(struct file_list *list, const WCHAR *dir, size_t *added)
{
    WIN32_FIND_DATAW fd;
    WCHAR *pat = pattern_for(dir);
    HANDLE find;
    DWORD err = ERROR_SUCCESS;

    if (!pat) return ERROR_OUTOFMEMORY;
    find = FindFirstFileExW(pat, FindExInfoBasic, &fd, FindExSearchNameMatch, NULL,
                            FIND_FIRST_EX_LARGE_FETCH);
    free(pat);
    if (find == INVALID_HANDLE_VALUE)
    {
        err = GetLastError();
        /* An empty directory (no "." on some file systems) is not an error. */
        if (err == ERROR_FILE_NOT_FOUND || err == ERROR_NO_MORE_FILES) return ERROR_SUCCESS;
        report_error(L"%ls: cannot list the directory: %lu %ls", dir, (unsigned long)err,
                     err_name(err) ? err_name(err) : L"");
        return err;
    }
    do
    {
        WCHAR *child;
        if (!wcscmp(fd.cFileName, L".") || !wcscmp(fd.cFileName, L"..")) continue;
        if (!(child = join(dir, fd.cFileName)))
        {
            err = ERROR_OUTOFMEMORY;
            break;
        }
        if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
        {
            /* Junctions and directory symlinks are not followed: they can point back
             * up the tree, and what they lead to is listed under its real path. */
            if (!(fd.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT))
                err = walk(list, child, added);
            free(child);
        }
        else
        {
            err = list_push(list, child);
            if (!err) (*added)++;
        }
    } while (!err && FindNextFileW(find, &fd));
    if (!err && GetLastError() != ERROR_NO_MORE_FILES)
    {
        err = GetLastError();
        report_error(L"%ls: listing the directory stopped: %lu %ls", dir, (unsigned long)err,
                     err_name(err) ? err_name(err) : L"");
    }
    FindClose(find);
    if (err == ERROR_OUTOFMEMORY) report_error(L"out of memory");
    return err;
}

DWORD files_add_arg(struct file_list *list, const WCHAR *arg, BOOL allow_missing, size_t *dir_files)
{
    WCHAR *path = full_path(arg);
    DWORD attrs, err;
    size_t added = 0;

    if (dir_files) *dir_files = 0;
    if (!path) return ERROR_BAD_PATHNAME;
    attrs = GetFileAttributesW(path);
    if (attrs == INVALID_FILE_ATTRIBUTES)
    {
        err = GetLastError();
        if (allow_missing && (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND))
        {
            err = list_push(list, path);
            if (err) report_error(L"out of memory");
            return err;
        }
        report_error(L"%ls: cannot access: %lu %ls", path, (unsigned long)err,
                     err_name(err) ? err_name(err) : L"");
        free(path);
        return err;
    }
    if (!(attrs & FILE_ATTRIBUTE_DIRECTORY))
    {
        err = list_push(list, path);
        if (err) report_error(L"out of memory");
        return err;
    }
    err = walk(list, path, &added);
    free(path);
    if (dir_files) *dir_files = added;
    return err;
}
