/* player.c - the real-time mixer and transport; see player.h.
 * Real-time rules: docs/realtime.md. */
#include "player.h"
#include "ahead.h"
#include "disk.h"
#include "engine.h"
#include "errors.h"
#include "mixer.h"
#include "platform.h"
#include "meter.h"
#include "peak.h"
#include "timeline.h"
#include "track.h"
#include "transport.h"
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
    int64_t count;             /* blocks in the run; INT64_MAX: to the end, or forever */
    int64_t frames;            /* frames the run plays, INT64_MAX: no set length */
    struct ahead *ahead;       /* the render-ahead, chosen and tuned (main) */
    uint32_t x_ahead;          /* what the transport was last told (transport_set_ahead) */
    uint64_t hw_ns;            /* when it may follow a shrunk render-ahead */
    uint32_t hw_blocks;        /* ... to this many blocks; 0: nothing pending */
    uint64_t late_seen;        /* the tracks' late blocks at the last tuning */
    int paused_seen;           /* paused at the last tuning */
    int realtime;
    volatile sig_atomic_t *stop;   /* set by a signal, or NULL */
    struct mixer *mixer;       /* the faders (the engine's) */
    struct transport *x;       /* control changes at exact blocks */

    /* Callback state (real-time thread only). */
    float *mix;                /* the current output block */
    uint32_t mix_off;          /* frames of it already delivered */
    uint32_t mix_len;          /* frames of it to deliver (the run's last may be short) */

    /* Shared with other threads. */
    _Atomic uint64_t xruns;
    _Atomic uint64_t clips;
    _Atomic uint32_t peak_bits;
    _Atomic uint64_t mix_ns;   /* the callback's own time, total */
    int started;
};

