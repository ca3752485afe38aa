/* test_meter.c - the meters: CPU accounting against a script of known cost,
 * every stats field, the terminal table (on a terminal, in a pipe, in 80
 * columns with a script printing above it), `shmix top` on a running engine
 * (the table, --once, --json), and the overlay in a real window under Xvfb,
 * driven with real key presses (xdotool). */
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
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define S SHMIX_TEST_SCRIPTS

static char out[1 << 17], err[1 << 17];
static struct h_proc xvfb;
static char display[16];

static int setup(void **state)
{
    (void)state;
    h_tmpdir();
    h_write_sines("tone.wav", 48000, 2, 4 * 48000, 0.5);
    /* Three tracks: no script, a script busy for 10 % of each block's
     * duration, one busy for 40 %. */
    h_write("m.yaml", "sample_rate: 48000\nblock_size: 256\ntracks:\n"
                      "  - {name: dry, file: tone.wav, gain_db: -6}\n"
                      "  - {name: busy10, file: tone.wav, gain_db: -12, script: " S "/burn.py,\n"
                      "     params: {fraction: 0.10}}\n"
                      "  - {name: busy40, file: tone.wav, gain_db: -12, script: " S "/burn.py,\n"
                      "     params: {fraction: 0.40}}\n");
    /* A script printing a line every 0.25 s while the table is drawn. */
    h_write("chat.yaml", "sample_rate: 48000\nblock_size: 256\ntracks:\n"
                         "  - {name: dry, file: tone.wav, gain_db: -6}\n"
                         "  - {name: talker, file: tone.wav, script: " S "/chatty.py}\n"
                         "  - {name: busy10, file: tone.wav, gain_db: -12, script: " S
                         "/burn.py,\n     params: {fraction: 0.10}}\n");
    /* A private X server for the overlay test: -displayfd picks a free one. */
    snprintf(display, sizeof display, ":%d", 90 + (int)(getpid() % 50));
    const char *argv[] = {"/usr/bin/Xvfb", display, "-screen", "0", "1024x768x24", "-nolisten",
                          "tcp", NULL};
    h_start(argv, &xvfb);
    h_fixture(xvfb.pid);
    h_sleep(1.0);
    return h_alive(xvfb.pid) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    kill(xvfb.pid, SIGTERM);
    h_finish(&xvfb, NULL, 0, NULL, 0, 10, NULL);
    h_cleanup();
    return 0;
}

/* x is truth - below .. truth + above. Stolen time only ever adds to a
 * reading, so the meter tests widen `above` by it and never `below`. */
static int near(double x, double truth, double below, double above)
{
    return x >= truth - below && x <= truth + above;
}

