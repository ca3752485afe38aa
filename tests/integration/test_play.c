/* test_play.c - real-time playback through the real PortAudio, with JACK's
 * dummy backend as the device (started and stopped here), and through the
 * null device: real-time speed, late blocks, duration, loop, ^C, memory,
 * the name the engine has in the JACK graph, the null clock's scheduling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <sched.h>   /* sched_getscheduler */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* SCHED_DEADLINE, which glibc's <sched.h> does not name. */
#define SCHED_DEADLINE_POLICY 6

static char out[1 << 16], err[1 << 16];
static struct h_proc jackd;

/* The JACK server for this test run, under a name of its own so parallel
 * test runs do not meet; libjack (inside PortAudio) finds it through
 * JACK_DEFAULT_SERVER. */
static int setup(void **state)
{
    (void)state;
    h_tmpdir();
    h_write_sines("tone.wav", 48000, 1, 3 * 48000, 0.3);   /* 220 Hz */
    char name[64];
    snprintf(name, sizeof name, "shmix-test-%d", (int)getpid());
    setenv("JACK_DEFAULT_SERVER", name, 1);
    setenv("JACK_NO_AUDIO_RESERVATION", "1", 1);
    const char *argv[] = {"/usr/bin/jackd", "-n", name, "-d", "dummy", "-r", "48000",
                          "-p", "256", NULL};
    h_start(argv, &jackd);
    h_fixture(jackd.pid);
    /* Ready when PortAudio lists its JACK device. */
    for (int i = 0; i < 100; i++) {
        const char *dv[] = {SHMIX_BIN, "devices", NULL};
        if (h_run(dv, out, sizeof out, err, sizeof err, 20) == 0 && strstr(out, "JACK"))
            return 0;
        h_sleep(0.1);
    }
    fprintf(stderr, "jackd did not come up:\n%s\n", h_slurp(jackd.err_file));
    return -1;
}

static int teardown(void **state)
{
    (void)state;
    kill(jackd.pid, SIGTERM);
    h_finish(&jackd, NULL, 0, NULL, 0, 10, NULL);
    h_cleanup();
    return 0;
}

static void test_demo_through_jack(void **state)
{
    (void)state;
    const char *argv[] = {SHMIX_BIN, "play", SHMIX_DEMO, "--duration", "4", "--stats",
                          h_path("jack.jsonl"), "--stats-interval", "0.5", NULL};
    double t0 = h_now();
    assert_int_equal(h_run(argv, out, sizeof out, err, sizeof err, 60), 0);
    double wall = h_now() - t0;
    if (!strstr(err, "PortAudio (JACK Audio Connection Kit"))
        fail_msg("not played through JACK:\n%s", err);
    assert_true(wall > 3.9 && wall < 8.0);
    char *text = h_slurp(h_path("jack.jsonl"));
    char *v[64];
    int n = h_lines(text, v, 64);
    assert_true(n >= 7);
    /* Frames advance at real-time speed: position keeps up with time. */
    for (int i = 1; i < n - 1; i++)
        assert_true(fabs(h_num(v[i], "position") - h_num(v[i], "time")) < 0.5);
    const char *last = v[n - 1];
    assert_string_equal(h_str(last, "state"), "stopped");
    assert_true(h_num(last, "position") > 3.98 && h_num(last, "position") < 4.0);
    /* xruns are the JACK server's: this VM stalls jackd itself, and in its
     * bad minutes the dummy server with one python3-jack-client xruns
     * several times a second (docs/performance.md, run c). Small, not zero:
     * at most 20 of the 750 periods; a callback that blocked would lose
     * hundreds. The tracks' own late_blocks must be 0. */
    assert_true(h_num(last, "xruns") <= 20);
    const char *names[] = {"drums", "bass", "pad", "lead"};
    for (int i = 0; i < 4; i++) {
        const char *t = h_track(last, names[i]);
        assert_int_equal((int)h_num(t, "late_blocks"), 0);
        assert_string_equal(h_str(t, "state"), "running");
        assert_true(h_num(h_track(v[n - 2], names[i]), "cpu") > 0);   /* a full interval */
    }
    assert_true(h_num(v[n / 2], "master_peak_dbfs") > -30);   /* music is coming out */
    free(text);
}

/* Through PortAudio's JACK host API the engine is the JACK client "shmix"
 * (not "PortAudio"), its ports shmix:out_0 and shmix:out_1. */
