/* program.h - changes of a run's timeline while it plays: seeks and loop
 * changes, each taking effect at one block of the run.
 *
 * DESIGN. A change is decided by the one consumer of the tracks' blocks
 * (the audio callback, or the render loop) and takes effect at block k of
 * the run, a block no track has rendered yet: from k on, the run reads
 * from `pos` on the timeline `tl`. Every track, its disk reads and the
 * mixer switch at the same block, so play and render make the same
 * samples (docs/control.md). The consumer publishes the newest change
 * here; readers (the disk thread, the track threads) take a consistent
 * copy with a sequence lock - wait-free for the writer, a retry for a
 * reader that met a write. A change is published only once the previous
 * one has been played (its k reached the mixer), so the newest change and
 * its count tell every reader which changes apply to a block it still
 * has to render: `count` of them at or after `k`, one fewer before it.
 *
 * Threads: program_publish from the consumer (real-time safe); the rest
 * from any thread (real-time safe, a bounded retry). */
#ifndef SHX_PROGRAM_H
#define SHX_PROGRAM_H

#include <stdint.h>

#include "timeline.h"

struct tl_change {
    int64_t k;              /* the block of the run it takes effect at */
    struct timeline tl;     /* the timeline from there on */
    int64_t pos;            /* timeline frame of block k */
    int jump;               /* a seek: the scripts' reset() and info.jumped */
};

struct program {
    _Atomic uint32_t seq;   /* odd while being written */
    uint32_t count;         /* changes published so far */
    struct tl_change last;  /* the newest */
};

/* Consumer, real-time safe. Publishes change c (the count goes up by one). */
void program_publish(struct program *p, const struct tl_change *c);

/* Any thread, real-time safe. Copies the newest change and the count (0:
 * none yet, and *c is untouched). */
uint32_t program_read(const struct program *p, struct tl_change *c);

/* Any thread. How many changes apply to block i (an epoch number: blocks
 * read under an older one are stale), given the newest change c and the
 * count. */
static inline uint32_t program_epoch(uint32_t count, const struct tl_change *c, int64_t i)
{
    return count == 0 ? 0 : i >= c->k ? count : count - 1;
}

#endif
