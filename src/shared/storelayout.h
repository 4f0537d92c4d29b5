/*
 * storelayout.h - the per-user session store as Windows lays it out (spec 9),
 * written once for the DLL (src/store.c), rmtool's "sessions" (which reads it to
 * show the sessions of this user) and the tests (which check it):
 *
 *   HKCU\Software\Microsoft\RestartManager\SessionNNNN     NNNN = slot = handle
 *       Owner          REG_BINARY   RM_UNIQUE_PROCESS of the primary
 *       SessionHash    REG_BINARY   SHA-256 of the 16 key bytes (never the key)
 *       Sequence       REG_DWORD    a lower bound of the commits' end: every number
 *                                   below it holds a group
 *       RegFilesNNNN   REG_MULTI_SZ files of group NNNN (canonical full paths)
 *       RegProcsNNNN   REG_MULTI_SZ processes of group NNNN, "pid:high:low" in hex
 *       RegSvcsNNNN    REG_MULTI_SZ service short names of group NNNN
 *
 * Group numbers run from 0 up, one kind each. The committed groups are those
 * below the first number without any (rm_store_commits_end): a registration's
 * groups take consecutive numbers and are written highest first, so its lowest
 * number, written last, is its commit point (src/store.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef RSTRTMGR_STORELAYOUT_H
#define RSTRTMGR_STORELAYOUT_H

#include <windows.h>

#define RM_STORE_PATH        L"Software\\Microsoft\\RestartManager"   /* under HKCU */
#define RM_STORE_SLOT_PREFIX L"Session"                              /* + at least 4 digits */
#define RM_STORE_SLOTS       64          /* per user: Session0000 .. Session0063 */
#define RM_STORE_OWNER       L"Owner"
#define RM_STORE_HASH        L"SessionHash"
#define RM_STORE_SEQUENCE    L"Sequence"
#define RM_STORE_FILES       L"RegFiles"  /* + commit number, 4 digits at least */
#define RM_STORE_PROCS       L"RegProcs"
#define RM_STORE_SVCS        L"RegSvcs"

/* The decimal number at the start of s (at most 9 digits: no overflow); returns how
 * many characters it took, 0 when s does not start with a digit. */
static inline SIZE_T rm_parse_dec(const WCHAR *s, DWORD *value)
{
    SIZE_T n = 0;
    DWORD v = 0;
    while (n < 9 && s[n] >= L'0' && s[n] <= L'9') v = v * 10 + (DWORD)(s[n++] - L'0');
    *value = v;
    return n;
}

/* TRUE if name is the prefix followed by 4 or more digits and nothing else (a slot
 * key); *slot gets the number. */
static inline BOOL rm_store_parse_slot(const WCHAR *name, DWORD *slot)
{
    SIZE_T i, n;
    for (i = 0; RM_STORE_SLOT_PREFIX[i]; i++)
        if (name[i] != RM_STORE_SLOT_PREFIX[i]) return FALSE;
    n = rm_parse_dec(name + i, slot);
    return n >= 4 && !name[i + n];
}

/* Where the committed groups of an open slot key end: the first number from
 * `from` on that holds no group. For readers outside the DLL (rmtool, the
 * tests); the DLL reads the same way (src/store.c). */
static inline DWORD rm_store_commits_end(HKEY slot, DWORD from)
{
    static const WCHAR *const prefix[3] = { RM_STORE_FILES, RM_STORE_PROCS, RM_STORE_SVCS };
    DWORD n;
    for (n = from; n < 0x7fffffffu; n++)
    {
        BOOL any = FALSE;
        int kind;
        for (kind = 0; kind < 3 && !any; kind++)
        {
            WCHAR name[32];
            SIZE_T i = 0, j;
            DWORD v = n;
            WCHAR digits[12];
            int d = 0;
            while (prefix[kind][i]) { name[i] = prefix[kind][i]; i++; }
            do { digits[d++] = (WCHAR)(L'0' + v % 10); v /= 10; } while (v);
            while (d < 4) digits[d++] = L'0';
            for (j = 0; j < (SIZE_T)d; j++) name[i + j] = digits[d - 1 - j];
            name[i + d] = 0;
            any = RegQueryValueExW(slot, name, NULL, NULL, NULL, NULL) == ERROR_SUCCESS;
        }
        if (!any) break;
    }
    return n;
}

#endif
