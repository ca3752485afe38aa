/* play.c - the play command; see play.h. */
#include "play.h"
#include "audio.h"
#include "engine.h"
#include "errors.h"
#include "platform.h"
#include "meter.h"
#include "player.h"
#include "session.h"
#include "snapshot.h"
#include "overlay.h"
#include "stats.h"
#include "supervisor.h"
#include "termview.h"
#include "track.h"
#include "tuning.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* A signal came before playback began: nothing to play, exit 0. */
#define STOPPED (-1)

/* A notice: one line on stderr about how playback goes (which device,
 * what it could not have), which -q silences. Errors never come here. */
static void notice(const struct play_options *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void notice(const struct play_options *o, const char *fmt, ...)
{
    if (o->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    flockfile(stderr);   /* one line, whole, whatever another thread prints */
    fputs("shmix: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    funlockfile(stderr);
    va_end(ap);
}

static void on_audio(void *ctx, float *out, uint32_t frames, int underflow)
{
    player_process(ctx, out, frames, underflow);
}

static void drain(struct engine *e)
{
    for (int i = 0; i < engine_ntracks(e); i++)
        track_drain(engine_track(e, i));
}

/* Carries out what the user asked for in the overlay. */
static int act(struct engine *e, struct player *p, const struct overlay_input *in)
{
    switch (in->action) {
    case OVERLAY_QUIT:
        player_request_stop(p);
        return 1;
    case OVERLAY_PAUSE:
        player_pause(p, !player_paused(p));
        break;
    case OVERLAY_MUTE:
        engine_set_mute(e, in->track, !engine_mute(e, in->track));
        break;
    case OVERLAY_SOLO:
        engine_set_solo(e, in->track, !engine_solo(e, in->track));
        break;
    case OVERLAY_RESTART:
        if (engine_supervisor(e))
            supervisor_restart(engine_supervisor(e), in->track);
        break;
    default:
        break;
    }
    return 0;
}

/* The views the main thread keeps up to date while playing. */
struct views {
    struct meter *meter;
    struct stats *st;             /* stats lines, or NULL */
    struct overlay *ov;           /* the window, or NULL */
    struct termview *tv;          /* the table in the terminal (or a pipe), or NULL */
    uint64_t t0;                  /* when playback started */
    uint64_t next_stats, next_term, every, term_every;   /* ns */
    const char *snapshot_path;    /* tests: one picture of the window */
};

/* The overlay's frame: draws, then carries out the keys pressed. */
static void overlay_tick(struct views *v, struct engine *e, struct player *p,
                         const struct snapshot *snap)
{
    struct overlay_input in[16];
    int n = overlay_frame(v->ov, snap, in, 16);
    for (int i = 0; i < n; i++)
        act(e, p, &in[i]);
    if (v->snapshot_path && snap->time > 3.0) {
        overlay_save(v->ov, v->snapshot_path);
        v->snapshot_path = NULL;
    }
}

/* One tick: meters gathered and published, then every view fed. */
static void tick(struct views *v, struct engine *e, struct player *p,
                 const struct play_options *o, int ended)
{
    static struct snapshot snap;   /* main thread only; large */
    uint64_t now = plat_now_ns();
    struct meter_frame fr = {.state = ended ? "stopped" : player_paused(p) ? "paused" : "playing"};
    player_stats(p, &fr);
    fr.time = (double)(now - v->t0) / NS_PER_S;
    fr.gui_cpu = v->ov ? (float)(100.0 * (double)overlay_cpu_ns(v->ov) / (double)(now - v->t0 + 1))
                       : 0.0f;
    meter_update(v->meter, &fr);
    meter_read(v->meter, &snap);
    if (v->st)
        stats_observe(v->st, &snap);
    if (v->ov)
        overlay_tick(v, e, p, &snap);
    if (v->tv && (now >= v->next_term || ended)) {
        termview_draw(v->tv, &snap);
        v->next_term = now + v->term_every;
    }
    if (v->st && (now >= v->next_stats || ended)) {
        stats_write(v->st, o->stats, &snap);
        v->next_stats += v->every;
        if (v->next_stats < now)   /* fell behind (a stall): skip, never a burst */
            v->next_stats = now + v->every;
    }
}

/* The main thread while playing: every tick it drains the workers'
 * messages and updates the views; then a final tick when playback has
 * ended. It ticks PLAY_TICK_NS apart, or as often as stats lines are due
 * (down to PLAY_MIN_TICK_NS). */
static void monitor(struct engine *e, struct player *p, struct views *v,
                    const struct play_options *o)
{
    v->t0 = plat_now_ns();
    v->every = (uint64_t)(o->stats_interval * NS_PER_S);
    v->next_stats = v->t0 + v->every;
    /* On a terminal the table is there from the start; a plain table
     * (a pipe) only once there is a second to show. */
    v->term_every = v->tv && termview_live(v->tv) ? TERM_REDRAW_NS : TERM_PLAIN_NS;
    v->next_term = v->tv && termview_live(v->tv) ? v->t0 : v->t0 + v->term_every;
    v->snapshot_path = getenv("SHMIX_GUI_SNAPSHOT");
    uint64_t period = v->st && v->every < PLAY_TICK_NS
                      ? (v->every > PLAY_MIN_TICK_NS ? v->every : PLAY_MIN_TICK_NS) : PLAY_TICK_NS;
    for (int ended = 0; !ended;) {
        ended = player_finished(p);
        if (!ended)
            plat_sleep_ns(period);
        if (o->stop && *o->stop)
            player_request_stop(p);
        drain(e);
        tick(v, e, p, o, ended);
    }
}

/* Opens the device the options ask for, falling back to the null device
 * with a one-line notice when there is no usable one. */
static int open_output(const struct session *s, const struct play_options *o,
                       struct audio **a, int *rate, char *err, size_t cap)
{
    struct audio_config c = {o->device, s->sample_rate, s->channels};
    if (!o->null) {
        int rc = audio_open_device(&c, a, rate, err, cap);
        if (rc == SHX_EUSAGE)
            return 2;
        if (rc == SHX_OK)
            return 0;
        notice(o, "%s; playing on the null device instead", err);
    }
    return audio_open_null(&c, a, rate) == SHX_OK ? 0 : 1;
}

/* The engine for play: workers SCHED_FIFO below the track threads,
 * guarded by RLIMIT_RTTIME: a worker stuck in a loop is stepped down to
 * WORKER_NICE within WORKER_RTTIME_US, so it cannot keep the other workers
 * off a CPU while the engine waits out hang_timeout (docs/realtime.md).
 * Tracks are not pinned: the scheduler moves a runnable worker to whichever
 * CPU is free, so a stalled or slowed CPU (a VM's neighbours) does not hold
 * up the half of the tracks that would be pinned to it. A script that
 * fails setup() does not stop playback: its track plays per on_fault (the
 * traceback is on stderr already); a python.preload module that fails to
 * import does (exit 2). Returns an exit status, or STOPPED. */
static int start_engine(const struct session *s, const struct play_options *o, int rate,
                        struct engine **e, struct player **p, char *err, size_t cap)
{
    struct engine_options eo = {.sample_rate = rate, .block_size = o->block,
                                .ring_slots = PLAY_RING_SLOTS, .worker_nice = WORKER_NICE,
                                .worker_rt_prio = PRIO_WORKER,
                                .batch_frames = PLAY_BATCH_FRAMES, .stop = o->stop,
                                .quiet = o->quiet};
    int rc = engine_create(s, &eo, e, err, cap);
    if (rc < 0)
        return rc == SHX_EIO || rc == SHX_EFORMAT ? 2 : 1;
    char why[1024];
    rc = engine_start_workers(*e, why, sizeof why);
    if (rc == SHX_ESTOPPED)
        return STOPPED;
    if (rc == SHX_ESESSION) {   /* a python.preload module does not import */
        snprintf(err, cap, "%s", why);
        return 2;
    }
    if (engine_supervise(*e, why, sizeof why) < 0)
        fprintf(stderr, "shmix: %s\n", why);
    struct player_options po = {o->start, o->duration, o->loop, o->ahead, 1, o->stop};
    rc = player_create(*e, &po, p, err, cap);
    return rc == SHX_EUSAGE ? 2 : rc < 0 ? 1 : 0;
}

/* The meters, the stats lines and the window or the terminal table. */
static int open_views(struct engine *e, const struct play_options *o, struct views *v)
{
    if ((o->stats && stats_create(&v->st) < 0)
        || meter_create(e, o->session_name, 1, &v->meter) < 0)
        return 1;
    if (o->gui) {
        char title[200], why[256];
        snprintf(title, sizeof title, "shmix - %s", o->session_name);
        if (overlay_create(title, engine_ntracks(e), &v->ov, why, sizeof why) < 0)
            notice(o, "%s; showing the meters in the terminal instead", why);
    }
    if ((o->meter || (o->gui && !v->ov))
        && termview_create(stderr, TERMVIEW_LOG_ABOVE, &v->tv) < 0)
        return 1;
    return 0;
}

static void close_views(struct views *v)
{
    termview_destroy(v->tv);   /* first: the terminal as it was for what follows */
    overlay_destroy(v->ov);
    meter_destroy(v->meter);
    stats_destroy(v->st);
}

/* Starts the device; when it will not start, the null device instead. */
static int start_output(const struct play_options *o, struct audio **a, struct engine *e,
                        struct player *p, int rate, char *err, size_t cap)
{
    int rc = audio_start(*a, on_audio, p, engine_block_size(e), err, cap);
    if (rc == SHX_OK)
        return 0;
    notice(o, "%s; playing on the null device instead", err);
    audio_close(*a);
    *a = NULL;
    struct audio_config c = {NULL, rate, engine_channels(e)};
    rc = audio_open_null(&c, a, &rate);
    if (rc == SHX_OK)
        rc = audio_start(*a, on_audio, p, engine_block_size(e), err, cap);
    return rc < 0 ? 1 : 0;
}

static void say_playing(const struct play_options *o, struct audio *a, struct engine *e,
                        struct player *p, int rate)
{
    notice(o, "playing on %s, %d Hz, %u frames per block; ^C stops", audio_name(a), rate,
           engine_block_size(e));
    if (player_rt_denied(p))
        notice(o, "real-time scheduling (SCHED_FIFO) refused: raise `ulimit -r` (rtprio); "
                  "playing without it");
}

int play_run(const struct session *s, const struct play_options *o, char *err, size_t cap)
{
    struct audio *a = NULL;
    struct engine *e = NULL;
    struct player *p = NULL;
    struct views v = {0};
    int rc, rate = 0, status = open_output(s, o, &a, &rate, err, cap);
    if (status == 1)
        snprintf(err, cap, "cannot open any output");
    if (!status)
        status = start_engine(s, o, rate, &e, &p, err, cap);
    if (!status)
        status = open_views(e, o, &v);
    if (!status && plat_lock_memory() < 0)
        notice(o, "cannot lock memory (raise `ulimit -l`); playing without it");
    if (!status && (rc = player_start(p, err, cap)) < 0)
        status = rc == SHX_ESTOPPED ? STOPPED : 1;
    if (!status)
        status = start_output(o, &a, e, p, rate, err, cap);
    if (!status) {
        say_playing(o, a, e, p, rate);
        monitor(e, p, &v, o);
        audio_stop(a);
        drain(e);
    }
    close_views(&v);
    audio_stop(a);
    player_destroy(p);
    engine_destroy(e);
    audio_close(a);
    return status == STOPPED ? 0 : status;
}
