/*
 * crt_renamed.c - src/crt.c compiled under other names (rmcrt_memcpy, ...), so
 * that test_units can check the DLL's own memory routines next to the C
 * runtime's, which the test program itself links.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define memcpy  rmcrt_memcpy
#define memmove rmcrt_memmove
#define memset  rmcrt_memset
#define memcmp  rmcrt_memcmp
#include "../../src/crt.c"
