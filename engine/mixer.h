/* mixer.h - the master bus: block k of every track summed, the master
 * gain, the peak and the clipped samples. The one mix, used by the audio
 * callback (play) and the render loop alike.
 *
 * Real-time: no locks, no allocation, no I/O (docs/realtime.md). */
#ifndef SHX_MIXER_H
#define SHX_MIXER_H

#include <stddef.h>
#include <stdint.h>

struct track;

/* Real-time (the consumer of the tracks' rings). Sums block k of each of
 * the n tracks into out (n_floats = block x channels) and releases it; a
 * track whose block k is not there counts a late block and is left out of
 * this block only. Then multiplies by master. Returns the largest |sample|
 * and adds the samples beyond full scale to *clips. */
float mixer_mix(struct track *const *tracks, int n, int64_t k, float *out, size_t n_floats,
                float master, uint64_t *clips);

#endif
