/* timeline.h - where each block of a run lies on the session's timeline.
 *
 * A run starts at `start` and advances block by block; with looping on,
 * reaching `loop_end` from before it jumps to `loop_start` (also when the
 * run began before the loop, as in a DAW; a run that begins after the loop
 * plays on). Pure arithmetic, any thread, real-time safe. All in frames. */
#ifndef SHX_TIMELINE_H
#define SHX_TIMELINE_H

#include <stdint.h>

struct timeline {
    int64_t start;                 /* first frame of the run */
    int looping;
    int64_t loop_start, loop_end;  /* used when looping; loop_end > loop_start */
};

/* A contiguous piece of a block: `frames` frames from timeline frame pos. */
struct timeline_seg {
    int64_t pos;
    uint32_t frames;
};

/* Splits the n frames starting at pos into contiguous pieces (a loop
 * shorter than the block makes several). Returns how many were written, at
 * most max; *next is where the following block starts. */
int timeline_segments(const struct timeline *tl, int64_t pos, uint32_t n,
                      struct timeline_seg *segs, int max, int64_t *next);

/* Where a block starts that begins `frames` frames after pos. */
int64_t timeline_advance(const struct timeline *tl, int64_t pos, int64_t frames);

#endif
