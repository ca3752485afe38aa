/* mixer.h - the mixing desk: each track's fader (gain and pan, with mute
 * and solo folded in) and the master fader applied to the tracks' rendered
 * blocks, summed to the master bus. The one mix, used by the audio
 * callback (play) and the render loop alike.
 *
 * DESIGN. The faders sit after the render-ahead: a track renders its
 * script's output ahead of time, pre-fader, and the mixer applies the
 * fader when the block is played, so a change is heard within the next
 * block or two rather than after the ~80 ms a track renders ahead. A
 * change is ramped linearly over one block (no zipper noise, no click).
 * Targets travel as one 64-bit atomic word per fader (both channels'
 * factors together): the control side stores, the mixer loads once per
 * block - no lock on either side, and render applies the same code at
 * the same block positions.
 *
 * Threads: mixer_set_* from any non-real-time thread, one at a time (the
 * engine's control lock); mixer_mix from the one consumer, real-time:
 * no locks, no allocation, no I/O (docs/realtime.md). */
#ifndef SHX_MIXER_H
#define SHX_MIXER_H

#include <stddef.h>
#include <stdint.h>

#include "pan.h"

struct mixer;
struct track;

/* Main. A desk for n tracks of block frames x channels (1 or 2), every
 * fader at unity. Errors: SHX_ENOMEM. */
int mixer_create(int n, int channels, uint32_t block, struct mixer **out);
/* Main. NULL is a no-op. */
void mixer_destroy(struct mixer *m);

/* Control side. Track i's fader moves to g (linear factors per channel:
 * gain, pan law and mute/solo resolved) from the next block mixed. */
void mixer_set_track(struct mixer *m, int i, struct pan_gains g);
/* Control side. The master fader (linear). */
void mixer_set_master(struct mixer *m, float gain);
/* Control side. Where every fader stands now, skipping the ramps: before
 * a run starts, so that its first block is not a ramp from unity. */
void mixer_settle(struct mixer *m);

/* Consumer, real-time. Sums block k of each track, through its fader,
 * into out (block x channels) and releases it; a track whose block k is
 * not there counts a late block and is left out of this block only. Then
 * the master fader. Each track's peak (after its fader) goes to its
 * meter. Returns the largest |sample| and adds the samples beyond full
 * scale to *clips. */
float mixer_mix(struct mixer *m, struct track *const *tracks, int64_t k, float *out,
                uint64_t *clips);

#endif