static void test_jack_client_name(void **state)
{
    (void)state;
    const char *argv[] = {SHMIX_BIN, "play", SHMIX_DEMO, "--duration", "4", NULL};
    struct h_proc p;
    h_start(argv, &p);
    h_sleep(2.0);
    const char *lsp[] = {"/usr/bin/jack_lsp", NULL};
    assert_int_equal(h_run(lsp, out, sizeof out, err, sizeof err, 20), 0);
    if (!strstr(out, "shmix:out_0\n") || !strstr(out, "shmix:out_1\n"))
        fail_msg("no shmix ports in the JACK graph:\n%s", out);
    assert_int_equal(h_finish(&p, NULL, 0, err, sizeof err, 30, NULL), 0);
}

/* Three seconds on the null device: no xruns, no late blocks. A null-device
 * xrun is its thread waking three periods late, which a stall of this
 * shared VM also causes (one CI run under ASan saw one); a fault of the
 * engine's would repeat, so a run with xruns gets one more try, and that
 * one must be clean. */
static int null_device_run(void)
{
    const char *argv[] = {SHMIX_BIN, "play", SHMIX_DEMO, "--null", "--duration", "3",
                          "--stats", "-", "--stats-interval", "0.5", NULL};
    double t0 = h_now();
    assert_int_equal(h_run(argv, out, sizeof out, err, sizeof err, 60), 0);
    double wall = h_now() - t0;
    assert_true(wall > 2.9 && wall < 7.0);
    assert_non_null(strstr(err, "null device"));
    char *v[64];
    int n = h_lines(out, v, 64);
    assert_true(n >= 5);
    const char *last = v[n - 1];
    int xruns = (int)h_num(last, "xruns");
    if (xruns) {
        fprintf(stderr, "null device: %d xruns (the machine stalled?)\n", xruns);
        return 0;
    }
    assert_true(h_num(last, "position") > 2.98 && h_num(last, "position") < 3.0);
    const char *names[] = {"drums", "bass", "pad", "lead"};
    for (int i = 0; i < 4; i++)
        assert_int_equal((int)h_num(h_track(last, names[i]), "late_blocks"), 0);
    return 1;
}

static void test_null_device(void **state)
{
    (void)state;
    if (!null_device_run())
        assert_true(null_device_run());
}

/* The scheduling policy of the null device's clock thread in a play
 * --null of 2 s (on CPU 0 only when pin: taskset execs it, so its pid is
 * the play's): the thread named shmix-null, looked up while the play runs.
 * The play must then end cleanly, with its 2 s played. */
static int null_clock_policy(int pin)
{
    const char *argv[] = {"/usr/bin/taskset", "-c", "0", SHMIX_BIN, "play", SHMIX_DEMO,
                          "--null", "--duration", "2", "--stats", "-", NULL};
    struct h_proc p;
    h_start(pin ? argv : argv + 3, &p);
    int policy = -1;
    for (int i = 0; i < 200 && policy < 0; i++) {
        char dir[64], comm[600], name[32] = "";
        snprintf(dir, sizeof dir, "/proc/%d/task", p.pid);
        DIR *d = opendir(dir);
        for (struct dirent *e = d ? readdir(d) : NULL; e && policy < 0; e = readdir(d)) {
            snprintf(comm, sizeof comm, "%s/%s/comm", dir, e->d_name);
            FILE *f = fopen(comm, "r");
            if (f && fgets(name, sizeof name, f) && !strcmp(name, "shmix-null\n"))
                policy = sched_getscheduler(atoi(e->d_name));
            if (f)
                fclose(f);
        }
        if (d)
            closedir(d);
        if (policy < 0)
            h_sleep(0.05);
    }
    assert_int_equal(h_finish(&p, out, sizeof out, err, sizeof err, 30, NULL), 0);
    char *v[16];
    int n = h_lines(out, v, 16);
    assert_true(n >= 1 && h_num(v[n - 1], "position") > 1.98);
    if (policy < 0)
        fail_msg("no shmix-null thread seen:\n%s", err);
    return policy;
}

/* The null device's clock is a SCHED_DEADLINE reservation, which the
 * kernel's fair server cannot hold off as it holds off every SCHED_FIFO
 * thread (docs/realtime.md, "The fair server"); where the kernel refuses
 * it - here an affinity narrower than the machine, which deadline tasks
 * may not have - the clock is SCHED_FIFO as before and plays on. As root
 * (these machines, CI); without CAP_SYS_NICE the reservation is refused
 * (and SCHED_FIFO is granted only up to RLIMIT_RTPRIO). */
