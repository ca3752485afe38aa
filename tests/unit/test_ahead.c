/* test_ahead.c - the render-ahead: chosen from the session, sized by what
 * it costs while playing (ahead.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ahead.h"
#include "tuning.h"
#include "units.h"

#define PERIOD_NS 2666666   /* 128 frames at 48 kHz */

static struct ahead *make(uint32_t sub, int scripted, uint32_t fixed)
{
    /* One request carries 16 calls and 8192 frames at most (play's
     * requests carried that much before they took 16 384 frames). */
    struct ahead_config c = {.rate = 48000, .block = 128, .sub = sub, .ring = 128,
                             .scripted = scripted, .cpus = 2, .fixed = fixed,
                             .max_ns = MS_NS(250), .batch_max = sub == 1 ? 16 : 64};
    struct ahead *a = NULL;
    assert_int_equal(ahead_create(&c, &a), 0);
    return a;
}

/* Without script_block: a 40 ms batch and 40 ms of slack, 30 blocks at
 * 128 frames as before; a session without scripts keeps 10 ms of slack. */
static void test_chosen_from_the_session(void **state)
{
    (void)state;
    struct ahead *a = make(1, 4, 0);
    assert_int_equal(ahead_batch(a), 15);
    assert_int_equal(ahead_blocks(a), 30);
    ahead_destroy(a);
    a = make(1, 0, 0);
    assert_int_equal(ahead_blocks(a), 15 + 4);
    ahead_destroy(a);
    /* script_block 2048: a batch is one call (16 blocks), the stagger 15
     * more, and a call's time of slack (42.7 ms > 40 ms). */
    a = make(16, 4, 0);
    assert_int_equal(ahead_batch(a), 16);
    assert_int_equal(ahead_blocks(a), 16 + 15 + 16);
    ahead_destroy(a);
    /* 60 scripted tracks to a CPU: a batch of one request (16 blocks) and
     * 2 ms each of slack, 120 ms (45 blocks); 400 of them would be more
     * than the upper end, 250 ms (93 blocks). */
    a = make(1, 120, 0);
    assert_int_equal(ahead_batch(a), 16);
    assert_int_equal(ahead_blocks(a), 16 + 45);
    ahead_destroy(a);
    a = make(1, 400, 0);
    assert_int_equal(ahead_blocks(a), 93);
    ahead_destroy(a);
}

/* The batch ahead_create chooses for c. */
static uint32_t batch_of(const struct ahead_config *c)
{
    struct ahead *a = NULL;
    assert_int_equal(ahead_create(c, &a), 0);
    uint32_t b = ahead_batch(a);
    assert_true(ahead_blocks(a) >= b + c->sub - 1 && ahead_blocks(a) <= c->ring);
    ahead_destroy(a);
    return b;
}

/* Many workers to a CPU: the batch grows by 4 ms per worker sharing a
 * CPU, in whole calls, at most half the upper end and one request. */
static void test_batch_grows_with_workers(void **state)
{
    (void)state;
    struct ahead_config c = {.rate = 48000, .block = 128, .sub = 16, .ring = 256,
                             .scripted = 20, .cpus = 2, .max_ns = MS_NS(400),
                             .batch_max = 64};
    /* 10 to a CPU: 40 ms, rounded down to calls, at least one: one call
     * of 2048 frames (42.7 ms), as a light session always had. */
    assert_int_equal(batch_of(&c), 16);
    /* 25 to a CPU: 100 ms (37 blocks): two calls. */
    c.scripted = 50;
    assert_int_equal(batch_of(&c), 32);
    /* 40 to a CPU, the one-pole edge: 160 ms (60 blocks): three calls. */
    c.scripted = 80;
    assert_int_equal(batch_of(&c), 48);
    /* 250 to a CPU: 1 s, but half the upper end at most (200 ms, 75
     * blocks; this config's request, 8192 frames, too): four calls. */
    c.scripted = 500;
    assert_int_equal(batch_of(&c), 64);
    /* An upper end of 250 ms allows 125 ms (46 blocks): two calls. */
    c.max_ns = MS_NS(250);
    assert_int_equal(batch_of(&c), 32);
    /* With the default upper end for long calls (683 ms) and one request
     * of 16384 frames, as play has them: a third of a second (128
     * blocks), eight calls. */
    c.max_ns = ahead_default_max_ns(16, 48000);
    c.batch_max = PLAY_BATCH_FRAMES / 128;
    assert_int_equal(batch_of(&c), 128);
    /* Without script_block, one request carries 16 blocks at most. */
    c.sub = 1;
    c.batch_max = 16;
    c.max_ns = MS_NS(400);
    assert_int_equal(batch_of(&c), 16);
}

