/* test_holes.c - the holes an unlucky or hostile session or script found,
 * each through the real binaries: a virtualenv on PATH, a render whose
 * scripts never ran, long non-ASCII names, a slow setup that crashes (and
 * signals in that state), late blocks counted once, a stopped engine's
 * meters, a killed zygote, and YAML alias bombs. (A script that switches
 * off the real-time guard or writes into other channels through /proc is
 * in test_faults.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define RATE 48000
#define S SHMIX_TEST_SCRIPTS

static char out[1 << 18], err[1 << 17];

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

/* True when s is valid UTF-8 (RFC 3629: no overlong forms, surrogates or
 * code points past U+10FFFF). */
static int valid_utf8(const unsigned char *s)
{
    while (*s) {
        unsigned c = *s, len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2
                             : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        if (!len)
            return 0;
        for (unsigned i = 1; i < len; i++)
            if ((s[i] & 0xc0) != 0x80)
                return 0;
        if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f)
            || (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
            return 0;
        s += len;
    }
    return 1;
}

/* Renders yaml to wav with a stats line on `out`; x1, x2: more options
 * (or NULL). */
static int render(const char *yaml, const char *wav, const char *x1, const char *x2)
{
    const char *argv[] = {SHMIX_BIN, "render", h_path(yaml), "-o", h_path(wav),
                          "--stats", "-", x1, x2, NULL};
    return h_run(argv, out, sizeof out, err, sizeof err, 120);
}

/* 1. A virtual environment first on PATH (and VIRTUAL_ENV, PYTHONHOME
 * pointing elsewhere) does not change the Python the workers embed. */
static void test_venv_on_path(void **state)
{
    (void)state;
    const char *venv[] = {"/usr/bin/python3", "-m", "venv", "--without-pip", h_path("v"), NULL};
    assert_int_equal(h_run(venv, out, sizeof out, err, sizeof err, 120), 0);
    h_write("venv.yaml", "tracks:\n  - {name: x2, file: tone.wav, script: " S "/double.py}\n");
    char path[8192];
    snprintf(path, sizeof path, "%s/bin:%s", h_path("v"), getenv("PATH"));
    char *old = strdup(getenv("PATH"));
    setenv("PATH", path, 1);
    setenv("VIRTUAL_ENV", h_path("v"), 1);
    setenv("PYTHONHOME", "/nonexistent", 1);
    int rc = render("venv.yaml", "venv.wav", NULL, NULL);
    setenv("PATH", old, 1);
    unsetenv("VIRTUAL_ENV");
    unsetenv("PYTHONHOME");
    free(old);
    if (rc != 0)
        fail_msg("render with a venv on PATH: %d\n%s", rc, err);
    const char *t = h_track(out, "x2");
    assert_string_equal(h_str(t, "state"), "running");
    assert_int_equal((int)h_num(t, "faulted_blocks"), 0);
    assert_int_equal((int)h_num(t, "restarts"), 0);
}

/* 2. A render whose script never ran writes the file but exits 1, naming
 * the track and the reason; a crash and a recovery keep 0, but not with
 * --strict. */
static void test_render_exit_status(void **state)
{
    (void)state;
    h_write("never.yaml", "tracks:\n  - {name: fine, file: tone.wav, script: " S "/double.py}\n"
                          "  - {name: broken, file: tone.wav, script: " S "/no_process.py}\n");
    assert_int_equal(render("never.yaml", "never.wav", NULL, NULL), 1);
    assert_true(h_exists(h_path("never.wav")));
    assert_non_null(strstr(err, "shmix: broken: its script never processed a block ("));
    assert_non_null(strstr(err, "defines no process"));
    assert_null(strstr(err, "shmix: fine:"));
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "tracks:\n  - {name: crashy, file: tone.wav, script: " S "/fault.py, "
             "params: {kind: segfault, after: 20, once: %s}}\n", h_path("crash-marker"));
    h_write("transient.yaml", yaml);
    unlink(h_path("crash-marker"));
    if (render("transient.yaml", "t.wav", NULL, NULL) != 0)
        fail_msg("a transient crash failed the render:\n%s", err);
    assert_int_equal((int)h_num(h_track(out, "crashy"), "restarts"), 1);
    unlink(h_path("crash-marker"));
    assert_int_equal(render("transient.yaml", "t.wav", "--strict", NULL), 1);
    assert_non_null(strstr(err, "shmix: crashy: "));
    assert_non_null(strstr(err, "blocks faulted"));
}

