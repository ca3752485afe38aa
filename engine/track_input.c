/* track_input.c - a track's dry input: in play the disk thread reads the
 * file ahead into the input ring (track_prefetch, not real-time: file I/O)
 * and the track thread takes each block from it (track_input_take,
 * real-time: a copy); in render there is no ring and no deadline, and the
 * track thread reads the file itself. See track_priv.h. */
#include "track_priv.h"
#include "feed.h"
#include "platform.h"
#include "ring.h"

#include <stdatomic.h>
#include <string.h>

int track_prefetch(struct track *t)
{
    int n = 0;
    void *s;
    while (t->disk.index < t->run.count && (s = ring_write_slot(t->in_ring)) != NULL) {
        slot_head(s)->index = t->disk.index;
        t->disk.pos = feed_read(t->feed, &t->run.tl, t->disk.pos, slot_audio(s));
        ring_commit(t->in_ring);
        t->disk.index++;
        n++;
    }
    return n;
}

void track_input_take(struct track *t, int64_t k, float *dst)
{
    if (!t->in_ring) {   /* render: read here, nothing waits on a deadline */
        t->loop.render_pos = feed_read(t->feed, &t->run.tl, t->loop.render_pos, dst);
        return;
    }
    void *s;
    while ((s = ring_read_slot(t->in_ring)) != NULL && slot_head(s)->index < k)
        ring_release(t->in_ring);                       /* skipped blocks */
    if (s && slot_head(s)->index == k) {
        memcpy(dst, slot_audio(s), t->block_floats * sizeof(float));
        ring_release(t->in_ring);
    } else {
        memset(dst, 0, t->block_floats * sizeof(float));
        atomic_fetch_add_explicit(&t->c.disk_late, 1, memory_order_relaxed);
    }
    /* Crossing below half full: tell the disk thread (one FUTEX_WAKE per
     * half ring; it also looks on its own every DISK_LOOK_NS). */
    if (t->run.disk_kick && ring_fill(t->in_ring) == t->cfg.prefetch_slots / 2 - 1) {
        __atomic_fetch_add(t->run.disk_kick, 1, __ATOMIC_RELEASE);
        plat_wake(t->run.disk_kick);
    }
}