static void test_null_clock_is_a_deadline_reservation(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        assert_int_not_equal(null_clock_policy(0), SCHED_DEADLINE_POLICY);
        return;
    }
    assert_int_equal(null_clock_policy(0), SCHED_DEADLINE_POLICY);
    if (sysconf(_SC_NPROCESSORS_ONLN) >= 2)   /* else no narrower affinity to try */
        assert_int_equal(null_clock_policy(1), SCHED_FIFO);
}

static void test_falls_back_without_a_device(void **state)
{
    (void)state;
    /* No JACK server under this name, and no sound card on these machines:
     * one line says so and the null device plays. */
    char *saved = strdup(getenv("JACK_DEFAULT_SERVER"));
    setenv("JACK_DEFAULT_SERVER", "shmix-no-such-server", 1);
    const char *argv[] = {SHMIX_BIN, "play", SHMIX_DEMO, "--duration", "0.5", "--stats", "-",
                          NULL};
    int st = h_run(argv, out, sizeof out, err, sizeof err, 60);
    setenv("JACK_DEFAULT_SERVER", saved, 1);
    free(saved);
    assert_int_equal(st, 0);
    if (!strstr(err, "playing on the null device instead"))
        fail_msg("no fallback notice:\n%s", err);
    char *v[16];
    int n = h_lines(out, v, 16);
    assert_true(n >= 1 && h_num(v[n - 1], "position") > 0.45);
    /* A device asked for by name that is not there is a usage error. */
    const char *bad[] = {SHMIX_BIN, "play", SHMIX_DEMO, "--device", "no-such-device", NULL};
    assert_int_equal(h_run(bad, out, sizeof out, err, sizeof err, 60), 2);
    assert_non_null(strstr(err, "shmix: play: --device no-such-device: no output device matches"));
}

static void test_duration_and_loop(void **state)
{
    (void)state;
    h_write("loop.yaml", "loop: {start: 0.5, end: 1.5}\ntracks:\n  - {file: tone.wav}\n");
    const char *argv[] = {SHMIX_BIN, "play", h_path("loop.yaml"), "--null", "--loop",
                          "--duration", "3", "--stats", "-", "--stats-interval", "0.1", NULL};
    double t0 = h_now();
    assert_int_equal(h_run(argv, out, sizeof out, err, sizeof err, 60), 0);
    double wall = h_now() - t0;
    assert_true(wall > 2.9 && wall < 7.0);   /* --duration counts played time, loops and all */
    char *v[128];
    int n = h_lines(out, v, 128);
    int wraps = 0;
    double prev = 0, maxpos = 0;
    for (int i = 0; i < n; i++) {
        double p = h_num(v[i], "position");
        maxpos = fmax(maxpos, p);
        wraps += p < prev - 0.5;
        prev = p;
    }
    assert_true(maxpos < 1.5);
    assert_true(wraps >= 2);                 /* 0 -> 1.5, then 1 s loops: wraps at 1.5 and 2.5 */
    assert_true(h_num(v[n - 1], "position") >= 0.5);
    /* Without --loop the same session stops at its end (3 s), not later. */
    const char *once[] = {SHMIX_BIN, "play", h_path("loop.yaml"), "--null", "--start", "2",
                          "--stats", "-", NULL};
    t0 = h_now();
    assert_int_equal(h_run(once, out, sizeof out, err, sizeof err, 60), 0);
    assert_true(h_now() - t0 < 3.0);
    n = h_lines(out, v, 128);
    assert_true(h_num(v[n - 1], "position") > 2.98);
}

static void test_sigint_stops_cleanly(void **state)
{
    (void)state;
    const char *argv[] = {SHMIX_BIN, "play", SHMIX_DEMO, "--null", "--loop", "--stats",
                          h_path("int.jsonl"), "--stats-interval", "0.2", NULL};
    struct h_proc p;
    h_start(argv, &p);
    h_sleep(2.0);
    char *text = h_slurp_lines(h_path("int.jsonl"));
    assert_non_null(text);
    /* The first four worker pids the stats show, in order. */
    int pids[8], np = 0;
    static char *v[1024];
    int n = h_lines(text, v, 1024);
    for (int l = 0; l < n && np < 4; l++)
        for (int k = 0; k < h_ntracks(v[l]) && np < 4; k++) {
            const char *t = h_track_at(v[l], k);
            if (!h_is_null(t, "pid") && h_num(t, "pid") > 0)
                pids[np++] = (int)h_num(t, "pid");
        }
    free(text);
    assert_int_equal(np, 4);
    for (int i = 0; i < np; i++)
        assert_true(h_alive(pids[i]));
    double t0 = h_now();
    kill(p.pid, SIGINT);
    assert_int_equal(h_finish(&p, out, sizeof out, err, sizeof err, 10, NULL), 0);
    assert_true(h_now() - t0 < 2.0);
    for (int i = 0; i < np; i++)
        assert_false(h_alive(pids[i]));
    text = h_slurp(h_path("int.jsonl"));
    assert_non_null(text);
    n = h_lines(text, v, 1024);
    int stopped = 0;   /* the line written at the end */
    for (int l = 0; l < n; l++)
        stopped += !strcmp(h_str(v[l], "state"), "stopped");
    assert_true(stopped >= 1);
    free(text);
}