static void test_cpu_accounting_and_fields(void **state)
{
    (void)state;
    const char *argv[] = {SHMIX_BIN, "play", h_path("m.yaml"), "--null", "--duration", "3",
                          "--stats", "-", "--stats-interval", "1", NULL};
    char *v[16];
    int n = 0;
    const char *line = NULL;
    /* Thread CPU clocks on this VM run ahead when both vCPUs are busy
     * (metering.md): one CI run under ASan read the 40 % script at 44.7,
     * and in a noisy hour a neighbour's load preempted the 10 % script so
     * that a call took 1.8x its CPU time on the wall clock (busy_us). A run
     * off in either gets two more tries; a fault of the accounting would
     * repeat. The margins are +-3 points and 1.6x, widened by what the
     * host stole during the run: at 19 % stolen, every try read busy10 at
     * 12.5-15.5 and busy_us at 1.5-2.6x. */
    double tol = 3.0, umax = 1.6;
    for (int attempt = 0; attempt < 3; attempt++) {
        struct h_steal mark;
        h_steal_mark(&mark);
        assert_int_equal(h_run(argv, out, sizeof out, err, sizeof err, 60), 0);
        double stolen = h_steal_pct(&mark);
        tol = 3.0 + stolen / 2;
        umax = 1.6 + stolen / 10;
        n = h_lines(out, v, 16);
        assert_true(n >= 3);
        line = v[n - 2];   /* the last full interval */
        const char *b10 = h_track(line, "busy10"), *b40 = h_track(line, "busy40");
        double c10 = h_num(b10, "cpu"), c40 = h_num(b40, "cpu");
        double u10 = h_num(b10, "busy_us") / (0.10 * 5333);
        double u40 = h_num(b40, "busy_us") / (0.40 * 5333);
        if (near(c10, 10, 3.0, tol) && near(c40, 40, 3.0, tol) && u10 > 0.9 && u10 < umax
            && u40 > 0.9 && u40 < umax)
            break;
        fprintf(stderr, "busy10 %.1f %% (%.2fx in busy_us), busy40 %.1f %% (%.2fx): once more\n",
                c10, u10, c40, u40);
    }
    static const char *const top[] = {"time", "position", "sample_rate", "block_size",
                                      "dsp_load", "xruns", "clips"};
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
        h_num(line, top[i]);   /* present, a number */
    assert_string_equal(h_str(line, "state"), "playing");
    assert_true(h_num(line, "master_peak_dbfs") > -12 && h_num(line, "master_peak_dbfs") < 6);
    /* Scripts busy for 10 % and 40 % of each block show 10 and 40, +-3. */
    static const struct { const char *name; double truth; } busy[] = {{"busy10", 10},
                                                                      {"busy40", 40}};
    double sum = 0;
    for (int i = 0; i < 2; i++) {
        const char *b = h_track(line, busy[i].name);
        double cpu = h_num(b, "cpu"), us = h_num(b, "busy_us");
        fprintf(stderr, "%s: cpu %.1f%%, busy %.0f us\n", busy[i].name, cpu, us);
        assert_true(near(cpu, busy[i].truth, 3.0, tol));
        assert_true(h_num(b, "cpu_peak") >= cpu);
        /* busy_us is wall time inside process() and the script burns CPU
         * time: never much less than the truth, more by whatever the VM
         * or the scheduler took away meanwhile (umax, above). A call timed
         * per batch rather than per block would read 7x, a unit slip
         * 1000x. */
        double truth_us = busy[i].truth / 100 * 5333;
        assert_true(us > 0.9 * truth_us && us < umax * truth_us);
        assert_true(h_num(b, "wake_us") > 0);
        assert_true(h_num(b, "pid") > 0);
        sum += cpu;
    }
    assert_true(h_num(line, "dsp_load") >= sum);
    /* A track without a script: below 1 %, and no worker times. */
    const char *dry = h_track(line, "dry");
    fprintf(stderr, "dry: cpu %.2f%%\n", h_num(dry, "cpu"));
    assert_true(h_num(dry, "cpu") < 1.0);
    assert_true(h_num(dry, "wake_us") == 0 && h_num(dry, "busy_us") == 0);
    assert_string_equal(h_str(dry, "state"), "direct");
    assert_true(h_is_null(dry, "pid"));
    /* Levels: -6 dB of a 0.5 sine balanced at centre is about -12 dBFS. */
    assert_true(fabs(h_num(dry, "peak_dbfs") - (20 * log10(0.5) - 6)) < 0.5);
    assert_true(h_is_null(dry, "last_error"));
}

/* One run of the 10 ms stats lines: NULL when every line after warm-up
 * holds busy40 at 20..70 with a level and the average is 40 +- 5, else why
 * not (in buf). */
static const char *short_intervals_run(char *buf, size_t cap)
{
    const char *argv[] = {SHMIX_BIN, "play", h_path("m.yaml"), "--null", "--duration", "2",
                          "--stats", h_path("short.jsonl"), "--stats-interval", "0.01", NULL};
    struct h_steal mark;
    h_steal_mark(&mark);
    assert_int_equal(h_run(argv, out, sizeof out, err, sizeof err, 60), 0);
    double tol = 5.0 + h_steal_pct(&mark) / 2;   /* see test_cpu_accounting_and_fields */
    char *text = h_slurp(h_path("short.jsonl"));
    static char *v[1024];
    int n = h_lines(text, v, 1024);
    assert_true(n >= 100);
    int checked = 0;
    double sum = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && !buf[0]; i++) {
        if (h_num(v[i], "time") < 0.5 || strcmp(h_str(v[i], "state"), "playing"))
            continue;   /* the first batches warm up */
        const char *b40 = h_track(v[i], "busy40");
        double c40 = h_num(b40, "cpu");
        if (c40 < 20 || c40 > 70 || h_num(b40, "cpu_peak") < c40)
            snprintf(buf, cap, "busy40 reads %.1f at %.3f s", c40, h_num(v[i], "time"));
        /* It is playing: never silent - unless a stall of the VM left no
         * block mixed between two lines (a line late by 8 ms is followed
         * 2 ms later by the next, less than a block). */
        if (h_is_null(b40, "peak_dbfs"))
            snprintf(buf, cap, "busy40 has no level at %.3f s", h_num(v[i], "time"));
        assert_true(h_num(v[i], "dsp_load") >= c40);
        sum += c40;
        checked++;
    }
    free(text);
    if (buf[0])
        return buf;
    fprintf(stderr, "%d lines, busy40 %.1f%% on average\n", checked, sum / checked);
    assert_true(checked >= 50);
    if (!near(sum / checked, 40, 5.0, tol))
        snprintf(buf, cap, "busy40 averages %.1f", sum / checked);
    return buf[0] ? buf : NULL;
}

