/* audio_null.c - the null device: a real-time paced clock thread with no
 * sound card behind it, calling the callback once per period. A backend
 * of audio.c (audio_priv.h). */
#include "audio_priv.h"
#include "errors.h"
#include "platform.h"
#include "tuning.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>


struct null_audio {
    struct audio a;          /* first: see struct audio */
    pthread_t thread;
    atomic_int stop;
    float *buf;              /* block x channels floats the callback fills */
};

/* Real-time. One callback per period on an absolute CLOCK_MONOTONIC
 * schedule until n->stop. A wake-up later than a device buffer would have
 * allowed counts as an xrun, and the schedule restarts from now. */
static void null_loop(struct null_audio *n)
{
    struct audio *a = &n->a;
    uint64_t period = (uint64_t)a->block * NS_PER_S / (uint64_t)a->rate;
    uint64_t due = plat_now_ns();
    int xrun = 0;
    while (!atomic_load(&n->stop)) {
        a->fn(a->ctx, n->buf, a->block, xrun);
        xrun = 0;
        due += period;
        struct timespec next = plat_timespec(due);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) != 0)
            ;
        uint64_t now = plat_now_ns();
        if (now > due + NULL_SLACK_PERIODS * period) {
            xrun = 1;
            due = now;
        }
    }
}

/* The null device's thread: names itself, asks for a deadline reservation
 * of NULL_DEADLINE_PCT of each period, else for SCHED_FIFO (playing on
 * without either when refused), then runs the clock. A sound card's clock
 * does not stop when the kernel's fair server runs starved time-shared
 * tasks ahead of every SCHED_FIFO thread, up to 50 ms at once: a FIFO
 * clock did, and counted xruns at ~85 % busy that no track caused
 * (docs/realtime.md, "The fair server"). */
static void *null_main(void *arg)
{
    struct null_audio *n = arg;
    uint64_t period = (uint64_t)n->a.block * NS_PER_S / (uint64_t)n->a.rate;
    plat_thread_name("shmix-null");
    if (plat_deadline_thread(period * NULL_DEADLINE_PCT / 100u, period) != SHX_OK)
        plat_realtime_thread(PRIO_NULL_DEVICE);
    null_loop(n);
    return NULL;
}

static int null_start(struct audio *a, char *err, size_t cap)
{
    struct null_audio *n = (struct null_audio *)a;
    n->buf = calloc((size_t)a->block * (size_t)a->channels, sizeof(float));
    if (!n->buf || plat_thread_start(&n->thread, null_main, n) < 0) {
        snprintf(err, cap, "cannot start the null device");
        return SHX_ESYS;
    }
    return SHX_OK;
}

static void null_stop(struct audio *a)
{
    struct null_audio *n = (struct null_audio *)a;
    atomic_store(&n->stop, 1);
    pthread_join(n->thread, NULL);
}

static void null_close(struct audio *a)
{
    struct null_audio *n = (struct null_audio *)a;
    free(n->buf);
    free(n);
}

static const struct audio_ops null_ops = {
    .start = null_start,
    .stop = null_stop,
    .close = null_close,
};

int audio_null_open(const struct audio_config *c, struct audio **out, int *rate)
{
    struct null_audio *n = calloc(1, sizeof *n);
    if (!n)
        return SHX_ENOMEM;
    audio_init(&n->a, &null_ops, c->rate ? c->rate : 48000, c->channels,
               "the null device (a real-time clock, no sound)");
    *rate = n->a.rate;
    *out = &n->a;
    return SHX_OK;
}
