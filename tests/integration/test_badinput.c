/* test_badinput.c - hostile and broken inputs: every bad sound file the
 * reliability issue lists gets the exact one-line error at load (exit 2,
 * nothing written) or, when the damage is only found while decoding, a
 * clean degradation of that track; a session in a folder whose path has
 * spaces and non-ASCII letters; 64 tracks at once; and running out of
 * descriptors for workers, or of processes and threads, is an error, not a
 * hang. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static char out[65536], err[65536];

static int run(const char *const argv[])
{
    return h_run(argv, out, sizeof out, err, sizeof err, 120);
}

static int shmix(const char *cmd, const char *session, const char *outfile)
{
    const char *argv[] = {SHMIX_BIN, cmd, session, outfile ? "-o" : NULL, outfile, NULL};
    return run(argv);
}

/* Exactly one line on stderr, equal to want. */
static void assert_one_line(const char *want)
{
    h_assert_one_line(err, want);
}

/* A one-track session playing `file`; the file's value starts at 2:11. */
static const char *one_track(const char *name, const char *file)
{
    char text[512];
    snprintf(text, sizeof text, "tracks:\n  - file: %s\n", file);
    h_write(name, text);
    return h_path(name);
}

/* check and render both refuse the session with `why` about `file`, and
 * render leaves no output behind. */
static void assert_refused(const char *file, const char *why)
{
    const char *session = one_track("bad.yaml", file);
    char want[1024];
    snprintf(want, sizeof want, "shmix: %s:2:11: tracks[0].file: \"%s\" %s", session, file, why);
    assert_int_equal(shmix("check", session, NULL), 2);
    assert_one_line(want);
    assert_int_equal(shmix("render", session, h_path("out.wav")), 2);
    assert_one_line(want);
    assert_false(h_exists(h_path("out.wav")));
}

static void test_empty_file(void **state)
{
    (void)state;
    h_write("empty.wav", "");
    assert_refused("empty.wav", "is empty (0 bytes)");
}

static void test_not_audio(void **state)
{
    (void)state;
    h_write("notes.wav", "this is a shopping list, not a sound\n");
    assert_refused("notes.wav", "is not a sound file shmix can read (Format not recognised)");
}

static void test_folder(void **state)
{
    (void)state;
    mkdir(h_path("stems.wav"), 0755);
    assert_refused("stems.wav", "is a folder, not a sound file");
}

static void test_missing(void **state)
{
    (void)state;
    assert_refused("nothere.wav", "cannot open: No such file or directory");
}

static void test_six_channels(void **state)
{
    (void)state;
    h_write_wav("six.wav", 48000, 6, 480, h_tone);
    assert_refused("six.wav", "has 6 channels; shmix plays mono and stereo files");
}

static void test_sample_rates(void **state)
{
    (void)state;
    h_write_wav("slow.wav", 1, 1, 10, h_tone);
    assert_refused("slow.wav", "has a sample rate of 1 Hz, which cannot be converted to "
                               "48000 Hz (shmix converts rates up to 256:1 either way)");
    /* Beside a 48 kHz track the 1 Hz file is the one that cannot follow. */
    h_write_wav("a.wav", 48000, 1, 4800, h_tone);
    h_write("mixed.yaml", "tracks:\n  - file: a.wav\n  - file: slow.wav\n");
    char want[1024];
    snprintf(want, sizeof want, "shmix: %s:3:11: tracks[1].file: \"slow.wav\" has a sample "
             "rate of 1 Hz, which cannot be converted to 48000 Hz (shmix converts rates up "
             "to 256:1 either way)", h_path("mixed.yaml"));
    assert_int_equal(shmix("check", h_path("mixed.yaml"), NULL), 2);
    assert_one_line(want);

    /* 384 kHz is converted: 0.5 s of it renders as 0.5 s at 48 kHz. */
    h_write_wav("fast.wav", 384000, 2, 192000, h_tone);
    h_write("fast.yaml", "sample_rate: 48000\ntracks:\n  - file: fast.wav\n");
    assert_int_equal(shmix("render", h_path("fast.yaml"), h_path("fast-out.wav")), 0);
    int64_t frames;
    int ch, rate;
    float *a = h_read(h_path("fast-out.wav"), &frames, &ch, &rate);
    assert_int_equal(rate, 48000);
    assert_int_equal(frames, 24000);
    float peak = 0.0f;
    for (int64_t i = 0; i < frames * ch; i++)
        peak = fabsf(a[i]) > peak ? fabsf(a[i]) : peak;
    assert_true(peak > 0.1f);   /* the tone came through the conversion */
    free(a);
}

