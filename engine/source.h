/* source.h - one track's audio file, read in order at the session's rate.
 *
 * Wraps libsndfile (wav, flac, ogg, aiff) and libsamplerate. Output is
 * float32 interleaved in the *session's* channel count: a mono file feeds
 * both channels at unity gain; a stereo file in a mono session is summed at
 * -6 dB. Not real-time safe (file I/O): read by the render loop or by the
 * disk thread, never by the audio callback. One thread at a time. */
#ifndef SHX_SOURCE_H
#define SHX_SOURCE_H

#include <stddef.h>
#include <stdint.h>

struct source;

/* Main. Opens path for playback at out_rate Hz into out_channels (1 or 2).
 * Fills err with a reason ("cannot open: ...", "has 6 channels ...").
 * Errors: SHX_EIO (cannot open or read), SHX_EFORMAT (channels, no frames). */
int source_open(const char *path, int out_rate, int out_channels,
                struct source **out, char *err, size_t cap);
/* Main. source_destroy(NULL) is a no-op. */
void source_destroy(struct source *s);

/* Any thread. The file's own channel count (1 or 2) and sample rate. */
int source_file_channels(const struct source *s);
int source_file_rate(const struct source *s);
/* Any thread. Length in frames at the output rate. */
int64_t source_frames(const struct source *s);

/* Reader thread. Moves the read position to frame (output rate).
 * Errors: SHX_EIO. */
int source_seek(struct source *s, int64_t frame);
/* Reader thread. Reads up to frames frames into buf (frames x out_channels
 * floats). Returns frames delivered; fewer than asked only at the end of the
 * file. Errors: SHX_EIO. */
int64_t source_read(struct source *s, float *buf, int64_t frames);

#endif
