/* stats.h - the contract's stats as JSON lines, from meter snapshots.
 *
 * Main thread. stats_observe sees every snapshot (about 20 a second) and
 * keeps the interval's peaks; stats_write turns the totals into figures
 * over the interval since the previous line (cpu, dsp_load) and writes one
 * line. */
#ifndef SHX_STATS_H
#define SHX_STATS_H

#include <stdio.h>

struct meter_snapshot;
struct stats;

/* Main. Errors: SHX_ENOMEM. */
int stats_create(struct stats **out);
/* Main. stats_destroy(NULL) is a no-op. */
void stats_destroy(struct stats *st);
/* Main. Takes in a snapshot's interval peaks. */
void stats_observe(struct stats *st, const struct meter_snapshot *s);
/* Main. Writes one JSON object and a newline for snapshot s, then flushes. */
void stats_write(struct stats *st, FILE *f, const struct meter_snapshot *s);

#endif
