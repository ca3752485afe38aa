/* test_script_api.c - what a script sees of time and of its own life,
 * through the real binaries and real workers: info.frame/time/jumped
 * across block sizes, --start and loop wraps; reset() exactly at the
 * wraps; reload(old) carrying state across an edit while playing;
 * click-free switches between a script's output and on_fault; and the
 * garbage of setup() collected before a load is frozen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define RATE 48000
#define S SHMIX_TEST_SCRIPTS

static char out[65536], err[65536];

static double full_sine(int64_t i, int c)
{
    (void)c;
    return sin(2 * M_PI * 1000 * (double)i / RATE);   /* full scale, 1 kHz */
}

static int setup(void **state)
{
    (void)state;
    h_tmpdir();
    h_write_wav("tone.wav", RATE, 1, 2 * RATE, full_sine);
    return 0;
}

/* Renders session with extra arguments; returns the exit status. */
static int render(const char *session, const char *output, const char *const extra[])
{
    const char *argv[24] = {SHMIX_BIN, "render", h_path(session), "-o", h_path(output)};
    int n = 5;
    for (int i = 0; extra && extra[i] && n < 22; i++)
        argv[n++] = extra[i];
    argv[n++] = "--stats";
    argv[n++] = h_path("render.jsonl");
    argv[n] = NULL;
    int st = h_run(argv, out, sizeof out, err, sizeof err, 120);
    if (st != 0)
        fprintf(stderr, "render %s: exit %d\n%s", session, st, err);
    return st;
}

/* One line of timelog.py's log. */
struct call {
    int reset;              /* a reset() line */
    long long frame;
    int jumped, frames;
};

/* Reads the log into calls; returns how many. */
static int read_log(const char *name, struct call *c, int max)
{
    char *text = h_slurp(h_path(name));
    assert_non_null(text);
    int n = 0;
    for (char *line = strtok(text, "\n"); line && n < max; line = strtok(NULL, "\n")) {
        memset(&c[n], 0, sizeof c[n]);
        if (!strcmp(line, "reset"))
            c[n].reset = 1;
        else
            assert_int_equal(sscanf(line, "%lld %d %d", &c[n].frame, &c[n].jumped,
                                    &c[n].frames), 3);
        n++;
    }
    free(text);
    return n;
}

/* The session: tone.wav through timelog.py, at block, with a loop region
 * in frames (none when loop_end is 0). */
static void write_timelog_session(const char *name, const char *log, int block,
                                  long loop_start, long loop_end)
{
    char loop[128] = "";
    if (loop_end)
        snprintf(loop, sizeof loop, "loop: {start: %.9g, end: %.9g}\n",
                 (double)loop_start / RATE, (double)loop_end / RATE);
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "sample_rate: 48000\nblock_size: %d\nchannels: 1\n%s"
             "tracks:\n  - {file: tone.wav, script: %s/timelog.py, params: {log: '%s'}}\n",
             block, loop, S, h_path(log));
    unlink(h_path(log));
    h_write(name, yaml);
}

/* What the engine must have told the script: block after block from
 * start, each wrap of the loop [ls, le) jumping (and reset() before the
 * block it jumps in: the block a wrap falls inside of, or the first after
 * a wrap at a block's end), the first block jumped without a reset. */
static void expect_timeline(const struct call *c, int n, long start, int block, long ls, long le,
                            int blocks)
{
    long long pos = start;
    int carry = 0, i = 0, resets = 0;
    for (int k = 0; k < blocks; k++) {
        int inside = le && pos < le && pos + block > le;
        int jump = carry || inside;
        if (jump) {
            assert_true(i < n);
            assert_int_equal(c[i].reset, 1);
            i++;
            resets++;
        }
        assert_true(i < n);
        assert_int_equal(c[i].reset, 0);
        assert_int_equal(c[i].frame, pos);
        assert_int_equal(c[i].jumped, k == 0 || jump);
        assert_int_equal(c[i].frames, block);
        i++;
        carry = le && pos < le && pos + block == le;
        if (le && pos < le && pos + block >= le)
            pos = ls + (pos + block - le);
        else
            pos += block;
    }
    assert_int_equal(i, n);   /* nothing more: no reset() but at the wraps */
    if (le)
        assert_true(resets >= 2);
}