/* Cuts a file to `keep` bytes. */
static void truncate_to(const char *name, off_t keep)
{
    assert_int_equal(truncate(h_path(name), keep), 0);
}

static off_t file_size(const char *name)
{
    struct stat st;
    assert_int_equal(stat(h_path(name), &st), 0);
    return st.st_size;
}

/* Renders `file` alone into a mono mix; returns it (frames in *frames). */
static float *render_one(const char *file, int64_t *frames)
{
    char text[512];
    snprintf(text, sizeof text, "channels: 1\ntracks:\n  - file: %s\n", file);
    h_write("one.yaml", text);
    int rc = shmix("render", h_path("one.yaml"), h_path("one-out.wav"));
    if (rc != 0)
        fail_msg("render of %s: exit %d\n%s", file, rc, err);
    int ch, rate;
    float *a = h_read(h_path("one-out.wav"), frames, &ch, &rate);
    assert_int_equal(ch, 1);
    return a;
}

/* The first `n` frames of a render equal the tone (within FLAC's 16-bit
 * quantisation). */
static void assert_tone(const float *a, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (fabs(a[i] - h_tone(i, 0)) > 1e-3)
            fail_msg("frame %lld: %f, wanted %f", (long long)i, a[i], h_tone(i, 0));
}

static void test_truncated_wav(void **state)
{
    (void)state;
    /* A float WAV whose data chunk claims a second but holds half: what is
     * there plays, the rest of the promised length is silence. */
    h_write_wav("cut.wav", 48000, 1, 48000, h_tone);
    off_t full = file_size("cut.wav");
    truncate_to("cut.wav", full - 24000 * 4);
    int64_t frames;
    float *a = render_one("cut.wav", &frames);
    assert_true(frames >= 24000 && frames <= 48000);
    assert_tone(a, 23000);
    for (int64_t i = 24000; i < frames; i++)
        assert_float_equal(a[i], 0.0f, 0);
    free(a);
    /* Cut inside the header: not a sound file. */
    truncate_to("cut.wav", 20);
    assert_refused("cut.wav", "is not a sound file shmix can read (Error in WAV/W64/RF64 "
                               "file. Malformed 'fmt ' chunk)");
}

static void test_corrupt_wav(void **state)
{
    (void)state;
    /* Garbage over the middle of a float WAV decodes as samples: here
     * 0xff bytes, i.e. NaN, and huge values. They must not reach the mix:
     * the render is complete, finite, and intact before the damage. */
    h_write_wav("bad.wav", 48000, 1, 48000, h_tone);
    off_t full = file_size("bad.wav");
    int fd = open(h_path("bad.wav"), O_WRONLY);
    assert_true(fd >= 0);
    unsigned char junk[4000];
    memset(junk, 0xff, sizeof junk / 2);                       /* NaN */
    for (size_t i = sizeof junk / 2; i < sizeof junk; i += 4)  /* +Inf and 3e38 */
        memcpy(junk + i, i % 8 ? "\x00\x00\x80\x7f" : "\xff\xff\x7f\x7f", 4);
    assert_int_equal(pwrite(fd, junk, sizeof junk, full / 2 & ~(off_t)3), (ssize_t)sizeof junk);
    close(fd);
    int64_t frames;
    float *a = render_one("bad.wav", &frames);
    assert_int_equal(frames, 48000);
    assert_tone(a, 20000);
    for (int64_t i = 0; i < frames; i++)
        if (!isfinite(a[i]))
            fail_msg("frame %lld is not finite", (long long)i);
    free(a);
}

