/* audio_priv.h - the inside of an audio output, shared by the front
 * (audio.c) and the backends, in the style of sndio's sio_priv.h: each
 * backend is a table of operations in a file of its own
 * (audio_portaudio.c, audio_null.c). A new backend is a new file with an
 * open function that fills the common header and points it at its table.
 * Nothing but audio*.c includes it. */
#ifndef SHX_AUDIO_PRIV_H
#define SHX_AUDIO_PRIV_H

#include "audio.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct audio_ops;

/* The common header of every output. A backend embeds it as the first
 * member of its own struct (struct pa_audio { struct audio a; ... }), as
 * sndio's backends embed struct sio_hdl, rather than hanging its state off
 * a void pointer here: one allocation and one free per output, the
 * backend's fields stay typed, and a pointer to the backend's struct and
 * one to its first member convert into each other (C11 6.7.2.1p15), so a
 * backend gets its own struct back from the struct audio * it is handed
 * with a plain cast. */
struct audio {
    const struct audio_ops *ops;
    int rate, channels;
    uint32_t block;      /* frames per callback; set by audio_start */
    audio_fn fn;         /* set by audio_start; the backend's real-time */
    void *ctx;           /* thread calls fn(ctx, ...) once per period */
    int running;         /* ops->start succeeded, ops->stop not called yet */
    char name[256];      /* what audio_name returns */
};

/* What a backend does. The front calls them from the main thread, each at
 * most once per output in the order start, stop, close (stop only after a
 * start that succeeded; close always, last). */
struct audio_ops {
    /* Main. Opens and starts the stream: a->fn, a->ctx and a->block are
     * set. On failure nothing runs and err says why. Errors: SHX_EIO,
     * SHX_ESYS. */
    int (*start)(struct audio *a, char *err, size_t cap);
    /* Main. Stops what start started; fn is not called once it returns. */
    void (*stop)(struct audio *a);
    /* Main. Frees the backend's state and a itself; a is stopped. */
    void (*close)(struct audio *a);
};

/* Main. Fills the common header of a zeroed output (name is copied). */
void audio_init(struct audio *a, const struct audio_ops *ops, int rate, int channels,
                const char *name);

/* The backends' open functions: audio.h's audio_open_device and
 * audio_open_null, same contracts. */
int audio_portaudio_open(const struct audio_config *c, struct audio **out, int *rate,
                         char *err, size_t cap);
int audio_null_open(const struct audio_config *c, struct audio **out, int *rate);
/* Main. audio.h's audio_list_devices. */
int audio_portaudio_list(FILE *f);

#endif
