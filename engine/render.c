/* render.c - offline render; see render.h. */
#include "render.h"
#include "channel.h"
#include "console.h"
#include "engine.h"
#include "events.h"
#include "errors.h"
#include "meter.h"
#include "mixer.h"
#include "outfile.h"
#include "platform.h"
#include "snapshot.h"
#include "stats.h"
#include "track.h"
#include "transport.h"
#include "tuning.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One render in progress (main thread). */
struct bounce {
    struct engine *e;
    struct track *const *tracks;
    int n, rate;
    uint32_t block;
    size_t n_floats;              /* one block: block x channels */
    int64_t nblocks;              /* run blocks the tracks render (INT64_MAX: until stopped) */
    uint32_t ahead;               /* blocks a track renders past the one mixed next: its
                                     ring (two batches or more) */
    uint32_t batch;               /* blocks a track renders per request (whole calls) */
    int64_t done;                 /* frames written */
    struct mixer *mixer;          /* the faders (the engine's) */
    struct transport *x;          /* the same control rules as play */
    const struct event_plan *plan;   /* the run's events, or NULL */
    int next_now, next_param;     /* the plan's next event of each kind */
    float *mix, peak;
    uint64_t clips, mix_cpu;      /* mix_cpu: the render loop's thread CPU time
                                     outside its waits, ns */
    uint64_t cpu0;                /* the thread's CPU clock when it last woke */
};

void render_engine_options(struct engine_options *eo, uint32_t block)
{
    /* A request covers a batch of blocks, as in play: a round trip's two
     * context switches are paid once per batch, so a render's speed does
     * not hang on what one costs on this machine. Each block keeps its own
     * hang_timeout and on_fault (the worker reports its progress block by
     * block): the output is the same as one block per request. */
    uint32_t batch = block ? RENDER_BATCH_FRAMES / block : RENDER_MIN_BATCH;
    batch = batch < RENDER_MIN_BATCH ? RENDER_MIN_BATCH : batch;
    batch = batch > CHAN_MAX_BATCH ? CHAN_MAX_BATCH : batch;
    eo->batch_frames = batch * block;
    eo->max_calls = CHAN_MAX_BATCH;
    /* Each side sleeps until a whole batch is there for it (the mixer) or
     * a whole batch of room (a track): the ring holds two. */
    eo->refill = batch;
    eo->ring_slots = 1;
    while (eo->ring_slots < 2 * batch)
        eo->ring_slots *= 2;
    eo->pin = 1;   /* a track thread and its worker take turns: local hand-offs pay */
}

static void drain_all(struct bounce *b)
{
    for (int i = 0; i < b->n; i++)
        track_drain(b->tracks[i]);
}

/* Waits until every track has block k (render never drops one), sleeping
 * once per batch of blocks, not once per block: each wake-up is a context
 * switch on a machine that is short of them. The loop's CPU time is read
 * around these sleeps, not around each block's mix: on a VM the thread
 * CPU clock is a system call (~1.3 us here), and two a block were ~10 %
 * of the render loop's thread (docs/performance.md). */
static int await_block(struct bounce *b, int64_t k, volatile sig_atomic_t *stop)
{
    int64_t left = b->nblocks == INT64_MAX ? b->batch : b->nblocks - k;
    uint32_t want = left < b->batch ? (uint32_t)left : b->batch;
    for (int i = 0; i < b->n; i++)
        while (!track_block(b->tracks[i], k)) {
            if (stop && *stop)   /* a track waiting for its worker: answer the signal */
                return SHX_ESTOPPED;
            b->mix_cpu += plat_thread_cpu_ns() - b->cpu0;
            track_wait(b->tracks[i], want, plat_now_ns() + STOP_POLL_NS);
            b->cpu0 = plat_thread_cpu_ns();
        }
    return SHX_OK;
}

/* The plan's params for run blocks up to `upto` go to their tracks: each
 * before its track can have rendered that block (a track renders at most
 * b->ahead blocks past the one mixed next). A full param queue
 * waits for the track to take some (it is ahead of us: it will). */
static void send_params(struct bounce *b, int64_t upto)
{
    const struct event_plan *p = b->plan;
    while (p && b->next_param < p->nparams && p->params[b->next_param].k <= upto) {
        const struct planned_param *pp = &p->params[b->next_param];
        char key[CMD_KEY_BYTES];
        snprintf(key, sizeof key, "\"%s\"", pp->m.key);
        while (track_post_param(b->tracks[pp->m.track], pp->k, key, pp->m.value_json)
               == SHX_EFULL)
            plat_sleep_ns(MS_NS(1));
        b->next_param++;
    }
}