/* Stats every 10 ms, shorter than a track's batch (about 40 ms of blocks at
 * a time): an interval in which a track rendered nothing repeats its last
 * measured cpu, cpu_peak and level instead of reading 0 (or silence), and
 * the figures still average out. A neighbour's load on this VM can make
 * one 10 ms line read high (a CI run: 76.9): such a run gets one more try;
 * a line at 0 (the fault this guards against) repeats. */
static void test_short_stats_intervals_hold_cpu(void **state)
{
    (void)state;
    char why[128];
    const char *bad = short_intervals_run(why, sizeof why);
    if (bad) {
        fprintf(stderr, "%s: once more\n", bad);
        bad = short_intervals_run(why, sizeof why);
    }
    if (bad)
        fail_msg("%s", bad);
}

/* On a terminal (a pseudo-terminal here) the table is redrawn in place,
 * about ten times a second, and the terminal is left as it was. */
static void test_terminal_meter(void **state)
{
    (void)state;
    const char *argv[] = {SHMIX_BIN, "play", h_path("m.yaml"), "--null", "--duration", "1.5",
                          "--meter", NULL};
    assert_int_equal(h_run_pty(argv, 160, 40, err, sizeof err, 60), 0);
    int redraws = 0;   /* each redraw clears the header's row and writes it */
    for (const char *p = err; (p = strstr(p, "\x1b[2Kshmix ")) != NULL; p += 3)
        redraws++;
    assert_true(redraws >= 8);                      /* in place, ~10 times a second */
    assert_non_null(strstr(err, "TRACK"));
    assert_non_null(strstr(err, "busy40"));
    assert_non_null(strstr(err, "\x1b[?25h"));       /* cursor back at the end */
    assert_non_null(strstr(err, "\x1b[r"));          /* and the whole screen scrolling */
}

/* Fails unless no line of text is wider than cols characters (UTF-8). */
static void assert_fits(const char *text, int cols)
{
    for (const char *l = text; *l;) {
        size_t n = strcspn(l, "\n");
        int chars = 0;
        for (size_t i = 0; i < n; i++)
            chars += ((unsigned char)l[i] & 0xc0) != 0x80;
        if (chars > cols)
            fail_msg("a line of %d characters, wider than %d:\n%.*s", chars, cols, (int)n, l);
        l += n + (l[n] == '\n');
    }
}

/* Into a pipe --meter prints plain tables, a second apart with a blank
 * line between them, 80 columns wide when nothing says otherwise, and not
 * one escape code. */
static void test_meter_into_a_pipe(void **state)
{
    (void)state;
    unsetenv("COLUMNS");
    const char *argv[] = {SHMIX_BIN, "play", h_path("m.yaml"), "--null", "--duration", "2.5",
                          "--meter", "-q", NULL};
    assert_int_equal(h_run(argv, out, sizeof out, err, sizeof err, 60), 0);
    assert_null(strchr(err, 0x1b));
    int tables = 0;
    for (const char *p = err; (p = strstr(p, "\nTRACK ")) != NULL; p++)
        tables++;
    assert_true(tables >= 3);                        /* at 1 s, 2 s and the end */
    assert_non_null(strstr(err, "\n\nshmix "));       /* a blank line between them */
    assert_non_null(strstr(err, "\nbusy40 "));
    assert_fits(err, 80);
    setenv("COLUMNS", "60", 1);                      /* the fallback for the width */
    assert_int_equal(h_run(argv, out, sizeof out, err, sizeof err, 60), 0);
    unsetenv("COLUMNS");
    assert_null(strchr(err, 0x1b));
    assert_non_null(strstr(err, "\nbusy40 "));
    assert_fits(err, 60);
}

/* Runs cmd in a detached tmux session of its own (a real terminal, cols
 * wide and 40 rows high) and returns what the screen shows after `wait`
 * seconds. Each call has a tmux
 * server of its own (-L): a server that is still shutting down after the
 * previous call's session ended, or another test run's, cannot refuse it. */
