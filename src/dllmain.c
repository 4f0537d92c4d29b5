/*
 * dllmain.c - the DLL entry point. It does nothing heavy: every piece of state is
 * created on first use (InitOnce), so loading the DLL costs nothing and takes no
 * lock an installer's own DllMain might be waiting for.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"

static HMODULE self_module;

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, void *reserved)
{
    (void)reserved;
    if (reason == DLL_PROCESS_ATTACH)
    {
        self_module = instance;
        DisableThreadLibraryCalls(instance);
    }
    return TRUE;
}

/* A worker thread may outlive the call that started it (a window that does not
 * answer, a handle query that never returns). It holds a reference on the DLL so
 * that an installer's FreeLibrary cannot unmap the code it runs; it ends with
 * FreeLibraryAndExitThread. */
HANDLE rm_thread_start(LPTHREAD_START_ROUTINE fn, void *arg)
{
    HMODULE ref;
    HANDLE thread;

    if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, (LPCWSTR)(void *)rm_thread_start, &ref))
        return NULL;
    thread = CreateThread(NULL, 64 << 10, fn, arg, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
    if (!thread) FreeLibrary(ref);
    return thread;
}

void rm_thread_exit(void)
{
    FreeLibraryAndExitThread(self_module, 0);
}
