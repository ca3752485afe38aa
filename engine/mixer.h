/* mixer.h - summing track blocks into the master bus.
 *
 * Real-time: called from the audio callback (play) and the render loop. */
#ifndef SHX_MIXER_H
#define SHX_MIXER_H

#include <stddef.h>
#include <stdint.h>

/* Real-time. out[i] = 0. */
void mixer_clear(float *out, size_t n);
/* Real-time. out[i] += in[i]. */
void mixer_add(float *restrict out, const float *restrict in, size_t n);
/* Real-time. out[i] *= gain; returns the largest |out[i]| and adds the
 * number of samples beyond full scale to *clips. */
float mixer_master(float *out, size_t n, float gain, uint64_t *clips);

#endif
