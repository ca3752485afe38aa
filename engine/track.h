/* track.h - one track: its source, its worker channel, its thread, its ring.
 *
 * DESIGN. Each track has one engine thread that renders blocks ahead into
 * an SPSC ring (see ring.h): read the file's audio for the block, hand it to
 * the track's worker process and wait for the answer with a deadline, apply
 * on_fault, gain, pan and mute, commit the block. The mixer (render loop or
 * audio callback) consumes the rings. Tracks never share mutable state, so
 * a slow or broken worker only ever delays its own ring.
 *
 * Threads: track_create/track_start_worker/track_await_worker/track_run/
 * track_stop/track_destroy from main; track_peek/track_release from the one
 * consumer (real-time safe); track_drain and track_snapshot from one
 * non-real-time thread (main or the stats thread). The block loop itself
 * follows docs/realtime.md: no locks, no allocation, no logging; its only
 * blocking calls are the bounded wait for its worker and the wait for room
 * in its ring. */
#ifndef SHX_TRACK_H
#define SHX_TRACK_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"

#include "program.h"
#include "timeline.h"

struct feed;
struct track;
struct worker;
struct zygote;

enum track_state {
    TRACK_DIRECT = 0,    /* no script */
    TRACK_STARTING,
    TRACK_RUNNING,
    TRACK_RESTARTING,
    TRACK_ERROR,         /* the script keeps raising; until the file changes */
    TRACK_FAILED,        /* the worker is gone for good */
};

struct track_config {
    const char *name;
    int sample_rate;          /* Hz */
    uint32_t block_size;      /* frames */
    int channels;             /* output channels, 1 or 2 */
    int audible;              /* mute and solo resolved, for the meters */
    enum on_fault on_fault;
    uint64_t hang_ns;         /* a block may take this long before the worker is killed */
    int worker_memory_mb;
    const char *load_request; /* LOAD JSON for the worker; NULL = no script */
    uint32_t ring_slots;      /* capacity of the ring to the mixer (power of two) */
    uint32_t prefetch_slots;  /* capacity of the disk thread's ring (power of two) */
    int cpu;                  /* CPU for the thread and its worker, -1 = any */
    int worker_nice;          /* nice value for the worker, 0 = leave it */
    int worker_rt_prio;       /* SCHED_FIFO priority for the worker, 0 = none */
    int worker_index;         /* the worker's channel number in the zygote */
    const char *script_label; /* the script as the session names it, for messages */
    const char *script_path;  /* the script's path to open (watched for changes) */
    char *const *py_args;     /* worker_config.py_args */
    uint32_t refill;          /* free slots a full ring needs before the thread
                                 resumes: 1 to stay full (play), a batch (render) */
    uint32_t batch;           /* most blocks one request to the worker may cover
                                 (0 = 1; at most CHAN_MAX_BATCH script calls):
                                 sizes the channel */
    uint32_t script_blocks;   /* blocks per process() call (session's script_block
                                 / block_size; 0 = 1): the channel's blocks are
                                 this long, batches a multiple of it */
};

/* at_ns before the first callback: nothing is due yet. */
#define TRACK_CLOCK_IDLE (UINT64_MAX / 4)

/* Published by the mixer in play, read by the track threads: the block it
 * mixes next and when it mixed the previous one, which tells each block's
 * deadline. Written by the audio callback only. */
struct track_clock {
    _Atomic int64_t next;     /* index of the next block the mixer takes */
    _Atomic uint64_t at_ns;   /* CLOCK_MONOTONIC when it took block next - 1 */
    uint64_t period_ns;       /* one block */
    /* Blocks the tracks render ahead of the mixer now: set by the player's
     * tuning (player.c), read by each track thread before each batch. */
    _Atomic uint32_t ahead;
};

