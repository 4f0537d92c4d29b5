/*
 * output.c - rmtool's text output: console or UTF-8, JSON strings, error lines,
 * times.
 *
 * Why not the C runtime's stdio: msvcrt converts wide text to the ANSI code page, so
 * any character outside it turns into '?'. On a real console WriteConsoleW shows
 * every character; anywhere else (a pipe, a file, a Unix terminal under Wine) the
 * bytes must be UTF-8, which is what scripts and terminals expect.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "rmtool.h"
#include "errnames.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define FLUSH_AT 16384   /* characters buffered before a write */

struct stream
{
    WCHAR buf[FLUSH_AT + 1024]; /* pending text */
    size_t len;                 /* characters pending */
    int console;                /* -1 unknown, 0 no, 1 yes */
};

static struct stream streams[2] = { { .console = -1 }, { .console = -1 } };

static HANDLE std_handle(enum out_stream s)
{
    return GetStdHandle(s == OUT_STDOUT ? STD_OUTPUT_HANDLE : STD_ERROR_HANDLE);
}

BOOL out_is_console(enum out_stream s)
{
    struct stream *st = &streams[s];
    if (st->console < 0)
    {
        DWORD mode;
        HANDLE h = std_handle(s);
        st->console = (h && h != INVALID_HANDLE_VALUE && GetConsoleMode(h, &mode)) ? 1 : 0;
    }
    return st->console == 1;
}

/* Writes all of data (bytes) to h; gives up quietly when the reader has gone. */
static void write_all(HANDLE h, const char *data, DWORD size)
{
    while (size)
    {
        DWORD done = 0;
        if (!WriteFile(h, data, size, &done, NULL) || !done) return;
        data += done;
        size -= done;
    }
}

/* Converts and writes n characters; never splits a surrogate pair across calls
 * (callers flush at pair boundaries, see out_w). */
static void write_text(enum out_stream s, const WCHAR *text, size_t n)
{
    HANDLE h = std_handle(s);
    if (!n || !h || h == INVALID_HANDLE_VALUE) return;
    if (out_is_console(s))
    {
        while (n)
        {
            DWORD done = 0, chunk = n > 8192 ? 8192 : (DWORD)n;
            if (!WriteConsoleW(h, text, chunk, &done, NULL) || !done) return;
            text += done;
            n -= done;
        }
        return;
    }
    {
        /* Lone surrogates become U+FFFD: the conversion is done without
         * WC_ERR_INVALID_CHARS on purpose, so a strange name never stops the output. */
        int bytes = WideCharToMultiByte(CP_UTF8, 0, text, (int)n, NULL, 0, NULL, NULL);
        char *utf8;
        if (bytes <= 0) return;
        utf8 = malloc((size_t)bytes);
        if (!utf8) return;
        WideCharToMultiByte(CP_UTF8, 0, text, (int)n, utf8, bytes, NULL, NULL);
        write_all(h, utf8, (DWORD)bytes);
        free(utf8);
    }
}

void out_flush(enum out_stream s)
{
    struct stream *st = &streams[s];
    write_text(s, st->buf, st->len);
    st->len = 0;
}

void out_w(enum out_stream s, const WCHAR *text)
{
    struct stream *st = &streams[s];
    size_t n = wcslen(text);

    while (n)
    {
        size_t room = FLUSH_AT - st->len, take = n < room ? n : room;
        /* Keep a surrogate pair together in one write. */
        if (take < n && take && IS_HIGH_SURROGATE(text[take - 1])) take--;
        if (!take)
        {
            out_flush(s);   /* room is now FLUSH_AT, so the next round takes something */
            continue;
        }
        memcpy(st->buf + st->len, text, take * sizeof(WCHAR));
        st->len += take;
        text += take;
        n -= take;
        if (st->len >= FLUSH_AT) out_flush(s);
    }
}

void out_f(enum out_stream s, const WCHAR *fmt, ...)
{
    WCHAR small[1024], *big = NULL;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = _vsnwprintf(small, ARRAYSIZE(small), fmt, ap);
    va_end(ap);
    if (n >= 0 && n < (int)ARRAYSIZE(small))
    {
        small[n] = 0;
        out_w(s, small);
        return;
    }
    /* Too long for the stack buffer (long paths): size it and format again. */
    va_start(ap, fmt);
    n = _vscwprintf(fmt, ap);
    va_end(ap);
    if (n < 0 || !(big = malloc(((size_t)n + 1) * sizeof(WCHAR)))) return;
    va_start(ap, fmt);
    _vsnwprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    big[n] = 0;
    out_w(s, big);
    free(big);
}

