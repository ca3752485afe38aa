/* test_script_block.c - script_block: scripts called with longer blocks
 * than the device's, through the real binaries. A sample-by-sample effect
 * renders the same as with script_block = block_size; each call is as long
 * as script_block and starts on its grid; a failed call follows on_fault
 * for its whole length; params take effect where a call starts; play with
 * a script_block records what render makes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define RATE 48000
#define LENGTH 62400                 /* 1.3 s: not a whole number of calls */
#define ONEPOLE SHMIX_TEST_SCRIPTS "/../../assets/scripts/onepole.py"

static char out[1 << 16], err[1 << 16];

static int setup(void **state)
{
    (void)state;
    h_tmpdir();
    h_write_wav("noise.wav", RATE, 2, LENGTH, h_noise);
    return 0;
}

static int render(const char *session, const char *output)
{
    const char *argv[] = {SHMIX_BIN, "render", h_path(session), "-o", h_path(output), NULL};
    int st = h_run(argv, out, sizeof out, err, sizeof err, 120);
    if (st != 0)
        fprintf(stderr, "render %s: exit %d\n%s", session, st, err);
    return st;
}

/* A one-track session of noise.wav at 128-frame blocks. */
static void session(const char *name, int script_block, const char *track)
{
    char text[1024];
    snprintf(text, sizeof text, "sample_rate: 48000\nblock_size: 128\nscript_block: %d\n"
                                "tracks:\n  - %s\n", script_block, track);
    h_write(name, text);
}

static float *load(const char *name, int64_t *frames)
{
    int ch, rate;
    float *x = h_read(h_path(name), frames, &ch, &rate);
    assert_non_null(x);
    assert_int_equal(ch, 2);
    assert_int_equal(rate, RATE);
    return x;
}

/* The one-pole lowpass runs sample by sample in Python: with 2048-frame
 * calls (and 640, which 62400 frames do not divide either) it makes
 * exactly what 128-frame calls make, padding of the last call included. */
static void test_onepole_identical(void **state)
{
    (void)state;
    const int sizes[] = {128, 640, 2048};
    float *ref = NULL;
    int64_t nref = 0;
    for (int i = 0; i < 3; i++) {
        char yaml[32], wav[32];
        snprintf(yaml, sizeof yaml, "op%d.yaml", sizes[i]);
        snprintf(wav, sizeof wav, "op%d.wav", sizes[i]);
        session(yaml, sizes[i], "{file: noise.wav, script: " ONEPOLE "}");
        assert_int_equal(render(yaml, wav), 0);
        int64_t n;
        float *y = load(wav, &n);
        assert_int_equal(n, LENGTH);
        if (!ref) {
            ref = y;
            nref = n;
            continue;
        }
        for (int64_t j = 0; j < n * 2; j++)
            if (y[j] != ref[j])
                fail_msg("script_block %d differs from 128 at frame %lld: %.9g vs %.9g",
                         sizes[i], (long long)(j / 2), (double)y[j], (double)ref[j]);
        free(y);
    }
    /* ... and the filter did run: the output is not the noise. */
    int64_t n;
    float *dry = load("noise.wav", &n);
    assert_int_equal(n, nref);
    size_t same = 0;
    for (int64_t j = 0; j < n * 2; j++)
        same += dry[j] == ref[j];
    assert_true(same < (size_t)n / 100);
    free(dry);
    free(ref);
}

/* Every call has script_block frames and starts on its grid: info.frame
 * 0, 2048, 4096, ...; the last one is padded (31 calls for 62400 frames),
 * and only the first is told it jumped. */
static void test_calls_on_the_grid(void **state)
{
    (void)state;
    char track[512];
    snprintf(track, sizeof track, "{file: noise.wav, script: %s/timelog.py, params: {log: %s}}",
             SHMIX_TEST_SCRIPTS, h_path("calls.log"));
    session("calls.yaml", 2048, track);
    assert_int_equal(render("calls.yaml", "calls.wav"), 0);
    char *text = h_slurp(h_path("calls.log"));
    assert_non_null(text);
    char *v[64];
    int n = h_lines(text, v, 64);
    assert_int_equal(n, (LENGTH + 2047) / 2048);
    for (int i = 0; i < n; i++) {
        long frame, jumped, len;
        assert_int_equal(sscanf(v[i], "%ld %ld %ld", &frame, &jumped, &len), 3);
        assert_int_equal(frame, 2048L * i);
        assert_int_equal(jumped, i == 0);
        assert_int_equal(len, 2048);
    }
    free(text);
}

