/* test_worker.c - who may use a worker's channel: the track thread's take
 * and put, the supervisor's claim and hand-back with its new generation,
 * a lost or in-flight channel, and a render track thread waiting for the
 * channel to come back. No process is started. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"
#include "platform.h"
#include "worker.h"

static struct worker *make(void)
{
    const struct worker_config c = {.frames = 64, .channels = 2, .batch = 1,
                                    .load_request = "{}", .memory_mb = 512, .cpu = -1,
                                    .nice = 0, .rt_prio = 0, .zygote_index = -1};
    struct worker *w = NULL;
    assert_int_equal(worker_create(&c, &w), SHX_OK);
    assert_non_null(w);
    assert_int_equal(worker_pid(w), 0);   /* nothing spawned */
    return w;
}

static double seconds_since(uint64_t t0)
{
    return (double)(plat_now_ns() - t0) / 1e9;
}

static void test_take_and_put_idle(void **state)
{
    (void)state;
    struct worker *w = make();
    int64_t g = worker_take(w);
    assert_true(g >= 0);
    assert_int_equal(worker_take(w), -1);        /* busy: the track thread has it */
    worker_put(w, WORKER_PUT_IDLE);
    assert_int_equal(worker_take(w), g);         /* free again, same generation */
    assert_int_equal(worker_take(w), -1);
    worker_put(w, WORKER_PUT_IDLE);
    worker_destroy(w);
}

static void test_claim_only_when_idle(void **state)
{
    (void)state;
    struct worker *w = make();
    int64_t g = worker_take(w);
    assert_true(g >= 0);
    assert_int_equal(worker_claim(w), 0);        /* the track thread is using it */
    worker_put(w, WORKER_PUT_IDLE);
    assert_int_equal(worker_claim(w), 1);
    assert_int_equal(worker_take(w), -1);        /* the supervisor's now */
    assert_int_equal(worker_take(w), -1);
    assert_int_equal(worker_claim(w), 1);        /* still the supervisor's */
    worker_hand_back(w);
    int64_t g2 = worker_take(w);
    assert_true(g2 > g);                         /* reset under the track thread */
    worker_put(w, WORKER_PUT_IDLE);
    worker_destroy(w);
}

static void test_every_hand_back_is_a_new_generation(void **state)
{
    (void)state;
    struct worker *w = make();
    int64_t prev = worker_take(w);
    assert_true(prev >= 0);
    worker_put(w, WORKER_PUT_IDLE);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(worker_claim(w), 1);
        worker_hand_back(w);
        int64_t g = worker_take(w);
        assert_true(g > prev);
        worker_put(w, WORKER_PUT_IDLE);
        assert_int_equal(worker_take(w), g);     /* a put alone changes nothing */
        worker_put(w, WORKER_PUT_IDLE);
        prev = g;
    }
    worker_destroy(w);
}

static void test_put_lost_goes_to_the_supervisor(void **state)
{
    (void)state;
    struct worker *w = make();
    int64_t g = worker_take(w);
    assert_true(g >= 0);
    worker_put(w, WORKER_PUT_LOST);
    assert_int_equal(worker_take(w), -1);        /* not the track thread's any more */
    assert_int_equal(worker_claim(w), 1);        /* the supervisor holds it */
    assert_int_equal(worker_take(w), -1);
    worker_hand_back(w);
    assert_true(worker_take(w) > g);
    worker_put(w, WORKER_PUT_IDLE);
    worker_destroy(w);
}

static void test_put_inflight(void **state)
{
    (void)state;
    struct worker *w = make();
    int64_t g = worker_take(w);
    assert_true(g >= 0);
    worker_put(w, WORKER_PUT_INFLIGHT);
    /* A request is outstanding: the track thread may come back for the
     * reply, the supervisor may not take it from a live worker. */
    assert_int_equal(worker_claim(w), 0);
    assert_int_equal(worker_take(w), g);
    worker_put(w, WORKER_PUT_INFLIGHT);
    assert_int_equal(worker_claim(w), 0);
    /* Once the worker is known dead the reply will never come. */
    worker_mark_dead(w);
    assert_int_equal(worker_claim(w), 1);
    assert_int_equal(worker_take(w), -1);
    worker_hand_back(w);
    int64_t g2 = worker_take(w);
    assert_true(g2 > g);
    /* In flight, then answered and put back idle: claimed as usual. */
    worker_put(w, WORKER_PUT_INFLIGHT);
    assert_int_equal(worker_take(w), g2);
    worker_put(w, WORKER_PUT_IDLE);
    assert_int_equal(worker_claim(w), 1);
    worker_hand_back(w);
    worker_destroy(w);
}

static void test_wait_back_until_the_deadline(void **state)
{
    (void)state;
    struct worker *w = make();
    /* Not held: returns at once. */
    uint64_t t0 = plat_now_ns();
    worker_wait_back(w, t0 + 5000000000u);
    assert_true(seconds_since(t0) < 1.0);
    /* Held and never handed back: returns at the deadline, still held. A
     * wait that ignored its deadline would never return: SIGALRM ends the
     * test then. */
    assert_int_equal(worker_claim(w), 1);
    alarm(30);
    t0 = plat_now_ns();
    worker_wait_back(w, t0 + 200000000u);
    double s = seconds_since(t0);
    alarm(0);
    if (s < 0.2 || s > 5.0)
        fail_msg("returned after %.3f s; the deadline was 0.2 s", s);
    assert_int_equal(worker_take(w), -1);
    worker_hand_back(w);
    worker_destroy(w);
}

struct hand_back_later {
    struct worker *w;
    double after_s;
};

static void *hand_back_later(void *arg)
{
    const struct hand_back_later *h = arg;
    struct timespec t = {0, (long)(h->after_s * 1e9)};
    nanosleep(&t, NULL);
    worker_hand_back(h->w);
    return NULL;
}

static void test_wait_back_wakes_on_hand_back(void **state)
{
    (void)state;
    struct worker *w = make();
    int64_t g = worker_take(w);
    worker_put(w, WORKER_PUT_LOST);
    assert_int_equal(worker_claim(w), 1);
    struct hand_back_later h = {w, 0.15};
    pthread_t th;
    uint64_t t0 = plat_now_ns();
    assert_int_equal(pthread_create(&th, NULL, hand_back_later, &h), 0);
    worker_wait_back(w, t0 + 20000000000u);       /* 20 s: far beyond the hand-back */
    double s = seconds_since(t0);
    assert_int_equal(pthread_join(th, NULL), 0);
    if (s < 0.14 || s > 5.0)
        fail_msg("returned after %.3f s; handed back after 0.15 s, deadline 20 s", s);
    assert_true(worker_take(w) > g);              /* the track thread's again */
    worker_put(w, WORKER_PUT_IDLE);
    worker_destroy(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_take_and_put_idle),
        cmocka_unit_test(test_claim_only_when_idle),
        cmocka_unit_test(test_every_hand_back_is_a_new_generation),
        cmocka_unit_test(test_put_lost_goes_to_the_supervisor),
        cmocka_unit_test(test_put_inflight),
        cmocka_unit_test(test_wait_back_until_the_deadline),
        cmocka_unit_test(test_wait_back_wakes_on_hand_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
