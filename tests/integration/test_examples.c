/* test_examples.c - the example scripts in assets/scripts, rendered by the
 * real binaries on real signals, each checked for what it should do to
 * sound: eq.py's gain at and away from its band, tremolo_sync.py's minima
 * on the tempo grid wherever the render starts or loops, delay_fb.py's
 * echo train, reverb_conv.py's RT60 and energy; reset() leaving no echo or
 * tail across a loop wrap; reload(old) and on_param() driven by hand. */
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
#define EX SHMIX_EXAMPLES

static char out[65536], err[65536];

/* ---- signals ---- */

static double amp = 0.1;              /* sines' amplitude */
static double freq_l, freq_r;         /* sines on the left and right channel */
static int64_t impulse_at;            /* the frame an impulse file has its 1.0 at */

static double sine_pair(int64_t i, int c)
{
    return amp * sin(2 * M_PI * (c ? freq_r : freq_l) * (double)i / RATE);
}

static double impulse(int64_t i, int c)
{
    (void)c;
    return i == impulse_at ? 1.0 : 0.0;
}

static double dc(int64_t i, int c)
{
    (void)i, (void)c;
    return 0.5;
}

/* Writes a stereo file of two sines: f_l left, f_r right, one second. */
static void write_sines(const char *name, double f_l, double f_r)
{
    freq_l = f_l, freq_r = f_r;
    h_write_wav(name, RATE, 2, RATE, sine_pair);
}

/* Writes a file of channels, seconds long, that is 0 but 1.0 at frame at. */
static void write_impulse(const char *name, int channels, double seconds, int64_t at)
{
    impulse_at = at;
    h_write_wav(name, RATE, channels, (int64_t)(seconds * RATE), impulse);
}

/* ---- running ---- */

/* Writes the session `yaml` to name.yaml, renders it to name.wav with the
 * extra arguments (NULL-terminated, may be NULL) and --strict (a faulted
 * block - a raise, a late block - fails the render), and returns the
 * samples; *frames and *channels say their shape. */
static float *render(const char *name, const char *yaml, const char *const extra[],
                     int64_t *frames, int *channels)
{
    char session[128], output[128];
    snprintf(session, sizeof session, "%s.yaml", name);
    snprintf(output, sizeof output, "%s.wav", name);
    h_write(session, yaml);
    const char *argv[24] = {SHMIX_BIN, "render", h_path(session), "-o", h_path(output),
                            "--strict"};
    int n = 6;
    for (int i = 0; extra && extra[i] && n < 23; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    int st = h_run(argv, out, sizeof out, err, sizeof err, 120);
    if (st != 0)
        fprintf(stderr, "render %s: exit %d\n%s", name, st, err);
    assert_int_equal(st, 0);
    assert_null(strstr(err, "Traceback"));
    int rate;
    float *y = h_read(h_path(output), frames, channels, &rate);
    assert_non_null(y);
    assert_int_equal(rate, RATE);
    return y;
}

/* A one-track session: file through script with params (a YAML mapping's
 * inside), at block frames and channels; loop is "" or a `loop:` line. */
static const char *session(const char *file, const char *script, const char *params, int block,
                           int channels, const char *loop)
{
    static char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "sample_rate: %d\nblock_size: %d\nchannels: %d\n%s"
             "tracks:\n  - {file: %s, script: %s/%s, params: {%s}}\n",
             RATE, block, channels, loop, file, EX, script, params);
    return yaml;
}

/* RMS of channel c of an interleaved buffer over frames [from, to). */
static double rms(const float *y, int channels, int c, int64_t from, int64_t to)
{
    double s = 0;
    for (int64_t i = from; i < to; i++)
        s += (double)y[i * channels + c] * y[i * channels + c];
    return sqrt(s / (double)(to - from));
}

static double db(double ratio) { return 20 * log10(ratio); }

/* The largest |a - b| over frames [from, from + n) of a and [at, at + n) of
 * b, all channels. */
static double max_diff(const float *a, int64_t from, const float *b, int64_t at, int64_t n,
                       int channels)
{
    double m = 0;
    for (int64_t i = 0; i < n * channels; i++)
        m = fmax(m, fabs((double)a[from * channels + i] - b[at * channels + i]));
    return m;
}

static int setup(void **state)
{
    (void)state;
    h_tmpdir();
    return 0;
}

/* ---- eq.py ---- */

/* Gain in dB the EQ gives each channel's sine: output over input RMS in the
 * second half second (the filter has settled; a whole number of cycles of
 * every frequency used here). */
