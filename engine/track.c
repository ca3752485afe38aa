/* track.c - a track's thread, its worker hand-off and its fault policy;
 * see track.h. Real-time rules: docs/realtime.md. */
#include "track.h"
#include "channel.h"
#include "errors.h"
#include "feed.h"
#include "pan.h"
#include "platform.h"
#include "proc.h"
#include "ring.h"
#include "worker.h"
#include "zygote.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RAISES_TO_ERROR 10      /* consecutive raises before the track is `error` */
#define HEAD_BYTES 64           /* block header in a ring slot, keeps audio aligned */
#define PREFETCH_NS 2000000000ull  /* audio the disk thread reads ahead (play) */
#define HIST 128                /* blocks whose wake/busy times the medians cover */

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
    _Atomic uint32_t wake_hist[HIST], busy_hist[HIST];   /* ns, the last HIST blocks */
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

const char *track_state_name(enum track_state s)
{
    static const char *const names[] = {"direct", "starting", "running", "restarting",
                                        "error", "failed"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

const char *track_name(const struct track *t) { return t->name; }

static float *slot_audio(void *slot) { return (float *)((char *)slot + HEAD_BYTES); }
static struct block_head *slot_head(void *slot) { return slot; }

int track_create(const struct track_config *cfg, struct feed *feed, struct track **out)
{
    struct track *t = calloc(1, sizeof *t);
    if (!t)
        return SHX_ENOMEM;
    snprintf(t->name, sizeof t->name, "%s", cfg->name);
    t->cfg = *cfg;
    t->cfg.name = t->name;
    t->gains = pan_law(cfg->gain_db, cfg->pan, feed_file_channels(feed), cfg->channels);
    t->block_floats = (size_t)cfg->block_size * (size_t)cfg->channels;
    t->max_batch = cfg->batch ? cfg->batch : 1;
    t->in = calloc(t->block_floats * t->max_batch, sizeof(float));
    t->wet = calloc(t->block_floats, sizeof(float));
    t->silence = calloc(t->block_floats, sizeof(float));
    t->inflight = -1;
    atomic_store(&t->audible, cfg->audible);
    pthread_mutex_init(&t->err_lock, NULL);
    pthread_mutex_init(&t->chan_lock, NULL);
    pthread_mutex_init(&t->report_lock, NULL);
    int rc = (t->in && t->wet && t->silence) ? SHX_OK : SHX_ENOMEM;
    if (rc == SHX_OK)
        rc = ring_create(cfg->ring_slots, HEAD_BYTES + t->block_floats * sizeof(float),
                         &t->ring);
    if (rc == SHX_OK && cfg->load_request) {
        struct worker_config wc = {
            .frames = cfg->block_size,
            .channels = (uint32_t)cfg->channels,
            .batch = t->max_batch,
            .load_request = cfg->load_request,
            .memory_mb = cfg->worker_memory_mb,
            .cpu = cfg->cpu,
            .nice = cfg->worker_nice,
            .rt_prio = cfg->worker_rt_prio,
            .zygote_index = cfg->worker_index,
        };
        rc = worker_create(&wc, &t->w);
        atomic_store(&t->state, TRACK_STARTING);
    } else {
        atomic_store(&t->state, TRACK_DIRECT);
    }
    if (rc < 0) {
        track_destroy(t);   /* the caller keeps feed on failure */
        return rc;
    }
    t->feed = feed;
    *out = t;
    return SHX_OK;
}

void track_stop(struct track *t)
{
    if (t->thread_started) {
        atomic_store(&t->stop, 1);
        ring_wake_all(t->ring);
        if (t->in_ring)
            ring_wake_all(t->in_ring);
        pthread_join(t->thread, NULL);
        t->thread_started = 0;
    }
}

void track_destroy(struct track *t)
{
    if (!t)
        return;
    track_stop(t);
    track_drain(t);
    worker_destroy(t->w);
    ring_destroy(t->ring);
    ring_destroy(t->in_ring);
    feed_destroy(t->feed);
    pthread_mutex_destroy(&t->err_lock);
    pthread_mutex_destroy(&t->chan_lock);
    pthread_mutex_destroy(&t->report_lock);
    free(t->in);
    free(t->wet);
    free(t->silence);
    free(t);
}

int track_chan_fd(const struct track *t)
{
    return t->w ? chan_fd(worker_chan(t->w)) : -1;
}

long track_pid(const struct track *t)
{
    return t->w ? worker_pid(t->w) : 0;
}

struct worker *track_worker(struct track *t)
{
    return t->w;
}

int track_start_worker(struct track *t, struct zygote *z, char *err, size_t cap)
{
    if (!t->w)
        return SHX_OK;
    int rc = worker_spawn(t->w, z, err, cap);
    if (rc < 0)
        atomic_store(&t->state, TRACK_FAILED);
    return rc;
}

/* Main. The first line of the newest error message. */
static void first_error_line(struct track *t, char *err, size_t cap)
{
    track_drain(t);
    pthread_mutex_lock(&t->err_lock);
    snprintf(err, cap, "%s", t->last_error[0] ? t->last_error : "failed without a message");
    pthread_mutex_unlock(&t->err_lock);
}

static void set_error(struct track *t, const char *line);

int track_await_worker(struct track *t, uint64_t deadline_ns, char *err, size_t cap)
{
    if (!t->w)
        return SHX_OK;
    if (!worker_pid(t->w))
        return SHX_EDEAD;
    /* Wait in slices, looking for a worker that died while starting (a
     * crash in setup must not cost the whole start-up timeout). */
    enum worker_load st;
    char why[128] = "";
    int died = 0;
    while ((st = worker_poll_load(t->w, plat_now_ns() + 50000000u)) == WORKER_LOAD_PENDING) {
        if ((died = worker_reap(t->w, why, sizeof why, NULL)) != 0 || plat_now_ns() >= deadline_ns)
            break;
    }
    if (st == WORKER_LOADED) {
        atomic_store(&t->state, TRACK_RUNNING);
        return SHX_OK;
    }
    if (st == WORKER_LOAD_RAISED) {
        atomic_fetch_add(&t->errors, 1);
        atomic_store(&t->state, TRACK_ERROR);
        first_error_line(t, err, cap);
        return SHX_ESCRIPT;
    }
    /* Died, timed out or broke the channel while starting. The supervisor
     * (play, render) will try again; check reports it. */
    if (!died) {
        worker_kill(t->w);
        for (int i = 0; i < 100 && !(died = worker_reap(t->w, why, sizeof why, NULL)); i++)
            nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    worker_mark_dead(t->w);
    atomic_store(&t->state, TRACK_FAILED);
    first_error_line(t, err, cap);
    if (!strcmp(err, "failed without a message"))
        snprintf(err, cap, "worker %s while starting (%s)",
                 st == WORKER_LOAD_PENDING ? "timed out" : "died", why[0] ? why : "?");
    set_error(t, err);
    return st == WORKER_LOAD_PENDING ? SHX_ETIMEOUT : SHX_EDEAD;
}

/* ---- the block loop (track thread, real-time rules) ---- */

/* Replaces non-finite samples with 0; returns how many there were. The
 * first pass only looks (exponent bits all ones = Inf or NaN) and
 * vectorises; the second runs only for a block that has some. */
static uint64_t sanitize(float *buf, size_t n)
{
    const uint32_t *bits = (const uint32_t *)buf;
    uint32_t any = 0;
    for (size_t i = 0; i < n; i++)
        any |= (bits[i] & 0x7f800000u) == 0x7f800000u;
    if (!any)
        return 0;
    uint64_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(buf[i])) {
            buf[i] = 0.0f;
            bad++;
        }
    return bad;
}

/* The one decision point for what a track plays while its script cannot
 * deliver: the block's dry input (bypass) or silence (mute). */
static const float *on_fault(struct track *t, const float *dry)
{
    atomic_fetch_add_explicit(&t->faulted, 1, memory_order_relaxed);
    return t->cfg.on_fault == ON_FAULT_BYPASS ? dry : t->silence;
}

static const float *late(struct track *t, const float *dry)
{
    atomic_fetch_add_explicit(&t->late, 1, memory_order_relaxed);
    return on_fault(t, dry);
}

/* Dry input of block i of the current batch. */
static float *dry(struct track *t, uint32_t i) { return t->in + (size_t)i * t->block_floats; }

/* The worker is dead, hung or wrote garbage: kill it (one kill(2)) and
 * give the channel to the supervisor, which reaps and restarts it. */
static void worker_lost(struct track *t, enum lost why)
{
    if (why != LOST_DEAD)
        worker_set_kill_reason(t->w, why == LOST_HUNG ? "hang" : "corrupt channel");
    worker_kill(t->w);
    atomic_store(&t->state, TRACK_RESTARTING);
    t->inflight = -1;
    worker_put(t->w, WORKER_PUT_LOST);
}

/* When block k must be committed to reach the mixer in time: play only. A
 * quarter block of margin covers committing and the callback's jitter. */
static uint64_t due(const struct track *t, int64_t k)
{
    const struct track_clock *c = t->run.clock;
    int64_t next = atomic_load_explicit(&c->next, memory_order_acquire);
    uint64_t at = atomic_load_explicit(&c->at_ns, memory_order_relaxed);
    int64_t ahead = k - next + 1;
    uint64_t when = at + (uint64_t)(ahead > 0 ? ahead : 0) * c->period_ns;
    return when - c->period_ns / 4;
}

static void note_times(struct track *t, const struct chan_reply *r)
{
    uint64_t busy = r->busy_ns / (r->count ? r->count : 1);   /* per block */
    uint32_t i = atomic_load_explicit(&t->hist_n, memory_order_relaxed);
    atomic_store_explicit(&t->wake_hist[i % HIST],
                          r->wake_ns > UINT32_MAX ? UINT32_MAX : (uint32_t)r->wake_ns,
                          memory_order_relaxed);
    atomic_store_explicit(&t->busy_hist[i % HIST],
                          busy > UINT32_MAX ? UINT32_MAX : (uint32_t)busy, memory_order_relaxed);
    atomic_store_explicit(&t->hist_n, i + 1, memory_order_release);
}

/* Takes the worker's answer to the outstanding request (waiting until
 * deadline). Returns 1 with *r filled, 0 if it is not there (yet), -1 if
 * the worker is gone, -2 if it hung: past hang_timeout it is killed here. */
static int take_answer(struct track *t, uint64_t deadline, struct chan_reply *r, uint64_t *cpu)
{
    int rc = chan_wait_reply(worker_chan(t->w), deadline, r);
    if (rc == SHX_ETIMEOUT) {
        if (plat_now_ns() - t->inflight_ns >= t->cfg.hang_ns) {
            worker_lost(t, LOST_HUNG);
            return -2;
        }
        return 0;
    }
    t->inflight = -1;
    if (rc < 0) {
        worker_lost(t, rc == SHX_ECORRUPT ? LOST_CORRUPT : LOST_DEAD);
        return -1;
    }
    *cpu += r->cpu_ns;
    note_times(t, r);
    /* Each block that failed is an error; RAISES_TO_ERROR in a row, counted
     * block by block across requests, put the track in `error`. */
    for (uint32_t i = 0; i < r->count; i++) {
        if (r->ok_mask >> i & 1u) {
            t->raise_streak = 0;
            continue;
        }
        atomic_fetch_add_explicit(&t->errors, 1, memory_order_relaxed);
        if (++t->raise_streak == RAISES_TO_ERROR) {
            atomic_store(&t->state, TRACK_ERROR);
            atomic_fetch_or(&t->events, EV_ERROR_STATE);
        }
    }
    return 1;
}

/* Takes the channel for block k. While the supervisor holds it
 * (restarting, reloading) the block waits: in play until it is due - so a
 * quick restart costs no block at all and audio resumes as soon as the new
 * worker is there, rather than after a ring full of dry blocks - and in
 * render until it comes back, so that the output never depends on how fast
 * the restart was. Returns 0 when the track thread holds the channel. */
static int take_channel(struct track *t, int64_t k)
{
    int64_t gen = worker_take(t->w);
    uint64_t until = t->run.clock ? due(t, k) : plat_now_ns() + 60000000000ull;
    /* In slices, so that track_stop is noticed within 0.1 s. */
    while (gen < 0 && !atomic_load(&t->stop) && plat_now_ns() < until) {
        uint64_t slice = plat_now_ns() + 100000000u;
        worker_wait_back(t->w, slice < until ? slice : until);
        gen = worker_take(t->w);
    }
    if (gen < 0)
        return -1;
    if (gen != t->gen) {   /* the supervisor reset the channel: a new worker or script */
        t->gen = gen;
        t->inflight = -1;
        t->raise_streak = 0;
        atomic_store_explicit(&t->resume_ns, 0, memory_order_relaxed);
    }
    return 0;
}

static void update_peak(struct track *t, float peak)
{
    uint32_t bits;
    memcpy(&bits, &peak, sizeof bits);   /* positive floats order like integers */
    uint32_t cur = atomic_load_explicit(&t->peak_bits, memory_order_relaxed);
    while (bits > cur && !atomic_compare_exchange_weak_explicit(
                             &t->peak_bits, &cur, bits, memory_order_relaxed,
                             memory_order_relaxed))
        ;
}

/* Applies gain, pan and mute to src and commits it to the mixer's ring as
 * block k. The caller made sure there is room. */
static void commit(struct track *t, int64_t k, const float *src)
{
    void *slot = ring_write_slot(t->ring);
    float *out = slot_audio(slot);
    slot_head(slot)->index = k;
    float peak = 0.0f;
    if (atomic_load_explicit(&t->audible, memory_order_relaxed))
        peak = pan_apply(src, out, t->cfg.block_size, t->cfg.channels, t->gains);
    else
        memset(out, 0, t->block_floats * sizeof(float));
    update_peak(t, peak);
    ring_commit(t->ring);
}

/* Waits for the answer to the outstanding request. In play each block of
 * the batch from *i on whose time comes first is committed late (a later
 * answer is then useless for it) and the wait goes on for the next one,
 * until all n are gone. Returns take_answer's result: 1 answered, 0 all
 * blocks late and the request still outstanding, -1 lost, -2 hung. */
static int await_answer(struct track *t, int64_t k, uint32_t n, uint32_t *i,
                        struct chan_reply *r, uint64_t *cpu, uint64_t *waited)
{
    for (;;) {
        uint64_t t0 = plat_now_ns();
        uint64_t deadline = t->inflight_ns + t->cfg.hang_ns;
        if (t->run.clock) {
            uint64_t d = due(t, k + *i);
            deadline = d < deadline ? d : deadline;
        }
        int got = take_answer(t, deadline, r, cpu);
        *waited += plat_now_ns() - t0;
        if (got != 0)
            return got;
        if (!t->run.clock || plat_now_ns() < due(t, k + *i))
            continue;   /* woken before its time: wait again */
        commit(t, k + *i, late(t, dry(t, *i)));
        if (++*i == n)
            return 0;
    }
}

/* Runs the script on the n dry blocks k..k+n-1 (t->in) and commits each:
 * one request for the whole batch, each block played per on_fault when its
 * own time came before the answer or when the script failed on it. Adds
 * the worker's CPU time to *cpu and the time spent waiting to *waited. A
 * late answer is discarded (the worker's buffers are its own until it
 * comes; the request's block numbers tell which blocks it was for). */
static void run_script(struct track *t, int64_t k, uint32_t n, uint64_t *cpu, uint64_t *waited)
{
    struct chan *ch = worker_chan(t->w);
    uint32_t i = 0;
    while (i < n) {
        if (take_channel(t, k + i) < 0) {
            commit(t, k + i, on_fault(t, dry(t, i)));
            i++;
            continue;
        }
        if (atomic_load_explicit(&t->state, memory_order_relaxed) != TRACK_RUNNING) {
            worker_put(t->w, WORKER_PUT_IDLE);
            commit(t, k + i, on_fault(t, dry(t, i)));
            i++;
            continue;
        }
        struct chan_reply r;
        int got;
        if (t->inflight >= 0) {
            /* Still busy with an earlier batch that was late. */
            got = await_answer(t, k, n, &i, &r, cpu, waited);
            if (got == 0) {
                worker_put(t->w, WORKER_PUT_INFLIGHT);
                return;
            }
            if (got < 0) {   /* the supervisor has the channel now */
                commit(t, k + i, got == -2 ? late(t, dry(t, i)) : on_fault(t, dry(t, i)));
                i++;
                continue;
            }
            worker_put(t->w, WORKER_PUT_IDLE);
            continue;        /* its answer is useless: take the channel again */
        }
        while (i < n && t->run.clock && plat_now_ns() >= due(t, k + i)) {
            commit(t, k + i, late(t, dry(t, i)));
            i++;
        }
        if (i == n) {
            worker_put(t->w, WORKER_PUT_IDLE);
            return;
        }
        uint32_t first = i, m = n - i;
        for (uint32_t j = 0; j < m; j++)
            memcpy(chan_block(ch, j), dry(t, first + j), t->block_floats * sizeof(float));
        t->inflight_ns = plat_now_ns();
        chan_request_blocks(ch, m);
        t->inflight = k + first;
        got = await_answer(t, k, n, &i, &r, cpu, waited);
        if (got == 0) {      /* every block late: the request stays outstanding */
            worker_put(t->w, WORKER_PUT_INFLIGHT);
            return;
        }
        if (got < 0) {
            commit(t, k + i, got == -2 ? late(t, dry(t, i)) : on_fault(t, dry(t, i)));
            i++;
            continue;
        }
        for (; i < n; i++) {
            uint32_t j = i - first;
            if (!(r.ok_mask >> j & 1u)) {
                commit(t, k + i, on_fault(t, dry(t, i)));
                continue;
            }
            memcpy(t->wet, chan_block(ch, j), t->block_floats * sizeof(float));
            uint64_t bad = sanitize(t->wet, t->block_floats);
            if (bad)
                atomic_fetch_add_explicit(&t->bad, bad, memory_order_relaxed);
            /* After a restart: the new worker's first processed block is
             * here. (In play the listener hears no gap beyond the blocks
             * that were due while it was away: the blocks rendered ahead
             * before the crash still play.) */
            if (!atomic_load_explicit(&t->resume_ns, memory_order_relaxed))
                atomic_store_explicit(&t->resume_ns, plat_now_ns(), memory_order_relaxed);
            commit(t, k + i, t->wet);
        }
        worker_put(t->w, WORKER_PUT_IDLE);
    }
}

/* Fills dst with block k's dry input: read inline (render) or taken from
 * what the disk thread prefetched (play). */
static void get_input(struct track *t, int64_t k, float *dst)
{
    if (!t->in_ring) {
        t->render_pos = feed_read(t->feed, &t->run.tl, t->render_pos, dst);
        return;
    }
    void *s;
    while ((s = ring_read_slot(t->in_ring)) != NULL && slot_head(s)->index < k)
        ring_release(t->in_ring);                       /* skipped blocks */
    if (s && slot_head(s)->index == k) {
        memcpy(dst, slot_audio(s), t->block_floats * sizeof(float));
        ring_release(t->in_ring);
    } else {
        memset(dst, 0, t->block_floats * sizeof(float));
        atomic_fetch_add_explicit(&t->disk_late, 1, memory_order_relaxed);
    }
    /* Crossing below half full: tell the disk thread (one FUTEX_WAKE per
     * half ring; it also looks on its own every few tens of ms). */
    if (t->disk_kick && ring_fill(t->in_ring) == t->cfg.prefetch_slots / 2 - 1) {
        __atomic_fetch_add(t->disk_kick, 1, __ATOMIC_RELEASE);
        plat_wake(t->disk_kick);
    }
}

/* Renders and commits blocks k..k+n-1. The engine's own share is timed on
 * CLOCK_MONOTONIC (a vDSO read, no system call) minus the time spent
 * waiting for the worker; the worker's share is its thread CPU time around
 * process(). */
static void render_batch(struct track *t, int64_t k, uint32_t n)
{
    uint64_t t0 = plat_now_ns(), worker_cpu = 0, waited = 0;
    for (uint32_t i = 0; i < n; i++)
        get_input(t, k + i, dry(t, i));
    if (t->w)
        run_script(t, k, n, &worker_cpu, &waited);
    else
        for (uint32_t i = 0; i < n; i++)
            commit(t, k + i, dry(t, i));
    uint64_t cost = plat_now_ns() - t0 - waited + worker_cpu;
    atomic_fetch_add_explicit(&t->cpu_ns, cost, memory_order_relaxed);
    if (cost / n > atomic_load_explicit(&t->block_cpu_peak, memory_order_relaxed))
        atomic_store_explicit(&t->block_cpu_peak, cost / n, memory_order_relaxed);
    atomic_fetch_add_explicit(&t->blocks, n, memory_order_relaxed);
}

static void *track_main(void *arg)
{
    struct track *t = arg;
    plat_thread_name(t->name);
    if (t->cfg.cpu >= 0)
        plat_pin_thread(t->cfg.cpu);
    if (t->run.rt_priority > 0 && plat_realtime_thread(t->run.rt_priority) < 0)
        atomic_store(&t->rt_denied, 1);
    uint32_t slots = t->cfg.ring_slots;
    uint32_t ahead = t->run.ahead && t->run.ahead < slots ? t->run.ahead : slots;
    uint32_t batch = t->batch < ahead ? t->batch : ahead;
    uint32_t refill = t->cfg.refill < ahead ? t->cfg.refill : ahead;
    /* Batches start at blocks k = -phase (mod batch): each track is woken
     * in its own period of the batch cycle, so the workers' batches arrive
     * spread out rather than all in one period - a burst that would make
     * the last of them late - and, since the grid is tied to block numbers,
     * tracks that all fell behind together (a stall) do not fall back into
     * step. Every track keeps at least ahead - batch blocks of slack. */
    uint64_t phase = t->run.phase % batch;
    for (int64_t k = 0; k < t->run.count && !atomic_load(&t->stop);) {
        uint32_t n = batch - (uint32_t)(((uint64_t)k + phase) % batch);
        if ((int64_t)n > t->run.count - k)
            n = (uint32_t)(t->run.count - k);
        /* Stay at most `ahead` blocks in front of the mixer: when the batch
         * does not fit, sleep until it does (and at least `refill` slots
         * are free, so that a thread rendering single blocks does not wake
         * for each one). */
        if (ring_fill(t->ring) + n > ahead) {
            uint32_t want = n > refill ? n : refill;
            while (ring_fill(t->ring) + want > ahead && !atomic_load(&t->stop))
                ring_wait_space(t->ring, slots - ahead + want, 0);
        }
        if (atomic_load(&t->stop))
            break;
        if (t->run.clock) {
            /* Fell behind the mixer (a stall): blocks it has passed are
             * useless, go straight to the first one it still needs. */
            int64_t next = atomic_load_explicit(&t->run.clock->next, memory_order_acquire);
            if (k < next) {
                k = next;
                continue;
            }
        }
        render_batch(t, k, n);
        k += n;
    }
    return NULL;
}

int track_run(struct track *t, const struct track_run *run)
{
    t->run = *run;
    t->batch = run->batch == 0 ? 1 : run->batch < t->max_batch ? run->batch : t->max_batch;
    t->render_pos = run->tl.start;
    t->prefetch_index = 0;
    t->prefetch_pos = run->tl.start;
    t->disk_kick = run->disk_kick;
    atomic_store(&t->stop, 0);
    if (run->disk_kick && !t->in_ring) {
        int rc = ring_create(t->cfg.prefetch_slots, HEAD_BYTES + t->block_floats * sizeof(float),
                             &t->in_ring);
        if (rc < 0)
            return rc;
    }
    if (t->in_ring)
        track_prefetch(t);   /* the first reads, before the thread needs them */
    if (plat_thread_start(&t->thread, track_main, t) < 0)
        return SHX_ESYS;
    t->thread_started = 1;
    return SHX_OK;
}

int track_prefetch(struct track *t)
{
    int n = 0;
    void *s;
    while (t->prefetch_index < t->run.count && (s = ring_write_slot(t->in_ring)) != NULL) {
        slot_head(s)->index = t->prefetch_index;
        t->prefetch_pos = feed_read(t->feed, &t->run.tl, t->prefetch_pos, slot_audio(s));
        ring_commit(t->in_ring);
        t->prefetch_index++;
        n++;
    }
    return n;
}

const float *track_block(struct track *t, int64_t index)
{
    void *s;
    while ((s = ring_read_slot(t->ring)) != NULL && slot_head(s)->index < index)
        ring_release(t->ring);          /* rendered too late: the mixer has moved on */
    if (s && slot_head(s)->index == index)
        return slot_audio(s);
    return NULL;
}

void track_release(struct track *t) { ring_release(t->ring); }

void track_missed(struct track *t)
{
    atomic_fetch_add_explicit(&t->underruns, 1, memory_order_relaxed);
}

int track_wait(struct track *t, uint32_t want, uint64_t deadline_ns)
{
    return ring_wait_data(t->ring, want, deadline_ns);
}

int track_rt_denied(const struct track *t)
{
    return atomic_load(&t->rt_denied);
}

uint32_t track_ready(struct track *t)
{
    return ring_fill(t->ring);
}

/* ---- the drain side (non-real-time) ---- */

static void set_error(struct track *t, const char *line)
{
    pthread_mutex_lock(&t->err_lock);
    snprintf(t->last_error, sizeof t->last_error, "%s", line);
    pthread_mutex_unlock(&t->err_lock);
}

/* Prints an error message once; identical repeats are only counted, so a
 * script that raises on every block does not flood the terminal. */
static void report_locked(struct track *t, const char *text)
{
    char first[256];
    size_t n = strcspn(text, "\n");
    snprintf(first, sizeof first, "%.*s", (int)n, text);
    set_error(t, first);
    if (!strcmp(first, t->last_printed)) {
        t->repeats++;
        return;
    }
    if (t->repeats)
        fprintf(stderr, "shmix: %s: (previous error repeated %u more times)\n", t->name,
                t->repeats);
    t->repeats = 0;
    snprintf(t->last_printed, sizeof t->last_printed, "%s", first);
    fprintf(stderr, "shmix: %s: %s\n", t->name, first);
    const char *rest = text + n;
    if (*rest == '\n' && rest[1])
        fprintf(stderr, "%s%s", rest + 1, rest[strlen(rest) - 1] == '\n' ? "" : "\n");
}

static void report(struct track *t, const char *text)
{
    pthread_mutex_lock(&t->report_lock);
    report_locked(t, text);
    pthread_mutex_unlock(&t->report_lock);
}

void track_drain(struct track *t)
{
    unsigned ev = atomic_exchange(&t->events, 0);
    if (!t->w)
        return;
    char text[CHAN_MSG_TEXT + 1];
    uint32_t type;
    int rc;
    pthread_mutex_lock(&t->chan_lock);   /* the supervisor resets channels under it */
    while ((rc = chan_read_msg(worker_chan(t->w), &type, text, sizeof text)) != SHX_EEMPTY) {
        if (rc == SHX_ECORRUPT)
            report(t, "worker wrote garbage into its message area");
        else if (type == CHAN_MSG_ERROR)
            report(t, text);
        else
            fprintf(stderr, "[%s] %s\n", t->name, text);
    }
    pthread_mutex_unlock(&t->chan_lock);
    if (ev & EV_ERROR_STATE)
        fprintf(stderr, "shmix: %s: %d errors in a row; the track plays per on_fault "
                "until its script changes\n", t->name, RAISES_TO_ERROR);
}

void track_say(struct track *t, const char *text)
{
    report(t, text);
}

enum track_state track_state(const struct track *t)
{
    return (enum track_state)atomic_load(&((struct track *)t)->state);
}

void track_set_state(struct track *t, enum track_state s)
{
    atomic_store(&t->state, s);
}

void track_note_restart(struct track *t, uint64_t died_ns)
{
    atomic_fetch_add(&t->restarts, 1);
    atomic_store(&t->died_ns, died_ns);
}

int track_respawn(struct track *t, struct zygote *z, char *err, size_t cap)
{
    track_drain(t);                     /* the old worker's last words first */
    pthread_mutex_lock(&t->chan_lock);
    int rc = worker_spawn(t->w, z, err, cap);
    pthread_mutex_unlock(&t->chan_lock);
    return rc;
}

const char *track_script_path(const struct track *t)
{
    return t->cfg.script_path;
}

const char *track_script_label(const struct track *t)
{
    return t->cfg.script_label ? t->cfg.script_label : "";
}

void track_set_audible(struct track *t, int audible)
{
    atomic_store(&t->audible, audible);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static uint32_t median(uint32_t *v, uint32_t n)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof *v, cmp_u32);
    return v[n / 2];
}

void track_snapshot(struct track *t, struct track_snapshot *o)
{
    o->state = (enum track_state)atomic_load(&t->state);
    o->pid = track_pid(t);
    o->blocks = atomic_load_explicit(&t->blocks, memory_order_relaxed);
    o->cpu_ns = atomic_load_explicit(&t->cpu_ns, memory_order_relaxed);
    o->late_blocks = atomic_load_explicit(&t->late, memory_order_relaxed)
                     + atomic_load_explicit(&t->underruns, memory_order_relaxed);
    o->disk_late = atomic_load_explicit(&t->disk_late, memory_order_relaxed);
    o->faulted_blocks = atomic_load_explicit(&t->faulted, memory_order_relaxed);
    o->bad_samples = atomic_load_explicit(&t->bad, memory_order_relaxed);
    o->restarts = atomic_load_explicit(&t->restarts, memory_order_relaxed);
    o->errors = atomic_load_explicit(&t->errors, memory_order_relaxed);
    uint32_t bits = atomic_exchange_explicit(&t->peak_bits, 0, memory_order_relaxed);
    memcpy(&o->peak, &bits, sizeof o->peak);
    o->block_cpu_peak_ns = atomic_exchange_explicit(&t->block_cpu_peak, 0,
                                                    memory_order_relaxed);
    uint32_t n = atomic_load_explicit(&t->hist_n, memory_order_acquire);
    uint32_t w[HIST], b[HIST], m = n < HIST ? n : HIST;
    for (uint32_t i = 0; i < m; i++) {
        w[i] = atomic_load_explicit(&t->wake_hist[i], memory_order_relaxed);
        b[i] = atomic_load_explicit(&t->busy_hist[i], memory_order_relaxed);
    }
    o->wake_ns = median(w, m);
    o->busy_ns = median(b, m);
    o->audible = atomic_load(&t->audible);
    uint64_t died = atomic_load(&t->died_ns), resumed = atomic_load(&t->resume_ns);
    o->restart_ns = died && resumed > died ? resumed - died : 0;
    pthread_mutex_lock(&t->err_lock);
    snprintf(o->last_error, sizeof o->last_error, "%s", t->last_error);
    pthread_mutex_unlock(&t->err_lock);
}
