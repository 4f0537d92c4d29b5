/*
 * operation.h - what RmShutdown and RmRestart share, below the protocols that
 * close and start applications (gui.c, console.c, svcctl.c) and the two calls
 * that drive them (shutdown.c, restart.c): one call's state (its cancel event,
 * timeouts, force flag), progress reporting, cancellation polling, and the
 * recording of what happened to each application.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef RSTRTMGR_OPERATION_H
#define RSTRTMGR_OPERATION_H

#include "internal.h"

/* The shutdown groups, in the order RmShutdown closes them (spec 8.1); RmRestart
 * brings them back in reverse. struct rm_app.group holds one, or -1. */
enum { RM_GROUP_GUI, RM_GROUP_CONSOLE, RM_GROUP_SERVICE, RM_GROUP_EXPLORER, RM_GROUP_COUNT };

#define RM_POLL_MS 20                /* how often waits look at the cancel event */

/* ---- progress (spec 8.7) ---- */
struct progress
{
    RM_WRITE_STATUS_CALLBACK cb;
    SIZE_T total, done;
    UINT last;                       /* last value reported; strictly increasing */
    BOOL any;
};
/* One more of total done: reports the new percentage if it grew (never 100). */
void rm_progress_step(struct progress *p);
/* Reports 100 once, at the end of a call that did its work. */
void rm_progress_finish(struct progress *p);

/* ---- one call ---- */
struct op                            /* shared by the workers of one call */
{
    LONG refs;
    HANDLE cancel;                   /* our own duplicate of the session's event */
    DWORD app_timeout;
    BOOL force;
};
/* A call's shared state, with its own duplicate of the session's cancel event;
 * workers hold a reference. NULL when out of resources. */
struct op *rm_op_create(struct rm_session *s, BOOL force);
void rm_op_release(struct op *op);
/* WaitToKillServiceTimeout (spec U16). */
DWORD rm_op_service_timeout(void);

struct task;
struct target                        /* one application or service being shut down */
{
    struct rm_app *app;              /* in the call's list */
    HANDLE process;                  /* NULL for services */
    struct task *task;
    BOOL failed;
    BOOL hung;                       /* did not answer WM_QUERYENDSESSION */
    BOOL gone;                       /* exited by itself before it was asked */
    BOOL left;                       /* could not be asked and is not forced: not closed */
};

struct rm_call                       /* one RmShutdown or RmRestart */
{
    struct rm_session *s;
    struct op *op;
    struct progress progress;
    DWORD svc_timeout;
    BOOL cancelled;                  /* seen set: stays set */
    SC_HANDLE scm;                   /* the call's one SCM connection, on first use */
};

/* The call's SCM connection (SC_MANAGER_CONNECT), opened on first use; NULL if
 * the SCM refuses (traced). rm_call_finish closes it. */
SC_HANDLE rm_call_scm(struct rm_call *c);
void rm_call_finish(struct rm_call *c);

/* TRUE once the call's cancel event is set (RmCancelCurrentTask). */
BOOL rm_call_cancelled(struct rm_call *c);
/* Stopped, or ErrorOnStop with event 10006. */
void rm_call_set_stopped(struct rm_app *a, BOOL ok);
/* Ends a process RmForceShutdown gives up on (exit code ERROR_FAIL_SHUTDOWN) and
 * waits for it to be gone; TRUE when it is. */
BOOL rm_terminate_wait(HANDLE process);
/* Event 10002 for each target. */
void rm_call_log_shutting_down(struct target *tg, SIZE_T n);

/* ---- the protocols ---- */

/* GUI applications and Explorer (gui.c): the query phase for all of them at once;
 * *veto is set when one refused (then nothing may be closed). 0, ERROR_FAIL_SHUTDOWN
 * (something will not close) or ERROR_CANCELLED. */
DWORD rm_gui_ask(struct rm_call *c, struct target *tg, SIZE_T n, BOOL *veto);
/* The close phase: WM_ENDSESSION, WM_CLOSE, wait, and with force, terminate. */
DWORD rm_gui_close(struct rm_call *c, struct target *tg, SIZE_T n);
/* Console applications (console.c): CTRL_C to each, then a common deadline. */
DWORD rm_console_close(struct rm_call *c, struct target *tg, SIZE_T n);
/* Services (svcctl.c): stopped dependents first; started after what they need. */
DWORD rm_svc_stop_all(struct rm_call *c, struct target *tg, SIZE_T n);
BOOL  rm_svc_restart(struct rm_call *c, const WCHAR *name);
/* Indexes of the n services in dependency order (stopping: dependents first;
 * starting: what they depend on first); NULL when out of memory. */
SIZE_T *rm_svc_order(SC_HANDLE scm, const WCHAR *const *names, SIZE_T n, BOOL stopping);
/* The same from given dependency lists (deps[i]: the REG_MULTI_SZ of what names[i]
 * depends on, or NULL): the pure part, tested alone (tests/unit). */
SIZE_T *rm_svc_order_deps(const WCHAR *const *names, WCHAR *const *deps, SIZE_T n, BOOL stopping);

#endif
