/* test_pan.c - the gain and equal-power pan laws (docs/session-format.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "pan.h"

#define EPS 1e-6

static void test_db(void **state)
{
    (void)state;
    assert_float_equal(pan_db_to_linear(0), 1.0, EPS);
    assert_float_equal(pan_db_to_linear(-6.0206), 0.5, 1e-5);
    assert_float_equal(pan_db_to_linear(20), 10.0, EPS);
    assert_float_equal(pan_db_to_linear(-120), 1e-6, 1e-12);
}

static void test_mono_source(void **state)
{
    (void)state;
    struct pan_gains g = pan_law(0, 0, 1, 2);          /* centre: -3 dB each */
    assert_float_equal(g.left, M_SQRT1_2, EPS);
    assert_float_equal(g.right, M_SQRT1_2, EPS);
    g = pan_law(0, -1, 1, 2);                          /* hard left */
    assert_float_equal(g.left, 1.0, EPS);
    assert_float_equal(g.right, 0.0, EPS);
    g = pan_law(0, 1, 1, 2);                           /* hard right */
    assert_float_equal(g.left, 0.0, EPS);
    assert_float_equal(g.right, 1.0, EPS);
    g = pan_law(-6, 0.5, 1, 2);                        /* gain times the law */
    double k = pow(10, -6 / 20.0);
    assert_float_equal(g.left, k * cos(1.5 * M_PI / 4), EPS);
    assert_float_equal(g.right, k * sin(1.5 * M_PI / 4), EPS);
    /* equal power everywhere */
    for (double p = -1; p <= 1; p += 0.125) {
        g = pan_law(0, p, 1, 2);
        assert_float_equal(g.left * g.left + g.right * g.right, 1.0, 1e-6);
    }
}

static void test_stereo_balance(void **state)
{
    (void)state;
    struct pan_gains g = pan_law(0, 0, 2, 2);          /* centre leaves stereo alone */
    assert_float_equal(g.left, 1.0, EPS);
    assert_float_equal(g.right, 1.0, EPS);
    g = pan_law(0, 1, 2, 2);
    assert_float_equal(g.left, 0.0, EPS);
    assert_float_equal(g.right, 1.0, EPS);
    g = pan_law(0, -0.5, 2, 2);
    assert_float_equal(g.left, 1.0, EPS);
    assert_float_equal(g.right, M_SQRT2 * sin(0.5 * M_PI / 4), EPS);
}

static void test_mono_output_ignores_pan(void **state)
{
    (void)state;
    struct pan_gains g = pan_law(-6, 0.9, 1, 1);
    assert_float_equal(g.left, pow(10, -0.3), EPS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_db),
        cmocka_unit_test(test_mono_source),
        cmocka_unit_test(test_stereo_balance),
        cmocka_unit_test(test_mono_output_ignores_pan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