void out_json_str(enum out_stream s, const WCHAR *text)
{
    WCHAR run[256];
    size_t k = 0;

    out_w(s, L"\"");
    for (; *text; text++)
    {
        WCHAR c = *text, esc[8] = { 0 };
        if (c == L'"') wcscpy(esc, L"\\\"");
        else if (c == L'\\') wcscpy(esc, L"\\\\");
        else if (c == L'\n') wcscpy(esc, L"\\n");
        else if (c == L'\r') wcscpy(esc, L"\\r");
        else if (c == L'\t') wcscpy(esc, L"\\t");
        else if (c < 0x20 || c == 0x7f) swprintf(esc, 8, L"\\u%04x", (unsigned)c);
        else if (IS_HIGH_SURROGATE(c) && IS_LOW_SURROGATE(text[1]))
        {
            /* A valid pair stays raw (UTF-8 on the wire). */
            if (k + 2 >= ARRAYSIZE(run)) { run[k] = 0; out_w(s, run); k = 0; }
            run[k++] = c;
            run[k++] = *++text;
            continue;
        }
        else if (IS_HIGH_SURROGATE(c) || IS_LOW_SURROGATE(c))
            swprintf(esc, 8, L"\\u%04x", (unsigned)c);
        if (esc[0] || k + 1 >= ARRAYSIZE(run))
        {
            run[k] = 0;
            out_w(s, run);
            k = 0;
        }
        if (esc[0]) out_w(s, esc);
        else run[k++] = c;
    }
    run[k] = 0;
    out_w(s, run);
    out_w(s, L"\"");
}

/* ---- errors ------------------------------------------------------------------------- */


const WCHAR *err_name(DWORD err)
{
    /* The shared table is ASCII; its names are kept here as wide strings once. */
    static WCHAR wide[ARRAYSIZE(rm_errnames)][40];
    const char *name = rm_errname_lookup(err);
    size_t i, k;
    if (!name) return NULL;
    for (i = 0; i < ARRAYSIZE(rm_errnames) && rm_errnames[i].name != name; i++) {}
    if (!wide[i][0])
        for (k = 0; k < ARRAYSIZE(wide[i]) - 1 && name[k]; k++) wide[i][k] = (WCHAR)name[k];
    return wide[i];
}

/* The name of err, or the system's message for it on one line, or "unknown error". */
static void err_text(DWORD err, WCHAR *buf, size_t cch)
{
    const WCHAR *name = err_name(err);
    DWORD n;
    if (name)
    {
        wcsncpy(buf, name, cch - 1);
        buf[cch - 1] = 0;
        return;
    }
    n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, err, 0,
                       buf, (DWORD)cch, NULL);
    while (n && (buf[n - 1] == L'\n' || buf[n - 1] == L'\r' || buf[n - 1] == L' ' ||
                 buf[n - 1] == L'.'))
        buf[--n] = 0;
    if (!n) wcscpy(buf, L"unknown error");
    for (; n; n--)
        if (buf[n - 1] == L'\r' || buf[n - 1] == L'\n') buf[n - 1] = L' ';
}

void report_api_error(const WCHAR *what, DWORD err)
{
    WCHAR text[256];
    err_text(err, text, ARRAYSIZE(text));
    out_flush(OUT_STDOUT);
    out_f(OUT_STDERR, L"rmtool: %ls failed: %lu %ls\n", what, (unsigned long)err, text);
    out_flush(OUT_STDERR);
}

