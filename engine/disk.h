/* disk.h - the disk thread: reads every track's file ahead during play.
 *
 * DESIGN. One non-real-time thread keeps each track's input ring (about two
 * seconds) full by calling track_prefetch, so track threads never wait for
 * the disk and memory does not grow with the session's length. It sleeps on
 * one futex word that track threads bump when their input ring falls below
 * half, and looks anyway every DISK_LOOK_NS (tuning.h). */
#ifndef SHX_DISK_H
#define SHX_DISK_H

#include <stdint.h>

struct track;
struct disk;

/* Main. Creates the wake-up word; the thread starts in disk_start.
 * Errors: SHX_ENOMEM. */
int disk_create(struct track *const *tracks, int n, struct disk **out);
/* Main. The word to hand to track_run (struct track_run.disk_kick). */
uint32_t *disk_kick(struct disk *d);
/* Main. Fills every input ring once, synchronously, then starts the
 * thread. Errors: SHX_ESYS. */
int disk_start(struct disk *d, int rt_priority);
/* Main. Stops and joins the thread; disk_destroy(NULL) is a no-op. */
void disk_destroy(struct disk *d);

#endif
