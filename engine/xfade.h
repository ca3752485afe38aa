/* xfade.h - click-free switching between what a track plays: its script's
 * output or its on_fault signal (the dry input, or silence).
 *
 * DESIGN. When a track switches source - a fault, a late block, a
 * recovery, a reload, a restart - the new source's first sample is rarely
 * the old one's next: a step, heard as a click. The old source cannot be
 * faded out (a script that did not deliver has no samples to fade), so
 * the step itself is: at the switch, the difference between the last
 * sample played and the new source's first is added to the new source and
 * decays to zero with a raised cosine over XFADE_NS (5 ms). The output is
 * continuous at the switch and is the new source exactly once the window
 * has passed; a switch inside a window starts from what was played, so
 * switches in a row stay continuous too. Pure arithmetic on the track
 * thread: real-time safe, deterministic (render repeats it exactly). */
#ifndef SHX_XFADE_H
#define SHX_XFADE_H

#include <stdint.h>

#define XFADE_MAX_CHANNELS 2

struct xfade {
    int channels;
    uint32_t len;                      /* frames of a window */
    uint32_t done;                     /* frames of the current window played */
    int64_t source;                    /* what the last block came from; -1 none yet */
    float last[XFADE_MAX_CHANNELS];    /* the last frame played */
    float step[XFADE_MAX_CHANNELS];    /* the step being smoothed away */
};

/* Track thread. A window of len frames (>= 1) for channels (1..2). */
void xfade_init(struct xfade *x, int channels, uint32_t len);

/* Track thread, real-time safe. A block of `frames` frames from `source`
 * (any number that names it: on_fault, or a worker generation's output).
 * Returns the block to play: src itself when no window is open, else
 * scratch (frames x channels floats) holding src with the step smoothed. */
const float *xfade_block(struct xfade *x, int64_t source, const float *src, float *scratch,
                         uint32_t frames);

#endif
