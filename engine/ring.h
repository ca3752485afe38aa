/* ring.h - a single-producer/single-consumer ring of fixed-size blocks.
 *
 * DESIGN. Two free-running 32-bit indices over preallocated slots, in the
 * manner of PipeWire's spa_ringbuffer: the producer owns `write`, the
 * consumer owns `read`, each only reads the other's. A track thread
 * produces rendered blocks; the audio callback (play) or the render loop
 * consumes them. The try/commit calls are wait-free and real-time safe.
 * The wait calls are for the non-real-time side of a pair (a track thread
 * waiting for room, the render loop waiting for data); a real-time side
 * wakes a sleeping partner with one FUTEX_WAKE only when it is asleep. */
#ifndef SHX_RING_H
#define SHX_RING_H

#include <stddef.h>
#include <stdint.h>

struct ring;

/* Main. slots must be a power of two. Errors: SHX_EUSAGE, SHX_ENOMEM. */
int ring_create(uint32_t slots, size_t slot_bytes, struct ring **out);
/* Main. ring_destroy(NULL) is a no-op. */
void ring_destroy(struct ring *r);

/* Producer, real-time safe. The next free slot, or NULL when full. */
void *ring_write_slot(struct ring *r);
/* Producer, real-time safe. The free slot `ahead` places after the one
 * ring_write_slot gives (0: that one), or NULL when the ring has no room
 * for it yet. A producer writes several before it commits them at once;
 * slots written and not committed still count as free to ring_wait_space,
 * so a producer commits what it has before it waits for room. */
void *ring_write_slot_ahead(struct ring *r, uint32_t ahead);
/* Producer, real-time safe. Publishes the slot from ring_write_slot. */
void ring_commit(struct ring *r);
/* Producer, real-time safe. Publishes the n slots ring_write_slot_ahead
 * gave for 0..n-1, in one store: one full fence and one look for a
 * sleeping consumer for all of them. */
void ring_commit_n(struct ring *r, uint32_t n);
/* Consumer, real-time safe. The oldest filled slot, or NULL when empty. */
void *ring_read_slot(struct ring *r);
/* Consumer, real-time safe. The filled slot `ahead` places after the one
 * ring_read_slot gives (0: that one), or NULL when it is not filled yet. A
 * consumer may use several before it frees them at once; slots read and
 * not released still count as filled to ring_wait_data and the producer. */
void *ring_read_slot_ahead(struct ring *r, uint32_t ahead);
/* Consumer, real-time safe. Frees the slot from ring_read_slot (the
 * oldest filled one). */
void ring_release(struct ring *r);
/* Consumer, real-time safe. Frees the n slots ring_read_slot_ahead gave
 * for 0..n-1, in one store (one full fence, one look for a waiting
 * producer). */
void ring_release_n(struct ring *r, uint32_t n);
/* Any thread. Slots filled and not yet released. */
uint32_t ring_fill(struct ring *r);

/* Producer. Sleeps until `want` slots are free (1..slots), deadline_ns
 * (CLOCK_MONOTONIC, 0 = forever) or ring_wake_all. Waiting for several
 * slots at once lets a batch producer sleep once per batch. Returns 0 after
 * a wake-up (the caller re-checks with ring_write_slot) or SHX_ETIMEOUT. */
int ring_wait_space(struct ring *r, uint32_t want, uint64_t deadline_ns);
/* Consumer. Sleeps until `want` slots are filled, as ring_wait_space. */
int ring_wait_data(struct ring *r, uint32_t want, uint64_t deadline_ns);
/* Any thread. Wakes both sides (used to stop). */
void ring_wake_all(struct ring *r);

#endif
