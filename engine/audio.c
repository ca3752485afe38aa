/* audio.c - PortAudio output and the null device; see audio.h. */
#include "audio.h"
#include "errors.h"
#include "platform.h"

#include <ctype.h>
#include <fcntl.h>
#include <portaudio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NULL_RT_PRIO 10      /* the null clock stands in for the device's thread */
#define NULL_SLACK 3         /* periods a virtual device buffer holds */

struct audio {
    int is_null;
    int rate, channels;
    uint32_t block;
    audio_fn fn;
    void *ctx;
    char name[256];
    /* PortAudio */
    int pa_up;
    PaDeviceIndex dev;
    PaStream *stream;
    /* null */
    pthread_t thread;
    int thread_up;
    atomic_int stop;
    float *buf;
};

/* ALSA and JACK print their probing to stderr while PortAudio starts on a
 * machine without a sound card; hide it (our own errors come after). */
static int mute_stderr(void)
{
    fflush(stderr);
    int saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 10);
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDERR_FILENO);
        close(null);
    }
    return saved;
}

static void unmute_stderr(int saved)
{
    if (saved >= 0) {
        dup2(saved, STDERR_FILENO);
        close(saved);
    }
}

static int pa_start(void)
{
    int saved = mute_stderr();
    PaError e = Pa_Initialize();
    unmute_stderr(saved);
    return e == paNoError ? SHX_OK : SHX_EIO;
}

static void pa_stop(void)
{
    int saved = mute_stderr();
    Pa_Terminate();
    unmute_stderr(saved);
}

static int is_output(PaDeviceIndex i)
{
    const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
    return d && d->maxOutputChannels > 0;
}

static void describe(PaDeviceIndex i, char *buf, size_t cap)
{
    const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
    const PaHostApiInfo *h = d ? Pa_GetHostApiInfo(d->hostApi) : NULL;
    snprintf(buf, cap, "%s: %s", h ? h->name : "?", d ? d->name : "?");
}

static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return n == 0;
}

static PaDeviceIndex pick(const char *spec, char *err, size_t cap, int *usage)
{
    int count = Pa_GetDeviceCount();
    *usage = 0;
    if (spec) {
        char *end;
        long idx = strtol(spec, &end, 10);
        if (*spec && !*end) {
            if (idx < 0 || idx >= count || !is_output((PaDeviceIndex)idx)) {
                snprintf(err, cap, "play: --device %s: not an output device (see shmix devices)",
                         spec);
                *usage = 1;
                return paNoDevice;
            }
            return (PaDeviceIndex)idx;
        }
        for (PaDeviceIndex i = 0; i < count; i++) {
            char d[256];
            describe(i, d, sizeof d);
            if (is_output(i) && contains_nocase(d, spec))
                return i;
        }
        snprintf(err, cap, "play: --device %s: no output device matches (see shmix devices)",
                 spec);
        *usage = 1;
        return paNoDevice;
    }
    /* A running JACK server is what the user wants to play into. */
    PaHostApiIndex jack = Pa_HostApiTypeIdToHostApiIndex(paJACK);
    if (jack >= 0) {
        const PaHostApiInfo *h = Pa_GetHostApiInfo(jack);
        if (h && h->defaultOutputDevice != paNoDevice && is_output(h->defaultOutputDevice))
            return h->defaultOutputDevice;
    }
    PaDeviceIndex d = Pa_GetDefaultOutputDevice();
    if (d == paNoDevice || !is_output(d))
        snprintf(err, cap, "no audio output device");
    return d;
}

int audio_open_device(const struct audio_config *c, struct audio **out, int *rate,
                      char *err, size_t cap)
{
    struct audio *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, cap, "out of memory");
        return SHX_ENOMEM;
    }
    if (pa_start() < 0) {
        snprintf(err, cap, "cannot start PortAudio");
        free(a);
        return SHX_EIO;
    }
    a->pa_up = 1;
    int usage;
    a->dev = pick(c->device, err, cap, &usage);
    if (a->dev == paNoDevice) {
        audio_close(a);
        return usage ? SHX_EUSAGE : SHX_EIO;
    }
    const PaDeviceInfo *d = Pa_GetDeviceInfo(a->dev);
    char what[200];
    describe(a->dev, what, sizeof what);
    snprintf(a->name, sizeof a->name, "PortAudio (%s)", what);
    if (d->maxOutputChannels < c->channels) {
        snprintf(err, cap, "%s has %d output channel(s), the session needs %d", a->name,
                 d->maxOutputChannels, c->channels);
        audio_close(a);
        return SHX_EIO;
    }
    a->rate = c->rate ? c->rate : (int)d->defaultSampleRate;
    a->channels = c->channels;
    PaStreamParameters op = {a->dev, c->channels, paFloat32, d->defaultLowOutputLatency, NULL};
    if (Pa_IsFormatSupported(NULL, &op, a->rate) != paFormatIsSupported) {
        snprintf(err, cap, "%s cannot play %d Hz, %d channel(s)", a->name, a->rate, c->channels);
        audio_close(a);
        return SHX_EIO;
    }
    *rate = a->rate;
    *out = a;
    return SHX_OK;
}

