/* test_harness.c - the harness's stats readers on hand-written lines: keys
 * at the top and in a track, null, a last_error or a name holding "}" and
 * text that looks like a key, every track of a line, a stats file caught
 * half-written, whether a play had every block in time, and the readers
 * failing the test when a line is not what the contract says; and the
 * stall watch (stall.h) seeing a CPU taken from it. Runs no binary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "stall.h"

/* Three tracks: a healthy one, one in error whose last_error holds "}" and
 * a quoted "pid": 5 (escaped, as the engine writes it), and one whose name
 * holds "}". */
static const char line[] =
    "{\"time\": 1.002, \"position\": 0.998, \"state\": \"playing\", \"sample_rate\": 48000, "
    "\"block_size\": 256, \"dsp_load\": 12.3, \"xruns\": 0, \"master_peak_dbfs\": null, "
    "\"clips\": 0, \"tracks\": ["
    "{\"name\": \"drums\", \"state\": \"running\", \"pid\": 1234, \"cpu\": 10.1, "
    "\"cpu_peak\": 12.0, \"wake_us\": 30.0, \"busy_us\": 200.0, \"late_blocks\": 0, "
    "\"faulted_blocks\": 0, \"bad_samples\": 0, \"restarts\": 0, \"restart_ms\": 0.00, "
    "\"errors\": 0, \"peak_dbfs\": -12.0, \"last_error\": null}, "
    "{\"name\": \"victim\", \"state\": \"error\", \"pid\": null, \"cpu\": 0.0, "
    "\"cpu_peak\": 0.0, \"wake_us\": 0.0, \"busy_us\": 0.0, \"late_blocks\": 2, "
    "\"faulted_blocks\": 7, \"bad_samples\": 0, \"restarts\": 1, \"restart_ms\": 3.25, "
    "\"errors\": 3, \"peak_dbfs\": null, "
    "\"last_error\": \"KeyError: '}' after {\\\"pid\\\": 5, \\\"state\\\": \\\"running\\\"}\"}, "
    "{\"name\": \"b}\", \"state\": \"running\", \"pid\": 4321, \"cpu\": 1.5, "
    "\"cpu_peak\": 2.0, \"wake_us\": 25.0, \"busy_us\": 80.0, \"late_blocks\": 0, "
    "\"faulted_blocks\": 0, \"bad_samples\": 0, \"restarts\": 0, \"restart_ms\": 0.00, "
    "\"errors\": 0, \"peak_dbfs\": -3.5, \"last_error\": null}]}\n";

static const char victim_error[] = "KeyError: '}' after {\"pid\": 5, \"state\": \"running\"}";

static void test_top_level_and_track_keys(void **state)
{
    (void)state;
    assert_string_equal(h_str(line, "state"), "playing");
    assert_int_equal((int)h_num(line, "sample_rate"), 48000);
    assert_float_equal(h_num(line, "dsp_load"), 12.3, 1e-9);
    assert_true(h_is_null(line, "master_peak_dbfs"));
    assert_false(h_is_null(line, "xruns"));
    const char *drums = h_track(line, "drums");
    assert_string_equal(h_str(drums, "state"), "running");   /* not the line's */
    assert_int_equal((int)h_num(drums, "pid"), 1234);
    assert_float_equal(h_num(drums, "cpu"), 10.1, 1e-9);
    assert_float_equal(h_num(drums, "peak_dbfs"), -12.0, 0);
    assert_true(h_is_null(drums, "last_error"));
}

