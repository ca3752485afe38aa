/* track_loop.c - a track's thread: the block loop, its hand-off to the
 * worker in batches and its fault policy; see track.h. Everything here
 * runs on the track thread under the real-time rules of docs/realtime.md
 * (no locks, no allocation, no I/O; the only waits are the bounded wait
 * for the worker and the wait for room in the ring). */
#include "track_priv.h"
#include "channel.h"
#include "errors.h"
#include "feed.h"
#include "pan.h"
#include "platform.h"
#include "ring.h"
#include "samples.h"
#include "worker.h"

#include <string.h>

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
            break;   /* the worker ran none of the blocks after this one */
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
            uint64_t bad = samples_sanitize(t->wet, t->block_floats);
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

void *track_main(void *arg)
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
