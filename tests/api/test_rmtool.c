/*
 * test_rmtool.c - the rmtool command-line tool (tools/rmtool, docs/rmtool.md) run as
 * a child process against real helper processes: its output, its JSON and its exit
 * codes.
 *
 * rmtool.exe sits next to this test program (the build root). Each run has its
 * stdout and stderr redirected to files in the test's temp directory, and runs in a
 * kill-on-close job so that nothing it starts (RmRestart's restarted applications)
 * outlives the test. Being redirected, rmtool writes UTF-8 (docs/rmtool.md, "Output").
 *
 * Expectations come from the tool's documented contract (exit codes 0 nothing found,
 * 1 in use, 2 reboot needed, 3 partly closed/restarted, 4 other error, 64 usage) and
 * from the spec sections the tool passes through (5.5 RmGetList, 5.6 RmShutdown, 9 the
 * session store).
 */
#include "rmtest.h"
#include "rmspawn.h"
#include <tlhelp32.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOOL_TIMEOUT rmt_timeout(120000)

#define EXIT_OK 0
#define EXIT_IN_USE 1
#define EXIT_REBOOT 2
#define EXIT_PARTIAL 3
#define EXIT_ERROR 4
#define EXIT_USAGE 64

static WCHAR service_name[64];   /* installed by test_list_service, "" otherwise */

static int teardown(void **state)
{
    rmt_kill_all();
    rmt_end_all();
    if (service_name[0]) rmt_service_remove(service_name);
    service_name[0] = 0;
    return 0;
}

/* ---- running the tool ------------------------------------------------------------------ */

struct run
{
    DWORD code;   /* exit code */
    char *out;    /* stdout bytes, NUL-terminated (UTF-8) */
    char *err;    /* stderr bytes */
};

static const WCHAR *tool_path(void)
{
    static WCHAR path[MAX_PATH];
    if (!path[0])
    {
        WCHAR *slash;
        GetModuleFileNameW(NULL, path, MAX_PATH);
        slash = wcsrchr(path, L'\\');
        assert_non_null(slash);
        wcscpy(slash + 1, L"rmtool.exe");
    }
    return path;
}

static char *read_all(const WCHAR *path)
{
    HANDLE h = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                           NULL, OPEN_EXISTING, 0, NULL);
    DWORD size, got = 0;
    char *buf;
    assert_true(h != INVALID_HANDLE_VALUE);
    size = GetFileSize(h, NULL);
    assert_true(size != INVALID_FILE_SIZE);
    buf = malloc(size + 1);
    assert_non_null(buf);
    if (size) assert_true(ReadFile(h, buf, size, &got, NULL));
    buf[got] = 0;
    CloseHandle(h);
    return buf;
}

/* Runs "rmtool.exe <args>" and returns what it wrote and its exit code. */
static struct run run_tool(const WCHAR *args)
{
    static LONG counter;
    SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, TRUE };
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limit;
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    WCHAR name[64], *out_path, *err_path, *cmd;
    HANDLE out, err, job;
    struct run r;
    size_t len;
    LONG n = InterlockedIncrement(&counter);

    swprintf(name, 64, L"run-%ld.out", n);
    out_path = rmt_path(name);
    swprintf(name, 64, L"run-%ld.err", n);
    err_path = rmt_path(name);
    out = CreateFileW(out_path, GENERIC_WRITE, FILE_SHARE_READ, &sa, CREATE_ALWAYS, 0, NULL);
    err = CreateFileW(err_path, GENERIC_WRITE, FILE_SHARE_READ, &sa, CREATE_ALWAYS, 0, NULL);
    assert_true(out != INVALID_HANDLE_VALUE && err != INVALID_HANDLE_VALUE);

    len = wcslen(tool_path()) + wcslen(args) + 8;
    cmd = malloc(len * sizeof(WCHAR));
    assert_non_null(cmd);
    swprintf(cmd, len, L"\"%ls\" %ls", tool_path(), args);

    job = CreateJobObjectW(NULL, NULL);
    assert_non_null(job);
    memset(&limit, 0, sizeof(limit));
    limit.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    SetInformationJobObject(job, JobObjectExtendedLimitInformation, &limit, sizeof(limit));

    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = NULL;
    si.hStdOutput = out;
    si.hStdError = err;
    if (!CreateProcessW(tool_path(), cmd, NULL, NULL, TRUE, CREATE_SUSPENDED | CREATE_NO_WINDOW,
                        NULL, NULL, &si, &pi))
        fail_msg("starting %ls failed: %lu", tool_path(), GetLastError());
    AssignProcessToJobObject(job, pi.hProcess);
    ResumeThread(pi.hThread);
    CloseHandle(pi.hThread);
    CloseHandle(out);
    CloseHandle(err);
    if (WaitForSingleObject(pi.hProcess, TOOL_TIMEOUT) != WAIT_OBJECT_0)
    {
        TerminateProcess(pi.hProcess, 0xdead);
        WaitForSingleObject(pi.hProcess, rmt_timeout(5000));
        CloseHandle(pi.hProcess);
        CloseHandle(job);
        fail_msg("rmtool %ls: no exit within %lu ms", args, TOOL_TIMEOUT);
    }
    r.code = (DWORD)-1;
    GetExitCodeProcess(pi.hProcess, &r.code);
    CloseHandle(pi.hProcess);
    CloseHandle(job);   /* kills whatever the tool started and left running */
    r.out = read_all(out_path);
    r.err = read_all(err_path);
    DeleteFileW(out_path);
    DeleteFileW(err_path);
    free(out_path);
    free(err_path);
    free(cmd);
    printf("# rmtool %ls -> %lu\n", args, r.code);
    return r;
}

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

/* Fails with the tool's output shown when its exit code is not want. */
static void expect_code(const struct run *r, DWORD want)
{
    if (r->code != want)
        fail_msg("exit code %lu, expected %lu\n--- stdout:\n%s--- stderr:\n%s", r->code, want,
                 r->out, r->err);
}

static void expect_in(const char *hay, const char *needle, const char *what)
{
    if (!strstr(hay, needle)) fail_msg("'%s' not in %s:\n%s", needle, what, hay);
}

