/* timeline.c - block positions with looping; see timeline.h. */
#include "timeline.h"

int timeline_segments(const struct timeline *tl, int64_t pos, uint32_t n,
                      struct timeline_seg *segs, int max, int64_t *next)
{
    int count = 0;
    while (n > 0 && count < max) {
        uint32_t take = n;
        int wraps = tl->looping && pos < tl->loop_end && pos + n >= tl->loop_end;
        if (wraps)
            take = (uint32_t)(tl->loop_end - pos);
        if (take > 0) {
            segs[count].pos = pos;
            segs[count].frames = take;
            count++;
        }
        n -= take;
        pos = wraps ? tl->loop_start : pos + take;
    }
    *next = pos;
    return count;
}

int64_t timeline_advance(const struct timeline *tl, int64_t pos, int64_t frames)
{
    if (!tl->looping || pos >= tl->loop_end || pos + frames < tl->loop_end)
        return pos + frames;
    int64_t len = tl->loop_end - tl->loop_start;
    int64_t past = pos + frames - tl->loop_end;   /* frames beyond the first wrap */
    return tl->loop_start + past % len;
}

unsigned timeline_wraps(const struct timeline *tl, int64_t pos, uint32_t n)
{
    struct timeline_seg segs[64];
    int64_t next;
    int count = timeline_segments(tl, pos, n, segs, 64, &next);
    unsigned how = count > 1 ? TL_WRAP_INSIDE : 0;
    /* A piece that ends at the loop's end ended on a wrap (a run past the
     * loop never reaches it). A loop shorter than the block can do both. */
    if (count > 0 && tl->looping && segs[count - 1].pos + segs[count - 1].frames == tl->loop_end)
        how |= TL_WRAP_AFTER;
    return how;
}
