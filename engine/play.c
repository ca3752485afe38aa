/* play.c - the play command; see play.h. */
#include "play.h"
#include "audio.h"
#include "engine.h"
#include "errors.h"
#include "platform.h"
#include "player.h"
#include "session.h"
#include "meter.h"
#include "overlay.h"
#include "stats.h"
#include "supervisor.h"
#include "termview.h"
#include "track.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define TICK_NS 33000000u   /* the main thread's loop: ~30 overlay frames a second */
#define MIN_TICK_NS 5000000u   /* ... or as often as stats lines are due, down to this */
#define WORKER_NICE (-10)    /* when SCHED_FIFO is refused, or stepped down */
#define WORKER_RT_PRIO 4     /* below the track threads (5) and the device (10) */
#define PLAY_RING_SLOTS 64  /* room for the largest --ahead */
#define PLAY_BATCH_FRAMES 2048  /* channels sized for batches of up to this much audio */

static void on_audio(void *ctx, float *out, uint32_t frames, int underflow)
{
    player_process(ctx, out, frames, underflow);
}

static void sleep_ns(uint64_t ns)
{
    struct timespec t = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    nanosleep(&t, NULL);
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

/* The main thread while playing: every tick it drains the workers'
 * messages, updates and publishes the meters, draws the overlay or the
 * terminal table, handles the keys, and writes a stats line when one is
 * due; then a final line when playback has ended. */
static void monitor(struct engine *e, struct player *p, struct meter *meter, struct stats *st,
                    struct overlay *ov, int term, const struct play_options *o)
{
    static struct meter_snapshot snap;   /* main thread only; large */
    uint64_t t0 = plat_now_ns(), every = (uint64_t)(o->stats_interval * 1e9);
    uint64_t next_stats = t0 + every, next_term = t0;
    uint64_t tick = st && every < TICK_NS ? (every > MIN_TICK_NS ? every : MIN_TICK_NS) : TICK_NS;
    const char *snapshot_path = getenv("SHMIX_GUI_SNAPSHOT");
    for (int ended = 0; !ended;) {
        ended = player_finished(p);
        if (!ended)
            sleep_ns(tick);
        if (o->stop && *o->stop)
            player_request_stop(p);
        drain(e);
        uint64_t now = plat_now_ns();
        struct meter_frame fr = {.state = ended ? "stopped"
                                        : player_paused(p) ? "paused" : "playing"};
        player_stats(p, &fr);
        fr.time = (double)(now - t0) / 1e9;
        fr.gui_cpu = ov ? (float)(100.0 * (double)overlay_cpu_ns(ov) / (double)(now - t0 + 1))
                        : 0.0f;
        meter_update(meter, &fr);
        meter_read(meter, &snap);
        if (st)
            stats_observe(st, &snap);
        if (ov) {
            struct overlay_input in[16];
            int n = overlay_frame(ov, &snap, in, 16);
            for (int i = 0; i < n; i++)
                act(e, p, &in[i]);
            if (snapshot_path && fr.time > 3.0) {   /* tests: one picture of the window */
                overlay_save(ov, snapshot_path);
                snapshot_path = NULL;
            }
        }
        if (term && (now >= next_term || ended)) {
            termview_draw(stderr, &snap);
            next_term = now + 100000000u;
        }
        if (st && (now >= next_stats || ended)) {
            stats_write(st, o->stats, &snap);
            next_stats += every;
            if (next_stats < now)   /* fell behind (a stall): skip, never a burst */
                next_stats = now + every;
        }
    }
    if (term)
        termview_end(stderr);
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
        fprintf(stderr, "shmix: %s; playing on the null device instead\n", err);
    }
    return audio_open_null(&c, a, rate) == SHX_OK ? 0 : 1;
}

