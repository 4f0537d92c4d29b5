/*
 * util.c - memory, string and hashing helpers.
 *
 * The DLL links no C runtime (it must import only Windows system DLLs), so the few
 * string routines it needs are here, written for explicit lengths.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "internal.h"

void *rm_alloc(SIZE_T size)
{
    return HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, size ? size : 1);
}

void *rm_alloc_raw(SIZE_T size)
{
    return HeapAlloc(GetProcessHeap(), 0, size ? size : 1);
}

void *rm_realloc(void *p, SIZE_T size)
{
    if (!p) return rm_alloc(size);
    return HeapReAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, p, size ? size : 1);
}

void rm_free(void *p)
{
    if (p) HeapFree(GetProcessHeap(), 0, p);
}

BOOL rm_mul_ok(SIZE_T count, SIZE_T size, SIZE_T *out)
{
    if (size && count > (SIZE_T)-1 / size) return FALSE;
    *out = count * size;
    return TRUE;
}

BOOL rm_overlaps(const void *a, SIZE_T na, const void *b, SIZE_T nb)
{
    ULONG_PTR pa = (ULONG_PTR)a, pb = (ULONG_PTR)b, la, lb;
    if (!a || !b || !na || !nb) return FALSE;
    /* The last byte of each range, clamped at the top of the address space rather
     * than wrapped (an exclusive end would wrap to 0 for a range that reaches the
     * top, and lose its last byte); they intersect when each starts by the other's
     * last byte. */
    la = pa + (na - 1) < pa ? (ULONG_PTR)-1 : pa + (na - 1);
    lb = pb + (nb - 1) < pb ? (ULONG_PTR)-1 : pb + (nb - 1);
    return pa <= lb && pb <= la;
}

DWORD rm_grow(void **items, SIZE_T *cap, SIZE_T need, SIZE_T elem)
{
    SIZE_T new_cap, bytes;
    void *p;

    if (need <= *cap) return ERROR_SUCCESS;
    new_cap = *cap ? *cap : 8;
    while (new_cap < need)
    {
        if (new_cap > (SIZE_T)-1 / 2) return ERROR_OUTOFMEMORY;
        new_cap *= 2;
    }
    if (!rm_mul_ok(new_cap, elem, &bytes)) return ERROR_OUTOFMEMORY;
    if (!(p = rm_realloc(*items, bytes))) return ERROR_OUTOFMEMORY;
    *items = p;
    *cap = new_cap;
    return ERROR_SUCCESS;
}

/* ---- string arenas ---------------------------------------------------------------
 *
 * Measured under Wine (bench_register, 1,000 calls of 100 paths into one session):
 * with one heap block per registered path, the allocations of a call took 27 us
 * at the first call and 104 us at the thousandth, while everything else a call
 * does stayed flat; Wine's heap gets slower to allocate from as it fills with
 * blocks that all stay. The same paths cut from arena chunks cost the same at the
 * thousandth call as at the first. */

#define CHUNK_BYTES (64u << 10)

struct rm_chunk
{
    struct rm_chunk *next;
    SIZE_T used, size;               /* bytes of the data that follows */
};

WCHAR *rm_strings_alloc(struct rm_strings *s, SIZE_T chars)
{
    struct rm_chunk *c;
    SIZE_T bytes;

    /* No arena: a caller that stores no strings (id_only) asked for one anyway. */
    if (!s || !chars) return NULL;
    c = s->head;
    if (!rm_mul_ok(chars, sizeof(WCHAR), &bytes) || bytes > (SIZE_T)-1 / 2) return NULL;
    /* Pieces are WCHAR-aligned (chunks are heap blocks, pieces an even number of
     * bytes): nothing else is stored in them. */
    if (bytes > CHUNK_BYTES)
    {
        /* A chunk of its own, put behind the head so that the head's room stays in use. */
        if (!(c = rm_alloc_raw(sizeof(*c) + bytes))) return NULL;
        c->used = c->size = bytes;
        if (s->head)
        {
            c->next = s->head->next;
            s->head->next = c;
        }
        else
        {
            c->next = NULL;
            s->head = c;
        }
        return (WCHAR *)(c + 1);
    }
    if (!c || c->size - c->used < bytes)
    {
        if (!(c = rm_alloc_raw(sizeof(*c) + CHUNK_BYTES))) return NULL;
        c->used = 0;
        c->size = CHUNK_BYTES;
        c->next = s->head;
        s->head = c;
    }
    c->used += bytes;
    return (WCHAR *)((BYTE *)(c + 1) + c->used - bytes);
}

void rm_strings_take(struct rm_strings *to, struct rm_strings *from)
{
    struct rm_chunk *c, *last = NULL;

    if (!from->head) return;
    if (!to->head)
    {
        to->head = from->head;
        from->head = NULL;
        return;
    }
    /* Behind to's head, whose room stays in use; their own room, never to be used
     * again, is given back to the heap where that costs no copy. */
    for (c = from->head; c; last = c, c = c->next)
        if (c->used < c->size && HeapReAlloc(GetProcessHeap(), HEAP_REALLOC_IN_PLACE_ONLY, c, sizeof(*c) + c->used))
            c->size = c->used;
    last->next = to->head->next;
    to->head->next = from->head;
    from->head = NULL;
}