static void test_truncated_and_corrupt_flac(void **state)
{
    (void)state;
    h_write_wav("cut.flac", 48000, 1, 96000, h_tone);
    off_t full = file_size("cut.flac");
    truncate_to("cut.flac", full / 2);
    int64_t frames;
    float *a = render_one("cut.flac", &frames);
    assert_int_equal(frames, 96000);   /* the length the header promised */
    assert_tone(a, 20000);
    free(a);

    /* Garbage over a stretch in the middle: the render completes, the
     * audio before it is intact, nothing non-finite comes out. */
    h_write_wav("bad.flac", 48000, 1, 96000, h_tone);
    full = file_size("bad.flac");
    int fd = open(h_path("bad.flac"), O_WRONLY);
    assert_true(fd >= 0);
    unsigned char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(i * 131u + 7u);
    assert_int_equal(pwrite(fd, junk, sizeof junk, full / 2), (ssize_t)sizeof junk);
    close(fd);
    a = render_one("bad.flac", &frames);
    assert_int_equal(frames, 96000);
    assert_tone(a, 20000);
    for (int64_t i = 0; i < frames; i++)
        assert_true(isfinite(a[i]) && fabsf(a[i]) <= 1.0f);
    free(a);
}

static void test_unreadable(void **state)
{
    (void)state;
    /* As root every file is readable: play the user the issue means. The
     * folder must let that user in; only the sound file is closed. */
    h_write_wav("secret.wav", 48000, 1, 480, h_tone);
    char session[600];   /* h_path's buffers rotate: keep a copy */
    snprintf(session, sizeof session, "%s", one_track("bad.yaml", "secret.wav"));
    assert_int_equal(chmod(h_path("."), 0755), 0);
    assert_int_equal(chmod(session, 0644), 0);
    assert_int_equal(chmod(h_path("secret.wav"), 0), 0);
    /* The build tree may be somewhere nobody cannot enter (under /root):
     * run a copy of shmix from the scratch folder (no script: no worker). */
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && chmod 755 '%s'", SHMIX_BIN, h_path("shmix"),
             h_path("shmix"));
    assert_int_equal(system(cmd), 0);
    const char *argv[] = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                          "--clear-groups", h_path("shmix"), "check", session, NULL};
    assert_int_equal(run(argv), 2);
    char want[1024];
    snprintf(want, sizeof want, "shmix: %s:2:11: tracks[0].file: \"secret.wav\" cannot open: "
             "Permission denied", session);
    assert_one_line(want);
    chmod(h_path("secret.wav"), 0644);
}

static void test_path_with_spaces_and_accents(void **state)
{
    (void)state;
    /* A session and its files in "Mes sessions/Été 2026 ♪": relative file
     * and script paths resolve against it, output goes there, and an error
     * names it byte for byte. */
    char dir[600], wav[700], yaml[700], script[700], outp[700], text[1024];
    snprintf(dir, sizeof dir, "%s", h_path("Mes sessions"));
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(dir, sizeof dir, "%s", h_path("Mes sessions/\xc3\x89t\xc3\xa9 2026 \xe2\x99\xaa"));
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(wav, sizeof wav, "Mes sessions/\xc3\x89t\xc3\xa9 2026 \xe2\x99\xaa/pi\xc3\xa1no 1.wav");
    h_write_wav(wav, 48000, 1, 4800, h_tone);
    snprintf(script, sizeof script, "%s/d\xc3\xbc" "bbel.py", dir);
    FILE *f = fopen(script, "w");
    assert_non_null(f);
    fputs("def process(block):\n    block *= 2.0\n", f);
    fclose(f);
    snprintf(yaml, sizeof yaml, "%s/s\xc3\xa9" "ance 1.yaml", dir);
    f = fopen(yaml, "w");
    assert_non_null(f);
    fputs("tracks:\n  - file: \"pi\xc3\xa1no 1.wav\"\n    script: \"d\xc3\xbc" "bbel.py\"\n", f);
    fclose(f);
    snprintf(outp, sizeof outp, "%s/mix \xc3\xa9t\xc3\xa9.wav", dir);
    assert_int_equal(shmix("render", yaml, outp), 0);
    int64_t frames;
    int ch, rate;
    float *a = h_read(outp, &frames, &ch, &rate);
    assert_int_equal(frames, 4800);
    for (int64_t i = 0; i < 1000; i++)   /* the script ran: twice the tone */
        assert_float_equal(a[i * ch], 2.0 * h_tone(i, 0) * (ch == 2 ? sqrt(0.5) : 1.0), 1e-4);
    free(a);

    f = fopen(yaml, "w");
    fputs("tracks:\n  - file: \"pi\xc3\xa1no 2.wav\"\n", f);
    fclose(f);
    assert_int_equal(shmix("check", yaml, NULL), 2);
    snprintf(text, sizeof text, "shmix: %s:2:11: tracks[0].file: \"pi\xc3\xa1no 2.wav\" cannot "
             "open: No such file or directory", yaml);
    assert_one_line(text);
}

