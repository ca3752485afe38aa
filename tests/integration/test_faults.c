/* test_faults.c - one test per row of the contract's Faults table, each
 * with a misbehaving script from tests/scripts: the engine survives, the
 * stats say what happened, and the other tracks are untouched - bit for
 * bit in render (the victim is muted there: muted tracks still run their
 * script), zero late blocks in play --null. Plus a chaos test and the
 * engine's own death. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define RATE 48000
#define S SHMIX_TEST_SCRIPTS

static char out[1 << 17], err[1 << 17];
static float *reference;          /* render of the healthy tracks alone */
static int64_t ref_frames;
static const char *play_last;     /* play_case's final stats line (in out) */

/* The healthy tracks every case shares. */
static const char healthy[] =
    "  - {name: a, file: tone.wav, pan: -0.4}\n"
    "  - {name: b, file: noise.wav, gain_db: -3, script: " S "/double.py}\n";

static int render(const char *yaml_name, const char *wav_name)
{
    const char *argv[] = {SHMIX_BIN, "render", h_path(yaml_name), "-o", h_path(wav_name),
                          "--stats", "-", NULL};
    return h_run(argv, out, sizeof out, err, sizeof err, 120);
}

static int setup(void **state)
{
    (void)state;
    h_tmpdir();
    h_write_sines("tone.wav", RATE, 2, 2 * RATE, 0.3);
    h_write_wav("noise.wav", RATE, 1, 2 * RATE, h_noise);
    char yaml[1024];
    snprintf(yaml, sizeof yaml, "sample_rate: 48000\ntracks:\n%s", healthy);
    h_write("ref.yaml", yaml);
    if (render("ref.yaml", "ref.wav") != 0)
        return -1;
    int ch;
    reference = h_read(h_path("ref.wav"), &ref_frames, &ch, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(reference);
    h_cleanup();
    return 0;
}

/* A session with the healthy tracks and a victim track. */
static void write_session(const char *name, const char *supervisor, const char *victim,
                          int muted)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "sample_rate: 48000\n%s%s%stracks:\n%s  - {name: victim, file: tone.wav, "
             "mute: %s, %s}\n",
             supervisor ? "supervisor: " : "", supervisor ? supervisor : "",
             supervisor ? "\n" : "", healthy, muted ? "true" : "false", victim);
    h_write(name, yaml);
}

/* Render with the victim muted: the mix must equal the reference exactly.
 * A victim whose script never delivered a block (it raises on every one,
 * or never loads) makes the render exit 1 with a line that says so; the
 * file is written all the same. Returns the victim's part of the final
 * stats line. */
static const char *render_case(const char *supervisor, const char *victim)
{
    write_session("case.yaml", supervisor, victim, 1);
    int rc = render("case.yaml", "case.wav");
    if (rc != 0 && !(rc == 1 && strstr(err, "shmix: victim: its script never processed a block")))
        fail_msg("render failed (%d):\n%s", rc, err);
    int64_t n;
    int ch;
    float *y = h_read(h_path("case.wav"), &n, &ch, NULL);
    assert_int_equal(n, ref_frames);
    assert_int_equal(memcmp(y, reference, sizeof(float) * (size_t)(n * ch)), 0);
    free(y);
    char *v[8];
    int lines = h_lines(out, v, 8);
    assert_int_equal(lines, 1);
    assert_int_equal((int)h_num(h_track(v[0], "a"), "faulted_blocks"), 0);
    assert_int_equal((int)h_num(h_track(v[0], "b"), "faulted_blocks"), 0);
    return h_track(v[0], "victim");
}

/* Play --null for `seconds` with the victim audible: the others must have
 * no late or faulted blocks. Returns the victim's part of the final line. */
static const char *play_case(const char *supervisor, const char *victim, double seconds)
{
    write_session("case.yaml", supervisor, victim, 0);
    char dur[32];
    snprintf(dur, sizeof dur, "%g", seconds);
    const char *argv[] = {SHMIX_BIN, "play", h_path("case.yaml"), "--null", "--loop",
                          "--duration", dur, "--stats", "-", "--stats-interval", "0.5", NULL};
    if (h_run(argv, out, sizeof out, err, sizeof err, 120) != 0)
        fail_msg("play failed:\n%s", err);
    char *v[256];
    int n = h_lines(out, v, 256);
    const char *last = play_last = v[n - 1];
    /* The null device's clock thread (SCHED_FIFO 10) counts an xrun when
     * it wakes more than 3 periods late, which only a stall of the VM
     * itself does; test_play asserts none on a plain play. Here the point
     * is the healthy tracks, so one or two such stalls are let through,
     * and more when the stall watch saw the machine stop that often (a
     * clean-clone run failed here while every test around it reported
     * 1-7 stalls of a CPU). */
    int xruns = (int)h_num(last, "xruns"), stalls = h_stalls();
    if (xruns > 2 && xruns > stalls)
        fail_msg("%d null-device xruns, %d stalls of a CPU seen:\n%s", xruns, stalls, last);
    int allowed = h_late_allowed(last);
    for (int i = 0; i < 2; i++) {
        const char *t = h_track(last, i ? "b" : "a");
        if (h_num(t, "late_blocks") > allowed || h_num(t, "faulted_blocks") > allowed)
            fail_msg("a healthy track suffered:\n%s\n%s", last, err);
    }
    return h_track(last, "victim");
}