static char *screen_of(const char *cmd, double wait, int cols)
{
    static int calls;
    char name[48], x[16];
    snprintf(name, sizeof name, "shmixtop%d-%d", (int)getpid(), calls++);
    snprintf(x, sizeof x, "%d", cols);
    const char *start[] = {"/usr/bin/tmux", "-L", name, "new-session", "-d", "-s", name,
                           "-x", x, "-y", "40", cmd, NULL};
    assert_int_equal(h_run(start, out, sizeof out, err, sizeof err, 10), 0);
    h_sleep(wait);
    /* -J: a row the terminal wrapped comes back as one line, longer than
     * the pane is wide. */
    const char *cap[] = {"/usr/bin/tmux", "-L", name, "capture-pane", "-p", "-J", "-t", name,
                         NULL};
    assert_int_equal(h_run(cap, out, sizeof out, err, sizeof err, 10), 0);
    const char *kill_[] = {"/usr/bin/tmux", "-L", name, "kill-server", NULL};
    h_run(kill_, NULL, 0, NULL, 0, 10);
    return strdup(out);
}

/* The overlay's keys from the terminal: play --meter under tmux, keys sent
 * as a user types them, what they did read back from the captured events
 * (they go through the same control path as OSC). */
static void test_meter_takes_keys(void **state)
{
    (void)state;
    char cmd[1024], name[48];
    snprintf(cmd, sizeof cmd,
             "%s play %s --null --duration 20 --meter --capture-events %s 2>%s", SHMIX_BIN,
             h_path("m.yaml"), h_path("keys.yaml"), h_path("keys.err"));
    snprintf(name, sizeof name, "shmixkeys%d", (int)getpid());
    const char *start[] = {"/usr/bin/tmux", "-L", name, "new-session", "-d", "-s", name,
                           "-x", "100", "-y", "40", cmd, NULL};
    assert_int_equal(h_run(start, out, sizeof out, err, sizeof err, 10), 0);
    h_sleep(2.5);   /* the workers started and playing */
    const char *keys[][2] = {{"Down", NULL}, {"m", NULL}, {"Right", NULL}, {".", NULL},
                             {"Space", NULL}, {"Space", NULL}, {"q", NULL}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *send[] = {"/usr/bin/tmux", "-L", name, "send-keys", "-t", name, keys[i][0],
                              NULL};
        assert_int_equal(h_run(send, out, sizeof out, err, sizeof err, 10), 0);
        h_sleep(0.3);
    }
    h_sleep(1.0);
    const char *kill_[] = {"/usr/bin/tmux", "-L", name, "kill-server", NULL};
    h_run(kill_, NULL, 0, NULL, 0, 10);
    char *ev = h_slurp(h_path("keys.yaml"));
    assert_non_null(ev);
    assert_non_null(strstr(ev, "osc: [/shmix/track/busy10/mute, 1]"));
    assert_non_null(strstr(ev, "osc: [/shmix/track/busy10/gain_db, -11.0]"));
    assert_non_null(strstr(ev, "osc: [/shmix/track/busy10/pan, 0.10000000000000001]"));
    assert_non_null(strstr(ev, "osc: [/shmix/transport/pause]"));
    assert_non_null(strstr(ev, "osc: [/shmix/transport/play]"));
    free(ev);
}

/* The numbers on the screen line that starts with the track's name. */
static double cpu_on_screen(const char *screen, const char *name)
{
    char key[40];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *l = strstr(screen, key);
    if (!l)
        fail_msg("no row for %s on the screen:\n%s", name, screen);
    char state[32];
    double cpu;
    if (sscanf(l + strlen(key), "%31s %lf", state, &cpu) != 2)
        fail_msg("cannot read %s's row:\n%s", name, screen);
    assert_string_equal(state, strcmp(name, "dry") ? "running" : "direct");
    return cpu;
}