static void test_info_frame_across_block_sizes(void **state)
{
    (void)state;
    const int blocks[] = {64, 256, 1000};
    for (int b = 0; b < 3; b++) {
        write_timelog_session("time.yaml", "time.log", blocks[b], 0, 0);
        const char *extra[] = {"--duration", "0.5", NULL};
        assert_int_equal(render("time.yaml", "time.wav", extra), 0);
        static struct call c[4096];
        int n = read_log("time.log", c, 4096);
        int count = (RATE / 2 + blocks[b] - 1) / blocks[b];
        expect_timeline(c, n, 0, blocks[b], 0, 0, count);
    }
}

static void test_info_frame_from_start(void **state)
{
    (void)state;
    write_timelog_session("start.yaml", "start.log", 256, 0, 0);
    const char *extra[] = {"--start", "0.75", "--duration", "0.25", NULL};
    assert_int_equal(render("start.yaml", "start.wav", extra), 0);
    static struct call c[4096];
    int n = read_log("start.log", c, 4096);
    expect_timeline(c, n, 36000, 256, 0, 0, (12000 + 255) / 256);
}

/* Loops whose ends fall inside blocks and on block boundaries, a run that
 * starts before the loop, and --block overriding the session's. */
static void test_reset_exactly_at_loop_wraps(void **state)
{
    (void)state;
    static struct call c[8192];
    /* [12000, 24000) at 256: every wrap falls inside a block. */
    write_timelog_session("loop.yaml", "loop.log", 256, 12000, 24000);
    const char *extra[] = {"--loop", "--duration", "1.5", NULL};
    assert_int_equal(render("loop.yaml", "loop.wav", extra), 0);
    int n = read_log("loop.log", c, 8192);
    expect_timeline(c, n, 0, 256, 12000, 24000, (72000 + 255) / 256);
    /* The same at 250 frames: every wrap at a block's end. */
    write_timelog_session("loop.yaml", "loop.log", 250, 12000, 24000);
    const char *extra2[] = {"--loop", "--duration", "1.5", "--start", "0.1", NULL};
    assert_int_equal(render("loop.yaml", "loop.wav", extra2), 0);
    n = read_log("loop.log", c, 8192);
    expect_timeline(c, n, 4800, 250, 12000, 24000, 72000 / 250);
}

static void test_info_in_play(void **state)
{
    (void)state;
    write_timelog_session("playloop.yaml", "play.log", 250, 12000, 24000);
    const char *argv[] = {SHMIX_BIN, "play", h_path("playloop.yaml"), "--null", "--loop",
                          "--duration", "1.0", NULL};
    assert_int_equal(h_run(argv, out, sizeof out, err, sizeof err, 60), 0);
    static struct call c[8192];
    int n = read_log("play.log", c, 8192);
    /* Play renders ahead of what it plays: the script may have seen a few
     * blocks past the end; what it saw up to there is exact. */
    int count = RATE / 250;
    int k = 0, lines = 0;
    for (; lines < n && k < count; lines++)
        k += !c[lines].reset;
    expect_timeline(c, lines, 0, 250, 12000, 24000, count);
}

static void test_process_with_three_parameters_is_a_load_error(void **state)
{
    (void)state;
    h_write("three.yaml", "tracks:\n  - {file: tone.wav, script: " S "/three_args.py}\n");
    const char *argv[] = {SHMIX_BIN, "check", h_path("three.yaml"), NULL};
    assert_int_equal(h_run(argv, out, sizeof out, err, sizeof err, 60), 2);
    assert_non_null(strstr(err, "process() must take (block) or (block, info)"));
}

