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

/* Registration copies, compares and clears paths by the hundred thousand: past a
 * few bytes the string instructions (fast on every x86 since Ivy Bridge) and
 * word-sized compares replace the byte loops. */
#define SHORT_RUN 16

void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (n < SHORT_RUN)
        while (n--) *d++ = *s++;
    else
        __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d < s || d >= s + n) return memcpy(dst, src, n);
    while (n--) d[n] = s[n];   /* overlapping, forward: from the end */
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    if (n < SHORT_RUN)
        while (n--) *d++ = (unsigned char)c;
    else
        __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    /* Equal words are skipped a word at a time; the first difference is then
     * found byte by byte, so the sign is the byte order's, as memcmp's must be. */
    for (; n >= sizeof(size_t); n -= sizeof(size_t), x += sizeof(size_t), y += sizeof(size_t))
    {
        size_t wx, wy;
        __builtin_memcpy(&wx, x, sizeof(wx));
        __builtin_memcpy(&wy, y, sizeof(wy));
        if (wx != wy) break;
    }
    for (; n; n--, x++, y++)
        if (*x != *y) return *x < *y ? -1 : 1;
    return 0;
}
