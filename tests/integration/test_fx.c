/* test_fx.c - shmix fx SCRIPT IN -o OUT: the same samples as the render of
 * the one-track session it stands for, at IN's rate and channels; --param
 * values reaching the script as YAML reads them; bad --param, a script
 * that fails to load and a missing file as one-line errors, exit 2, no
 * file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define GAIN SHMIX_TEST_SCRIPTS "/../../assets/scripts/gain.py"
#define ONEPOLE SHMIX_TEST_SCRIPTS "/../../assets/scripts/onepole.py"

static char out[65536], err[65536];

static int setup(void **state)
{
    (void)state;
    h_tmpdir();
    h_write_wav("noise.wav", 48000, 2, 48000 + 100, h_noise);   /* not a whole block */
    h_write_sines("mono.wav", 44100, 1, 30000, 0.4);
    return 0;
}

/* shmix fx with up to 8 more arguments. */
static int fx(const char *script, const char *in, const char *output, const char *const *more)
{
    const char *argv[16] = {SHMIX_BIN, "fx", script, in, "-o", output};
    int n = 6;
    for (; more && *more && n < 15; more++)
        argv[n++] = *more;
    argv[n] = NULL;
    return h_run(argv, out, sizeof out, err, sizeof err, 60);
}

static int render(const char *session, const char *output)
{
    const char *argv[] = {SHMIX_BIN, "render", h_path(session), "-o", h_path(output), NULL};
    return h_run(argv, out, sizeof out, err, sizeof err, 60);
}

/* Fails unless files a and b hold the same samples, frame for frame, at
 * the rate and channel count given. */
static void assert_same(const char *a, const char *b, int rate, int channels, int64_t frames)
{
    int64_t na, nb;
    int ca, cb, ra, rb;
    float *x = h_read(h_path(a), &na, &ca, &ra);
    float *y = h_read(h_path(b), &nb, &cb, &rb);
    assert_int_equal(ra, rate);
    assert_int_equal(rb, rate);
    assert_int_equal(ca, channels);
    assert_int_equal(cb, channels);
    assert_int_equal(na, frames);
    assert_int_equal(nb, frames);
    for (int64_t i = 0; i < frames * channels; i++)
        if (x[i] != y[i])
            fail_msg("%s and %s differ at frame %lld: %.9g, %.9g", a, b,
                     (long long)(i / channels), (double)x[i], (double)y[i]);
    size_t silent = 0;
    for (int64_t i = 0; i < frames * channels; i++)
        silent += x[i] == 0.0f;
    assert_true(silent < (size_t)frames / 10);   /* the signal is really there */
    free(x);
    free(y);
}

/* fx is, sample for sample, the render of the one-track session of the
 * same file and script: stereo at 48 kHz with a stateless script, and a
 * mono 44.1 kHz file through a stateful one at another block size. The
 * output has IN's rate and channels. */
static void test_fx_equals_one_track_render(void **state)
{
    (void)state;
    const char *g[] = {"--param", "gain_db=-3.5", NULL};
    if (fx(GAIN, h_path("noise.wav"), h_path("fx_gain.wav"), g) != 0)
        fail_msg("fx: %s", err);
    h_write("gain.yaml", "tracks:\n  - {file: noise.wav, script: " GAIN ",\n"
                         "     params: {gain_db: -3.5}}\n");
    if (render("gain.yaml", "render_gain.wav") != 0)
        fail_msg("render: %s", err);
    assert_same("fx_gain.wav", "render_gain.wav", 48000, 2, 48100);

    const char *p[] = {"--block", "128", "--param=cutoff_hz=700", NULL};
    if (fx(ONEPOLE, h_path("mono.wav"), h_path("fx_lp.flac"), p) != 0)
        fail_msg("fx: %s", err);
    h_write("lp.yaml", "channels: 1\nblock_size: 128\n"
                       "tracks:\n  - {file: mono.wav, script: " ONEPOLE ",\n"
                       "     params: {cutoff_hz: 700}}\n");
    if (render("lp.yaml", "render_lp.flac") != 0)
        fail_msg("render: %s", err);
    assert_same("fx_lp.flac", "render_lp.flac", 44100, 1, 30000);
}

/* --param values reach ctx.params as a YAML reader types them; the last of
 * a repeated key wins. param_echo.py prints "KEY TYPE REPR" per key. */
