/* track.c - a track's life cycle (create, start its worker and thread,
 * stop), the consumer's side of its ring and the reporting side (messages,
 * errors, snapshots); see track.h. The track thread's block loop is in
 * track_loop.c. */
#include "track_priv.h"
#include "channel.h"
#include "errors.h"
#include "feed.h"
#include "pan.h"
#include "platform.h"
#include "ring.h"
#include "worker.h"
#include "zygote.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *track_state_name(enum track_state s)
{
    static const char *const names[] = {"direct", "starting", "running", "restarting",
                                        "error", "failed"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

const char *track_name(const struct track *t) { return t->name; }


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
