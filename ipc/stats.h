/* stats.h - the stats lines: one JSON object per line, from the meters'
 * snapshots (the format is in docs/metering.md). Built from struct
 * snapshot alone, so the engine (--stats) and `shmix top --json`, which
 * reads another engine's snapshot, write the same line.
 *
 * Main thread (of whichever process writes the lines). stats_observe sees every snapshot the main loop publishes
 * (once per tick, see play.c) and keeps the interval's peaks; stats_write
 * turns the totals into figures over the interval since the previous line
 * (cpu, dsp_load; cpuload.h) and writes one line. */
#ifndef SHX_STATS_H
#define SHX_STATS_H

#include <stdio.h>

struct snapshot;
struct stats;

/* Main. Errors: SHX_ENOMEM. */
int stats_create(struct stats **out);
/* Main. stats_destroy(NULL) is a no-op. */
void stats_destroy(struct stats *st);
/* Main. For a reader that joins a run in progress (`shmix top --json`):
 * the first line's interval starts at snapshot s rather than at the start
 * of the run, so its cpu is not the run's average so far. */
void stats_start(struct stats *st, const struct snapshot *s);
/* Main. Takes in a snapshot's interval peaks. */
void stats_observe(struct stats *st, const struct snapshot *s);
/* Main. Writes one JSON object and a newline for snapshot s, in one
 * write, then flushes. Errors: SHX_ENOMEM (nothing written). */
int stats_write(struct stats *st, FILE *f, const struct snapshot *s);
/* The same line into buf (NUL-terminated, newline included). Returns its
 * length, or SHX_EFULL (does not fit cap), SHX_ENOMEM. */
int stats_line(struct stats *st, const struct snapshot *s, char *buf, size_t cap);

#endif
