/* test_cpuload.c - the interval CPU arithmetic behind the meters and the
 * stats lines (ipc/cpuload.c), the peak word (engine/peak.h) and the
 * JSON writer (ipc/json.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cpuload.h"
#include "json.h"
#include "peak.h"

#define BLOCK_NS 5e6     /* 240 frames at 48 kHz */
#define SPAN_NS 250e6    /* the meters' shortest interval: 50 such blocks */

static void test_measured_over_the_interval(void **state)
{
    (void)state;
    struct cpuload l = {0};
    /* 100 blocks, 50 ms of CPU over 500 ms of audio: 10 %. */
    assert_float_equal(cpuload_track(&l, 100, 50000000, BLOCK_NS, 0.0, 1), 10.0, 1e-4);
    assert_int_equal(l.blocks, 100);
    assert_int_equal(l.cpu_ns, 50000000);
    /* The next interval only: 10 blocks with 20 ms: 40 %. */
    assert_float_equal(cpuload_track(&l, 110, 70000000, BLOCK_NS, 0.0, 1), 40.0, 1e-4);
}

static void test_held_while_playing_and_short(void **state)
{
    (void)state;
    struct cpuload l = {0};
    cpuload_track(&l, 100, 50000000, BLOCK_NS, SPAN_NS, 1);   /* 500 ms: measured, 10 % */
    /* No block since: held, and the interval does not move. */
    assert_float_equal(cpuload_track(&l, 100, 50000000, BLOCK_NS, SPAN_NS, 1), 10.0, 1e-4);
    /* 20 blocks (100 ms < 250 ms) at 50 %: still held ... */
    assert_float_equal(cpuload_track(&l, 120, 100000000, BLOCK_NS, SPAN_NS, 1), 10.0, 1e-4);
    assert_int_equal(l.blocks, 100);
    /* ... until 50 blocks are in; then measured over all 50: 50 %. */
    assert_float_equal(cpuload_track(&l, 150, 175000000, BLOCK_NS, SPAN_NS, 1), 50.0, 1e-4);
    assert_int_equal(l.blocks, 150);
}

static void test_zero_when_not_playing(void **state)
{
    (void)state;
    struct cpuload l = {0};
    cpuload_track(&l, 100, 50000000, BLOCK_NS, 0.0, 1);
    /* Stopped or paused and no blocks: nothing runs, 0 is the truth. */
    assert_float_equal(cpuload_track(&l, 100, 50000000, BLOCK_NS, 0.0, 0), 0.0, 0.0);
    /* Blocks that did render are still measured when not playing (the
     * final line of a run). */
    assert_float_equal(cpuload_track(&l, 200, 100000000, BLOCK_NS, 0.0, 0), 10.0, 1e-4);
}

static void test_dsp_adds_the_mixer(void **state)
{
    (void)state;
    struct dspload d = {0};
    /* Tracks at 30 %; the mixer took 5 ms over 100 blocks (500 ms): 1 %. */
    assert_float_equal(cpuload_dsp(&d, 30.0, 100, 5000000, BLOCK_NS, 1), 31.0, 1e-4);
    assert_int_equal(d.mix_ns, 5000000);
    /* No block in the interval while playing: held, mixer total kept. */
    assert_float_equal(cpuload_dsp(&d, 12.0, 0, 9000000, BLOCK_NS, 1), 31.0, 1e-4);
    assert_int_equal(d.mix_ns, 5000000);
    /* Then 100 blocks with the mixer's 10 ms more (since 5 ms): 2 %. */
    assert_float_equal(cpuload_dsp(&d, 20.0, 100, 15000000, BLOCK_NS, 1), 22.0, 1e-4);
    /* Stopped with no blocks: just the tracks' (zero) figures. */
    assert_float_equal(cpuload_dsp(&d, 0.0, 0, 15000000, BLOCK_NS, 0), 0.0, 0.0);
}

static void test_peak_raise_and_take(void **state)
{
    (void)state;
    _Atomic uint32_t bits = 0;
    peak_raise(&bits, 0.25f);
    peak_raise(&bits, 0.75f);
    peak_raise(&bits, 0.5f);            /* lower: no change */
    assert_float_equal(peak_take(&bits), 0.75f, 0.0);
    assert_float_equal(peak_take(&bits), 0.0f, 0.0);   /* taking starts a new interval */
    peak_raise(&bits, 1e-30f);          /* tiny but positive still counts */
    assert_true(peak_take(&bits) > 0.0f);
}

static void test_json_escapes(void **state)
{
    (void)state;
    struct json j = {0};
    json_put(&j, "{\"e\": ");
    json_str(&j, "a\"b\\c}\n\x01é");
    json_fmt(&j, ", \"n\": %d}", 42);
    assert_false(j.failed);
    assert_string_equal(j.p, "{\"e\": \"a\\\"b\\\\c}\\u000a\\u0001é\", \"n\": 42}");
    assert_int_equal(j.len, strlen(j.p));
    /* Longer than json_fmt's small buffer. */
    char big[600];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    size_t before = j.len;
    json_fmt(&j, "%s", big);
    assert_int_equal(j.len, before + sizeof big - 1);
    assert_int_equal(j.p[j.len - 1], 'x');
    json_free(&j);
    assert_null(j.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_measured_over_the_interval),
        cmocka_unit_test(test_held_while_playing_and_short),
        cmocka_unit_test(test_zero_when_not_playing),
        cmocka_unit_test(test_dsp_adds_the_mixer),
        cmocka_unit_test(test_peak_raise_and_take),
        cmocka_unit_test(test_json_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