int audio_open_null(const struct audio_config *c, struct audio **out, int *rate)
{
    struct audio *a = calloc(1, sizeof *a);
    if (!a)
        return SHX_ENOMEM;
    a->is_null = 1;
    a->rate = c->rate ? c->rate : 48000;
    a->channels = c->channels;
    snprintf(a->name, sizeof a->name, "the null device (a real-time clock, no sound)");
    *rate = a->rate;
    *out = a;
    return SHX_OK;
}

static int pa_callback(const void *in, void *out, unsigned long frames,
                       const PaStreamCallbackTimeInfo *ti, PaStreamCallbackFlags flags,
                       void *user)
{
    (void)in;
    (void)ti;
    struct audio *a = user;
    a->fn(a->ctx, out, (uint32_t)frames, (flags & paOutputUnderflow) != 0);
    return paContinue;
}

static void add_ns(struct timespec *t, uint64_t ns)
{
    uint64_t v = (uint64_t)t->tv_nsec + ns;
    t->tv_sec += (time_t)(v / 1000000000u);
    t->tv_nsec = (long)(v % 1000000000u);
}

/* The null device's thread: one callback per period on an absolute
 * CLOCK_MONOTONIC schedule. A wake-up later than a device buffer would have
 * allowed counts as an xrun, and the schedule restarts from now. */
static void *null_main(void *arg)
{
    struct audio *a = arg;
    plat_thread_name("shmix-null");
    plat_realtime_thread(NULL_RT_PRIO);
    uint64_t period = (uint64_t)a->block * 1000000000u / (uint64_t)a->rate;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    int xrun = 0;
    while (!atomic_load(&a->stop)) {
        a->fn(a->ctx, a->buf, a->block, xrun);
        xrun = 0;
        add_ns(&next, period);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) != 0)
            ;
        uint64_t due = (uint64_t)next.tv_sec * 1000000000u + (uint64_t)next.tv_nsec;
        uint64_t now = plat_now_ns();
        if (now > due + NULL_SLACK * period) {
            xrun = 1;
            next.tv_sec = (time_t)(now / 1000000000u);
            next.tv_nsec = (long)(now % 1000000000u);
        }
    }
    return NULL;
}

int audio_start(struct audio *a, audio_fn fn, void *ctx, uint32_t block, char *err,
                size_t cap)
{
    a->fn = fn;
    a->ctx = ctx;
    a->block = block;
    if (a->is_null) {
        a->buf = calloc((size_t)block * (size_t)a->channels, sizeof(float));
        if (!a->buf || plat_thread_start(&a->thread, null_main, a) < 0) {
            snprintf(err, cap, "cannot start the null device");
            return SHX_ESYS;
        }
        a->thread_up = 1;
        return SHX_OK;
    }
    const PaDeviceInfo *d = Pa_GetDeviceInfo(a->dev);
    PaStreamParameters op = {a->dev, a->channels, paFloat32, d->defaultLowOutputLatency, NULL};
    int saved = mute_stderr();
    PaError e = Pa_OpenStream(&a->stream, NULL, &op, a->rate, block, paClipOff | paDitherOff,
                              pa_callback, a);
    if (e == paNoError)
        e = Pa_StartStream(a->stream);
    unmute_stderr(saved);
    if (e != paNoError) {
        snprintf(err, cap, "%s: %s", a->name, Pa_GetErrorText(e));
        if (a->stream)
            Pa_CloseStream(a->stream);
        a->stream = NULL;
        return SHX_EIO;
    }
    return SHX_OK;
}

void audio_stop(struct audio *a)
{
    if (!a)
        return;
    if (a->thread_up) {
        atomic_store(&a->stop, 1);
        pthread_join(a->thread, NULL);
        a->thread_up = 0;
    }
    if (a->stream) {
        Pa_StopStream(a->stream);
        Pa_CloseStream(a->stream);
        a->stream = NULL;
    }
}

void audio_close(struct audio *a)
{
    if (!a)
        return;
    audio_stop(a);
    if (a->pa_up)
        pa_stop();
    free(a->buf);
    free(a);
}

const char *audio_name(const struct audio *a) { return a->name; }

int audio_list_devices(FILE *f)
{
    if (pa_start() < 0)
        return SHX_EIO;
    int count = Pa_GetDeviceCount();
    PaDeviceIndex def = Pa_GetDefaultOutputDevice();
    fprintf(f, "%5s  %-28s %-36s %8s %12s\n", "index", "host API", "name", "channels",
            "default rate");
    int shown = 0;
    for (PaDeviceIndex i = 0; i < count; i++) {
        const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
        if (!d || d->maxOutputChannels <= 0)
            continue;
        const PaHostApiInfo *h = Pa_GetHostApiInfo(d->hostApi);
        fprintf(f, "%5d%c %-28s %-36s %8d %12.0f\n", i, i == def ? '*' : ' ',
                h ? h->name : "?", d->name, d->maxOutputChannels, d->defaultSampleRate);
        shown++;
    }
    if (!shown)
        fprintf(f, "(no output devices: play falls back to the null device)\n");
    pa_stop();
    return SHX_OK;
}
