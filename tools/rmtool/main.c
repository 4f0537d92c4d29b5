/*
 * main.c - rmtool's command line: commands, options, help and exit codes.
 *
 *   rmtool list [--json] PATH...
 *   rmtool close [--force] [--only-registered] [--json] PATH...
 *   rmtool replace [--force] [--only-registered] TARGET NEWFILE
 *   rmtool sessions [--json]
 *   rmtool help [COMMAND]          (or COMMAND --help)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "rmtool.h"
#include <string.h>
#include <wchar.h>

static const WCHAR exit_codes_text[] =
    L"Exit codes:\n"
    L"  0   success; list: no process uses the files\n"
    L"  1   list: some process uses the files (and no reboot is needed)\n"
    L"  2   a reboot is needed: RmGetList reported reboot reasons, or RmShutdown\n"
    L"      returned 350 ERROR_FAIL_NOACTION_REBOOT (nothing was closed)\n"
    L"  3   some applications could not be closed (351 ERROR_FAIL_SHUTDOWN) or\n"
    L"      restarted (352 ERROR_FAIL_RESTART)\n"
    L"  4   any other error (the failing call and its Win32 error are printed)\n"
    L"  64  bad usage\n";

static const WCHAR general_help[] =
    L"rmtool - who is using these files, and closing them, with the Restart Manager\n"
    L"\n"
    L"Usage:\n"
    L"  rmtool list [--json] PATH...\n"
    L"      Show the processes and services that use the files (a directory stands\n"
    L"      for every file beneath it).\n"
    L"  rmtool close [--force] [--only-registered] [--json] PATH...\n"
    L"      Close the applications and stop the services that use the files.\n"
    L"  rmtool replace [--force] [--only-registered] TARGET NEWFILE\n"
    L"      Replace TARGET by a copy of NEWFILE as an installer does: close what\n"
    L"      uses TARGET, swap the file atomically, restart what was closed.\n"
    L"  rmtool sessions [--json]\n"
    L"      Show this user's open Restart Manager sessions (leak hunting).\n"
    L"  rmtool help [COMMAND]   or   rmtool COMMAND --help\n"
    L"\n";

static const WCHAR list_help[] =
    L"Usage: rmtool list [--json] PATH...\n"
    L"\n"
    L"Registers every file with a Restart Manager session (a directory stands for\n"
    L"every file beneath it, recursively; junctions are not followed) and prints\n"
    L"what RmGetList reports: PID, process start time, application type, TS\n"
    L"session, whether it can be restarted, service short name and friendly name,\n"
    L"then the reboot reasons.\n"
    L"\n"
    L"  --json   one JSON object instead: paths, files, processes (pid, start_time,\n"
    L"           start_filetime, type, type_code, name, service, ts_session,\n"
    L"           restartable, status, status_code), reboot_needed, reboot_reasons,\n"
    L"           reboot_reasons_code, exit_code\n"
    L"\n";

static const WCHAR close_help[] =
    L"Usage: rmtool close [--force] [--only-registered] [--json] PATH...\n"
    L"\n"
    L"Lists the users of the files like 'rmtool list', then shuts them down with\n"
    L"RmShutdown: GUI applications get WM_QUERYENDSESSION/WM_ENDSESSION, console\n"
    L"applications CTRL_C, services are stopped. Progress is a bar on a console,\n"
    L"'progress N%' lines otherwise. The final table shows what happened to each.\n"
    L"Nothing is restarted.\n"
    L"\n"
    L"  --force             RmForceShutdown: terminate what does not close in time\n"
    L"  --only-registered   RmShutdownOnlyRegistered: close nothing unless every\n"
    L"                      application can be restarted\n"
    L"  --json              a JSON object (as for list, plus shutdown_called and\n"
    L"                      shutdown_result); no progress output\n"
    L"\n";

static const WCHAR replace_help[] =
    L"Usage: rmtool replace [--force] [--only-registered] TARGET NEWFILE\n"
    L"\n"
    L"The installer flow for one file, each step reported:\n"
    L"  1 copy NEWFILE next to TARGET (TARGET.rmtool-PID.new, same volume)\n"
    L"  2 RmStartSession   3 RmRegisterResources(TARGET)   4 RmGetList\n"
    L"  5 RmShutdown (when something uses TARGET)\n"
    L"  6 ReplaceFile(TARGET, copy) (MoveFileEx when TARGET is new): an atomic\n"
    L"    swap; skipped when RmShutdown says a reboot is needed (350)\n"
    L"  7 RmRestart (when something was closed)   8 RmEndSession\n"
    L"TARGET need not exist (it is then created).\n"
    L"\n"
    L"  --force             RmForceShutdown\n"
    L"  --only-registered   RmShutdownOnlyRegistered\n"
    L"\n";

static const WCHAR sessions_help[] =
    L"Usage: rmtool sessions [--json]\n"
    L"\n"
    L"Lists this user's Restart Manager sessions by reading the session store\n"
    L"HKCU\\Software\\Microsoft\\RestartManager\\SessionNNNN (read-only): slot\n"
    L"(= session handle), owner PID and start time, whether the owner still runs\n"
    L"(same PID and same start time), number of registered files, processes and\n"
    L"services, and the owner's executable. A session whose owner is gone is\n"
    L"abandoned; the next RmStartSession reuses its slot. At most 64 sessions.\n"
    L"\n"
    L"  --json   {\"sessions\": [{slot, key, owner_pid, owner_start_time,\n"
    L"           owner_start_filetime, owner_alive, owner_image, sequence, files,\n"
    L"           processes, services, damaged}]}\n"
    L"\n";

enum command { CMD_NONE, CMD_LIST, CMD_CLOSE, CMD_REPLACE, CMD_SESSIONS, CMD_HELP };

static const struct
{
    const WCHAR *name;
    enum command cmd;
    const WCHAR *help;
} commands[] = {
    { L"list", CMD_LIST, list_help },
    { L"close", CMD_CLOSE, close_help },
    { L"replace", CMD_REPLACE, replace_help },
    { L"sessions", CMD_SESSIONS, sessions_help },
    { L"help", CMD_HELP, NULL },
};

static int show_help(const WCHAR *text)
{
    out_w(OUT_STDOUT, text ? text : general_help);
    out_w(OUT_STDOUT, exit_codes_text);
    return RMTOOL_EXIT_OK;
}

static int usage_error(const WCHAR *cmd, const WCHAR *fmt, const WCHAR *arg)
{
    WCHAR msg[512];
    swprintf(msg, ARRAYSIZE(msg), fmt, arg);
    if (cmd) report_error(L"%ls: %ls (try 'rmtool %ls --help')", cmd, msg, cmd);
    else report_error(L"%ls (try 'rmtool --help')", msg);
    return RMTOOL_EXIT_USAGE;
}

static BOOL is_help(const WCHAR *a)
{
    return !wcscmp(a, L"--help") || !wcscmp(a, L"-h") || !wcscmp(a, L"-?") || !wcscmp(a, L"/?");
}

static int run(int argc, WCHAR **argv)
{
    struct options o;
    enum command cmd = CMD_NONE;
    const WCHAR *help = NULL, *name;
    BOOL options_done = FALSE;
    int i, k;

    memset(&o, 0, sizeof(o));
    if (argc < 2) return usage_error(NULL, L"no command given%ls", L"");
    if (is_help(argv[1])) return show_help(NULL);
    name = argv[1];
    for (k = 0; k < (int)ARRAYSIZE(commands); k++)
        if (!wcscmp(name, commands[k].name))
        {
            cmd = commands[k].cmd;
            help = commands[k].help;
        }
    if (cmd == CMD_NONE) return usage_error(NULL, L"unknown command '%ls'", name);

    if (cmd == CMD_HELP)
    {
        if (argc == 2) return show_help(NULL);
        if (argc > 3) return usage_error(L"help", L"too many arguments%ls", L"");
        for (k = 0; k < (int)ARRAYSIZE(commands); k++)
            if (!wcscmp(argv[2], commands[k].name)) return show_help(commands[k].help);
        return usage_error(L"help", L"unknown command '%ls'", argv[2]);
    }

    /* Options may come anywhere before "--"; the rest are operands. */
    o.args = argv + 2;
    for (i = 2; i < argc && wcscmp(argv[i], L"--"); i++)
        if (is_help(argv[i])) return show_help(help);
    for (i = 2; i < argc; i++)
    {
        WCHAR *a = argv[i];
        if (!options_done && a[0] == L'-' && a[1])
        {
            if (!wcscmp(a, L"--")) { options_done = TRUE; continue; }
            if (!wcscmp(a, L"--json") && cmd != CMD_REPLACE) { o.json = TRUE; continue; }
            if (!wcscmp(a, L"--force") && (cmd == CMD_CLOSE || cmd == CMD_REPLACE))
            {
                o.force = TRUE;
                continue;
            }
            if (!wcscmp(a, L"--only-registered") && (cmd == CMD_CLOSE || cmd == CMD_REPLACE))
            {
                o.only_registered = TRUE;
                continue;
            }
            return usage_error(name, L"unknown option '%ls'", a);
        }
        /* Operands are packed to the front of argv[2..] in order. */
        o.args[o.nargs++] = a;
    }

    switch (cmd)
    {
    case CMD_LIST:
        if (!o.nargs) return usage_error(name, L"no PATH given%ls", L"");
        return cmd_list(&o);
    case CMD_CLOSE:
        if (!o.nargs) return usage_error(name, L"no PATH given%ls", L"");
        return cmd_close(&o);
    case CMD_REPLACE:
        if (o.nargs != 2) return usage_error(name, L"needs exactly TARGET and NEWFILE%ls", L"");
        return cmd_replace(&o);
    case CMD_SESSIONS:
        if (o.nargs) return usage_error(name, L"unexpected argument '%ls'", o.args[0]);
        return cmd_sessions(&o);
    default:
        return RMTOOL_EXIT_USAGE;
    }
}

int wmain(int argc, WCHAR **argv)
{
    int rc;
    /* No error dialogs for a missing floppy or the like while walking trees. */
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOOPENFILEERRORBOX);
    rc = run(argc, argv);
    out_flush(OUT_STDOUT);
    out_flush(OUT_STDERR);
    return rc;
}