static void test_slow_script_is_late_alone(void **state)
{
    (void)state;
    h_write("slow.yaml", "sample_rate: 48000\nblock_size: 256\ntracks:\n"
                         "  - {name: a, file: tone.wav}\n"
                         "  - {name: b, file: tone.wav, script: " SHMIX_TEST_SCRIPTS "/double.py}\n"
                         "  - {name: slow, file: tone.wav, script: " SHMIX_TEST_SCRIPTS
                         "/sleepy.py}\n");
    const char *argv[] = {SHMIX_BIN, "play", h_path("slow.yaml"), "--null", "--duration", "2.5",
                          "--stats", "-", NULL};
    assert_int_equal(h_run(argv, out, sizeof out, err, sizeof err, 60), 0);
    char *v[64];
    int n = h_lines(out, v, 64);
    const char *last = v[n - 1];
    /* Here the point is the other tracks, so one or two stalls of the VM
     * itself (null-device xruns) are let through; test_null_device asserts
     * none on a plain play. */
    assert_true(h_num(last, "xruns") <= 2);
    assert_true(h_num(h_track(last, "slow"), "late_blocks") > 10);
    int allowed = h_late_allowed(last);
    assert_true(h_num(h_track(last, "a"), "late_blocks") <= allowed);
    assert_true(h_num(h_track(last, "b"), "late_blocks") <= allowed);
    assert_true(h_num(h_track(last, "b"), "faulted_blocks") <= allowed);
}

static long play_rss(const char *session)
{
    const char *argv[] = {SHMIX_BIN, "play", session, "--null", "--duration", "3", NULL};
    struct h_proc p;
    long rss = 0;
    h_start(argv, &p);
    assert_int_equal(h_finish(&p, out, sizeof out, err, sizeof err, 60, &rss), 0);
    return rss;
}

static void test_memory_does_not_grow_with_length(void **state)
{
    (void)state;
    const char *mk[] = {"/usr/bin/sox", "-n", "-r", "8000", "-c", "1", "-b", "16",
                        h_path("minute.flac"), "synth", "60", "sine", "440", "vol", "0.01",
                        NULL};
    assert_int_equal(h_run(mk, out, sizeof out, err, sizeof err, 60), 0);
    const char *mk2[] = {"/usr/bin/sox", "-n", "-r", "8000", "-c", "1", "-b", "16",
                         h_path("hour.flac"), "synth", "3600", "sine", "440", "vol", "0.01",
                         NULL};
    assert_int_equal(h_run(mk2, out, sizeof out, err, sizeof err, 120), 0);
    const char *body = "sample_rate: 48000\ntracks:\n  - {name: a, file: %s}\n"
                       "  - {name: b, file: %s, offset: 1}\n  - {name: c, file: %s, pan: 1}\n"
                       "  - {name: d, file: %s, gain_db: -6}\n";
    char yaml[512];
    snprintf(yaml, sizeof yaml, body, "minute.flac", "minute.flac", "minute.flac", "minute.flac");
    h_write("minute.yaml", yaml);
    snprintf(yaml, sizeof yaml, body, "hour.flac", "hour.flac", "hour.flac", "hour.flac");
    h_write("hour.yaml", yaml);
    long short_rss = play_rss(h_path("minute.yaml"));
    long long_rss = play_rss(h_path("hour.yaml"));
    fprintf(stderr, "peak RSS: 1-minute tracks %ld KiB, 1-hour tracks %ld KiB\n", short_rss,
            long_rss);
    assert_true(short_rss > 1000);
    assert_true(long_rss <= short_rss * 12 / 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        H_TEST(test_demo_through_jack),
        H_TEST(test_jack_client_name),
        H_TEST(test_null_device),
        H_TEST(test_null_clock_is_a_deadline_reservation),
        H_TEST(test_falls_back_without_a_device),
        H_TEST(test_duration_and_loop),
        H_TEST(test_sigint_stops_cleanly),
        H_TEST(test_slow_script_is_late_alone),
        H_TEST(test_memory_does_not_grow_with_length),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