/* The whole of stderr is one error line: "rmtool: ...\n". */
static void expect_one_error_line(const struct run *r, const char *needle)
{
    size_t n = strlen(r->err);
    const char *nl = strchr(r->err, '\n');
    if (strncmp(r->err, "rmtool: ", 8) || !n || !nl || nl != r->err + n - 1)
        fail_msg("stderr is not one 'rmtool: ' line:\n%s", r->err);
    if (needle) expect_in(r->err, needle, "stderr");
}

/* UTF-8 bytes of a wide string (malloc'd). */
static char *utf8(const WCHAR *w)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    char *s = malloc((size_t)n);
    assert_non_null(s);
    WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
    return s;
}

/* A path as it appears inside a JSON string: UTF-8, backslashes doubled. */
static char *json_path(const WCHAR *w)
{
    char *s = utf8(w), *j = malloc(strlen(s) * 2 + 1), *p = j;
    const char *q;
    assert_non_null(j);
    for (q = s; *q; q++)
    {
        if (*q == '\\') *p++ = '\\';
        *p++ = *q;
    }
    *p = 0;
    free(s);
    return j;
}

/* ---- a strict JSON syntax check (RFC 8259), so "--json" is proven parseable ---------- */

static const char *json_value(const char *p, int depth);

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

/* A string starting at the quote; checks escapes, control characters and UTF-8. */
static const char *json_string(const char *p)
{
    const unsigned char *u;
    if (*p != '"') return NULL;
    for (u = (const unsigned char *)p + 1; *u != '"'; )
    {
        if (*u < 0x20) return NULL;
        if (*u == '\\')
        {
            u++;
            if (*u == 'u')
            {
                int i;
                for (i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", u[i]) || !u[i]) return NULL;
                u += 5;
            }
            else if (*u && strchr("\"\\/bfnrt", *u)) u++;
            else return NULL;
        }
        else if (*u < 0x80) u++;
        else
        {
            int more = (*u & 0xe0) == 0xc0 ? 1 : (*u & 0xf0) == 0xe0 ? 2 : (*u & 0xf8) == 0xf0 ? 3 : -1;
            if (more < 0 || *u == 0xc0 || *u == 0xc1) return NULL;
            for (u++; more; more--, u++)
                if ((*u & 0xc0) != 0x80) return NULL;
        }
    }
    return (const char *)u + 1;
}

static const char *json_number(const char *p)
{
    if (*p == '-') p++;
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') while (*p >= '0' && *p <= '9') p++;
    else return NULL;
    if (*p == '.')
    {
        p++;
        if (*p < '0' || *p > '9') return NULL;
        while (*p >= '0' && *p <= '9') p++;
    }
    if (*p == 'e' || *p == 'E')
    {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (*p < '0' || *p > '9') return NULL;
        while (*p >= '0' && *p <= '9') p++;
    }
    return p;
}

static const char *json_value(const char *p, int depth)
{
    if (depth > 32) return NULL;
    p = json_ws(p);
    if (*p == '{' || *p == '[')
    {
        char close = *p == '{' ? '}' : ']';
        p = json_ws(p + 1);
        if (*p == close) return p + 1;
        for (;;)
        {
            if (close == '}')
            {
                if (!(p = json_string(json_ws(p)))) return NULL;
                p = json_ws(p);
                if (*p++ != ':') return NULL;
            }
            if (!(p = json_value(p, depth + 1))) return NULL;
            p = json_ws(p);
            if (*p == close) return p + 1;
            if (*p++ != ',') return NULL;
        }
    }
    if (*p == '"') return json_string(p);
    if (!strncmp(p, "true", 4)) return p + 4;
    if (!strncmp(p, "false", 5)) return p + 5;
    if (!strncmp(p, "null", 4)) return p + 4;
    return json_number(p);
}

static void expect_json(const char *text)
{
    const char *end = json_value(text, 0);
    if (!end || *json_ws(end)) fail_msg("not valid JSON (at offset %d):\n%s",
                                        end ? (int)(end - text) : -1, text);
    assert_int_equal(*json_ws(text), '{');
}

/* The text of the JSON object in json that contains needle: from its '{' to its '}'
 * (objects the tool prints per process/session are flat). malloc'd, or NULL. */
static char *json_object_with(const char *json, const char *needle)
{
    const char *at = strstr(json, needle), *open, *close;
    char *obj;
    if (!at) return NULL;
    for (open = at; open > json && *open != '{'; open--) ;
    close = strchr(at, '}');
    if (*open != '{' || !close) return NULL;
    obj = malloc((size_t)(close - open) + 2);
    assert_non_null(obj);
    memcpy(obj, open, (size_t)(close - open) + 1);
    obj[close - open + 1] = 0;
    return obj;
}

/* The table row of pid in human output (malloc'd line), or NULL. */
static char *row_of(const char *out, DWORD pid)
{
    char key[24];
    const char *p = out;
    int n = snprintf(key, sizeof(key), "%lu ", (unsigned long)pid);
    while (p && *p)
    {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len >= (size_t)n && !strncmp(p, key, (size_t)n))
        {
            char *line = malloc(len + 1);
            assert_non_null(line);
            memcpy(line, p, len);
            line[len] = 0;
            return line;
        }
        p = eol ? eol + 1 : NULL;
    }
    return NULL;
}

static WCHAR *quoted(const WCHAR *path)
{
    size_t n = wcslen(path) + 3;
    WCHAR *q = malloc(n * sizeof(WCHAR));
    assert_non_null(q);
    swprintf(q, n, L"\"%ls\"", path);
    return q;
}

/* A helper holding path (console helper, all sharing). */
static struct rmt_child *hold(const WCHAR *path)
{
    size_t n = wcslen(path) + 16;
    WCHAR *args = malloc(n * sizeof(WCHAR));
    struct rmt_child *c;
    assert_non_null(args);
    swprintf(args, n, L"hold \"%ls\"", path);
    c = rmt_spawn_tracked(FALSE, 0, args, RMT_SPAWN_TIMEOUT);
    free(args);
    return c;
}

static BOOL file_exists(const WCHAR *p)
{
    return GetFileAttributesW(p) != INVALID_FILE_ATTRIBUTES;
}

/* ------------------------------------------------------------------------------ */

static void test_our_dll(void **state)
{
    rmt_assert_our_dll();
    assert_true(file_exists(tool_path()));
}