static void test_top_attaches_read_only(void **state)
{
    (void)state;
    const char *argv[] = {SHMIX_BIN, "play", h_path("m.yaml"), "--null", "--loop",
                          "--duration", "12", NULL};
    struct h_proc p;
    h_start(argv, &p);
    h_sleep(1.5);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s top %d", SHMIX_BIN, p.pid);
    /* One screen shows the figure of one ~40 ms batch, not a 1 s average
     * (test_cpu_accounting_and_fields checks that to +-3): a VM stall in
     * the engine's own share of the batch moves it by a few points, and
     * more when the host takes the vCPUs (a CI run read busy40 at 51.6
     * with 31 % stolen). So the margin widens by half of what was stolen,
     * as in the other meter tests, and a screen off gets two more tries: a
     * fault of the accounting would repeat. */
    int ok = 0;
    for (int attempt = 0; attempt < 3 && !ok; attempt++) {
        struct h_steal mark;
        h_steal_mark(&mark);
        char *screen = screen_of(cmd, 1.5, 160);
        double tol = 8 + h_steal_pct(&mark) / 2;
        assert_non_null(strstr(screen, "playing"));
        double c40 = cpu_on_screen(screen, "busy40"), c10 = cpu_on_screen(screen, "busy10");
        double dry = cpu_on_screen(screen, "dry");
        fprintf(stderr, "on screen: busy40 %.1f, busy10 %.1f, dry %.1f (margin %.0f)\n", c40,
                c10, dry, tol);
        assert_true(dry < 1);   /* an unscripted track never shows script time */
        ok = fabs(c40 - 40) <= tol && fabs(c10 - 10) <= tol;
        free(screen);
    }
    assert_true(ok);
    snprintf(cmd, sizeof cmd, "%s top", SHMIX_BIN);   /* the only engine running */
    char *screen = screen_of(cmd, 1.0, 160);
    assert_non_null(strstr(screen, "busy10"));
    free(screen);
    char shm[64];
    snprintf(shm, sizeof shm, "/dev/shm/shmix-%d", p.pid);
    assert_true(h_exists(shm));
    assert_int_equal(h_finish(&p, NULL, 0, NULL, 0, 30, NULL), 0);
    assert_false(h_exists(shm));                     /* removed at exit */
    char pid[16];
    snprintf(pid, sizeof pid, "%d", p.pid);
    const char *top[] = {SHMIX_BIN, "top", pid, NULL};
    assert_int_equal(h_run(top, out, sizeof out, err, sizeof err, 10), 1);
    assert_non_null(strstr(err, "shmix: top: no shmix engine with pid"));
}

/* play --meter in an 80-column terminal while a script prints a line every
 * 0.25 s: every line it printed is on the screen whole, above the table,
 * and no row of the table wraps. */
static void test_meter_keeps_script_lines_in_80_columns(void **state)
{
    (void)state;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s play %s --null --duration 10 --meter -q", SHMIX_BIN,
             h_path("chat.yaml"));
    char *screen = screen_of(cmd, 4.0, 80);
    assert_fits(screen, 80);
    static const char *const rows[] = {"\nTRACK ", "\ndry ", "\ntalker ", "\nbusy10 "};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (!strstr(screen, rows[i]))
            fail_msg("no row \"%s\" on the screen:\n%s", rows[i] + 1, screen);
    /* The script's lines 1..n, each whole on a line of its own. */
    int n = 0;
    for (;; n++) {
        char want[128];
        snprintf(want, sizeof want, "[talker] chatty line %d: the quick brown fox jumps over "
                 "the lazy dog", n + 1);
        const char *at = strstr(screen, want);
        if (!at || (at != screen && at[-1] != '\n') || !strchr("\n ", at[strlen(want)]))
            break;
    }
    fprintf(stderr, "%d script lines on the screen, whole\n", n);
    if (n < 6)
        fail_msg("only %d script lines whole on the screen:\n%s", n, screen);
    /* ... and nothing else of them anywhere (a line half drawn over). */
    int all = 0;
    for (const char *p = screen; (p = strstr(p, "chatty")) != NULL; p++)
        all++;
    assert_int_equal(all, n);
    /* The table below the last of them. */
    assert_true(strstr(screen, "\nTRACK ") > strstr(screen, "chatty line 1:"));
    free(screen);
}

/* `shmix top --once`: one plain table; `--once --json`: one stats line in
 * the engine's own format; and in an 80-column terminal no row wraps. */
