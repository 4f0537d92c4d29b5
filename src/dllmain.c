/*
 * dllmain.c - the DLL entry point. It does nothing heavy: every piece of state is
 * created on first use (InitOnce), so loading the DLL costs nothing and takes no
 * lock an installer's own DllMain might be waiting for.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, void *reserved)
{
    (void)reserved;
    if (reason == DLL_PROCESS_ATTACH) DisableThreadLibraryCalls(instance);
    return TRUE;
}