/* Help for the tool and every command: exit 0, text on stdout, nothing on stderr. */
static void test_help(void **state)
{
    static const struct { const WCHAR *args; const char *text; } cases[] = {
        { L"--help", "rmtool list [--json] PATH..." },
        { L"help", "rmtool sessions [--json]" },
        { L"/?", "Exit codes:" },
        { L"help list", "Usage: rmtool list" },
        { L"list --help", "Usage: rmtool list" },
        { L"close -h", "Usage: rmtool close" },
        { L"replace --help", "Usage: rmtool replace" },
        { L"sessions --help", "Usage: rmtool sessions" },
        { L"help replace", "MoveFileEx" },
    };
    size_t i;
    for (i = 0; i < ARRAYSIZE(cases); i++)
    {
        struct run r = run_tool(cases[i].args);
        expect_code(&r, EXIT_OK);
        expect_in(r.out, cases[i].text, "help output");
        expect_in(r.out, "64  bad usage", "help output");
        assert_string_equal(r.err, "");
        run_free(&r);
    }
}

/* Bad usage: exit 64, one line on stderr, nothing on stdout. */
static void test_bad_usage(void **state)
{
    static const struct { const WCHAR *args; const char *text; } cases[] = {
        { L"", "no command" },
        { L"frobnicate", "unknown command 'frobnicate'" },
        { L"list", "no PATH given" },
        { L"list --bogus x", "unknown option '--bogus'" },
        { L"close", "no PATH given" },
        { L"replace onlyone", "TARGET and NEWFILE" },
        { L"replace a b c", "TARGET and NEWFILE" },
        { L"replace --json a b", "unknown option '--json'" },
        { L"list --force x", "unknown option '--force'" },
        { L"sessions extra", "unexpected argument 'extra'" },
        { L"help nosuch", "unknown command 'nosuch'" },
    };
    size_t i;
    for (i = 0; i < ARRAYSIZE(cases); i++)
    {
        struct run r = run_tool(cases[i].args);
        expect_code(&r, EXIT_USAGE);
        expect_one_error_line(&r, cases[i].text);
        assert_string_equal(r.out, "");
        run_free(&r);
    }
}

/* A held file: the helper's PID, its type and name; exit 1 (in use). */
static void test_list_held_file(void **state)
{
    WCHAR *f = rmt_make_file(L"held.txt"), *q = quoted(f), args[MAX_PATH + 16];
    struct rmt_child *c = hold(f);
    struct run r;
    char *row;

    swprintf(args, ARRAYSIZE(args), L"list %ls", q);
    r = run_tool(args);
    expect_code(&r, EXIT_IN_USE);
    assert_string_equal(r.err, "");
    expect_in(r.out, "1 process using the file", "stdout");
    row = row_of(r.out, c->pid);
    if (!row) fail_msg("no row for pid %lu:\n%s", c->pid, r.out);
    /* spec 7: a stand-alone console process is RmConsole; the name is the exe's. */
    expect_in(row, "  console  ", "the row");
    expect_in(row, "rmhelper.exe", "the row");
    expect_in(r.out, "reboot needed: no", "stdout");
    free(row);
    run_free(&r);
    rmt_kill_all();
    free(q);
    free(f);
}

/* Nothing uses the file: exit 0. */
static void test_list_nothing(void **state)
{
    WCHAR *f = rmt_make_file(L"free.txt"), *q = quoted(f), args[MAX_PATH + 16];
    struct run r;

    swprintf(args, ARRAYSIZE(args), L"list %ls", q);
    r = run_tool(args);
    expect_code(&r, EXIT_OK);
    expect_in(r.out, "no process uses the file", "stdout");
    assert_string_equal(r.err, "");
    run_free(&r);

    swprintf(args, ARRAYSIZE(args), L"list --json %ls", q);
    r = run_tool(args);
    expect_code(&r, EXIT_OK);
    expect_json(r.out);
    expect_in(r.out, "\"processes\": []", "stdout");
    expect_in(r.out, "\"reboot_needed\": false", "stdout");
    expect_in(r.out, "\"exit_code\": 0", "stdout");
    run_free(&r);
    free(q);
    free(f);
}

/* A path that does not exist: one error line naming the Win32 error, exit 4. */
static void test_list_missing_path(void **state)
{
    WCHAR *f = rmt_path(L"no-such-file.txt"), *q = quoted(f), args[MAX_PATH + 16];
    struct run r;

    swprintf(args, ARRAYSIZE(args), L"list %ls", q);
    r = run_tool(args);
    expect_code(&r, EXIT_ERROR);
    expect_one_error_line(&r, "2 ERROR_FILE_NOT_FOUND");
    assert_string_equal(r.out, "");
    run_free(&r);

    /* After "--" everything is a path, even what looks like an option. */
    r = run_tool(L"list -- --help");
    expect_code(&r, EXIT_ERROR);
    expect_one_error_line(&r, "--help: cannot access: 2 ERROR_FILE_NOT_FOUND");
    run_free(&r);
    free(q);
    free(f);
}

/* Non-ASCII names: JSON is valid, the file's path is in it as UTF-8, the holder is
 * found through the directory (the file is in a subdirectory). */
