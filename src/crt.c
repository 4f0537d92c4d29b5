/*
 * crt.c - the four memory routines the compiler may emit calls to.
 *
 * rstrtmgr.dll links no C runtime, so that it imports nothing but Windows system
 * DLLs. GCC still emits calls to memcpy/memset/memmove/memcmp for structure copies
 * and initialisers; these satisfy them. This file is compiled with
 * -fno-tree-loop-distribute-patterns so the loops are not turned back into calls
 * to themselves.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--) *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d < s)
        while (n--) *d++ = *s++;
    else if (d > s)
        while (n--) d[n] = s[n];
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    while (n--) *d++ = (unsigned char)c;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y) return *x < *y ? -1 : 1;
    return 0;
}
