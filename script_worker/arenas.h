/* arenas.h - the zygote's Python object arenas, on huge pages.
 *
 * CPython keeps its small objects in arenas of 1 MiB that it maps one by
 * one. Starting Python and importing numpy touches ~9 MiB of them, and on
 * a virtual machine whose page faults are slow the ~2 000 faults of 4 KiB
 * each are ~30 ms of the zygote's start (docs/performance.md). Here the
 * zygote's arenas are carved from one region that the kernel may back
 * with transparent huge pages (madvise, the setting most distributions
 * ship): a fault then maps 2 MiB. The workers cloned from the zygote share
 * those pages; each clone marks the region not to be backed by huge pages
 * any more (arenas_after_clone), so a clone that writes to one copies 4
 * KiB of it, as before. The region is cut back before the first clone to
 * the 2 MiB boundary past what the zygote used, so a worker's later
 * arenas come from that last stretch and then from ordinary mappings: no
 * worker grows in 2 MiB steps.
 *
 * The zygote sets this up, single-threaded; its clones inherit the
 * allocator, which runs wherever CPython maps or frees an arena - in a
 * worker's Python, never in a real-time path of the engine.
 */
#ifndef SHX_ARENAS_H
#define SHX_ARENAS_H

/* Before Python starts: from now on Python's arenas come from the region
 * while it has room, and from their own mappings after that. Returns
 * SHX_OK, or SHX_ESYS when the region could not be mapped (Python then
 * maps its arenas as usual). */
int arenas_use_huge_pages(void);

/* After the imports, before the first clone: unmaps the region's unused
 * end (from the first 2 MiB boundary past what was handed out). */
void arenas_trim(void);

/* In each clone, before it serves: no huge pages in the region from now
 * on (the pages it shares with the zygote stay as they are). */
void arenas_after_clone(void);

#endif