/* Track t's state is `state`, it restarted `restarts` times (-1: any) and
 * its last_error holds `error` (NULL: anything, or none). */
static void expect(const char *t, const char *state, int restarts, const char *error)
{
    if (strcmp(h_str(t, "state"), state))
        fail_msg("wanted state %s in %s", state, t);
    if (restarts >= 0)
        assert_int_equal((int)h_num(t, "restarts"), restarts);
    if (error && (h_is_null(t, "last_error") || !strstr(h_str(t, "last_error"), error)))
        fail_msg("wanted \"%s\" in %s\nstderr:\n%s", error, t, err);
}

/* A crash once (the marker file keeps the restarted worker healthy). */
static void crash_once(const char *kind, const char *why)
{
    char victim[1200], marker[600];
    snprintf(marker, sizeof marker, "%s", h_path("marker"));
    unlink(marker);
    snprintf(victim, sizeof victim, "script: " S "/fault.py, params: {kind: %s, after: 20, "
             "once: %s}", kind, marker);
    expect(render_case(NULL, victim), "running", 1, why);
    unlink(marker);
    const char *t = play_case(NULL, victim, 2.0);
    expect(t, "running", 1, why);
    assert_true(h_num(t, "restart_ms") > 0);
    assert_true(h_num(t, "faulted_blocks") >= 1);
}

static void test_segfault(void **s) { (void)s; crash_once("segfault", "segfault in victim"); }
static void test_abort(void **s) { (void)s; crash_once("abort", "abort in victim"); }
static void test_exit(void **s) { (void)s; crash_once("exit", "exit status 3 in victim"); }
static void test_memory(void **s)
{
    (void)s;
    crash_once("memory", "out of memory (worker_memory_mb) in victim");
}

static void test_killed_from_outside(void **state)
{
    (void)state;
    /* render: the victim (muted) is killed mid-render; the mix is the
     * reference bit for bit and the victim was restarted. */
    char victim[1200];
    snprintf(victim, sizeof victim, "script: " S "/pidfile.py, params: {pidfile: %s, sleep: 0.002}",
             h_path("victim.pid"));
    unlink(h_path("victim.pid"));
    write_session("case.yaml", NULL, victim, 1);
    const char *rargv[] = {SHMIX_BIN, "render", h_path("case.yaml"), "-o", h_path("case.wav"),
                           "--stats", "-", NULL};
    struct h_proc r;
    h_start(rargv, &r);
    char *pidtext = NULL;
    for (int i = 0; i < 500 && !(pidtext = h_slurp(h_path("victim.pid"))); i++)
        h_sleep(0.01);
    assert_non_null(pidtext);
    /* Never kill(0) or kill(1): pid 0 is this test's own process group. */
    int victim_pid = atoi(pidtext);
    assert_true(victim_pid > 1);
    h_sleep(0.3);
    assert_int_equal(kill(victim_pid, SIGKILL), 0);
    free(pidtext);
    assert_int_equal(h_finish(&r, out, sizeof out, err, sizeof err, 60, NULL), 0);
    expect(h_track(out, "victim"), "running", 1, "killed in victim");
    int64_t frames;
    int ch;
    float *y = h_read(h_path("case.wav"), &frames, &ch, NULL);
    assert_int_equal(frames, ref_frames);
    assert_int_equal(memcmp(y, reference, sizeof(float) * (size_t)(frames * ch)), 0);
    free(y);

    /* play: killed while playing; the others do not notice. */
    write_session("case.yaml", NULL, "script: " S "/double.py", 0);
    const char *argv[] = {SHMIX_BIN, "play", h_path("case.yaml"), "--null", "--loop",
                          "--duration", "3", "--stats", h_path("kill.jsonl"),
                          "--stats-interval", "0.2", NULL};
    struct h_proc p;
    h_start(argv, &p);
    /* Playing for a while (two stats lines at least: a busy machine may
     * take longer than the usual second to start). */
    char *text = NULL, *v[64];
    int n = 0;
    for (int i = 0; i < 100 && n < 2; i++) {
        h_sleep(i ? 0.1 : 1.0);
        free(text);
        text = h_slurp_lines(h_path("kill.jsonl"));
        n = text ? h_lines(text, v, 64) : 0;
    }
    assert_true(n >= 2);
    int pid = (int)h_num(h_track(v[n - 1], "victim"), "pid");
    free(text);
    assert_true(pid > 0);
    kill(pid, SIGKILL);
    assert_int_equal(h_finish(&p, out, sizeof out, err, sizeof err, 30, NULL), 0);
    text = h_slurp(h_path("kill.jsonl"));
    n = h_lines(text, v, 64);
    const char *last = v[n - 1];
    expect(h_track(last, "victim"), "running", 1, "killed in victim");
    assert_true((int)h_num(h_track(last, "victim"), "pid") != pid);
    for (int i = 0; i < 2; i++)
        assert_int_equal((int)h_num(h_track(last, i ? "b" : "a"), "late_blocks"), 0);
    free(text);
}

