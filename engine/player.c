/* player.c - the real-time mixer and transport; see player.h.
 * Real-time rules: docs/realtime.md. */
#include "player.h"
#include "disk.h"
#include "engine.h"
#include "errors.h"
#include "mixer.h"
#include "platform.h"
#include "meter.h"
#include "peak.h"
#include "timeline.h"
#include "track.h"
#include "tuning.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct player {
    struct engine *e;
    int n, channels, rate;
    uint32_t block;
    struct track *const *tracks;   /* the engine's */
    struct disk *disk;
    struct track_clock clock;
    struct timeline tl;
    int64_t count;             /* blocks in the run */
    uint32_t ahead;
    int realtime;
    volatile sig_atomic_t *stop;   /* set by a signal, or NULL */
    float master;

    /* Callback state (real-time thread only). */
    float *mix;                /* the current mixed block */
    uint32_t mix_off;          /* frames of it already delivered */
    int64_t left;              /* frames of the run still to deliver (INT64_MAX: no end) */
    int64_t pos;               /* timeline frame of the next block */
    float fade;                /* gain of the stop fade, 1 = none */
    float fade_step;           /* per frame */

    /* Shared with other threads. */
    atomic_int stop_requested;
    atomic_int paused;
    atomic_int finished;
    _Atomic int64_t position;  /* timeline frame of the block being played */
    _Atomic uint64_t xruns;
    _Atomic uint64_t clips;
    _Atomic uint32_t peak_bits;
    _Atomic uint64_t mix_ns;   /* the callback's own time, total */
    int started;
};

/* The run's place on the timeline: where it starts, the loop region. */
static int set_timeline(struct player *p, struct engine *e, const struct player_options *o,
                        char *err, size_t cap)
{
    int64_t length = engine_length(e);
    p->tl.start = (int64_t)llround(o->start * p->rate);
    if (p->tl.start >= length && !o->loop) {
        snprintf(err, cap, "play: --start %g is past the end of the session (%.3f s)", o->start,
                 (double)length / p->rate);
        return SHX_EUSAGE;
    }
    if (!o->loop)
        return SHX_OK;
    double ls, le;
    p->tl.looping = 1;
    if (engine_loop(e, &ls, &le)) {
        p->tl.loop_start = (int64_t)llround(ls * p->rate);
        p->tl.loop_end = (int64_t)llround(le * p->rate);
    } else {   /* no loop region: loop the whole session, as a DAW would */
        p->tl.loop_start = 0;
        p->tl.loop_end = length;
    }
    if (p->tl.loop_end - p->tl.loop_start < (int64_t)p->block) {
        snprintf(err, cap, "play: the loop region is shorter than one block (%u frames)",
                 p->block);
        return SHX_EUSAGE;
    }
    return SHX_OK;
}

/* How many blocks the run plays, and how many are rendered ahead. */
static void size_run(struct player *p, struct engine *e, const struct player_options *o)
{
    if (o->duration >= 0)
        p->left = (int64_t)llround(o->duration * p->rate);
    else if (o->loop)
        p->left = INT64_MAX;
    else
        p->left = engine_length(e) - p->tl.start;
    p->count = p->left == INT64_MAX ? INT64_MAX : (p->left + p->block - 1) / p->block;
    p->clock.period_ns = (uint64_t)p->block * NS_PER_S / (uint64_t)p->rate;
    p->ahead = o->ahead;
    if (!p->ahead)
        p->ahead = (uint32_t)((AHEAD_DEFAULT_NS + p->clock.period_ns - 1) / p->clock.period_ns);
    p->ahead = p->ahead < AHEAD_MIN_BLOCKS ? AHEAD_MIN_BLOCKS
             : p->ahead > AHEAD_MAX_BLOCKS ? AHEAD_MAX_BLOCKS : p->ahead;
}

int player_create(struct engine *e, const struct player_options *o, struct player **out,
                  char *err, size_t cap)
{
    struct player *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, cap, "out of memory");
        return SHX_ENOMEM;
    }
    p->e = e;
    p->n = engine_ntracks(e);
    p->tracks = engine_tracks(e);
    p->channels = engine_channels(e);
    p->rate = engine_sample_rate(e);
    p->block = engine_block_size(e);
    p->master = (float)engine_master_gain(e);
    p->realtime = o->realtime;
    p->stop = o->stop;
    int rc = set_timeline(p, e, o, err, cap);
    if (rc < 0) {
        free(p);
        return rc;
    }
    size_run(p, e, o);
    /* Nothing is due before the first callback. */
    atomic_store(&p->clock.at_ns, TRACK_CLOCK_IDLE);
    p->fade = 1.0f;
    p->fade_step = 1.0f / (float)((uint64_t)p->rate * STOP_FADE_NS / NS_PER_S + 1);
    p->mix = calloc((size_t)p->block * (size_t)p->channels, sizeof(float));
    p->mix_off = p->block;   /* nothing delivered yet: mix the first block on demand */
    p->pos = p->tl.start;
    atomic_store(&p->position, p->tl.start);
    if (!p->mix) {
        player_destroy(p);
        snprintf(err, cap, "out of memory");
        return SHX_ENOMEM;
    }
    *out = p;
    return SHX_OK;
}

void player_destroy(struct player *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n; i++)
        track_stop(p->tracks[i]);
    disk_destroy(p->disk);
    free(p->mix);
    free(p);
}

