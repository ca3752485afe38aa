/* mixer.c - the master bus; see mixer.h. */
#include "mixer.h"

#include <math.h>
#include <string.h>

void mixer_clear(float *out, size_t n)
{
    memset(out, 0, n * sizeof *out);
}

void mixer_add(float *restrict out, const float *restrict in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] += in[i];
}

float mixer_master(float *out, size_t n, float gain, uint64_t *clips)
{
    float peak = 0.0f;
    uint64_t c = 0;
    for (size_t i = 0; i < n; i++) {
        out[i] *= gain;
        float a = fabsf(out[i]);
        peak = a > peak ? a : peak;   /* not fmaxf: a library call at -O2 */
        c += a > 1.0f;
    }
    *clips += c;
    return peak;
}