/* One run of the track thread: blocks 0..count-1 of the timeline. */
struct track_run {
    struct timeline tl;
    int64_t count;                   /* blocks; INT64_MAX = until stopped */
    const struct track_clock *clock; /* play: deadlines from the mixer; NULL = render */
    uint32_t ahead;                  /* blocks rendered ahead of the mixer (<= ring_slots) */
    uint32_t batch;                  /* blocks rendered per wake-up and per request to
                                        the worker (clamped to track_config.batch) */
    uint32_t phase;                  /* play: staggers the tracks' wake-ups
                                        (track_loop.c's track_main) */
    uint32_t *disk_kick;             /* play: the disk thread's wake-up word; NULL = the
                                        track thread reads its file itself */
    int rt_priority;                 /* SCHED_FIFO priority for the thread, 0 = none */
    /* Seeks and loop changes while the run goes on (program.h): play
     * publishes them as they come; render knows them all beforehand. */
    const struct program *program;   /* play, or NULL */
    const struct tl_change *changes; /* render: in order of k, or NULL */
    uint32_t nchanges;
};

/* A copy of a track's counters, for stats. blocks, cpu_ns and
 * block_cpu_peak_ns are one consistent set (tally.h); the rest are read
 * one by one. One caller at a time takes snapshots of a track. */
struct track_snapshot {
    enum track_state state;
    long pid;                 /* worker pid, 0 when none */
    uint64_t blocks;          /* blocks rendered */
    uint64_t cpu_ns;          /* worker process() + engine work, total */
    uint64_t late_blocks, faulted_blocks, bad_samples, restarts, errors;
    uint64_t disk_late;       /* blocks the disk thread had not read in time */
    uint64_t script_blocks;   /* blocks the script processed (0 without a script) */
    float peak;               /* largest |sample| since the previous snapshot */
    uint64_t block_cpu_peak_ns; /* costliest block rendered since the previous snapshot */
    uint64_t wake_ns, busy_ns;  /* medians, last 128 hand-offs; 0 without a script */
    int audible;              /* mute/solo resolved */
    uint64_t restart_ns;      /* last restart: worker death seen -> first good block */
    char last_error[256];     /* "" when none */
};

/* Main. Creates the track; takes ownership of feed on success.
 * Errors: SHX_ENOMEM, SHX_ESYS (channel). */
int track_create(const struct track_config *cfg, struct feed *feed, struct track **out);
/* Main. Stops the thread and the worker first; track_destroy(NULL) is a no-op. */
void track_destroy(struct track *t);

/* Main. Starts the worker (cloned by zygote z when not NULL, else a cold
 * start) and posts its LOAD request (no wait).
 * Errors: SHX_ESYS (err says why). No-op for a track without a script. */
int track_start_worker(struct track *t, struct zygote *z, char *err, size_t cap);
/* Main. Asks zygote z for this track's worker ahead of track_start_worker
 * (zygote_ask); no-op without a script. */
void track_ask_worker(struct track *t, struct zygote *z);
/* Main. Waits until the worker has loaded the script and run setup, or
 * deadline_ns. Returns SHX_OK, or SHX_ESCRIPT / SHX_ETIMEOUT / SHX_EDEAD
 * with the reason in err (the track then plays per on_fault), SHX_ESESSION
 * when a python.preload module failed to import in a cold-started worker
 * (err: "cannot import NAME: ..."), or SHX_ESTOPPED at once when *stop is
 * set (stop may be NULL). */
int track_await_worker(struct track *t, uint64_t deadline_ns, volatile sig_atomic_t *stop,
                       char *err, size_t cap);

/* Main. Starts the track thread for one run. Errors: SHX_ESYS, SHX_ENOMEM. */
int track_run(struct track *t, const struct track_run *run);
/* Main. Stops the thread (if running); the worker lives on until
 * track_destroy (the supervisor must be stopped before that). */
void track_stop(struct track *t);
/* Main, after track_stop. Tells the worker, if any, to end without waiting
 * for it (worker_ask_end); track_destroy then waits. */
void track_ask_end(struct track *t);

/* Disk thread (play). Reads ahead into the track's input ring; returns the
 * number of blocks read (0 when full or at the end). */
int track_prefetch(struct track *t);

/* Consumer, real-time safe. The rendered block number `index` (block_size
 * x channels floats), dropping older ones the consumer has passed; NULL
 * when it is not there (yet). Call track_release after using it. */
