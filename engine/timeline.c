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
