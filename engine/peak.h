/* peak.h - an interval peak shared between one writer and one reader:
 * the writer raises it, the reader takes it (and starts a new interval).
 *
 * The peak is kept as the bits of a non-negative float in an atomic word:
 * non-negative IEEE floats order like their bit patterns as unsigned
 * integers, so a compare-and-swap on the integer keeps the maximum without
 * a lock. Relaxed order: the peak is independent of everything else.
 * Real-time safe (the raise loops only while another writer raced it, and
 * each peak has one writer). */
#ifndef SHX_PEAK_H
#define SHX_PEAK_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

/* Real-time. Raises *bits to v (>= 0) if v is larger. */
static inline void peak_raise(_Atomic uint32_t *bits, float v)
{
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    uint32_t cur = atomic_load_explicit(bits, memory_order_relaxed);
    while (b > cur && !atomic_compare_exchange_weak_explicit(bits, &cur, b, memory_order_relaxed,
                                                             memory_order_relaxed))
        ;
}

/* Any thread (the one reader). The peak since the previous take; resets it. */
static inline float peak_take(_Atomic uint32_t *bits)
{
    uint32_t b = atomic_exchange_explicit(bits, 0, memory_order_relaxed);
    float v;
    memcpy(&v, &b, sizeof v);
    return v;
}

#endif