static void test_last_error_with_brace_and_key_text(void **state)
{
    (void)state;
    const char *v = h_track(line, "victim");
    assert_string_equal(h_str(v, "name"), "victim");
    assert_string_equal(h_str(v, "last_error"), victim_error);   /* whole, unescaped */
    assert_true(h_is_null(v, "pid"));                              /* not the 5 in the text */
    assert_true(h_is_null(v, "peak_dbfs"));
    assert_string_equal(h_str(v, "state"), "error");
    assert_int_equal((int)h_num(v, "errors"), 3);
    assert_int_equal((int)h_num(v, "faulted_blocks"), 7);
    assert_float_equal(h_num(v, "restart_ms"), 3.25, 0);
    /* The track after it, and one whose name holds "}". */
    const char *b = h_track(line, "b}");
    assert_int_equal((int)h_num(b, "pid"), 4321);
    assert_float_equal(h_num(b, "peak_dbfs"), -3.5, 0);
    /* Both results are still good: each has its own copy. */
    assert_string_equal(h_str(v, "name"), "victim");
    assert_string_equal(h_str(b, "name"), "b}");
}

static void test_every_track(void **state)
{
    (void)state;
    assert_int_equal(h_ntracks(line), 3);
    assert_int_equal(h_track_index(line, "drums"), 0);
    assert_int_equal(h_track_index(line, "victim"), 1);
    assert_int_equal(h_track_index(line, "b}"), 2);
    static const char *const names[] = {"drums", "victim", "b}"};
    int pids[3], running = 0;
    for (int i = 0; i < h_ntracks(line); i++) {
        const char *t = h_track_at(line, i);
        assert_string_equal(h_str(t, "name"), names[i]);
        pids[i] = h_is_null(t, "pid") ? 0 : (int)h_num(t, "pid");
        running += !strcmp(h_str(t, "state"), "running");
    }
    assert_int_equal(pids[0], 1234);
    assert_int_equal(pids[1], 0);
    assert_int_equal(pids[2], 4321);
    assert_int_equal(running, 2);
}

/* A play is clean without a late block, an xrun or (unless allowed) a
 * faulted block on any track. */
static void test_played_clean(void **state)
{
    (void)state;
    /* The three-track line: "victim" is late 2 and faulted 7. */
    assert_false(h_played_clean(line, 0));
    assert_false(h_played_clean(line, 1));
    static const char ok[] =
        "{\"xruns\": 0, \"tracks\": [{\"name\": \"a\", \"late_blocks\": 0, "
        "\"faulted_blocks\": 3}]}";
    assert_true(h_played_clean(ok, 1));
    assert_false(h_played_clean(ok, 0));
    static const char xrun[] =
        "{\"xruns\": 1, \"tracks\": [{\"name\": \"a\", \"late_blocks\": 0, "
        "\"faulted_blocks\": 0}]}";
    assert_false(h_played_clean(xrun, 1));
}

/* h_track gives one compact JSON object, read again like a line. */
static void test_track_text_is_json(void **state)
{
    (void)state;
    const char *v = h_track(line, "victim");
    assert_int_equal(v[0], '{');
    assert_int_equal(v[strlen(v) - 1], '}');
    assert_null(strchr(v, '\n'));
    assert_string_equal(h_str(h_track(line, "victim"), "last_error"), victim_error);
}

static void test_slurp_lines(void **state)
{
    (void)state;
    h_write("half.jsonl", "{\"a\": 1}\n{\"a\": 2}\n{\"a\": 3, \"tra");
    char *s = h_slurp_lines(h_path("half.jsonl"));
    assert_string_equal(s, "{\"a\": 1}\n{\"a\": 2}\n");
    char *v[4];
    assert_int_equal(h_lines(s, v, 4), 2);
    assert_int_equal((int)h_num(v[1], "a"), 2);
    free(s);
    h_write("none.jsonl", "{\"a\": 1");
    s = h_slurp_lines(h_path("none.jsonl"));
    assert_string_equal(s, "");
    free(s);
    h_write("whole.jsonl", "{\"a\": 1}\n");
    s = h_slurp_lines(h_path("whole.jsonl"));
    assert_string_equal(s, "{\"a\": 1}\n");
    free(s);
    assert_null(h_slurp_lines(h_path("missing.jsonl")));
}

