/*
 * shutdown.c - RmShutdown, RmRestart and cancellation.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"

DWORD rm_shutdown(struct rm_session *s, ULONG flags, RM_WRITE_STATUS_CALLBACK cb)
{
    DWORD err;
    (void)flags; (void)cb;
    if ((err = rm_store_check(&s->store))) return err;
    /* Not implemented yet (README status): closing applications comes with the
     * shutdown work. Saying so beats pretending that nothing needed closing. */
    return ERROR_CALL_NOT_IMPLEMENTED;
}

DWORD rm_restart(struct rm_session *s, RM_WRITE_STATUS_CALLBACK cb)
{
    DWORD err;
    (void)cb;
    if ((err = rm_store_check(&s->store))) return err;
    if (!s->shutdown_done) return ERROR_REQUEST_OUT_OF_SEQUENCE;
    return ERROR_CALL_NOT_IMPLEMENTED;
}

void rm_cancel_request(struct rm_session *s)
{
    if (s->busy) InterlockedExchange(&s->cancel, 1);
}