static void test_raise_in_setup(void **state)
{
    (void)state;
    const char *victim = "script: " S "/setup_raise.py, params: {x: 1}";
    const char *t = render_case(NULL, victim);
    expect(t, "error", 0, S "/setup_raise.py:5: ValueError: bad parameter: 1 (in setup)");
    assert_int_equal((int)h_num(t, "errors"), 1);
    assert_non_null(strstr(err, "Traceback (most recent call last):"));
    expect(play_case(NULL, victim, 1.5), "error", 0, "ValueError: bad parameter");
}

static void test_raise_in_process(void **state)
{
    (void)state;
    const char *victim = "script: " S "/raise.py";
    const char *t = render_case(NULL, victim);
    expect(t, "error", 0, S "/raise.py:5: ZeroDivisionError: division by zero (in process)");
    assert_int_equal((int)h_num(t, "errors"), 10);
    /* In play a worker gets a batch of blocks per request: it must stop
     * calling process() at the 10th failure, not finish the batch. */
    char counted[1200];
    unlink(h_path("calls"));
    snprintf(counted, sizeof counted, "script: " S "/raise.py, params: {calls: %s}",
             h_path("calls"));
    t = play_case(NULL, counted, 1.5);
    expect(t, "error", 0, "ZeroDivisionError");
    assert_int_equal((int)h_num(t, "errors"), 10);
    struct stat sb;
    assert_int_equal(stat(h_path("calls"), &sb), 0);
    assert_int_equal((int)sb.st_size, 10);
}

static void hang_case(const char *kind)
{
    char victim[1200], marker[600];
    snprintf(marker, sizeof marker, "%s", h_path("marker"));
    unlink(marker);
    snprintf(victim, sizeof victim, "script: " S "/fault.py, params: {kind: %s, after: 20, "
             "once: %s}", kind, marker);
    const char *t = render_case("{hang_timeout: 0.2}", victim);
    expect(t, "running", 1, "hang in victim");
    assert_int_equal((int)h_num(t, "late_blocks"), 1);   /* render: only the hung block */
    unlink(marker);
    t = play_case("{hang_timeout: 0.2}", victim, 2.0);
    expect(t, "running", 1, "hang in victim");
    assert_true(h_num(t, "late_blocks") >= 1);
}

static void test_infinite_loop(void **s) { (void)s; hang_case("loop"); }
static void test_sleep_past_hang_timeout(void **s) { (void)s; hang_case("hang"); }

/* Plays a session of one victim per CPU (at most 32: room in the session
 * text; past that a test is weaker) beside a healthy track for `seconds`:
 * `head` begins the session, victim(i, line, cap) writes victim i's track
 * line. Returns the final stats line; *nv is the number of victims. */
static const char *play_victim_per_cpu(const char *head, void (*victim)(long, char *, size_t),
                                       const char *seconds, long *nv)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 1)
        ncpu = 1;
    if (ncpu > 32)
        ncpu = 32;
    static char yaml[16384];
    int len = snprintf(yaml, sizeof yaml, "%s", head);
    for (*nv = 0; *nv < ncpu && len < (int)sizeof yaml - 1200; (*nv)++) {
        victim(*nv, yaml + len, sizeof yaml - (size_t)len);
        len += (int)strlen(yaml + len);
    }
    snprintf(yaml + len, sizeof yaml - (size_t)len,
             "  - {name: healthy, file: noise.wav, script: " S "/double.py}\n");
    h_write("cpu.yaml", yaml);
    const char *argv[] = {SHMIX_BIN, "play", h_path("cpu.yaml"), "--null", "--loop",
                          "--duration", seconds, "--stats", "-", NULL};
    if (h_run(argv, out, sizeof out, err, sizeof err, 60) != 0)
        fail_msg("play failed:\n%s", err);
    char *v[64];
    int n = h_lines(out, v, 64);
    assert_true(n > 0);   /* at least the final stats line */
    return v[n - 1];
}

