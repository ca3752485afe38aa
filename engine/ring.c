/* ring.c - SPSC block ring; see ring.h. */
#include "ring.h"
#include "errors.h"
#include "platform.h"

#include <stdlib.h>

/* Each side also keeps the other's index as it last read it (read_seen,
 * write_seen: plain fields, each touched by its own side only) and reads
 * the real one - a cache line the other CPU writes - only when the copy
 * says the ring is full (producer) or empty (consumer). With hundreds of
 * tracks those lines are cache misses: a track thread that commits a
 * batch of 16 blocks then lets the mixer take 16 periods' blocks with
 * one miss instead of 16. */
struct ring {
    uint32_t write;          /* blocks committed by the producer, free-running */
    uint32_t write_waiter;   /* 0, or the fill the sleeping consumer waits for */
    uint32_t read_seen;      /* producer's: `read` as it last loaded it */
    char pad0[52];
    uint32_t read;           /* blocks released by the consumer, free-running */
    uint32_t read_waiter;    /* 0, or the free slots the sleeping producer waits for */
    uint32_t write_seen;     /* consumer's: `write` as it last loaded it */
    char pad1[52];
    uint32_t mask;
    size_t slot_bytes;
    unsigned char *mem;
};

int ring_create(uint32_t slots, size_t slot_bytes, struct ring **out)
{
    if (slots == 0 || (slots & (slots - 1)) != 0 || slot_bytes == 0)
        return SHX_EUSAGE;
    struct ring *r = calloc(1, sizeof *r);
    if (!r)
        return SHX_ENOMEM;
    /* Slots start on cache lines so neighbouring blocks never false-share. */
    slot_bytes = (slot_bytes + 63) & ~(size_t)63;
    if (posix_memalign((void **)&r->mem, 64, slot_bytes * slots) != 0) {
        free(r);
        return SHX_ENOMEM;
    }
    /* Touched here, not first in the audio path: a page's first write
     * costs a fault (and on some VMs an exit to the hypervisor), and the
     * tracks' rings are written through for the first time all at once
     * when play starts (docs/performance.md, "The first second at 800
     * tracks"). */
    plat_touch_pages(r->mem, slot_bytes * slots);
    r->mask = slots - 1;
    r->slot_bytes = slot_bytes;
    *out = r;
    return SHX_OK;
}

void ring_destroy(struct ring *r)
{
    if (!r)
        return;
    free(r->mem);
    free(r);
}

/* Each side reads the other's index with acquire (so the slot contents it
 * guards are visible) and publishes its own with release. A side's copy of
 * the other's index can only lag behind it (both only grow): a stale copy
 * makes the ring look fuller to the producer and emptier to the consumer,
 * never the other way, so it costs at most a reload. */
void *ring_write_slot_ahead(struct ring *r, uint32_t ahead)
{
    if (ahead > r->mask)
        return NULL;
    uint32_t w = r->write + ahead;
    if (w - r->read_seen > r->mask) {
        r->read_seen = __atomic_load_n(&r->read, __ATOMIC_ACQUIRE);
        if (w - r->read_seen > r->mask)
            return NULL;
    }
    return r->mem + (size_t)(w & r->mask) * r->slot_bytes;
}

void *ring_write_slot(struct ring *r)
{
    return ring_write_slot_ahead(r, 0);
}

/* The index store and the waiter-flag load are seq_cst: paired with the
 * waiter's seq_cst flag store and index re-load, one of the two sides is
 * guaranteed to see the other. Only the waiter clears its flag: a waker
 * that cleared it could consume a flag set for a later sleep, after the
 * wake it sent had already gone out (test_ring found exactly that hang).
 * The cost is an occasional redundant FUTEX_WAKE while a waiter is on its
 * way out. */
void ring_commit_n(struct ring *r, uint32_t n)
{
    __atomic_store_n(&r->write, r->write + n, __ATOMIC_SEQ_CST);
    /* The fill is worked out only for a consumer that sleeps. */
    uint32_t want = __atomic_load_n(&r->write_waiter, __ATOMIC_SEQ_CST);
    if (want && r->write - __atomic_load_n(&r->read, __ATOMIC_ACQUIRE) >= want)
        plat_wake(&r->write);
}

void ring_commit(struct ring *r)
{
    ring_commit_n(r, 1);
}

void *ring_read_slot_ahead(struct ring *r, uint32_t ahead)
{
    if (ahead > r->mask)
        return NULL;
    if (r->write_seen - r->read <= ahead) {
        r->write_seen = __atomic_load_n(&r->write, __ATOMIC_ACQUIRE);
        if (r->write_seen - r->read <= ahead)
            return NULL;
    }
    return r->mem + (size_t)((r->read + ahead) & r->mask) * r->slot_bytes;
}

void *ring_read_slot(struct ring *r)
{
    return ring_read_slot_ahead(r, 0);
}

/* As ring_commit_n, for the other side. */
void ring_release_n(struct ring *r, uint32_t n)
{
    __atomic_store_n(&r->read, r->read + n, __ATOMIC_SEQ_CST);
    uint32_t want = __atomic_load_n(&r->read_waiter, __ATOMIC_SEQ_CST);
    if (want && r->mask + 1 - (__atomic_load_n(&r->write, __ATOMIC_ACQUIRE) - r->read) >= want)
        plat_wake(&r->read);
}

void ring_release(struct ring *r)
{
    ring_release_n(r, 1);
}

uint32_t ring_fill(struct ring *r)
{
    return __atomic_load_n(&r->write, __ATOMIC_ACQUIRE)
           - __atomic_load_n(&r->read, __ATOMIC_ACQUIRE);
}

/* Sleeps on *word until ready() holds for at least `want` slots. The flag
 * carries `want` so the other side wakes us only once that many are there.
 * A forever-wait (deadline 0) returns after any wake-up so that
 * ring_wake_all can stop it; callers re-check. */
static int wait_on(struct ring *r, uint32_t *word, uint32_t *flag, uint32_t want,
                   uint64_t deadline_ns, uint32_t (*count)(struct ring *, uint32_t *seen))
{
    uint32_t seen;
    if (want == 0)
        want = 1;
    if (want > r->mask + 1)
        want = r->mask + 1;
    if (count(r, &seen) >= want)
        return SHX_OK;
    __atomic_store_n(flag, want, __ATOMIC_SEQ_CST);
    int rc = SHX_OK;
    if (count(r, &seen) < want)
        rc = plat_wait(word, seen, deadline_ns);
    __atomic_store_n(flag, 0, __ATOMIC_RELAXED);
    return rc;
}

static uint32_t free_slots(struct ring *r, uint32_t *seen)
{
    *seen = __atomic_load_n(&r->read, __ATOMIC_SEQ_CST);
    return r->mask + 1 - (r->write - *seen);
}

static uint32_t filled_slots(struct ring *r, uint32_t *seen)
{
    *seen = __atomic_load_n(&r->write, __ATOMIC_SEQ_CST);
    return *seen - r->read;
}

int ring_wait_space(struct ring *r, uint32_t want, uint64_t deadline_ns)
{
    return wait_on(r, &r->read, &r->read_waiter, want, deadline_ns, free_slots);
}

int ring_wait_data(struct ring *r, uint32_t want, uint64_t deadline_ns)
{
    return wait_on(r, &r->write, &r->write_waiter, want, deadline_ns, filled_slots);
}

void ring_wake_all(struct ring *r)
{
    plat_wake(&r->read);
    plat_wake(&r->write);
}
