/* feed.h - a track's input: its file placed on the timeline.
 *
 * Produces the dry input of a block at a timeline position: silence before
 * the track's offset and after its end, the file's frames (resampled, in
 * the session's channels) in between, split at a loop's end when the run
 * loops. Not real-time (file I/O): called by the render loop's track
 * threads or by the disk thread in play. One thread at a time. */
#ifndef SHX_FEED_H
#define SHX_FEED_H

#include <stdint.h>

struct source;
struct timeline;
struct feed;

/* Main. Takes ownership of src. offset: frames on the timeline where the
 * file starts. Errors: SHX_ENOMEM. */
int feed_create(struct source *src, int64_t offset, uint32_t block, int channels,
                struct feed **out);
/* Main. Frees the feed and its source; NULL is a no-op. */
void feed_destroy(struct feed *f);
/* Any thread. The file's channel count (for the pan law). */
int feed_file_channels(const struct feed *f);

/* Reader thread. Fills out (block x channels floats) with the block at
 * timeline position pos; returns where the next block starts. */
int64_t feed_read(struct feed *f, const struct timeline *tl, int64_t pos, float *out);

#endif