static void test_top_once_json_and_80_columns(void **state)
{
    (void)state;
    unsetenv("COLUMNS");
    const char *argv[] = {SHMIX_BIN, "play", h_path("m.yaml"), "--null", "--loop",
                          "--duration", "8", NULL};
    struct h_proc p;
    h_start(argv, &p);
    h_sleep(1.5);
    char pid[16];
    snprintf(pid, sizeof pid, "%d", p.pid);
    const char *once[] = {SHMIX_BIN, "top", "--once", pid, NULL};
    assert_int_equal(h_run(once, out, sizeof out, err, sizeof err, 10), 0);
    assert_null(strchr(out, 0x1b));
    assert_non_null(strstr(out, "\nbusy40 "));
    assert_non_null(strstr(out, "\nTRACK "));
    assert_null(strstr(strstr(out, "\nTRACK ") + 1, "\nTRACK "));   /* one table */
    assert_fits(out, 80);
    const char *json[] = {SHMIX_BIN, "top", "--once", "--json", NULL};   /* the only engine */
    /* The figure of one batch, in percent: a unit slip reads 0.4 or 4000.
     * The margin widens with what the host stole around it, and a reading
     * off gets two more tries, as in test_top_attaches_read_only. */
    int ok = 0;
    for (int attempt = 0; attempt < 3 && !ok; attempt++) {
        struct h_steal mark;
        h_steal_mark(&mark);
        h_sleep(0.5);
        assert_int_equal(h_run(json, out, sizeof out, err, sizeof err, 10), 0);
        double tol = 10 + h_steal_pct(&mark) / 2;
        assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);          /* one line */
        assert_string_equal(h_str(out, "state"), "playing");
        assert_int_equal(h_ntracks(out), 3);
        assert_string_equal(h_str(h_track(out, "dry"), "state"), "direct");
        double c40 = h_num(h_track(out, "busy40"), "cpu");
        fprintf(stderr, "top --json: busy40 %.1f%%, busy10 %.1f%% (margin %.0f)\n", c40,
                h_num(h_track(out, "busy10"), "cpu"), tol);
        ok = fabs(c40 - 40) <= tol;
    }
    assert_true(ok);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s top %d", SHMIX_BIN, p.pid);
    char *screen = screen_of(cmd, 1.0, 80);
    assert_fits(screen, 80);
    assert_non_null(strstr(screen, "\nbusy40 "));
    free(screen);
    kill(p.pid, SIGINT);
    assert_int_equal(h_finish(&p, NULL, 0, NULL, 0, 30, NULL), 0);
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *o = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(o);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, o), n);
    fclose(in);
    assert_int_equal(fclose(o), 0);
}

/* An engine killed with SIGKILL cannot remove its meters' name; its pid
 * may then be reused by any process. Neither may pass for an engine:
 * `shmix top` finds the one engine that runs, and the next engine to start
 * sweeps the dead one's name away. */
static void test_top_skips_names_left_by_killed_engines(void **state)
{
    (void)state;
    const char *argv[] = {SHMIX_BIN, "play", h_path("m.yaml"), "--null", "--loop",
                          "--duration", "10", NULL};
    struct h_proc dead;
    h_start(argv, &dead);
    h_sleep(1.0);
    char stale[64], reused[64], pid[16];
    snprintf(stale, sizeof stale, "/dev/shm/shmix-%d", dead.pid);
    kill(dead.pid, SIGKILL);
    h_finish(&dead, NULL, 0, NULL, 0, 10, NULL);
    assert_true(h_exists(stale));                       /* left behind */
    /* The same name under a live pid that is no engine (this test's). */
    snprintf(reused, sizeof reused, "/dev/shm/shmix-%d", (int)getpid());
    copy_file(stale, reused);
    int pids[] = {dead.pid, (int)getpid()};
    for (int i = 0; i < 2; i++) {
        snprintf(pid, sizeof pid, "%d", pids[i]);
        const char *top[] = {SHMIX_BIN, "top", pid, NULL};
        assert_int_equal(h_run(top, out, sizeof out, err, sizeof err, 10), 1);
        assert_non_null(strstr(err, "shmix: top: no shmix engine with pid"));
    }
    const char *none[] = {SHMIX_BIN, "top", NULL};
    assert_int_equal(h_run(none, out, sizeof out, err, sizeof err, 10), 1);
    assert_non_null(strstr(err, "shmix: top: no shmix engine is running"));

    struct h_proc live;
    h_start(argv, &live);
    h_sleep(1.0);
    assert_false(h_exists(stale));                      /* swept at start */
    assert_true(h_exists(reused));                      /* pid alive: left, skipped */
    setenv("SHMIX_TOP_ONCE", "1", 1);
    assert_int_equal(h_run(none, out, sizeof out, err, sizeof err, 10), 0);
    unsetenv("SHMIX_TOP_ONCE");
    assert_non_null(strstr(out, "busy40"));
    unlink(reused);
    kill(live.pid, SIGINT);
    assert_int_equal(h_finish(&live, NULL, 0, NULL, 0, 30, NULL), 0);
}

/* Where /dev/shm cannot be written (a read-only mount) or is full (a 64 KiB
 * one, smaller than the meters), each in a mount namespace of its own, the
 * engine still plays and meters; only `shmix top` cannot see it. A sparse
 * object on the full one would have mapped and then crashed the engine
 * with SIGBUS at the first write. */
