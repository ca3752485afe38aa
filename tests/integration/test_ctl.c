/* test_ctl.c - `shmix ctl` end to end: the real program talks to a control
 * server (engine/osc.c) running in this test process with a fake engine
 * behind it, in a scratch XDG_RUNTIME_DIR. What it sends (argument types
 * from their spelling), what it prints for each reply, its exit statuses,
 * finding the engine, and the socket it leaves behind: none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "errors.h"
#include "harness.h"
#include "osc.h"

static char out[16384], err[16384], dir[700];

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct ctl_msg last;
static int napplied, slow;

static int fake_apply(void *user, const struct ctl_msg *m, char *reason, size_t cap)
{
    (void)user;
    (void)reason;
    (void)cap;
    pthread_mutex_lock(&lock);
    last = *m;
    napplied++;
    int s = slow;
    pthread_mutex_unlock(&lock);
    if (s)   /* an engine that does not answer in time */
        usleep(1500000);
    return SHX_OK;
}

static int fake_stats(void *user, char *buf, size_t cap)
{
    (void)user;
    return snprintf(buf, cap, "{\"time\": 1.5, \"state\": \"playing\", \"tracks\": []}\n");
}

static const char *const tracks[] = {"drums", "bass"};
static struct osc *server;

static int ctl(const char *a1, const char *a2, const char *a3, const char *a4)
{
    const char *argv[] = {SHMIX_BIN, "ctl", a1, a2, a3, a4, NULL};
    return h_run(argv, out, sizeof out, err, sizeof err, 30);
}

static struct ctl_msg applied(void)
{
    pthread_mutex_lock(&lock);
    struct ctl_msg m = last;
    pthread_mutex_unlock(&lock);
    return m;
}

/* No socket of ctl's own is left in the folder: only the engine's. */
static void assert_folder_clean(void)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (!strncmp(e->d_name, "ctl-", 4))
            fail_msg("left behind: %s", e->d_name);
    closedir(d);
}

static void test_replies_printed(void **state)
{
    (void)state;
    assert_int_equal(ctl("/shmix/ping", NULL, NULL, NULL), 0);
    assert_string_equal(out, "pong\n");
    assert_string_equal(err, "");
    assert_int_equal(ctl("/shmix/stats", NULL, NULL, NULL), 0);
    assert_string_equal(out, "{\"time\": 1.5, \"state\": \"playing\", \"tracks\": []}\n");
    assert_int_equal(h_num(out, "time"), 1.5);
    /* Accepted: nothing printed, exit 0. Options end at ADDRESS. */
    assert_int_equal(ctl("/shmix/track/0/gain_db", "-6", NULL, NULL), 0);
    assert_string_equal(out, "");
    assert_string_equal(err, "");
    struct ctl_msg m = applied();
    assert_int_equal(m.kind, CTL_GAIN);
    assert_int_equal(m.track, 0);
    assert_true(m.a == -6);
    assert_int_equal(ctl("--", "/shmix/track/bass/pan", "-0.25", NULL), 0);
    m = applied();
    assert_int_equal(m.kind, CTL_PAN);
    assert_true(m.a == -0.25);
    assert_int_equal(ctl("/shmix/transport/loop", "1.5", "4", NULL), 0);
    m = applied();
    assert_int_equal(m.kind, CTL_LOOP_REGION);
    assert_true(m.a == 1.5 && m.b == 4);
    assert_folder_clean();
}

