/* cpuload.c - interval CPU figures; see cpuload.h. */
#include "cpuload.h"

float cpuload_track(struct cpuload *l, uint64_t blocks, uint64_t cpu_ns, double block_ns,
                    double min_ns, int playing)
{
    uint64_t b = blocks - l->blocks;
    double span = (double)b * block_ns;
    if (b > 0 && span >= min_ns) {
        l->shown = (float)(100.0 * (double)(cpu_ns - l->cpu_ns) / span);
        l->blocks = blocks;
        l->cpu_ns = cpu_ns;
    } else if (!playing) {
        l->shown = 0.0f;
    }
    return l->shown;
}

float cpuload_dsp(struct dspload *d, double tracks, uint64_t blocks, uint64_t mix_ns,
                  double block_ns, int playing)
{
    if (blocks) {
        d->shown = (float)(tracks + 100.0 * (double)(mix_ns - d->mix_ns)
                                        / ((double)blocks * block_ns));
        d->mix_ns = mix_ns;
    } else if (!playing) {
        d->shown = (float)tracks;
    }
    return d->shown;
}
