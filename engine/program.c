/* program.c - the published timeline change; see program.h. */
#include "program.h"

#include <stdatomic.h>
#include <string.h>

/* The change moves word by word with relaxed atomic accesses: a reader may
 * meet a write in progress (the sequence tells it to retry), and plain
 * accesses would make that a data race in C11's terms. */
#define WORDS ((sizeof(struct tl_change) + 7) / 8)
_Static_assert(sizeof(struct tl_change) % 8 == 0, "whole words");

static void store_words(struct tl_change *dst, const struct tl_change *src)
{
    uint64_t w[WORDS];
    memcpy(w, src, sizeof *src);
    uint64_t *d = (uint64_t *)dst;
    for (size_t i = 0; i < WORDS; i++)
        __atomic_store_n(&d[i], w[i], __ATOMIC_RELAXED);
}

static void load_words(struct tl_change *dst, const struct tl_change *src)
{
    uint64_t w[WORDS];
    const uint64_t *s = (const uint64_t *)src;
    for (size_t i = 0; i < WORDS; i++)
        w[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
    memcpy(dst, w, sizeof *dst);
}

void program_publish(struct program *p, const struct tl_change *c)
{
    uint32_t s = atomic_load_explicit(&p->seq, memory_order_relaxed);
    atomic_store_explicit(&p->seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    store_words(&p->last, c);
    __atomic_store_n(&p->count, p->count + 1, __ATOMIC_RELAXED);
    atomic_store_explicit(&p->seq, s + 2, memory_order_release);
}

uint32_t program_read(const struct program *p, struct tl_change *c)
{
    struct program *w = (struct program *)p;
    for (;;) {
        uint32_t s = atomic_load_explicit(&w->seq, memory_order_acquire);
        if (s & 1u)
            continue;   /* a write of a few dozen bytes in progress */
        uint32_t n = __atomic_load_n(&w->count, __ATOMIC_RELAXED);
        struct tl_change copy;
        load_words(&copy, &w->last);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&w->seq, memory_order_relaxed) == s) {
            if (n)
                *c = copy;
            return n;
        }
    }
}
