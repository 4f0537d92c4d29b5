/*
 * test_eventmsg.c - the event text: the DLL's message table has a message for
 * every event the code can log (src/events.h, whose string counts rm_event()
 * enforces at compile time), taking exactly that many insertion strings, and no
 * other message; and the event source is registered with the DLL as its
 * EventMessageFile (Wine lets every process write HKLM), once per process, left
 * alone when it already names an existing file, never at the cost of a call.
 *
 * The message table is read the way Event Viewer reads it: a copy of the DLL
 * loaded with LOAD_LIBRARY_AS_DATAFILE, FormatMessage(FORMAT_MESSAGE_FROM_HMODULE)
 * with sample insertion strings.
 */
#include "rmtest.h"
#include "events.h"
#include <stdio.h>
#include <wchar.h>

static const struct
{
    DWORD id;
    int strings;
    const char *name;
} events[] = {
#define RMT_EVENT(sym, id, n) { id, n, #sym },
    RM_EVENT_LIST(RMT_EVENT)
#undef RMT_EVENT
};

#define MAX_INSERTS 9

/* A copy of our DLL loaded as a data file (never as code), as Event Viewer does. */
static HMODULE datafile;
static WCHAR dll_path[MAX_PATH];

static int setup_datafile(void **state)
{
    WCHAR *copy = rmt_path(L"msgtable-copy.dll");
    (void)state;
    rmt_assert_our_dll();
    assert_true(GetModuleFileNameW(rmt_rstrtmgr_module(), dll_path, MAX_PATH) > 0);
    assert_true(CopyFileW(dll_path, copy, FALSE));
    datafile = LoadLibraryExW(copy, NULL, LOAD_LIBRARY_AS_DATAFILE);
    if (!datafile) fail_msg("LoadLibraryEx(LOAD_LIBRARY_AS_DATAFILE) %ls: %lu", copy, GetLastError());
    free(copy);
    return 0;
}

static int teardown_datafile(void **state)
{
    (void)state;
    if (datafile) FreeLibrary(datafile);
    return 0;
}

/* The highest %N insert in a message template, and whether each of 1..N appears. */
static int highest_insert(const WCHAR *text, BOOL seen[MAX_INSERTS + 1])
{
    int highest = 0, n;
    const WCHAR *p;

    for (p = text; *p; p++)
    {
        if (*p != L'%') continue;
        if (p[1] == L'%') { p++; continue; }
        if (p[1] < L'1' || p[1] > L'9') continue;
        n = p[1] - L'0';
        if (p[2] >= L'0' && p[2] <= L'9') n = n * 10 + (p[2] - L'0');
        if (n <= MAX_INSERTS) seen[n] = TRUE;
        if (n > highest) highest = n;
    }
    return highest;
}

static void test_every_event_has_its_message(void **state)
{
    size_t i;
    int k;
    (void)state;

    for (i = 0; i < ARRAYSIZE(events); i++)
    {
        WCHAR samples[MAX_INSERTS][48], text[2048], raw[2048];
        DWORD_PTR args[MAX_INSERTS];
        BOOL seen[MAX_INSERTS + 1] = { FALSE };
        DWORD len;

        for (k = 0; k < MAX_INSERTS; k++)
        {
            swprintf(samples[k], ARRAYSIZE(samples[k]), L"<insert %d of event %lu>", k + 1, events[i].id);
            args[k] = (DWORD_PTR)samples[k];
        }
        len = FormatMessageW(FORMAT_MESSAGE_FROM_HMODULE | FORMAT_MESSAGE_IGNORE_INSERTS, datafile, events[i].id,
                             MAKELANGID(LANG_ENGLISH, SUBLANG_ENGLISH_US), raw, ARRAYSIZE(raw), NULL);
        if (!len) fail_msg("%s (%lu): no message in the table (%lu)", events[i].name, events[i].id, GetLastError());
        /* Exactly the inserts %1..%n the code passes: none missing, none beyond. */
        if (highest_insert(raw, seen) != events[i].strings)
            fail_msg("%s (%lu): the message \"%ls\" uses inserts up to %%%d, the code passes %d string(s)",
                     events[i].name, events[i].id, raw, highest_insert(raw, seen), events[i].strings);
        for (k = 1; k <= events[i].strings; k++)
            if (!seen[k]) fail_msg("%s (%lu): the message \"%ls\" does not use %%%d", events[i].name, events[i].id, raw, k);

        len = FormatMessageW(FORMAT_MESSAGE_FROM_HMODULE | FORMAT_MESSAGE_ARGUMENT_ARRAY, datafile, events[i].id, 0,
                             text, ARRAYSIZE(text), (va_list *)(void *)args);
        if (!len) fail_msg("%s (%lu): FormatMessage with insertion strings failed (%lu)", events[i].name, events[i].id,
                           GetLastError());
        for (k = 0; k < events[i].strings; k++)
            if (!wcsstr(text, samples[k]))
                fail_msg("%s (%lu): \"%ls\" lacks insertion string %d", events[i].name, events[i].id, text, k + 1);
        /* Messages end with %0: no line break after the text. */
        assert_true(len > 0 && text[len - 1] != L'\n');
        printf("# %lu %s: %ls\n", events[i].id, events[i].name, text);
    }
}

