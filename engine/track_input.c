/* track_input.c - a track's dry input: in play the disk thread reads the
 * file ahead into the input ring (track_prefetch, not real-time: file I/O)
 * and the track thread takes each block from it (track_input_take,
 * real-time: a copy); in render there is no ring and no deadline, and the
 * track thread reads the file itself. See track_priv.h. */
#include "track_priv.h"
#include "channel.h"
#include "feed.h"
#include "platform.h"
#include "ring.h"

#include <stdatomic.h>
#include <string.h>

/* What the script is told about the block of the run numbered index at pos
 * (CHAN_BLK_*): jumped on the run's first block; jumped and reset on the
 * block a loop wraps inside of, and on the first after a wrap at a block's
 * end (*carry remembers one from the block before). */
static uint32_t block_flags(const struct track *t, int64_t index, int64_t pos, int *carry)
{
    uint32_t f = index == 0 ? CHAN_BLK_JUMPED : 0;
    if (*carry)
        f |= CHAN_BLK_JUMPED | CHAN_BLK_RESET;
    unsigned w = timeline_wraps(&t->run.tl, pos, t->cfg.block_size);
    if (w & TL_WRAP_INSIDE)
        f |= CHAN_BLK_JUMPED | CHAN_BLK_RESET;
    *carry = (w & TL_WRAP_AFTER) != 0;
    return f;
}

int track_prefetch(struct track *t)
{
    int n = 0;
    void *s;
    while (t->disk.index < t->run.count && (s = ring_write_slot(t->in_ring)) != NULL) {
        slot_head(s)->index = t->disk.index;
        slot_head(s)->pos = t->disk.pos;
        slot_head(s)->flags = block_flags(t, t->disk.index, t->disk.pos, &t->disk.carry);
        t->disk.pos = feed_read(t->feed, &t->run.tl, t->disk.pos, slot_audio(s));
        ring_commit(t->in_ring);
        t->disk.index++;
        n++;
    }
    return n;
}

void track_input_take(struct track *t, int64_t k, float *dst, int64_t *pos, uint32_t *flags)
{
    if (!t->in_ring) {   /* render: read here, nothing waits on a deadline */
        *pos = t->loop.render_pos;
        *flags = block_flags(t, k, *pos, &t->loop.render_carry);
        t->loop.render_pos = feed_read(t->feed, &t->run.tl, t->loop.render_pos, dst);
        return;
    }
    void *s;
    uint32_t skipped = 0;   /* a wrap among skipped blocks still reaches the script */
    while ((s = ring_read_slot(t->in_ring)) != NULL && slot_head(s)->index < k) {
        skipped |= slot_head(s)->flags;
        ring_release(t->in_ring);                       /* skipped blocks */
    }
    if (s && slot_head(s)->index == k) {
        memcpy(dst, slot_audio(s), t->block_floats * sizeof(float));
        *pos = slot_head(s)->pos;
        *flags = slot_head(s)->flags | skipped;
        ring_release(t->in_ring);
    } else {
        /* The disk thread is behind: silence, and the place it would have
         * had (its wraps reach the script with a block that is there). */
        memset(dst, 0, t->block_floats * sizeof(float));
        *pos = timeline_advance(&t->run.tl, t->run.tl.start, k * (int64_t)t->cfg.block_size);
        *flags = skipped;
        atomic_fetch_add_explicit(&t->c.disk_late, 1, memory_order_relaxed);
    }
    /* Crossing below half full: tell the disk thread (one FUTEX_WAKE per
     * half ring; it also looks on its own every DISK_LOOK_NS). */
    if (t->run.disk_kick && ring_fill(t->in_ring) == t->cfg.prefetch_slots / 2 - 1) {
        __atomic_fetch_add(t->run.disk_kick, 1, __ATOMIC_RELEASE);
        plat_wake(t->run.disk_kick);
    }
}
