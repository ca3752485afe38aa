/* track_priv.h - the inside of a track, shared by its files and nothing
 * else. Each file is one side of the track, run by one kind of thread:
 *
 *   track.c         main           life cycle: create, start the worker and
 *                                  the thread, stop, destroy
 *   track_loop.c    track thread   the block loop, the hand-off to the
 *                                  worker, the fault policy (real-time)
 *   track_input.c   disk thread    reads ahead into the input ring
 *                   track thread   takes a block's dry input from it
 *   track_output.c  consumer       takes rendered blocks from the output
 *                                  ring (audio callback: real-time)
 *   track_report.c  main,          messages, last_error, snapshots
 *                   supervisor
 *
 * The fields of struct track are grouped the same way, by the one thread
 * that writes them. */
#ifndef SHX_TRACK_PRIV_H
#define SHX_TRACK_PRIV_H

#include "channel.h"
#include "pan.h"
#include "tally.h"
#include "track.h"
#include "xfade.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct feed;
struct ring;
struct worker;

#define RAISES_TO_ERROR CHAN_FAILS_TO_ERROR   /* consecutive raises: track `error` */
#define HEAD_BYTES 64           /* block header in a ring slot, keeps audio aligned */
#define HIST 128                /* hand-offs whose wake/busy times the medians cover */

/* Events the track thread raises for the drain thread to put into words;
 * the block loop never formats text. */
enum {
    EV_ERROR_STATE = 1u << 0,
};

/* What precedes the audio in every ring slot. */
struct block_head {
    int64_t index;               /* the block's number in the run */
    uint32_t late;               /* the script's answer came too late: played per on_fault */
    uint32_t flags;              /* input ring: CHAN_BLK_* for the script (info.jumped, reset) */
    int64_t pos;                 /* input ring: timeline frame of the block's first frame */
    uint32_t epoch;              /* input ring: the timeline changes it was read under */
};

/* A param change on its way to the worker: control side -> track thread. */
#define PARAM_KEY_JSON 80        /* the key as a JSON string, quotes included */
#define PARAM_VALUE_JSON 256     /* the value as JSON text */
#define PARAMS_LIVE 32           /* distinct keys a track remembers (and sends a new
                                    worker or a reloaded script) */
#define PARAM_SLOTS 256          /* changes in flight to one track */
struct param_msg {
    int64_t k;                   /* the block of the run it applies from */
    char key[PARAM_KEY_JSON];
    char value[PARAM_VALUE_JSON];
    int changed;                 /* live table: to be sent with the next request */
};

/* Where a track's file is being read: by the disk thread (play) or the
 * track thread (render), reset by main before a run (track_input.c). */
struct track_reader {
    int64_t index;               /* next block to read */
    int64_t pos;                 /* its timeline frame */
    struct timeline tl;          /* the timeline it reads on (seeks and loop changes) */
    int carry;                   /* the last block read ended on a loop wrap */
    uint32_t epoch;              /* timeline changes applied (program.h) */
    uint32_t next_change;        /* render: the next of run.changes to apply */
    uint32_t jump;               /* CHAN_BLK_* the next block gets from a change */
};

/* Track thread only (track_loop.c, and track_input.c's take side). */
struct track_loop {
    const float **src;           /* the batch's dry blocks (track_input_take): in play
                                    the input ring's slots themselves, held until the
                                    batch is done; else blocks of `in`, or silence */
    float *in;                   /* a batch of blocks: render reads its file into it;
                                    play copies held slots here when the ring must
                                    move on mid-batch (after a seek) */
    uint32_t held;               /* play: input ring slots the batch holds */
    float *faded;                /* one block: the output while a switch is smoothed */
    int64_t *pos;                /* the batch's blocks on the timeline (info.frame) */
    uint32_t *flags;             /* ... and CHAN_BLK_* for each */
    uint32_t unsent;             /* CHAN_BLK_* of blocks the script never saw: told
                                    with the next block it does see */
    struct xfade xf;             /* what was played last, for click-free switches */
    struct param_msg live[PARAMS_LIVE];   /* every param changed while running */
    uint32_t nlive;
    int resend;                  /* a new worker or script: send them all again */
    char *payload;               /* CHAN_CTL_BYTES: the params of the next request */
    uint32_t batch;              /* blocks per request in this run: a multiple of
                                    script_blocks */
    uint32_t lag;                /* play: blocks short of the render-ahead this track
                                    stops at, staggering wake-ups (< script_blocks) */
    uint32_t fill_want;          /* play: blocks it renders before the first callback */
    struct track_reader render;   /* render: the track thread reads its file itself */
    int64_t next_pos;            /* where the block after the last one taken starts */
    int raise_streak;            /* blocks that raised in a row */
    int64_t gen;                 /* the worker generation it last saw */
    int64_t inflight;            /* block of the outstanding request, -1 none */
    int held_out;                /* the last block found the supervisor holding the channel */
    uint64_t inflight_ns;        /* when it was posted */
    uint32_t prog_done;          /* blocks of it the worker said it finished */
    uint64_t prog_ns;            /* when it said so last (or posting) */
    uint64_t grace_ns;           /* past hang_timeout: more time for a starved worker */
    uint64_t probe_ns;           /* when that began (0: not past hang_timeout) */
    uint64_t probe_ran;          /* the worker's CPU time then */
};