/* The table holds those messages and no other (walks RT_MESSAGETABLE's blocks). */
static void test_message_table_has_no_other_ids(void **state)
{
    HRSRC res = FindResourceW(datafile, MAKEINTRESOURCEW(1), RT_MESSAGETABLE);
    const MESSAGE_RESOURCE_DATA *data;
    DWORD b, id, total = 0;
    size_t i;
    (void)state;

    assert_non_null(res);
    data = LockResource(LoadResource(datafile, res));
    assert_non_null(data);
    for (b = 0; b < data->NumberOfBlocks; b++)
        for (id = data->Blocks[b].LowId; id <= data->Blocks[b].HighId; id++)
        {
            for (i = 0; i < ARRAYSIZE(events) && events[i].id != id; i++) {}
            if (i == ARRAYSIZE(events)) fail_msg("the message table has %lu, which no event uses (events.h)", id);
            total++;
        }
    assert_int_equal(total, ARRAYSIZE(events));
}

/* ---- the event source's registration ------------------------------------------ */

static void delete_source_key(void)
{
    LSTATUS err = RegDeleteKeyW(HKEY_LOCAL_MACHINE, RM_EVENT_SOURCE_KEY);
    assert_true(err == ERROR_SUCCESS || err == ERROR_FILE_NOT_FOUND);
}

static BOOL source_key_exists(void)
{
    HKEY key;
    if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, RM_EVENT_SOURCE_KEY, 0, KEY_READ, &key)) return FALSE;
    RegCloseKey(key);
    return TRUE;
}

static void set_message_file(const WCHAR *value)
{
    HKEY key;
    assert_int_equal(RegCreateKeyExW(HKEY_LOCAL_MACHINE, RM_EVENT_SOURCE_KEY, 0, NULL, 0, KEY_SET_VALUE, NULL, &key,
                                     NULL), ERROR_SUCCESS);
    assert_int_equal(RegSetValueExW(key, L"EventMessageFile", 0, REG_EXPAND_SZ, (const BYTE *)value,
                                    (DWORD)(wcslen(value) + 1) * sizeof(WCHAR)), ERROR_SUCCESS);
    RegCloseKey(key);
}

/* The registered EventMessageFile (REG_EXPAND_SZ), and TypesSupported (or ~0). */
static void read_source(WCHAR *file, DWORD cch, DWORD *types)
{
    DWORD type = 0, size = (cch - 1) * sizeof(WCHAR), dsize = sizeof(*types);
    HKEY key;

    file[0] = 0;
    *types = ~0u;
    if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, RM_EVENT_SOURCE_KEY, 0, KEY_READ, &key)) return;
    if (!RegQueryValueExW(key, L"EventMessageFile", NULL, &type, (BYTE *)file, &size))
    {
        file[size / sizeof(WCHAR)] = 0;
        assert_int_equal(type, REG_EXPAND_SZ);
    }
    if (RegQueryValueExW(key, L"TypesSupported", NULL, &type, (BYTE *)types, &dsize) || type != REG_DWORD)
        *types = ~0u;
    RegCloseKey(key);
}