static void test_plays_without_dev_shm(void **state)
{
    (void)state;
    static const char *const mounts[] = {"-o ro", "-o size=64k"};
    for (int i = 0; i < 2; i++) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd,
                 "mount -t tmpfs %s tmpfs /dev/shm && exec %s play %s --null --duration 1.5 "
                 "--stats - --stats-interval 1",
                 mounts[i], SHMIX_BIN, h_path("m.yaml"));
        const char *argv[] = {"/usr/bin/unshare", "-m", "/bin/sh", "-c", cmd, NULL};
        /* A noisy VM can stall the first second's 40 % script by more
         * than the margin (a clean-clone run read it off): up to three
         * tries, each printed; broken meters read 0 or nothing each time. */
        double cpu = -1, tol = 5;
        for (int try = 0; try < 3 && !near(cpu, 40, 5.0, tol); try++) {
            struct h_steal mark;
            h_steal_mark(&mark);
            int rc = h_run(argv, out, sizeof out, err, sizeof err, 60);
            tol = 5 + h_steal_pct(&mark) / 2;   /* see test_cpu_accounting_and_fields */
            if (rc != 0)
                fail_msg("/dev/shm mounted %s: exit %d\n%s", mounts[i], rc, err);
            char *v[8];
            int n = h_lines(out, v, 8);
            assert_true(n >= 2);
            assert_string_equal(h_str(v[n - 1], "state"), "stopped");
            cpu = h_num(h_track(v[0], "busy40"), "cpu");
            fprintf(stderr, "/dev/shm mounted %s: busy40 %.1f%%\n", mounts[i], cpu);
        }
        assert_true(near(cpu, 40, 5.0, tol));
    }
}

/* A 32-bit BMP as 0xRRGGBB pixels, top row first. */
static uint32_t *load_bmp(const char *path, int *w, int *h)
{
    char *d = h_slurp(path);
    assert_non_null(d);
    uint32_t off;
    int32_t bw, bh;
    memcpy(&off, d + 10, 4);
    memcpy(&bw, d + 18, 4);
    memcpy(&bh, d + 22, 4);
    *w = bw;
    *h = abs(bh);
    uint32_t *px = malloc(sizeof *px * (size_t)bw * (size_t)abs(bh));
    for (int y = 0; y < *h; y++)
        for (int x = 0; x < bw; x++) {
            const unsigned char *p = (const unsigned char *)d + off
                                     + 4 * ((size_t)(bh > 0 ? *h - 1 - y : y) * bw + x);
            px[y * bw + x] = (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
        }
    free(d);
    return px;
}

/* The overlay's geometry (gui/overlay.c): rows of 34 pixels below a 56-pixel
 * header; a row's CPU bar spans x 170..370 on its first 16 lines. */
#define HEAD 56
#define ROW 34

/* Pixels where green clearly dominates: the state word "running"/"direct",
 * anti-aliased against the dark background. */
static int greenish(const uint32_t *px, int w, int x0, int x1, int y0, int y1)
{
    int n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            int r = (int)(px[y * w + x] >> 16 & 255), g = (int)(px[y * w + x] >> 8 & 255);
            int b = (int)(px[y * w + x] & 255);
            n += g > 90 && g > r + 30 && g > b + 30;
        }
    return n;
}

/* Columns of the row's CPU bar in the bar colour (blue below 50 %). */
static int bar_length(const uint32_t *px, int w, int row)
{
    int y = HEAD + ROW * row + 8, n = 0;
    for (int x = 170; x < 370; x++)
        n += px[y * w + x] == 0x4fa3e0 || px[y * w + x] == 0xe0c050;
    return n;
}

static int xdotool(const char *keys)
{
    const char *argv[] = {"/usr/bin/xdotool", "search", "--name", "shmix - ", "windowfocus",
                          "--sync", "%1", "key", "--delay", "80", keys, NULL};
    return h_run(argv, NULL, 0, NULL, 0, 10);
}

