/*
 * thread.c - worker threads that may outlive the call that started them, and the
 * module they run in.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"

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
    HMODULE self = NULL;
    /* The reference rm_thread_start took is the one given back here. */
    GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                       (LPCWSTR)(void *)rm_thread_exit, &self);
    FreeLibraryAndExitThread(self, 0);
}

HMODULE rm_self_module(void)
{
    HMODULE self = NULL;
    /* The module this code is linked into: the DLL (or a unit test's executable). */
    GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                       (LPCWSTR)(void *)rm_self_module, &self);
    return self;
}