/* Runs this program as a child that logs events (see child_main); its exit code. */
static DWORD run_child(const char *mode, const WCHAR *env)
{
    WCHAR self[MAX_PATH], cmdline[MAX_PATH + 64];
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    DWORD code = SENTINEL;

    assert_true(GetModuleFileNameW(NULL, self, MAX_PATH) > 0);
    swprintf(cmdline, ARRAYSIZE(cmdline), L"\"%ls\" %hs", self, mode);
    if (env) SetEnvironmentVariableW(L"RSTRTMGR_FAULT", env);
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    if (!CreateProcessW(self, cmdline, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
        fail_msg("CreateProcess: %lu", GetLastError());
    if (env) SetEnvironmentVariableW(L"RSTRTMGR_FAULT", NULL);
    if (WaitForSingleObject(pi.hProcess, rmt_timeout(60000)) != WAIT_OBJECT_0)
    {
        TerminateProcess(pi.hProcess, 1);
        fail_msg("child %s did not finish", mode);
    }
    GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    return code;
}

static void test_source_registered_with_this_dll(void **state)
{
    WCHAR file[MAX_PATH + 1];
    DWORD types;
    (void)state;

    delete_source_key();
    assert_int_equal(run_child("--child-session", NULL), 0);
    read_source(file, ARRAYSIZE(file), &types);
    printf("# EventMessageFile %ls, TypesSupported %lu\n", file, types);
    assert_true(!_wcsicmp(file, dll_path));
    assert_int_equal(types, EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE | EVENTLOG_INFORMATION_TYPE);
}

static void test_stale_registration_replaced(void **state)
{
    WCHAR file[MAX_PATH + 1];
    DWORD types;
    (void)state;

    delete_source_key();
    set_message_file(L"C:\\no\\such\\folder\\rstrtmgr.dll");   /* a deleted temporary copy */
    assert_int_equal(run_child("--child-session", NULL), 0);
    read_source(file, ARRAYSIZE(file), &types);
    assert_true(!_wcsicmp(file, dll_path));
    assert_int_equal(types, 7);
}

static void test_existing_registration_kept(void **state)
{
    static const WCHAR other[] = L"%SystemRoot%\\system32\\kernel32.dll";   /* exists */
    WCHAR file[MAX_PATH + 1];
    DWORD types;
    (void)state;

    delete_source_key();
    set_message_file(other);
    assert_int_equal(run_child("--child-session", NULL), 0);
    read_source(file, ARRAYSIZE(file), &types);
    assert_true(!wcscmp(file, other));
    delete_source_key();
}

/* At most once per process: a child registers with its first event, removes the
 * key, logs more events; the key stays removed. */
static void test_registered_once_per_process(void **state)
{
    (void)state;
    delete_source_key();
    assert_int_equal(run_child("--child-once", NULL), 0);
    assert_false(source_key_exists());
}

/* A caller that may not write HKLM (the key's creation refused, as for an
 * unelevated caller on Windows): nothing registered, every call succeeds. */
static void test_unwritable_hklm_fails_no_call(void **state)
{
    (void)state;
    delete_source_key();
    assert_int_equal(run_child("--child-session", L"EventSourceKey:1+"), 0);
    assert_false(source_key_exists());
    /* Put the registration back for whoever looks at the prefix next. */
    assert_int_equal(run_child("--child-session", NULL), 0);
    assert_true(source_key_exists());
}

/* ---- child side -------------------------------------------------------------------- */

static int child_session(void)
{
    WCHAR key[CCH_RM_SESSION_KEY + 1];
    DWORD h;
    if (RmStartSession(&h, 0, key)) return 10;
    if (RmRegisterResources(h, 0, NULL, 0, NULL, 0, NULL)) return 11;
    if (RmEndSession(h)) return 12;
    return 0;
}

static int child_once(void)
{
    WCHAR key[CCH_RM_SESSION_KEY + 1];
    DWORD h;
    if (RmStartSession(&h, 0, key)) return 10;              /* event 10000: registers */
    if (!source_key_exists()) return 20;
    if (RegDeleteKeyW(HKEY_LOCAL_MACHINE, RM_EVENT_SOURCE_KEY)) return 21;
    if (RmEndSession(h)) return 12;                         /* event 10001: must not */
    if (RmStartSession(&h, 0, key) || RmEndSession(h)) return 13;
    return source_key_exists() ? 22 : 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_event_has_its_message),
        cmocka_unit_test(test_message_table_has_no_other_ids),
        cmocka_unit_test(test_source_registered_with_this_dll),
        cmocka_unit_test(test_stale_registration_replaced),
        cmocka_unit_test(test_existing_registration_kept),
        cmocka_unit_test(test_registered_once_per_process),
        cmocka_unit_test(test_unwritable_hklm_fails_no_call),
    };
    rmt_init();
    if (argc > 1 && !strcmp(argv[1], "--child-session")) return child_session();
    if (argc > 1 && !strcmp(argv[1], "--child-once")) return child_once();
    return cmocka_run_group_tests(tests, setup_datafile, teardown_datafile);
}