/* Whether process() is given info follows its parameters, whatever kind
 * of callable it is: read from a plain function's code, or by inspect for
 * a decorated function (which it follows to the wrapped one) and a
 * callable object. Each script plays 0.5 where it got an Info, silence
 * where it did not. */
static void test_info_follows_the_signature(void **state)
{
    (void)state;
    static const struct {
        const char *src;
        int info;
    } cases[] = {
        {"def process(block):\n    block[:] = 0.0\n", 0},
        {"def process(block, info):\n    block[:] = 0.5 if info.frame >= 0 else 0.0\n", 1},
        {"def process(block, info=None):\n    block[:] = 0.0 if info is None else 0.5\n", 1},
        {"def process(block, gain=1.0):\n    block[:] = 0.0\n", 0},
        {"def process(*a):\n    a[0][:] = 0.5 if len(a) == 2 else 0.0\n", 1},
        {"process = lambda block, info: block.fill(0.5)\n", 1},
        /* *args itself, but wrapping a one-parameter function: inspect
         * follows __wrapped__, and so must the engine */
        {"import functools\ndef inner(block):\n    pass\n@functools.wraps(inner)\n"
         "def process(*a, **k):\n    a[0][:] = 0.5 if len(a) == 2 else 0.0\n", 0},
        {"import functools\ndef inner(block, info):\n    pass\n@functools.wraps(inner)\n"
         "def process(*a, **k):\n    a[0][:] = 0.5 if len(a) == 2 else 0.0\n", 1},
        {"class P:\n    def __call__(self, block, info):\n        block[:] = 0.5\n"
         "process = P()\n", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char script[64], session[64], yaml[256], wav[64];
        snprintf(script, sizeof script, "sig%zu.py", i);
        snprintf(session, sizeof session, "sig%zu.yaml", i);
        snprintf(wav, sizeof wav, "sig%zu.wav", i);
        h_write(script, cases[i].src);
        snprintf(yaml, sizeof yaml, "sample_rate: 48000\ntracks:\n  - {file: tone.wav, script: %s}\n",
                 h_path(script));
        h_write(session, yaml);
        const char *extra[] = {"--duration", "0.05", "--strict", NULL};
        assert_int_equal(render(session, wav, extra), 0);
        int64_t n;
        int ch;
        float *x = h_read(h_path(wav), &n, &ch, NULL);
        assert_true(n > 100);
        if ((x[100 * ch] != 0.0f) != cases[i].info)
            fail_msg("%s: sample %.6g, info %s", cases[i].src, (double)x[100 * ch],
                     cases[i].info ? "expected" : "not expected");
        free(x);
    }
}

/* ---- reload(old) ---- */

static const char counter_v1[] =
    "n = 0\n"
    "log = open(%s, 'a')\n"
    "def process(block):\n"
    "    global n\n"
    "    n += 1\n"
    "    if n %% 10 == 0:\n"
    "        log.write('v1 %%d\\n' %% n); log.flush()\n";
static const char counter_v2[] =
    "n = 0\n"
    "log = open(%s, 'a')\n"
    "def reload(old):\n"
    "    global n\n"
    "    n = old.n\n"
    "    log.write('carried %%d\\n' %% n); log.flush()\n"
    "def process(block):\n"
    "    global n\n"
    "    n += 1\n"
    "    if n %% 10 == 0:\n"
    "        log.write('v2 %%d\\n' %% n); log.flush()\n";
static const char counter_v3[] =
    "n = 0\n"
    "log = open(%s, 'a')\n"
    "def reload(old):\n"
    "    raise ValueError('cannot carry this')\n"
    "def process(block):\n"
    "    global n\n"
    "    n += 1\n"
    "    if n == 1:\n"
    "        log.write('v3 fresh\\n'); log.flush()\n";

static void write_counter(const char *version)
{
    char quoted[600], text[2048];
    snprintf(quoted, sizeof quoted, "'%s'", h_path("count.log"));
    snprintf(text, sizeof text, version, quoted);
    /* Written aside and renamed: the supervisor never sees half a file. */
    h_write("live/count.tmp", text);
    char from[600];
    snprintf(from, sizeof from, "%s", h_path("live/count.tmp"));
    assert_int_equal(rename(from, h_path("live/count.py")), 0);
}

/* The last number logged with prefix, or -1. */
static long last_logged(const char *prefix)
{
    char *text = h_slurp(h_path("count.log"));
    long v = -1;
    size_t len = strlen(prefix);
    for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n"))
        if (!strncmp(line, prefix, len) && line[len] == ' ')
            v = atol(line + len + 1);
    free(text);
    return v;
}

static void test_reload_carries_state(void **state)
{
    (void)state;
    unlink(h_path("count.log"));
    write_counter(counter_v1);
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "block_size: 256\ntracks:\n  - {file: tone.wav, script: %s}\n",
             h_path("live/count.py"));
    h_write("reload.yaml", yaml);
    const char *argv[] = {SHMIX_BIN, "play", h_path("reload.yaml"), "--null", "--loop",
                          "--duration", "5", "--stats", h_path("reload.jsonl"),
                          "--stats-interval", "0.1", NULL};
    struct h_proc p;
    h_start(argv, &p);
    h_sleep(1.5);
    long before = last_logged("v1");
    assert_true(before >= 100);   /* ~280 blocks played so far */
    write_counter(counter_v2);
    h_sleep(1.5);
    long carried = last_logged("carried"), after = last_logged("v2");
    /* The counter went on from where v1 was: no restart from 0. */
    assert_true(carried >= before);
    assert_true(after > carried);
    write_counter(counter_v3);   /* reload() raises: reported, v3 starts fresh */
    assert_int_equal(h_finish(&p, out, sizeof out, err, sizeof err, 30, NULL), 0);
    char *log = h_slurp(h_path("count.log"));
    assert_non_null(strstr(log, "v3 fresh"));
    free(log);
    assert_non_null(strstr(err, "ValueError: cannot carry this (in reload)"));
    char *text = h_slurp_lines(h_path("reload.jsonl"));
    char *v[128];
    int n = h_lines(text, v, 128);
    const char *t = h_track_at(v[n - 1], 0);
    assert_string_equal(h_str(t, "state"), "running");
    assert_int_equal((int)h_num(t, "restarts"), 0);
    free(text);
}

