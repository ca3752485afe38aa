/* samples.h - checks and conversions on raw sample buffers shared by the
 * file reader and the track thread.
 *
 * Real-time safe: no locks, no allocation, no system calls. */
#ifndef SHX_SAMPLES_H
#define SHX_SAMPLES_H

#include <stddef.h>
#include <stdint.h>

/* Any thread, real-time. Replaces NaN and Inf samples with 0 and returns
 * how many there were. The common case (none) is one vectorisable pass. */
uint64_t samples_sanitize(float *buf, size_t n);

/* Any thread, real-time. dst[i] = src[i] / 32768: 16-bit PCM as floats,
 * exactly the values libsndfile's float reads give (both steps are exact
 * in float), in one vectorised pass. */
void samples_from_s16(float *restrict dst, const int16_t *restrict src, size_t n);

#endif