static void looping_victim(long i, char *line, size_t cap)
{
    char marker[64];
    snprintf(marker, sizeof marker, "loop-marker-%ld", i);
    unlink(h_path(marker));
    snprintf(line, cap,
             "  - {name: victim%ld, file: tone.wav, script: " S "/fault.py, "
             "params: {kind: loop, after: 40, once: %s}}\n",
             i, h_path(marker));
}

/* Workers stuck in a loop on every CPU beside a healthy worker. Workers
 * are SCHED_FIFO in play (not pinned); without the RLIMIT_RTTIME guard the
 * looping ones would keep the healthy one off every CPU until hang_timeout
 * (0.5 s here) killed them. With it, each looping worker is stepped down to
 * time-sharing within WORKER_RTTIME_US and the healthy track never misses
 * a block. */
static void test_loops_on_every_cpu_beside_a_healthy_worker(void **state)
{
    (void)state;
    long nv;
    const char *last = play_victim_per_cpu(
        "sample_rate: 48000\nsupervisor: {hang_timeout: 0.5}\ntracks:\n", looping_victim, "3", &nv);
    for (long i = 0; i < nv; i++) {
        char name[32];
        snprintf(name, sizeof name, "victim%ld", i);
        expect(h_track(last, name), "running", 1, "hang in victim");
    }
    const char *t = h_track(last, "healthy");
    int allowed = h_late_allowed(last);
    if (h_num(t, "late_blocks") > allowed || h_num(t, "faulted_blocks") > allowed)
        fail_msg("the healthy worker beside the looping ones suffered:\n%s\n%s", t, err);
}

static void setup_rt_victim(long i, char *line, size_t cap)
{
    char crashed[64], looped[64];
    snprintf(crashed, sizeof crashed, "setup-rt-crashed-%ld", i);
    snprintf(looped, sizeof looped, "setup-rt-looped-%ld", i);
    unlink(h_path(crashed));
    unlink(h_path(looped));
    snprintf(line, cap,
             "  - {name: victim%ld, file: tone.wav, script: " S "/setup_rt.py, "
             "params: {after: 40, crashed: %s, looped: %s}}\n",
             i, h_path(crashed), h_path(looped));
}

/* A restart whose setup makes itself real-time (the worker may, up to its
 * RLIMIT_RTPRIO) and loops, on every CPU, while a healthy track plays: the
 * engine sets the hard RLIMIT_RTTIME at the spawn, before any script code
 * runs, so each loop is killed within 30 ms of real-time CPU (a second
 * restart). Guarded only from its LOAD answer on (tried by hand), each
 * loop ran its 1.5 s at the workers' priority unkilled: one restart. */
static void test_setup_cannot_switch_off_the_guard(void **state)
{
    (void)state;
    long nv;
    const char *last =
        play_victim_per_cpu("sample_rate: 48000\ntracks:\n", setup_rt_victim, "4", &nv);
    for (long i = 0; i < nv; i++) {
        char name[32], looped[64];
        snprintf(name, sizeof name, "victim%ld", i);
        snprintf(looped, sizeof looped, "setup-rt-looped-%ld", i);
        assert_true(h_exists(h_path(looped)));   /* its restart did loop in setup */
        /* exited once, then killed by the guard in setup: two restarts */
        expect(h_track(last, name), "running", 2, NULL);
    }
    const char *t = h_track(last, "healthy");
    int allowed = h_late_allowed(last);
    if (h_num(t, "late_blocks") > allowed || h_num(t, "faulted_blocks") > allowed)
        fail_msg("the healthy worker beside the looping setups suffered:\n%s\n%s", t, err);
}

static void test_nan_and_inf(void **state)
{
    (void)state;
    const char *victim = "script: " S "/nan.py";
    const char *t = render_case(NULL, victim);
    expect(t, "running", 0, NULL);
    /* 2 s = 375 blocks; every 4th has 2 frames x 2 channels of NaN/Inf. */
    assert_int_equal((int)h_num(t, "bad_samples"), 375 / 4 * 4);
    assert_int_equal((int)h_num(t, "errors"), 0);
    /* The victim alone, audible: nothing non-finite reaches the output. */
    h_write("nan.yaml", "tracks:\n  - {file: tone.wav, script: " S "/nan.py}\n");
    assert_int_equal(render("nan.yaml", "nan.wav"), 0);
    int64_t n;
    int ch;
    float *y = h_read(h_path("nan.wav"), &n, &ch, NULL);
    int bad = 0;
    for (int64_t i = 0; i < n * ch; i++)
        bad += !isfinite(y[i]);
    free(y);
    assert_int_equal(bad, 0);
    t = play_case(NULL, victim, 1.5);
    assert_true(h_num(t, "bad_samples") > 0);
}

