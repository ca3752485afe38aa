/* ring.c - SPSC block ring; see ring.h. */
#include "ring.h"
#include "errors.h"
#include "platform.h"

#include <stdlib.h>

struct ring {
    uint32_t write;          /* blocks committed by the producer, free-running */
    uint32_t write_waiter;   /* consumer is (about to be) asleep on write */
    char pad0[56];
    uint32_t read;           /* blocks released by the consumer, free-running */
    uint32_t read_waiter;    /* producer is (about to be) asleep on read */
    char pad1[56];
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
 * guards are visible) and publishes its own with release. */
void *ring_write_slot(struct ring *r)
{
    uint32_t rd = __atomic_load_n(&r->read, __ATOMIC_ACQUIRE);
    if (r->write - rd > r->mask)
        return NULL;
    return r->mem + (size_t)(r->write & r->mask) * r->slot_bytes;
}

/* The index store and the waiter-flag load are seq_cst: paired with the
 * waiter's seq_cst flag store and index re-load, one of the two sides is
 * guaranteed to see the other, so no wake-up is lost. */
void ring_commit(struct ring *r)
{
    __atomic_store_n(&r->write, r->write + 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&r->write_waiter, __ATOMIC_SEQ_CST)) {
        __atomic_store_n(&r->write_waiter, 0, __ATOMIC_RELAXED);
        plat_wake(&r->write);
    }
}

void *ring_read_slot(struct ring *r)
{
    uint32_t wr = __atomic_load_n(&r->write, __ATOMIC_ACQUIRE);
    if (wr == r->read)
        return NULL;
    return r->mem + (size_t)(r->read & r->mask) * r->slot_bytes;
}

void ring_release(struct ring *r)
{
    __atomic_store_n(&r->read, r->read + 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&r->read_waiter, __ATOMIC_SEQ_CST)) {
        __atomic_store_n(&r->read_waiter, 0, __ATOMIC_RELAXED);
        plat_wake(&r->read);
    }
}

uint32_t ring_fill(struct ring *r)
{
    return __atomic_load_n(&r->write, __ATOMIC_ACQUIRE)
           - __atomic_load_n(&r->read, __ATOMIC_ACQUIRE);
}

int ring_wait_space(struct ring *r, uint64_t deadline_ns)
{
    for (;;) {
        uint32_t rd = __atomic_load_n(&r->read, __ATOMIC_SEQ_CST);
        if (r->write - rd <= r->mask)
            return SHX_OK;
        __atomic_store_n(&r->read_waiter, 1, __ATOMIC_SEQ_CST);
        rd = __atomic_load_n(&r->read, __ATOMIC_SEQ_CST);
        if (r->write - rd <= r->mask)
            return SHX_OK;
        if (plat_wait(&r->read, rd, deadline_ns) == SHX_ETIMEOUT)
            return SHX_ETIMEOUT;
        if (deadline_ns == 0)   /* forever-waits may be woken to stop */
            return SHX_OK;
    }
}

int ring_wait_data(struct ring *r, uint64_t deadline_ns)
{
    for (;;) {
        uint32_t wr = __atomic_load_n(&r->write, __ATOMIC_SEQ_CST);
        if (wr != r->read)
            return SHX_OK;
        __atomic_store_n(&r->write_waiter, 1, __ATOMIC_SEQ_CST);
        wr = __atomic_load_n(&r->write, __ATOMIC_SEQ_CST);
        if (wr != r->read)
            return SHX_OK;
        if (plat_wait(&r->write, wr, deadline_ns) == SHX_ETIMEOUT)
            return SHX_ETIMEOUT;
        if (deadline_ns == 0)
            return SHX_OK;
    }
}

void ring_wake_all(struct ring *r)
{
    plat_wake(&r->read);
    plat_wake(&r->write);
}
