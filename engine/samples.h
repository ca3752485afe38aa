/* samples.h - checks on raw sample buffers shared by the file reader and
 * the track thread.
 *
 * Real-time safe: no locks, no allocation, no system calls. */
#ifndef SHX_SAMPLES_H
#define SHX_SAMPLES_H

#include <stddef.h>
#include <stdint.h>

/* Any thread, real-time. Replaces NaN and Inf samples with 0 and returns
 * how many there were. The common case (none) is one vectorisable pass. */
uint64_t samples_sanitize(float *buf, size_t n);

#endif
