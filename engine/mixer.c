/* mixer.c - the master bus; see mixer.h. */
#include "mixer.h"
#include "track.h"

#include <math.h>
#include <string.h>

static void add(float *restrict out, const float *restrict in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] += in[i];
}

static float master_bus(float *out, size_t n, float gain, uint64_t *clips)
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

float mixer_mix(struct track *const *tracks, int n, int64_t k, float *out, size_t n_floats,
                float master, uint64_t *clips)
{
    memset(out, 0, n_floats * sizeof *out);
    for (int i = 0; i < n; i++) {
        const float *b = track_block(tracks[i], k);
        if (b) {
            add(out, b, n_floats);
            track_release(tracks[i]);
        } else {
            track_missed(tracks[i]);   /* only this track drops out of this block */
        }
    }
    return master_bus(out, n_floats, master, clips);
}
