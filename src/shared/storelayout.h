/*
 * storelayout.h - the per-user session store as Windows lays it out (spec 9),
 * written once for the DLL (src/store.c), rmtool's "sessions" (which reads it to
 * show the sessions of this user) and the tests (which check it):
 *
 *   HKCU\Software\Microsoft\RestartManager\SessionNNNN     NNNN = slot = handle
 *       Owner          REG_BINARY   RM_UNIQUE_PROCESS of the primary
 *       SessionHash    REG_BINARY   SHA-256 of the 16 key bytes (never the key)
 *       Sequence       REG_DWORD    number of committed registrations
 *       RegFilesNNNN   REG_MULTI_SZ files of commit NNNN (canonical full paths)
 *       RegProcsNNNN   REG_MULTI_SZ processes of commit NNNN, "pid:high:low" in hex
 *       RegSvcsNNNN    REG_MULTI_SZ service short names of commit NNNN
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

#endif
