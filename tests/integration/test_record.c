/* test_record.c - play --record OUT: the file holds exactly the samples the
 * device was sent - the same as render's for the same session and length,
 * with and without a script; to the frame at the session's end; with the
 * stop fade after SIGINT - and a path that cannot be written is a one-line
 * error before anything plays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"

#define RATE 48000
#define BLOCK 256
#define GAIN SHMIX_TEST_SCRIPTS "/../../assets/scripts/gain.py"
#define FLIP SHMIX_TEST_SCRIPTS "/flip.py"

static char out[1 << 16], err[1 << 16];

static int setup(void **state)
{
    (void)state;
    h_tmpdir();
    h_write_sines("tone.wav", RATE, 1, 3 * RATE, 0.3);
    h_write_wav("noise.wav", RATE, 2, 3 * RATE, h_noise);
    h_write_sines("short.wav", RATE, 2, RATE * 13 / 10, 0.25);   /* 1.3 s: 243.75 blocks */
    h_write_sines("long.wav", RATE, 2, 10 * RATE, 0.25);
    return 0;
}

static int render(const char *session, const char *output, const char *duration)
{
    const char *argv[] = {SHMIX_BIN, "render", h_path(session), "-o", h_path(output),
                          duration ? "--duration" : NULL, duration, NULL};
    int st = h_run(argv, out, sizeof out, err, sizeof err, 60);
    if (st != 0)
        fprintf(stderr, "render %s: exit %d\n%s", session, st, err);
    return st;
}

/* play --null --record output [--duration d], a final stats line in
 * <output>.jsonl. */
static int play_record(const char *session, const char *output, const char *duration)
{
    char stats[600];
    snprintf(stats, sizeof stats, "%s.jsonl", h_path(output));
    const char *argv[] = {SHMIX_BIN, "play", h_path(session), "--null", "-q", "--record",
                          h_path(output), "--stats", stats, "--stats-interval", "10",
                          duration ? "--duration" : NULL, duration, NULL};
    int st = h_run(argv, out, sizeof out, err, sizeof err, 60);
    if (st != 0)
        fprintf(stderr, "play %s: exit %d\n%s", session, st, err);
    return st;
}

/* Why a played file may differ from the render: a block that came late
 * (the track dropped out of it) - not the recorder's doing. */
static void explain(const char *output)
{
    char stats[600];
    snprintf(stats, sizeof stats, "%s.jsonl", h_path(output));
    char *text = h_slurp_lines(stats);
    char *v[64];
    int n = text ? h_lines(text, v, 64) : 0;
    if (n > 0) {
        for (int i = 0; i < h_ntracks(v[n - 1]); i++) {
            const char *t = h_track_at(v[n - 1], i);
            fprintf(stderr, "track %s: late_blocks %g, faulted_blocks %g\n", h_str(t, "name"),
                    h_num(t, "late_blocks"), h_num(t, "faulted_blocks"));
        }
        fprintf(stderr, "xruns %g\n", h_num(v[n - 1], "xruns"));
    }
    free(text);
}

/* A number of track `track` in the final stats line of a recorded play;
 * -1 when there is none. */
static double final_track_num(const char *output, int track, const char *key)
{
    char stats[600];
    snprintf(stats, sizeof stats, "%s.jsonl", h_path(output));
    char *text = h_slurp_lines(stats);
    char *v[64];
    int n = text ? h_lines(text, v, 64) : 0;
    double x = n > 0 && track < h_ntracks(v[n - 1]) ? h_num(h_track_at(v[n - 1], track), key) : -1;
    free(text);
    return x;
}

/* Whether the recorded play had every block in time (h_played_clean).
 * With `planned`, a session whose script fails on purpose: faulted blocks
 * are expected (and required), late ones still not. */
static int played_clean(const char *output, int planned)
{
    char stats[600];
    snprintf(stats, sizeof stats, "%s.jsonl", h_path(output));
    char *text = h_slurp_lines(stats);
    char *v[64];
    int n = text ? h_lines(text, v, 64) : 0;
    int clean = n > 0 && h_played_clean(v[n - 1], planned);
    free(text);
    return clean;
}

/* Plays SESSION recording to OUTPUT until a play has every block in time,
 * three plays at most, and fails the test when none did. The comparison
 * that follows stays bit-exact. */
