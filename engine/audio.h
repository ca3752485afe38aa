/* audio.h - where played audio goes: a PortAudio output stream, or the
 * null device, a real-time paced clock with no sound card behind it.
 *
 * Both call the same callback from their real-time thread once per period
 * of `block` frames. Main thread for everything but the callback. */
#ifndef SHX_AUDIO_H
#define SHX_AUDIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct audio;

/* Real-time. Fill frames x channels floats; underflow: the device reported
 * an xrun since the previous call. */
typedef void (*audio_fn)(void *ctx, float *out, uint32_t frames, int underflow);

struct audio_config {
    const char *device;   /* PortAudio: index or name substring; NULL = default */
    int rate;             /* Hz; 0 = the device's default */
    int channels;
};

/* Main. Starts PortAudio and picks the device (config.device, else JACK's
 * default output when a JACK server runs, else PortAudio's default output)
 * without opening it yet; fills *rate with the rate it will run at.
 * Errors: SHX_EIO (no usable output device: err says why; fall back to
 * null), SHX_EUSAGE (no device matches config.device). */
int audio_open_device(const struct audio_config *c, struct audio **out, int *rate,
                      char *err, size_t cap);
/* Main. The null device at c->rate (48000 when 0). Errors: SHX_ENOMEM. */
int audio_open_null(const struct audio_config *c, struct audio **out, int *rate);
/* Main. Sets the callback now that the engine exists, opens the stream
 * and starts it. Errors: SHX_EIO (err says why), SHX_ESYS. */
int audio_start(struct audio *a, audio_fn fn, void *ctx, uint32_t block, char *err,
                size_t cap);
/* Main. Stops the stream; idempotent. */
void audio_stop(struct audio *a);
/* Main. Closes; audio_close(NULL) is a no-op. */
void audio_close(struct audio *a);
/* Any thread. A one-line description ("PortAudio: JACK Audio Connection
 * Kit: system", "null device"). */
const char *audio_name(const struct audio *a);
/* Main. Lists PortAudio's devices, with their output and input channels.
 * Returns 0 or SHX_EIO. */
int audio_list_devices(FILE *f);

#endif