static void test_list_json_unicode(void **state)
{
    /* "tree", then "sub-\u00e9\u00df" / "f\u00efl\u00e9 \u65e5\u672c \U0001F600.txt" */
    WCHAR *dir = rmt_path(L"uni"), *sub = rmt_path(L"uni\\sub-\u00e9\u00df"), *f, *q, args[MAX_PATH + 32];
    const WCHAR *leaf = L"uni\\sub-\u00e9\u00df\\f\u00efl\u00e9 \u65e5\u672c \xd83d\xde00.txt";
    struct rmt_child *c;
    char *jp, *obj, pidkey[32];
    struct run r;

    assert_true(CreateDirectoryW(dir, NULL));
    assert_true(CreateDirectoryW(sub, NULL));
    f = rmt_make_file(leaf);
    c = hold(f);
    q = quoted(dir);
    swprintf(args, ARRAYSIZE(args), L"list --json %ls", q);
    r = run_tool(args);
    expect_code(&r, EXIT_IN_USE);
    expect_json(r.out);
    jp = json_path(f);
    expect_in(r.out, jp, "the JSON (the file's path as UTF-8)");
    free(jp);
    jp = json_path(dir);
    expect_in(r.out, jp, "the JSON (the operand)");
    free(jp);
    snprintf(pidkey, sizeof(pidkey), "{\"pid\": %lu,", (unsigned long)c->pid);
    obj = json_object_with(r.out, pidkey);
    if (!obj) fail_msg("no process object for pid %lu:\n%s", c->pid, r.out);
    expect_in(obj, "\"type\": \"console\"", "the process");
    expect_in(obj, "\"type_code\": 5", "the process");
    expect_in(obj, "\"name\": \"rmhelper.exe\"", "the process");
    expect_in(obj, "\"service\": \"\"", "the process");
    expect_in(obj, "\"status\": [\"running\"]", "the process");
    expect_in(obj, "\"start_time\": \"", "the process");
    free(obj);
    expect_in(r.out, "\"reboot_reasons\": []", "the JSON");
    expect_in(r.out, "\"exit_code\": 1", "the JSON");
    run_free(&r);

    /* The human form prints the same path in UTF-8 too (redirected output). */
    swprintf(args, ARRAYSIZE(args), L"list %ls", q);
    r = run_tool(args);
    expect_code(&r, EXIT_IN_USE);
    jp = utf8(dir);
    expect_in(r.out, jp, "stdout");
    free(jp);
    expect_in(r.out, "(directory, 1 file)", "stdout");
    run_free(&r);

    rmt_kill_all();
    free(q);
    free(f);
    free(sub);
    free(dir);
}

/* Directory expansion: files several levels down, more than one registration batch
 * (1000 per call); the holder of the last file is found. */
static void test_directory_expansion(void **state)
{
    WCHAR *dir = rmt_path(L"big"), *q, args[MAX_PATH + 32], name[64], *deep = NULL;
    struct rmt_child *c;
    struct run r;
    char *row;
    int i;

    assert_true(CreateDirectoryW(dir, NULL));
    for (i = 0; i < 3; i++)
    {
        WCHAR *p;
        swprintf(name, 64, L"big\\d%d", i);
        p = rmt_path(name);
        assert_true(CreateDirectoryW(p, NULL));
        free(p);
    }
    {
        WCHAR *p = rmt_path(L"big\\d2\\deeper");
        assert_true(CreateDirectoryW(p, NULL));
        free(p);
    }
    /* 1203 files in all: three directories of 400, and one deep down. */
    for (i = 0; i < 1200; i++)
    {
        swprintf(name, 64, L"big\\d%d\\f%04d.dat", i % 3, i);
        free(rmt_make_file(name));
    }
    deep = rmt_make_file(L"big\\d2\\deeper\\held.dat");
    free(rmt_make_file(L"big\\top1.dat"));
    free(rmt_make_file(L"big\\top2.dat"));
    c = hold(deep);

    q = quoted(dir);
    swprintf(args, ARRAYSIZE(args), L"list %ls", q);
    r = run_tool(args);
    expect_code(&r, EXIT_IN_USE);
    expect_in(r.out, "(directory, 1203 files)", "stdout");
    row = row_of(r.out, c->pid);
    if (!row) fail_msg("no row for pid %lu:\n%s", c->pid, r.out);
    free(row);
    run_free(&r);

    /* Without the holder: nothing. */
    rmt_kill_all();
    r = run_tool(args);
    expect_code(&r, EXIT_OK);
    run_free(&r);

    /* An empty directory: nothing to check, exit 0. */
    {
        WCHAR *empty = rmt_path(L"empty"), *qe;
        assert_true(CreateDirectoryW(empty, NULL));
        qe = quoted(empty);
        swprintf(args, ARRAYSIZE(args), L"list %ls", qe);
        r = run_tool(args);
        expect_code(&r, EXIT_OK);
        expect_in(r.out, "no files to check", "stdout");
        run_free(&r);
        free(qe);
        free(empty);
    }
    free(q);
    free(deep);
    free(dir);
}

/* A service holding the file: type service, its short name, its display name as the
 * friendly name (spec 2.3), restartable (always TRUE for a service). The display name
 * has non-ASCII characters: they reach the JSON and the table as UTF-8. */
static void test_list_service(void **state)
{
    WCHAR *f = rmt_make_file(L"svc.txt"), *q = quoted(f), args[2 * MAX_PATH], display[128];
    char *obj, pidkey[32], *u, *row;
    DWORD pid = 0, rc;
    struct run r;

    swprintf(service_name, ARRAYSIZE(service_name), L"rmtoolsvc%lu", GetCurrentProcessId());
    swprintf(display, ARRAYSIZE(display), L"rmtool t\u00ebst \u670d\u52a1 %lu", GetCurrentProcessId());
    swprintf(args, ARRAYSIZE(args), L"hold \"%ls\"", f);
    rc = rmt_service_install(service_name, display, args, NULL, 30000, &pid);
    if (rc != ERROR_SUCCESS) fail_msg("installing service %ls failed: %lu", service_name, rc);

    swprintf(args, ARRAYSIZE(args), L"list --json %ls", q);
    r = run_tool(args);
    expect_code(&r, EXIT_IN_USE);
    expect_json(r.out);
    snprintf(pidkey, sizeof(pidkey), "{\"pid\": %lu,", (unsigned long)pid);
    obj = json_object_with(r.out, pidkey);
    if (!obj) fail_msg("no object for service pid %lu:\n%s", pid, r.out);
    expect_in(obj, "\"type\": \"service\"", "the service");
    expect_in(obj, "\"type_code\": 3", "the service");
    expect_in(obj, "\"restartable\": true", "the service");
    u = utf8(service_name);
    expect_in(obj, u, "the service");
    free(u);
    u = utf8(display);
    expect_in(obj, u, "the service");
    free(obj);
    run_free(&r);

    swprintf(args, ARRAYSIZE(args), L"list %ls", q);
    r = run_tool(args);
    expect_code(&r, EXIT_IN_USE);
    row = row_of(r.out, pid);
    if (!row) fail_msg("no row for service pid %lu:\n%s", pid, r.out);
    expect_in(row, "  service  ", "the row");
    expect_in(row, u, "the row");
    free(row);
    free(u);
    run_free(&r);

    rmt_service_remove(service_name);
    service_name[0] = 0;
    free(q);
    free(f);
}