static void play_record_clean(const char *session, const char *output, const char *duration,
                              int planned)
{
    int attempt = 0;
    do
        assert_int_equal(play_record(session, output, duration), 0);
    while (!played_clean(output, planned) && ++attempt < 3);
    if (!played_clean(output, planned)) {
        explain(output);
        fail_msg("%s: a block came late in each of 3 plays", session);
    }
}

/* Fails unless a and b hold the same frames, sample for sample. */
static void assert_same(const char *a, const char *b, int64_t want_frames)
{
    int64_t na, nb;
    int ca, cb, ra, rb;
    float *x = h_read(h_path(a), &na, &ca, &ra);
    float *y = h_read(h_path(b), &nb, &cb, &rb);
    assert_int_equal(ra, RATE);
    assert_int_equal(rb, RATE);
    assert_int_equal(ca, cb);
    assert_int_equal(na, want_frames);
    assert_int_equal(nb, want_frames);
    for (int64_t i = 0; i < na * ca; i++)
        if (x[i] != y[i]) {
            explain(a);
            fail_msg("%s and %s differ first at frame %lld: %.9g, %.9g", a, b,
                     (long long)(i / ca), (double)x[i], (double)y[i]);
        }
    size_t silent = 0;
    for (int64_t i = 0; i < na * ca; i++)
        silent += x[i] == 0.0f;
    assert_true(silent < (size_t)(na * ca) / 10);   /* the signal is really there */
    free(x);
    free(y);
}

/* Two seconds played on the null device are the two seconds render makes:
 * a session without scripts (gains, pan, an offset, the master gain), one
 * with a deterministic script, and one whose script raises on every tenth
 * call (on_fault: bypass: those blocks play dry, crossfaded - in play from
 * the disk thread's input slots the track thread holds, in render from
 * what it read itself). */
static void test_record_equals_render(void **state)
{
    (void)state;
    h_write("plain.yaml", "sample_rate: 48000\nmaster: {gain_db: -1}\ntracks:\n"
                          "  - {file: tone.wav, gain_db: -3, pan: 0.3}\n"
                          "  - {file: noise.wav, gain_db: -6, offset: 0.5}\n");
    h_write("script.yaml", "sample_rate: 48000\ntracks:\n"
                           "  - {file: noise.wav, script: " GAIN ", params: {gain_db: -4.5}}\n"
                           "  - {file: tone.wav, pan: -1}\n");
    h_write("fault.yaml", "sample_rate: 48000\ntracks:\n"
                          "  - {file: noise.wav, script: " FLIP ", on_fault: bypass}\n"
                          "  - {file: tone.wav, pan: -1}\n");
    const char *sessions[] = {"plain.yaml", "script.yaml", "fault.yaml"};
    for (int i = 0; i < 3; i++) {
        char rec[64], ren[64];
        int planned = i == 2;
        snprintf(rec, sizeof rec, "rec%d.wav", i);
        snprintf(ren, sizeof ren, "ren%d.wav", i);
        play_record_clean(sessions[i], rec, "2", planned);
        assert_int_equal(render(sessions[i], ren, "2"), 0);
        assert_same(rec, ren, 2 * RATE);
        if (planned)   /* the dry blocks were there: 375 blocks, every tenth raised */
            assert_true(final_track_num(rec, 0, "faulted_blocks") >= 30);
    }
}

/* Played to the session's end, which falls inside a block: the recording
 * ends on the session's last frame, as the render does, in each format. */
static void test_record_ends_with_the_session(void **state)
{
    (void)state;
    h_write("short.yaml", "sample_rate: 48000\ntracks:\n  - {file: short.wav}\n");
    play_record_clean("short.yaml", "short_rec.flac", NULL, 0);
    assert_int_equal(render("short.yaml", "short_ren.flac", NULL), 0);
    assert_same("short_rec.flac", "short_ren.flac", RATE * 13 / 10);
    /* Vorbis is lossy: the length, and a readable file. */
    assert_int_equal(play_record("short.yaml", "short_rec.ogg", "0.5"), 0);
    int64_t n;
    int ch;
    float *y = h_read(h_path("short_rec.ogg"), &n, &ch, NULL);
    assert_int_equal(n, RATE / 2);
    assert_int_equal(ch, 2);
    free(y);
}

/* SIGINT in the middle: exit 0, and a complete file that holds what the
 * device got - the render's samples up to the block where the stop came,
 * then the stop fade (STOP_FADE_NS, 10 ms, a linear ramp applied by
 * player.c, computed here the same way), ending with the block in which
 * it reached zero. */