/* A session of n tracks over one file, every other one with a script. */
static void write_many(const char *name, int n)
{
    size_t cap = (size_t)n * 160 + 128;
    char *text = malloc(cap);
    size_t len = (size_t)snprintf(text, cap, "sample_rate: 48000\nblock_size: 256\ntracks:\n");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len,
                                "  - name: t%02d\n    file: a.wav\n    gain_db: -36\n%s", i,
                                i % 2 ? "    script: " SHMIX_TEST_SCRIPTS "/double.py\n" : "");
    h_write(name, text);
    free(text);
}

static void test_64_tracks(void **state)
{
    (void)state;
    h_write_wav("a.wav", 48000, 1, 48000, h_tone);
    write_many("many.yaml", 64);
    const char *argv[] = {SHMIX_BIN, "play", h_path("many.yaml"), "--null", "--duration", "3",
                          "--stats", h_path("many.json"), NULL};
    assert_int_equal(run(argv), 0);
    char *stats = h_slurp(h_path("many.json"));
    assert_non_null(stats);
    char *lines[64];
    int n = h_lines(stats, lines, 64);
    assert_true(n >= 1);
    const char *last = lines[n - 1];
    assert_float_equal(h_num(last, "position"), 3.0, 0.02);   /* seconds */
    int running = 0, direct = 0;
    for (int i = 0; i < h_ntracks(last); i++) {
        const char *st = h_str(h_track_at(last, i), "state");
        running += !strcmp(st, "running");
        direct += !strcmp(st, "direct");
    }
    assert_int_equal(running, 32);
    assert_int_equal(direct, 32);
    /* Every worker ended with the engine. */
    int pids = 0;
    for (int i = 0; i < h_ntracks(last); i++) {
        const char *t = h_track_at(last, i);
        int pid = h_is_null(t, "pid") ? 0 : (int)h_num(t, "pid");
        if (pid > 0) {
            pids++;
            assert_false(h_alive(pid));
        }
    }
    assert_int_equal(pids, 32);
    free(stats);
}

static void test_out_of_descriptors(void **state)
{
    (void)state;
    /* Room for a few channels only: the tracks that cannot get a worker
     * make a clear error at once, not a hang, and no worker is left. */
    h_write_wav("a.wav", 48000, 1, 48000, h_tone);
    write_many("many.yaml", 64);
    const char *argv[] = {"/usr/bin/prlimit", "--nofile=32:32", SHMIX_BIN, "play",
                          h_path("many.yaml"), "--null", "--duration", "1", NULL};
    double t0 = h_now();
    int rc = run(argv);
    assert_true(h_now() - t0 < 30.0);
    if (rc != 1)
        fail_msg("exit %d, wanted 1\n%s", rc, err);
    char want[1024];
    snprintf(want, sizeof want, "shmix: %s: 64 tracks (32 with scripts) need about 176 open "
             "files, the limit is 32: raise `ulimit -n`", h_path("many.yaml"));
    assert_one_line(want);
    /* With the soft limit low but the hard one high, shmix raises it. */
    const char *argv2[] = {"/usr/bin/prlimit", "--nofile=32:4096", SHMIX_BIN, "check",
                           h_path("many.yaml"), NULL};
    rc = run(argv2);
    if (rc != 0)
        fail_msg("check with a low soft limit: exit %d\n%s", rc, err);
}

/* 64 tracks of a.wav, every other one running pass.py (or none), all in
 * the scratch folder: a user other than root can read the whole session. */
