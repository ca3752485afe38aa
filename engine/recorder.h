/* recorder.h - play --record: the samples the audio callback hands the
 * device, written to a file off the audio thread.
 *
 * DESIGN. The callback copies each buffer it has filled into an SPSC ring
 * (ring.c) of a few seconds of audio and returns: no lock, no allocation,
 * no system call - not even a wake-up, because the writer thread is never
 * asleep on the ring: it looks every RECORD_POLL_NS, writes whatever the
 * ring holds (outfile.c: encoding and disk I/O happen there) and sleeps
 * again. What does not fit in the ring (the writer fell seconds behind) is
 * dropped and counted, never waited for. The file is written like a
 * render's: unnamed until recorder_finish links it into place, so an
 * error, an interrupted start or a SIGKILL leaves no partial file. */
#ifndef SHX_RECORDER_H
#define SHX_RECORDER_H

#include <stddef.h>
#include <stdint.h>

struct recorder;

/* Main. Opens the file for path (format by extension, as outfile.c) at
 * rate and channels, sizes the ring for callbacks of block frames (longer
 * ones are split) and starts the writer thread. Errors, with "PATH:
 * reason" in err: SHX_EUSAGE (not .wav, .flac or .ogg), SHX_EIO (cannot
 * write there), SHX_ENOMEM, SHX_ESYS. */
int recorder_create(const char *path, int rate, int channels, uint32_t block,
                    struct recorder **out, char *err, size_t cap);

/* Real-time (the audio callback). Appends frames x channels interleaved
 * floats. Wait-free; when the ring has no room for all of them, all of
 * them are dropped and counted. */
void recorder_push(struct recorder *r, const float *buf, uint32_t frames);

/* Main, once nothing calls recorder_push any more (the device is stopped).
 * Writes what the ring still holds, stops the writer and links the file
 * into place. *dropped: frames recorder_push had no room for (the file
 * then lacks them). Errors: SHX_EIO (a write failed; nothing is left at
 * path; err says why). */
int recorder_finish(struct recorder *r, uint64_t *dropped, char *err, size_t cap);

/* Main. Stops the writer; a recording not finished is discarded (nothing
 * at path). NULL is a no-op. */
void recorder_destroy(struct recorder *r);

#endif