/* A call that raises follows on_fault (mute) for all of its 2048 frames,
 * after the click-free switch (5 ms = 240 frames); the calls before and
 * after it are the script's output, exactly. */
static void test_failed_call_is_whole(void **state)
{
    (void)state;
    session("fault.yaml", 2048, "{file: noise.wav, script: " SHMIX_TEST_SCRIPTS
                                "/callfault.py, params: {bad: 8192}, on_fault: mute}");
    assert_int_equal(render("fault.yaml", "fault.wav"), 0);
    int64_t n, nd;
    float *y = load("fault.wav", &n);
    float *dry = load("noise.wav", &nd);
    assert_int_equal(n, nd);
    const int64_t bad = 8192, xf = 240;
    for (int64_t f = 0; f < n; f++)
        for (int c = 0; c < 2; c++) {
            float got = y[2 * f + c], wet = 0.5f * dry[2 * f + c];
            if (f < bad || f >= bad + 2048 + xf) {
                if (got != wet)
                    fail_msg("frame %lld: %.9g, not the script's %.9g", (long long)f,
                             (double)got, (double)wet);
            } else if (f >= bad + xf && f < bad + 2048) {
                if (got != 0.0f)
                    fail_msg("frame %lld of the failed call: %.9g, not muted", (long long)f,
                             (double)got);
            }
        }
    free(y);
    free(dry);
}

/* A param change from the session's events: takes effect where the
 * first call after its time starts (0.5 s = frame 24000: the call at
 * 24576), never inside a call. */
static void test_param_at_a_call(void **state)
{
    (void)state;
    h_write("param.yaml", "sample_rate: 48000\nblock_size: 128\nscript_block: 2048\n"
                          "tracks:\n  - {name: t, file: noise.wav, script: " SHMIX_TEST_SCRIPTS
                          "/knob.py, params: {k: 1.0}}\n"
                          "events:\n  - {at: 0.5, osc: [/shmix/track/t/param/k, 0.25]}\n");
    assert_int_equal(render("param.yaml", "param.wav"), 0);
    int64_t n, nd;
    float *y = load("param.wav", &n);
    float *dry = load("noise.wav", &nd);
    assert_int_equal(n, nd);
    for (int64_t f = 0; f < n; f++)
        for (int c = 0; c < 2; c++) {
            float want = (f < 24576 ? 1.0f : 0.25f) * dry[2 * f + c];
            if (y[2 * f + c] != want)
                fail_msg("frame %lld: %.9g, want %.9g", (long long)f, (double)y[2 * f + c],
                         (double)want);
        }
    free(y);
    free(dry);
}

