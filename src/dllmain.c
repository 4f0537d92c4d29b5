/*
 * dllmain.c - the DLL entry point. It does nothing heavy: every piece of state is
 * created on first use (InitOnce), so loading the DLL costs nothing and takes no
 * lock an installer's own DllMain might be waiting for.
 *
 * Unloading (FreeLibrary: Inno Setup and WiX both unload the DLL when they are
 * done) gives back what the process keeps for us: the console control handler
 * (left registered, the next console event would call into unmapped code), the
 * store's board and its event, the CTRL_C event, the trace file, and the session
 * objects still in this process's table. Only kernel handle closes and heap frees happen here,
 * under the loader lock: nothing that waits for another thread, loads a DLL or
 * talks to a service. At process exit (reserved != NULL) nothing is done: the
 * system reclaims it all, and other threads may already be gone mid-call.
 * Sessions not ended before the unload stay in the per-user store until the
 * process exits, as a crashed owner's would, and are reclaimed then.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, void *reserved)
{
    if (reason == DLL_PROCESS_ATTACH)
    {
        DisableThreadLibraryCalls(instance);
    }
    else if (reason == DLL_PROCESS_DETACH && !reserved)
    {
        /* Workers hold a reference on the DLL (rm_thread_start), so none is
         * running now; an export in flight on another thread would be the
         * caller's bug (it unloads a DLL it is still calling). */
        rm_console_unload();
        rm_sessions_unload();
        rm_store_unload();
        rm_listings_unload();
        rm_trace_unload();
    }
    return TRUE;
}
