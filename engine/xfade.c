/* xfade.c - smoothing the step at a switch of source; see xfade.h. */
#include "xfade.h"

#include <math.h>
#include <string.h>

void xfade_init(struct xfade *x, int channels, uint32_t len)
{
    memset(x, 0, sizeof *x);
    x->channels = channels < 1 ? 1 : channels > XFADE_MAX_CHANNELS ? XFADE_MAX_CHANNELS : channels;
    x->len = len ? len : 1;
    x->done = x->len;
    x->source = -1;
}

const float *xfade_block(struct xfade *x, int64_t source, const float *src, float *scratch,
                         uint32_t frames)
{
    int ch = x->channels;
    if (frames == 0)
        return src;
    if (source != x->source) {
        /* The first block ever has nothing before it to be continuous with. */
        if (x->source >= 0) {
            for (int c = 0; c < ch; c++)
                x->step[c] = x->last[c] - src[c];
            x->done = 0;
        }
        x->source = source;
    }
    const float *out = src;
    if (x->done < x->len) {
        /* step x w(j), w falling from 1 (j = 0, the sample before the
         * switch) to 0 (j = len) along half a cosine. */
        for (uint32_t i = 0; i < frames; i++) {
            uint32_t j = x->done + i + 1;
            float w = j >= x->len ? 0.0f
                                  : 0.5f + 0.5f * cosf((float)M_PI * (float)j / (float)x->len);
            for (int c = 0; c < ch; c++)
                scratch[i * ch + c] = src[i * ch + c] + x->step[c] * w;
        }
        x->done = x->len - x->done > frames ? x->done + frames : x->len;
        out = scratch;
    }
    for (int c = 0; c < ch; c++)
        x->last[c] = out[(frames - 1) * ch + c];
    return out;
}