static void eq_gains(const char *name, const char *params, double f_l, double f_r,
                     double *g_l, double *g_r)
{
    char file[64];
    snprintf(file, sizeof file, "%s_in.wav", name);
    write_sines(file, f_l, f_r);
    int64_t frames;
    int ch;
    float *y = render(name, session(file, "eq.py", params, 256, 2, ""), NULL, &frames, &ch);
    assert_int_equal(frames, RATE);
    assert_int_equal(ch, 2);
    double in = amp / sqrt(2.0);
    *g_l = db(rms(y, 2, 0, RATE / 2, RATE) / in);
    *g_r = db(rms(y, 2, 1, RATE / 2, RATE) / in);
    free(y);
}

static void test_eq_boosts_and_cuts_its_band_only(void **state)
{
    (void)state;
    double l, r;
    /* +12 dB at 1 kHz: four times the amplitude there; 100 Hz, 3.3 octaves
     * away, within 0.3 dB (RBJ's peak at q 1 leaves +0.16 dB there). */
    eq_gains("peak", "type: peak, freq_hz: 1000, gain_db: 12, q: 1.0", 1000, 100, &l, &r);
    assert_true(fabs(l - 12.0) < 0.1);
    assert_true(fabs(r) < 0.3);
    /* A cut works the same way down. */
    eq_gains("dip", "type: peak, freq_hz: 1000, gain_db: -12, q: 1.0", 1000, 100, &l, &r);
    assert_true(fabs(l + 12.0) < 0.1);
    assert_true(fabs(r) < 0.3);
    /* Shelves: the whole side past the corner moves, the other side not. */
    eq_gains("lowshelf", "type: lowshelf, freq_hz: 200, gain_db: 6, q: 0.707", 50, 5000, &l, &r);
    assert_true(fabs(l - 6.0) < 0.5);
    assert_true(fabs(r) < 0.3);
    eq_gains("highshelf", "type: highshelf, freq_hz: 2000, gain_db: -12, q: 0.707", 10000, 100,
             &l, &r);
    assert_true(fabs(l + 12.0) < 0.5);
    assert_true(fabs(r) < 0.3);
    /* Pass filters: -3 dB at the corner (q 0.707: Butterworth), an octave
     * past it 12 dB/octave (-12.3 dB) and beyond. */
    eq_gains("lowpass", "type: lowpass, freq_hz: 1000, q: 0.707", 1000, 2000, &l, &r);
    assert_true(fabs(l + 3.01) < 0.1);
    assert_true(r < -12.0 && r > -12.6);
}

/* The filter state goes from block to block: the output is the same at any
 * block size, on both channels (each its own state). */
static void test_eq_state_carries_across_blocks(void **state)
{
    (void)state;
    h_write_wav("eqnoise.wav", RATE, 2, RATE, h_noise);
    const char *p = "type: peak, freq_hz: 3000, gain_db: 9, q: 2";
    int64_t n1, n2;
    int c1, c2;
    const char *b64[] = {"--block", "64", NULL};
    const char *b1000[] = {"--block", "1000", NULL};
    float *a = render("eq64", session("eqnoise.wav", "eq.py", p, 256, 2, ""), b64, &n1, &c1);
    float *b = render("eq1000", session("eqnoise.wav", "eq.py", p, 256, 2, ""), b1000, &n2, &c2);
    assert_int_equal(n1, RATE);
    assert_int_equal(n2, RATE);
    assert_true(max_diff(a, 0, b, 0, RATE, 2) < 1e-6);
    /* ...and the filter did something: the noise is louder (+9 dB over
     * about 1.5 kHz of the 24 adds 1.4 dB to white noise). */
    for (int c = 0; c < 2; c++) {
        double in = 0;
        for (int64_t i = 0; i < RATE; i++)
            in += h_noise(i, c) * h_noise(i, c);
        double gain = db(rms(a, 2, c, 0, RATE) / sqrt(in / RATE));
        assert_true(gain > 1.1 && gain < 1.7);
    }
    free(a);
    free(b);
}

/* ---- tremolo_sync.py ---- */

/* What tremolo_sync gives a 0.5 DC input at timeline time t: 120 bpm
 * quarter notes (2 Hz), depth 1. */
static double trem(double t) { return 0.5 * (0.5 + 0.5 * cos(2 * M_PI * 2.0 * t)); }

