/* cpuload.h - CPU time as a percentage of real time, measured over an
 * interval of blocks: the one place where the meters (meter.c) and the
 * stats lines (stats.c) turn running totals into figures.
 *
 * A track renders a batch of blocks per wake-up, so a short interval may
 * see none of its blocks, and one batch's thread-CPU readings are lumpy on
 * a virtual machine. An interval is therefore measured only once it covers
 * enough audio (at least one block, and at least min_ns of it); until
 * then, while playing, the last figure is held and the interval goes on.
 * Stopped or paused, nothing runs, and 0 is the truth.
 *
 * Pure arithmetic on caller-owned structs; any thread, one caller each. */
#ifndef SHX_CPULOAD_H
#define SHX_CPULOAD_H

#include <stdint.h>

/* One track's interval. Zero-initialise. */
struct cpuload {
    uint64_t blocks, cpu_ns;      /* totals where the interval began */
    float shown;                  /* the figure last measured, % */
};

/* The whole engine's: the tracks' figures and the mixer's share. */
struct dspload {
    uint64_t mix_ns;              /* the mixer's total where the interval began */
    float shown;                  /* %, the sum last measured */
};

/* The track's cpu (%) now that its totals are (blocks, cpu_ns): measured
 * over the interval when it covers at least one block and min_ns of audio
 * (block_ns each), and the next interval starts here; else held (playing)
 * or 0 (not playing) while the interval goes on. Returns l->shown. */
float cpuload_track(struct cpuload *l, uint64_t blocks, uint64_t cpu_ns, double block_ns,
                    double min_ns, int playing);

/* dsp_load (%) from the tracks' figures summed (tracks) and the mixer's
 * total time mix_ns, over an interval in which the busiest track rendered
 * `blocks` blocks (the mixer ran for as many). No blocks: held while
 * playing, else the tracks' sum. Returns d->shown. */
float cpuload_dsp(struct dspload *d, double tracks, uint64_t blocks, uint64_t mix_ns,
                  double block_ns, int playing);

#endif