static void test_wrong_shape(void **state)
{
    (void)state;
    const char *victim = "script: " S "/shape.py";
    const char *t = render_case(NULL, victim);
    expect(t, "error", 0, "ValueError: process() returned shape (3,), expected (256, 2)");
    assert_int_equal((int)h_num(t, "errors"), 10);
    expect(play_case(NULL, victim, 1.5), "error", 0, "returned shape (3,)");
}

static void test_restart_storm(void **state)
{
    (void)state;
    const char *victim = "script: " S "/crash_setup.py";
    const char *t = render_case("{max_restarts: 3, window: 10}", victim);
    expect(t, "failed", 3, "3 restarts within 10 s; the track is failed until its script "
                           "changes");
    assert_non_null(strstr(err, "segfault in victim"));
    expect(play_case("{max_restarts: 3, window: 10}", victim, 2.0), "failed", 3,
           "failed until its script changes");
}

/* A worker that writes random bytes over its own channel (header, reply
 * words, message slots, audio) at random moments: each time the engine
 * notices it kills and restarts that worker; the other tracks' audio is
 * bit-identical to the reference in render and never late in play. */
static void test_hostile_worker(void **state)
{
    (void)state;
    const char *victim = "script: " S "/hostile.py, params: {seed: 7, every: 30}";
    const char *sup = "{max_restarts: 1000, window: 1}";
    const char *t = render_case(sup, victim);
    fprintf(stderr, "hostile worker, render: %.0f restarts, %.0f faulted blocks\n",
            h_num(t, "restarts"), h_num(t, "faulted_blocks"));
    assert_true(h_num(t, "restarts") >= 2);
    assert_true(h_num(t, "faulted_blocks") >= 2);
    t = play_case(sup, victim, 4.0);
    fprintf(stderr, "hostile worker, 4 s of play: %.0f restarts, %.0f faulted blocks\n",
            h_num(t, "restarts"), h_num(t, "faulted_blocks"));
    assert_true(h_num(t, "restarts") >= 2);
    assert_true(h_num(t, "faulted_blocks") >= 2);
    assert_non_null(strstr(err, "in victim"));
}

/* A script that switches off SIGXCPU (ignores and blocks every signal it
 * can, tries to raise its own RTTIME limit and to be real-time again) and
 * then loops for 1.5 s: the guard must hold from outside the worker. The
 * healthy tracks are bit-identical in render and never late in play. */
static void test_script_cannot_switch_off_the_guard(void **state)
{
    (void)state;
    unlink(h_path("noxcpu-marker"));
    char victim[512];
    snprintf(victim, sizeof victim,
             "script: " S "/no_xcpu.py, params: {after: 30, once: %s}", h_path("noxcpu-marker"));
    const char *sup = "{hang_timeout: 5}";
    render_case(sup, victim);   /* no time limit in render: only bit-identity */
    unlink(h_path("noxcpu-marker"));
    const char *t = play_case(sup, victim, 4.0);
    fprintf(stderr, "no_xcpu, 4 s of play: %.0f restarts, %s\n", h_num(t, "restarts"),
            h_is_null(t, "last_error") ? "-" : h_str(t, "last_error"));
    /* The kernel's hard RLIMIT_RTTIME ended it (SIGKILL): one restart. */
    expect(t, "running", 1, "killed");
}

/* A script that opens /proc/<engine>/fd/N (every channel is a memfd
 * there), the zygote's, the other workers' and /proc/PID/mem read-write and
 * fills what it can with NaN: the engine and the zygote are not dumpable
 * and a worker holds no capability, so it opens nothing, even as root. */
static void test_script_cannot_reach_other_channels(void **state)
{
    (void)state;
    const char *victim = "script: " S "/proc_attack.py";
    const char *t = render_case(NULL, victim);
    assert_int_equal((int)h_num(t, "bad_samples"), 0);
    assert_non_null(strstr(err, "proc_attack: opened 0"));
    t = play_case(NULL, victim, 3.0);
    assert_non_null(strstr(err, "proc_attack: opened 0"));
    for (int i = 0; i < 2; i++)
        assert_int_equal((int)h_num(h_track(play_last, i ? "b" : "a"), "bad_samples"), 0);
}