static const char *write_many_local(const char *name, int scripts)
{
    char *text = malloc(64 * 100 + 128);
    size_t len = (size_t)sprintf(text, "sample_rate: 48000\nblock_size: 256\ntracks:\n");
    for (int i = 0; i < 64; i++)
        len += (size_t)sprintf(text + len, "  - name: t%02d\n    file: a.wav\n%s", i,
                               scripts && i % 2 ? "    script: pass.py\n" : "");
    h_write(name, text);
    free(text);
    return h_path(name);
}

static void test_out_of_processes(void **state)
{
    (void)state;
    /* A `ulimit -u` (RLIMIT_NPROC: the user's processes and threads) below
     * what the session needs is one clear line at once, before any worker
     * or thread starts. It used to start every worker and then fail with
     * "cannot start the track threads: system call failed" (256 tracks at
     * `ulimit -u 400`), or, lower, with two vague lines. The kernel does
     * not hold root to this limit: as root, run as nobody - a copy of shmix
     * in the scratch folder, as test_unreadable does. */
    h_write_wav("a.wav", 48000, 1, 4800, h_tone);
    h_write("pass.py", "def process(block):\n    pass\n");
    char session[600], plain[600], bin[600];
    snprintf(session, sizeof session, "%s", write_many_local("many.yaml", 1));
    snprintf(plain, sizeof plain, "%s", write_many_local("plain.yaml", 0));
    snprintf(bin, sizeof bin, "%s", SHMIX_BIN);
    const char *as_nobody[] = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                               "--clear-groups"};
    int root = getuid() == 0, k = 0;
    if (root) {
        assert_int_equal(chmod(h_path("."), 0755), 0);
        snprintf(bin, sizeof bin, "%s", h_path("shmix"));
        char cmd[1400];
        snprintf(cmd, sizeof cmd, "cp '%s' '%s' && chmod 755 '%s'", SHMIX_BIN, bin, bin);
        assert_int_equal(system(cmd), 0);
    }
    const char *argv[16];
    if (root)
        for (int i = 0; i < 4; i++)
            argv[k++] = as_nobody[i];
    int at = k;
    argv[k++] = "/usr/bin/prlimit";
    argv[k++] = "--nproc=40:40";
    argv[k++] = bin;
    argv[k++] = "play";
    argv[k++] = session;
    argv[k++] = "--null";
    argv[k++] = "--duration";
    argv[k++] = "1";
    argv[k] = NULL;
    double t0 = h_now();
    int rc = run(argv);
    assert_true(h_now() - t0 < 30.0);
    if (rc != 1)
        fail_msg("exit %d, wanted 1\n%s", rc, err);
    char want[1024];
    snprintf(want, sizeof want, "shmix: %s: 64 tracks (32 with scripts) need about 112 "
             "processes and threads, the limit is 40: raise `ulimit -u`", session);
    assert_one_line(want);
    /* With the soft limit low but the hard one high, shmix raises it (no
     * scripts here: a copy of shmix has no worker beside it). */
    argv[at + 1] = "--nproc=40:4096";
    argv[at + 3] = "check";
    argv[at + 4] = plain;
    argv[at + 5] = NULL;
    rc = run(argv);
    if (rc != 0)
        fail_msg("check with a low soft limit: exit %d\n%s", rc, err);
}

/* Each test in a scratch folder of its own. */
#define FRESH(f) cmocka_unit_test_setup_teardown(f, h_setup_tmpdir, h_teardown_tmpdir)

int main(void)
{
    const struct CMUnitTest tests[] = {
        FRESH(test_empty_file),
        FRESH(test_not_audio),
        FRESH(test_folder),
        FRESH(test_missing),
        FRESH(test_six_channels),
        FRESH(test_sample_rates),
        FRESH(test_truncated_wav),
        FRESH(test_corrupt_wav),
        FRESH(test_truncated_and_corrupt_flac),
        FRESH(test_unreadable),
        FRESH(test_path_with_spaces_and_accents),
        FRESH(test_64_tracks),
        FRESH(test_out_of_descriptors),
        FRESH(test_out_of_processes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
