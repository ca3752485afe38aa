/* test_render.c - shmix render through the real binaries: samples checked
 * against values computed here, scripts in real workers, fault isolation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define RATE 48000

static double sine440(int64_t i, int c)
{
    (void)c;
    return 0.5 * sin(2 * M_PI * 440 * (double)i / RATE);
}

static double stereo_pair(int64_t i, int c)
{
    return c == 0 ? 0.3 * sin(2 * M_PI * 300 * (double)i / RATE)
                  : 0.2 * cos(2 * M_PI * 500 * (double)i / RATE);
}

static int setup(void **state)
{
    (void)state;
    h_tmpdir();
    h_write_wav("mono.wav", RATE, 1, RATE, sine440);
    h_write_wav("stereo.wav", RATE, 2, RATE / 2, stereo_pair);
    h_write_wav("noise.wav", RATE, 2, RATE, h_noise);
    return 0;
}

static char err[65536], out[65536];

static int render(const char *session, const char *output, const char *extra)
{
    const char *argv[] = {SHMIX_BIN, "render", h_path(session), "-o", h_path(output),
                          extra ? "--stats" : NULL, extra ? "-" : NULL, NULL};
    int st = h_run(argv, out, sizeof out, err, sizeof err, 60);
    if (st != 0)
        fprintf(stderr, "render %s: exit %d\n%s", session, st, err);
    return st;
}

static void test_known_samples(void **state)
{
    (void)state;
    h_write("known.yaml",
            "sample_rate: 48000\nmaster: {gain_db: -2}\n"
            "tracks:\n"
            "  - {file: mono.wav, gain_db: -6, pan: 0.5, offset: 0.25}\n"
            "  - {file: stereo.wav, gain_db: 3, pan: -0.5}\n");
    assert_int_equal(render("known.yaml", "known.wav", NULL), 0);
    int64_t frames;
    int ch, rate;
    float *y = h_read(h_path("known.wav"), &frames, &ch, &rate);
    assert_int_equal(rate, RATE);
    assert_int_equal(ch, 2);
    assert_int_equal(frames, RATE / 4 + RATE);          /* offset + length of the longest */
    double m = pow(10, -2 / 20.0);
    double g1 = pow(10, -6 / 20.0), a1 = 1.5 * M_PI / 4;
    double g2 = pow(10, 3 / 20.0), a2 = 0.5 * M_PI / 4;
    double l1 = g1 * cos(a1), r1 = g1 * sin(a1);        /* mono: equal power */
    double l2 = g2 * fmin(1, M_SQRT2 * cos(a2)), r2 = g2 * fmin(1, M_SQRT2 * sin(a2));
    double worst = 0;
    for (int64_t i = 0; i < frames; i++) {
        double x1 = i >= RATE / 4 ? sine440(i - RATE / 4, 0) : 0;
        double L = 0, R = 0;
        L += x1 * l1;
        R += x1 * r1;
        if (i < RATE / 2) {
            L += stereo_pair(i, 0) * l2;
            R += stereo_pair(i, 1) * r2;
        }
        worst = fmax(worst, fabs(y[2 * i] - L * m));
        worst = fmax(worst, fabs(y[2 * i + 1] - R * m));
    }
    free(y);
    assert_true(worst < 2e-6);
}

/* More tracks than the mixer looks ahead (it finds the blocks of the
 * tracks after the one it sums, mixer.c): every track still lands once,
 * through its own fader - different gains, pans, lengths, one muted. */
