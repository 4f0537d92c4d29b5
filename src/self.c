/*
 * self.c - who we are (process identity, user SID, terminal-services session) and
 * whether another process, named by PID and creation time, is still alive.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"
#include <sddl.h>

static struct rm_self self;
static DWORD self_error;

static DWORD read_user_sid(WCHAR *out, SIZE_T cch)
{
    TOKEN_ELEVATION elevation;
    HANDLE token;
    BYTE buf[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    DWORD len, err = ERROR_SUCCESS;
    WCHAR *text = NULL;
    SIZE_T n;

    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) return GetLastError();
    if (!GetTokenInformation(token, TokenUser, buf, sizeof(buf), &len))
        err = GetLastError();
    else if (!ConvertSidToStringSidW(((TOKEN_USER *)buf)->User.Sid, &text))
        err = GetLastError();
    else if ((n = rm_wcsnlen(text, cch - 1)) >= cch)
        err = ERROR_BUFFER_OVERFLOW;
    else
    {
        memcpy(out, text, (n + 1) * sizeof(WCHAR));
        CopySid(sizeof(self.sid_bin), self.sid_bin, ((TOKEN_USER *)buf)->User.Sid);
    }
    if (GetTokenInformation(token, TokenElevation, &elevation, sizeof(elevation), &len))
        self.elevated = !!elevation.TokenIsElevated;
    if (text) LocalFree(text);
    CloseHandle(token);
    return err;
}

static BOOL CALLBACK self_init(INIT_ONCE *once, void *param, void **ctx)
{
    FILETIME exit_time, kernel, user;
    (void)once; (void)param; (void)ctx;

    self.process.dwProcessId = GetCurrentProcessId();
    if (!GetProcessTimes(GetCurrentProcess(), &self.process.ProcessStartTime, &exit_time,
                         &kernel, &user))
        self_error = GetLastError();
    else
        self_error = read_user_sid(self.sid, ARRAYSIZE(self.sid));
    if (!ProcessIdToSessionId(self.process.dwProcessId, &self.ts_session))
        self.ts_session = (DWORD)RM_INVALID_TS_SESSION;
    return TRUE;
}

DWORD rm_self_get(const struct rm_self **out)
{
    static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
    InitOnceExecuteOnce(&once, self_init, NULL, NULL);
    *out = &self;
    return self_error;
}

BOOL rm_process_start_time(HANDLE process, FILETIME *start)
{
    FILETIME exit_time, kernel, user;
    return GetProcessTimes(process, start, &exit_time, &kernel, &user);
}

BOOL rm_process_alive(const RM_UNIQUE_PROCESS *p)
{
    const struct rm_self *me;
    FILETIME start;
    HANDLE h;
    BOOL alive;

    rm_self_get(&me);
    if (p->dwProcessId == me->process.dwProcessId)
        return !memcmp(&p->ProcessStartTime, &me->process.ProcessStartTime, sizeof(FILETIME));

    h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE, FALSE, p->dwProcessId);
    if (!h)
    {
        /* A process we may not open still exists; without its start time we cannot
         * tell a reused PID apart, so we err on the side of "alive": a live owner's
         * session must never be taken over. */
        return GetLastError() == ERROR_ACCESS_DENIED;
    }
    /* An exited process can still be opened while someone holds a handle to it. */
    alive = rm_process_start_time(h, &start) &&
            !memcmp(&start, &p->ProcessStartTime, sizeof(FILETIME)) &&
            WaitForSingleObject(h, 0) == WAIT_TIMEOUT;
    CloseHandle(h);
    return alive;
}

const WCHAR *rm_token_obstacle(HANDLE process)
{
    const struct rm_self *self;
    union { TOKEN_USER user; BYTE raw[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE]; } u;
    TOKEN_ELEVATION elevation;
    const WCHAR *why = NULL;
    HANDLE token;
    DWORD cb;

    if (rm_self_get(&self)) return NULL;
    if (!OpenProcessToken(process, TOKEN_QUERY, &token))
        return GetLastError() == ERROR_ACCESS_DENIED ? L"Application token cannot be read." : NULL;
    if (GetTokenInformation(token, TokenUser, &u, sizeof(u), &cb) &&
        !EqualSid(u.user.User.Sid, (PSID)self->sid_bin))
        why = L"Application SID does not match Conductor SID.";   /* Windows' own wording (event 10010) */
    else if (!self->elevated &&
             GetTokenInformation(token, TokenElevation, &elevation, sizeof(elevation), &cb) &&
             elevation.TokenIsElevated)
        why = L"Application is elevated and the caller is not.";
    CloseHandle(token);
    return why;
}
