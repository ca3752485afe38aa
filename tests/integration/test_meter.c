/* test_meter.c - the meters: CPU accounting against a script of known cost,
 * every stats field, the terminal table, `shmix top` on a running engine,
 * and the overlay in a real window under Xvfb, driven with real key
 * presses (xdotool). */
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

static void sleep_s(double s)
{
    struct timespec t = {(time_t)s, (long)((s - (long)s) * 1e9)};
    nanosleep(&t, NULL);
}

static double tone(int64_t i, int c)
{
    return 0.5 * sin(2 * M_PI * (c ? 330 : 220) * (double)i / 48000);
}

static int setup(void **state)
{
    (void)state;
    h_tmpdir();
    h_write_wav("tone.wav", 48000, 2, 4 * 48000, tone);
    h_write("m.yaml", "sample_rate: 48000\nblock_size: 256\ntracks:\n"
                      "  - {name: dry, file: tone.wav, gain_db: -6}\n"
                      "  - {name: burn, file: tone.wav, script: " S "/burn.py,\n"
                      "     params: {fraction: 0.25}}\n"
                      "  - {name: dbl, file: tone.wav, gain_db: -12, script: " S "/double.py}\n");
    /* A private X server for the overlay test: -displayfd picks a free one. */
    snprintf(display, sizeof display, ":%d", 90 + (int)(getpid() % 50));
    const char *argv[] = {"/usr/bin/Xvfb", display, "-screen", "0", "1024x768x24", "-nolisten",
                          "tcp", NULL};
    h_start(argv, &xvfb);
    sleep_s(1.0);
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

static void test_cpu_accounting_and_fields(void **state)
{
    (void)state;
    const char *argv[] = {SHMIX_BIN, "play", h_path("m.yaml"), "--null", "--duration", "3",
                          "--stats", "-", "--stats-interval", "1", NULL};
    assert_int_equal(h_run(argv, out, sizeof out, err, sizeof err, 60), 0);
    char *v[16];
    int n = h_lines(out, v, 16);
    assert_true(n >= 3);
    const char *line = v[n - 2];   /* the last full interval */
    static const char *const top[] = {"time", "position", "sample_rate", "block_size",
                                      "dsp_load", "xruns", "clips"};
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
        h_num(line, top[i]);   /* present, a number */
    assert_non_null(strstr(line, "\"state\": \"playing\""));
    assert_true(h_num(line, "master_peak_dbfs") > -12 && h_num(line, "master_peak_dbfs") < 6);
    /* A script busy for a quarter of each block shows about 25 %. */
    const char *b = h_track(line, "burn");
    double cpu = h_num(b, "cpu"), busy = h_num(b, "busy_us");
    fprintf(stderr, "burn: cpu %.1f%%, busy %.0f us\n", cpu, busy);
    assert_true(cpu > 20 && cpu < 35);
    assert_true(h_num(b, "cpu_peak") >= cpu);
    assert_true(busy > 1000 && busy < 2000);           /* 25 % of 5333 us */
    assert_true(h_num(b, "wake_us") > 0);
    assert_true(h_num(line, "dsp_load") >= cpu);
    assert_true(h_num(b, "pid") > 0);
    /* The cheap ones are cheap; a track without a script has no worker times. */
    const char *d = h_track(line, "dbl");
    assert_true(h_num(d, "cpu") < 10 && h_num(d, "busy_us") < 1000);
    const char *dry = h_track(line, "dry");
    assert_true(h_num(dry, "wake_us") == 0 && h_num(dry, "busy_us") == 0);
    assert_non_null(strstr(dry, "\"state\": \"direct\""));
    assert_non_null(strstr(dry, "\"pid\": null"));
    /* Levels: -6 dB of a 0.5 sine balanced at centre is about -12 dBFS. */
    assert_true(fabs(h_num(dry, "peak_dbfs") - (20 * log10(0.5) - 6)) < 0.5);
    assert_non_null(strstr(dry, "\"last_error\": null"));
}

static void test_terminal_meter(void **state)
{
    (void)state;
    const char *argv[] = {SHMIX_BIN, "play", h_path("m.yaml"), "--null", "--duration", "1.5",
                          "--meter", NULL};
    assert_int_equal(h_run(argv, out, sizeof out, err, sizeof err, 60), 0);
    int redraws = 0;
    for (const char *p = err; (p = strstr(p, "\x1b[H")) != NULL; p += 3)
        redraws++;
    assert_true(redraws >= 8);                      /* in place, ~10 times a second */
    assert_non_null(strstr(err, "TRACK"));
    assert_non_null(strstr(err, "burn"));
    assert_non_null(strstr(err, "\x1b[?25h"));       /* cursor back at the end */
}

static void test_top_attaches_read_only(void **state)
{
    (void)state;
    const char *argv[] = {SHMIX_BIN, "play", h_path("m.yaml"), "--null", "--duration", "3", NULL};
    struct h_proc p;
    h_start(argv, &p);
    sleep_s(1.5);
    char pid[16];
    snprintf(pid, sizeof pid, "%d", p.pid);
    setenv("SHMIX_TOP_ONCE", "1", 1);
    const char *top[] = {SHMIX_BIN, "top", pid, NULL};
    assert_int_equal(h_run(top, out, sizeof out, err, sizeof err, 10), 0);
    assert_non_null(strstr(out, "burn"));
    assert_non_null(strstr(out, "playing"));
    char shm[64];
    snprintf(shm, sizeof shm, "/dev/shm/shmix-%d", p.pid);
    assert_true(h_exists(shm));
    const char *any[] = {SHMIX_BIN, "top", NULL};    /* the only one running */
    assert_int_equal(h_run(any, out, sizeof out, err, sizeof err, 10), 0);
    assert_non_null(strstr(out, "dbl"));
    assert_int_equal(h_finish(&p, NULL, 0, NULL, 0, 30, NULL), 0);
    assert_false(h_exists(shm));                     /* removed at exit */
    assert_int_equal(h_run(top, out, sizeof out, err, sizeof err, 10), 1);
    assert_non_null(strstr(err, "shmix: top: no shmix engine with pid"));
    unsetenv("SHMIX_TOP_ONCE");
}

/* Counts pixels of one colour in a 32-bit BMP. */
static long count_rgb(const char *path, uint32_t rgb, int *w, int *h)
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
    long n = 0;
    const unsigned char *px = (const unsigned char *)d + off;
    for (long i = 0; i < (long)bw * abs(bh); i++)
        n += ((uint32_t)px[4 * i + 2] << 16 | (uint32_t)px[4 * i + 1] << 8 | px[4 * i]) == rgb;
    free(d);
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
    setenv("DISPLAY", display, 1);
    setenv("SHMIX_GUI_SNAPSHOT", h_path("overlay.bmp"), 1);
    const char *argv[] = {SHMIX_BIN, "play", h_path("m.yaml"), "--null", "--loop", "--gui",
                          "--duration", "20", "--stats", h_path("gui.jsonl"),
                          "--stats-interval", "0.25", NULL};
    struct h_proc p;
    double t0 = h_now();
    h_start(argv, &p);
    sleep_s(3.8);                                    /* the picture is taken at 3 s */
    assert_int_equal(xdotool("Down"), 0);            /* select "burn" */
    assert_int_equal(xdotool("Down"), 0);            /* select "dbl" */
    assert_int_equal(xdotool("m"), 0);               /* mute it */
    sleep_s(1.0);
    assert_int_equal(xdotool("q"), 0);               /* quit */
    assert_int_equal(h_finish(&p, out, sizeof out, err, sizeof err, 30, NULL), 0);
    assert_true(h_now() - t0 < 15.0);                /* q ended it, not --duration */
    unsetenv("SHMIX_GUI_SNAPSHOT");
    /* The window really drew the meters: CPU bars and state words. */
    int w, h;
    long bars = count_rgb(h_path("overlay.bmp"), 0x4fa3e0, &w, &h);
    long ok = count_rgb(h_path("overlay.bmp"), 0x6fcf6f, &w, &h);
    assert_int_equal(w, 760);
    assert_true(h > 100);
    assert_true(bars > 20);
    assert_true(ok > 200);
    /* m muted dbl: it went silent while the others played on. */
    char *text = h_slurp(h_path("gui.jsonl"));
    char *v[256];
    int n = h_lines(text, v, 256);
    assert_true(n >= 4);
    const char *last_full = v[n - 2];
    assert_non_null(strstr(h_track(v[2], "dbl"), "\"peak_dbfs\": -"));
    assert_non_null(strstr(h_track(last_full, "dbl"), "\"peak_dbfs\": null"));
    assert_non_null(strstr(h_track(last_full, "dry"), "\"peak_dbfs\": -"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_accounting_and_fields),
        cmocka_unit_test(test_terminal_meter),
        cmocka_unit_test(test_top_attaches_read_only),
        cmocka_unit_test(test_overlay_window),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
