/* track_loop.c - a track's thread: the block loop, its hand-off to the
 * worker in batches and its fault policy; see track.h and track_priv.h.
 *
 * Everything here runs on the track thread under the real-time rules of
 * docs/realtime.md: no locks, no allocation, no logging; the only waits are
 * the bounded wait for the worker and the wait for room in the ring. The
 * one exception is stated where it happens: in render (no deadline, no
 * device) the dry input is read from the file on this thread
 * (track_input.c); in play the disk thread reads it. */
#include "track_priv.h"
#include "channel.h"
#include "errors.h"
#include "pan.h"
#include "peak.h"
#include "platform.h"
#include "ring.h"
#include "samples.h"
#include "tuning.h"
#include "worker.h"

#include <string.h>

/* What one hand-off to the worker came to. */
enum handoff {
    HANDOFF_DELIVERED,    /* the answer is in: the reply says which blocks succeeded */
    HANDOFF_PENDING,      /* every block of the batch went out late; the request
                             stays outstanding (its answer will be discarded) */
    HANDOFF_LOST,         /* the worker died or wrote garbage: the supervisor's now */
    HANDOFF_HUNG,         /* no answer within hang_timeout: killed, the supervisor's now */
};

/* Why a block plays per on_fault instead of the script's output. */
enum fault {
    FAULT_DOWN,           /* the script cannot run it: no worker, error state, raised */
    FAULT_LATE,           /* its time came before the worker's answer */
};

/* The batch being rendered: blocks k..k+n-1, committed in order. With a
 * script_block longer than the block, each script call covers t->sub
 * blocks: a request's channel block j is blocks j*sub..j*sub+sub-1 of it,
 * and a call that fails or comes late follows on_fault for all of them. */
struct batch {
    int64_t k;
    uint32_t n;
    uint32_t next;        /* the first block not committed yet (0..n) */
    uint32_t sent;        /* blocks before this one were handed to the worker */
    uint64_t worker_cpu;  /* ns: the worker's process() time for it */
};

static void take_params(struct track *t, int64_t upto);

/* Dry input of block i of the current batch (track_input_take). */
static const float *dry(const struct track *t, uint32_t i) { return t->loop.src[i]; }

/* What a scripted track's block came from, for xfade: its on_fault
 * signal, or the output of the worker generation that processed it (a
 * restart or a reload is a switch too). */
#define SOURCE_FAULT 0
static int64_t source_wet(const struct track *t) { return t->loop.gen + 1; }

/* The ring's next slot, as block k, marked late when its script's answer
 * missed the deadline (the consumer counts it): the caller fills its audio
 * and publishes it. The caller made sure there is room. */
static float *slot_begin(struct track *t, int64_t k, int late)
{
    void *slot = ring_write_slot(t->ring);
    slot_head(slot)->index = k;
    slot_head(slot)->late = (uint32_t)late;
    return slot_audio(slot);
}

/* Hands the filled slot to the mixer, pre-fader (the mixer applies gain,
 * pan, mute and solo when it plays the block). A scripted track's switch
 * of source is smoothed first (xfade.h), in place. */
static void slot_publish(struct track *t, float *out, int64_t source)
{
    if (t->w) {
        const float *x = xfade_block(&t->loop.xf, source, out, t->loop.faded, t->cfg.block_size);
        if (x != out)
            memcpy(out, x, t->block_floats * sizeof(float));
    }
    ring_commit(t->ring);
}

/* Commits src to the mixer's ring as block k. */
static void commit(struct track *t, int64_t k, const float *src, int late, int64_t source)
{
    float *out = slot_begin(t, k, late);
    memcpy(out, src, t->block_floats * sizeof(float));
    slot_publish(t, out, source);
}

/* The one decision point for what a track plays while its script cannot
 * deliver: the block's dry input (bypass) or silence (mute). Commits the
 * batch's next block that way, and the rest of its script call (a call is
 * the script's output or on_fault as a whole), and counts them. */