static void test_many_tracks_sum(void **state)
{
    (void)state;
    enum { N = 12 };
    static const char *file[3] = {"mono.wav", "stereo.wav", "noise.wav"};
    char yaml[4096];
    size_t at = (size_t)snprintf(yaml, sizeof yaml, "sample_rate: 48000\nblock_size: 128\ntracks:\n");
    for (int t = 0; t < N; t++)
        at += (size_t)snprintf(yaml + at, sizeof yaml - at,
                               "  - {name: t%02d, file: %s, gain_db: %d, pan: %.1f%s}\n", t,
                               file[t % 3], -3 - t, 0.4 * (t % 5 - 2), t == 7 ? ", mute: true" : "");
    h_write("many.yaml", yaml);
    assert_int_equal(render("many.yaml", "many.wav", NULL), 0);
    int64_t frames;
    int ch;
    float *y = h_read(h_path("many.wav"), &frames, &ch, NULL);
    assert_int_equal(ch, 2);
    assert_int_equal(frames, RATE);   /* the longest file */
    double gl[N], gr[N];
    for (int t = 0; t < N; t++) {
        double g = t == 7 ? 0 : pow(10, (-3 - t) / 20.0), a = (0.4 * (t % 5 - 2) + 1) * M_PI / 4;
        /* mono: equal power; stereo: balance */
        gl[t] = t % 3 == 0 ? g * cos(a) : g * fmin(1, M_SQRT2 * cos(a));
        gr[t] = t % 3 == 0 ? g * sin(a) : g * fmin(1, M_SQRT2 * sin(a));
    }
    double worst = 0, level = 0;
    for (int64_t i = 0; i < frames; i++) {
        double L = 0, R = 0;
        for (int t = 0; t < N; t++) {
            double xl = 0, xr = 0;   /* stereo.wav has ended after RATE / 2 */
            if (t % 3 == 0) {
                xl = xr = sine440(i, 0);
            } else if (t % 3 == 2) {
                xl = h_noise(i, 0);
                xr = h_noise(i, 1);
            } else if (i < RATE / 2) {
                xl = stereo_pair(i, 0);
                xr = stereo_pair(i, 1);
            }
            L += xl * gl[t];
            R += xr * gr[t];
        }
        worst = fmax(worst, fmax(fabs(y[2 * i] - L), fabs(y[2 * i + 1] - R)));
        level = fmax(level, fabs(L));
    }
    free(y);
    assert_true(level > 0.1);   /* the sum is far from silence */
    assert_true(worst < 1e-5);
}

static void test_script_doubles(void **state)
{
    (void)state;
    h_write("dry.yaml", "tracks:\n  - {file: noise.wav}\n");
    h_write("wet.yaml", "tracks:\n  - {file: noise.wav, script: " SHMIX_TEST_SCRIPTS
                        "/double.py}\n");
    h_write("ret.yaml", "tracks:\n  - {file: noise.wav, script: " SHMIX_TEST_SCRIPTS
                        "/double_return.py}\n");
    assert_int_equal(render("dry.yaml", "dry.wav", NULL), 0);
    assert_int_equal(render("wet.yaml", "wet.wav", NULL), 0);
    assert_int_equal(render("ret.yaml", "ret.wav", NULL), 0);
    int64_t n1, n2, n3;
    int c1, c2, c3;
    float *dry = h_read(h_path("dry.wav"), &n1, &c1, NULL);
    float *wet = h_read(h_path("wet.wav"), &n2, &c2, NULL);
    float *ret = h_read(h_path("ret.wav"), &n3, &c3, NULL);
    assert_int_equal(n1, RATE);
    assert_int_equal(n1, n2);
    assert_int_equal(n1, n3);
    size_t diff = 0, zeros = 0;
    for (int64_t i = 0; i < n1 * c1; i++) {
        diff += wet[i] != 2.0f * dry[i];
        diff += ret[i] != 2.0f * dry[i];
        zeros += dry[i] == 0.0f;
    }
    assert_int_equal(diff, 0);
    assert_true(zeros < (size_t)n1 / 100);                 /* the signal is really there */
    free(dry);
    free(wet);
    free(ret);
}

static void test_params_and_context(void **state)
{
    (void)state;
    h_write("params.yaml", "sample_rate: 48000\nblock_size: 128\n"
                           "tracks:\n  - {name: scaled, file: noise.wav, params: {k: 0.25},\n"
                           "     script: " SHMIX_TEST_SCRIPTS "/params.py, on_fault: mute}\n");
    h_write("plain.yaml", "sample_rate: 48000\nblock_size: 128\n"
                          "tracks:\n  - {file: noise.wav}\n");
    assert_int_equal(render("params.yaml", "params.wav", NULL), 0);
    assert_int_equal(render("plain.yaml", "plain.wav", NULL), 0);
    int64_t n1, n2;
    int c1, c2;
    float *p = h_read(h_path("params.wav"), &n1, &c1, NULL);
    float *d = h_read(h_path("plain.wav"), &n2, &c2, NULL);
    assert_int_equal(n1, n2);
    size_t diff = 0;
    for (int64_t i = 0; i < n1 * c1; i++)
        diff += p[i] != 0.25f * d[i];
    assert_int_equal(diff, 0);   /* on_fault is mute: a failed assert would show as 0s */
    free(p);
    free(d);
}

