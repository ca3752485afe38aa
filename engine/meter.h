/* meter.h - the engine's published state: one snapshot of every meter,
 * for the overlay, the terminal meters, `shmix top` and the stats lines.
 *
 * DESIGN. The main thread gathers the tracks' counters (single-writer
 * atomics; nothing an audio thread ever waits for) about 20 times a second
 * into a plain snapshot and publishes it under a sequence counter (a
 * seqlock) in a shared memory object that only this user can read
 * (/dev/shm/shmix-PID, removed at exit), so readers in this process or in
 * `shmix top` copy it without ever blocking the writer. Totals are
 * published as totals; each reader derives its own interval figures. */
#ifndef SHX_METER_H
#define SHX_METER_H

#include <stddef.h>
#include <stdint.h>

#define METER_MAX_TRACKS 512   /* tracks beyond this play but are not metered */
#define METER_PREFIX "shmix-"

struct engine;
struct meter;

struct meter_track {
    char name[64];
    char state[12];
    int32_t pid;                  /* 0 when none */
    uint8_t mute, solo, audible;
    uint64_t blocks, cpu_ns;      /* totals: rendered blocks, CPU on them */
    float cpu, cpu_peak;          /* % of real time: over >= 0.25 s of blocks (held
                                   * between measurements); the costliest block
                                   * since the last update */
    float wake_us, busy_us;       /* medians over the last 128 hand-offs */
    float peak;                   /* largest |sample| since the last update */
    uint64_t late_blocks, faulted_blocks, bad_samples, restarts, errors;
    float restart_ms;             /* the last restart: death to resumed audio */
    char last_error[256];
};

struct meter_snapshot {
    uint32_t magic, version;
    uint32_t seq;                 /* odd while being written */
    int32_t pid;                  /* the engine's */
    double time;                  /* seconds since the run started */
    double position;              /* seconds on the timeline */
    char state[12];               /* playing, paused, stopped, rendering */
    char session[128];
    int32_t sample_rate, block_size;
    float dsp_load;               /* % of real time, all tracks and the mixer */
    float master_peak;            /* since the last update */
    float gui_cpu;                /* % of one CPU, the overlay's own cost */
    uint64_t xruns, clips, mix_ns;
    uint32_t ntracks;
    struct meter_track tracks[METER_MAX_TRACKS];
};

/* What the caller knows about the engine as a whole. */
struct meter_frame {
    double time, position;
    const char *state;
    uint64_t xruns, clips;
    float master_peak;            /* since the previous update */
    uint64_t mix_cpu_ns;          /* the mixer's total */
    float gui_cpu;
};

/* Main. publish: also under /dev/shm for `shmix top` (best effort).
 * Errors: SHX_ENOMEM. */
int meter_create(struct engine *e, const char *session, int publish, struct meter **out);
/* Main. Unpublishes; NULL is a no-op. */
void meter_destroy(struct meter *m);
/* Main. Gathers and publishes a new snapshot. */
void meter_update(struct meter *m, const struct meter_frame *fr);
/* Any thread of this process. The latest snapshot (a consistent copy). */
void meter_read(struct meter *m, struct meter_snapshot *out);

/* Any process of the same user. Reads engine pid's published snapshot
 * (pid 0: the only running engine). Returns 0, SHX_EEMPTY (none running),
 * SHX_EUSAGE (several: err lists them), SHX_ESYS/SHX_EFORMAT (not readable). */
int meter_peek(int pid, struct meter_snapshot *out, char *err, size_t cap);

/* Any thread. dBFS of a linear peak, or -INFINITY when silent. */
double meter_db(float peak);

#endif