/* How many blocks the run plays, and how many are rendered ahead. */
static int size_run(struct player *p, struct engine *e, const struct player_options *o)
{
    p->frames = o->duration >= 0 ? (int64_t)llround(o->duration * p->rate) : INT64_MAX;
    /* Without a length the run ends where the session does (or loops on):
     * seeks move that end, so the blocks are not counted beforehand. */
    p->count = p->frames == INT64_MAX ? INT64_MAX : (p->frames + p->block - 1) / p->block;
    p->clock.period_ns = (uint64_t)p->block * NS_PER_S / (uint64_t)p->rate;
    int scripted = 0;
    for (int i = 0; i < p->n; i++)
        scripted += track_script_path(p->tracks[i]) != NULL;
    struct ahead_config ac = {
        .rate = p->rate, .block = p->block, .sub = engine_script_blocks(e),
        .ring = engine_ring_slots(e), .scripted = scripted, .cpus = plat_cpu_count(),
        .batch_max = p->n ? track_batch_max(p->tracks[0]) : 0,
        .fixed = o->ahead,
        .max_ns = o->ahead_max_ns ? o->ahead_max_ns
                                  : ahead_default_max_ns(engine_script_blocks(e), p->rate),
    };
    if (ahead_create(&ac, &p->ahead) < 0)
        return SHX_ENOMEM;
    atomic_store(&p->clock.ahead, ahead_blocks(p->ahead));
    p->x_ahead = ahead_blocks(p->ahead);
    return SHX_OK;
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
    p->mixer = engine_mixer(e);
    p->realtime = o->realtime;
    p->stop = o->stop;
    int rc = engine_timeline(e, "play", o->start, o->loop, &p->tl, err, cap);
    if (rc < 0) {
        free(p);
        return rc;
    }
    if (size_run(p, e, o) < 0) {
        free(p);
        snprintf(err, cap, "out of memory");
        return SHX_ENOMEM;
    }
    /* Nothing is due before the first callback. */
    atomic_store(&p->clock.at_ns, TRACK_CLOCK_IDLE);
    p->mix = calloc((size_t)p->block * (size_t)p->channels, sizeof(float));
    p->mix_off = p->mix_len = 0;   /* nothing delivered yet: the first block on demand */
    struct transport_config tc = {
        .mixer = p->mixer, .tracks = p->tracks, .n = p->n, .channels = p->channels,
        .rate = p->rate, .block = p->block, .ahead = ahead_blocks(p->ahead),
        .align = engine_script_blocks(e), .tl = p->tl,
        .frames = p->frames, .length = engine_length(e), .capture = o->capture,
    };
    if (!p->mix || transport_create(&tc, &p->x) < 0) {
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
    transport_destroy(p->x);
    ahead_destroy(p->ahead);
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
        .ahead = ahead_blocks(p->ahead),
        .program = transport_program(p->x),
        /* A track thread sleeps until a batch of blocks was played, then
         * renders them with one request to its worker, so the context
         * switches of a hand-off (and the cold caches of a process that
         * just woke) are paid once per batch; the rest of the render-ahead
         * is slack for the worker to be late by (ahead.h). */
        .batch = ahead_batch(p->ahead),
        .disk_kick = p->disk ? disk_kick(p->disk) : NULL,
        .rt_priority = p->realtime ? PRIO_TRACK : 0,
    };
    for (int i = 0; i < p->n && rc == SHX_OK; i++) {
        run.phase = (uint32_t)i % run.batch;
        rc = track_run(p->tracks[i], &run);
    }
    if (rc == SHX_OK)
        rc = disk_start(p->disk, p->realtime ? PRIO_DISK : 0);
    if (rc < 0) {
        snprintf(err, cap, "cannot start the track threads: %s", shx_strerror(rc));
        return rc;
    }
    /* Let every track render ahead before the device asks for anything.
     * A large session takes a while: each worker's first calls pay for
     * copying the zygote's pages it writes to (about 20 ms a worker on a
     * VM, 13 s for 600 workers), so the wait lasts as long as the tracks
     * make progress and gives up only after PREFILL_STALL_NS without any:
     * starting on time with half-filled tracks would only trade a longer
     * start for a burst of late blocks on every track. A hung or crashed
     * worker does not hold it up for long: its track goes on per on_fault
     * once the supervisor notices, which is progress too. */
    uint64_t filled = 0, stall = plat_now_ns() + PREFILL_STALL_NS;
    for (int i = 0; i < p->n; i++) {
        uint32_t want = track_fill_want(p->tracks[i]);
        while (track_ready(p->tracks[i]) < want && plat_now_ns() < stall) {
            if (p->stop && *p->stop)
                return SHX_ESTOPPED;
            track_wait(p->tracks[i], want, plat_now_ns() + STOP_POLL_NS);
            uint64_t now_filled = 0;
            for (int j = 0; j < p->n; j++)
                now_filled += track_ready(p->tracks[j]);
            if (now_filled > filled) {
                filled = now_filled;
                stall = plat_now_ns() + PREFILL_STALL_NS;
            }
        }
    }
    p->started = 1;
    return SHX_OK;
}

/* Real-time. Makes the next output block in p->mix; 0 when the run is
 * over. A paused block is silence and takes no block from the tracks. */
static int next_block(struct player *p)
{
    int64_t k = 0;
    uint32_t frames = 0;
    enum transport_do what = transport_begin(p->x, &k, &frames);
    if (what == TRANSPORT_END)
        return 0;
    uint64_t t0 = plat_now_ns(), clips = 0;
    size_t n = (size_t)p->block * (size_t)p->channels;
    p->mix_len = p->block;
    if (what == TRANSPORT_SILENCE) {
        memset(p->mix, 0, n * sizeof(float));
    } else {
        float peak = mixer_mix(p->mixer, p->tracks, k, p->mix, &clips);
        if (clips)
            atomic_fetch_add_explicit(&p->clips, clips, memory_order_relaxed);
        peak_raise(&p->peak_bits, peak);
        /* Publish the clock: at_ns first, then next with release, so a
         * track thread that sees the new `next` also sees its time. */
        atomic_store_explicit(&p->clock.at_ns, t0, memory_order_relaxed);
        atomic_store_explicit(&p->clock.next, k + 1, memory_order_release);
        p->mix_len = frames;   /* the run's last block: only what is left of it */
    }
    transport_end(p->x, p->mix);
    atomic_fetch_add_explicit(&p->mix_ns, plat_now_ns() - t0, memory_order_relaxed);
    return 1;
}

