/* play.c - the play command; see play.h. */
#include "play.h"
#include "ahead.h"
#include "audio.h"
#include "engine.h"
#include "errors.h"
#include "platform.h"
#include "meter.h"
#include "player.h"
#include "recorder.h"
#include "remote.h"
#include "termkeys.h"
#include "events_file.h"
#include "track.h"
#include "console.h"
#include "control.h"
#include "transport.h"
#include "session.h"
#include "snapshot.h"
#include "overlay.h"
#include "stats.h"
#include "supervisor.h"
#include "termview.h"
#include "track.h"
#include "tuning.h"

#include <stdarg.h>
#include <math.h>
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

/* What the audio callback feeds: the player, and with --record the
 * recorder, which gets exactly the frames of this play the device gets. */
struct to_device {
    struct player *p;
    struct recorder *rec;         /* or NULL */
};

static void on_audio(void *ctx, float *out, uint32_t frames, int underflow)
{
    struct to_device *d = ctx;
    uint32_t played = player_process(d->p, out, frames, underflow);
    if (d->rec)
        recorder_push(d->rec, out, played);
}

static void drain(struct engine *e)
{
    for (int i = 0; i < engine_ntracks(e); i++)
        track_drain(engine_track(e, i));
}

/* The overlay's keys, as control messages: they go through the console
 * like OSC does (one place decides), relative to where things stand. */
static int key_message(struct engine *e, struct player *p, const struct overlay_input *in,
                       struct ctl_msg *m)
{
    struct console *c = engine_console(e);
    int i = in->track;
    *m = (struct ctl_msg){.track = i};
    switch (in->action) {
    case OVERLAY_PAUSE: m->kind = player_paused(p) ? CTL_PLAY : CTL_PAUSE; return 1;
    case OVERLAY_MUTE: m->kind = CTL_MUTE; m->a = !console_mute(c, i); return 1;
    case OVERLAY_SOLO: m->kind = CTL_SOLO; m->a = !console_solo(c, i); return 1;
    case OVERLAY_RESTART: m->kind = CTL_RESTART; return 1;
    case OVERLAY_GAIN_DOWN:
    case OVERLAY_GAIN_UP:
        m->kind = CTL_GAIN;
        m->a = fmin(24.0, fmax(-120.0, console_gain_db(c, i)
                                           + (in->action == OVERLAY_GAIN_UP ? 1.0 : -1.0)));
        return 1;
    case OVERLAY_PAN_LEFT:
    case OVERLAY_PAN_RIGHT:
        m->kind = CTL_PAN;
        m->a = fmin(1.0, fmax(-1.0, round((console_pan(c, i)
                                           + (in->action == OVERLAY_PAN_RIGHT ? 0.1 : -0.1))
                                          * 10.0) / 10.0));
        return 1;
    case OVERLAY_SEEK_BACK:
    case OVERLAY_SEEK_FORWARD: {
        double rate = engine_sample_rate(e);
        double at = (double)transport_position(player_transport(p)) / rate
                    + (in->action == OVERLAY_SEEK_FORWARD ? KEY_SEEK_S : -KEY_SEEK_S);
        double end = (double)(engine_length(e) - 1) / rate;
        m->kind = CTL_SEEK;
        m->a = fmax(0.0, fmin(at, end));
        return 1;
    }
    default:
        return 0;
    }
}