/* 3. A long file name of two-byte characters: the default name is cut
 * between characters, the script runs, and every stats line is valid
 * UTF-8 - also when a script raises with a long non-ASCII message. */
static void test_long_non_ascii_names(void **state)
{
    (void)state;
    char name[256] = "";
    for (int i = 0; i < 40; i++)
        strcat(name, "é");   /* 80 bytes: cut at 63 falls inside one */
    char file[300];
    snprintf(file, sizeof file, "%s.wav", name);
    h_write_sines(file, RATE, 2, RATE / 2, 0.3);
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "tracks:\n  - {file: \"%s\", script: " S "/double.py, params: {t: \"%s\"}}\n"
             "  - {name: loud, file: tone.wav, script: " S "/raise_long.py}\n", file, name);
    h_write("utf8.yaml", yaml);
    if (render("utf8.yaml", "utf8.wav", NULL, NULL) != 1)   /* raise_long never delivers */
        fail_msg("render:\n%s", err);
    assert_true(valid_utf8((const unsigned char *)out));
    const char *t = h_track_at(out, 0);
    const char *n = h_str(t, "name");
    assert_true(strlen(n) <= 63 && strlen(n) >= 62);
    assert_int_equal(strncmp(n, name, strlen(n)), 0);
    assert_string_equal(h_str(t, "state"), "running");
    assert_int_equal((int)h_num(t, "faulted_blocks"), 0);
    const char *e = h_str(h_track(out, "loud"), "last_error");
    assert_true(strlen(e) <= 255 && strlen(e) > 200);
    assert_non_null(strstr(e, "ValueError: éé"));
}

static const char slow_session[] =
    "supervisor: {max_restarts: 5, window: 10}\n"
    "tracks:\n  - {name: healthy, file: tone.wav, script: " S "/double.py}\n"
    "  - {name: victim, file: tone.wav, script: " S "/slow_crash.py, on_fault: bypass}\n";

/* No temporary file of out.wav is left in the scratch folder. */
static void assert_no_temp(void)
{
    DIR *d = opendir(h_path("."));   /* h_tmpdir() would make a new one */
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        if (strstr(de->d_name, "slow.wav"))
            fail_msg("left behind: %s", de->d_name);
    if (d)
        closedir(d);
}

/* 4a. A setup that sleeps 2.2 s and then aborts: render ends (the failed
 * starts count), and SIGINT, SIGTERM and SIGHUP end it within 1 s with no
 * temporary file left - SIGKILL neither. */
static void test_slow_crashing_setup_render(void **state)
{
    (void)state;
    h_write("slow.yaml", slow_session);
    double t0 = h_now();
    assert_int_equal(render("slow.yaml", "done.wav", "--duration", "1"), 1);
    fprintf(stderr, "slow crashing setup: render ended in %.1f s\n", h_now() - t0);
    assert_non_null(strstr(err, "starts in a row failed"));
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGKILL};
    for (int i = 0; i < 4; i++) {
        const char *argv[] = {SHMIX_BIN, "render", h_path("slow.yaml"), "-o",
                              h_path("slow.wav"), NULL};
        struct h_proc p;
        h_start(argv, &p);
        h_sleep(3.0);   /* past the first failed start: the victim is restarting */
        double k = h_now();
        kill(p.pid, sigs[i]);
        int rc = h_finish(&p, NULL, 0, err, sizeof err, 10, NULL);
        double took = h_now() - k;
        fprintf(stderr, "render, signal %d: exit %d after %.2f s\n", sigs[i], rc, took);
        assert_true(took < 1.0);
        assert_int_equal(rc, sigs[i] == SIGKILL ? 128 + SIGKILL : 1);
        assert_false(h_exists(h_path("slow.wav")));
        assert_no_temp();
    }
}

/* 4a'. A signal while the workers are still starting (here the zygote,
 * whose preload module sleeps 3 s) ends the render there with one line:
 * no file, no temporary, and no report of the starts it cut short as
 * failed starts to restart. */