/* rmtool.exe itself uses its own image: RmGetList reports DetectedSelf (spec 7), so
 * list says a reboot is needed (exit 2) and close gets 350 from RmShutdown (spec 5.6),
 * closes nothing and exits 2 too. */
static void test_reboot_needed(void **state)
{
    WCHAR *q = quoted(tool_path()), args[MAX_PATH + 32];
    struct run r;

    swprintf(args, ARRAYSIZE(args), L"list %ls", q);
    r = run_tool(args);
    expect_code(&r, EXIT_REBOOT);
    expect_in(r.out, "reboot needed: detected self", "stdout");
    expect_in(r.out, "critical", "stdout");
    run_free(&r);

    swprintf(args, ARRAYSIZE(args), L"list --json %ls", q);
    r = run_tool(args);
    expect_code(&r, EXIT_REBOOT);
    expect_json(r.out);
    expect_in(r.out, "\"reboot_needed\": true", "stdout");
    expect_in(r.out, "\"reboot_reasons\": [\"detected_self\"]", "stdout");
    expect_in(r.out, "\"reboot_reasons_code\": 16", "stdout");
    expect_in(r.out, "\"type\": \"critical\"", "stdout");
    run_free(&r);

    swprintf(args, ARRAYSIZE(args), L"close %ls", q);
    r = run_tool(args);
    if (strstr(r.err, "120 ERROR_CALL_NOT_IMPLEMENTED"))
    {
        run_free(&r);
        free(q);
        skip();   /* RmShutdown not implemented yet in this DLL build */
    }
    expect_code(&r, EXIT_REBOOT);
    expect_one_error_line(&r, "350 ERROR_FAIL_NOACTION_REBOOT");
    run_free(&r);
    free(q);
}

/* Finds slot h's object in "sessions --json" output (NULL if absent). */
static char *session_object(const char *json, DWORD h)
{
    char key[40];
    snprintf(key, sizeof(key), "{\"slot\": %lu,", (unsigned long)h);
    return json_object_with(json, key);
}

/* sessions shows a session this test started, owned by this process and alive, with
 * its registration counts (spec 9); it is gone after RmEndSession. */
static void test_sessions(void **state)
{
    WCHAR *f1 = rmt_make_file(L"s1.txt"), *f2 = rmt_make_file(L"s2.txt");
    LPCWSTR files[2] = { f1, f2 };
    RM_UNIQUE_PROCESS me = rmt_self();
    DWORD h = rmt_start_tracked(NULL);
    char want[64], *obj, *row;
    struct run r;

    assert_int_equal(RmRegisterResources(h, 2, files, 0, NULL, 0, NULL), ERROR_SUCCESS);
    assert_int_equal(RmRegisterResources(h, 0, NULL, 1, &me, 0, NULL), ERROR_SUCCESS);

    r = run_tool(L"sessions --json");
    expect_code(&r, EXIT_OK);
    expect_json(r.out);
    obj = session_object(r.out, h);
    if (!obj) fail_msg("session %lu not listed:\n%s", h, r.out);
    snprintf(want, sizeof(want), "\"owner_pid\": %lu,", GetCurrentProcessId());
    expect_in(obj, want, "the session");
    snprintf(want, sizeof(want), "\"key\": \"Session%04lu\"", h);
    expect_in(obj, want, "the session");
    expect_in(obj, "\"owner_alive\": true", "the session");
    expect_in(obj, "\"sequence\": 2", "the session");
    expect_in(obj, "\"files\": 2, \"processes\": 1, \"services\": 0", "the session");
    expect_in(obj, "\"damaged\": false", "the session");
    free(obj);
    run_free(&r);

    r = run_tool(L"sessions");
    expect_code(&r, EXIT_OK);
    row = row_of(r.out, h);
    if (!row) fail_msg("no row for slot %lu:\n%s", h, r.out);
    snprintf(want, sizeof(want), " %lu ", GetCurrentProcessId());
    expect_in(row, want, "the row");
    expect_in(row, " yes ", "the row");
    free(row);
    run_free(&r);

    rmt_end_ok(h);
    r = run_tool(L"sessions --json");
    expect_code(&r, EXIT_OK);
    expect_json(r.out);
    obj = session_object(r.out, h);
    if (obj) fail_msg("session %lu still listed after RmEndSession:\n%s", h, r.out);
    run_free(&r);
    free(f1);
    free(f2);
}

/* An abandoned session (owner killed): listed with owner_alive false. The slot is then
 * reused by our own RmStartSession (spec 4.8) and ended, so nothing stays behind. */
static void test_sessions_abandoned(void **state)
{
    WCHAR *out = rmt_path(L"start.out"), args[MAX_PATH + 32];
    struct rmt_child *c;
    char *text, *obj, want[64];
    unsigned long h = 0xffffffff;
    DWORD pid, mine = 0;
    struct run r;
    int i;

    swprintf(args, ARRAYSIZE(args), L"start --out \"%ls\"", out);
    c = rmt_spawn_tracked(FALSE, 0, args, RMT_SPAWN_TIMEOUT);
    pid = c->pid;
    text = rmt_read_record(out);
    assert_int_equal(sscanf(text, "%lu", &h), 1);
    free(text);

    r = run_tool(L"sessions --json");
    obj = session_object(r.out, h);
    if (!obj) fail_msg("session %lu not listed:\n%s", h, r.out);
    snprintf(want, sizeof(want), "\"owner_pid\": %lu,", (unsigned long)pid);
    expect_in(obj, want, "the session");
    expect_in(obj, "\"owner_alive\": true", "the session");
    free(obj);
    run_free(&r);

    rmt_kill_all();   /* killed: no RmEndSession */
    r = run_tool(L"sessions --json");
    expect_code(&r, EXIT_OK);
    obj = session_object(r.out, h);
    if (!obj) fail_msg("abandoned session %lu not listed:\n%s", h, r.out);
    expect_in(obj, want, "the session");
    expect_in(obj, "\"owner_alive\": false", "the session");
    expect_in(obj, "\"owner_image\": null", "the session");
    free(obj);
    run_free(&r);

    r = run_tool(L"sessions");
    expect_in(r.out, "(abandoned)", "stdout");
    run_free(&r);

    /* Clean up: RmStartSession takes over abandoned slots (spec 4.8); start sessions
     * until one lands on it, then end them all. */
    for (i = 0; i < 64; i++)
        if ((mine = rmt_start_tracked(NULL)) == h) break;
    assert_int_equal(mine, h);
    rmt_end_all();
    r = run_tool(L"sessions --json");
    obj = session_object(r.out, h);
    if (obj) fail_msg("slot %lu still there:\n%s", h, r.out);
    run_free(&r);
    free(out);
}

