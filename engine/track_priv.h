/* track_priv.h - the inside of a track, shared by track.c (life cycle,
 * consumer side, reporting) and track_loop.c (the track thread's block
 * loop, real-time). Nothing else includes it. */
#ifndef SHX_TRACK_PRIV_H
#define SHX_TRACK_PRIV_H

#include "channel.h"
#include "pan.h"
#include "track.h"

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

/* Why a track thread gives its worker up (the supervisor explains it). */
enum lost { LOST_DEAD, LOST_HUNG, LOST_CORRUPT };

/* What precedes the audio in every ring slot. */
struct block_head {
    int64_t index;               /* the block's number in the run */
};

struct track {
    char name[64];
    struct track_config cfg;
    struct pan_gains gains;
    struct feed *feed;
    struct ring *ring;           /* rendered blocks, to the mixer */
    struct ring *in_ring;        /* dry blocks from the disk thread (play), or NULL */
    struct worker *w;            /* NULL without a script */
    float *in;                   /* a batch of dry blocks from the file */
    uint32_t max_batch;          /* blocks t->in (and the channel) can hold */
    uint32_t batch;              /* track thread: blocks per request in this run */
    float *wet;                  /* block from the worker */
    float *silence;
    size_t block_floats;

    pthread_t thread;
    int thread_started;
    atomic_int stop;
    struct track_run run;
    int64_t render_pos;          /* track thread: timeline frame of the next block (render) */
    int raise_streak;            /* track thread only */
    int64_t gen;                 /* track thread: the worker generation it last saw */
    int64_t inflight;            /* track thread: block of the outstanding request, -1 none */
    uint64_t inflight_ns;        /* when it was posted */
    int64_t prefetch_index;      /* disk thread: next block to read ahead */
    int64_t prefetch_pos;        /* disk thread: its timeline frame */
    uint32_t *disk_kick;         /* disk thread's wake-up word, or NULL */

    /* Counters: each written by one thread only (the track thread, or the
     * consumer for `underruns`), read by the stats thread; relaxed atomics
     * are enough because each is independent. */
    _Atomic int state;
    _Atomic uint64_t blocks, cpu_ns, late, faulted, bad, restarts, errors;
    _Atomic uint64_t underruns;  /* consumer: the block was not there in time */
    _Atomic uint64_t disk_late;  /* track thread: the disk thread was behind */
    _Atomic uint32_t peak_bits;  /* float bits of the interval peak; stats resets */
    _Atomic uint64_t block_cpu_peak;
    _Atomic uint32_t wake_hist[HIST], busy_hist[HIST];   /* ns, the last HIST hand-offs */
    _Atomic uint32_t hist_n;
    atomic_int audible;          /* mute/solo resolved; changed by the user at run time */
    _Atomic unsigned events;
    _Atomic uint64_t died_ns;    /* supervisor: when the worker's death was seen */
    _Atomic uint64_t resume_ns;  /* track thread: first good block after a restart */
    _Atomic int rt_denied;       /* the thread asked for SCHED_FIFO and was refused */

    /* Owned by the drain thread. */
    pthread_mutex_t err_lock;    /* last_error; never taken by the track thread */
    pthread_mutex_t chan_lock;   /* reading messages vs resetting the channel */
    pthread_mutex_t report_lock; /* report(): the drain thread and the supervisor */
    char last_error[256];
    char last_printed[256];
    unsigned repeats;
};

static inline float *slot_audio(void *slot) { return (float *)((char *)slot + HEAD_BYTES); }
static inline struct block_head *slot_head(void *slot) { return slot; }

/* The track thread (track_loop.c). Real-time rules: docs/realtime.md. */
void *track_main(void *arg);

#endif