static void test_signal_while_render_starts(void **state)
{
    (void)state;
    h_write("lib/sleepy.py", "import time\ntime.sleep(3)\n");
    h_write("sleepy.yaml", "python: {path: [lib], preload: [sleepy]}\n"
                           "tracks:\n  - {name: a, file: tone.wav, script: " S "/double.py}\n"
                           "  - {name: b, file: tone.wav, script: " S "/double.py}\n");
    const char *argv[] = {SHMIX_BIN, "render", h_path("sleepy.yaml"), "-o", h_path("slow.wav"),
                          NULL};
    struct h_proc p;
    h_start(argv, &p);
    h_sleep(1.0);
    double k = h_now();
    kill(p.pid, SIGINT);
    int rc = h_finish(&p, NULL, 0, err, sizeof err, 10, NULL);
    fprintf(stderr, "render, SIGINT while starting: exit %d after %.2f s\n", rc, h_now() - k);
    assert_int_equal(rc, 1);
    char want[1024];
    snprintf(want, sizeof want, "shmix: interrupted; %s not written", h_path("slow.wav"));
    h_assert_one_line(err, want);
    assert_false(h_exists(h_path("slow.wav")));
    assert_no_temp();
}

/* 4b. The same in play: the session starts without waiting out the
 * victim's restarts, the healthy track's first block is on time, the
 * victim plays dry (bypass) with its blocks counted as faulted, and the
 * three signals end it within 1 s in that state. */
static void test_slow_crashing_setup_play(void **state)
{
    (void)state;
    h_write("slow.yaml", slow_session);
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) {
        char stats[32];
        snprintf(stats, sizeof stats, "slow-%d.jsonl", i);
        const char *argv[] = {SHMIX_BIN, "play", h_path("slow.yaml"), "--null", "--loop",
                              "--duration", "30", "--stats", h_path(stats),
                              "--stats-interval", "0.25", NULL};
        struct h_proc p;
        double t0 = h_now();
        h_start(argv, &p);
        h_sleep(i == 0 ? 6.0 : 3.5);
        double k = h_now();
        kill(p.pid, sigs[i]);
        int rc = h_finish(&p, NULL, 0, err, sizeof err, 10, NULL);
        double took = h_now() - k;
        fprintf(stderr, "play, signal %d after %.1f s: exit %d after %.2f s\n", sigs[i],
                k - t0, rc, took);
        assert_int_equal(rc, 0);
        assert_true(took < 1.0);
    }
    /* The first run (6 s): stats from its start. */
    char *text = h_slurp(h_path("slow-0.jsonl"));
    char *v[256];
    int n = h_lines(text, v, 256);
    assert_true(n >= 4);
    const char *last = v[n - 1];
    /* The session began within about the first failed start (2.2 s), not
     * after the restarts: at least 2.5 s of the 6 s were played ("time"
     * counts from the start of playback; the position loops). */
    assert_true(h_num(last, "time") >= 2.5);
    const char *h = h_track(last, "healthy");
    assert_true(h_num(h, "late_blocks") <= h_late_allowed(last));
    assert_int_equal((int)h_num(h, "faulted_blocks"), 0);
    const char *t = h_track(v[n - 2], "victim");
    fprintf(stderr, "victim: %s\n", t);
    assert_true(h_num(t, "faulted_blocks") > 100);
    /* Each block it could not play is faulted, in time; a loaded machine may
     * make a few late, the old way made hundreds. */
    assert_true(h_num(t, "late_blocks") <= 8 + h_late_allowed(last));
    assert_false(h_is_null(t, "peak_dbfs"));   /* dry, not silent */
    free(text);
}

/* 5. Overload (32 tracks at 16 frames with a render-ahead of 2): no block
 * is counted late twice, so no track has more late blocks than blocks
 * played. */
static void test_late_counted_once(void **state)
{
    (void)state;
    char yaml[8192];
    int len = snprintf(yaml, sizeof yaml, "block_size: 16\ntracks:\n");
    for (int i = 0; i < 32; i++)
        len += snprintf(yaml + len, sizeof yaml - (size_t)len,
                        "  - {name: t%d, file: tone.wav, script: " S "/double.py}\n", i);
    h_write("over.yaml", yaml);
    const char *argv[] = {SHMIX_BIN, "play", h_path("over.yaml"), "--null", "--block", "16",
                          "--ahead", "2", "--duration", "2", "--stats", "-", NULL};
    if (h_run(argv, out, sizeof out, err, sizeof err, 60) != 0)
        fail_msg("play failed:\n%s", err);
    char *v[64];
    int n = h_lines(out, v, 64);
    const char *last = v[n - 1];
    double played = h_num(last, "position") * RATE / 16 + 1;
    double worst = 0;
    for (int i = 0; i < h_ntracks(last); i++) {
        double late = h_num(h_track_at(last, i), "late_blocks");
        worst = late > worst ? late : worst;
        if (late > played)
            fail_msg("track %d: %.0f late blocks of %.0f played", i, late, played);
    }
    fprintf(stderr, "overload: at most %.0f late blocks of %.0f played\n", worst, played);
}