/* The upper end when the user sets none: 400 ms, and with script calls
 * longer than a block room for two requests of 16384 frames, up to a
 * whole millisecond - 683 ms at 48 kHz (256 blocks of 128 frames), never
 * less than 400 ms. */
static void test_default_upper_end(void **state)
{
    (void)state;
    assert_int_equal(ahead_default_max_ns(1, 48000), AHEAD_MAX_NS);
    assert_int_equal(ahead_default_max_ns(0, 48000), AHEAD_MAX_NS);
    assert_int_equal(ahead_default_max_ns(16, 48000), MS_NS(683));
    assert_int_equal(ahead_default_max_ns(16, 48000) * 48000 / NS_PER_S / 128, 256);
    assert_int_equal(ahead_default_max_ns(2, 44100), MS_NS(744));
    assert_int_equal(ahead_default_max_ns(2, 96000), AHEAD_MAX_NS);
    /* never more than --ahead-max may be: 4.1 s at 8 kHz */
    assert_int_equal(ahead_default_max_ns(2, 8000), AHEAD_MAX_LIMIT_NS);
}

/* --ahead N is kept (never tuned), raised to a call and its stagger. */
static void test_fixed(void **state)
{
    (void)state;
    struct ahead *a = make(1, 4, 20);
    assert_int_equal(ahead_batch(a), 10);
    assert_int_equal(ahead_blocks(a), 20);
    assert_int_equal(ahead_observe(a, S_NS(1), -(int64_t)MS_NS(50), 100, 0), 20);
    ahead_destroy(a);
    a = make(16, 4, 20);
    assert_int_equal(ahead_batch(a), 16);
    assert_int_equal(ahead_blocks(a), 16 + 15 + 1);
    ahead_destroy(a);
}

/* A batch that came within 5 ms of its deadline out of 40 ms of slack
 * needed 35 ms: the slack grows to twice that at once. */
static void test_grows_at_once(void **state)
{
    (void)state;
    struct ahead *a = make(1, 4, 0);
    uint64_t t = S_NS(1);
    uint32_t b = ahead_observe(a, t, (int64_t)MS_NS(5), 0, 0);
    assert_int_equal(b, 15 + (2 * 35000000 + PERIOD_NS - 1) / PERIOD_NS);
    /* Late blocks: half as much again at least, up to the upper end. */
    uint32_t c = ahead_observe(a, t + MS_NS(250), INT64_MAX, 3, 0);
    assert_int_equal(c, b + b / 2 > 93 ? 93 : b + b / 2);
    for (int i = 0; i < 10; i++)
        c = ahead_observe(a, t + MS_NS(500) + (uint64_t)i * MS_NS(250), INT64_MAX, 1, 0);
    assert_int_equal(c, 93);   /* 250 ms at 128 frames, rounded down */
    ahead_destroy(a);
}

/* It shrinks only after AHEAD_HOLD_NS without growth and once the worst
 * need of the last AHEAD_MEMORY_NS allows it, a quarter at a time, never
 * below a batch and 10 ms. */
static void test_shrinks_slowly(void **state)
{
    (void)state;
    struct ahead *a = make(1, 4, 0);
    uint64_t t = S_NS(1);
    uint32_t b = ahead_observe(a, t, (int64_t)MS_NS(39), 0, 0);   /* needed 1 ms */
    assert_int_equal(b, 30);
    b = ahead_observe(a, t + AHEAD_HOLD_NS - MS_NS(1), (int64_t)MS_NS(39), 0, 0);
    assert_int_equal(b, 30);                       /* held */
    b = ahead_observe(a, t + AHEAD_HOLD_NS, (int64_t)MS_NS(39), 0, 0);
    assert_int_equal(b, 30 - 30 / 4);              /* a quarter down */
    uint64_t u = t + AHEAD_HOLD_NS;
    for (int i = 1; i < 20; i++)
        b = ahead_observe(a, u + (uint64_t)i * AHEAD_HOLD_NS, INT64_MAX, 0, 0);
    assert_int_equal(b, 15 + 4);                   /* a batch and 10 ms */
    ahead_destroy(a);
}

/* While paused (or just after), margins mean nothing: no change. */
static void test_paused_ignored(void **state)
{
    (void)state;
    struct ahead *a = make(1, 4, 0);
    assert_int_equal(ahead_observe(a, S_NS(1), -(int64_t)S_NS(5), 10, 1), 30);
    assert_int_equal(ahead_observe(a, S_NS(2), INT64_MAX, 0, 0), 30);
    ahead_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chosen_from_the_session),
        cmocka_unit_test(test_batch_grows_with_workers),
        cmocka_unit_test(test_default_upper_end),
        cmocka_unit_test(test_fixed),
        cmocka_unit_test(test_grows_at_once),
        cmocka_unit_test(test_shrinks_slowly),
        cmocka_unit_test(test_paused_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
