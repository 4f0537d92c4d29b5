/*
 * mapwalk.h - the registered files' final names, and the walk of other processes'
 * address spaces for files mapped as data (mapwalk.c), for discover.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef RSTRTMGR_MAPWALK_H
#define RSTRTMGR_MAPWALK_H

/* The final path components of the registered files that exist, upcased and
 * hashed: a module or a mapped view whose name is not among them cannot be a
 * registered file (by path or by identity), so only such rare candidates are
 * looked at further. */
struct rm_name_set
{
    uint64_t *slots;                 /* 0 = empty */
    SIZE_T mask;
    BYTE lengths[MAX_PATH + 1];      /* a final name of that many characters is registered */
};
DWORD rm_name_set_build(const struct rm_resources *r, struct rm_name_set *s);
BOOL  rm_name_set_has(const struct rm_name_set *s, const WCHAR *path);
void  rm_name_set_free(struct rm_name_set *s);

/* Address ranges (the images of one process). Out of memory only loses a range. */
struct rm_range { ULONG_PTR start, end; };
struct rm_ranges { struct rm_range *items; SIZE_T count, cap; };
void rm_ranges_add(struct rm_ranges *l, ULONG_PTR base, SIZE_T size);

/* One walk: the processes to look into (each with its images, stepped over
 * without asking), walked on a worker thread while the caller scans the handle
 * table. A process that the handle scan matches meanwhile (posted on the walk's
 * board) is not walked, or no further. */
struct rm_walk;
DWORD rm_walk_new(const struct rm_name_set *names, struct rm_walk **out);
DWORD rm_walk_add(struct rm_walk *w, DWORD pid, const struct rm_ranges *images);
struct rm_pid_board *rm_walk_board(struct rm_walk *w);
void  rm_walk_start(struct rm_walk *w);
/* Drops a walk that was never started (an error before the scan). */
void  rm_walk_free(struct rm_walk *w);

/* Waits for the walk and adds to found every process with a view whose name
 * is_registered accepts. A process whose query does not answer within
 * RM_WALK_STALL_MS is left unchecked (its worker is left waiting; see mapwalk.c).
 * ERROR_CANCELLED when *cancel is set meanwhile; ERROR_SEM_TIMEOUT when this
 * process already has, or would have, RM_WALK_MAX_STUCK workers left waiting.
 * Always releases w. */
DWORD rm_walk_finish(struct rm_walk *w, volatile LONG *cancel,
                     BOOL (*is_registered)(const WCHAR *name, void *ctx), void *ctx, struct rm_pid_set *found);

#endif