/* Checks y (mono) against trem, rendered from start at block frames with
 * the loop [ls, le) (frames; none when le is 0). The phase is the one of
 * info.time, the timeline position of each block's first frame, going on
 * frame by frame inside the block: exactly the timeline, but for the frames
 * after a wrap that falls inside a block (info does not say where in the
 * block the timeline jumped; the next block is back in step). */
static void check_tremolo(const float *y, int64_t frames, int64_t start, int block, int64_t ls,
                          int64_t le)
{
    double worst = 0;
    int64_t pos = start;
    for (int64_t i = 0; i < frames; i += block) {
        for (int64_t j = 0; j < block && i + j < frames; j++)
            worst = fmax(worst, fabs(y[i + j] - trem((double)(pos + j) / RATE)));
        if (le && pos < le && pos + block >= le)
            pos = ls + (pos + block - le);
        else
            pos += block;
    }
    assert_true(worst < 1e-5);
}

/* The frame of the smallest sample in [from, to). */
static int64_t argmin(const float *y, int64_t from, int64_t to)
{
    int64_t k = from;
    for (int64_t i = from; i < to; i++)
        if (y[i] < y[k])
            k = i;
    return k;
}

static void test_tremolo_sync_follows_the_timeline(void **state)
{
    (void)state;
    h_write_wav("dc.wav", RATE, 1, 3 * RATE, dc);
    const char *p = "bpm: 120, division: 4, depth: 1.0";
    int64_t frames;
    int ch;
    /* From 0: minima (silence) at 0.25, 0.75, 1.25 ... s: every 0.5 s,
     * half-way between the beats; full level on the beats. */
    const char *d2[] = {"--duration", "2", NULL};
    float *y = render("trem", session("dc.wav", "tremolo_sync.py", p, 256, 1, ""), d2, &frames,
                      &ch);
    assert_int_equal(frames, 2 * RATE);
    check_tremolo(y, frames, 0, 256, 0, 0);
    for (int k = 0; k < 4; k++) {
        assert_int_equal(argmin(y, k * RATE / 2, (k + 1) * RATE / 2), RATE / 4 + k * RATE / 2);
        assert_true(y[argmin(y, k * RATE / 2, (k + 1) * RATE / 2)] < 1e-6);
        assert_true(fabs(y[k * RATE / 2] - 0.5) < 1e-6);
    }
    free(y);
    /* --start 0.3 (and blocks of 100): the phase is the timeline's, so the
     * first minimum comes 0.45 s into the file, not 0.25. */
    const char *s03[] = {"--start", "0.3", "--duration", "1.5", "--block", "100", NULL};
    y = render("trem03", session("dc.wav", "tremolo_sync.py", p, 256, 1, ""), s03, &frames, &ch);
    assert_int_equal(frames, 3 * RATE / 2);
    check_tremolo(y, frames, 14400, 100, 0, 0);
    assert_int_equal(argmin(y, 0, RATE / 2), 21600);
    assert_int_equal(argmin(y, RATE / 2, RATE), 45600);
    free(y);
    /* A 0.7 s loop (not a whole number of LFO cycles): after each wrap the
     * LFO is where the music is, 0.5 s into the timeline - at full level.
     * At 240 frames every wrap is at a block's start; at 256 the first is,
     * the next two fall inside blocks. */
    const int blocks[] = {240, 256};
    for (int k = 0; k < 2; k++) {
        char b[16];
        snprintf(b, sizeof b, "%d", blocks[k]);
        const char *lp[] = {"--loop", "--duration", "3", "--block", b, NULL};
        y = render("tremloop",
                   session("dc.wav", "tremolo_sync.py", p, 256, 1, "loop: {start: 0.5, end: 1.2}\n"),
                   lp, &frames, &ch);
        assert_int_equal(frames, 3 * RATE);
        check_tremolo(y, frames, 0, blocks[k], 24000, 57600);
        assert_true(fabs(y[57600] - 0.5) < 1e-6);   /* just after the first wrap */
        if (k == 0)
            assert_true(fabs(y[57600 + 33600] - 0.5) < 1e-6);   /* and the second */
        free(y);
    }
}

/* ---- delay_fb.py ---- */

