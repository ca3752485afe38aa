/* snapshot.h - the meters' snapshot: the engine's published state, one
 * plain struct that the engine's views (the overlay, the terminal table,
 * the stats lines) and `shmix top` in another process read.
 *
 * DESIGN. One writer (the engine's main thread) copies a whole new
 * snapshot in under a sequence counter (a seqlock): the counter is odd
 * while the body changes. Readers copy the struct and retry when the
 * counter moved, so a reader never blocks the writer, and a reader in
 * another process (`shmix top`) needs nothing but the mapping. Published,
 * it lives in a shared memory object only this user can read,
 * /dev/shm/shmix-PID, held locked for as long as the engine runs (a name
 * whose lock is free was left by a killed engine) and removed at exit.
 * Like the channel it is shared memory between processes: plain
 * fixed-width data, versioned, with a magic number, no pointers. Totals
 * are published as totals; each reader derives its own interval figures. */
#ifndef SHX_SNAPSHOT_H
#define SHX_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#define SNAPSHOT_MAX_TRACKS 2048  /* tracks beyond this play but are not metered */
#define SNAPSHOT_PREFIX "shmix-"  /* the name is this and the engine's pid */

struct snapshot_writer;

struct snapshot_track {
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
    uint64_t disk_late_blocks;    /* blocks the disk thread had not read in time */
    float restart_ms;             /* the last restart: death to resumed audio */
    char last_error[256];
};

struct snapshot {
    uint32_t magic, version;
    uint32_t seq;                 /* odd while being written */
    int32_t pid;                  /* the engine's */
    double time;                  /* seconds since the run started */
    double position;              /* seconds on the timeline */
    uint64_t published_ns;        /* CLOCK_MONOTONIC when it was written (snapshot_write) */
    char state[12];               /* playing, paused, stopped, rendering */
    char session[128];
    int32_t sample_rate, block_size;
    float dsp_load;               /* % of real time, all tracks and the mixer */
    float master_peak;            /* since the last update */
    float gui_cpu;                /* % of one CPU, the overlay's own cost */
    uint64_t xruns, clips, mix_ns;
    int32_t control;              /* the run takes control messages (play) */
    int32_t osc_port;             /* its UDP port, 0 when none */
    uint64_t control_errors;      /* control messages rejected */
    uint64_t control_accepted, control_dropped;   /* ... taken, and dropped (queue full) */
    double ahead_ms;              /* play: the render-ahead now (0: render) */
    uint32_t ntracks;
    struct snapshot_track tracks[SNAPSHOT_MAX_TRACKS];
};

/* Main (the engine). Creates the writer's side. publish: under /dev/shm
 * for `shmix top`, best effort (a full or read-only /dev/shm leaves it
 * private to this process); first removes names left by engines that no
 * longer exist. Errors: SHX_ENOMEM. */
int snapshot_writer_create(int publish, struct snapshot_writer **out);
/* Main. Unpublishes; NULL is a no-op. */
void snapshot_writer_destroy(struct snapshot_writer *w);
/* Main, the one writer. Publishes next (everything after the header). */
void snapshot_write(struct snapshot_writer *w, const struct snapshot *next);
/* Any thread of the writer's process. A consistent copy of the latest. */
void snapshot_read(struct snapshot_writer *w, struct snapshot *out);

/* A snapshot older than this is stale: its engine is stopped (SIGSTOP),
 * stalled or hung. */
#define SNAPSHOT_STALE_NS 2000000000ull

/* Any process of the same user. Reads engine pid's published snapshot
 * (pid 0: the only running engine); a stale one (not written for
 * SNAPSHOT_STALE_NS) reads with state "stale", so that no view shows a
 * frozen engine's last figures as live. Returns 0, SHX_EEMPTY (none running),
 * SHX_EUSAGE (several: err lists them), SHX_ESYS/SHX_EFORMAT (not
 * readable). */
int snapshot_peek(int pid, struct snapshot *out, char *err, size_t cap);

/* Any thread. dBFS of a linear peak, or -INFINITY when silent. */
double snapshot_db(float peak);

#endif