static void commit_fault(struct track *t, struct batch *b, enum fault why)
{
    uint32_t end = (b->next / t->sub + 1) * t->sub;
    if (end > b->n)
        end = b->n;
    do {
        atomic_fetch_add_explicit(&t->c.faulted, 1, memory_order_relaxed);
        /* A jump the script never saw is told with the next block it sees. */
        if (b->next >= b->sent)
            t->loop.unsent |= t->loop.flags[b->next];
        const float *src = t->cfg.on_fault == ON_FAULT_BYPASS ? dry(t, b->next) : t->silence;
        commit(t, b->k + b->next, src, why == FAULT_LATE, SOURCE_FAULT);
        b->next++;
    } while (b->next < end);
}

/* Commits the batch's next block from the worker's output: the request
 * began at the batch's block `first`. */
static void commit_wet(struct track *t, struct batch *b, uint32_t first)
{
    uint32_t rel = b->next - first;
    const float *src = chan_block(worker_chan(t->w), rel / t->sub)
                       + (size_t)(rel % t->sub) * t->block_floats;
    /* Copied once, straight into the ring (the engine's own memory, where
     * the worker cannot change it after the check), then checked there. */
    float *out = slot_begin(t, b->k + b->next, 0);
    memcpy(out, src, t->block_floats * sizeof(float));
    uint64_t bad = samples_sanitize(out, t->block_floats);
    if (bad)
        atomic_fetch_add_explicit(&t->c.bad, bad, memory_order_relaxed);
    /* After a restart: the new worker's first processed block is here. (In
     * play the listener hears no gap beyond the blocks that were due while
     * it was away: the blocks rendered ahead before the crash still play.) */
    if (!atomic_load_explicit(&t->c.resume_ns, memory_order_relaxed))
        atomic_store_explicit(&t->c.resume_ns, plat_now_ns(), memory_order_relaxed);
    slot_publish(t, out, source_wet(t));
    atomic_fetch_add_explicit(&t->c.wet, 1, memory_order_relaxed);
    b->next++;
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

/* Play: the batch's next block is due already. */
static int next_is_due(const struct track *t, const struct batch *b)
{
    return t->run.clock && plat_now_ns() >= due(t, b->k + b->next);
}

/* The blocks of the outstanding request that the worker finished before it
 * died or hung are in the channel: they play as the script made them (the
 * block it was on, and those after, per on_fault). So a batch loses only
 * the block that failed, as a request of one block would. */
static void salvage(struct track *t, struct batch *b)
{
    uint32_t done;
    uint64_t mask;
    int64_t first = t->loop.inflight - b->k;   /* the request's first block in b */
    if (t->loop.inflight < 0 || first < 0 || b->next < first
        || !chan_progress(worker_chan(t->w), &done, &mask))
        return;
    while (b->next < b->n && (b->next - first) / t->sub < done) {
        uint32_t j = (uint32_t)(b->next - first) / t->sub;   /* the script call */
        if (mask >> j & 1u) {
            commit_wet(t, b, (uint32_t)first);
        } else {
            atomic_fetch_add_explicit(&t->c.errors, 1, memory_order_relaxed);
            commit_fault(t, b, FAULT_DOWN);
        }
    }
}

/* The worker is dead, hung or wrote garbage: keep what it finished (unless
 * it scribbled), kill it (one kill(2)) and give the channel to the
 * supervisor, which reaps and restarts it. */
static enum handoff worker_lost(struct track *t, struct batch *b, enum handoff how, int corrupt)
{
    if (!corrupt)
        salvage(t, b);
    if (how == HANDOFF_HUNG || corrupt)
        worker_set_kill_reason(t->w, how == HANDOFF_HUNG ? "hang" : "corrupt channel");
    worker_kill(t->w);
    atomic_store(&t->state, TRACK_RESTARTING);
    t->loop.inflight = -1;
    worker_put(t->w, WORKER_PUT_LOST);
    return how;
}

static void note_times(struct track *t, const struct chan_reply *r)
{
    uint64_t busy = r->busy_ns / (r->count ? r->count : 1);   /* per block */
    uint32_t i = atomic_load_explicit(&t->c.hist_n, memory_order_relaxed);
    atomic_store_explicit(&t->c.wake_hist[i % HIST],
                          r->wake_ns > UINT32_MAX ? UINT32_MAX : (uint32_t)r->wake_ns,
                          memory_order_relaxed);
    atomic_store_explicit(&t->c.busy_hist[i % HIST],
                          busy > UINT32_MAX ? UINT32_MAX : (uint32_t)busy, memory_order_relaxed);
    atomic_store_explicit(&t->c.hist_n, i + 1, memory_order_release);
}

/* Each block that failed is an error; RAISES_TO_ERROR in a row, counted
 * block by block across requests, put the track in `error`. */
static void count_raises(struct track *t, const struct chan_reply *r)
{
    for (uint32_t i = 0; i < r->count; i++) {
        if (r->ok_mask >> i & 1u) {
            t->loop.raise_streak = 0;
            continue;
        }
        atomic_fetch_add_explicit(&t->c.errors, 1, memory_order_relaxed);
        if (++t->loop.raise_streak == RAISES_TO_ERROR) {
            atomic_store(&t->state, TRACK_ERROR);
            atomic_fetch_or(&t->c.events, EV_ERROR_STATE);
            break;   /* the worker ran none of the blocks after this one */
        }
    }
}

/* When the worker last showed progress on the outstanding request: its
 * posting, or its last finished block. hang_timeout runs from there, so
 * each block of a batch has its own, as a request of one block would. */
static uint64_t hang_clock(struct track *t)
{
    uint32_t done;
    uint64_t mask;
    if (chan_progress(worker_chan(t->w), &done, &mask) && done > t->loop.prog_done) {
        t->loop.prog_done = done;
        t->loop.prog_ns = plat_now_ns();
        t->loop.grace_ns = t->loop.probe_ns = 0;
    }
    return t->loop.prog_ns;
}

/* Past hang_timeout without progress: hung, or only starved? On a machine
 * with more work than CPUs (hundreds of workers starting at once, or a
 * VM's stall) a healthy worker can wait that long for a CPU, and killing
 * it would only add restarts to the overload - every worker at once, in
 * the worst case. So it is watched for another quarter of hang_timeout (a
 * probe): if it is not runnable at the start or the end of the probe
 * (asleep, blocked), or it ran for the probe's length without finishing a
 * block (a loop), it is hung; if it was runnable and hardly ran, it was
 * waiting for a CPU and gets another probe, up to HANG_STARVED_MAX_NS in
 * all. Two procfs reads per probe, only past hang_timeout. */
static int starved(struct track *t)
{
    uint64_t ran, now = plat_now_ns();
    int runnable;
    if (plat_process_sched(worker_pid(t->w), &ran, &runnable) < 0 || !runnable)
        return 0;
    uint64_t probe = t->cfg.hang_ns / 4 > HANG_PROBE_MIN_NS ? t->cfg.hang_ns / 4 : HANG_PROBE_MIN_NS;
    if (t->loop.probe_ns == 0) {
        t->loop.probe_ns = now;
        t->loop.probe_ran = ran;
        t->loop.grace_ns = probe;
        return 1;
    }
    if (ran - t->loop.probe_ran >= probe || t->loop.grace_ns >= HANG_STARVED_MAX_NS)
        return 0;
    t->loop.grace_ns += probe;
    return 1;
}

/* Waits for the answer to the outstanding request. In play each block of
 * the batch whose time comes first is committed late (a later answer is
 * then useless for it) and the wait goes on for the next one, until all
 * are gone (PENDING). Past hang_timeout the worker is killed (HUNG). */
static enum handoff await_answer(struct track *t, struct batch *b, struct chan_reply *r)
{
    for (;;) {
        uint64_t t0 = plat_now_ns();
        uint64_t deadline = hang_clock(t) + t->cfg.hang_ns + t->loop.grace_ns;
        if (t->run.clock) {
            uint64_t d = due(t, b->k + b->next);
            deadline = d < deadline ? d : deadline;
        }
        /* In slices, so that track_stop is noticed within STOP_POLL_NS even
         * while a slow script has a long hang_timeout (render). */
        if (deadline > t0 + STOP_POLL_NS)
            deadline = t0 + STOP_POLL_NS;
        int rc = chan_wait_reply(worker_chan(t->w), deadline, r);
        if (rc == SHX_OK) {
            t->loop.inflight = -1;
            b->worker_cpu += r->cpu_ns;
            note_times(t, r);
            count_raises(t, r);
            return HANDOFF_DELIVERED;
        }
        if (rc != SHX_ETIMEOUT)
            return worker_lost(t, b, HANDOFF_LOST, rc == SHX_ECORRUPT);
        uint64_t since = hang_clock(t);   /* before reading the time: it may move on */
        if (plat_now_ns() - since >= t->cfg.hang_ns + t->loop.grace_ns && !starved(t))
            return worker_lost(t, b, HANDOFF_HUNG, 0);
        if (atomic_load(&t->stop))
            return HANDOFF_PENDING;   /* the run is over: nobody needs the rest */
        if (!next_is_due(t, b))
            continue;   /* woken before its time: wait again */
        commit_fault(t, b, FAULT_LATE);
        if (b->next == b->n)
            return HANDOFF_PENDING;
    }
}

/* Takes the channel for the batch's next block. While the supervisor
 * holds it (restarting, reloading) the block waits: in play until it is
 * due - so a quick restart costs no block at all and audio resumes as soon
 * as the new worker is there, rather than after a ring full of dry blocks -
 * and in render until it comes back, so that the output never depends on
 * how fast the restart was. Returns 0 when the track thread holds it. */
static int take_channel(struct track *t, struct batch *b)
{
    int64_t gen = worker_take(t->w);
    uint64_t until = t->run.clock ? due(t, b->k + b->next) : plat_now_ns() + RENDER_CHANNEL_WAIT_NS;
    /* Before the first callback (play's prefill) nothing is due, and a
     * worker that is still starting must not hold the session's start: its
     * blocks play per on_fault at once. And once a block has waited in vain
     * (a restart or a reload that takes longer than a block), the blocks
     * after it do not wait again: each would be committed just before it is
     * due, with no slack left for the track thread to be late by. */
    if (t->run.clock && (t->loop.held_out || atomic_load_explicit(&t->run.clock->at_ns,
                                                                  memory_order_relaxed)
                                                 == TRACK_CLOCK_IDLE))
        until = 0;
    /* In slices, so that track_stop is noticed within STOP_POLL_NS. */
    while (gen < 0 && !atomic_load(&t->stop) && plat_now_ns() < until) {
        uint64_t slice = plat_now_ns() + STOP_POLL_NS;
        worker_wait_back(t->w, slice < until ? slice : until);
        gen = worker_take(t->w);
    }
    t->loop.held_out = gen < 0;
    if (gen < 0)
        return -1;
    if (gen != t->loop.gen) {   /* the supervisor reset the channel: a new worker or script */
        t->loop.gen = gen;
        t->loop.inflight = -1;
        t->loop.raise_streak = 0;
        t->loop.resend = 1;   /* a new worker, or a reloaded script: all the live params */
        atomic_store_explicit(&t->c.resume_ns, 0, memory_order_relaxed);
    }
    return 0;
}

/* Takes the param changes due by block `upto` into the live table. */
static void take_params(struct track *t, int64_t upto)
{
    struct param_msg *m;
    while ((m = ring_read_slot(t->params)) != NULL && m->k <= upto) {
        uint32_t i = 0;
        while (i < t->loop.nlive && strcmp(t->loop.live[i].key, m->key) != 0)
            i++;
        if (i == t->loop.nlive && t->loop.nlive < PARAMS_LIVE)
            t->loop.nlive++;
        if (i == PARAMS_LIVE)   /* the table is full: it replaces the newest */
            i = PARAMS_LIVE - 1;
        t->loop.live[i] = *m;
        t->loop.live[i].changed = 1;
        ring_release(t->params);
    }
}

static size_t put(char *dst, size_t at, const char *s)
{
    size_t n = strlen(s);
    memcpy(dst + at, s, n);
    return at + n;
}

/* The params the next request carries: what changed since the last one,
 * or all of them for a new worker or script, as [[key, value], ...].
 * Returns its length, 0 when there is nothing to send. Fits: PARAMS_LIVE
 * entries of at most PARAM_KEY_JSON + PARAM_VALUE_JSON + 4 bytes. */
static size_t params_payload(struct track *t, int64_t first)
{
    take_params(t, first);
    size_t at = 0;
    char *p = t->loop.payload;
    for (uint32_t i = 0; i < t->loop.nlive; i++) {
        struct param_msg *m = &t->loop.live[i];
        if (!m->changed && !t->loop.resend)
            continue;
        at = put(p, at, at ? ",[" : "[[");
        at = put(p, at, m->key);
        at = put(p, at, ",");
        at = put(p, at, m->value);
        at = put(p, at, "]");
        m->changed = 0;
    }
    t->loop.resend = 0;
    if (at)
        at = put(p, at, "]");
    p[at] = '\0';
    return at;
}

/* Posts the batch's blocks from b->next on (where a script call starts)
 * to the worker in one request and waits for the answer; commits what it
 * delivers. A call is told where its first block is and every jump (seek,
 * loop wrap) inside it; the run's last call is padded with zeros. */
static enum handoff hand_off(struct track *t, struct batch *b)
{
    struct chan *ch = worker_chan(t->w);
    uint32_t first = b->next, m = b->n - b->next, sub = t->sub;
    uint32_t calls = (m + sub - 1) / sub;
    for (uint32_t j = 0; j < calls; j++) {
        uint32_t i0 = first + j * sub, have = m - j * sub < sub ? m - j * sub : sub;
        float *dst = chan_block(ch, j);
        for (uint32_t i = 0; i < have; i++)
            memcpy(dst + (size_t)i * t->block_floats, dry(t, i0 + i),
                   t->block_floats * sizeof(float));
        if (have < sub)
            memset(dst + have * t->block_floats, 0,
                   (sub - have) * t->block_floats * sizeof(float));
        uint32_t flags = j == 0 ? t->loop.unsent : 0;
        for (uint32_t i = 0; i < have; i++)
            flags |= t->loop.flags[i0 + i];
        chan_set_info(ch, j, t->loop.pos[i0], flags);
    }
    t->loop.unsent = 0;
    b->sent = b->n;
    t->loop.inflight_ns = t->loop.prog_ns = plat_now_ns();
    t->loop.prog_done = 0;
    t->loop.grace_ns = t->loop.probe_ns = 0;
    chan_request_blocks_ctl(ch, calls, t->loop.payload, params_payload(t, b->k + first));
    t->loop.inflight = b->k + first;
    struct chan_reply r;
    enum handoff h = await_answer(t, b, &r);
    if (h != HANDOFF_DELIVERED)
        return h;
    /* Blocks committed late while waiting are skipped; the rest are the
     * worker's output where it succeeded, else per on_fault. */
    while (b->next < b->n) {
        if (r.ok_mask >> ((b->next - first) / sub) & 1u)
            commit_wet(t, b, first);
        else
            commit_fault(t, b, FAULT_DOWN);
    }
    return h;
}

/* Runs the script on the batch and commits each block: one request for the
 * whole batch, each block played per on_fault when its own time came
 * before the answer or when the script failed on it. A late answer is
 * discarded (the worker's buffers are its own until it comes; the
 * request's block numbers tell which blocks it was for). */
static void run_script(struct track *t, struct batch *b)
{
    while (b->next < b->n) {
        if (take_channel(t, b) < 0) {
            commit_fault(t, b, FAULT_DOWN);
            continue;
        }
        if (atomic_load_explicit(&t->state, memory_order_relaxed) != TRACK_RUNNING) {
            worker_put(t->w, WORKER_PUT_IDLE);
            commit_fault(t, b, FAULT_DOWN);
            continue;
        }
        enum handoff h;
        if (t->loop.inflight >= 0) {   /* still busy with an earlier, late batch */
            struct chan_reply r;
            h = await_answer(t, b, &r);   /* if delivered, useless: take the channel again */
        } else {
            while (b->next < b->n && next_is_due(t, b))
                commit_fault(t, b, FAULT_LATE);
            h = b->next < b->n ? hand_off(t, b) : HANDOFF_DELIVERED;
        }
        if (h == HANDOFF_DELIVERED) {
            worker_put(t->w, WORKER_PUT_IDLE);
        } else if (h == HANDOFF_PENDING) {
            worker_put(t->w, WORKER_PUT_INFLIGHT);
            return;
        } else if (b->next < b->n) {   /* lost or hung: the supervisor has the channel */
            commit_fault(t, b, h == HANDOFF_HUNG ? FAULT_LATE : FAULT_DOWN);
        }
    }
}

/* Play: how close the batch came to its deadline, for the player's
 * tuning of the render-ahead (a running minimum it takes and resets). */
static void note_margin(struct track *t, int64_t margin)
{
    int64_t cur = atomic_load_explicit(&t->c.margin_min, memory_order_relaxed);
    while (margin < cur && !atomic_compare_exchange_weak_explicit(
                               &t->c.margin_min, &cur, margin, memory_order_relaxed,
                               memory_order_relaxed))
        ;
}

/* Renders and commits blocks k..k+n-1. The engine's own share is the
 * track thread's CPU time (two system calls a batch): wall time minus the
 * waits also counted the time the thread was preempted or waited for the
 * disk thread, and on a busy machine read a 40 % script as 82 % (a CI
 * run). The worker's share is its thread CPU time around process(). */
static void render_batch(struct track *t, int64_t k, uint32_t n)
{
    struct batch b = {.k = k, .n = n};
    uint64_t c0 = plat_thread_cpu_ns();
    uint64_t t0 = plat_now_ns();
    for (uint32_t i = 0; i < n; i++) {
        /* After a seek, the disk thread may still be reading: wait for it
         * while there is time left to run the script (half the slack). */
        uint64_t d = t->run.clock ? due(t, k + i) : 0;
        uint64_t until = d > t0 ? t0 + (d - t0) / 2 : 0;
        if (until > t0 + DISK_WAIT_MAX_NS)
            until = t0 + DISK_WAIT_MAX_NS;
        track_input_take(t, k + i, i, until);
        if (t->loop.pos[i] < 0)   /* not read in time: where it would have been */
            t->loop.pos[i] = t->loop.next_pos;
        t->loop.next_pos = t->loop.pos[i] + t->cfg.block_size;
    }
    if (t->w) {
        take_params(t, k);   /* due now, whether or not the worker can take them */
        run_script(t, &b);
    }
    else
        for (; b.next < n; b.next++)
            commit(t, k + b.next, dry(t, b.next), 0, SOURCE_FAULT);
    track_input_done(t);
    uint64_t t1 = plat_now_ns();
    if (t->run.clock)
        note_margin(t, (int64_t)(due(t, k) - t1));
    uint64_t cost = plat_thread_cpu_ns() - c0 + b.worker_cpu;
    tally_add(&t->c.tally, n, cost);
}

/* Stays at most `ahead` blocks in front of the mixer: when n more blocks
 * do not fit, sleeps until they do (and at least `refill` slots are free,
 * so that a thread rendering single blocks does not wake for each one).
 * The mixer's release wakes it (ring.h); the timeout is only a second
 * look: in play it falls about STOP_POLL_NS after the mixer, taking a
 * block a period, should have made the room (in render, which has no
 * clock, STOP_POLL_NS from now). A fixed 100 ms woke a thread waiting out
 * a 341 ms batch three times for nothing, each time preempting a worker
 * (performance.md). A stop does not wait for the timeout: track_stop
 * repeats its wake-up until the thread has ended. */
static void await_room(struct track *t, uint32_t n, uint32_t ahead, uint32_t refill)
{
    uint32_t fill = ring_fill(t->ring);
    if (fill + n <= ahead)
        return;
    uint32_t want = n > refill ? n : refill;
    while ((fill = ring_fill(t->ring)) + want > ahead && !atomic_load(&t->stop)) {
        uint64_t wait = STOP_POLL_NS;
        if (t->run.clock)
            wait += (uint64_t)(fill + want - ahead) * t->run.clock->period_ns;
        ring_wait_space(t->ring, t->cfg.ring_slots - ahead + want, plat_now_ns() + wait);
    }
}

void *track_main(void *arg)
{
    struct track *t = arg;
    plat_thread_name(t->name);
    if (t->cfg.cpu >= 0)
        plat_pin_thread(t->cfg.cpu);
    if (t->run.rt_priority > 0 && plat_realtime_thread(t->run.rt_priority) < 0)
        atomic_store(&t->c.rt_denied, 1);
    uint32_t slots = t->cfg.ring_slots, sub = t->sub;
    uint32_t batch = t->loop.batch;
    /* Batches start at blocks k = -phase (mod batch): each track is woken
     * in its own period of the batch cycle, so the workers' batches arrive
     * spread out rather than all in one period - a burst that would make
     * the last of them late - and, since the grid is tied to block numbers,
     * tracks that all fell behind together (a stall) do not fall back into
     * step. Batches are whole script calls, on the same grid in play and
     * render, so with a script_block longer than the block the phase moves
     * in whole calls and the rest of the stagger is a lag: the track stops
     * that many blocks short of the render-ahead (the player leaves room
     * for it). Every track keeps at least ahead - batch - lag blocks of
     * slack. */
    uint64_t phase = (t->run.phase % batch) / sub * sub;
    for (int64_t k = 0; k < t->run.count && !atomic_load(&t->stop);) {
        /* The run's last batch may be cut short, but it waits for the room
         * of a whole one: a short batch would fit sooner, so every track's
         * last request would come at once, out of its place in the stagger,
         * and the burst made the batch of a track with the least slack
         * late (one call of a track at the end of a 40 s run, in about
         * every third run, at 62 one-pole tracks: performance.md). */
        uint32_t span = batch - (uint32_t)(((uint64_t)k + phase) % batch), n = span;
        if ((int64_t)n > t->run.count - k)
            n = (uint32_t)(t->run.count - k);
        /* The render-ahead may change while playing (the player's tuning). */
        uint32_t ahead = t->run.clock ? atomic_load_explicit(&t->run.clock->ahead,
                                                             memory_order_relaxed)
                                      : t->run.ahead;
        ahead = ahead && ahead < slots ? ahead : slots;
        ahead = ahead > batch + t->loop.lag ? ahead - t->loop.lag : batch;
        uint32_t refill = t->cfg.refill < ahead ? t->cfg.refill : ahead;
        await_room(t, span, ahead, refill);
        if (atomic_load(&t->stop))
            break;
        /* A param change due inside the batch ends it at the script call it
         * falls in: the script takes it just before that call, in play as
         * in render. */
        struct param_msg *pm = t->params ? ring_read_slot(t->params) : NULL;
        if (pm && pm->k > k && pm->k < k + (int64_t)n) {
            uint32_t upto = (uint32_t)((pm->k - k + sub - 1) / sub * sub);
            n = upto < n ? upto : n;
        }
        if (t->run.clock) {
            /* Fell behind the mixer (a stall): blocks it has passed are
             * useless, go straight to the first script call it still needs
             * all of (the mixer finds the blocks before it missing). */
            int64_t next = atomic_load_explicit(&t->run.clock->next, memory_order_acquire);
            if (k < next) {
                k = (next + sub - 1) / sub * sub;
                continue;
            }
        }
        render_batch(t, k, n);
        k += n;
    }
    /* For track_stop, which wakes this thread's waits until it sees this
     * (past the loop: not on the real-time path). */
    __atomic_store_n(&t->ended, 1, __ATOMIC_RELEASE);
    plat_wake(&t->ended);
    return NULL;
}
