/* feed.c - a file on the timeline; see feed.h. */
#include "feed.h"
#include "errors.h"
#include "source.h"
#include "timeline.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SEGS 64   /* pieces per block; only a loop far shorter than a block needs many */

struct feed {
    struct source *src;
    int64_t offset;       /* frames */
    int64_t next;         /* source frame the next read continues from, -1 = unknown */
    uint32_t block;
    int channels;
};

int feed_create(struct source *src, int64_t offset, uint32_t block, int channels,
                struct feed **out)
{
    struct feed *f = calloc(1, sizeof *f);
    if (!f)
        return SHX_ENOMEM;
    f->src = src;
    f->offset = offset;
    f->next = -1;
    f->block = block;
    f->channels = channels;
    *out = f;
    return SHX_OK;
}

void feed_destroy(struct feed *f)
{
    if (!f)
        return;
    source_destroy(f->src);
    free(f);
}

int feed_file_channels(const struct feed *f)
{
    return source_file_channels(f->src);
}

/* Timeline frames [pos, pos + n) into out; zeros where the file is not. */
static void read_span(struct feed *f, int64_t pos, uint32_t n, float *out)
{
    int64_t len = source_frames(f->src);
    int64_t a = pos - f->offset;                      /* file frame at span start */
    int64_t from = a < 0 ? 0 : a;
    int64_t to = a + n < len ? a + n : len;
    size_t ch = (size_t)f->channels;
    if (to <= from) {
        memset(out, 0, sizeof(float) * n * ch);
        return;
    }
    /* Zeros only where the file is not (one pass fewer over the block). */
    memset(out, 0, sizeof(float) * (size_t)(from - a) * ch);
    memset(out + (to - a) * (int64_t)ch, 0, sizeof(float) * (size_t)(a + n - to) * ch);
    float *span = out + (from - a) * (int64_t)ch;
    /* Sequential reads continue; anything else (start, loop) seeks. */
    int64_t got = -1;
    if (from == f->next || source_seek(f->src, from) == SHX_OK)
        got = source_read(f->src, span, to - from);
    int64_t have = got > 0 ? got : 0;   /* an error, or short: silence for the rest */
    memset(span + have * (int64_t)ch, 0, sizeof(float) * (size_t)(to - from - have) * ch);
    f->next = got > 0 ? from + got : -1;
}

int64_t feed_read(struct feed *f, const struct timeline *tl, int64_t pos, float *out)
{
    struct timeline_seg segs[MAX_SEGS];
    int64_t next;
    int n = timeline_segments(tl, pos, f->block, segs, MAX_SEGS, &next);
    uint32_t done = 0;
    for (int i = 0; i < n; i++) {
        read_span(f, segs[i].pos, segs[i].frames, out + (size_t)done * f->channels);
        done += segs[i].frames;
    }
    if (done < f->block)
        memset(out + (size_t)done * f->channels, 0,
               sizeof(float) * (f->block - done) * (size_t)f->channels);
    return next;
}