/* Bad values: one line naming the place, exit 2, nothing written. */
static void test_bad_script_block(void **state)
{
    (void)state;
    h_write("b1.yaml", "block_size: 128\nscript_block: 1000\ntracks:\n  - {file: noise.wav}\n");
    h_write("b2.yaml", "block_size: 128\nscript_block: 8\ntracks:\n  - {file: noise.wav}\n");
    h_write("b3.yaml", "block_size: 128\nscript_block: big\ntracks:\n  - {file: noise.wav}\n");
    h_write("b4.yaml", "block_size: 256\nscript_block: 1024\ntracks:\n  - {file: noise.wav}\n");
    struct {
        const char *session, *block, *why;
    } cases[] = {
        {"b1.yaml", NULL, "script_block: 1000 is not a multiple of block_size 128"},
        {"b2.yaml", NULL, "script_block: 8 is out of range 16..16384"},
        {"b3.yaml", NULL, "script_block: expected an integer, got \"big\""},
        {"b4.yaml", "384", "script_block: 1024 is not a multiple of --block 384"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *argv[] = {SHMIX_BIN, "render", h_path(cases[i].session), "-o",
                              h_path("never.wav"), cases[i].block ? "--block" : NULL,
                              cases[i].block, NULL};
        char want[1024];
        snprintf(want, sizeof want, "shmix: %s:2:15: %s", h_path(cases[i].session),
                 cases[i].why);
        assert_int_equal(h_run(argv, out, sizeof out, err, sizeof err, 30), 2);
        h_assert_one_line(err, want);
        assert_false(h_exists(h_path("never.wav")));
    }
}

/* Played on the null device with 2048-frame calls at 128-frame periods,
 * the recording is the render, sample for sample, and the stats say how
 * far ahead the tracks render (at least a call and its stagger). */
static void test_play_records_the_render(void **state)
{
    (void)state;
    session("play.yaml", 2048, "{file: noise.wav, script: " ONEPOLE "}");
    char stats[600];
    snprintf(stats, sizeof stats, "%s", h_path("play.jsonl"));
    const char *argv[] = {SHMIX_BIN, "play", h_path("play.yaml"), "--null", "-q", "--record",
                          h_path("played.wav"), "--stats", stats, "--stats-interval", "0.5",
                          NULL};
    /* Up to three plays until one has every block in time
     * (h_played_clean). */
    char *text = NULL;
    char *v[64];
    int nl = 0;
    for (int attempt = 0; attempt < 3 && (nl == 0 || !h_played_clean(v[nl - 1], 0));
         attempt++) {
        unlink(stats);
        assert_int_equal(h_run(argv, out, sizeof out, err, sizeof err, 60), 0);
        free(text);
        text = h_slurp_lines(stats);
        assert_non_null(text);
        nl = h_lines(text, v, 64);
        assert_true(nl >= 2);
    }
    const char *t = h_track_at(v[nl - 1], 0);
    assert_int_equal((int)h_num(t, "late_blocks"), 0);
    assert_int_equal((int)h_num(t, "faulted_blocks"), 0);
    double ahead = h_num(v[0], "render_ahead_ms");
    assert_true(ahead >= (2048.0 + 1920.0) / RATE * 1000.0);   /* a call + its stagger */
    assert_true(ahead <= 400.0);
    assert_int_equal(render("play.yaml", "rendered.wav"), 0);
    int64_t n1, n2;
    float *a = load("played.wav", &n1);
    float *b = load("rendered.wav", &n2);
    assert_int_equal(n1, LENGTH);
    assert_int_equal(n2, LENGTH);
    for (int64_t j = 0; j < n1 * 2; j++)
        if (a[j] != b[j])
            fail_msg("played and rendered differ first at frame %lld", (long long)(j / 2));
    free(a);
    free(b);
    free(text);
}

/* The render-ahead's bounds from the command line: --ahead-max caps the
 * sized value (never below a batch and 10 ms of slack), a bad value is one
 * line and exit 2. */
static void test_ahead_max(void **state)
{
    (void)state;
    session("cap.yaml", 128, "{file: noise.wav, script: " ONEPOLE "}");
    const char *bad[] = {SHMIX_BIN, "play", h_path("cap.yaml"), "--null", "--ahead-max", "5",
                         NULL};
    assert_int_equal(h_run(bad, out, sizeof out, err, sizeof err, 30), 2);
    h_assert_one_line(err, "shmix: play: --ahead-max: expected 10..2000 ms, got \"5\"");
    char stats[600];
    snprintf(stats, sizeof stats, "%s", h_path("cap.jsonl"));
    const char *argv[] = {SHMIX_BIN, "play", h_path("cap.yaml"), "--null", "-q",
                          "--ahead-max", "60", "--duration", "1", "--stats", stats,
                          "--stats-interval", "0.2", NULL};
    assert_int_equal(h_run(argv, out, sizeof out, err, sizeof err, 60), 0);
    char *text = h_slurp_lines(stats);
    assert_non_null(text);
    char *v[64];
    int n = h_lines(text, v, 64);
    assert_true(n >= 3);
    for (int i = 0; i < n; i++) {
        double ms = h_num(v[i], "render_ahead_ms");
        assert_true(ms >= 40.0);    /* a batch: 15 blocks of 128 frames */
        assert_true(ms <= 60.0);
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        H_TEST(test_onepole_identical),
        H_TEST(test_calls_on_the_grid),
        H_TEST(test_failed_call_is_whole),
        H_TEST(test_param_at_a_call),
        H_TEST(test_bad_script_block),
        H_TEST(test_play_records_the_render),
        H_TEST(test_ahead_max),
    };
    return cmocka_run_group_tests(tests, setup, h_teardown_tmpdir);
}