void report_error(const WCHAR *fmt, ...)
{
    WCHAR line[2048];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = _vsnwprintf(line, ARRAYSIZE(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0) n = ARRAYSIZE(line) - 1;
    line[n] = 0;
    out_flush(OUT_STDOUT);
    out_w(OUT_STDERR, L"rmtool: ");
    out_w(OUT_STDERR, line);
    out_w(OUT_STDERR, L"\n");
    out_flush(OUT_STDERR);
}

/* ---- times and numbers ---------------------------------------------------------------- */

void fmt_time_local(WCHAR buf[32], const FILETIME *ft)
{
    FILETIME local;
    SYSTEMTIME st;
    if (!FileTimeToLocalFileTime(ft, &local) || !FileTimeToSystemTime(&local, &st))
    {
        wcscpy(buf, L"-");
        return;
    }
    swprintf(buf, 32, L"%04u-%02u-%02u %02u:%02u:%02u", st.wYear, st.wMonth, st.wDay, st.wHour,
             st.wMinute, st.wSecond);
}

void fmt_time_utc(WCHAR buf[32], const FILETIME *ft)
{
    SYSTEMTIME st;
    if (!FileTimeToSystemTime(ft, &st))
    {
        buf[0] = 0;
        return;
    }
    swprintf(buf, 32, L"%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", st.wYear, st.wMonth, st.wDay,
             st.wHour, st.wMinute, st.wSecond, st.wMilliseconds);
}

void fmt_u64(WCHAR buf[24], ULONGLONG v)
{
    WCHAR tmp[24];
    int n = 0, i;
    do { tmp[n++] = (WCHAR)(L'0' + v % 10); v /= 10; } while (v);
    for (i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
    buf[n] = 0;
}

/* ---- JSON ------------------------------------------------------------------------------ */

/* Starts an element of the open container: its comma and line, and its name. */
static void json_element(struct json *j, const WCHAR *name)
{
    if (j->depth > 0 && j->depth <= JSON_MAX_DEPTH)
    {
        int d = j->depth - 1, i;
        if (!j->empty[d]) out_w(OUT_STDOUT, j->one_line[d] ? L", " : L",");
        if (!j->one_line[d])
        {
            out_w(OUT_STDOUT, L"\n");
            for (i = 0; i < j->depth; i++) out_w(OUT_STDOUT, L"  ");
        }
        j->empty[d] = FALSE;
    }
    if (name)
    {
        out_json_str(OUT_STDOUT, name);
        out_w(OUT_STDOUT, L": ");
    }
}

void json_open(struct json *j, const WCHAR *name, WCHAR bracket, BOOL one_line)
{
    WCHAR open[2] = { bracket, 0 };
    json_element(j, name);
    out_w(OUT_STDOUT, open);
    if (j->depth < JSON_MAX_DEPTH)
    {
        j->empty[j->depth] = TRUE;
        /* Inside a one-line container everything is on that line. */
        j->one_line[j->depth] = one_line || (j->depth && j->one_line[j->depth - 1]);
        j->closer[j->depth] = bracket == L'[' ? L']' : L'}';
    }
    j->depth++;
}

void json_close(struct json *j)
{
    WCHAR close[2] = { 0, 0 };
    int d, i;
    if (j->depth <= 0) return;                   /* unbalanced: a bug, not output */
    d = --j->depth;
    if (d >= JSON_MAX_DEPTH) return;   /* see JSON_MAX_DEPTH */
    close[0] = j->closer[d];
    if (!j->one_line[d] && !j->empty[d])
    {
        out_w(OUT_STDOUT, L"\n");
        for (i = 0; i < d; i++) out_w(OUT_STDOUT, L"  ");
    }
    out_w(OUT_STDOUT, close);
    if (!d) out_w(OUT_STDOUT, L"\n");
}

void json_str(struct json *j, const WCHAR *name, const WCHAR *v)
{
    json_element(j, name);
    if (v) out_json_str(OUT_STDOUT, v);
    else out_w(OUT_STDOUT, L"null");
}

void json_uint(struct json *j, const WCHAR *name, ULONGLONG v)
{
    WCHAR n[24];
    json_element(j, name);
    fmt_u64(n, v);
    out_w(OUT_STDOUT, n);
}

void json_int(struct json *j, const WCHAR *name, LONGLONG v)
{
    WCHAR n[24];
    json_element(j, name);
    if (v < 0) out_w(OUT_STDOUT, L"-");
    fmt_u64(n, v < 0 ? (ULONGLONG)0 - (ULONGLONG)v : (ULONGLONG)v);
    out_w(OUT_STDOUT, n);
}

void json_bool(struct json *j, const WCHAR *name, BOOL v)
{
    json_element(j, name);
    out_w(OUT_STDOUT, v ? L"true" : L"false");
}

void json_null(struct json *j, const WCHAR *name)
{
    json_element(j, name);
    out_w(OUT_STDOUT, L"null");
}