static BOOL shutdown_missing(const struct run *r)
{
    if (!strstr(r->err, "120 ERROR_CALL_NOT_IMPLEMENTED")) return FALSE;
    printf("# RmShutdown returns 120 ERROR_CALL_NOT_IMPLEMENTED in this DLL build: skipped\n");
    return TRUE;
}

/* close: a GUI helper with a visible window gets WM_QUERYENDSESSION and
 * WM_ENDSESSION (spec 8.2) and exits; exit 0, progress lines (output is not a
 * console), the final table says stopped. The helper is found through its own
 * executable image. */
static void test_close_gui(void **state)
{
    WCHAR *rec = rmt_path(L"close-gui.rec"), *q = quoted(rmt_helper_path(TRUE)), args[2 * MAX_PATH];
    struct rmt_child *c;
    struct run r;
    char *row, *log;

    swprintf(args, ARRAYSIZE(args), L"--record \"%ls\" window --title \"rmtool close\"", rec);
    c = rmt_spawn_tracked(TRUE, 0, args, RMT_SPAWN_TIMEOUT);
    swprintf(args, ARRAYSIZE(args), L"close %ls", q);
    r = run_tool(args);
    if (shutdown_missing(&r))
    {
        run_free(&r);
        free(q);
        free(rec);
        skip();
    }
    expect_code(&r, EXIT_OK);
    assert_string_equal(r.err, "");
    expect_in(r.out, "closing 1 application:", "stdout");
    expect_in(r.out, "progress 100%\n", "stdout");
    expect_in(r.out, "all closed", "stdout");
    /* The result table (the second row for the pid) has the status. */
    row = row_of(strstr(r.out, "result:"), c->pid);
    if (!row) fail_msg("no result row for pid %lu:\n%s", c->pid, r.out);
    expect_in(row, "main window", "the row");
    expect_in(row, "stopped", "the row");
    free(row);
    assert_int_equal(rmt_child_wait(c, rmt_timeout(10000)), 0);
    log = rmt_read_record(rec);
    expect_in(log, "QUERYENDSESSION lparam=0x00000001", "the helper's record");
    expect_in(log, "ENDSESSION wparam=1", "the helper's record");
    free(log);
    run_free(&r);
    free(q);
    free(rec);
}

/* close without --force of a window that refuses WM_QUERYENDSESSION: the shutdown is
 * cancelled (spec 8.2 step 2), RmShutdown 351, exit 3, the helper still runs. With
 * --force (and --json) it is closed: exit 0, JSON with "stopped". */
static void test_close_refused_then_forced(void **state)
{
    WCHAR *q = quoted(rmt_helper_path(TRUE)), args[2 * MAX_PATH];
    struct rmt_child *c = rmt_spawn_tracked(TRUE, 0, L"window --refuse --title \"rmtool refuse\"",
                                            RMT_SPAWN_TIMEOUT);
    char pidkey[32], *obj;
    struct run r;

    swprintf(args, ARRAYSIZE(args), L"close %ls", q);
    r = run_tool(args);
    if (shutdown_missing(&r))
    {
        run_free(&r);
        free(q);
        skip();
    }
    expect_code(&r, EXIT_PARTIAL);
    expect_one_error_line(&r, "351 ERROR_FAIL_SHUTDOWN");
    assert_true(rmt_child_alive(c));
    run_free(&r);

    swprintf(args, ARRAYSIZE(args), L"close --force --json %ls", q);
    r = run_tool(args);
    expect_code(&r, EXIT_OK);
    expect_json(r.out);
    expect_in(r.out, "\"shutdown_called\": true", "stdout");
    expect_in(r.out, "\"shutdown_result\": 0", "stdout");
    assert_null(strstr(r.out, "progress"));
    snprintf(pidkey, sizeof(pidkey), "{\"pid\": %lu,", (unsigned long)c->pid);
    obj = json_object_with(r.out, pidkey);
    if (!obj) fail_msg("no object for pid %lu:\n%s", c->pid, r.out);
    expect_in(obj, "\"stopped\"", "the process");
    free(obj);
    assert_true(rmt_child_wait(c, rmt_timeout(10000)) != (DWORD)-1);
    run_free(&r);
    free(q);
}

/* The content of a file (malloc'd, NUL-terminated). */
static char *file_text(const WCHAR *p)
{
    return read_all(p);
}