/* ---- click-free switches ---- */

/* The largest sample-to-sample change of a mono file. */
static double max_step(const char *name, int64_t *frames)
{
    int ch, rate;
    float *x = h_read(h_path(name), frames, &ch, &rate);
    assert_non_null(x);
    assert_int_equal(ch, 1);
    double m = 0;
    for (int64_t i = 1; i < *frames; i++)
        m = fmax(m, fabs((double)x[i] - x[i - 1]));
    free(x);
    return m;
}

/* A full-scale 1 kHz sine changes by at most 2 pi 1000 / 48000 = 0.131 per
 * sample; the switches between -x and x (or 0) in these sessions would be
 * steps of up to 2 (1 to mute) without the crossfade. */
#define SINE_SLOPE 0.1309
#define CLICK_BOUND 0.2

/* The largest step a switch at one of the block boundaries k x block
 * (k = first, first + every, ...) would make without smoothing. */
static double step_without_fade(int block, int first, int every, double factor)
{
    double m = 0;
    for (int k = first; (int64_t)k * block < 2 * RATE; k += every)
        m = fmax(m, factor * fabs(full_sine((int64_t)k * block, 0)));
    return m;
}

static void test_no_click_when_a_script_raises(void **state)
{
    (void)state;
    const char *faults[] = {"bypass", "mute"};
    for (int f = 0; f < 2; f++) {
        char yaml[512];
        snprintf(yaml, sizeof yaml,
                 "sample_rate: 48000\nblock_size: 100\nchannels: 1\n"
                 "tracks:\n  - {file: tone.wav, script: %s/flip.py, on_fault: %s}\n", S,
                 faults[f]);
        h_write("flip.yaml", yaml);
        assert_int_equal(render("flip.yaml", "flip.wav", NULL), 0);
        char *line = h_slurp(h_path("render.jsonl"));
        assert_true(h_num(h_track_at(line, 0), "errors") >= 90);   /* 96 planned */
        free(line);
        int64_t frames;
        double m = max_step("flip.wav", &frames);
        assert_int_equal(frames, 2 * RATE);
        assert_true(m < CLICK_BOUND);
        assert_true(m > SINE_SLOPE * 0.9);   /* the sine itself is there */
        /* Blocks 4, 14, ... fault (into x or 0) and 5, 15, ... recover. */
        assert_true(step_without_fade(100, 4, 10, f == 0 ? 2.0 : 1.0) > 4 * CLICK_BOUND);
    }
}

