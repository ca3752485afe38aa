/* stats.h - the contract's stats as JSON lines.
 *
 * Stats thread (main in render). Reads the tracks' counters through
 * track_snapshot, which never blocks a track thread, and keeps the previous
 * snapshot to turn totals into per-interval figures (cpu, cpu_peak). */
#ifndef SHX_STATS_H
#define SHX_STATS_H

#include <stdint.h>
#include <stdio.h>

struct engine;
struct stats;

/* What the caller knows about the whole engine at this moment. */
struct stats_frame {
    double time;             /* seconds since start */
    double position;         /* seconds on the timeline */
    const char *state;       /* "playing", "rendering", "stopped", ... */
    uint64_t xruns;
    float master_peak;       /* largest |sample| of the interval */
    uint64_t clips;          /* samples beyond full scale, total */
    uint64_t mix_cpu_ns;     /* the mixer's own CPU time, total */
};

/* Main. Errors: SHX_ENOMEM. */
int stats_create(struct engine *e, struct stats **out);
/* Main. stats_destroy(NULL) is a no-op. */
void stats_destroy(struct stats *st);
/* Stats thread. Writes one JSON object and a newline, then flushes. */
void stats_write(struct stats *st, FILE *f, const struct stats_frame *fr);

#endif
