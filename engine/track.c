/* track.c - a track's life cycle (main thread): create, start its worker
 * and its thread, stop, destroy; see track.h and track_priv.h for the
 * other sides. */
#include "track_priv.h"
#include "channel.h"
#include "errors.h"
#include "feed.h"
#include "pan.h"
#include "platform.h"
#include "ring.h"
#include "tuning.h"
#include "worker.h"
#include "zygote.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define WORKER_KILL_TRIES 100   /* x 10 ms: a worker killed while starting */

const char *track_state_name(enum track_state s)
{
    static const char *const names[] = {"direct", "starting", "running", "restarting",
                                        "error", "failed"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

const char *track_name(const struct track *t) { return t->name; }

static int create_worker(struct track *t, const struct track_config *cfg)
{
    struct worker_config wc = {
        .frames = cfg->block_size * t->sub,
        .channels = (uint32_t)cfg->channels,
        .batch = t->max_batch / t->sub,
        .load_request = cfg->load_request,
        .memory_mb = cfg->worker_memory_mb,
        .cpu = cfg->cpu,
        .nice = cfg->worker_nice,
        .rt_prio = cfg->worker_rt_prio,
        .zygote_index = cfg->worker_index,
        .name = t->name,
        .py_args = cfg->py_args,
    };
    atomic_store(&t->state, TRACK_STARTING);
    return worker_create(&wc, &t->w);
}

int track_create(const struct track_config *cfg, struct feed *feed, struct track **out)
{
    struct track *t = calloc(1, sizeof *t);
    if (!t)
        return SHX_ENOMEM;
    snprintf(t->name, sizeof t->name, "%s", cfg->name);
    t->cfg = *cfg;
    t->cfg.name = t->name;
    t->block_floats = (size_t)cfg->block_size * (size_t)cfg->channels;
    t->sub = cfg->script_blocks ? cfg->script_blocks : 1;
    /* Whole script calls, at most CHAN_MAX_BATCH of them per request. */
    t->max_batch = cfg->batch ? cfg->batch : 1;
    t->max_batch = t->max_batch < t->sub ? t->sub : t->max_batch / t->sub * t->sub;
    if (t->max_batch > CHAN_MAX_BATCH * t->sub)
        t->max_batch = CHAN_MAX_BATCH * t->sub;
    t->loop.in = calloc(t->block_floats * t->max_batch, sizeof(float));
    t->loop.src = calloc(t->max_batch, sizeof *t->loop.src);
    t->loop.pos = calloc(t->max_batch, sizeof *t->loop.pos);
    t->loop.flags = calloc(t->max_batch, sizeof *t->loop.flags);
    t->loop.faded = calloc(t->block_floats, sizeof(float));
    t->silence = calloc(t->block_floats, sizeof(float));
    t->loop.inflight = -1;
    atomic_store(&t->audible, cfg->audible);
    atomic_store(&t->state, TRACK_DIRECT);
    pthread_mutex_init(&t->rep.lock, NULL);
    atomic_store(&t->c.margin_min, INT64_MAX);
    int rc = (t->loop.in && t->loop.src && t->loop.pos && t->loop.flags && t->loop.faded
              && t->silence) ? SHX_OK : SHX_ENOMEM;
    if (rc == SHX_OK)
        rc = ring_create(cfg->ring_slots, HEAD_BYTES + t->block_floats * sizeof(float),
                         &t->ring);
    if (rc == SHX_OK && cfg->load_request)
        rc = (t->loop.payload = calloc(CHAN_CTL_BYTES, 1)) != NULL
                 ? ring_create(PARAM_SLOTS, sizeof(struct param_msg), &t->params) : SHX_ENOMEM;
    if (rc == SHX_OK && cfg->load_request)
        rc = create_worker(t, cfg);
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
    if (!t->thread_started)
        return;
    atomic_store(&t->stop, 1);
    /* The thread may be between its look at the flag and its sleep, where
     * a wake-up finds nobody: the wake-ups are repeated until it is gone.
     * So in play its wait for room needs no timeout of its own to see the
     * stop (track_loop.c's await_room), which spared a track thread two or
     * three wake-ups in each long batch. */
    while (!__atomic_load_n(&t->ended, __ATOMIC_ACQUIRE)) {
        ring_wake_all(t->ring);
        if (t->in_ring)
            ring_wake_all(t->in_ring);
        plat_wait(&t->ended, 0, plat_now_ns() + STOP_REWAKE_NS);
    }
    pthread_join(t->thread, NULL);
    t->thread_started = 0;
}

void track_ask_end(struct track *t)
{
    if (t->w)
        worker_ask_end(t->w);
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
    pthread_mutex_destroy(&t->rep.lock);
    free(t->loop.in);
    free(t->loop.src);
    free(t->loop.pos);
    free(t->loop.flags);
    free(t->loop.faded);
    free(t->loop.payload);
    ring_destroy(t->params);
    free(t->silence);
    free(t);
}

long track_pid(const struct track *t)
{
    return t->w ? worker_pid(t->w) : 0;
}

struct worker *track_worker(struct track *t)
{
    return t->w;
}

void track_ask_worker(struct track *t, struct zygote *z)
{
    if (t->w)
        worker_ask(t->w, z);
}

int track_start_worker(struct track *t, struct zygote *z, char *err, size_t cap)
{
    if (!t->w)
        return SHX_OK;
    int rc = worker_spawn(t->w, z, err, cap);
    if (rc < 0) {
        worker_claim(t->w);   /* the supervisor's to restart: see start_failed */
        atomic_store(&t->state, TRACK_FAILED);
    }
    return rc;
}

/* Main. The first line of the newest error message. */
static void first_error_line(struct track *t, char *err, size_t cap)
{
    track_drain(t);
    pthread_mutex_lock(&t->rep.lock);
    snprintf(err, cap, "%s", t->rep.last_error[0] ? t->rep.last_error : "failed without a message");
    pthread_mutex_unlock(&t->rep.lock);
}

/* Main. A worker that died, timed out or broke the channel while
 * starting: make sure it is gone and say why. The supervisor (play,
 * render) will try again; check reports it. A cold worker whose
 * python.preload failed (status: its waitpid status, -1 when not reaped
 * yet) is SHX_ESESSION: the session is what is wrong, and no restart
 * would fix it. */
static int start_failed(struct track *t, enum worker_load st, int died, int status, char *why,
                        size_t wcap, char *err, size_t cap)
{
    if (!died) {
        worker_kill(t->w);
        for (int i = 0; i < WORKER_KILL_TRIES && !(died = worker_reap(t->w, why, wcap, &status));
             i++)
            plat_sleep_ns(MS_NS(10));
    }
    worker_mark_dead(t->w);
    /* The channel is the supervisor's from here: it restarts the worker
     * and hands the channel back. Left idle, a track thread that starts
     * before the supervisor's first look would take it, find the track
     * failed and play every block per on_fault - a render would end at
     * once without waiting for the restarts. */
    worker_claim(t->w);   /* no track thread yet: it is idle, and taken */
    atomic_store(&t->state, TRACK_FAILED);
    first_error_line(t, err, cap);
    if (!strcmp(err, "failed without a message"))
        snprintf(err, cap, "worker %s while starting (%s)",
                 st == WORKER_LOAD_PENDING ? "timed out" : "died", why[0] ? why : "?");
    track_set_error(t, err);
    if (died && status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == SHX_EXIT_PRELOAD)
        return SHX_ESESSION;
    return st == WORKER_LOAD_PENDING ? SHX_ETIMEOUT : SHX_EDEAD;
}

int track_await_worker(struct track *t, uint64_t deadline_ns, volatile sig_atomic_t *stop,
                       char *err, size_t cap)
{
    if (!t->w)
        return SHX_OK;
    if (!worker_pid(t->w))
        return SHX_EDEAD;
    /* Wait in slices, looking for a worker that died while starting (a
     * crash in setup must not cost the whole start-up timeout). */
    enum worker_load st;
    char why[128] = "";
    int died = 0, status = -1;
    while ((st = worker_poll_load(t->w, plat_now_ns() + WORKER_POLL_NS)) == WORKER_LOAD_PENDING) {
        if (stop && *stop)
            return SHX_ESTOPPED;   /* the worker is ended with the engine */
        if ((died = worker_reap(t->w, why, sizeof why, &status)) != 0
            || plat_now_ns() >= deadline_ns)
            break;
    }
    if (st == WORKER_LOADED) {
        atomic_store(&t->state, TRACK_RUNNING);
        return SHX_OK;
    }
    if (st == WORKER_LOAD_RAISED) {
        atomic_fetch_add(&t->c.errors, 1);
        atomic_store(&t->state, TRACK_ERROR);
        first_error_line(t, err, cap);
        return SHX_ESCRIPT;
    }
    return start_failed(t, st, died, status, why, sizeof why, err, cap);
}

int track_run(struct track *t, const struct track_run *run)
{
    t->run = *run;
    /* Whole script calls per request: the channel's blocks are that long
     * and the script sees the same grid of calls in play and in render. */
    uint32_t batch = run->batch == 0 ? 1 : run->batch < t->max_batch ? run->batch : t->max_batch;
    t->loop.batch = batch < t->sub ? t->sub : batch / t->sub * t->sub;
    /* The wake-up stagger (track_main): a phase on the grid of batches, in
     * whole script calls, and the rest as a lag behind the render-ahead. */
    uint32_t phase = run->phase % t->loop.batch;
    t->loop.lag = phase % t->sub;
    int64_t want = (int64_t)run->ahead - t->loop.lag - t->loop.batch + 1;
    t->loop.fill_want = want < 1 ? 1 : want > run->count ? (uint32_t)run->count : (uint32_t)want;
    t->loop.render = (struct track_reader){.pos = run->tl.start, .tl = run->tl};
    t->loop.unsent = 0;
    t->loop.held = 0;
    xfade_init(&t->loop.xf, t->cfg.channels,
               (uint32_t)((uint64_t)XFADE_NS * (uint64_t)t->cfg.sample_rate / S_NS(1)));
    t->disk = (struct track_reader){.pos = run->tl.start, .tl = run->tl};
    atomic_store(&t->stop, 0);
    if (run->disk_kick && !t->in_ring) {
        /* Room for two batches at least: the track thread holds a batch's
         * slots until it is committed (track_input_take). */
        if (t->cfg.prefetch_slots == 0)
            t->cfg.prefetch_slots = 1;
        while (t->cfg.prefetch_slots < 2 * t->loop.batch)
            t->cfg.prefetch_slots *= 2;
        int rc = ring_create(t->cfg.prefetch_slots, HEAD_BYTES + t->block_floats * sizeof(float),
                             &t->in_ring);
        if (rc < 0)
            return rc;
    }
    if (t->in_ring)
        track_prefetch(t);   /* the first reads, before the thread needs them */
    __atomic_store_n(&t->ended, 0, __ATOMIC_RELAXED);
    if (plat_thread_start(&t->thread, track_main, t) < 0)
        return SHX_ESYS;
    t->thread_started = 1;
    return SHX_OK;
}

uint32_t track_fill_want(const struct track *t) { return t->loop.fill_want; }
uint32_t track_batch_max(const struct track *t) { return t->max_batch; }

uint64_t track_late_blocks(const struct track *t)
{
    return atomic_load_explicit(&((struct track *)t)->late, memory_order_relaxed);
}

int64_t track_take_margin(struct track *t)
{
    return atomic_exchange(&t->c.margin_min, INT64_MAX);
}

int track_rt_denied(const struct track *t)
{
    return atomic_load(&((struct track *)t)->c.rt_denied);
}

const char *track_script_path(const struct track *t)
{
    return t->cfg.script_path;
}

const char *track_script_label(const struct track *t)
{
    return t->cfg.script_label ? t->cfg.script_label : "";
}

int track_post_param(struct track *t, int64_t k, const char *key_json, const char *value_json)
{
    if (!t->params)
        return SHX_EUSAGE;
    size_t kl = strnlen(key_json, PARAM_KEY_JSON), vl = strnlen(value_json, PARAM_VALUE_JSON);
    if (kl == PARAM_KEY_JSON || vl == PARAM_VALUE_JSON)
        return SHX_EFULL;
    struct param_msg *m = ring_write_slot(t->params);
    if (!m)
        return SHX_EFULL;
    m->k = k;
    memcpy(m->key, key_json, kl + 1);
    memcpy(m->value, value_json, vl + 1);
    m->changed = 1;
    ring_commit(t->params);
    return SHX_OK;
}

int track_source_channels(const struct track *t)
{
    return feed_file_channels(t->feed);
}

void track_set_audible(struct track *t, int audible)
{
    atomic_store(&t->audible, audible);
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
