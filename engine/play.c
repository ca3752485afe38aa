/* play.c - the play command; see play.h. */
#include "play.h"
#include "audio.h"
#include "engine.h"
#include "errors.h"
#include "platform.h"
#include "player.h"
#include "session.h"
#include "stats.h"
#include "track.h"

#include <stdio.h>
#include <time.h>

#define TICK_NS 20000000u   /* how often the main thread looks around */
#define WORKER_NICE (-10)
#define PLAY_RING_SLOTS 64  /* room for the largest --ahead */

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

static void write_stats(struct stats *st, struct player *p, FILE *f, uint64_t t0,
                        const char *state)
{
    struct stats_frame fr = {.state = state};
    player_stats(p, &fr);
    fr.time = (double)(plat_now_ns() - t0) / 1e9;
    stats_write(st, f, &fr);
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
    /* Workers get a larger share of the CPU than ordinary processes, not
     * SCHED_FIFO: a real-time worker stuck in a loop would starve the other
     * workers on its CPU until hang_timeout, and that would break the
     * promise that one track's fault never touches another's audio (see
     * docs/realtime.md). */
    struct engine_options eo = {.sample_rate = rate, .block_size = o->block,
                                .ring_slots = PLAY_RING_SLOTS, .worker_nice = WORKER_NICE};
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
    if (!status && o->stats && stats_create(e, &st) < 0)
        status = 1;
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
        uint64_t t0 = plat_now_ns(), every = (uint64_t)(o->stats_interval * 1e9);
        uint64_t next_stats = t0 + every;
        while (!player_finished(p)) {
            sleep_ns(TICK_NS);
            if (o->stop && *o->stop)
                player_request_stop(p);
            drain(e);
            if (st && plat_now_ns() >= next_stats) {
                write_stats(st, p, o->stats, t0, "playing");
                next_stats += every;
            }
        }
        audio_stop(a);
        drain(e);
        if (st)
            write_stats(st, p, o->stats, t0, "stopped");
    }
    audio_stop(a);
    player_destroy(p);
    stats_destroy(st);
    engine_destroy(e);
    audio_close(a);
    return status;
}
