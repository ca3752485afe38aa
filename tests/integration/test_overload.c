/* test_overload.c - shmix on a CPU with more work than it can do: blocks
 * come late, but healthy workers are neither taken for hung nor killed by
 * the real-time guard. Every case runs the real binaries on CPU 0 only
 * (the engine and its workers inherit this process's CPU affinity). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"

#define RATE 48000
#define S SHMIX_TEST_SCRIPTS

static char out[1 << 17], err[1 << 16];
static cpu_set_t all_cpus;
static pid_t hog = -1;    /* the real-time loop beside the session, if any */
static int hog_status;

static int setup(void **state)
{
    (void)state;
    h_tmpdir();
    h_write_sines("tone.wav", RATE, 2, 2 * RATE, 0.3);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    h_cleanup();
    return 0;
}

static void to_cpu0(void)
{
    cpu_set_t one;
    assert_int_equal(sched_getaffinity(0, sizeof all_cpus, &all_cpus), 0);
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);
}

static void back_from_cpu0(void)
{
    assert_int_equal(sched_setaffinity(0, sizeof all_cpus, &all_cpus), 0);
}

/* Stops the loop (before anything is judged: a failed play must not
 * leave it holding CPU 0 for the next test). */
static void end_hog(void)
{
    if (hog <= 0)
        return;
    kill(hog, SIGKILL);
    assert_int_equal(waitpid(hog, &hog_status, 0), hog);
    hog = -1;
}

/* n tracks t0..t(n-1) after `head`, each with `script` (its path, and
 * its params as YAML). */
static void write_tracks(const char *name, const char *head, int n, const char *script)
{
    char yaml[4096];
    int len = snprintf(yaml, sizeof yaml, "sample_rate: 48000\n%stracks:\n", head);
    for (int i = 0; i < n; i++)
        len += snprintf(yaml + len, sizeof yaml - (size_t)len,
                        "  - {name: t%d, file: tone.wav, script: %s}\n", i, script);
    h_write(name, yaml);
}

/* Plays the session for `seconds` on CPU 0 (the caller moved there; this
 * moves back and ends the loop) and returns its last stats line. */
static const char *play(const char *name, const char *seconds)
{
    const char *argv[] = {SHMIX_BIN, "play", h_path(name), "--null", "--loop",
                          "--duration", seconds, "--stats", "-", NULL};
    int rc = h_run(argv, out, sizeof out, err, sizeof err, 60);
    back_from_cpu0();
    end_hog();
    if (rc != 0)
        fail_msg("play failed:\n%s", err);
    char *v[64];
    int lines = h_lines(out, v, 64);
    return v[lines - 1];
}

/* Every one of the n tracks still runs and was never restarted. */
static void expect_all_running(const char *last, int n)
{
    for (int i = 0; i < n; i++) {
        const char *t = h_track_at(last, i);
        if (strcmp(h_str(t, "state"), "running") || h_num(t, "restarts") != 0)
            fail_msg("a healthy worker was killed:\n%s\n%s", last, err);
    }
}

/* Workers that only wait for a CPU are not killed as hung. Beside the
 * session runs a loop of higher real-time priority than any of shmix's
 * threads that takes CPU 0 for 150 ms at a time, three times hang_timeout:
 * a worker busy with a request then waits, runnable. Before the hang
 * detector looked at the workers' state and CPU time such workers were
 * killed as hung (2-5 restarts a track in a run). */
static void test_starved_workers_are_not_hung(void **state)
{
    (void)state;
    to_cpu0();
    hog = fork();
    assert_true(hog >= 0);
    if (hog == 0) {   /* 150 ms of CPU 0, 150 ms off, for 6 s */
        struct sched_param sp = {.sched_priority = 20};
        if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0)
            _exit(3);
        for (int i = 0; i < 20; i++) {
            struct timespec t0, t;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            do
                clock_gettime(CLOCK_MONOTONIC, &t);
            while ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec - t0.tv_nsec < 150000000L);
            struct timespec off = {0, 150000000L};
            nanosleep(&off, NULL);
        }
        _exit(0);
    }
    /* busy a tenth of the time: a request is often out when the loop starts */
    write_tracks("starved.yaml", "supervisor: {hang_timeout: 0.05}\n", 4,
                 S "/burn.py, params: {fraction: 0.1}");
    const char *last = play("starved.yaml", "4");
    if (WIFEXITED(hog_status) && WEXITSTATUS(hog_status) == 3)
        fail_msg("cannot make the loop real-time (SCHED_FIFO 20)");
    expect_all_running(last, 4);
    /* The loop did hold CPU 0: even the null device's clock thread (real
     * time, priority 10) woke late. Otherwise this tests nothing. */
    if (h_num(last, "xruns") < 1)
        fail_msg("the loop never held shmix off its CPU:\n%s", last);
}

/* Scripts that each need 80 % of a CPU, six of them on one CPU. Each batch
 * runs longer than the real-time guard's soft limit (RLIMIT_RTTIME), so
 * each worker is stepped down to time-sharing, and on this overloaded CPU
 * its next request is always there already when it answers. It used to
 * step back up to real time there, without having slept - RLIMIT_RTTIME's
 * count only starts afresh on a wake-up - and a few requests later the
 * guard's hard limit killed it ("killed in t3 ...", 4-5 restarts a track
 * in 3 s). */
static void test_cpu_heavy_scripts_are_not_killed(void **state)
{
    (void)state;
    to_cpu0();
    write_tracks("heavy.yaml", "block_size: 512\n", 6, S "/burn.py, params: {fraction: 0.8}");
    const char *last = play("heavy.yaml", "3");
    expect_all_running(last, 6);
    double late = 0;
    for (int i = 0; i < 6; i++)
        late += h_num(h_track_at(last, i), "late_blocks");
    if (late == 0)   /* 480 % of one CPU: the overload is real, or this tests nothing */
        fail_msg("no block came late with six scripts at 80 %% of one CPU each:\n%s", last);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        H_TEST(test_starved_workers_are_not_hung),
        H_TEST(test_cpu_heavy_scripts_are_not_killed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
