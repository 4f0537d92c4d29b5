/*
 * test_random.c - a seeded, reproducible random sequence of API calls across many
 * sessions, checked against a model after every step.
 *
 * The calls: RmStartSession (up to the 64-session limit and past it), RmJoinSession
 * from this process (good and mangled keys) and from helper processes (rmhelper
 * "join KEY [--no-end] FILES"), RmRegisterResources of files (held by helper
 * processes, unheld, nonexistent), processes (live, this process, a wrong start time)
 * and services (not installed), filters added, removed and listed, RmGetList,
 * RmCancelCurrentTask, RmEndSession of primaries, secondaries, secondaries whose
 * session ended, and handles that were ended. One holder exits halfway through.
 *
 * The model predicts every return code (spec 5.1-5.11 and README Choices), the slot a
 * new session takes, each session's Sequence (one more per call that stores
 * something new, spec 5.4), the exact RmGetList answer (each affected process exactly
 * once, spec 5.5; reboot reason DetectedSelf when this process is registered) and the
 * filter list (spec 5.9-5.11). After every step: the store holds exactly the model's
 * live sessions (ended sessions gone, never more than 64 live), and every 50 steps
 * this process's handle count is within a fixed bound.
 *
 * Seed: RM_SEED (decimal) if set, else the time; printed at the start and with every
 * failure as "replay: RM_SEED=<n>". RM_STEPS changes the number of steps (3000).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "rmspawn.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEYBUF (CCH_RM_SESSION_KEY + 1)
#define DEFAULT_STEPS 3000
#define MAX_HANDLES 64              /* per process (README U18) */
#define NHOLDERS 3
#define NPOOL 16                    /* files: 0..8 held (3 per holder), 9..11 unheld, 12..15 missing */
#define NPROCS 5                    /* holders 0..2, this process, a wrong start time */
#define NSVCS 3
#define NMODULES 3
#define NTARGETS (NMODULES + NPROCS + NSVCS)
#define MAX_NOEND 2

/* ---- random numbers (xorshift64*) ----------------------------------------------------- */

static UINT64 rng_state, seed;

static UINT64 rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static unsigned rnd(unsigned n) { return n ? (unsigned)(rng_next() >> 33) % n : 0; }

/* ---- the world ----------------------------------------------------------------------- */

struct msession
{
    BOOL live;
    DWORD slot;
    WCHAR key[KEYBUF];
    unsigned files, procs, svcs;        /* bit masks of what is registered */
    DWORD seq;                          /* expected end of the commits (groups) */
    int filter_action[NTARGETS];        /* 0 = no filter on that target */
};

enum hrole { ROLE_PRIMARY, ROLE_SECONDARY };

struct mhandle
{
    DWORD h;
    enum hrole role;
    int sess;                           /* index in sessions; -1 once that session ended */
};

static struct msession sessions[RMT_NSLOTS];      /* indexed by slot */
static struct mhandle handles[MAX_HANDLES];
static int nhandles;
static DWORD stale[32];                           /* handles this process ended */
static int nstale;
static BOOL foreign_slot[RMT_NSLOTS];             /* sessions not ours, present at start */

static WCHAR *pool[NPOOL];
static struct rmt_child holders[NHOLDERS];
static BOOL holder_alive[NHOLDERS];
static RM_UNIQUE_PROCESS procs[NPROCS];
static const WCHAR *const svc_names[NSVCS] = { L"RmRandSvcA", L"RmRandSvcB", L"RmRandSvcC" };
static const WCHAR *const module_names[NMODULES] = {
    L"C:\\Program Files\\RmRandom\\one.exe", L"C:\\Program Files\\RmRandom\\two.exe",
    L"C:\\RmRandom\\three.exe" };
static struct rmt_child noend[MAX_NOEND];
static BOOL noend_used[MAX_NOEND];
static WCHAR ended_keys[4][KEYBUF];
static int nended_keys;

static int step;
static const char *op_name = "setup";
static DWORD handle_baseline;
static unsigned spawns, calls;

