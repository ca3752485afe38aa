/* audio_portaudio.c - output through PortAudio: picking the device (JACK's
 * when a JACK server runs), the stream and its callback, and the device
 * list. A backend of audio.c (audio_priv.h). */
#include "audio_priv.h"
#include "errors.h"

#include <fcntl.h>
#include <portaudio.h>
#ifdef SHMIX_HAVE_PA_JACK
#include <pa_jack.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct pa_audio {
    struct audio a;          /* first: see struct audio */
    PaDeviceIndex dev;
    PaStream *stream;
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

static int pa_init(void)
{
#ifdef SHMIX_HAVE_PA_JACK
    /* In the JACK graph (qjackctl, jack_lsp) the client is "shmix", not
     * "PortAudio". Only read by Pa_Initialize; the string is not copied. */
    PaJack_SetClientName("shmix");
#endif
    int saved = mute_stderr();
    PaError e = Pa_Initialize();
    unmute_stderr(saved);
    return e == paNoError ? SHX_OK : SHX_EIO;
}

static void pa_term(void)
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

/* The output device --device names: an index, else the first output whose
 * "host API: name" contains spec (any case). paNoDevice when none. */
static PaDeviceIndex pick_spec(const char *spec, char *err, size_t cap)
{
    int count = Pa_GetDeviceCount();
    char *end;
    long idx = strtol(spec, &end, 10);
    if (*spec && !*end) {
        if (idx < 0 || idx >= count || !is_output((PaDeviceIndex)idx)) {
            snprintf(err, cap, "play: --device %s: not an output device (see shmix devices)",
                     spec);
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
    snprintf(err, cap, "play: --device %s: no output device matches (see shmix devices)", spec);
    return paNoDevice;
}

/* spec's device (*usage set when it names none), else JACK's default
 * output, else PortAudio's; paNoDevice when there is none. */
static PaDeviceIndex pick(const char *spec, char *err, size_t cap, int *usage)
{
    *usage = 0;
    if (spec) {
        PaDeviceIndex i = pick_spec(spec, err, cap);
        *usage = i == paNoDevice;
        return i;
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

/* Real-time. PortAudio's callback: hands the buffer to the engine. */
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

static int pa_start_stream(struct audio *a, char *err, size_t cap)
{
    struct pa_audio *p = (struct pa_audio *)a;
    const PaDeviceInfo *d = Pa_GetDeviceInfo(p->dev);
    PaStreamParameters op = {p->dev, a->channels, paFloat32, d->defaultLowOutputLatency, NULL};
    int saved = mute_stderr();
    PaError e = Pa_OpenStream(&p->stream, NULL, &op, a->rate, a->block,
                              paClipOff | paDitherOff, pa_callback, a);
    if (e == paNoError)
        e = Pa_StartStream(p->stream);
    unmute_stderr(saved);
    if (e != paNoError) {
        snprintf(err, cap, "%s: %s", a->name, Pa_GetErrorText(e));
        if (p->stream)
            Pa_CloseStream(p->stream);
        p->stream = NULL;
        return SHX_EIO;
    }
    return SHX_OK;
}

static void pa_stop_stream(struct audio *a)
{
    struct pa_audio *p = (struct pa_audio *)a;
    Pa_StopStream(p->stream);
    Pa_CloseStream(p->stream);
    p->stream = NULL;
}

/* Also the open's error path: PortAudio is up, no stream is open. */
static void pa_close(struct audio *a)
{
    pa_term();
    free(a);
}

static const struct audio_ops pa_ops = {
    .start = pa_start_stream,
    .stop = pa_stop_stream,
    .close = pa_close,
};

/* Fills p's header for device p->dev and checks that the device can play
 * c's channels at the rate. Errors: SHX_EIO (err says why). */
static int pa_configure(struct pa_audio *p, const struct audio_config *c, char *err,
                        size_t cap)
{
    const PaDeviceInfo *d = Pa_GetDeviceInfo(p->dev);
    char what[200], name[256];
    describe(p->dev, what, sizeof what);
    snprintf(name, sizeof name, "PortAudio (%s)", what);
    audio_init(&p->a, &pa_ops, c->rate ? c->rate : (int)d->defaultSampleRate, c->channels,
               name);
    if (d->maxOutputChannels < c->channels) {
        snprintf(err, cap, "%s has %d output channel(s), the session needs %d", name,
                 d->maxOutputChannels, c->channels);
        return SHX_EIO;
    }
    PaStreamParameters op = {p->dev, c->channels, paFloat32, d->defaultLowOutputLatency, NULL};
    if (Pa_IsFormatSupported(NULL, &op, p->a.rate) != paFormatIsSupported) {
        snprintf(err, cap, "%s cannot play %d Hz, %d channel(s)", name, p->a.rate,
                 c->channels);
        return SHX_EIO;
    }
    return SHX_OK;
}

int audio_portaudio_open(const struct audio_config *c, struct audio **out, int *rate,
                         char *err, size_t cap)
{
    struct pa_audio *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, cap, "out of memory");
        return SHX_ENOMEM;
    }
    if (pa_init() < 0) {
        snprintf(err, cap, "cannot start PortAudio");
        free(p);
        return SHX_EIO;
    }
    int usage;
    p->dev = pick(c->device, err, cap, &usage);
    if (p->dev == paNoDevice) {
        pa_close(&p->a);
        return usage ? SHX_EUSAGE : SHX_EIO;
    }
    int rc = pa_configure(p, c, err, cap);
    if (rc < 0) {
        pa_close(&p->a);
        return rc;
    }
    *rate = p->a.rate;
    *out = &p->a;
    return SHX_OK;
}

/* One device's row: index (* the default output), host API, name, output
 * and input channels, default rate. */
static void list_row(FILE *f, PaDeviceIndex i, const PaDeviceInfo *d, PaDeviceIndex def)
{
    const PaHostApiInfo *h = Pa_GetHostApiInfo(d->hostApi);
    fprintf(f, "%5d%c %-28s %-36s %7d %6d %12.0f\n", i, i == def ? '*' : ' ',
            h ? h->name : "?", d->name, d->maxOutputChannels, d->maxInputChannels,
            d->defaultSampleRate);
}

int audio_portaudio_list(FILE *f)
{
    if (pa_init() < 0)
        return SHX_EIO;
    int count = Pa_GetDeviceCount(), outputs = 0;
    PaDeviceIndex def = Pa_GetDefaultOutputDevice();
    fprintf(f, "%5s  %-28s %-36s %7s %6s %12s\n", "index", "host API", "name", "outputs",
            "inputs", "default rate");
    for (PaDeviceIndex i = 0; i < count; i++) {
        const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
        if (!d || (d->maxOutputChannels <= 0 && d->maxInputChannels <= 0))
            continue;
        list_row(f, i, d, def);
        outputs += d->maxOutputChannels > 0;
    }
    if (!outputs)
        fprintf(f, "(no output devices: play falls back to the null device)\n");
    pa_term();
    return SHX_OK;
}
