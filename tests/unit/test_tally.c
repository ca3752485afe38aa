/* test_tally.c - a track's tally (tally.h) under two real threads: every
 * snapshot is one consistent set, and an interval's costliest block never
 * reads below the interval's mean. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "tally.h"

#define BATCHES 100000u

static void test_single_thread(void **state)
{
    (void)state;
    struct tally t = {0};
    uint64_t b, c, p;
    tally_take(&t, &b, &c, &p);
    assert_true(b == 0 && c == 0 && p == 0);
    tally_add(&t, 4, 4000);
    tally_add(&t, 2, 3001);                    /* 1500.5 a block: rounded up */
    tally_take(&t, &b, &c, &p);
    assert_true(b == 6 && c == 7001 && p == 1501);
    tally_take(&t, &b, &c, &p);                /* nothing new: no peak */
    assert_true(b == 6 && c == 7001 && p == 0);
    tally_add(&t, 1, 900);                     /* a new interval: 900, not 1501 */
    tally_take(&t, &b, &c, &p);
    assert_true(b == 7 && c == 7901 && p == 900);
}

/* Batch i has batch_n(i) blocks costing batch_cost(i), a known sequence:
 * the reader replays it, so a consistent set is exactly the totals after
 * some batch, and a torn read (blocks of one batch, time of another) is
 * not. */
struct shared {
    struct tally t;
    atomic_int done;
    _Atomic uint64_t reads;   /* the reader's, so that the writer can wait for one */
};

static uint64_t batch_n(uint64_t i) { return 1 + i % 7; }
static uint64_t batch_cost(uint64_t i) { return batch_n(i) * (1000 + (i * 37) % 500); }

static void *writer(void *arg)
{
    struct shared *s = arg;
    for (uint64_t i = 0; i < BATCHES; i++) {
        tally_add(&s->t, batch_n(i), batch_cost(i));
        for (volatile int spin = 0; spin < 200; spin++)   /* a batch takes a while */
            ;
        /* Every 100 batches, a read in between: on a busy machine the two
         * threads would otherwise take turns in long slices, and the
         * reader would see a handful of intervals. */
        if (i % 100 == 99) {
            uint64_t r = atomic_load(&s->reads);
            while (atomic_load(&s->reads) == r)
                sched_yield();
        }
    }
    atomic_store(&s->done, 1);
    return NULL;
}

static void test_two_threads(void **state)
{
    (void)state;
    static struct shared s;
    pthread_t w;
    assert_int_equal(pthread_create(&w, NULL, writer, &s), 0);
    /* The reader replays the writer's batches to know the true totals. */
    uint64_t i = 0, blocks = 0, cpu = 0, prev_b = 0, prev_c = 0;
    uint64_t reads = 0, intervals = 0;
    int done;
    do {
        done = atomic_load(&s.done);
        uint64_t b, c, p;
        tally_take(&s.t, &b, &c, &p);
        uint64_t mx = 0;   /* the costliest block among the batches new in this read */
        while (blocks < b) {
            uint64_t per = (batch_cost(i) + batch_n(i) - 1) / batch_n(i);
            mx = per > mx ? per : mx;
            blocks += batch_n(i);
            cpu += batch_cost(i);
            i++;
        }
        if (blocks != b || cpu != c)
            fail_msg("torn read: %llu blocks with %llu ns (true: %llu ns)",
                     (unsigned long long)b, (unsigned long long)c, (unsigned long long)cpu);
        if (b > prev_b) {
            /* Never below the interval's mean, never below a new block. */
            if (p * (b - prev_b) < c - prev_c || p < mx)
                fail_msg("peak %llu below mean %llu or max %llu", (unsigned long long)p,
                         (unsigned long long)((c - prev_c) / (b - prev_b)),
                         (unsigned long long)mx);
            intervals++;
        } else if (p != 0) {
            fail_msg("peak %llu in an interval without blocks", (unsigned long long)p);
        }
        prev_b = b;
        prev_c = c;
        reads++;
        atomic_store(&s.reads, reads);
    } while (!done);
    pthread_join(w, NULL);
    print_message("%llu reads, %llu intervals with blocks\n", (unsigned long long)reads,
                  (unsigned long long)intervals);
    assert_int_equal(i, BATCHES);
    assert_true(intervals > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_thread),
        cmocka_unit_test(test_two_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