static void test_fx_params_have_yaml_types(void **state)
{
    (void)state;
    const char *params[] = {"drive=3", "gain=.5", "name=abc", "x=~", "empty=", "q='007'",
                            "on=true", "hex=0x1F", "exp=1.5e+3", "neg=-42", "k=1", "k=2",
                            "phrase=two words", NULL};
    const char *argv[40] = {SHMIX_BIN, "fx", SHMIX_TEST_SCRIPTS "/param_echo.py",
                            h_path("noise.wav"), "-o", h_path("echo.wav")};
    int n = 6;
    for (int i = 0; params[i]; i++) {
        argv[n++] = "--param";
        argv[n++] = params[i];
    }
    argv[n] = NULL;
    if (h_run(argv, out, sizeof out, err, sizeof err, 60) != 0)
        fail_msg("fx: %s", err);
    /* The track is named after IN's stem, as in a session. */
    static const char *const want[] = {
        "[noise] drive int 3\n", "[noise] gain float 0.5\n", "[noise] name str 'abc'\n",
        "[noise] x NoneType None\n", "[noise] empty NoneType None\n",
        "[noise] q str '007'\n", "[noise] on bool True\n", "[noise] hex int 31\n",
        "[noise] exp float 1500.0\n", "[noise] neg int -42\n", "[noise] k int 2\n",
        "[noise] phrase str 'two words'\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(err, want[i]))
            fail_msg("no \"%.*s\" in:\n%s", (int)strlen(want[i]) - 1, want[i], err);
    assert_null(strstr(err, "[noise] k int 1"));
}

/* A --param without '=' or with an empty key, or whose value is not one
 * YAML scalar, is bad usage: one line, exit 2, nothing written. */
static void test_fx_bad_param(void **state)
{
    (void)state;
    static const struct {
        const char *param, *want;
    } cases[] = {
        {"drive", "shmix: fx: --param: expected KEY=VALUE, got \"drive\""},
        {"=3", "shmix: fx: --param: expected KEY=VALUE, got \"=3\""},
        {"list=[1, 2]", "shmix: fx: --param list: expected one YAML scalar, got a sequence "
                        "(quote it to make it a string)"},
        {"map=a: b", "shmix: fx: --param map: expected one YAML scalar, got a mapping "
                     "(quote it to make it a string)"},
        {"q='open", "shmix: fx: --param q: YAML: found unexpected end of stream while "
                    "scanning a quoted scalar"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *more[] = {"--param", cases[i].param, NULL};
        assert_int_equal(fx(GAIN, h_path("noise.wav"), h_path("bad.wav"), more), 2);
        h_assert_one_line(err, cases[i].want);
        assert_false(h_exists(h_path("bad.wav")));
    }
}

/* A script that raises in setup(): its traceback, then the verdict as the
 * last line naming the script's path and line, exit 2, no file - what
 * check says after the session's place, here without one. */
static void test_fx_script_fails_to_load(void **state)
{
    (void)state;
    const char *more[] = {"--param", "x=7", NULL};
    assert_int_equal(fx(SHMIX_TEST_SCRIPTS "/setup_raise.py", h_path("noise.wav"),
                        h_path("raise.wav"), more), 2);
    assert_non_null(strstr(err, "Traceback (most recent call last):"));
    char *last = err + strlen(err) - 1;
    *last = '\0';
    last = strrchr(err, '\n');
    assert_string_equal(last ? last + 1 : err, "shmix: " SHMIX_TEST_SCRIPTS
                        "/setup_raise.py:5: ValueError: bad parameter: 7 (in setup)");
    assert_false(h_exists(h_path("raise.wav")));
    /* No process(): the worker's message names the script without a line. */
    assert_int_equal(fx(SHMIX_TEST_SCRIPTS "/no_process.py", h_path("noise.wav"),
                        h_path("np.wav"), NULL), 2);
    last = err + strlen(err) - 1;
    *last = '\0';
    last = strrchr(err, '\n');
    assert_string_equal(last ? last + 1 : err, "shmix: " SHMIX_TEST_SCRIPTS
                        "/no_process.py: TypeError: the script defines no process(block) "
                        "function");
    assert_false(h_exists(h_path("np.wav")));
}

/* Missing files and operands: one line each, exit 2, nothing written. */
static void test_fx_missing_things(void **state)
{
    (void)state;
    char want[1024];
    assert_int_equal(fx(GAIN, h_path("nothere.wav"), h_path("m.wav"), NULL), 2);
    snprintf(want, sizeof want, "shmix: %s: cannot open: No such file or directory",
             h_path("nothere.wav"));
    h_assert_one_line(err, want);
    assert_int_equal(fx(h_path("nothere.py"), h_path("noise.wav"), h_path("m.wav"), NULL), 2);
    snprintf(want, sizeof want, "shmix: %s: cannot open: No such file or directory",
             h_path("nothere.py"));
    h_assert_one_line(err, want);
    assert_false(h_exists(h_path("m.wav")));
    const char *no_out[] = {SHMIX_BIN, "fx", GAIN, h_path("noise.wav"), NULL};
    assert_int_equal(h_run(no_out, out, sizeof out, err, sizeof err, 30), 2);
    h_assert_one_line(err, "shmix: fx: missing -o OUT.wav|flac|ogg");
    const char *no_in[] = {SHMIX_BIN, "fx", GAIN, "-o", h_path("m.wav"), NULL};
    assert_int_equal(h_run(no_in, out, sizeof out, err, sizeof err, 30), 2);
    h_assert_one_line(err, "shmix: fx: missing IN (see shmix fx --help)");
    assert_int_equal(fx(GAIN, h_path("noise.wav"), h_path("m.mp3"), NULL), 2);
    snprintf(want, sizeof want, "shmix: %s: unsupported output format (use .wav, .flac or "
             ".ogg)", h_path("m.mp3"));
    h_assert_one_line(err, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        H_TEST(test_fx_equals_one_track_render),
        H_TEST(test_fx_params_have_yaml_types),
        H_TEST(test_fx_bad_param),
        H_TEST(test_fx_script_fails_to_load),
        H_TEST(test_fx_missing_things),
    };
    return cmocka_run_group_tests(tests, setup, h_teardown_tmpdir);
}