int player_paused(const struct player *p)
{
    return transport_paused(p->x);
}

uint32_t player_process(struct player *p, float *out, uint32_t frames, int underflow)
{
    if (underflow)
        atomic_fetch_add_explicit(&p->xruns, 1, memory_order_relaxed);
    uint32_t done = 0;
    int ch = p->channels;
    while (done < frames) {
        if (p->mix_off == p->mix_len) {
            if (!next_block(p))
                break;
            p->mix_off = 0;
        }
        uint32_t take = p->mix_len - p->mix_off;
        if (take > frames - done)
            take = frames - done;
        memcpy(out + (size_t)done * ch, p->mix + (size_t)p->mix_off * ch,
               sizeof(float) * take * (size_t)ch);
        p->mix_off += take;
        done += take;
    }
    memset(out + (size_t)done * ch, 0, sizeof(float) * (frames - done) * (size_t)ch);
    return done;
}

void player_request_stop(struct player *p)
{
    transport_stop(p->x);
}

int player_finished(const struct player *p)
{
    return transport_finished(p->x);
}

struct transport *player_transport(struct player *p) { return p->x; }

int player_rt_denied(const struct player *p)
{
    for (int i = 0; i < p->n; i++)
        if (track_rt_denied(p->tracks[i]))
            return 1;
    return 0;
}

void player_tune(struct player *p)
{
    if (!p->started)
        return;
    uint64_t now = plat_now_ns(), late = 0;
    int64_t margin = INT64_MAX;
    for (int i = 0; i < p->n; i++) {
        int64_t m = track_take_margin(p->tracks[i]);
        margin = m < margin ? m : margin;
        late += track_late_blocks(p->tracks[i]);
    }
    int paused = transport_paused(p->x);
    uint32_t was = ahead_blocks(p->ahead);
    uint32_t now_blocks = ahead_observe(p->ahead, now, margin, late - p->late_seen,
                                        paused || p->paused_seen);
    p->late_seen = late;
    p->paused_seen = paused;
    /* Params and seeks go to the first block no track has rendered
     * (transport.c): the transport follows a render-ahead past what it was
     * told at once (before the tracks see it), and one below that only
     * once no track can still be rendering to the larger one. */
    if (now_blocks >= p->x_ahead) {
        if (now_blocks > p->x_ahead)
            transport_set_ahead(p->x, now_blocks);
        p->x_ahead = now_blocks;
        p->hw_blocks = 0;
    } else if (now_blocks != was) {
        p->hw_blocks = now_blocks;
        p->hw_ns = now + AHEAD_HW_HOLD_NS;
    } else if (p->hw_blocks && now >= p->hw_ns) {
        transport_set_ahead(p->x, p->hw_blocks);
        p->x_ahead = p->hw_blocks;
        p->hw_blocks = 0;
    }
    atomic_store_explicit(&p->clock.ahead, now_blocks, memory_order_relaxed);
}

void player_stats(struct player *p, struct meter_frame *fr)
{
    fr->ahead_ms = (double)ahead_blocks(p->ahead) * p->block * 1000.0 / p->rate;
    fr->position = (double)transport_position(p->x) / p->rate;
    fr->xruns = atomic_load(&p->xruns);
    fr->clips = atomic_load(&p->clips);
    fr->master_peak = peak_take(&p->peak_bits);
    fr->mix_cpu_ns = atomic_load(&p->mix_ns);
}