/* Carries out what the user asked for in the overlay. Returns 1 to quit. */
static int act(struct engine *e, struct player *p, const struct overlay_input *in)
{
    if (in->action == OVERLAY_QUIT) {
        player_request_stop(p);
        return 1;
    }
    struct ctl_msg m;
    char reason[CTL_REASON_MAX];
    if (key_message(e, p, in, &m) && console_apply(engine_console(e), &m, reason, sizeof reason) < 0)
        fprintf(stderr, "shmix: %s\n", reason);
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
    struct remote *remote;        /* OSC and the capture */
    struct termkeys *keys;        /* --meter: the overlay's keys from the terminal, or NULL */
    struct event *ev;             /* the session's events:, by time */
    int nev, next_ev;
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

/* The session's events that have come due (load_session_events). */
static void apply_due_events(struct views *v, struct engine *e, struct player *p)
{
    int64_t now = transport_output_blocks(player_transport(p));
    char reason[CTL_REASON_MAX];
    for (; v->next_ev < v->nev && v->ev[v->next_ev].o <= now; v->next_ev++)
        if (console_apply(engine_console(e), &v->ev[v->next_ev].m, reason, sizeof reason) < 0)
            fprintf(stderr, "shmix: event at %.3f s: %s\n",
                    (double)v->ev[v->next_ev].o * engine_block_size(e) / engine_sample_rate(e),
                    reason);
}

/* One tick: meters gathered and published, then every view fed. */
static void tick(struct views *v, struct engine *e, struct player *p,
                 const struct play_options *o, int ended)
{
    static struct snapshot snap;   /* main thread only; large */
    uint64_t now = plat_now_ns();
    struct meter_frame fr = {.state = ended ? "stopped" : player_paused(p) ? "paused" : "playing"};
    player_tune(p);
    player_stats(p, &fr);
    remote_frame(v->remote, &fr);
    fr.time = (double)(now - v->t0) / NS_PER_S;
    fr.gui_cpu = v->ov ? (float)(100.0 * (double)overlay_cpu_ns(v->ov) / (double)(now - v->t0 + 1))
                       : 0.0f;
    meter_update(v->meter, &fr);
    meter_read(v->meter, &snap);
    remote_tick(v->remote, &snap);
    if (v->st)
        stats_observe(v->st, &snap);
    if (v->ov)
        overlay_tick(v, e, p, &snap);
    apply_due_events(v, e, p);
    struct overlay_input in[16];
    int nk = termkeys_read(v->keys, in, 16);
    for (int i = 0; i < nk; i++)
        act(e, p, &in[i]);
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
    /* With script calls longer than a block, the render-ahead's default
     * upper end leaves room for longer batches (ahead_default_max_ns).
     * One value for both: the engine sizes the tracks' rings for it, the
     * player tunes the render-ahead up to it. */
    uint32_t block = o->block ? o->block : (uint32_t)s->block_size;
    uint32_t sub = s->script_block > (int)block ? (uint32_t)s->script_block / block : 1;
    uint64_t ahead_max = o->ahead_max_ns ? o->ahead_max_ns : ahead_default_max_ns(sub, rate);
    struct engine_options eo = {.sample_rate = rate, .block_size = o->block,
                                .ring_slots = PLAY_RING_SLOTS, .worker_nice = WORKER_NICE,
                                .ahead_max_ns = ahead_max,
                                .worker_rt_prio = PRIO_WORKER, .realtime = 1,
                                .batch_frames = PLAY_BATCH_FRAMES,
                                .max_calls = PLAY_MAX_CALLS, .stop = o->stop,
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
    struct player_options po = {o->start, o->duration, o->loop, o->ahead, 1, o->stop,
                                o->capture != NULL, ahead_max};
    rc = player_create(*e, &po, p, err, cap);
    if (rc == SHX_OK)   /* from here control messages reach this run */
        console_attach(engine_console(*e), player_transport(*p), engine_supervisor(*e));
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
        && (termview_create(stderr, TERMVIEW_LOG_ABOVE, &v->tv) < 0
            || termkeys_create(engine_ntracks(e), &v->keys) < 0))
        return 1;
    return 0;
}

/* The session's events: play applies them as they come due, as live
 * messages (within a tick of their time; render applies them exactly). */
static int load_session_events(const struct session *s, struct engine *e, struct views *v,
                               char *err, size_t cap)
{
    if (!s->has_events)
        return 0;
    int n = engine_ntracks(e);
    const char **names = calloc((size_t)n + 1, sizeof *names);
    if (!names)
        return 1;
    for (int i = 0; i < n; i++)
        names[i] = track_name(engine_track(e, i));
    struct ctl_names cn = {names, n};
    struct event_clock clock = {engine_sample_rate(e), engine_block_size(e)};
    int rc = events_load(s->path, 0, &cn, &clock, &v->ev, &v->nev, err, cap);
    free(names);
    return rc == SHX_ENOMEM ? 1 : rc < 0 ? 2 : 0;
}


/* The control side: OSC (always the private socket; UDP with --osc) and
 * the capture file. */
static int open_remote(struct engine *e, const struct play_options *o, struct views *v,
                       char *err, size_t cap)
{
    struct remote_options ro = {o->osc_port, o->osc_bind, o->capture};
    int rc = remote_create(e, v->meter, &ro, &v->remote, err, cap);
    if (rc < 0)
        return rc == SHX_EIO ? 2 : 1;
    if (rc == REMOTE_NO_CONTROL)   /* a notice: the session plays all the same */
        notice(o, "%s; playing without control messages", err);
    if (o->osc_port >= 0)   /* printed whatever -q says: it is what the user needs to connect */
        fprintf(stderr, "shmix: OSC on udp port %d\n", remote_udp_port(v->remote));
    return 0;
}

static void close_views(struct views *v)
{
    termkeys_destroy(v->keys);
    free(v->ev);
    termview_destroy(v->tv);   /* first: the terminal as it was for what follows */
    overlay_destroy(v->ov);
    meter_destroy(v->meter);
    stats_destroy(v->st);
}

/* Starts the device; when it will not start, the null device instead. */
static int start_output(const struct play_options *o, struct audio **a, struct engine *e,
                        struct to_device *d, int rate, char *err, size_t cap)
{
    int rc = audio_start(*a, on_audio, d, engine_block_size(e), err, cap);
    if (rc == SHX_OK)
        return 0;
    notice(o, "%s; playing on the null device instead", err);
    audio_close(*a);
    *a = NULL;
    struct audio_config c = {NULL, rate, engine_channels(e)};
    rc = audio_open_null(&c, a, &rate);
    if (rc == SHX_OK)
        rc = audio_start(*a, on_audio, d, engine_block_size(e), err, cap);
    return rc < 0 ? 1 : 0;
}

/* --record: the file is opened (and its folder checked) before anything
 * plays, at the rate the output runs at. Returns an exit status. */
static int open_record(const struct session *s, const struct play_options *o, int rate,
                       struct recorder **rec, char *err, size_t cap)
{
    char why[1024];
    uint32_t block = o->block ? o->block : (uint32_t)s->block_size;   /* the engine's */
    int rc = recorder_create(o->record, rate, s->channels, block, rec, why, sizeof why);
    if (rc < 0)
        snprintf(err, cap, "play: --record %s", why);
    return rc == SHX_EUSAGE || rc == SHX_EIO ? 2 : rc < 0 ? 1 : 0;
}

/* --record, once the device has stopped: the file linked into place.
 * Returns the exit status: 1 when it could not be written, or when frames
 * were dropped - the file is kept, but it is not what was played. */
static int finish_record(const struct play_options *o, struct recorder *rec, int rate,
                         char *err, size_t cap)
{
    uint64_t dropped = 0;
    char why[1024];
    if (recorder_finish(rec, &dropped, why, sizeof why) < 0) {
        snprintf(err, cap, "play: --record %s", why);
        return 1;
    }
    if (dropped) {
        snprintf(err, cap, "play: --record %s: %llu frames (%.3f s) dropped because the "
                 "writer fell behind; the recording is not what was played", o->record,
                 (unsigned long long)dropped, (double)dropped / rate);
        return 1;
    }
    return 0;
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
    struct recorder *rec = NULL;
    struct views v = {0};
    int rc, rate = 0, status = open_output(s, o, &a, &rate, err, cap);
    if (status == 1)
        snprintf(err, cap, "cannot open any output");
    if (!status && o->record)
        status = open_record(s, o, rate, &rec, err, cap);
    if (!status)
        status = start_engine(s, o, rate, &e, &p, err, cap);
    struct to_device dev = {p, rec};
    if (!status)
        status = open_views(e, o, &v);
    if (!status)
        status = load_session_events(s, e, &v, err, cap);
    if (!status)
        status = open_remote(e, o, &v, err, cap);
    if (!status && plat_lock_memory() < 0)
        notice(o, "cannot lock memory (raise `ulimit -l`); playing without it");
    if (!status && (rc = player_start(p, err, cap)) < 0)
        status = rc == SHX_ESTOPPED ? STOPPED : 1;
    if (!status)
        status = start_output(o, &a, e, &dev, rate, err, cap);
    if (!status) {
        say_playing(o, a, e, p, rate);
        monitor(e, p, &v, o);
        audio_stop(a);
        drain(e);
        if (rec)
            status = finish_record(o, rec, rate, err, cap);
    } else if (status == STOPPED && rec) {
        notice(o, "stopped before playing; %s not written", o->record);
    }
    audio_stop(a);
    remote_destroy(v.remote);   /* no more messages; the last captured events written */
    close_views(&v);
    recorder_destroy(rec);
    if (e)
        console_attach(engine_console(e), NULL, NULL);
    player_destroy(p);
    engine_destroy(e);
    audio_close(a);
    return status == STOPPED ? 0 : status;
}