/* Argument types from their spelling, seen through a param's JSON. */
static void test_argument_types(void **state)
{
    (void)state;
    static const struct {
        const char *word, *json;
    } cases[] = {
        {"3", "3"},          {"-12", "-12"},         {"007", "7"},
        {"4294967296", "4294967296"},                {"1.5", "1.5"},
        {"-2e3", "-2000.0"}, {".5", "0.5"},          {"true", "true"},
        {"false", "false"},  {"nil", "null"},        {"null", "null"},
        {"wide", "\"wide\""}, {"inf", "\"inf\""},    {"nan", "\"nan\""},
        {"0x10", "\"0x10\""}, {"1e", "\"1e\""},      {"", "\"\""},
        {"two words", "\"two words\""},             {"True", "\"True\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (ctl("/shmix/track/drums/param/k", cases[i].word, NULL, NULL) != 0)
            fail_msg("ctl ... \"%s\": %s", cases[i].word, err);
        struct ctl_msg m = applied();
        assert_int_equal(m.kind, CTL_PARAM);
        if (strcmp(m.value_json, cases[i].json))
            fail_msg("\"%s\" sent as %s, expected %s", cases[i].word, m.value_json,
                     cases[i].json);
    }
    /* Mute takes i or T/F: both spellings work. */
    assert_int_equal(ctl("/shmix/track/drums/mute", "true", NULL, NULL), 0);
    assert_true(applied().a == 1);
    assert_int_equal(ctl("/shmix/track/drums/mute", "0", NULL, NULL), 0);
    assert_true(applied().a == 0);
}

static void test_errors(void **state)
{
    (void)state;
    uint64_t before = osc_control_errors(server);
    assert_int_equal(ctl("/shmix/track/drums/gain_db", "loud", NULL, NULL), 2);
    h_assert_one_line(err, "shmix: gain_db: expected f, got s");
    assert_string_equal(out, "");
    assert_int_equal(ctl("/shmix/track/drums/gain_db", "-200", NULL, NULL), 2);
    h_assert_one_line(err, "shmix: gain_db: -200 is out of range -120..24");
    assert_int_equal(ctl("/shmix/track/nope/mute", "1", NULL, NULL), 2);
    h_assert_one_line(err, "shmix: no track 'nope'");
    assert_int_equal(ctl("/shmix/foo", NULL, NULL, NULL), 2);
    h_assert_one_line(err, "shmix: unknown address /shmix/foo");
    assert_int_equal(osc_control_errors(server), before + 4);
    /* Engines: by pid, a pid that is none, and two at once. */
    char pid[32], want[800];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    assert_int_equal(ctl("--pid", pid, "/shmix/ping", NULL), 0);
    assert_string_equal(out, "pong\n");
    assert_int_equal(ctl("--pid=1", "/shmix/ping", NULL, NULL), 2);
    snprintf(want, sizeof want, "shmix: ctl: no shmix engine with pid 1 is listening "
             "(%s/1.osc)", dir);
    h_assert_one_line(err, want);
    int other = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%.90s/1.osc", dir);
    assert_int_equal(bind(other, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(ctl("/shmix/ping", NULL, NULL, NULL), 2);
    snprintf(want, sizeof want, "shmix: ctl: 2 engines are running; pick one with --pid: 1 %d",
             (int)getpid());
    h_assert_one_line(err, want);
    /* An engine that reads but never answers: exit 1 after ~1 s. */
    assert_int_equal(ctl("--pid", "1", "/shmix/ping", NULL), 1);
    h_assert_one_line(err, "shmix: ctl: no reply from engine 1 within 1 s");
    close(other);
    unlink(sa.sun_path);
    /* One that answers too late. */
    pthread_mutex_lock(&lock);
    slow = 1;
    pthread_mutex_unlock(&lock);
    double t0 = h_now();
    snprintf(want, sizeof want, "shmix: ctl: no reply from engine %d within 1 s", (int)getpid());
    assert_int_equal(ctl("/shmix/transport/play", NULL, NULL, NULL), 1);
    h_assert_one_line(err, want);
    assert_true(h_now() - t0 < 5);
    pthread_mutex_lock(&lock);
    slow = 0;
    pthread_mutex_unlock(&lock);
    h_sleep(1.0);   /* the late answer has gone to a socket that is no more */
    assert_folder_clean();
    assert_int_equal(ctl("/shmix/ping", NULL, NULL, NULL), 0);
}

static int setup(void **state)
{
    (void)state;
    h_tmpdir();
    char xdg[600];
    snprintf(xdg, sizeof xdg, "%s", h_path("xdg"));
    mkdir(xdg, 0700);
    setenv("XDG_RUNTIME_DIR", xdg, 1);
    snprintf(dir, sizeof dir, "%s/shmix", xdg);
    struct osc_options o = {tracks, 2, 0, 0, NULL, fake_apply, fake_stats, NULL, 0};
    char e[256];
    if (osc_create(&o, &server, e, sizeof e) != SHX_OK) {
        fprintf(stderr, "osc_create: %s\n", e);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    osc_destroy(server);
    return h_teardown_tmpdir(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        H_TEST(test_replies_printed),
        H_TEST(test_argument_types),
        H_TEST(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