int play_run(const struct session *s, const struct play_options *o, char *err, size_t cap)
{
    struct audio *a = NULL;
    struct engine *e = NULL;
    struct player *p = NULL;
    struct stats *st = NULL;
    int rate = 0, status = open_output(s, o, &a, &rate, err, cap);
    if (status) {
        if (status == 1)
            snprintf(err, cap, "cannot open any output");
        audio_close(a);
        return status;
    }
    /* Workers are SCHED_FIFO below the track threads, guarded by
     * RLIMIT_RTTIME: a worker stuck in a loop is stepped down to nice -10
     * within WORKER_RTTIME_US, so it cannot keep the other workers off a
     * CPU while the engine waits out hang_timeout (docs/realtime.md).
     * Tracks are not pinned: the scheduler moves a runnable worker to
     * whichever CPU is free, so a stalled or slowed CPU (a VM's neighbours)
     * does not hold up the half of the tracks that would be pinned to it. */
    struct engine_options eo = {.sample_rate = rate, .block_size = o->block,
                                .ring_slots = PLAY_RING_SLOTS, .worker_nice = WORKER_NICE,
                                .worker_rt_prio = WORKER_RT_PRIO,
                                .batch_frames = PLAY_BATCH_FRAMES};
    int rc = engine_create(s, &eo, &e, err, cap);
    if (rc < 0)
        status = rc == SHX_EIO || rc == SHX_EFORMAT ? 2 : 1;
    if (!status) {
        /* A script that fails setup() does not stop playback: its track
         * plays per on_fault (the traceback is on stderr already). */
        char why[1024];
        engine_start_workers(e, why, sizeof why);
        if (engine_supervise(e, why, sizeof why) < 0)
            fprintf(stderr, "shmix: %s\n", why);
        struct player_options po = {o->start, o->duration, o->loop, o->ahead, 1};
        rc = player_create(e, &po, &p, err, cap);
        if (rc < 0)
            status = rc == SHX_EUSAGE ? 2 : 1;
    }
    struct meter *meter = NULL;
    struct overlay *ov = NULL;
    if (!status && ((o->stats && stats_create(&st) < 0)
                    || meter_create(e, o->session_name, 1, &meter) < 0))
        status = 1;
    if (!status && o->gui) {
        char title[200], why[256];
        snprintf(title, sizeof title, "shmix - %s", o->session_name);
        if (overlay_create(title, engine_ntracks(e), &ov, why, sizeof why) < 0)
            fprintf(stderr, "shmix: %s; showing the meters in the terminal instead\n", why);
    }
    int meter_in_terminal = !status && (o->meter || (o->gui && !ov));
    if (!status && plat_lock_memory() < 0)
        fprintf(stderr, "shmix: cannot lock memory (raise `ulimit -l`); playing without it\n");
    if (!status && (rc = player_start(p, err, cap)) < 0)
        status = 1;
    if (!status) {
        rc = audio_start(a, on_audio, p, engine_block_size(e), err, cap);
        if (rc < 0) {
            fprintf(stderr, "shmix: %s; playing on the null device instead\n", err);
            audio_close(a);
            a = NULL;
            struct audio_config c = {NULL, rate, engine_channels(e)};
            rc = audio_open_null(&c, &a, &rate);
            if (rc == SHX_OK)
                rc = audio_start(a, on_audio, p, engine_block_size(e), err, cap);
            if (rc < 0)
                status = 1;
        }
    }
    if (!status) {
        fprintf(stderr, "shmix: playing on %s, %d Hz, %u frames per block; ^C stops\n",
                audio_name(a), rate, engine_block_size(e));
        if (player_rt_denied(p))
            fprintf(stderr, "shmix: real-time scheduling (SCHED_FIFO) refused: raise `ulimit -r` "
                            "(rtprio); playing without it\n");
        monitor(e, p, meter, st, ov, meter_in_terminal, o);
        audio_stop(a);
        drain(e);
    }
    overlay_destroy(ov);
    meter_destroy(meter);
    audio_stop(a);
    player_destroy(p);
    stats_destroy(st);
    engine_destroy(e);
    audio_close(a);
    return status;
}