static void test_delay_fb_echo_train(void **state)
{
    (void)state;
    write_impulse("imp.wav", 1, 1.0, 1000);
    /* 100 ms = 4800 frames: not a whole number of 256-frame blocks, and
     * shorter than an 8192-frame one. */
    const char *p = "time_ms: 100, feedback: 0.5, mix: 0.5";
    const char *b8192[] = {"--block", "8192", NULL};
    for (int run = 0; run < 2; run++) {
        int64_t frames;
        int ch;
        float *y = render(run ? "delay8192" : "delay",
                          session("imp.wav", "delay_fb.py", p, 256, 1, ""),
                          run ? b8192 : NULL, &frames, &ch);
        assert_int_equal(frames, RATE);
        /* The dry impulse at (1 - mix), then an echo every 4800 frames,
         * each half the one before; silence between them. */
        int echoes = 0;
        for (int64_t i = 0; i < frames; i++) {
            double want = 0;
            if (i == 1000)
                want = 0.5;
            else if (i > 1000 && (i - 1000) % 4800 == 0)
                want = 0.5 * pow(0.5, (double)((i - 1000) / 4800 - 1));
            assert_true(fabs(y[i] - want) < 1e-7);
            echoes += want > 0;
        }
        assert_int_equal(echoes, 10);
        free(y);
    }
}

/* ---- reverb_conv.py ---- */

static void test_reverb_conv_tail(void **state)
{
    (void)state;
    /* Stereo: a mono file would be panned (-3 dB each side) after the
     * script. */
    write_impulse("imp2.wav", 2, 2.0, 4800);
    const char *p = "decay_s: 1.0, mix: 1.0, seed: 7";
    int64_t frames;
    int ch;
    float *y = render("reverb", session("imp2.wav", "reverb_conv.py", p, 256, 2, ""), NULL,
                      &frames, &ch);
    assert_int_equal(frames, 2 * RATE);
    assert_int_equal(ch, 2);
    const int64_t at = 4800, len = RATE;   /* the IR: decay_s long */
    double e[2] = {0, 0}, lr = 0;
    for (int c = 0; c < 2; c++) {
        /* Causal and without latency: nothing before the impulse, the tail
         * from its very frame on. */
        for (int64_t i = 0; i < at; i++)
            assert_true(fabsf(y[2 * i + c]) < 1e-6f);
        assert_true(rms(y, 2, c, at, at + 48) > 1e-3);
        /* The tail ends with the IR, decay_s after the impulse. */
        for (int64_t i = at + len; i < frames; i++)
            assert_true(fabsf(y[2 * i + c]) < 1e-6f);
        /* Unit energy: a unit impulse's reverb carries energy 1. */
        for (int64_t i = at; i < at + len; i++)
            e[c] += (double)y[2 * i + c] * y[2 * i + c];
        assert_true(fabs(e[c] - 1.0) < 1e-3);
        /* RT60 by Schroeder's backward integration: the energy decay curve
         * falls from -5 to -25 dB in a third of the RT60. */
        double rest = 0, t5 = -1, t25 = -1;
        for (int64_t i = frames - 1; i >= at; i--) {
            rest += (double)y[2 * i + c] * y[2 * i + c];
            double level = 10 * log10(rest / e[c]);
            if (t25 < 0 && level > -25)
                t25 = (double)(i - at) / RATE;
            if (t5 < 0 && level > -5)
                t5 = (double)(i - at) / RATE;
        }
        double rt60 = 3 * (t25 - t5);
        if (fabs(rt60 - 1.0) >= 0.05)
            fprintf(stderr, "channel %d: RT60 %.3f s\n", c, rt60);
        assert_true(fabs(rt60 - 1.0) < 0.05);
    }
    /* Each channel its own noise: a wide reverb, not a mono one panned. */
    for (int64_t i = at; i < at + len; i++)
        lr += (double)y[2 * i] * y[2 * i + 1];
    assert_true(fabs(lr / sqrt(e[0] * e[1])) < 0.1);
    /* The same at other block sizes (the partitions are one block long). */
    const char *bs[][3] = {{"--block", "64", NULL}, {"--block", "1000", NULL}};
    for (int k = 0; k < 2; k++) {
        int64_t n2;
        float *z = render("reverb_b", session("imp2.wav", "reverb_conv.py", p, 256, 2, ""), bs[k],
                          &n2, &ch);
        assert_int_equal(n2, frames);
        assert_true(max_diff(y, 0, z, 0, frames, 2) < 1e-6);
        free(z);
    }
    free(y);
}

/* ---- reset() at a loop wrap ---- */

/* Loop [0.5, 1.0) s of a 1.5 s file with an impulse at 0.51 s, rendered 2 s
 * with --loop: frames [0, 48000) are the first pass (timeline 0..1 s),
 * [48000, 72000) and [72000, 96000) two more of [0.5, 1.0). The same
 * session without the loop is the control: what would ring on past 1.0 s.
 * Each wrap falls inside a 256-frame block, reset() comes before that
 * block: the frames of a pass in it, up to 256 before each wrap, are
 * played without what came before. Returns the looped render; *control
 * the unlooped one. */
