/* test_xfade.c - the step at a switch of source is spread over the
 * window: continuous at the switch, the new source exactly after it,
 * switches inside a window and across blocks of any size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "xfade.h"

#define LEN 240   /* 5 ms at 48 kHz */

static float buf[4096], scratch[4096];

static void fill(float *b, uint32_t frames, int ch, float v)
{
    for (uint32_t i = 0; i < frames * (uint32_t)ch; i++)
        b[i] = v;
}

static void test_same_source_passes_through(void **state)
{
    (void)state;
    struct xfade x;
    xfade_init(&x, 2, LEN);
    fill(buf, 64, 2, 0.5f);
    assert_ptr_equal(xfade_block(&x, 1, buf, scratch, 64), buf);   /* the first: nothing before */
    fill(buf, 64, 2, -0.5f);
    assert_ptr_equal(xfade_block(&x, 1, buf, scratch, 64), buf);   /* its own jump: not ours */
}

/* From +1 (source 1) to -1 (source 0), in blocks of `block` frames: no
 * sample-to-sample change above the cosine's steepest (pi / LEN per unit
 * of step), and exactly -1 from the window's end on. */
static void switch_in_blocks(uint32_t block)
{
    struct xfade x;
    xfade_init(&x, 1, LEN);
    fill(buf, block, 1, 1.0f);
    float last = xfade_block(&x, 1, buf, scratch, block)[block - 1];
    uint32_t played = 0;
    double worst = 0;
    while (played < 3 * LEN) {
        fill(buf, block, 1, -1.0f);
        const float *o = xfade_block(&x, 0, buf, scratch, block);
        for (uint32_t i = 0; i < block; i++, played++) {
            worst = fmax(worst, fabs(o[i] - last));
            last = o[i];
            if (played >= LEN)
                assert_true(o[i] == -1.0f);
        }
    }
    assert_true(worst <= 2.0 * M_PI / (2 * LEN) + 1e-6);
    assert_true(worst > 0.0);
}

static void test_step_is_spread_over_the_window(void **state)
{
    (void)state;
    switch_in_blocks(16);
    switch_in_blocks(100);
    switch_in_blocks(4096);
}

/* A switch back inside the window starts from what was played: still
 * continuous, each channel on its own. */
static void test_switch_inside_a_window(void **state)
{
    (void)state;
    struct xfade x;
    xfade_init(&x, 2, LEN);
    for (uint32_t i = 0; i < 64; i++) {
        buf[2 * i] = 1.0f;
        buf[2 * i + 1] = -1.0f;
    }
    const float *o = xfade_block(&x, 1, buf, scratch, 64);
    float l = o[126], r = o[127];
    fill(buf, 64, 2, 0.0f);
    o = xfade_block(&x, 0, buf, scratch, 64);
    assert_true(fabsf(o[0] - l) < 0.01f && fabsf(o[1] - r) < 0.01f);
    l = o[126];
    r = o[127];
    assert_true(l > 0.5f && r < -0.5f);   /* 64 of 240 frames in: mostly still the old */
    fill(buf, 64, 2, 0.25f);
    o = xfade_block(&x, 2, buf, scratch, 64);
    assert_true(fabsf(o[0] - l) < 0.02f && fabsf(o[1] - r) < 0.02f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_source_passes_through),
        cmocka_unit_test(test_step_is_spread_over_the_window),
        cmocka_unit_test(test_switch_inside_a_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