/* The plan's fader and transport messages due at output block o, through
 * the console as in play. */
static void send_now(struct bounce *b, int64_t o)
{
    const struct event_plan *p = b->plan;
    char reason[256];
    while (p && b->next_now < p->nnow && p->now[b->next_now].o <= o) {
        if (console_apply(engine_console(b->e), &p->now[b->next_now].m, reason, sizeof reason) < 0)
            fprintf(stderr, "shmix: event at %.3f s: %s\n",
                    (double)o * b->block / b->rate, reason);
        b->next_now++;
    }
}

/* Mixes and writes every output block; stops at the first error. */
static int bounce_all(struct bounce *b, struct outfile *out, const struct render_options *o,
                      char *err, size_t cap)
{
    b->cpu0 = plat_thread_cpu_ns();
    for (int64_t ob = 0, mixed = 0;; ob++) {
        if (o->stop && *o->stop)
            return SHX_ESTOPPED;
        send_params(b, mixed + b->ahead);
        send_now(b, ob);
        int64_t k = 0;
        uint32_t frames = 0;
        enum transport_do what = transport_begin(b->x, &k, &frames);
        if (what == TRANSPORT_END)
            return SHX_OK;
        if (what == TRANSPORT_MIX) {
            if (await_block(b, k, o->stop) < 0)
                return SHX_ESTOPPED;
            b->peak = fmaxf(b->peak, mixer_mix(b->mixer, b->tracks, k, b->mix, &b->clips));
            mixed = k + 1;
        } else {
            memset(b->mix, 0, b->n_floats * sizeof(float));
        }
        transport_end(b->x, b->mix);
        if (outfile_write(out, b->mix, frames) < 0) {
            snprintf(err, cap, "%s: write failed", o->out_path);
            return SHX_EIO;
        }
        b->done += frames;
        if (ob % RENDER_DRAIN_BLOCKS == 0)
            drain_all(b);
    }
}

/* The one stats line a render writes, at the end. */
static void final_stats(struct bounce *b, const struct render_options *o, uint64_t t0, int rc)
{
    struct stats *st = NULL;
    struct meter *meter = NULL;
    static struct snapshot snap;   /* main thread only; large */
    if (stats_create(&st) == SHX_OK && meter_create(b->e, o->out_path, 0, &meter) == SHX_OK) {
        struct meter_frame fr = {
            .time = (double)(plat_now_ns() - t0) / NS_PER_S,
            .position = (double)b->done / b->rate,
            .state = rc == SHX_OK ? "stopped" : "failed",
            .master_peak = b->peak,
            .clips = b->clips,
            .mix_cpu_ns = b->mix_cpu,
        };
        meter_update(meter, &fr);
        meter_read(meter, &snap);
        stats_observe(st, &snap);
        stats_write(st, o->stats, &snap);
    }
    meter_destroy(meter);
    stats_destroy(st);
}

/* After the render: one line per scripted track whose script never ran,
 * or, strict, that faulted a block. Returns SHX_ESCRIPT when there was
 * one. Transient faults (a crash and a recovery) are not a failure unless
 * strict. */
static int verdict(struct bounce *b, int strict)
{
    int rc = SHX_OK;
    for (int i = 0; i < b->n; i++) {
        struct track_snapshot s;
        track_snapshot(b->tracks[i], &s);
        const char *why = s.last_error[0] ? s.last_error : "no reason given";
        if (track_script_label(b->tracks[i])[0] && s.script_blocks == 0) {
            fprintf(stderr, "shmix: %s: its script never processed a block (%s)\n",
                    track_name(b->tracks[i]), why);
            rc = SHX_ESCRIPT;
        } else if (strict && s.faulted_blocks > 0) {
            fprintf(stderr, "shmix: %s: %llu blocks faulted (%s)\n", track_name(b->tracks[i]),
                    (unsigned long long)s.faulted_blocks, why);
            rc = SHX_ESCRIPT;
        }
    }
    return rc;
}

/* The run's length, its events planned (events.h) and its transport: with
 * no seek to move its end and no pause to stretch it, the tracks render
 * exactly the blocks that are written. */