static void test_no_click_when_a_worker_crashes(void **state)
{
    (void)state;
    char yaml[1024];
    unlink(h_path("crash.marker"));
    snprintf(yaml, sizeof yaml,
             "sample_rate: 48000\nblock_size: 100\nchannels: 1\n"
             "tracks:\n  - {file: tone.wav, script: %s/flip_crash.py,"
             " params: {marker: '%s'}}\n", S, h_path("crash.marker"));
    h_write("crash.yaml", yaml);
    assert_int_equal(render("crash.yaml", "crash.wav", NULL), 0);
    char *line = h_slurp(h_path("render.jsonl"));
    const char *t = h_track_at(line, 0);
    assert_int_equal((int)h_num(t, "restarts"), 1);
    assert_true(h_num(t, "faulted_blocks") >= 1);
    free(line);
    int64_t frames;
    assert_true(max_step("crash.wav", &frames) < CLICK_BOUND);
    /* Block 29 (the 30th) was the crash: a switch from -x to x there. */
    assert_true(2.0 * fabs(full_sine(29 * 100, 0)) > CLICK_BOUND);
}

/* In play, through --record: late blocks (a script slower than its
 * deadline), a reload that changes what the script does, a restart asked
 * for by ctl, and mute toggled by ctl (the mixer's one-block ramp): no
 * switch is a step. */
static void test_no_click_in_play(void **state)
{
    (void)state;
    h_write("live/flipper.py", "import time\nn = 0\ndef process(block):\n    global n\n"
                               "    n += 1\n    if n % 40 == 20:\n        time.sleep(0.15)\n"
                               "    block *= -1.0\n");
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "sample_rate: 48000\nblock_size: 128\nchannels: 1\n"
             "tracks:\n  - {name: x, file: tone.wav, script: %s}\n", h_path("live/flipper.py"));
    h_write("click.yaml", yaml);
    const char *argv[] = {SHMIX_BIN, "play", h_path("click.yaml"), "--null", "--loop", "--duration", "4",
                          "--record", h_path("click.wav"), "--stats", h_path("click.jsonl"),
                          NULL};
    struct h_proc p;
    h_start(argv, &p);
    h_sleep(1.5);
    /* A reload: the new version passes the sine through (a switch from -x
     * to x without a fault in between, if the reload is quick). */
    h_write("live/flipper.tmp", "def process(block):\n    pass\n");
    char to[600];
    snprintf(to, sizeof to, "%s", h_path("live/flipper.py"));
    assert_int_equal(rename(h_path("live/flipper.tmp"), to), 0);
    h_sleep(0.8);
    char pid[32];
    snprintf(pid, sizeof pid, "%d", p.pid);
    const char *restart[] = {SHMIX_BIN, "ctl", "--pid", pid, "/shmix/track/x/restart", NULL};
    assert_int_equal(h_run(restart, out, sizeof out, err, sizeof err, 10), 0);
    h_sleep(0.6);
    const char *mute[] = {SHMIX_BIN, "ctl", "--pid", pid, "/shmix/track/x/mute", "1", NULL};
    assert_int_equal(h_run(mute, out, sizeof out, err, sizeof err, 10), 0);
    h_sleep(0.3);
    const char *unmute[] = {SHMIX_BIN, "ctl", "--pid", pid, "/shmix/track/x/mute", "0", NULL};
    assert_int_equal(h_run(unmute, out, sizeof out, err, sizeof err, 10), 0);
    assert_int_equal(h_finish(&p, out, sizeof out, err, sizeof err, 30, NULL), 0);
    char *text = h_slurp_lines(h_path("click.jsonl"));
    char *v[64];
    int n = h_lines(text, v, 64);
    const char *t = h_track_at(v[n - 1], 0);
    assert_true(h_num(t, "late_blocks") >= 1);   /* the slow blocks were late */
    assert_int_equal((int)h_num(t, "restarts"), 1);
    free(text);
    assert_non_null(strstr(err, "reloaded"));
    int64_t frames;
    double m = max_step("click.wav", &frames);
    assert_true(frames >= 4 * RATE - 128);
    assert_true(m < CLICK_BOUND);
}

