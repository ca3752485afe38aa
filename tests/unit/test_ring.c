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

/* A producer writes ahead and publishes several slots at once: the
 * consumer sees none of them before the commit, then all, in order. */
static void test_commit_several(void **state)
{
    (void)state;
    struct ring *r;
    assert_int_equal(ring_create(8, sizeof(int), &r), SHX_OK);
    assert_non_null(ring_write_slot_ahead(r, 7));    /* empty: all 8 free */
    assert_null(ring_write_slot_ahead(r, 8));        /* never past the ring */
    for (int i = 0; i < 5; i++) {
        int *s = ring_write_slot_ahead(r, (uint32_t)i);
        assert_non_null(s);
        *s = 100 + i;
    }
    assert_null(ring_read_slot(r));                  /* nothing published yet */
    assert_int_equal(ring_fill(r), 0);
    ring_commit_n(r, 5);
    assert_int_equal(ring_fill(r), 5);
    assert_non_null(ring_write_slot_ahead(r, 2));    /* 3 free: 0..2 */
    assert_null(ring_write_slot_ahead(r, 3));
    for (int i = 0; i < 2; i++) {
        int *s = ring_read_slot(r);
        assert_non_null(s);
        assert_int_equal(*s, 100 + i);
        ring_release(r);
    }
    assert_non_null(ring_write_slot_ahead(r, 4));    /* the producer sees the room */
    assert_null(ring_write_slot_ahead(r, 5));
    for (int i = 0; i < 5; i++)
        *(int *)ring_write_slot_ahead(r, (uint32_t)i) = 200 + i;
    ring_commit_n(r, 5);
    assert_int_equal(ring_fill(r), 8);
    assert_null(ring_write_slot(r));                 /* full */
    for (int i = 0; i < 8; i++) {
        int *s = ring_read_slot(r);
        assert_non_null(s);
        assert_int_equal(*s, i < 3 ? 102 + i : 200 + i - 3);
        ring_release(r);
    }
    assert_null(ring_read_slot(r));
    ring_destroy(r);
}

/* A consumer that uses several slots before it frees them (a track thread
 * holding its batch's input blocks). */
static void test_release_several(void **state)
{
    (void)state;
    struct ring *r;
    assert_int_equal(ring_create(8, sizeof(int), &r), SHX_OK);
    assert_null(ring_read_slot_ahead(r, 0));         /* empty */
    for (int i = 0; i < 6; i++)
        *(int *)ring_write_slot_ahead(r, (uint32_t)i) = 300 + i;
    ring_commit_n(r, 6);
    for (int i = 0; i < 6; i++) {
        int *s = ring_read_slot_ahead(r, (uint32_t)i);
        assert_non_null(s);
        assert_int_equal(*s, 300 + i);
    }
    assert_null(ring_read_slot_ahead(r, 6));         /* not filled yet */
    assert_null(ring_write_slot_ahead(r, 2));        /* held slots are not free: 2 */
    assert_int_equal(ring_fill(r), 6);
    ring_release_n(r, 4);
    assert_int_equal(ring_fill(r), 2);
    assert_non_null(ring_read_slot(r));
    assert_int_equal(*(int *)ring_read_slot(r), 304);
    assert_non_null(ring_write_slot_ahead(r, 5));    /* 6 free now */
    assert_null(ring_write_slot_ahead(r, 6));
    for (int i = 0; i < 6; i++)                       /* wraps around the end */
        *(int *)ring_write_slot_ahead(r, (uint32_t)i) = 400 + i;
    ring_commit_n(r, 6);
    for (int i = 0; i < 8; i++) {
        int *s = ring_read_slot_ahead(r, (uint32_t)i);
        assert_non_null(s);
        assert_int_equal(*s, i < 2 ? 304 + i : 400 + i - 2);
    }
    assert_null(ring_read_slot_ahead(r, 8));
    ring_release_n(r, 8);
    assert_int_equal(ring_fill(r), 0);
    assert_null(ring_read_slot(r));
    ring_destroy(r);
}

static uint32_t want_space, want_data;   /* batch sizes of the current run */
static uint32_t commit_every;            /* slots the producer publishes at once */
static uint32_t release_every;           /* slots the consumer frees at once */

static void *producer(void *arg)
{
    struct ring *r = arg;
    uint32_t pending = 0;
    for (uint32_t seq = 0; seq < BLOCKS; seq++) {
        uint32_t *s;
        while ((s = ring_write_slot_ahead(r, pending)) == NULL) {
            if (pending) {   /* publish before waiting, or both sides sleep */
                ring_commit_n(r, pending);
                pending = 0;
            } else {
                ring_wait_space(r, want_space, 0);
            }
        }
        for (int w = 0; w < WORDS; w++)
            s[w] = seq;
        if (commit_every <= 1) {
            ring_commit(r);
        } else if (++pending == commit_every) {
            ring_commit_n(r, pending);
            pending = 0;
        }
    }
    if (pending)
        ring_commit_n(r, pending);
    return NULL;
}

static void run_two_threads(uint32_t space, uint32_t data, uint32_t every, uint32_t hold)
{
    want_space = space;
    want_data = data;
    commit_every = every;
    release_every = hold;
    struct ring *r;
    assert_int_equal(ring_create(8, WORDS * sizeof(uint32_t), &r), SHX_OK);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, producer, r), 0);
    uint32_t bad = 0, held = 0;
    for (uint32_t want = 0; want < BLOCKS; want++) {
        const uint32_t *s;
        uint32_t left = BLOCKS - want;   /* never wait for more than will come */
        while ((s = ring_read_slot_ahead(r, held)) == NULL)
            ring_wait_data(r, held + (left < want_data ? left : want_data), 0);
        for (int w = 0; w < WORDS; w++)
            bad += s[w] != want;
        if (++held == release_every) {
            if (held == 1)
                ring_release(r);
            else
                ring_release_n(r, held);
            held = 0;
        }
    }
    if (held)
        ring_release_n(r, held);
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
    run_two_threads(1, 1, 1, 1);
    run_two_threads(4, 4, 1, 1);
    run_two_threads(8, 1, 1, 1);
    /* The disk thread's way: several slots published at once. */
    run_two_threads(1, 1, 3, 1);
    run_two_threads(4, 4, 4, 1);
    run_two_threads(8, 1, 8, 1);
    /* ... and a track thread's: several used, then freed at once. */
    run_two_threads(1, 1, 1, 3);
    run_two_threads(4, 1, 4, 4);
    run_two_threads(4, 4, 16, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_thread),
        cmocka_unit_test(test_commit_several),
        cmocka_unit_test(test_release_several),
        cmocka_unit_test(test_two_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