static void test_sigint_leaves_a_complete_file(void **state)
{
    (void)state;
    h_write("long.yaml", "sample_rate: 48000\ntracks:\n  - {file: long.wav}\n");
    const char *argv[] = {SHMIX_BIN, "play", h_path("long.yaml"), "--null", "-q", "--record",
                          h_path("int.wav"), "--stats", h_path("int.jsonl"),
                          "--stats-interval", "0.1", NULL};
    struct h_proc p;
    h_start(argv, &p);
    double position = 0;   /* wait until it plays: a stop before is no recording */
    for (double t0 = h_now(); position < 1.0 && h_now() - t0 < 30; h_sleep(0.05)) {
        char *text = h_slurp_lines(h_path("int.jsonl"));
        char *v[512];
        int n = text ? h_lines(text, v, 512) : 0;
        position = n ? h_num(v[n - 1], "position") : 0;
        free(text);
    }
    assert_true(position >= 1.0);
    kill(p.pid, SIGINT);
    assert_int_equal(h_finish(&p, out, sizeof out, err, sizeof err, 10, NULL), 0);
    assert_int_equal(render("long.yaml", "full.wav", NULL), 0);
    int64_t nr, nf;
    int cr, cf;
    float *rec = h_read(h_path("int.wav"), &nr, &cr, NULL);
    float *full = h_read(h_path("full.wav"), &nf, &cf, NULL);
    assert_int_equal(cr, 2);
    assert_true(nr >= RATE && nr < nf);
    /* The first frame that differs lies in the first block of the fade
     * (whose first frame still has gain 1). */
    int64_t diff = 0;
    while (diff < nr && rec[2 * diff] == full[2 * diff] && rec[2 * diff + 1] == full[2 * diff + 1])
        diff++;
    assert_true(diff < nr);
    int64_t start = diff / BLOCK * BLOCK, end = start;
    float fade = 1.0f, step = 1.0f / (float)((uint64_t)RATE * 10000000 / 1000000000 + 1);
    for (int done = 0; !done; done = fade == 0.0f) {   /* a block at a time, as player.c */
        for (int f = 0; f < BLOCK; f++, end++) {
            assert_true(end < nr);
            for (int c = 0; c < 2; c++)
                if (rec[2 * end + c] != full[2 * end + c] * fade)
                    fail_msg("frame %lld (fade from %lld): %.9g, wanted %.9g", (long long)end,
                             (long long)start, (double)rec[2 * end + c],
                             (double)(full[2 * end + c] * fade));
            fade = fade > step ? fade - step : 0.0f;
        }
    }
    assert_int_equal(nr, end);   /* and nothing after the fade */
    assert_true(end - start <= 2 * BLOCK);   /* 481 frames of fade */
    free(rec);
    free(full);
}

/* A file that cannot be written is bad usage, said in one line before
 * anything plays (no "playing on" notice; nothing left behind). */
static void test_record_unwritable(void **state)
{
    (void)state;
    h_write("ok.yaml", "tracks:\n  - {file: tone.wav, script: " GAIN "}\n");
    static const struct {
        const char *file, *why;
    } cases[] = {
        {"no/dir/x.wav", "No such file or directory"},
        {"x.mp3", "unsupported output format (use .wav, .flac or .ogg)"},
        {"folder.wav", "is a folder"},
    };
    assert_int_equal(mkdir(h_path("folder.wav"), 0755), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = h_path(cases[i].file);
        char want[1024];
        snprintf(want, sizeof want, "shmix: play: --record %s: %s", path, cases[i].why);
        const char *argv[] = {SHMIX_BIN, "play", h_path("ok.yaml"), "--null", "--record",
                              path, NULL};
        double t0 = h_now();
        assert_int_equal(h_run(argv, out, sizeof out, err, sizeof err, 60), 2);
        h_assert_one_line(err, want);
        assert_true(h_now() - t0 < 5.0);
    }
    assert_false(h_exists(h_path("x.mp3")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        H_TEST(test_record_equals_render),
        H_TEST(test_record_ends_with_the_session),
        H_TEST(test_sigint_leaves_a_complete_file),
        H_TEST(test_record_unwritable),
    };
    return cmocka_run_group_tests(tests, setup, h_teardown_tmpdir);
}