static const char fixed_script[] = "def process(block):\n    block *= 0.5\n";
static const char broken_script[] = "def process(block):\n    block *= (\n";

static void test_script_edited_while_playing(void **state)
{
    (void)state;
    h_write("live/edit.py", "def process(block):\n    raise RuntimeError('not yet')\n");
    char victim[512];
    snprintf(victim, sizeof victim, "script: %s", h_path("live/edit.py"));
    write_session("case.yaml", NULL, victim, 0);
    const char *argv[] = {SHMIX_BIN, "play", h_path("case.yaml"), "--null", "--loop",
                          "--duration", "4", "--stats", h_path("edit.jsonl"),
                          "--stats-interval", "0.1", NULL};
    struct h_proc p;
    h_start(argv, &p);
    h_sleep(1.0);
    h_write("live/edit.py", fixed_script);          /* fixed: the error state ends */
    h_sleep(1.2);
    char *text = h_slurp_lines(h_path("edit.jsonl"));
    char *v[128];
    int n = h_lines(text, v, 128);
    assert_true(n >= 15);
    expect(h_track(v[1], "victim"), "error", 0, "RuntimeError: not yet");
    const char *mid = h_track(v[n - 1], "victim");
    expect(mid, "running", 0, NULL);
    double faulted = h_num(mid, "faulted_blocks");
    free(text);
    h_write("live/edit.py", broken_script);         /* broken: the fixed one keeps running */
    assert_int_equal(h_finish(&p, out, sizeof out, err, sizeof err, 30, NULL), 0);
    text = h_slurp(h_path("edit.jsonl"));
    n = h_lines(text, v, 128);
    const char *last = h_track(v[n - 1], "victim");
    expect(last, "running", 0, "SyntaxError");
    /* Running all along since the fix, but for the few blocks of the reload. */
    assert_true(h_num(last, "faulted_blocks") - faulted < 20);
    for (int i = 0; i < 2; i++) {
        const char *t = h_track(v[n - 1], i ? "b" : "a");
        assert_int_equal((int)h_num(t, "late_blocks"), 0);
        assert_int_equal((int)h_num(t, "faulted_blocks"), 0);
    }
    assert_non_null(strstr(err, "reloaded"));
    free(text);
}

static void test_no_descriptors_leak_into_workers(void **state)
{
    (void)state;
    char victim[1200];
    unlink(h_path("marker"));
    snprintf(victim, sizeof victim, "script: " S "/fds.py, params: {once: %s}",
             h_path("marker"));
    /* Checked by the script in setup(): at the first start and at the
     * restart, when the engine has files, a device, pidfds and the meters'
     * shared memory open. */
    const char *t = play_case(NULL, victim, 2.0);
    expect(t, "running", 1, "exit status 3 in victim");
    assert_int_equal((int)h_num(t, "errors"), 0);
    assert_null(strstr(err, "leaked descriptors"));
}

/* Every worker pid a stats file ever showed; returns how many. */
static int all_pids(const char *path, int *pids, int max)
{
    char *text = h_slurp(path);
    int n = 0, nlines = 0;
    static char *v[1 << 14];
    if (text)
        nlines = h_lines(text, v, (int)(sizeof v / sizeof v[0]));
    for (int l = 0; l < nlines; l++)
        for (int k = 0; k < h_ntracks(v[l]); k++) {
            const char *t = h_track_at(v[l], k);
            int pid = h_is_null(t, "pid") ? 0 : (int)h_num(t, "pid"), known = 0;
            for (int i = 0; i < n; i++)
                known |= pids[i] == pid;
            if (pid > 0 && !known && n < max)
                pids[n++] = pid;
        }
    free(text);
    return n;
}

/* The pid of track `name` if it played its script in both stats lines
 * (state running, the same pid: loaded, not between a restart's steps),
 * else 0. */
static int settled_worker(const char *prev, const char *last, const char *name)
{
    const char *a = h_track(prev, name), *b = h_track(last, name);
    if (h_is_null(a, "pid") || h_is_null(b, "pid") || strcmp(h_str(a, "state"), "running") != 0
        || strcmp(h_str(b, "state"), "running") != 0 || h_num(a, "pid") != h_num(b, "pid"))
        return 0;
    return (int)h_num(b, "pid");
}

/* SCHED_FIFO (with or without SCHED_RESET_ON_FORK): 1, 0, or -1 when the
 * process is gone. */
static int is_fifo(int pid)
{
    if (pid <= 0)
        return -1;   /* not "this process" (sched_getscheduler(0)) */
    int p = sched_getscheduler(pid);
    return p < 0 ? -1 : (p & ~SCHED_RESET_ON_FORK) == SCHED_FIFO;
}