const float *track_block(struct track *t, int64_t index);
/* Consumer, real-time safe. Done with the block from track_block (counts
 * it late when its script's answer missed its deadline). */
void track_release(struct track *t);
/* Consumer, real-time safe. The peak of what the track added to the mix
 * (after its fader), for its meter. */
void track_note_peak(struct track *t, float peak);
/* Consumer, real-time safe. Counts a block that was not there in time. */
void track_missed(struct track *t);
/* Any thread. Blocks rendered and not yet consumed. */
uint32_t track_ready(struct track *t);
/* Any thread. Most blocks one request to its worker carries (whole script
 * calls; the same for every track of an engine). */
uint32_t track_batch_max(const struct track *t);
/* Main (play). Blocks the track renders ahead before the first callback:
 * what player_start waits for. */
uint32_t track_fill_want(const struct track *t);
/* Any thread. Blocks that came late so far (the stats' late_blocks). */
uint64_t track_late_blocks(const struct track *t);
/* Main (play). The least time in ns between the end of one of its batches
 * and its first block's deadline since the last call (negative: late),
 * INT64_MAX when it rendered none; starts over. */
int64_t track_take_margin(struct track *t);
/* Consumer, not real-time. Sleeps until `want` blocks are ready (or the
 * deadline, CLOCK_MONOTONIC). Returns 0 or SHX_ETIMEOUT; re-check after. */
int track_wait(struct track *t, uint32_t want, uint64_t deadline_ns);
/* Any thread. True when the thread asked for SCHED_FIFO and was refused. */
int track_rt_denied(const struct track *t);
/* Any thread. Records mute/solo resolved, for the meters (the mixer's
 * fader is what makes the track silent). */
void track_set_audible(struct track *t, int audible);
/* The consumer (the audio callback or the render loop), real-time safe.
 * Sends a param change to the script, for block k of the run on (a block
 * the track has not rendered yet): it reaches ctx.params and
 * on_param(key, value) just before that block. Changes come in order of
 * k. key_json and value_json are JSON text ("\"cutoff\"", "800.0").
 * Errors: SHX_EUSAGE (no script), SHX_EFULL (too many changes in flight,
 * or too long). */
int track_post_param(struct track *t, int64_t k, const char *key_json, const char *value_json);
/* Any thread. The track's file's channel count (its pan law). */
int track_source_channels(const struct track *t);
/* Any thread. The worker's pid, 0 when none. */
long track_pid(const struct track *t);

/* ---- for the supervisor (non-real-time) ---- */

/* The track's worker, NULL without a script. */
struct worker *track_worker(struct track *t);
enum track_state track_state(const struct track *t);
/* Only while the supervisor holds the worker's channel. */
void track_set_state(struct track *t, enum track_state s);
/* Counts a restart and remembers when the death was seen. */
void track_note_restart(struct track *t, uint64_t died_ns);
/* Drains the old worker's messages, then starts a new worker (holding the
 * channel). Errors: SHX_ESYS. */
int track_respawn(struct track *t, struct zygote *z, char *err, size_t cap);
/* Drains, then copies the newest error line the current worker itself
 * sent ("cannot import numpy: ..."), or "" when it sent none. */
void track_worker_error(struct track *t, char *out, size_t cap);
/* Prints a message for the track (stderr, once per distinct first line)
 * and makes its first line the track's last_error. */
void track_say(struct track *t, const char *text);
/* The script as the session names it ("scripts/drive.py"), or "". */
const char *track_script_label(const struct track *t);
/* The script's path (resolved), or NULL. */
const char *track_script_path(const struct track *t);

/* Stats thread. Prints the worker's messages (tracebacks, prints) to
 * stderr, prefixed with the track's name, and keeps the last error line. */
void track_drain(struct track *t);
/* Stats thread. Copies the counters; resets the interval peaks. */
void track_snapshot(struct track *t, struct track_snapshot *out);
/* Any thread. */
const char *track_name(const struct track *t);
const char *track_state_name(enum track_state s);

#endif
