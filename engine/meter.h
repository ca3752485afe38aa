/* meter.h - gathering the engine's state into the meters' snapshot.
 *
 * DESIGN. The main thread calls meter_update once per tick of its loop
 * (play.c: ~30 times a second, or as often as stats lines are due; render:
 * once at the end). It reads the tracks' counters (single-writer atomics,
 * nothing an audio thread ever waits for) into a plain snapshot and
 * publishes it (ipc/snapshot.h), from which every view - the overlay, the
 * terminal table, `shmix top`, the stats lines - reads. Each track's cpu
 * is measured over at least METER_CPU_SPAN_NS of its blocks (cpuload.h). */
#ifndef SHX_METER_H
#define SHX_METER_H

#include <stdint.h>

struct engine;
struct meter;
struct snapshot;

/* What the caller knows about the engine as a whole. */
struct meter_frame {
    double time, position;        /* s since the run started, s on the timeline */
    const char *state;            /* playing, paused, stopped, failed */
    uint64_t xruns, clips;
    float master_peak;            /* since the previous update */
    uint64_t mix_cpu_ns;          /* the mixer's total */
    float gui_cpu;                /* % of one CPU */
    int control;                  /* play: control messages are taken */
    int osc_port;                 /* UDP port, 0: none */
    uint64_t control_errors;      /* rejected control messages */
    uint64_t control_accepted, control_dropped;
    double ahead_ms;              /* play: the render-ahead now, 0: none */
};

/* Main. publish: also under /dev/shm for `shmix top` (best effort).
 * Errors: SHX_ENOMEM. */
int meter_create(struct engine *e, const char *session, int publish, struct meter **out);
/* Main. Unpublishes; NULL is a no-op. */
void meter_destroy(struct meter *m);
/* Main. Gathers and publishes a new snapshot. */
void meter_update(struct meter *m, const struct meter_frame *fr);
/* Main (any thread of this process). The latest snapshot (a consistent copy). */
void meter_read(struct meter *m, struct snapshot *out);

#endif