static void test_chaos(void **state)
{
    (void)state;
    char yaml[4096] = "sample_rate: 48000\nsupervisor: {max_restarts: 1000, window: 1}\ntracks:\n";
    for (int i = 0; i < 8; i++) {
        char line[256];
        snprintf(line, sizeof line, "  - {name: t%d, file: tone.wav, script: " S "/double.py}\n",
                 i);
        strcat(yaml, line);
    }
    h_write("chaos.yaml", yaml);
    const char *argv[] = {SHMIX_BIN, "play", h_path("chaos.yaml"), "--null", "--loop",
                          "--duration", "20", "--stats", h_path("chaos.jsonl"),
                          "--stats-interval", "0.05", NULL};
    struct h_proc p;
    h_start(argv, &p);
    h_sleep(1.0);
    int killed[8] = {0}, fds_before = -1, fds_max = 0, checked = 0, rt = -1;
    srand(7);
    /* Tracks 0 and 1 are never touched; the others are killed at random. */
    for (double t = 1.0; t < 18.5; t += 0.25) {
        char *text = h_slurp_lines(h_path("chaos.jsonl"));
        char *v[1024];
        int n = h_lines(text, v, 1024);
        int victim = 2 + rand() % 6;
        char name[8];
        snprintf(name, sizeof name, "t%d", victim);
        const char *tr = n ? h_track(v[n - 1], name) : NULL;
        int pid = tr && !h_is_null(tr, "pid") ? (int)h_num(tr, "pid") : 0;   /* null: restarting */
        /* A restarted worker is real-time once its script has loaded
         * (time-shared before: its start-up must not hold off the healthy
         * workers on its CPU), as the untouched t0's is, when the engine
         * has the rights for it. */
        int t0 = n >= 2 && rt < 0 ? settled_worker(v[n - 2], v[n - 1], "t0") : 0;
        if (t0 > 0)
            rt = is_fifo(t0);
        for (int i = 2; rt == 1 && n >= 2 && i < 8; i++) {
            char nm[8];
            snprintf(nm, sizeof nm, "t%d", i);
            int w = killed[i] ? settled_worker(v[n - 2], v[n - 1], nm) : 0;
            int f = w > 0 ? is_fifo(w) : -1;
            if (f == 0)
                fail_msg("restarted worker %d of %s is not real-time", w, nm);
            checked += f == 1;
        }
        if (pid > 0 && kill(pid, SIGKILL) == 0)
            killed[victim]++;
        free(text);
        char fdpath[64];
        snprintf(fdpath, sizeof fdpath, "/proc/%d/fd", p.pid);
        int fds = 0;
        DIR *d = opendir(fdpath);
        while (d && readdir(d))
            fds++;
        if (d)
            closedir(d);
        if (fds_before < 0)
            fds_before = fds;
        if (fds > fds_max)
            fds_max = fds;
        h_sleep(0.25);
    }
    assert_int_equal(h_finish(&p, out, sizeof out, err, sizeof err, 60, NULL), 0);
    char *text = h_slurp(h_path("chaos.jsonl"));
    char *v[2048];
    int n = h_lines(text, v, 2048);
    const char *last = v[n - 1];
    int total = 0, allowed = h_late_allowed(last);
    for (int i = 0; i < 8; i++) {
        char name[8];
        snprintf(name, sizeof name, "t%d", i);
        const char *t = h_track(last, name);
        expect(t, "running", -1, NULL);
        if (i < 2) {
            if (h_num(t, "late_blocks") > allowed || h_num(t, "faulted_blocks") > allowed)
                fail_msg("untouched track %s suffered:\n%s", name, t);
            assert_int_equal((int)h_num(t, "restarts"), 0);
        }
        total += killed[i];
    }
    assert_true(total >= 50);
    fprintf(stderr, "chaos: t0 real-time %d, %d restarted workers seen real-time\n", rt, checked);
    assert_true(rt >= 0);   /* t0 was seen playing */
    assert_true(rt != 1 || checked >= 20);
    /* No descriptor leak across ~70 restarts (a few come and go). */
    assert_true(fds_max <= fds_before + 4);
    /* Every worker that ever ran is gone (at once: the engine reaped them). */
    int pids[512], np = all_pids(h_path("chaos.jsonl"), pids, 512);
    assert_true(np >= 50);
    for (int i = 0; i < np; i++)
        if (h_alive(pids[i]))
            fail_msg("worker %d outlived the engine", pids[i]);
    char shm[64];   /* the meters' shared memory is gone too */
    snprintf(shm, sizeof shm, "/dev/shm/shmix-%d", p.pid);
    assert_false(h_exists(shm));
    free(text);
}