/* Garbage that setup() leaves behind is collected before the worker
 * freezes what the load made (pyhost_load): render skips play's full
 * collection at load, but not the garbage - a young cycle, alone (the
 * oldest generation empty: render's cheaper collection) and beside one
 * that a collection inside setup() had already moved to the oldest
 * generation (a full collection). The script outputs 0.5 once the young
 * cycle is gone, plus 0.25 once the old one is (or when it made none):
 * frozen, either would live, and hold its memory, for the whole render. */
static void test_setup_garbage_is_collected_in_render(void **state)
{
    (void)state;
    h_write("garbage.py",
            "import gc, weakref\n"
            "class Node:\n"
            "    pass\n"
            "old = lambda: None\n"
            "def setup(ctx):\n"
            "    global young, old\n"
            "    if ctx.params.get('old'):\n"
            "        b = Node()\n"
            "        b.me = b\n"
            "        gc.collect()   # b survives it: now in the oldest generation\n"
            "        old = weakref.ref(b)\n"
            "    a = Node()\n"
            "    a.me = a\n"
            "    young = weakref.ref(a)\n"
            "def process(block):\n"
            "    block[:] = (0.5 if young() is None else 0.0) + (0.25 if old() is None else 0.0)\n");
    for (int with_old = 0; with_old <= 1; with_old++) {
        char yaml[256];
        snprintf(yaml, sizeof yaml,
                 "sample_rate: 48000\nblock_size: 256\nchannels: 1\n"
                 "tracks:\n  - {file: tone.wav, script: garbage.py, params: {old: %d}}\n",
                 with_old);
        h_write("garbage.yaml", yaml);
        const char *extra[] = {"--duration", "0.1", NULL};
        assert_int_equal(render("garbage.yaml", "garbage.wav", extra), 0);
        int64_t frames;
        int ch, rate;
        float *x = h_read(h_path("garbage.wav"), &frames, &ch, &rate);
        assert_non_null(x);
        assert_int_equal(frames, RATE / 10);
        for (int64_t i = 0; i < frames * ch; i++)
            if (x[i] != 0.75f)
                fail_msg("old cycle %d: sample %lld is %g, expected 0.75 (0.5: the old cycle "
                         "was frozen; 0.25: the young one; 0: both)",
                         with_old, (long long)i, (double)x[i]);
        free(x);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        H_TEST(test_info_frame_across_block_sizes),
        H_TEST(test_info_frame_from_start),
        H_TEST(test_reset_exactly_at_loop_wraps),
        H_TEST(test_info_in_play),
        H_TEST(test_process_with_three_parameters_is_a_load_error),
        H_TEST(test_info_follows_the_signature),
        H_TEST(test_reload_carries_state),
        H_TEST(test_no_click_when_a_script_raises),
        H_TEST(test_no_click_when_a_worker_crashes),
        H_TEST(test_no_click_in_play),
        H_TEST(test_setup_garbage_is_collected_in_render),
    };
    return cmocka_run_group_tests(tests, setup, h_teardown_tmpdir);
}