/* ---- the readers fail the test on what the contract does not allow ---- */

/* Runs f as a cmocka test of its own in a child: true when it failed. */
static int fails(void (*f)(void **))
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        const struct CMUnitTest t[] = {cmocka_unit_test(f)};
        _exit(cmocka_run_group_tests(t, NULL, NULL));
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st) == 1;
}

static void reads_fine(void **s) { (void)s; h_num(line, "clips"); }
static void missing_key(void **s) { (void)s; h_num(line, "no_such_key"); }
static void null_number(void **s) { (void)s; h_num(h_track(line, "victim"), "pid"); }
static void string_number(void **s) { (void)s; h_num(line, "state"); }
static void number_string(void **s) { (void)s; h_str(line, "xruns"); }
static void null_string(void **s) { (void)s; h_str(h_track(line, "drums"), "last_error"); }
static void missing_track(void **s) { (void)s; h_track(line, "b"); }
static void cut_line(void **s) { (void)s; h_num("{\"xruns\": 0, \"tracks\": [{\"name\"", "xruns"); }
static void two_lines(void **s) { (void)s; h_num("{\"xruns\": 0}\n{\"xruns\": 1}\n", "xruns"); }
static void not_object(void **s) { (void)s; h_num("[1, 2]", "xruns"); }

static void test_readers_fail_on_bad_input(void **state)
{
    (void)state;
    assert_false(fails(reads_fine));
    assert_true(fails(missing_key));
    assert_true(fails(null_number));
    assert_true(fails(string_number));
    assert_true(fails(number_string));
    assert_true(fails(null_string));
    assert_true(fails(missing_track));
    assert_true(fails(cut_line));
    assert_true(fails(two_lines));
    assert_true(fails(not_object));
}

/* Takes the first CPU of this process for 40 ms from the watch: pinned
 * there, SCHED_FIFO 60 (the watch is 50), spinning. */
static void *take_cpu(void *arg)
{
    (void)arg;
    cpu_set_t mine, one;
    if (sched_getaffinity(0, sizeof mine, &mine) != 0)
        return NULL;
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &mine)) {
            CPU_SET(c, &one);
            break;
        }
    struct sched_param sp = {.sched_priority = 60};
    if (pthread_setaffinity_np(pthread_self(), sizeof one, &one) != 0
        || pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) != 0)
        return NULL;
    double until = h_now() + 0.04;
    while (h_now() < until)
        ;
    return (void *)1;
}

static void test_stall_watch_sees_a_cpu_taken(void **state)
{
    (void)state;
    assert_int_equal(stall_watch_start(), 1);   /* the tests run with real-time rights */
    h_sleep(0.05);
    double t0 = h_now(), longest = 0;
    pthread_t th;
    void *took = NULL;
    assert_int_equal(pthread_create(&th, NULL, take_cpu, NULL), 0);
    pthread_join(th, &took);
    assert_non_null(took);
    h_sleep(0.01);
    int n = stall_count_since(t0, &longest);
    fprintf(stderr, "stall watch: %d stall(s) since the CPU was taken, the longest %.1f ms\n", n,
            longest);
    assert_true(n >= 1);
    assert_true(longest >= 30.0);
    assert_int_equal(stall_count_since(h_now() + 1.0, &longest), 0);   /* none in the future */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_top_level_and_track_keys),
        cmocka_unit_test(test_last_error_with_brace_and_key_text),
        cmocka_unit_test(test_every_track),
        cmocka_unit_test(test_played_clean),
        cmocka_unit_test(test_track_text_is_json),
        cmocka_unit_test(test_slurp_lines),
        cmocka_unit_test(test_readers_fail_on_bad_input),
        cmocka_unit_test(test_stall_watch_sees_a_cpu_taken),
    };
    return cmocka_run_group_tests(tests, h_setup_tmpdir, h_teardown_tmpdir);
}
