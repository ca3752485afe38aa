/* samples.c - checks on raw sample buffers; see samples.h. */
#include "samples.h"

#include <math.h>

uint64_t samples_sanitize(float *buf, size_t n)
{
    /* First pass only looks (exponent bits all ones = Inf or NaN) and
     * vectorises; the second runs only for a buffer that has some. */
    const uint32_t *bits = (const uint32_t *)buf;
    uint32_t any = 0;
    for (size_t i = 0; i < n; i++)
        any |= (bits[i] & 0x7f800000u) == 0x7f800000u;
    if (!any)
        return 0;
    uint64_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(buf[i])) {
            buf[i] = 0.0f;
            bad++;
        }
    return bad;
}

void samples_from_s16(float *restrict dst, const int16_t *restrict src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (float)src[i] * (1.0f / 32768.0f);
}