static void test_engine_killed(void **state)
{
    (void)state;
    const char *argv[] = {SHMIX_BIN, "play", h_path("chaos.yaml"), "--null", "--loop",
                          "--stats", h_path("k9.jsonl"), "--stats-interval", "0.1", NULL};
    struct h_proc p;
    h_start(argv, &p);
    h_sleep(1.5);
    char *text = h_slurp_lines(h_path("k9.jsonl"));
    char *v[64];
    int n = h_lines(text, v, 64);
    assert_true(n >= 1);
    int pids[8];
    for (int i = 0; i < 8; i++) {
        char name[8];
        snprintf(name, sizeof name, "t%d", i);
        pids[i] = (int)h_num(h_track(v[n - 1], name), "pid");
        assert_true(pids[i] > 0 && h_alive(pids[i]));
    }
    free(text);
    kill(p.pid, SIGKILL);
    h_finish(&p, out, sizeof out, err, sizeof err, 10, NULL);
    double t0 = h_now();
    int alive = 8;
    while (alive && h_now() - t0 < 1.0) {
        alive = 0;
        for (int i = 0; i < 8; i++)
            alive += h_alive(pids[i]);
        h_sleep(0.01);
    }
    assert_int_equal(alive, 0);
}

/* The pids spawner.py wrote (one line each); returns how many. */
static int spawned(const char *file, int *pids, int max)
{
    char *text = h_slurp(h_path(file));
    int n = 0;
    for (char *s = text; s && *s && n < max;) {
        pids[n++] = (int)strtol(s, &s, 10);
        s += *s == '\n';
    }
    free(text);
    return n;
}

/* Waits up to 1 s for every pid in pids to be gone; returns how many live. */
static int still_alive(const int *pids, int n)
{
    int alive = n;
    for (double t0 = h_now(); alive && h_now() - t0 < 1.0; h_sleep(0.01)) {
        alive = 0;
        for (int i = 0; i < n; i++)
            alive += h_alive(pids[i]);
    }
    return alive;
}

/* A script starts `sleep 600` detached in a session of its own (as a
 * daemon would): it does not outlive its worker, neither after a restart
 * (the worker crashes) nor after the engine is killed with SIGKILL. */
static void test_script_processes_are_contained(void **state)
{
    (void)state;
    unlink(h_path("spawned.txt"));
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "sample_rate: 48000\ntracks:\n  - {name: sp, file: tone.wav, script: " S
             "/spawner.py, params: {pidfile: %s, crash_after: 60}}\n", h_path("spawned.txt"));
    h_write("spawn.yaml", yaml);
    const char *argv[] = {SHMIX_BIN, "play", h_path("spawn.yaml"), "--null", "--loop", NULL};
    struct h_proc p;
    h_start(argv, &p);
    int pids[8], n = 0;
    for (double t0 = h_now(); n < 2 && h_now() - t0 < 10; h_sleep(0.05))
        n = spawned("spawned.txt", pids, 8);   /* one per start: the first and the restart */
    assert_true(n >= 2);
    assert_int_equal(still_alive(pids, 1), 0);   /* the first worker's, after its crash */
    assert_true(h_alive(pids[1]));               /* the running worker's is there */
    kill(p.pid, SIGKILL);
    h_finish(&p, out, sizeof out, err, sizeof err, 10, NULL);
    n = spawned("spawned.txt", pids, 8);
    assert_int_equal(still_alive(pids, n), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        H_TEST(test_segfault),
        H_TEST(test_abort),
        H_TEST(test_exit),
        H_TEST(test_killed_from_outside),
        H_TEST(test_raise_in_setup),
        H_TEST(test_raise_in_process),
        H_TEST(test_infinite_loop),
        H_TEST(test_sleep_past_hang_timeout),
        H_TEST(test_loops_on_every_cpu_beside_a_healthy_worker),
        H_TEST(test_nan_and_inf),
        H_TEST(test_wrong_shape),
        H_TEST(test_memory),
        H_TEST(test_setup_cannot_switch_off_the_guard),
        H_TEST(test_restart_storm),
        H_TEST(test_hostile_worker),
        H_TEST(test_script_cannot_switch_off_the_guard),
        H_TEST(test_script_cannot_reach_other_channels),
        H_TEST(test_script_edited_while_playing),
        H_TEST(test_no_descriptors_leak_into_workers),
        H_TEST(test_chaos),
        H_TEST(test_engine_killed),
        H_TEST(test_script_processes_are_contained),
    };
    const char *only = getenv("SHMIX_TEST_ONLY");   /* one test by name, by hand */
    if (only)
        cmocka_set_test_filter(only);
    return cmocka_run_group_tests(tests, setup, teardown);
}