/* Counters the track thread writes, read by the stats thread; relaxed
 * atomics are enough because each is independent. */
struct track_counters {
    struct tally tally;          /* blocks, their CPU time, the peak block (tally.h) */
    _Atomic uint64_t faulted, bad, errors;
    _Atomic uint64_t disk_late;  /* the disk thread was behind */
    _Atomic uint32_t peak_bits;  /* interval peak (peak.h); track_snapshot takes it */
    _Atomic uint32_t wake_hist[HIST], busy_hist[HIST];   /* ns, the last HIST hand-offs */
    _Atomic uint32_t hist_n;
    _Atomic unsigned events;     /* EV_*; track_drain takes them */
    _Atomic uint64_t resume_ns;  /* first good block after a restart */
    _Atomic uint64_t wet;        /* blocks the script processed and delivered */
    /* Play: the least time, in ns, between a batch's last commit and its
     * first block's deadline since the player's tuning last took it
     * (INT64_MAX: no batch). Negative when the batch was late. */
    _Atomic int64_t margin_min;
    _Atomic int rt_denied;       /* it asked for SCHED_FIFO and was refused */
};

/* Main and the supervisor (track_report.c), under the one lock: the
 * newest error, the repeat filter, and reading the worker's messages
 * (the supervisor resets the channel under it too). Never taken by a
 * real-time thread. */
struct track_report {
    pthread_mutex_t lock;
    char last_error[256];
    char worker_error[256];      /* the newest error line the worker itself sent */
    char last_printed[256];
    unsigned repeats;
    /* The medians of wake and busy times as of hist_n == med_n: taken
     * again only after a hand-off (the meters ask ~30 times a second). */
    uint32_t med_n;
    uint64_t med_wake_ns, med_busy_ns;
};

struct track {
    /* Fixed by track_create and track_run (main), read by every thread. */
    char name[64];
    struct track_config cfg;
    size_t block_floats;         /* one block: block_size x channels */
    uint32_t max_batch;          /* blocks loop.in (and the channel) can hold */
    uint32_t sub;                /* blocks per script call (script_block) */
    struct feed *feed;           /* render: the track thread's; play: the disk thread's */
    struct ring *ring;           /* rendered blocks: track thread -> consumer */
    struct ring *in_ring;        /* dry blocks: disk thread -> track thread (play), or NULL */
    struct ring *params;         /* param changes: control side -> track thread, or NULL */
    struct worker *w;            /* NULL without a script */
    float *silence;              /* one block of zeros */
    struct track_run run;

    /* Main: the thread's life. */
    pthread_t thread;
    int thread_started;
    atomic_int stop;
    uint32_t ended;              /* set (and woken: a futex word) by the thread as it
                                    returns, for track_stop */

    struct track_loop loop;      /* track thread */
    struct track_reader disk;    /* disk thread (play) */
    struct track_counters c;     /* written by the track thread */
    /* Written by the consumer, the one place that counts late blocks: a
     * block that was not there when it was due, or that the track thread
     * marked late (its script's answer missed the deadline). Counted where
     * each block is taken exactly once, so a block is never counted twice
     * (a late mark on a block that also missed the mixer). */
    _Atomic uint64_t late;
    _Atomic uint64_t restarts;   /* written by the supervisor */
    _Atomic uint64_t died_ns;    /* supervisor: when the worker's death was seen */
    atomic_int audible;          /* main: mute/solo resolved (the user's switches) */
    /* The state machine: main while starting, then the track thread (error
     * after raises, restarting when it loses the worker) and the supervisor
     * (restarting, running, error, failed), each only while it holds the
     * worker's channel (worker.h), so two never race. */
    _Atomic int state;

    struct track_report rep;     /* main and supervisor, under rep.lock */
};

static inline float *slot_audio(void *slot) { return (float *)((char *)slot + HEAD_BYTES); }
static inline struct block_head *slot_head(void *slot) { return slot; }

/* Track thread (track_loop.c). Real-time rules: docs/realtime.md. */
void *track_main(void *arg);

/* Track thread (track_input.c). Block k's dry input as block i of the
 * batch: sets loop.src[i] to its audio, loop.pos[i] to its timeline frame
 * and loop.flags[i] to what the script is told (CHAN_BLK_*). In play the
 * audio is the disk thread's slot itself, held (real-time: no copy) until
 * track_input_done; in render it is read from the file into loop.in here
 * (render has no deadline to miss). In play, a block the disk thread has
 * not read yet (just after a seek) is waited for until wait_until
 * (CLOCK_MONOTONIC), then played silent. */
void track_input_take(struct track *t, int64_t k, uint32_t i, uint64_t wait_until);
/* Track thread, real-time. The batch is done with its dry blocks: their
 * input ring slots go back to the disk thread. */
void track_input_done(struct track *t);

/* Main or supervisor (track_report.c). Makes line the track's last_error. */
void track_set_error(struct track *t, const char *line);

#endif