static int plan_events(struct bounce *b, const struct render_options *o, struct track_run *run,
                       struct event_plan *plan, char *err, size_t cap)
{
    struct engine *e = b->e;
    int64_t length = engine_length(e);
    int64_t frames = o->duration >= 0 ? (int64_t)llround(o->duration * b->rate) : INT64_MAX;
    double ls = 0, le = 0;
    int has_loop = engine_loop(e, &ls, &le);
    struct event_run er = {
        .rate = b->rate, .block = b->block, .tl = run->tl, .frames = frames, .length = length,
        .has_loop = has_loop, .loop_start = (int64_t)llround(ls * b->rate),
        .loop_end = (int64_t)llround(le * b->rate),
    };
    if (events_plan(o->events, o->nevents, &er, plan) < 0) {
        snprintf(err, cap, "out of memory");
        return SHX_ENOMEM;
    }
    b->plan = plan;
    int64_t span = frames != INT64_MAX ? frames : length - run->tl.start;
    b->nblocks = plan->nchanges ? INT64_MAX : (span + b->block - 1) / b->block;
    run->count = b->nblocks;
    run->batch = b->batch;
    run->ahead = b->ahead;
    run->changes = plan->changes;
    run->nchanges = plan->nchanges;
    struct transport_config tc = {
        .mixer = b->mixer, .tracks = b->tracks, .n = b->n, .channels = engine_channels(e),
        .rate = b->rate, .block = b->block, .ahead = b->ahead,
        .align = engine_script_blocks(e), .tl = run->tl,
        .frames = frames, .length = length,
    };
    if (transport_create(&tc, &b->x) < 0) {
        snprintf(err, cap, "out of memory");
        return SHX_ENOMEM;
    }
    transport_set_changes(b->x, plan->changes, plan->nchanges);
    return SHX_OK;
}

int render_run(struct engine *e, const struct render_options *o, char *err, size_t cap)
{
    struct bounce b = {.e = e, .tracks = engine_tracks(e), .n = engine_ntracks(e),
                       .rate = engine_sample_rate(e), .block = engine_block_size(e),
                       .mixer = engine_mixer(e), .ahead = engine_ring_slots(e), .batch = 1};
    if (b.n > 0)   /* every track's is the same: whole script calls */
        b.batch = track_batch_max(b.tracks[0]);
    b.n_floats = (size_t)b.block * (size_t)engine_channels(e);
    struct track_run run = {0};
    int rc = engine_timeline(e, "render", o->start, o->loop, &run.tl, err, cap);
    if (rc < 0)
        return rc;
    if (o->loop && o->duration < 0) {   /* it would never end */
        snprintf(err, cap, "render: --loop needs --duration");
        return SHX_EUSAGE;
    }
    struct event_plan plan = {0};
    rc = plan_events(&b, o, &run, &plan, err, cap);
    if (rc < 0)
        return rc;
    uint64_t t0 = plat_now_ns();
    struct outfile *out = NULL;
    b.mix = calloc(b.n_floats, sizeof(float));
    rc = b.mix ? outfile_create(o->out_path, b.rate, engine_channels(e), &out, err, cap)
               : SHX_ENOMEM;
    if (rc == SHX_OK)
        console_attach(engine_console(e), b.x, engine_supervisor(e));
    send_params(&b, b.ahead);   /* before any track renders */
    for (int i = 0; i < b.n && rc == SHX_OK; i++)
        rc = track_run(b.tracks[i], &run);
    if (rc == SHX_OK) {
        rc = bounce_all(&b, out, o, err, cap);
        b.mix_cpu += plat_thread_cpu_ns() - b.cpu0;   /* since its last wait, however it ended */
    }
    console_attach(engine_console(e), NULL, NULL);
    /* The tracks, the supervisor and the workers end here: the processes
     * exit (~20 ms for 16 on this kind of machine) while outfile_commit
     * waits for the disk, not after it. */
    engine_end_workers(e);
    drain_all(&b);
    if (rc == SHX_OK)
        rc = outfile_commit(out, err, cap);
    else if (rc == SHX_ESTOPPED)
        snprintf(err, cap, "interrupted; %s not written", o->out_path);
    if (o->stats && out)   /* not when the render never started */
        final_stats(&b, o, t0, rc);
    if (rc == SHX_OK && b.nblocks > 0)   /* after the stats line: it reads the same counters */
        rc = verdict(&b, o->strict);
    outfile_destroy(out);
    transport_destroy(b.x);
    events_plan_free(&plan);
    free(b.mix);
    return rc;
}
