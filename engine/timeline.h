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

/* How the block of n frames at pos meets the loop's end: TL_WRAP_INSIDE
 * when a wrap falls after its first frame (the block itself jumps), and
 * TL_WRAP_AFTER when it ends exactly at the loop's end (the next block is
 * the first after the wrap). 0 when it does neither. What a script's
 * info.jumped and reset() follow (docs/scripting.md). */
enum { TL_WRAP_INSIDE = 1u << 0, TL_WRAP_AFTER = 1u << 1 };
unsigned timeline_wraps(const struct timeline *tl, int64_t pos, uint32_t n);

/* Where a block starts that begins `frames` frames after pos. */
int64_t timeline_advance(const struct timeline *tl, int64_t pos, int64_t frames);

#endif