void rm_strings_free(struct rm_strings *s)
{
    struct rm_chunk *c = s->head, *next;
    for (; c; c = next)
    {
        next = c->next;
        rm_free(c);
    }
    s->head = NULL;
}

SIZE_T rm_wcsnlen(const WCHAR *s, SIZE_T max)
{
    SIZE_T n = 0;
    while (n <= max && s[n]) n++;
    return n;
}

WCHAR *rm_wcsdup_n(const WCHAR *s, SIZE_T len)
{
    WCHAR *d = rm_alloc((len + 1) * sizeof(WCHAR));
    if (d)
    {
        memcpy(d, s, len * sizeof(WCHAR));
        d[len] = 0;
    }
    return d;
}

int rm_wcsicmp(const WCHAR *a, const WCHAR *b)
{
    int r = CompareStringOrdinal(a, -1, b, -1, TRUE);
    return r == CSTR_EQUAL ? 0 : (r == CSTR_LESS_THAN ? -1 : 1);
}

void rm_wcsupper(WCHAR *s, SIZE_T len)
{
    SIZE_T i;

    /* ASCII, nearly every path, is upcased here: a call into the locale code
     * costs more than the rest of a registered file's bookkeeping under Wine. The
     * rest, from the first character outside ASCII, goes to LCMapStringEx with
     * LCMAP_UPPERCASE in the invariant locale, the documented equivalent of the
     * file system's ordinal case folding for comparison purposes (CharUpperBuffW
     * would pull in user32). The mapping is per character, so the two halves give
     * what one call over the whole string would. */
    for (i = 0; i < len && s[i] < 0x80; i++) s[i] = rm_ascii_upper(s[i]);
    s += i;
    len -= i;
    while (len)
    {
        int chunk = len > 0x40000000 ? 0x40000000 : (int)len;
        LCMapStringEx(LOCALE_NAME_INVARIANT, LCMAP_UPPERCASE, s, chunk, s, chunk,
                      NULL, NULL, 0);
        s += chunk;
        len -= (SIZE_T)chunk;
    }
}

int rm_fmt_dec4(WCHAR *buf, DWORD v)
{
    WCHAR tmp[16];
    int n = 0, i;
    do { tmp[n++] = (WCHAR)(L'0' + v % 10); v /= 10; } while (v);
    while (n < 4) tmp[n++] = L'0';
    for (i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
    buf[n] = 0;
    return n;
}

int rm_fmt_hex8(WCHAR *buf, DWORD v)
{
    static const WCHAR digits[] = L"0123456789abcdef";
    int i;
    for (i = 7; i >= 0; i--, v >>= 4) buf[i] = digits[v & 15];
    buf[8] = 0;
    return 8;
}

static int hex_value(WCHAR c)
{
    if (c >= L'0' && c <= L'9') return c - L'0';
    if (c >= L'a' && c <= L'f') return c - L'a' + 10;
    if (c >= L'A' && c <= L'F') return c - L'A' + 10;
    return -1;
}

BOOL rm_parse_hex8(const WCHAR *s, DWORD *v)
{
    DWORD r = 0;
    int i, d;
    for (i = 0; i < 8; i++)
    {
        if ((d = hex_value(s[i])) < 0) return FALSE;
        r = (r << 4) | (DWORD)d;
    }
    *v = r;
    return TRUE;
}

void rm_key_format(const BYTE key[RM_KEY_BYTES], WCHAR text[RM_KEY_CHARS + 1])
{
    static const WCHAR digits[] = L"0123456789abcdef";
    int i;
    for (i = 0; i < RM_KEY_BYTES; i++)
    {
        text[2 * i] = digits[key[i] >> 4];
        text[2 * i + 1] = digits[key[i] & 15];
    }
    text[RM_KEY_CHARS] = 0;
}

BOOL rm_key_parse(const WCHAR *text, BYTE key[RM_KEY_BYTES])
{
    int i, hi, lo;
    /* Character by character, so a short string stops at its NUL and nothing past
     * the documented 33 characters is ever read. */
    for (i = 0; i < RM_KEY_BYTES; i++)
    {
        if ((hi = hex_value(text[2 * i])) < 0) return FALSE;
        if ((lo = hex_value(text[2 * i + 1])) < 0) return FALSE;
        key[i] = (BYTE)(hi << 4 | lo);
    }
    return text[RM_KEY_CHARS] == 0;
}

/* Eight bytes a step (a byte at a time, the paths of a 100,000-file registration
 * were hashed five times each for a tenth of its cost), each step multiplied and
 * folded, and a final mix so that the low bits the tables index by depend on
 * every byte. For in-memory tables only: nothing stored depends on it. */
uint64_t rm_hash_bytes(const void *data, SIZE_T len, uint64_t seed)
{
    const BYTE *p = data;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ seed ^ ((uint64_t)len * 0xff51afd7ed558ccdull), w;
    SIZE_T i;

    for (; len >= 8; p += 8, len -= 8)
    {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x9fb21c651e98df25ull;
        h ^= h >> 29;
    }
    if (len)
    {
        for (w = 0, i = 0; i < len; i++) w |= (uint64_t)p[i] << (8 * i);
        h = (h ^ w) * 0x9fb21c651e98df25ull;
        h ^= h >> 29;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}
