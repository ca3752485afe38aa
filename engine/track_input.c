/* track_input.c - a track's dry input: in play the disk thread reads the
 * file ahead into the input ring (track_prefetch, not real-time: file I/O)
 * and the track thread takes each block from it (track_input_take,
 * real-time: the slot itself, held until its batch is done); in render
 * there is no ring and no deadline, and the track thread reads the file
 * itself. Either way one track_reader walks the timeline, following its
 * changes (seeks, loop changes: program.h). See track_priv.h. */
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
 * end (r->carry remembers one from the block before). */
static uint32_t block_flags(const struct track *t, struct track_reader *r)
{
    uint32_t f = r->index == 0 ? CHAN_BLK_JUMPED : 0;
    if (r->carry)
        f |= CHAN_BLK_JUMPED | CHAN_BLK_RESET;
    unsigned w = timeline_wraps(&r->tl, r->pos, t->cfg.block_size);
    if (w & TL_WRAP_INSIDE)
        f |= CHAN_BLK_JUMPED | CHAN_BLK_RESET;
    r->carry = (w & TL_WRAP_AFTER) != 0;
    f |= r->jump;
    r->jump = 0;
    return f;
}

static void apply_change(struct track_reader *r, const struct tl_change *c)
{
    r->index = c->k;
    r->pos = c->pos;
    r->tl = c->tl;
    r->carry = 0;
    r->jump = c->jump ? CHAN_BLK_JUMPED | CHAN_BLK_RESET : 0;
}

/* Before reading block r->index: the timeline change due there, if any.
 * In play the newest published one - a reader already past its block goes
 * back to it (what it read from there on is stale: the track thread skips
 * it by its epoch); in render the next of the run's list. */
static void follow_changes(const struct track *t, struct track_reader *r)
{
    if (t->run.program) {
        struct tl_change c;
        uint32_t n = program_read(t->run.program, &c);
        if (n > r->epoch && r->index >= c.k) {
            apply_change(r, &c);
            r->epoch = n;
        }
    } else if (r->next_change < t->run.nchanges
               && t->run.changes[r->next_change].k == r->index) {
        apply_change(r, &t->run.changes[r->next_change]);
        r->next_change++;
        r->epoch++;
    }
}

/* Reads block r->index into dst and steps on. Render follows the run's
 * changes here, block by block (each falls on its block exactly); play's
 * disk thread looks for a published one before each stretch of reads
 * (track_prefetch), not before every block: with a thousand tracks that
 * look was a fifth of the disk thread's time. */
static void read_block(struct track *t, struct track_reader *r, float *dst, int64_t *pos,
                       uint32_t *flags)
{
    if (!t->run.program)
        follow_changes(t, r);
    *pos = r->pos;
    *flags = block_flags(t, r);
    r->pos = feed_read(t->feed, &r->tl, r->pos, dst);
    r->index++;
}

/* Blocks the disk thread reads before it publishes them together: one
 * full fence and one look for a waiting track thread per 16 blocks rather
 * than per block (with ~1 000 tracks the per-block commit was a quarter of
 * the disk thread's time, docs/performance.md). A track thread that waits
 * for a block after a seek waits for up to this many reads from the page
 * cache (microseconds; its wait is bounded by DISK_WAIT_MAX_NS anyway). */
#define PREFETCH_COMMIT_BLOCKS 16

int track_prefetch(struct track *t)
{
    int n = 0;
    uint32_t pending = 0;   /* read, not yet published */
    void *s;
    follow_changes(t, &t->disk);   /* a seek: back to its block, even with the ring full */
    while (t->disk.index < t->run.count
           && (s = ring_write_slot_ahead(t->in_ring, pending)) != NULL) {
        slot_head(s)->index = t->disk.index;
        read_block(t, &t->disk, slot_audio(s), &slot_head(s)->pos, &slot_head(s)->flags);
        slot_head(s)->epoch = t->disk.epoch;
        n++;
        if (++pending == PREFETCH_COMMIT_BLOCKS) {
            ring_commit_n(t->in_ring, pending);
            pending = 0;
            follow_changes(t, &t->disk);   /* a seek meanwhile: seen 16 reads later at most */
        }
    }
    if (pending)
        ring_commit_n(t->in_ring, pending);
    return n;
}

