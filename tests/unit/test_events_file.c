/* test_events_file.c - reading an events: list: the order, the output
 * block each event lands on, its arguments read as the session loader
 * reads any YAML scalar (YAML 1.2's core schema), and the errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "events_file.h"

static char path[64];
static const char *const track_names[] = {"drums", "bass"};
static const struct ctl_names names = {track_names, 2};
static const struct event_clock clock48 = {48000, 128};

static void write_events(const char *text)
{
    snprintf(path, sizeof path, "/tmp/shmix-test-events-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int load(const char *text, int alone, struct event **ev, int *n, char *err, size_t cap)
{
    write_events(text);
    int rc = events_load(path, alone, &names, &clock48, ev, n, err, cap);
    unlink(path);
    return rc;
}

/* Sorted by time, stable for equal times; `at` becomes the first block
 * boundary at or after it; each plain scalar is what YAML 1.2 says it is
 * (a quoted one stays a string). */
static void test_scalars_and_order(void **state)
{
    (void)state;
    struct event *ev;
    int n;
    char err[512];
    int rc = load("events:\n"
                  "  - {at: 1.0, osc: [/shmix/track/drums/param/hex, 0x1f]}\n"
                  "  - {at: 1.0, osc: [/shmix/track/drums/param/quoted, \"0x1f\"]}\n"
                  "  - {at: 0.5, osc: [/shmix/track/1/param/oct, 0o17]}\n"
                  "  - {at: 1.0, osc: [/shmix/track/bass/param/none, ~]}\n"
                  "  - {at: 1.0, osc: [/shmix/track/bass/param/sci, 1.5e+3]}\n"
                  "  - {at: 1.0, osc: [/shmix/track/bass/param/plus, +7]}\n"
                  "  - {at: 1.0, osc: [/shmix/track/bass/param/yes, True]}\n"
                  "  - {at: 0, osc: [/shmix/track/drums/gain_db, -6]}\n",
                  1, &ev, &n, err, sizeof err);
    assert_int_equal(rc, SHX_OK);
    assert_int_equal(n, 8);
    static const struct {
        int64_t o;
        const char *key, *json;
    } want[] = {
        {0, "", ""},           /* the gain, first: at 0 */
        {188, "oct", "15"},    /* 0.5 s = 187.5 blocks: the boundary after */
        {375, "hex", "31"},    /* then the rest at 1.0 s in the order written */
        {375, "quoted", "\"0x1f\""},
        {375, "none", "null"},
        {375, "sci", "1500.0"},
        {375, "plus", "7"},
        {375, "yes", "true"},
    };
    for (int i = 0; i < n; i++) {
        assert_int_equal(ev[i].o, want[i].o);
        if (i == 0) {
            assert_int_equal(ev[i].m.kind, CTL_GAIN);
            assert_int_equal(ev[i].m.track, 0);
            assert_true(ev[i].m.a == -6.0);
            continue;
        }
        assert_int_equal(ev[i].m.kind, CTL_PARAM);
        assert_string_equal(ev[i].m.key, want[i].key);
        assert_string_equal(ev[i].m.value_json, want[i].json);
    }
    assert_int_equal(ev[1].m.track, 1);
    free(ev);
}

static void test_none(void **state)
{
    (void)state;
    struct event *ev = (struct event *)&ev;   /* not NULL: events_load must set it */
    int n = -1;
    char err[512];
    assert_int_equal(load("events:\n", 1, &ev, &n, err, sizeof err), SHX_OK);
    assert_int_equal(n, 0);
    assert_null(ev);
    /* A session without events: is fine; other keys are its own. */
    assert_int_equal(load("tracks: []\n", 0, &ev, &n, err, sizeof err), SHX_OK);
    assert_int_equal(n, 0);
}

/* Each error names the file, the line and column, the key path. */
static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int alone;
        const char *msg;   /* after "FILE:" */
    } bad[] = {
        {"events:\n  - {at: -1, osc: [/shmix/transport/stop]}\n", 1,
         "2:10: events[0].at: expected seconds >= 0"},
        {"events:\n  - {at: .inf, osc: [/shmix/transport/stop]}\n", 1,
         "2:10: events[0].at: expected seconds >= 0"},
        {"events:\n  - {at: \"1\", osc: [/shmix/transport/stop]}\n", 1,
         "2:10: events[0].at: expected seconds >= 0"},
        {"events:\n  - {at: 1, osc: [/shmix/track/nope/gain_db, 0]}\n", 1,
         "2:19: events[0].osc: no track 'nope'"},
        {"events:\n  - {at: 1, osc: [/shmix/transport/stop], when: 2}\n", 1,
         "2:43: events[0]: unknown key \"when\" (at, osc, arrived)"},
        {"tracks: []\nevents: []\n", 1,
         "1:1: events file: only an events: list belongs here"},
        {"events: 3\n", 1,
         "1:9: events: expected a list of {at: SEC, osc: [ADDRESS, ARG...]}"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct event *ev;
        int n;
        char err[512], want[600];
        int rc = load(bad[i].text, bad[i].alone, &ev, &n, err, sizeof err);
        snprintf(want, sizeof want, "%s:%s", path, bad[i].msg);
        if (rc != SHX_ESESSION || strcmp(err, want) != 0)
            fail_msg("case %zu: rc %d, got\n  %s\nwanted\n  %s", i, rc, err, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars_and_order),
        cmocka_unit_test(test_none),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
