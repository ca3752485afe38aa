/* test_ring.c - the SPSC block ring under two real threads: over millions
 * of blocks nothing is lost, duplicated or reordered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "errors.h"
#include "ring.h"

#define BLOCKS 1500000u
#define WORDS 16           /* payload per block: the sequence number repeated */

static void test_single_thread(void **state)
{
    (void)state;
    struct ring *r;
    assert_int_equal(ring_create(3, 16, &r), SHX_EUSAGE);
    assert_int_equal(ring_create(4, 16, &r), SHX_OK);
    assert_null(ring_read_slot(r));
    for (int i = 0; i < 4; i++) {
        int *s = ring_write_slot(r);
        assert_non_null(s);
        *s = i;
        ring_commit(r);
    }
    assert_null(ring_write_slot(r));             /* full */
    assert_int_equal(ring_fill(r), 4);
    assert_int_equal(ring_wait_space(r, 1, 1), SHX_ETIMEOUT);
    for (int i = 0; i < 4; i++) {
        int *s = ring_read_slot(r);
        assert_non_null(s);
        assert_int_equal(*s, i);
        ring_release(r);
    }
    assert_null(ring_read_slot(r));
    assert_int_equal(ring_wait_data(r, 1, 1), SHX_ETIMEOUT);
    ring_destroy(r);
    ring_destroy(NULL);
}

static uint32_t want_space, want_data;   /* batch sizes of the current run */

static void *producer(void *arg)
{
    struct ring *r = arg;
    for (uint32_t seq = 0; seq < BLOCKS; seq++) {
        uint32_t *s;
        while ((s = ring_write_slot(r)) == NULL)
            ring_wait_space(r, want_space, 0);
        for (int w = 0; w < WORDS; w++)
            s[w] = seq;
        ring_commit(r);
    }
    return NULL;
}

static void run_two_threads(uint32_t space, uint32_t data)
{
    want_space = space;
    want_data = data;
    struct ring *r;
    assert_int_equal(ring_create(8, WORDS * sizeof(uint32_t), &r), SHX_OK);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, producer, r), 0);
    uint32_t bad = 0;
    for (uint32_t want = 0; want < BLOCKS; want++) {
        const uint32_t *s;
        uint32_t left = BLOCKS - want;   /* never wait for more than will come */
        while ((s = ring_read_slot(r)) == NULL)
            ring_wait_data(r, left < want_data ? left : want_data, 0);
        for (int w = 0; w < WORDS; w++)
            bad += s[w] != want;
        ring_release(r);
    }
    pthread_join(th, NULL);
    assert_int_equal(bad, 0);
    assert_null(ring_read_slot(r));
    assert_int_equal(ring_fill(r), 0);
    ring_destroy(r);
}

/* One slot at a time (play: the callback frees one block, the track thread
 * refills it) and in batches (render: each side sleeps once per half ring). */
static void test_two_threads(void **state)
{
    (void)state;
    run_two_threads(1, 1);
    run_two_threads(4, 4);
    run_two_threads(8, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_thread),
        cmocka_unit_test(test_two_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
