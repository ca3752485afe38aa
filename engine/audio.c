/* audio.c - the front of the audio outputs: opens a backend and hands each
 * call to its table of operations (audio_priv.h). The backends are
 * audio_portaudio.c and audio_null.c. See audio.h. */
#include "audio_priv.h"
#include "errors.h"

void audio_init(struct audio *a, const struct audio_ops *ops, int rate, int channels,
                const char *name)
{
    a->ops = ops;
    a->rate = rate;
    a->channels = channels;
    snprintf(a->name, sizeof a->name, "%s", name);
}

int audio_open_device(const struct audio_config *c, struct audio **out, int *rate,
                      char *err, size_t cap)
{
    return audio_portaudio_open(c, out, rate, err, cap);
}

int audio_open_null(const struct audio_config *c, struct audio **out, int *rate)
{
    return audio_null_open(c, out, rate);
}

int audio_start(struct audio *a, audio_fn fn, void *ctx, uint32_t block, char *err,
                size_t cap)
{
    a->fn = fn;
    a->ctx = ctx;
    a->block = block;
    int rc = a->ops->start(a, err, cap);
    if (rc == SHX_OK)
        a->running = 1;
    return rc;
}

void audio_stop(struct audio *a)
{
    if (!a || !a->running)
        return;
    a->ops->stop(a);
    a->running = 0;
}

void audio_close(struct audio *a)
{
    if (!a)
        return;
    audio_stop(a);
    a->ops->close(a);
}

const char *audio_name(const struct audio *a) { return a->name; }

int audio_list_devices(FILE *f) { return audio_portaudio_list(f); }
