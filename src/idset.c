/*
 * idset.c - the registered files' identities that a search for their users looks
 * for (fileusers.c, handles.c).
 *
 * Open addressing keyed by the file index alone, so that the cheap first query of
 * a handle (its index) can rule it out before its volume is asked for: under Wine
 * the volume is a round trip to the server, the index is not. Two registered files
 * on different volumes may share an index: both are kept, and the volume decides.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"

static SIZE_T index_slot(const struct rm_idset *s, ULONGLONG index)
{
    index ^= index >> 33;                /* a 64-bit mix: file indexes are dense */
    index *= 0xff51afd7ed558ccdull;
    index ^= index >> 33;
    return (SIZE_T)index & s->mask;
}

DWORD rm_idset_init(struct rm_idset *s, SIZE_T n)
{
    SIZE_T cap = 16;
    while (cap / 2 < n)
    {
        if (cap > ((SIZE_T)-1 >> 5)) return ERROR_OUTOFMEMORY;
        cap *= 2;
    }
    if (!(s->slots = rm_alloc(cap * sizeof(*s->slots)))) return ERROR_OUTOFMEMORY;
    s->mask = cap - 1;
    return ERROR_SUCCESS;
}

void rm_idset_add(struct rm_idset *s, const struct rm_file_id *id, DWORD scope)
{
    ULONGLONG index = ((ULONGLONG)id->index_high << 32) | id->index_low;
    SIZE_T j;
    for (j = index_slot(s, index); s->slots[j].scope; j = (j + 1) & s->mask)
        if (s->slots[j].index == index && s->slots[j].volume == id->volume)
        {
            s->slots[j].scope |= scope;
            return;
        }
    s->slots[j].index = index;
    s->slots[j].volume = id->volume;
    s->slots[j].scope = scope;
}

DWORD rm_idset_scope(const struct rm_idset *s, ULONGLONG index, const DWORD *volume)
{
    DWORD scope = 0;
    SIZE_T j;
    for (j = index_slot(s, index); s->slots[j].scope; j = (j + 1) & s->mask)
        if (s->slots[j].index == index && (!volume || s->slots[j].volume == *volume)) scope |= s->slots[j].scope;
    return scope;
}

void rm_idset_free(struct rm_idset *s)
{
    rm_free(s->slots);
    s->slots = NULL;
    s->mask = 0;
}
