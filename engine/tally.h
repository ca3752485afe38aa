/* tally.h - a track's running totals, published once per batch: the
 * blocks it rendered, the CPU time they cost, and the costliest block the
 * reader has not seen yet.
 *
 * The meters divide CPU time by blocks and compare the interval's figure
 * with its costliest block, so the three must be read as one set: a
 * snapshot that saw a batch's CPU time without its blocks read a spike
 * and then a hole, and one that took a batch's peak a moment before its
 * blocks showed cpu_peak below cpu (the CI run that found it printed
 * cpu 40.3 and cpu_peak 40.2). One writer (the track thread) publishes
 * under a sequence count, in the manner of the Linux kernel's seqcount:
 * odd while it writes; the one reader (the meter, or render's verdict
 * afterwards) copies the set and retries if the count moved.
 *
 * The peak is not reset by the reader (it must not write what it
 * retries). The reader records the blocks it has seen (`taken`); the
 * writer starts a new peak when the reader has seen everything, and
 * otherwise keeps raising the old one. A batch that races the reader's
 * look therefore lands in a peak that may also hold blocks already
 * shown: the peak can repeat a little of the past, it never misses a
 * block. */
#ifndef SHX_TALLY_H
#define SHX_TALLY_H

#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

struct tally {
    _Atomic uint32_t seq;        /* odd while the writer publishes */
    _Atomic uint64_t blocks;     /* rendered, total */
    _Atomic uint64_t cpu_ns;     /* their cost, total */
    _Atomic uint64_t peak_ns;    /* costliest block, ns, since the reader saw everything */
    _Atomic uint64_t taken;      /* the reader: `blocks` when it last looked */
};

/* The writer. Real-time: wait-free, a handful of atomic loads and stores.
 * Adds a batch of n (> 0) blocks that cost cost_ns in all. */
static inline void tally_add(struct tally *t, uint64_t n, uint64_t cost_ns)
{
    uint32_t s = atomic_load_explicit(&t->seq, memory_order_relaxed);
    uint64_t blocks = atomic_load_explicit(&t->blocks, memory_order_relaxed);
    uint64_t peak = atomic_load_explicit(&t->peak_ns, memory_order_relaxed);
    /* Rounded up: a batch's block never reads below the batch's mean. */
    uint64_t per = (cost_ns + n - 1) / n;
    if (atomic_load_explicit(&t->taken, memory_order_relaxed) == blocks || per > peak)
        peak = per;
    uint64_t cpu = atomic_load_explicit(&t->cpu_ns, memory_order_relaxed) + cost_ns;
    /* Release stores (not a fence, which ThreadSanitizer cannot follow):
     * a reader that sees any new value also sees the odd count. */
    atomic_store_explicit(&t->seq, s + 1, memory_order_relaxed);
    atomic_store_explicit(&t->blocks, blocks + n, memory_order_release);
    atomic_store_explicit(&t->cpu_ns, cpu, memory_order_release);
    atomic_store_explicit(&t->peak_ns, peak, memory_order_release);
    atomic_store_explicit(&t->seq, s + 2, memory_order_release);
}

/* The reader (one thread at a time; not real-time: it yields while the
 * writer is mid-publish). The totals now, and the costliest block among
 * those rendered since its previous call (0 when none were). */
static inline void tally_take(struct tally *t, uint64_t *blocks, uint64_t *cpu_ns,
                              uint64_t *peak_ns)
{
    uint64_t b, c, p;
    for (;;) {
        uint32_t s1 = atomic_load_explicit(&t->seq, memory_order_acquire);
        if (s1 & 1) {
            sched_yield();   /* the writer may be preempted mid-publish */
            continue;
        }
        b = atomic_load_explicit(&t->blocks, memory_order_acquire);
        c = atomic_load_explicit(&t->cpu_ns, memory_order_acquire);
        p = atomic_load_explicit(&t->peak_ns, memory_order_acquire);
        if (atomic_load_explicit(&t->seq, memory_order_relaxed) == s1)
            break;
    }
    uint64_t seen = atomic_load_explicit(&t->taken, memory_order_relaxed);
    *blocks = b;
    *cpu_ns = c;
    *peak_ns = b != seen ? p : 0;
    atomic_store_explicit(&t->taken, b, memory_order_relaxed);
}

#endif