static void write_file(const WCHAR *p, const void *data, DWORD n)
{
    HANDLE h = CreateFileW(p, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    DWORD done;
    assert_true(h != INVALID_HANDLE_VALUE);
    assert_true(WriteFile(h, data, n, &done, NULL) && done == n);
    CloseHandle(h);
}

/* Number of entries in dir (without . and ..). */
static int count_entries(const WCHAR *dir)
{
    WCHAR pat[MAX_PATH];
    WIN32_FIND_DATAW fd;
    HANDLE f;
    int n = 0;
    swprintf(pat, MAX_PATH, L"%ls\\*", dir);
    f = FindFirstFileW(pat, &fd);
    if (f == INVALID_HANDLE_VALUE) return 0;
    do
        if (wcscmp(fd.cFileName, L".") && wcscmp(fd.cFileName, L"..")) n++;
    while (FindNextFileW(f, &fd));
    FindClose(f);
    return n;
}

/* replace of a file nobody uses: every step reported, the content swapped, no
 * temporary file left, nothing shut down or restarted. */
static void test_replace_unused(void **state)
{
    WCHAR *dir = rmt_path(L"rep"), *target = rmt_path(L"rep\\target.txt"),
          *src = rmt_path(L"rep\\new.txt"), args[3 * MAX_PATH];
    struct run r;
    char *text;

    assert_true(CreateDirectoryW(dir, NULL));
    write_file(target, "old content", 11);
    write_file(src, "new content", 11);
    swprintf(args, ARRAYSIZE(args), L"replace \"%ls\" \"%ls\"", target, src);
    r = run_tool(args);
    expect_code(&r, EXIT_OK);
    assert_string_equal(r.err, "");
    expect_in(r.out, "[1/8] copy the new file next to the target: ", "stdout");
    expect_in(r.out, "[2/8] start a Restart Manager session: ok", "stdout");
    expect_in(r.out, "[4/8] list the applications using it: 0 found", "stdout");
    expect_in(r.out, "[5/8] close them: nothing to close", "stdout");
    expect_in(r.out, "[6/8] replace the target: ok", "stdout");
    expect_in(r.out, "[7/8] restart the closed applications: nothing to restart", "stdout");
    expect_in(r.out, "[8/8] end the session: ok", "stdout");
    expect_in(r.out, "done: the target was replaced", "stdout");
    text = file_text(target);
    assert_string_equal(text, "new content");
    free(text);
    assert_int_equal(count_entries(dir), 2);
    run_free(&r);

    /* A missing NEWFILE: one error line, the target untouched, exit 4. */
    swprintf(args, ARRAYSIZE(args), L"replace \"%ls\" \"%ls.missing\"", target, src);
    r = run_tool(args);
    expect_code(&r, EXIT_ERROR);
    expect_one_error_line(&r, "ERROR_FILE_NOT_FOUND");
    assert_int_equal(count_entries(dir), 2);
    run_free(&r);
    free(dir);
    free(target);
    free(src);
}

/* Kills every process whose image is exe (what RmRestart started from our copy). */
static void kill_image(const WCHAR *exe)
{
    PROCESSENTRY32W pe;
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    if (snap == INVALID_HANDLE_VALUE) return;
    pe.dwSize = sizeof(pe);
    if (Process32FirstW(snap, &pe))
        do
        {
            WCHAR img[MAX_PATH];
            DWORD n = MAX_PATH;
            HANDLE p = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_TERMINATE |
                                   SYNCHRONIZE, FALSE, pe.th32ProcessID);
            if (!p) continue;
            if (QueryFullProcessImageNameW(p, 0, img, &n) && !_wcsicmp(img, exe))
            {
                TerminateProcess(p, 0xdead);
                WaitForSingleObject(p, rmt_timeout(5000));
            }
            CloseHandle(p);
        } while (Process32NextW(snap, &pe));
    CloseHandle(snap);
}

/* replace of the executable of a running GUI application (a copy of the GUI helper
 * with its DLL in a directory of its own): it is closed, the file swapped, and the
 * application restarted; exit 0. */
static void test_replace_running_exe(void **state)
{
    static const char marker[] = "RMTOOL-NEW-VERSION";
    WCHAR *dir = rmt_path(L"app"), *exe = rmt_path(L"app\\rmhelper_gui.exe"),
          *dll = rmt_path(L"app\\rstrtmgr.dll"), *src = rmt_path(L"newversion.exe"),
          *rec = rmt_path(L"replace.rec"), dllsrc[MAX_PATH], args[3 * MAX_PATH], *slash;
    struct rmt_child c;
    struct run r;
    HANDLE h;
    DWORD done, rc;
    char *text;

    assert_true(CreateDirectoryW(dir, NULL));
    assert_true(CopyFileW(rmt_helper_path(TRUE), exe, FALSE));
    GetModuleFileNameW(NULL, dllsrc, MAX_PATH);
    slash = wcsrchr(dllsrc, L'\\');
    wcscpy(slash + 1, L"rstrtmgr.dll");
    assert_true(CopyFileW(dllsrc, dll, FALSE));
    /* The new version: the same program with bytes appended (a PE overlay). */
    assert_true(CopyFileW(rmt_helper_path(TRUE), src, FALSE));
    h = CreateFileW(src, FILE_APPEND_DATA, 0, NULL, OPEN_EXISTING, 0, NULL);
    assert_true(h != INVALID_HANDLE_VALUE);
    assert_true(WriteFile(h, marker, sizeof(marker) - 1, &done, NULL));
    CloseHandle(h);

    swprintf(args, ARRAYSIZE(args), L"--record \"%ls\" window --title \"rmtool replace\"", rec);
    rc = rmt_spawn_exe(exe, args, 0, TRUE, RMT_SPAWN_TIMEOUT, &c);
    assert_int_equal(rc, ERROR_SUCCESS);

    swprintf(args, ARRAYSIZE(args), L"replace \"%ls\" \"%ls\"", exe, src);
    r = run_tool(args);
    kill_image(exe);   /* the restarted copy, if the tool's job did not end it */
    rmt_child_kill(&c);
    if (shutdown_missing(&r))
    {
        run_free(&r);
        skip();
    }
    expect_code(&r, EXIT_OK);
    assert_string_equal(r.err, "");
    expect_in(r.out, "[4/8] list the applications using it: 1 found", "stdout");
    expect_in(r.out, "main window", "stdout");
    expect_in(r.out, "     closed\n", "stdout");
    expect_in(r.out, "[6/8] replace the target: ok", "stdout");
    expect_in(r.out, "     restarted\n", "stdout");
    expect_in(r.out, "done: the target was replaced", "stdout");
    text = rmt_read_record(rec);
    expect_in(text, "ENDSESSION wparam=1", "the helper's record");
    free(text);
    /* The target is the new version now. */
    {
        WIN32_FILE_ATTRIBUTE_DATA a;
        assert_true(GetFileAttributesExW(exe, GetFileExInfoStandard, &a));
        assert_true(a.nFileSizeLow > sizeof(marker));
        text = file_text(exe);
        assert_memory_equal(text + a.nFileSizeLow - (sizeof(marker) - 1), marker, sizeof(marker) - 1);
        free(text);
    }
    assert_int_equal(count_entries(dir), 2);   /* no temporary copy left */
    run_free(&r);
    free(dir);
    free(exe);
    free(dll);
    free(src);
    free(rec);
}

/* ---- on a console ------------------------------------------------------------------ */

/* Runs rmtool with the console screen buffer con as stdout and stderr and returns
 * its exit code. */