int player_start(struct player *p, char *err, size_t cap)
{
    int rc = disk_create(p->tracks, p->n, &p->disk);
    struct track_run run = {
        .tl = p->tl,
        .count = p->count,
        .clock = &p->clock,
        .ahead = p->ahead,
        /* Half the render-ahead per wake-up: a track thread sleeps until
         * that many blocks were played, then renders them with one request
         * to its worker, so the context switches of a hand-off (and the
         * cold caches of a process that just woke) are paid once per batch;
         * the other half is always left as slack for the worker to be late
         * by (docs/realtime.md). */
        .batch = p->ahead / 2,
        .disk_kick = p->disk ? disk_kick(p->disk) : NULL,
        .rt_priority = p->realtime ? PRIO_TRACK : 0,
    };
    for (int i = 0; i < p->n && rc == SHX_OK; i++) {
        run.phase = (uint32_t)i % run.batch;
        rc = track_run(p->tracks[i], &run);
    }
    if (rc == SHX_OK)
        rc = disk_start(p->disk);
    if (rc < 0) {
        snprintf(err, cap, "cannot start the track threads: %s", shx_strerror(rc));
        return rc;
    }
    /* Let every track render ahead before the device asks for anything. */
    uint64_t deadline = plat_now_ns() + PREFILL_TIMEOUT_NS;
    uint32_t want = p->count < (int64_t)(p->ahead - run.batch + 1)
                    ? (uint32_t)p->count : p->ahead - run.batch + 1;
    for (int i = 0; i < p->n; i++)
        while (track_ready(p->tracks[i]) < want && plat_now_ns() < deadline) {
            if (p->stop && *p->stop)
                return SHX_ESTOPPED;
            track_wait(p->tracks[i], want, plat_now_ns() + STOP_POLL_NS);
        }
    p->started = 1;
    return SHX_OK;
}

/* Real-time. The stop fade over the block in p->mix; finishes the run at
 * its end. */
static void fade_out(struct player *p)
{
    for (uint32_t f = 0; f < p->block; f++) {
        for (int c = 0; c < p->channels; c++)
            p->mix[f * p->channels + c] *= p->fade;
        p->fade = p->fade > p->fade_step ? p->fade - p->fade_step : 0.0f;
    }
    if (p->fade == 0.0f)
        atomic_store(&p->finished, 1);
}

/* Real-time. Mixes the next block into p->mix; 0 when the run is over. */
static int mix_next(struct player *p)
{
    int64_t k = atomic_load_explicit(&p->clock.next, memory_order_relaxed);
    if (k >= p->count || atomic_load_explicit(&p->finished, memory_order_relaxed))
        return 0;
    uint64_t t0 = plat_now_ns(), clips = 0;
    float peak = mixer_mix(p->tracks, p->n, k, p->mix, (size_t)p->block * (size_t)p->channels,
                           p->master, &clips);
    if (atomic_load_explicit(&p->stop_requested, memory_order_relaxed))
        fade_out(p);
    if (clips)
        atomic_fetch_add_explicit(&p->clips, clips, memory_order_relaxed);
    peak_raise(&p->peak_bits, peak);
    atomic_store_explicit(&p->position, p->pos, memory_order_relaxed);
    p->pos = timeline_advance(&p->tl, p->pos, p->block);
    /* Publish the clock: at_ns first, then next with release, so a track
     * thread that sees the new `next` also sees its time. */
    atomic_store_explicit(&p->clock.at_ns, t0, memory_order_relaxed);
    atomic_store_explicit(&p->clock.next, k + 1, memory_order_release);
    if (k + 1 >= p->count)
        atomic_store(&p->finished, 1);
    atomic_fetch_add_explicit(&p->mix_ns, plat_now_ns() - t0, memory_order_relaxed);
    return 1;
}

void player_pause(struct player *p, int paused)
{
    atomic_store(&p->paused, paused);
}

int player_paused(const struct player *p)
{
    return atomic_load(&p->paused);
}

uint32_t player_process(struct player *p, float *out, uint32_t frames, int underflow)
{
    if (underflow)
        atomic_fetch_add_explicit(&p->xruns, 1, memory_order_relaxed);
    /* Paused: silence, and no block is taken, so the transport and every
     * track's clock stand still (the stop fade still runs). */
    if (atomic_load_explicit(&p->paused, memory_order_relaxed)
        && !atomic_load_explicit(&p->stop_requested, memory_order_relaxed)) {
        memset(out, 0, sizeof(float) * frames * (size_t)p->channels);
        return atomic_load_explicit(&p->finished, memory_order_relaxed) ? 0 : frames;
    }
    uint32_t done = 0;
    int ch = p->channels;
    while (done < frames && p->left > 0) {
        if (p->mix_off == p->block) {
            if (!mix_next(p))
                break;
            p->mix_off = 0;
        }
        uint32_t take = p->block - p->mix_off;
        if (take > frames - done)
            take = frames - done;
        if (take > p->left)
            take = (uint32_t)p->left;
        memcpy(out + (size_t)done * ch, p->mix + (size_t)p->mix_off * ch,
               sizeof(float) * take * (size_t)ch);
        p->mix_off += take;
        p->left -= take;
        done += take;
    }
    memset(out + (size_t)done * ch, 0, sizeof(float) * (frames - done) * (size_t)ch);
    return done;
}

void player_request_stop(struct player *p)
{
    atomic_store(&p->stop_requested, 1);
}

int player_finished(const struct player *p)
{
    return atomic_load(&p->finished);
}

int player_rt_denied(const struct player *p)
{
    for (int i = 0; i < p->n; i++)
        if (track_rt_denied(p->tracks[i]))
            return 1;
    return 0;
}

void player_stats(struct player *p, struct meter_frame *fr)
{
    fr->position = (double)atomic_load(&p->position) / p->rate;
    fr->xruns = atomic_load(&p->xruns);
    fr->clips = atomic_load(&p->clips);
    fr->master_peak = peak_take(&p->peak_bits);
    fr->mix_cpu_ns = atomic_load(&p->mix_ns);
}