#define CHECK(cond, ...)                                                                  \
    do {                                                                                  \
        if (!(cond)) check_failed(#cond, __LINE__, __VA_ARGS__);                          \
    } while (0)

static void check_failed(const char *what, int line, const char *fmt, ...)
{
    char detail[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    printf("# step %d (%s): %s failed at line %d: %s\n", step, op_name, what, line, detail);
    printf("replay: RM_SEED=%llu\n", (unsigned long long)seed);
    fail_msg("step %d (%s): %s: %s -- replay: RM_SEED=%llu", step, op_name, what, detail,
             (unsigned long long)seed);
}

/* ---- model helpers -------------------------------------------------------------------- */

static int live_sessions(void)
{
    int s, n = 0;
    for (s = 0; s < RMT_NSLOTS; s++) n += sessions[s].live;
    return n;
}

static int slot_taken(int s) { return sessions[s].live || (foreign_slot[s] && rmt_slot_live(s)); }

static int predicted_slot(void)
{
    int s;
    for (s = 0; s < RMT_NSLOTS; s++)
        if (!slot_taken(s)) return s;
    return -1;
}

static int pick_live_session(void)
{
    int s, n = live_sessions(), k;
    if (!n) return -1;
    k = (int)rnd((unsigned)n);
    for (s = 0; s < RMT_NSLOTS; s++)
        if (sessions[s].live && k-- == 0) return s;
    return -1;
}

static void add_handle(DWORD h, enum hrole role, int sess)
{
    int i;
    for (i = 0; i < nhandles; i++) CHECK(handles[i].h != h, "handle %lu issued twice", h);
    CHECK(nhandles < MAX_HANDLES, "more than %d handles", MAX_HANDLES);
    handles[nhandles].h = h;
    handles[nhandles].role = role;
    handles[nhandles].sess = sess;
    nhandles++;
    rmt_track(h);
}

static void remove_handle(int i)
{
    DWORD h = handles[i].h;
    rmt_untrack(h);
    handles[i] = handles[--nhandles];
    if (nstale < (int)ARRAYSIZE(stale)) stale[nstale++] = h;
    else stale[rnd(ARRAYSIZE(stale))] = h;
}

static BOOL is_open(DWORD h)
{
    int i;
    for (i = 0; i < nhandles; i++)
        if (handles[i].h == h) return TRUE;
    return FALSE;
}

/* The process identities a session's RmGetList must report, given its masks. */
static int expected_pids(const struct msession *s, DWORD *pids)
{
    int n = 0, k, j;
    BOOL present;
    for (k = 0; k < NHOLDERS; k++)
    {
        BOOL holds = (s->files >> (3 * k)) & 7;
        if (holder_alive[k] && (holds || (s->procs & (1u << k)))) pids[n++] = procs[k].dwProcessId;
    }
    if (s->procs & (1u << 3))
    {
        present = FALSE;
        for (j = 0; j < n; j++) present |= pids[j] == procs[3].dwProcessId;
        if (!present) pids[n++] = procs[3].dwProcessId;
    }
    /* procs[4] (a wrong start time) and the services (not installed) match nobody. */
    return n;
}

/* ---- invariants ----------------------------------------------------------------------- */

static void check_store(BOOL full)
{
    int s, live = 0;
    for (s = 0; s < RMT_NSLOTS; s++)
    {
        BOOL exists = rmt_slot_exists(s);
        if (sessions[s].live)
            CHECK(exists, "slot %d of a live session is missing from the store", s);
        else if (!foreign_slot[s])
            CHECK(!exists, "slot %d exists but no session of the model has it", s);
        if (full && exists && rmt_slot_live(s)) live++;
    }
    if (full)
    {
        CHECK(live <= RMT_NSLOTS, "%d live sessions", live);
        CHECK(live >= live_sessions(), "%d live slots, model has %d", live, live_sessions());
    }
}

static void check_handles(void)
{
    DWORD now = rmt_handle_count();
    int k, children = 0;
    for (k = 0; k < MAX_NOEND; k++) children += noend_used[k];
    /* Each child still running costs this process a process, a job and an event;
     * each open session handle keeps its slot's registry key open and may keep one
     * event (its cancel event, made by the first list/shutdown/restart); both are
     * closed with the handle. */
    CHECK(now <= handle_baseline + 3 * (DWORD)children + 2 * (DWORD)nhandles + 16,
          "%lu handles, baseline %lu, %d extra children, %d session handles", now, handle_baseline,
          children, nhandles);
}

/* ---- operations -------------------------------------------------------------------------- */

static void op_start(void)
{
    WCHAR key[KEYBUF];
    DWORD h = SENTINEL, r;
    int expect_slot = predicted_slot();
    BOOL full = expect_slot < 0 || nhandles >= MAX_HANDLES;

    op_name = "start";
    r = RmStartSession(&h, 0, key);
    calls++;
    if (full)
    {
        /* spec 4.2 / 5.1: 64 per user; README U18: 64 handles per process. */
        CHECK(r == ERROR_MAX_SESSIONS_REACHED, "returned %lu, expected 353 (slots free: %d, handles %d)",
              r, expect_slot, nhandles);
        CHECK(h == SENTINEL, "handle written on failure");
        return;
    }
    CHECK(r == ERROR_SUCCESS, "returned %lu", r);
    CHECK(h % RMT_NSLOTS == (DWORD)expect_slot, "handle %lu, expected the lowest free slot %d", h, expect_slot);
    CHECK(wcslen(key) == CCH_RM_SESSION_KEY, "key of %u chars", (unsigned)wcslen(key));
    foreign_slot[expect_slot] = FALSE;   /* an abandoned one is taken over */
    memset(&sessions[expect_slot], 0, sizeof(sessions[expect_slot]));
    sessions[expect_slot].live = TRUE;
    sessions[expect_slot].slot = (DWORD)expect_slot;
    wcscpy(sessions[expect_slot].key, key);
    add_handle(h, ROLE_PRIMARY, expect_slot);
}

static void op_join_self(void)
{
    DWORD h = SENTINEL, r;
    int s = pick_live_session();

    op_name = "join (this process)";
    if (s < 0) return;
    r = RmJoinSession(&h, sessions[s].key);
    calls++;
    if (nhandles >= MAX_HANDLES)
    {
        CHECK(r == ERROR_MAX_SESSIONS_REACHED, "returned %lu with %d handles open", r, nhandles);
        return;
    }
    CHECK(r == ERROR_SUCCESS, "returned %lu", r);
    CHECK(h % RMT_NSLOTS == (DWORD)s, "handle %lu for slot %d", h, s);
    add_handle(h, ROLE_SECONDARY, s);
}

static void op_join_bad_key(void)
{
    WCHAR key[KEYBUF + 4];
    DWORD h = SENTINEL, r;
    int s = pick_live_session(), how = (int)rnd(5);

    op_name = "join (bad key)";
    if (s >= 0) wcscpy(key, sessions[s].key);
    else wcscpy(key, L"0123456789abcdef0123456789abcdef");
    switch (how)
    {
    case 0: key[rnd(CCH_RM_SESSION_KEY)] = L'z'; break;                     /* non-hex */
    case 1: key[rnd(CCH_RM_SESSION_KEY)] = 0; break;                        /* short */
    case 2: key[32] = L'0'; key[33] = 0; break;                             /* 33 chars */
    case 3:                                                                 /* one digit off */
    {
        unsigned i = rnd(CCH_RM_SESSION_KEY);
        key[i] = key[i] == L'0' ? L'1' : L'0';
        break;
    }
    default:                                                                /* an ended session's */
        if (!nended_keys) return;
        wcscpy(key, ended_keys[rnd((unsigned)nended_keys)]);
        /* Its slot may hold a new session by now, but with another key. */
        break;
    }
    r = RmJoinSession(&h, key);
    calls++;
    /* spec 5.2: a key that cannot be validated. */
    CHECK(r == ERROR_SESSION_CREDENTIAL_CONFLICT, "returned %lu for mangling %d", r, how);
    CHECK(h == SENTINEL, "handle written on failure");
}

/* Files, processes and services for one registration; returns the counts. */
static void pick_resources(unsigned *fmask, LPCWSTR *files, UINT *nf, unsigned *pmask,
                           RM_UNIQUE_PROCESS *ps, UINT *np, unsigned *smask, LPCWSTR *svcs, UINT *ns)
{
    UINT i, n;
    *fmask = *pmask = *smask = 0;
    *nf = *np = *ns = 0;
    n = rnd(4);
    for (i = 0; i < n; i++)
    {
        unsigned f = rnd(NPOOL);
        files[(*nf)++] = pool[f];                 /* duplicates in one call are fine */
        *fmask |= 1u << f;
    }
    n = rnd(10) < 3 ? 1 + rnd(2) : 0;
    for (i = 0; i < n; i++)
    {
        unsigned p = rnd(NPROCS);
        ps[(*np)++] = procs[p];
        *pmask |= 1u << p;
    }
    if (rnd(6) == 0)
    {
        unsigned v = rnd(NSVCS);
        svcs[(*ns)++] = svc_names[v];
        *smask |= 1u << v;
    }
}

static void op_register(void)
{
    LPCWSTR files[4], svcs[1];
    RM_UNIQUE_PROCESS ps[2];
    unsigned fmask, pmask, smask;
    UINT nf, np, ns;
    DWORD r;
    int i;

    op_name = "register";
    if (!nhandles) return;
    i = (int)rnd((unsigned)nhandles);
    pick_resources(&fmask, files, &nf, &pmask, ps, &np, &smask, svcs, &ns);
    r = RmRegisterResources(handles[i].h, nf, files, np, ps, ns, svcs);
    calls++;
    if (handles[i].sess < 0)
    {
        /* A secondary whose session ended: the handle names nothing (spec 5.4),
         * but a call that adds nothing succeeds on a handle still held (README,
         * Choices: WiX's flush before RmEndSession). */
        DWORD want = nf + np + ns ? ERROR_INVALID_HANDLE : ERROR_SUCCESS;
        CHECK(r == want, "orphaned secondary %lu: returned %lu, expected %lu", handles[i].h, r, want);
        return;
    }
    /* The primary or a secondary may register (spec 4.6, 5.4). */
    CHECK(r == ERROR_SUCCESS, "handle %lu: returned %lu", handles[i].h, r);
    {
        struct msession *s = &sessions[handles[i].sess];
        /* One group per kind with something new in it (src/store.c). */
        s->seq += ((fmask & ~s->files) != 0) + ((pmask & ~s->procs) != 0) + ((smask & ~s->svcs) != 0);
        s->files |= fmask;
        s->procs |= pmask;
        s->svcs |= smask;
        CHECK(rmt_commits_end(s->slot) == s->seq, "Sequence %lu, expected %lu", rmt_commits_end(s->slot), s->seq);
    }
}

static void op_list(void)
{
    RM_PROCESS_INFO apps[16];
    DWORD pids[8], reasons = SENTINEL, r;
    UINT needed = SENTINEL, n;
    int i, nexp, k, j, seen;
    BOOL size_query = rnd(4) == 0;

    op_name = "list";
    if (!nhandles) return;
    i = (int)rnd((unsigned)nhandles);
    n = size_query ? 0 : ARRAYSIZE(apps);
    r = RmGetList(handles[i].h, &needed, &n, size_query ? NULL : apps, &reasons);
    calls++;
    if (handles[i].role == ROLE_SECONDARY)
    {
        /* spec 4.6 / README U5; a secondary whose session ended may get 6 instead. */
        CHECK(r == ERROR_SESSION_CREDENTIAL_CONFLICT || (handles[i].sess < 0 && r == ERROR_INVALID_HANDLE),
              "secondary %lu: returned %lu", handles[i].h, r);
        CHECK(needed == SENTINEL, "needed written on failure");
        return;
    }
    nexp = expected_pids(&sessions[handles[i].sess], pids);
    if (size_query && nexp)
    {
        CHECK(r == ERROR_MORE_DATA, "size query returned %lu with %d expected", r, nexp);
        CHECK(needed == (UINT)nexp, "needed %u, expected %d", needed, nexp);
        CHECK(n == 0, "*pnProcInfo %u after 234 (U6)", n);
        return;
    }
    CHECK(r == ERROR_SUCCESS, "returned %lu", r);
    CHECK(needed == (UINT)nexp && n == (UINT)nexp, "needed %u, count %u, expected %d", needed, n, nexp);
    if (size_query) return;
    for (k = 0; k < nexp; k++)
    {
        for (seen = 0, j = 0; j < (int)n; j++) seen += apps[j].Process.dwProcessId == pids[k];
        CHECK(seen == 1, "pid %lu listed %d times", pids[k], seen);
    }
    {
        BOOL self = (sessions[handles[i].sess].procs & (1u << 3)) != 0;
        /* Registering ourselves is a reboot reason (test_getlist's registered self). */
        CHECK(reasons == (self ? (DWORD)RmRebootReasonDetectedSelf : 0), "reasons 0x%lx", reasons);
    }
}

static int pick_target(void) { return (int)rnd(NTARGETS); }

static DWORD filter_call(DWORD h, int t, int action, BOOL add)
{
    RM_UNIQUE_PROCESS p;
    if (t < NMODULES)
        return add ? RmAddFilter(h, module_names[t], NULL, NULL, (RM_FILTER_ACTION)action)
                   : RmRemoveFilter(h, module_names[t], NULL, NULL);
    if (t < NMODULES + NPROCS)
    {
        p = procs[t - NMODULES];
        return add ? RmAddFilter(h, NULL, &p, NULL, (RM_FILTER_ACTION)action)
                   : RmRemoveFilter(h, NULL, &p, NULL);
    }
    t -= NMODULES + NPROCS;
    return add ? RmAddFilter(h, NULL, NULL, svc_names[t], (RM_FILTER_ACTION)action)
               : RmRemoveFilter(h, NULL, NULL, svc_names[t]);
}

static void op_filter(void)
{
    int i, t = pick_target(), action = rnd(2) ? RmNoRestart : RmNoShutdown;
    BOOL add = rnd(3) != 0;
    DWORD r;

    op_name = add ? "add filter" : "remove filter";
    if (!nhandles) return;
    i = (int)rnd((unsigned)nhandles);
    r = filter_call(handles[i].h, t, action, add);
    calls++;
    if (handles[i].role == ROLE_SECONDARY)
    {
        CHECK(r == ERROR_SESSION_CREDENTIAL_CONFLICT || (handles[i].sess < 0 && r == ERROR_INVALID_HANDLE),
              "secondary %lu: returned %lu", handles[i].h, r);
        return;
    }
    {
        struct msession *s = &sessions[handles[i].sess];
        if (add)
        {
            CHECK(r == ERROR_SUCCESS, "returned %lu", r);   /* spec 5.9: the latest call wins */
            s->filter_action[t] = action;
        }
        else
        {
            /* spec 5.10: ERROR_FILE_NOT_FOUND (2) when there is no such filter. */
            CHECK(r == (s->filter_action[t] ? ERROR_SUCCESS : ERROR_FILE_NOT_FOUND),
                  "target %d: returned %lu, filter %d", t, r, s->filter_action[t]);
            s->filter_action[t] = 0;
        }
    }
}

static void op_filter_list(void)
{
    static BYTE buf[4096];
    DWORD cb = SENTINEL, r;
    int i, t, n = 0, found;
    const RM_FILTER_INFO *f;

    op_name = "filter list";
    if (!nhandles) return;
    i = (int)rnd((unsigned)nhandles);
    r = RmGetFilterList(handles[i].h, buf, sizeof(buf), &cb);
    calls++;
    if (handles[i].role == ROLE_SECONDARY)
    {
        CHECK(r == ERROR_SESSION_CREDENTIAL_CONFLICT || (handles[i].sess < 0 && r == ERROR_INVALID_HANDLE),
              "secondary %lu: returned %lu", handles[i].h, r);
        CHECK(cb == SENTINEL, "size written on failure");
        return;
    }
    CHECK(r == ERROR_SUCCESS, "returned %lu", r);
    {
        const struct msession *s = &sessions[handles[i].sess];
        for (t = 0; t < NTARGETS; t++) n += s->filter_action[t] != 0;
        if (!n)
        {
            CHECK(cb == 0, "%lu bytes for no filters", cb);
            return;
        }
        /* Walk the chain (spec 5.11): every model filter exactly once. */
        found = 0;
        for (f = (const RM_FILTER_INFO *)buf;; f = (const RM_FILTER_INFO *)((const BYTE *)f + f->cbNextOffset))
        {
            int match = -1;
            CHECK((const BYTE *)f + sizeof(*f) <= buf + cb, "record outside the %lu bytes", cb);
            for (t = 0; t < NTARGETS && match < 0; t++)
            {
                if (!s->filter_action[t]) continue;
                if (t < NMODULES)
                {
                    if (f->FilterTrigger == RmFilterTriggerFile && !_wcsicmp(f->strFilename, module_names[t]))
                        match = t;
                }
                else if (t < NMODULES + NPROCS)
                {
                    if (f->FilterTrigger == RmFilterTriggerProcess &&
                        !memcmp(&f->Process, &procs[t - NMODULES], sizeof(RM_UNIQUE_PROCESS)))
                        match = t;
                }
                else if (f->FilterTrigger == RmFilterTriggerService &&
                         !_wcsicmp(f->strServiceShortName, svc_names[t - NMODULES - NPROCS]))
                    match = t;
            }
            CHECK(match >= 0, "a filter (trigger %d) the model does not have", f->FilterTrigger);
            CHECK((int)f->FilterAction == s->filter_action[match], "target %d: action %d, expected %d",
                  match, f->FilterAction, s->filter_action[match]);
            found++;
            if (!f->cbNextOffset) break;
            CHECK(found < n, "more than %d records", n);
        }
        CHECK(found == n, "%d records, model has %d", found, n);
    }
}

static void op_cancel(void)
{
    DWORD r;
    int i;
    op_name = "cancel";
    if (!nhandles) return;
    i = (int)rnd((unsigned)nhandles);
    r = RmCancelCurrentTask(handles[i].h);
    calls++;
    if (handles[i].role == ROLE_SECONDARY)
        CHECK(r == ERROR_SESSION_CREDENTIAL_CONFLICT || (handles[i].sess < 0 && r == ERROR_INVALID_HANDLE),
              "secondary %lu: returned %lu", handles[i].h, r);
    else
        CHECK(r == ERROR_SUCCESS, "returned %lu (U17: nothing running)", r);
}

static void end_session_model(int s)
{
    int i;
    sessions[s].live = FALSE;
    if (nended_keys < (int)ARRAYSIZE(ended_keys)) wcscpy(ended_keys[nended_keys++], sessions[s].key);
    else wcscpy(ended_keys[rnd(ARRAYSIZE(ended_keys))], sessions[s].key);
    for (i = 0; i < nhandles; i++)
        if (handles[i].sess == s && handles[i].role == ROLE_SECONDARY) handles[i].sess = -1;
}

/* Ends a random handle, of role want if one is found quickly (want -1: any). */
static void op_end(int want)
{
    DWORD r;
    int i, s, tries;

    op_name = want == ROLE_PRIMARY ? "end primary" : want == ROLE_SECONDARY ? "end secondary" : "end";
    if (!nhandles) return;
    i = (int)rnd((unsigned)nhandles);
    for (tries = 0; want >= 0 && (int)handles[i].role != want && tries < 8; tries++)
        i = (int)rnd((unsigned)nhandles);
    r = RmEndSession(handles[i].h);
    calls++;
    /* spec 5.3: a primary ends the session, a secondary leaves; README: a secondary
     * whose session already ended leaves with 0. */
    CHECK(r == ERROR_SUCCESS, "handle %lu: returned %lu", handles[i].h, r);
    s = handles[i].sess;
    if (handles[i].role == ROLE_PRIMARY) end_session_model(s);
    remove_handle(i);
}

static void op_stale(void)
{
    DWORD h, r, cb = SENTINEL;
    UINT needed = SENTINEL, n = 0;
    DWORD reasons;
    LPCWSTR files[1];

    op_name = "stale handle";
    if (!nstale) return;
    h = stale[rnd((unsigned)nstale)];
    if (is_open(h)) return;   /* the value was issued again since */
    files[0] = pool[rnd(NPOOL)];
    switch (rnd(5))
    {
    case 0: r = RmEndSession(h); break;
    case 1: r = RmRegisterResources(h, 1, files, 0, NULL, 0, NULL); break;
    case 2: r = RmGetList(h, &needed, &n, NULL, &reasons); break;
    case 3: r = RmGetFilterList(h, NULL, 0, &cb); break;
    default: r = RmAddFilter(h, NULL, NULL, svc_names[0], RmNoRestart); break;
    }
    calls++;
    CHECK(r == ERROR_INVALID_HANDLE, "ended handle %lu: returned %lu", h, r);
    CHECK(needed == SENTINEL && cb == SENTINEL, "output written on failure");
}

/* A helper process joins a session, registers files and (usually) leaves. */
static void op_join_helper(void)
{
    WCHAR args[4096];
    unsigned fmask = 0, nfiles = 1 + rnd(3), k;
    struct rmt_child c;
    DWORD r, code;
    BOOL bad = nended_keys && rnd(4) == 0;
    int s = pick_live_session(), slot_for_noend = -1;
    BOOL no_end = FALSE;

    op_name = "join (helper process)";
    if (s < 0 && !bad) return;
    if (!bad && rnd(3) == 0)
        for (k = 0; k < MAX_NOEND; k++)
            if (!noend_used[k]) { slot_for_noend = (int)k; no_end = TRUE; break; }
    swprintf(args, ARRAYSIZE(args), L"join %ls%ls", bad ? ended_keys[rnd((unsigned)nended_keys)] : sessions[s].key,
             no_end ? L" --no-end" : L"");
    for (k = 0; k < nfiles; k++)
    {
        unsigned f = rnd(NPOOL);
        size_t len = wcslen(args);
        swprintf(args + len, ARRAYSIZE(args) - len, L" \"%ls\"", pool[f]);
        fmask |= 1u << f;
    }
    spawns++;
    calls += 3;
    if (no_end)
    {
        r = rmt_spawn(FALSE, args, RMT_SPAWN_TIMEOUT, &noend[slot_for_noend]);
        CHECK(r == ERROR_SUCCESS, "joining helper did not get ready: %lu", r);
        noend_used[slot_for_noend] = TRUE;
    }
    else
    {
        r = rmt_spawn_ex(FALSE, args, 0, FALSE, RMT_SPAWN_TIMEOUT, &c);
        CHECK(r == ERROR_SUCCESS, "helper did not start: %lu", r);
        code = rmt_child_wait(&c, RMT_SPAWN_TIMEOUT);
        if (bad)
        {
            /* spec 5.2: an ended session's key cannot be validated. */
            CHECK(code == ERROR_SESSION_CREDENTIAL_CONFLICT, "helper exit code %lu", code);
            return;
        }
        CHECK(code == 0, "helper exit code %lu", code);
    }
    {
        struct msession *m = &sessions[s];
        if (fmask & ~m->files) m->seq++;
        m->files |= fmask;
        CHECK(rmt_commits_end(m->slot) == m->seq, "Sequence %lu, expected %lu", rmt_commits_end(m->slot), m->seq);
    }
}

static void op_noend_quit(void)
{
    DWORD code;
    int k = (int)rnd(MAX_NOEND);
    op_name = "joined helper exits";
    if (!noend_used[k]) return;
    code = rmt_child_quit(&noend[k], RMT_SPAWN_TIMEOUT);
    noend_used[k] = FALSE;
    CHECK(code == 0, "exit code %lu", code);
}

static void op_holder_exits(void)
{
    DWORD code;
    op_name = "holder exits";
    code = rmt_child_quit(&holders[1], RMT_SPAWN_TIMEOUT);
    holder_alive[1] = FALSE;
    CHECK(code == 0, "exit code %lu", code);
}

/* ---- the run ---------------------------------------------------------------------------- */

static int setup(void **state)
{
    WCHAR name[32], args[3 * MAX_PATH + 32];
    int k, f, s;
    (void)state;

    memset(sessions, 0, sizeof(sessions));
    nhandles = nstale = nended_keys = 0;
    spawns = calls = 0;
    for (s = 0; s < RMT_NSLOTS; s++)
    {
        foreign_slot[s] = rmt_slot_exists(s);
        if (foreign_slot[s]) printf("# slot %d holds a session of someone else (%s)\n", s,
                                    rmt_slot_live(s) ? "live" : "abandoned");
    }
    for (f = 0; f < NPOOL; f++)
    {
        swprintf(name, ARRAYSIZE(name), L"pool-%02d.txt", f);
        pool[f] = f < 12 ? rmt_make_file(name) : rmt_path(name);   /* 12..15 never exist */
    }
    for (k = 0; k < NHOLDERS; k++)
    {
        swprintf(args, ARRAYSIZE(args), L"hold \"%ls\" \"%ls\" \"%ls\"", pool[3 * k], pool[3 * k + 1],
                 pool[3 * k + 2]);
        assert_int_equal(rmt_spawn(FALSE, args, RMT_SPAWN_TIMEOUT, &holders[k]), ERROR_SUCCESS);
        holder_alive[k] = TRUE;
        procs[k] = holders[k].id;
        spawns++;
    }
    procs[3] = rmt_self();
    procs[4] = holders[0].id;
    procs[4].ProcessStartTime.dwLowDateTime ^= 0x10;   /* the same PID, another process */
    memset(noend_used, 0, sizeof(noend_used));
    return 0;
}

static int teardown(void **state)
{
    int k, f;
    (void)state;
    rmt_end_all();
    for (k = 0; k < MAX_NOEND; k++) rmt_child_kill(&noend[k]);
    for (k = 0; k < NHOLDERS; k++) rmt_child_kill(&holders[k]);
    for (f = 0; f < NPOOL; f++)
    {
        free(pool[f]);
        pool[f] = NULL;
    }
    return 0;
}

static void test_random_sequence(void **state)
{
    const char *env_seed = getenv("RM_SEED"), *env_steps = getenv("RM_STEPS");
    int steps = env_steps ? atoi(env_steps) : DEFAULT_STEPS, grow = 1, s;
    double t0 = rmt_now_s();
    unsigned counts[16] = { 0 }, max_live = 0, hit_limit = 0, hit_handles = 0;
    (void)state;

    if (env_seed) seed = strtoull(env_seed, NULL, 10);
    else seed = (UINT64)time(NULL) ^ ((UINT64)GetCurrentProcessId() << 32);
    if (!seed) seed = 1;
    rng_state = seed;
    printf("# seed: RM_SEED=%llu, %d steps\n", (unsigned long long)seed, steps);

    handle_baseline = rmt_handle_count();
    for (step = 0; step < steps; step++)
    {
        unsigned w = rnd(100), acc;
        int live = live_sessions();

        /* Phases that fill the store to its limit and drain it again. */
        if (step % 400 == 0) grow = !grow || step == 0;
        if (live == 0) grow = 1;

        if (step == steps / 2) { op_holder_exits(); counts[15]++; }
        else if (w < (acc = grow ? 22u : 4u)) { op_start(); counts[0]++; }
        else if (w < (acc += 5))
        {
            /* While filling the store, leave handles for the sessions themselves. */
            if (!grow || nhandles < 40) { op_join_self(); counts[1]++; }
        }
        else if (w < (acc += 3)) { op_join_bad_key(); counts[2]++; }
        else if (w < (acc += 18)) { op_register(); counts[3]++; }
        else if (w < (acc += 12)) { op_list(); counts[4]++; }
        else if (w < (acc += 9)) { op_filter(); counts[5]++; }
        else if (w < (acc += 5)) { op_filter_list(); counts[6]++; }
        else if (w < (acc += 3)) { op_cancel(); counts[7]++; }
        else if (w < (acc += grow ? 4u : 16u)) { op_end(grow ? ROLE_SECONDARY : ROLE_PRIMARY); counts[8]++; }
        else if (w < (acc += 4)) { op_stale(); counts[9]++; }
        else if (w < (acc += 1)) { if (spawns < 14) { op_join_helper(); counts[10]++; } }
        else if (w < (acc += 1)) { op_noend_quit(); counts[11]++; }
        else { op_register(); counts[3]++; }

        if ((unsigned)live_sessions() > max_live) max_live = (unsigned)live_sessions();
        if (live_sessions() == RMT_NSLOTS) hit_limit++;
        if (nhandles == MAX_HANDLES) hit_handles++;
        check_store(step % 50 == 0);
        if (step % 50 == 0) check_handles();
    }
    op_name = "final";
    /* Drain: end everything, the store ends up without our sessions. */
    while (nhandles) op_end(-1);
    for (s = 0; s < MAX_NOEND; s++) if (noend_used[s]) op_noend_quit();
    check_store(TRUE);
    check_handles();
    printf("# %u API calls in %d steps, %u helper processes, %.1f s; most live sessions %u, "
           "steps at 64 sessions %u, at 64 handles %u\n", calls, steps, spawns, rmt_now_s() - t0,
           max_live, hit_limit, hit_handles);
    printf("# ops: start %u, join %u, bad join %u, register %u, list %u, filter %u, filter list %u, "
           "cancel %u, end %u, stale %u, helper join %u, helper leaves %u\n", counts[0], counts[1],
           counts[2], counts[3], counts[4], counts[5], counts[6], counts[7], counts[8], counts[9],
           counts[10], counts[11]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_random_sequence, setup, teardown),
    };
    return rmt_run_tests(tests);
}