static void test_overlay_window(void **state)
{
    (void)state;
#if !SHMIX_HAS_OVERLAY
    skip();   /* a -DSHMIX_GUI=OFF build: no overlay to test */
#endif
    setenv("DISPLAY", display, 1);
    setenv("SHMIX_GUI_SNAPSHOT", h_path("overlay.bmp"), 1);
    const char *argv[] = {SHMIX_BIN, "play", h_path("m.yaml"), "--null", "--loop", "--gui",
                          "--duration", "20", "--stats", h_path("gui.jsonl"),
                          "--stats-interval", "0.25", NULL};
    struct h_proc p;
    struct h_steal mark;
    h_steal_mark(&mark);
    double t0 = h_now();
    h_start(argv, &p);
    h_sleep(3.8);                                    /* the picture is taken at 3 s */
    /* What the host stole widens the bars' upper margins as it does the
     * cpu's (test_cpu_accounting_and_fields): half a point per percent,
     * and a point is two pixels. */
    int over = (int)h_steal_pct(&mark);
    assert_int_equal(xdotool("Down"), 0);            /* select busy10 */
    assert_int_equal(xdotool("Down"), 0);            /* select busy40 */
    assert_int_equal(xdotool("m"), 0);               /* mute it */
    h_sleep(1.0);
    assert_int_equal(xdotool("q"), 0);               /* quit */
    assert_int_equal(h_finish(&p, out, sizeof out, err, sizeof err, 30, NULL), 0);
    assert_true(h_now() - t0 < 15.0);                /* q ended it, not --duration */
    unsetenv("SHMIX_GUI_SNAPSHOT");
    /* From the picture: three rows, each with its state word drawn in
     * green, and the busier track's CPU bar the longer. */
    int w, h;
    uint32_t *px = load_bmp(h_path("overlay.bmp"), &w, &h);
    assert_int_equal(w, 760);
    assert_true(h >= HEAD + 3 * ROW);
    for (int r = 0; r < 3; r++) {
        int green = greenish(px, w, 0, 160, HEAD + ROW * r + 12, HEAD + ROW * r + 30);
        if (green < 30)
            fail_msg("row %d: no state word drawn (%d green pixels)", r, green);
    }
    int dry = bar_length(px, w, 0), b10 = bar_length(px, w, 1), b40 = bar_length(px, w, 2);
    fprintf(stderr, "bars: dry %d, busy10 %d, busy40 %d pixels\n", dry, b10, b40);
    assert_true(dry <= 2);
    assert_true(b10 >= 14 && b10 <= 30 + over);      /* 10 % of a 200-pixel bar */
    assert_true(b40 >= 70 && b40 <= 90 + over);      /* 40 % */
    assert_true(b40 > b10);
    free(px);
    /* m muted busy40: it went silent while the others played on. */
    char *text = h_slurp(h_path("gui.jsonl"));
    char *v[256];
    int n = h_lines(text, v, 256);
    assert_true(n >= 4);
    const char *last_full = v[n - 2];
    assert_true(h_num(h_track(v[2], "busy40"), "peak_dbfs") < 0);   /* a level, in dBFS */
    assert_true(h_is_null(h_track(last_full, "busy40"), "peak_dbfs"));
    assert_true(h_num(h_track(last_full, "dry"), "peak_dbfs") < 0);
    free(text);
}

/* Without a font that fontconfig can find, --gui says so in one line and
 * shows the terminal table (a fontconfig configuration with no font
 * folders stands in for a machine without fonts). */
static void test_overlay_without_font(void **state)
{
    (void)state;
#if !SHMIX_HAS_OVERLAY
    skip();   /* a -DSHMIX_GUI=OFF build: no overlay to test */
#endif
    char conf[1024];
    snprintf(conf, sizeof conf, "<?xml version=\"1.0\"?>\n<fontconfig><cachedir>%s</cachedir>"
             "</fontconfig>\n", h_path("fc-cache"));
    h_write("nofonts.conf", conf);
    h_write("one.yaml", "tracks:\n  - {name: solo1, file: tone.wav}\n");
    setenv("DISPLAY", display, 1);
    setenv("FONTCONFIG_FILE", h_path("nofonts.conf"), 1);
    const char *argv[] = {SHMIX_BIN, "play", h_path("one.yaml"), "--null", "--duration", "1",
                          "--gui", NULL};
    int rc = h_run(argv, out, sizeof out, err, sizeof err, 30);
    unsetenv("FONTCONFIG_FILE");
    assert_int_equal(rc, 0);
    const char *want = "shmix: no monospace font for the overlay (fontconfig found none); "
                       "showing the meters in the terminal instead\n";
    const char *line = strstr(err, want);
    if (!line || strstr(line + strlen(want), "showing the meters"))
        fail_msg("not one notice \"%s\" in:\n%s", want, err);
    assert_non_null(strstr(err, "TRACK"));
    assert_non_null(strstr(err, "solo1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        H_TEST(test_cpu_accounting_and_fields),
        H_TEST(test_short_stats_intervals_hold_cpu),
        H_TEST(test_terminal_meter),
        H_TEST(test_meter_into_a_pipe),
        H_TEST(test_meter_keeps_script_lines_in_80_columns),
        H_TEST(test_top_attaches_read_only),
        H_TEST(test_top_once_json_and_80_columns),
        H_TEST(test_top_skips_names_left_by_killed_engines),
        H_TEST(test_plays_without_dev_shm),
        H_TEST(test_overlay_without_font),
        H_TEST(test_overlay_window),
        H_TEST(test_meter_takes_keys),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