/* The pid of engine's child whose comm is `comm`, or 0. */
static int child_named(int engine, const char *comm)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    int found = 0;
    while (d && !found && (de = readdir(d)) != NULL) {
        int pid = atoi(de->d_name), ppid = 0;
        char path[64], c[64] = "";
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        FILE *f = pid > 0 ? fopen(path, "r") : NULL;
        if (f && fscanf(f, "%*d (%63[^)]) %*c %d", c, &ppid) == 2 && ppid == engine
            && !strcmp(c, comm))
            found = pid;
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return found;
}

/* 6. A stopped engine's meters read as stale in `shmix top`, and a killed
 * zygote is reaped, not left a zombie. */
static void test_stale_meters_and_killed_zygote(void **state)
{
    (void)state;
    h_write("top.yaml", "tracks:\n  - {name: x2, file: tone.wav, script: " S "/double.py}\n");
    const char *argv[] = {SHMIX_BIN, "play", h_path("top.yaml"), "--null", "--loop",
                          "--duration", "8", NULL};
    struct h_proc p;
    h_start(argv, &p);
    h_sleep(1.5);
    int zygote = child_named(p.pid, "shmix-zygote");
    assert_true(zygote > 0);
    kill(zygote, SIGKILL);
    h_sleep(0.5);
    assert_false(h_alive(zygote));   /* reaped: not even a zombie */
    char pid[16];
    snprintf(pid, sizeof pid, "%d", p.pid);
    const char *top[] = {SHMIX_BIN, "top", pid, NULL};
    setenv("SHMIX_TOP_ONCE", "1", 1);
    assert_int_equal(h_run(top, out, sizeof out, err, sizeof err, 10), 0);
    assert_non_null(strstr(out, "playing"));
    kill(p.pid, SIGSTOP);
    h_sleep(2.5);
    assert_int_equal(h_run(top, out, sizeof out, err, sizeof err, 10), 0);
    kill(p.pid, SIGCONT);
    unsetenv("SHMIX_TOP_ONCE");
    assert_non_null(strstr(out, "stale"));
    assert_null(strstr(out, "playing"));
    kill(p.pid, SIGINT);
    assert_int_equal(h_finish(&p, NULL, 0, NULL, 0, 10, NULL), 0);
}

/* 9. "Billion laughs": a few hundred bytes of nested aliases in params
 * are rejected at once, in bounded memory. */
static void test_alias_bomb(void **state)
{
    (void)state;
    h_write("bomb.yaml",
            "tracks:\n  - file: tone.wav\n    params:\n"
            "      a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            "      b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            "      c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
            "      d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
            "      e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
            "      f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
            "      g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
            "      h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
            "      i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n");
    /* Bounded in time and so in memory (before the fix: 16 s and 2 GB). No
     * ulimit -v here: the sanitizer build needs terabytes of address space. */
    const char *argv[] = {SHMIX_BIN, "check", h_path("bomb.yaml"), NULL};
    long maxrss_kb = 0;
    double t0 = h_now();
    struct h_proc p;
    h_start(argv, &p);
    assert_int_equal(h_finish(&p, out, sizeof out, err, sizeof err, 20, &maxrss_kb), 2);
    assert_true(h_now() - t0 < 2.0);
    assert_true(maxrss_kb < 200 * 1024);
    char want[1024];
    snprintf(want, sizeof want, "shmix: %s:4:7: tracks[0].params: longer than 8192 bytes as JSON",
             h_path("bomb.yaml"));
    h_assert_one_line(err, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        H_TEST(test_venv_on_path),
        H_TEST(test_render_exit_status),
        H_TEST(test_long_non_ascii_names),
        H_TEST(test_slow_crashing_setup_render),
        H_TEST(test_signal_while_render_starts),
        H_TEST(test_slow_crashing_setup_play),
        H_TEST(test_late_counted_once),
        H_TEST(test_stale_meters_and_killed_zygote),
        H_TEST(test_alias_bomb),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