static DWORD run_on_console(HANDLE con, const WCHAR *args)
{
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limit;
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    WCHAR cmd[3 * MAX_PATH];
    HANDLE job = CreateJobObjectW(NULL, NULL);
    DWORD code = (DWORD)-1;

    assert_non_null(job);
    memset(&limit, 0, sizeof(limit));
    limit.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    SetInformationJobObject(job, JobObjectExtendedLimitInformation, &limit, sizeof(limit));
    swprintf(cmd, ARRAYSIZE(cmd), L"\"%ls\" %ls", tool_path(), args);
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdOutput = con;
    si.hStdError = con;
    if (!CreateProcessW(tool_path(), cmd, NULL, NULL, TRUE, CREATE_SUSPENDED, NULL, NULL, &si, &pi))
        fail_msg("starting %ls failed: %lu", tool_path(), GetLastError());
    AssignProcessToJobObject(job, pi.hProcess);
    ResumeThread(pi.hThread);
    CloseHandle(pi.hThread);
    if (WaitForSingleObject(pi.hProcess, TOOL_TIMEOUT) != WAIT_OBJECT_0)
        TerminateProcess(pi.hProcess, 0xdead);
    GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hProcess);
    CloseHandle(job);
    printf("# rmtool %ls (console) -> %lu\n", args, code);
    return code;
}

/* The screen buffer's text, rows joined by '\n' with trailing blanks cut (malloc'd). */
static WCHAR *screen_text(HANDLE con)
{
    CONSOLE_SCREEN_BUFFER_INFO info;
    WCHAR *text, *row, *p;
    SHORT y;
    assert_true(GetConsoleScreenBufferInfo(con, &info));
    text = malloc(((size_t)info.dwSize.X + 1) * info.dwSize.Y * sizeof(WCHAR) + sizeof(WCHAR));
    row = malloc(((size_t)info.dwSize.X + 1) * sizeof(WCHAR));
    assert_true(text && row);
    p = text;
    for (y = 0; y < info.dwSize.Y; y++)
    {
        COORD at = { 0, y };
        DWORD got = 0;
        ReadConsoleOutputCharacterW(con, row, (DWORD)info.dwSize.X, at, &got);
        while (got && row[got - 1] == L' ') got--;
        memcpy(p, row, got * sizeof(WCHAR));
        p += got;
        *p++ = L'\n';
    }
    *p = 0;
    free(row);
    return text;
}

/* On a console the tool writes UTF-16 (WriteConsoleW): a non-ASCII path shows as is,
 * and close draws a progress bar instead of "progress N%" lines. */
static void test_console_output(void **state)
{
    SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, TRUE };
    WCHAR *dir = rmt_path(L"con-\u00e9\u00df\u65e5"), *f, *q, args[2 * MAX_PATH], *screen;
    struct rmt_child *c;
    HANDLE con;
    DWORD code;
    BOOL allocated = FALSE;

    /* A screen buffer of its own on this process's console (one is made if there is
     * none): the tool writes to it and the test reads it back. */
    con = CreateConsoleScreenBuffer(GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                                    &sa, CONSOLE_TEXTMODE_BUFFER, NULL);
    /* Under Wine a program started from a Unix shell has a console bound to the
     * terminal that offers no screen buffers: leave it for a new one. */
    if (con == INVALID_HANDLE_VALUE && (FreeConsole(), AllocConsole()))
    {
        allocated = TRUE;
        con = CreateConsoleScreenBuffer(GENERIC_READ | GENERIC_WRITE,
                                        FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                                        CONSOLE_TEXTMODE_BUFFER, NULL);
    }
    if (con == INVALID_HANDLE_VALUE)
    {
        printf("# no console screen buffer here (%lu): skipped\n", GetLastError());
        if (allocated) FreeConsole();
        skip();
    }
    assert_true(CreateDirectoryW(dir, NULL));
    f = rmt_make_file(L"con-\u00e9\u00df\u65e5\\held.txt");
    c = hold(f);
    q = quoted(dir);
    swprintf(args, ARRAYSIZE(args), L"list %ls", q);
    code = run_on_console(con, args);
    screen = screen_text(con);
    if (code != EXIT_IN_USE) fail_msg("exit code %lu, screen:\n%ls", code, screen);
    if (!wcsstr(screen, dir)) fail_msg("'%ls' not on the screen:\n%ls", dir, screen);
    free(screen);
    rmt_kill_all();

    c = rmt_spawn_tracked(TRUE, 0, L"window --title \"rmtool console\"", RMT_SPAWN_TIMEOUT);
    free(q);
    q = quoted(rmt_helper_path(TRUE));
    swprintf(args, ARRAYSIZE(args), L"close %ls", q);
    code = run_on_console(con, args);
    screen = screen_text(con);
    CloseHandle(con);
    if (allocated) FreeConsole();
    if (code == EXIT_ERROR && wcsstr(screen, L"120 ERROR_CALL_NOT_IMPLEMENTED"))
    {
        free(screen);
        printf("# RmShutdown returns 120 in this DLL build: skipped\n");
        skip();
    }
    if (code != EXIT_OK) fail_msg("exit code %lu, screen:\n%ls", code, screen);
    if (!wcsstr(screen, L"[########################################] 100%"))
        fail_msg("no full progress bar on the screen:\n%ls", screen);
    if (wcsstr(screen, L"progress 100%")) fail_msg("plain progress lines on a console:\n%ls", screen);
    assert_true(rmt_child_wait(c, rmt_timeout(10000)) != (DWORD)-1);
    free(screen);
    free(q);
    free(f);
    free(dir);
}

#define T(f) cmocka_unit_test_teardown(f, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_our_dll),
        T(test_help),
        T(test_bad_usage),
        T(test_list_held_file),
        T(test_list_nothing),
        T(test_list_missing_path),
        T(test_list_json_unicode),
        T(test_directory_expansion),
        T(test_list_service),
        T(test_reboot_needed),
        T(test_sessions),
        T(test_sessions_abandoned),
        T(test_close_gui),
        T(test_close_refused_then_forced),
        T(test_replace_unused),
        T(test_replace_running_exe),
        T(test_console_output), /* last: it may give this process a console */
    };
    int failed;

    rmt_init();
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    rmt_cleanup();
    return failed;
}