static float *loop_pair(const char *name, const char *script, const char *params,
                        float **control)
{
    write_impulse("loopimp.wav", 1, 1.5, 24480);
    int64_t frames;
    int ch;
    const char *lp[] = {"--loop", "--duration", "2", NULL};
    char ctl[64];
    snprintf(ctl, sizeof ctl, "%s_ctl", name);
    float *y = render(name,
                      session("loopimp.wav", script, params, 256, 1, "loop: {start: 0.5, end: 1.0}\n"),
                      lp, &frames, &ch);
    assert_int_equal(frames, 2 * RATE);
    *control = render(ctl, session("loopimp.wav", script, params, 256, 1, ""), NULL, &frames, &ch);
    assert_int_equal(frames, 3 * RATE / 2);
    return y;
}

static void test_delay_fb_reset_at_loop_wrap(void **state)
{
    (void)state;
    float *ctl;
    /* Echoes at 0.66, 0.81, 0.96 s in the loop, and 1.11 s past its end. */
    float *y = loop_pair("delayloop", "delay_fb.py", "time_ms: 150, feedback: 0.6, mix: 0.5",
                         &ctl);
    assert_true(fabs(ctl[53280] - 0.5 * 0.6 * 0.6 * 0.6) < 1e-6);   /* the control rings on */
    assert_true(fabs(y[24480 + 3 * 7200] - 0.5 * 0.36) < 1e-6);      /* the pass has its echoes */
    /* After the wrap: silence until the new impulse, no echo at 0.11 s
     * (where 1.11 s would be), and each pass exactly the first. */
    for (int64_t i = 48000; i < 48480; i++)
        assert_true(fabsf(y[i]) < 1e-7f);
    assert_true(fabsf(y[53280]) < 1e-7f);
    assert_true(max_diff(y, 48000, y, 24000, 24000, 1) < 1e-7);
    assert_true(max_diff(y, 72000, y, 24000, 24000, 1) < 1e-7);
    free(y);
    free(ctl);
}

static void test_reverb_conv_reset_at_loop_wrap(void **state)
{
    (void)state;
    float *ctl;
    float *y = loop_pair("reverbloop", "reverb_conv.py", "decay_s: 1.0, mix: 1.0, seed: 3", &ctl);
    /* The control's tail is still well audible at 1.0 s (-29 dB on the
     * impulse's first 10 ms). */
    double early = rms(ctl, 1, 0, 24480, 24960), late = rms(ctl, 1, 0, 48000, 48480);
    assert_true(db(late / early) > -35);
    /* Up to the block the wrap falls in, the looped render is the control. */
    assert_true(max_diff(y, 0, ctl, 0, 47872, 1) < 1e-6);
    /* After the wrap: silence until the new impulse; then the new pass's
     * own tail only, as in the first pass. */
    for (int64_t i = 48000; i < 48480; i++)
        assert_true(fabsf(y[i]) < 1e-6f);
    assert_true(max_diff(y, 48000, y, 24000, 24000 - 256, 1) < 1e-6);
    assert_true(max_diff(y, 72000, y, 24000, 24000 - 256, 1) < 1e-6);
    free(y);
    free(ctl);
}

/* ---- reload(old) and on_param(), by hand ---- */

static void test_hooks_driven_by_hand(void **state)
{
    (void)state;
    const char *argv[] = {SHMIX_PYTHON, SHMIX_TEST_SCRIPTS "/example_hooks.py", EX, NULL};
    int st = h_run(argv, out, sizeof out, err, sizeof err, 120);
    if (st != 0)
        fprintf(stderr, "example_hooks.py: exit %d\n%s%s", st, out, err);
    assert_int_equal(st, 0);
    assert_string_equal(out, "ok\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        H_TEST(test_eq_boosts_and_cuts_its_band_only),
        H_TEST(test_eq_state_carries_across_blocks),
        H_TEST(test_tremolo_sync_follows_the_timeline),
        H_TEST(test_delay_fb_echo_train),
        H_TEST(test_reverb_conv_tail),
        H_TEST(test_delay_fb_reset_at_loop_wrap),
        H_TEST(test_reverb_conv_reset_at_loop_wrap),
        H_TEST(test_hooks_driven_by_hand),
    };
    return cmocka_run_group_tests(tests, setup, h_teardown_tmpdir);
}