static void test_raising_script_leaves_others_identical(void **state)
{
    (void)state;
    h_write("with.yaml",
            "tracks:\n"
            "  - {name: a, file: mono.wav, pan: -0.3}\n"
            "  - {name: b, file: noise.wav, gain_db: -3, script: " SHMIX_TEST_SCRIPTS "/double.py}\n"
            "  - {name: c, file: stereo.wav, script: " SHMIX_TEST_SCRIPTS "/raise.py, "
            "on_fault: mute}\n");
    h_write("without.yaml",
            "tracks:\n"
            "  - {name: a, file: mono.wav, pan: -0.3}\n"
            "  - {name: b, file: noise.wav, gain_db: -3, script: " SHMIX_TEST_SCRIPTS
            "/double.py}\n");
    /* The file is written; the exit status says c's script never delivered
     * a block. */
    assert_int_equal(render("with.yaml", "with.wav", "stats"), 1);
    assert_non_null(strstr(err, "shmix: c: its script never processed a block (" SHMIX_TEST_SCRIPTS));
    static char stats[sizeof out];
    snprintf(stats, sizeof stats, "%s", out);
    assert_non_null(strstr(err, "shmix: c: " SHMIX_TEST_SCRIPTS
                                "/raise.py:5: ZeroDivisionError: division by zero (in process)"));
    assert_non_null(strstr(err, "Traceback (most recent call last):"));
    assert_int_equal(render("without.yaml", "without.wav", NULL), 0);
    int64_t n1, n2;
    int c1, c2;
    float *w = h_read(h_path("with.wav"), &n1, &c1, NULL);
    float *wo = h_read(h_path("without.wav"), &n2, &c2, NULL);
    assert_int_equal(n1, n2);
    assert_int_equal(memcmp(w, wo, sizeof(float) * (size_t)(n1 * c1)), 0);
    free(w);
    free(wo);
    /* The stats say what happened, per track. */
    const char *c = h_track(stats, "c");
    assert_string_equal(h_str(c, "state"), "error");
    assert_float_equal(h_num(c, "errors"), 10, 0);
    assert_float_equal(h_num(c, "faulted_blocks"), 188, 0);   /* ceil(48000 / 256) */
    assert_string_equal(h_str(c, "last_error"), SHMIX_TEST_SCRIPTS "/raise.py:5: "
                                                "ZeroDivisionError: division by zero (in process)");
    const char *b = h_track(stats, "b");
    assert_true(h_track_index(stats, "b") < h_track_index(stats, "c"));
    assert_string_equal(h_str(b, "state"), "running");
    assert_float_equal(h_num(b, "errors"), 0, 0);
    assert_float_equal(h_num(b, "faulted_blocks"), 0, 0);
}

static void test_deterministic_and_formats(void **state)
{
    (void)state;
    h_write("det.yaml",
            "sample_rate: 48000\n"
            "tracks:\n"
            "  - {name: a, file: mono.wav, script: " SHMIX_TEST_SCRIPTS "/double.py}\n"
            "  - {name: b, file: noise.wav, gain_db: -12}\n");
    assert_int_equal(render("det.yaml", "det1.wav", NULL), 0);
    assert_int_equal(render("det.yaml", "det2.wav", NULL), 0);
    char *a = h_slurp(h_path("det1.wav")), *b = h_slurp(h_path("det2.wav"));
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(memcmp(a, b, 48000 * 8), 0);
    free(a);
    free(b);
    assert_int_equal(render("det.yaml", "det.flac", NULL), 0);
    assert_int_equal(render("det.yaml", "det.ogg", NULL), 0);
    int64_t n;
    int ch;
    float *f = h_read(h_path("det.flac"), &n, &ch, NULL);
    assert_int_equal(n, RATE);
    assert_int_equal(ch, 2);
    free(f);
    f = h_read(h_path("det.ogg"), &n, &ch, NULL);
    assert_int_equal(n, RATE);
    free(f);
}

static void test_engine_does_not_link_python(void **state)
{
    (void)state;
    const char *argv[] = {"/usr/bin/ldd", SHMIX_BIN, NULL};
    assert_int_equal(h_run(argv, out, sizeof out, err, sizeof err, 10), 0);
    assert_non_null(strstr(out, "libsndfile"));          /* ldd really listed it */
    assert_null(strstr(out, "libpython"));
    /* The worker is where it lives: linked in statically (its C API
     * exported for numpy's extension modules) or as libpython3.X.so. */
    static char syms[1 << 20];   /* nm lists the whole C API: ~90 KiB */
    const char *wargv[] = {"/usr/bin/nm", "-D", SHMIX_WORKER_BIN, NULL};
    assert_int_equal(h_run(wargv, syms, sizeof syms, err, sizeof err, 10), 0);
    assert_non_null(strstr(syms, " Py_InitializeFromConfig\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        H_TEST(test_known_samples),
        H_TEST(test_many_tracks_sum),
        H_TEST(test_script_doubles),
        H_TEST(test_params_and_context),
        H_TEST(test_raising_script_leaves_others_identical),
        H_TEST(test_deterministic_and_formats),
        H_TEST(test_engine_does_not_link_python),
    };
    return cmocka_run_group_tests(tests, setup, h_teardown_tmpdir);
}