/* Play: the batch's blocks so far stop pointing into the input ring: they
 * are copied into loop.in and their slots freed. For the rare take that
 * must let the ring move on (skip stale blocks after a seek, or wait for
 * the disk thread), so that held slots never keep the disk thread from the
 * block waited for. */
static void unhold(struct track *t, uint32_t i)
{
    if (!t->loop.held)
        return;
    for (uint32_t j = 0; j < i; j++) {
        float *dst = t->loop.in + (size_t)j * t->block_floats;
        if (t->loop.src[j] != t->silence && t->loop.src[j] != dst) {   /* a slot */
            memcpy(dst, t->loop.src[j], t->block_floats * sizeof(float));
            t->loop.src[j] = dst;
        }
    }
    ring_release_n(t->in_ring, t->loop.held);
    t->loop.held = 0;
}

/* Play: the input ring's slot for block k (batch block i), past those the
 * track no longer needs (older blocks, and blocks read before a timeline
 * change that applies to them); NULL when the disk thread has not read it
 * yet, or has read past it (*passed: waiting would not bring it). The slot
 * stays the ring's until track_input_done. *skipped collects the flags of
 * skipped blocks that were not stale. */
static void *find_slot(struct track *t, int64_t k, uint32_t i, uint32_t *skipped, int *passed)
{
    struct tl_change c;
    uint32_t n = t->run.program ? program_read(t->run.program, &c) : 0;
    void *s;
    while ((s = ring_read_slot_ahead(t->in_ring, t->loop.held)) != NULL) {
        struct block_head *h = slot_head(s);
        int stale = h->epoch < program_epoch(n, &c, h->index);
        if (!stale && h->index >= k)
            break;
        if (!stale)
            *skipped |= h->flags;   /* a wrap among skipped blocks still reaches the script */
        unhold(t, i);
        ring_release(t->in_ring);
    }
    *passed = s != NULL && slot_head(s)->index > k;
    if (!s || slot_head(s)->index != k)
        return NULL;
    t->loop.held++;
    return s;
}

static void kick_disk(struct track *t)
{
    __atomic_fetch_add(t->run.disk_kick, 1, __ATOMIC_RELEASE);
    plat_wake(t->run.disk_kick);
}

void track_input_take(struct track *t, int64_t k, uint32_t i, uint64_t wait_until)
{
    if (!t->in_ring) {   /* render: read here, nothing waits on a deadline */
        float *dst = t->loop.in + (size_t)i * t->block_floats;
        read_block(t, &t->loop.render, dst, &t->loop.pos[i], &t->loop.flags[i]);
        t->loop.src[i] = dst;
        return;
    }
    uint32_t skipped = 0;
    int passed = 0;
    void *s = find_slot(t, k, i, &skipped, &passed);
    /* Not read yet: after a seek the disk thread starts over at the seek's
     * block, and the track thread is the one waiting for it. (Not when the
     * ring already holds a later block: k is not coming, and the ring's
     * data would end each wait at once - a spin.) */
    while (!s && !passed && t->run.disk_kick && plat_now_ns() < wait_until
           && !atomic_load(&t->stop)) {
        unhold(t, i);
        kick_disk(t);
        ring_wait_data(t->in_ring, 1, wait_until);
        s = find_slot(t, k, i, &skipped, &passed);
    }
    if (s) {
        t->loop.src[i] = slot_audio(s);
        t->loop.pos[i] = slot_head(s)->pos;
        t->loop.flags[i] = slot_head(s)->flags | skipped;
    } else {
        /* The disk thread is behind: silence, at the place the block would
         * have had (its wraps reach the script with a block that is there). */
        t->loop.src[i] = t->silence;
        t->loop.pos[i] = -1;
        t->loop.flags[i] = skipped;
        atomic_fetch_add_explicit(&t->c.disk_late, 1, memory_order_relaxed);
    }
}

void track_input_done(struct track *t)
{
    if (!t->loop.held)   /* render holds none: it has no input ring */
        return;
    uint32_t n = t->loop.held, half = t->cfg.prefetch_slots / 2;
    ring_release_n(t->in_ring, n);
    t->loop.held = 0;
    /* Crossing below half full: tell the disk thread (one FUTEX_WAKE per
     * half ring; it also looks on its own every DISK_LOOK_NS). */
    uint32_t fill = ring_fill(t->in_ring);
    if (t->run.disk_kick && fill < half && fill + n >= half)
        kick_disk(t);
}
