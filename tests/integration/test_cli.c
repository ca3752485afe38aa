/* test_cli.c - the command line's contract: one-line errors naming the
 * place, exit statuses, nothing half-written, check starting every script;
 * getopt_long's conventions (--opt=VALUE, --), COMMAND --help, -q. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <signal.h>
#include <sys/stat.h>

#include "harness.h"

static char out[16384], err[16384];

static int setup(void **state)
{
    (void)state;
    h_tmpdir();
    h_write_wav("a.wav", 48000, 1, 4800, h_tone);
    h_write_wav("six.wav", 48000, 6, 480, h_tone);
    return 0;
}

static int shmix(const char *a1, const char *a2, const char *a3, const char *a4)
{
    const char *argv[] = {SHMIX_BIN, a1, a2, a3, a4, NULL};
    return h_run(argv, out, sizeof out, err, sizeof err, 60);
}

/* Exactly one line on stderr, equal to want. */
static void assert_one_line(const char *want)
{
    h_assert_one_line(err, want);
}

static void test_help_and_version(void **state)
{
    (void)state;
    assert_int_equal(shmix("--help", NULL, NULL, NULL), 0);
    assert_non_null(strstr(out, "shmix render SESSION -o OUT"));
    assert_int_equal(shmix("--version", NULL, NULL, NULL), 0);
    assert_int_equal(strncmp(out, "shmix ", 6), 0);
    assert_int_equal(shmix("frobnicate", NULL, NULL, NULL), 2);
    assert_one_line("shmix: unknown command \"frobnicate\" (see shmix --help)");
    assert_int_equal(shmix(NULL, NULL, NULL, NULL), 2);
}

static void test_bad_session_is_one_line_exit_2(void **state)
{
    (void)state;
    h_write("bad.yaml", "tracks:\n  - file: a.wav\n    gain_db: loud\n");
    char want[600];
    assert_int_equal(shmix("check", h_path("bad.yaml"), NULL, NULL), 2);
    snprintf(want, sizeof want,
             "shmix: %s:3:14: tracks[0].gain_db: expected a number, got \"loud\"",
             h_path("bad.yaml"));
    assert_one_line(want);
    assert_int_equal(shmix("render", h_path("bad.yaml"), "-o", h_path("bad.wav")), 2);
    assert_one_line(want);
    assert_false(h_exists(h_path("bad.wav")));
}

static void test_bad_audio_files(void **state)
{
    (void)state;
    char want[600];
    h_write("missing.yaml", "tracks:\n  - {file: a.wav}\n  - {file: nothere.wav}\n");
    assert_int_equal(shmix("render", h_path("missing.yaml"), "-o", h_path("m.wav")), 2);
    snprintf(want, sizeof want, "shmix: %s:3:12: tracks[1].file: \"nothere.wav\" cannot "
             "open: No such file or directory", h_path("missing.yaml"));
    assert_one_line(want);
    assert_false(h_exists(h_path("m.wav")));
    h_write("six.yaml", "tracks:\n  - file: six.wav\n");
    assert_int_equal(shmix("check", h_path("six.yaml"), NULL, NULL), 2);
    snprintf(want, sizeof want, "shmix: %s:2:11: tracks[0].file: \"six.wav\" has 6 "
             "channels; shmix plays mono and stereo files", h_path("six.yaml"));
    assert_one_line(want);
}

static void test_render_usage(void **state)
{
    (void)state;
    h_write("ok.yaml", "tracks:\n  - file: a.wav\n");
    assert_int_equal(shmix("render", h_path("ok.yaml"), NULL, NULL), 2);
    assert_one_line("shmix: render: missing -o OUT.wav|flac|ogg");
    assert_int_equal(shmix("render", h_path("ok.yaml"), "-o", h_path("x.mp3")), 2);
    char want[600];
    snprintf(want, sizeof want, "shmix: %s: unsupported output format (use .wav, .flac or "
             ".ogg)", h_path("x.mp3"));
    assert_one_line(want);
    assert_false(h_exists(h_path("x.mp3")));
    assert_int_equal(shmix("render", h_path("ok.yaml"), "--bogus", "1"), 2);
    assert_one_line("shmix: render: unknown option --bogus (see shmix --help)");
    /* An output folder that does not exist: a run-time failure, no file. */
    assert_int_equal(shmix("render", h_path("ok.yaml"), "-o", h_path("no/dir/x.wav")), 1);
    assert_int_equal(strncmp(err, "shmix: ", 7), 0);
    /* --duration cuts the render exactly. */
    const char *argv[] = {SHMIX_BIN, "render", h_path("ok.yaml"), "-o", h_path("d.wav"),
                          "--duration", "0.05", NULL};
    assert_int_equal(h_run(argv, out, sizeof out, err, sizeof err, 30), 0);
    int64_t frames;
    int ch;
    float *y = h_read(h_path("d.wav"), &frames, &ch, NULL);
    assert_int_equal(frames, 2400);
    free(y);
}

static void test_check_starts_scripts(void **state)
{
    (void)state;
    h_write("good.yaml", "tracks:\n  - {file: a.wav, script: " SHMIX_TEST_SCRIPTS
                         "/double.py}\n");
    assert_int_equal(shmix("check", h_path("good.yaml"), NULL, NULL), 0);
    assert_string_equal(err, "");
    h_write("setup.yaml", "tracks:\n  - file: a.wav\n    params: {x: 7}\n"
                          "    script: " SHMIX_TEST_SCRIPTS "/setup_raise.py\n");
    assert_int_equal(shmix("check", h_path("setup.yaml"), NULL, NULL), 2);
    char want[600];
    snprintf(want, sizeof want, "shmix: %s:4:13: tracks[0].script: " SHMIX_TEST_SCRIPTS
             "/setup_raise.py:5: ValueError: bad parameter: 7 (in setup)", h_path("setup.yaml"));
    /* The traceback goes to stderr first; the verdict is the last line. */
    char *last = err + strlen(err) - 1;
    *last = '\0';
    last = strrchr(err, '\n');
    assert_string_equal(last ? last + 1 : err, want);
    assert_non_null(strstr(err, "Traceback (most recent call last):"));
}

/* --opt=VALUE as well as --opt VALUE; -o=FILE as -o FILE; options before,
 * between and after the operand. */
static void test_option_equals_value(void **state)
{
    (void)state;
    h_write("ok.yaml", "tracks:\n  - file: a.wav\n");
    char o_eq[600], out_eq[600];
    snprintf(o_eq, sizeof o_eq, "-o=%s", h_path("eq.wav"));
    snprintf(out_eq, sizeof out_eq, "--output=%s", h_path("eq2.wav"));
    const char *a1[] = {SHMIX_BIN, "render", h_path("ok.yaml"), o_eq, "--duration=0.05", NULL};
    const char *a2[] = {SHMIX_BIN, "render", "--block=128", out_eq, h_path("ok.yaml"),
                        "--duration", "0.05", NULL};
    const char *const *runs[] = {a1, a2};
    const char *files[] = {"eq.wav", "eq2.wav"};
    for (int i = 0; i < 2; i++) {
        if (h_run(runs[i], out, sizeof out, err, sizeof err, 30) != 0)
            fail_msg("run %d failed:\n%s", i, err);
        int64_t frames;
        int ch;
        float *y = h_read(h_path(files[i]), &frames, &ch, NULL);
        assert_int_equal(frames, 2400);
        free(y);
    }
    /* The value's checks and their messages are the same either way. */
    const char *bad[] = {SHMIX_BIN, "render", h_path("ok.yaml"), o_eq, "--duration=soon", NULL};
    assert_int_equal(h_run(bad, out, sizeof out, err, sizeof err, 30), 2);
    assert_one_line("shmix: render: --duration: expected seconds > 0, got \"soon\"");
    const char *flag[] = {SHMIX_BIN, "play", h_path("ok.yaml"), "--null=yes", NULL};
    assert_int_equal(h_run(flag, out, sizeof out, err, sizeof err, 30), 2);
    assert_one_line("shmix: play: --null takes no value");
    assert_int_equal(shmix("play", h_path("ok.yaml"), "--stats", NULL), 2);
    assert_one_line("shmix: play: --stats needs a value");
    assert_int_equal(shmix("play", h_path("ok.yaml"), "--bogus=1", NULL), 2);
    assert_one_line("shmix: play: unknown option --bogus (see shmix --help)");
}

/* "--" ends the options: a session whose name starts with '-'. */
static void test_double_dash_ends_options(void **state)
{
    (void)state;
    h_write("-odd.yaml", "tracks:\n  - file: a.wav\n");
    char cwd[1024];
    assert_non_null(getcwd(cwd, sizeof cwd));
    char dir[600];
    snprintf(dir, sizeof dir, "%s", h_path(""));
    assert_int_equal(chdir(dir), 0);
    int with = shmix("check", "--", "-odd.yaml", NULL);
    static char with_err[sizeof err];
    snprintf(with_err, sizeof with_err, "%s", err);
    int without = shmix("check", "-odd.yaml", NULL, NULL);
    assert_int_equal(chdir(cwd), 0);
    if (with != 0)
        fail_msg("check -- -odd.yaml: exit %d\n%s", with, with_err);
    assert_int_equal(without, 2);
    assert_one_line("shmix: check: unknown option -o (see shmix --help)");
}

/* COMMAND --help (and -h) prints that command's usage with its options on
 * stdout and exits 0, whatever else is on the line. */
static void test_command_help(void **state)
{
    (void)state;
    static const struct {
        const char *cmd, *want[8];
    } cases[] = {
        {"play", {"usage: shmix play SESSION", "--device N|NAME", "--null", "--block FRAMES",
                  "--start SEC", "--duration SEC", "--loop", "--ahead BLOCKS"}},
        {"play", {"--gui", "--meter", "--stats FILE|-", "--stats-interval SEC", "-q, --quiet",
                  "-h, --help", "--record OUT", NULL}},
        {"fx", {"usage: shmix fx SCRIPT IN -o OUT", "-o, --output FILE", "--param KEY=VALUE",
                "--block FRAMES", "-q, --quiet", "-h, --help", NULL}},
        {"render", {"usage: shmix render SESSION -o OUT", "-o, --output FILE",
                    "--duration SEC", "--block FRAMES", "--stats FILE|-", "-q, --quiet", NULL}},
        {"check", {"usage: shmix check SESSION", "-q, --quiet", NULL}},
        {"devices", {"usage: shmix devices", "input", NULL}},
        {"top", {"usage: shmix top [PID]", "--once", "--json", NULL}},
        {"ctl", {"usage: shmix ctl [--pid PID] ADDRESS [ARG...]", "--pid PID", NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *flags[] = {"--help", "-h"};
        for (int f = 0; f < 2; f++) {
            if (shmix(cases[i].cmd, flags[f], "--no-such-option", NULL) != 0)
                fail_msg("shmix %s %s: not 0\n%s", cases[i].cmd, flags[f], err);
            assert_string_equal(err, "");
            for (int k = 0; k < 8 && cases[i].want[k]; k++)
                if (!strstr(out, cases[i].want[k]))
                    fail_msg("shmix %s %s does not show \"%s\":\n%s", cases[i].cmd,
                             flags[f], cases[i].want[k], out);
        }
    }
    assert_int_equal(shmix("--help", NULL, NULL, NULL), 0);
    assert_non_null(strstr(out, "COMMAND --help"));
}

/* shmix ctl's own mistakes, found before any engine is looked for; then
 * no engine (tests/integration/test_ctl.c talks to one). */
static void test_ctl_usage(void **state)
{
    (void)state;
    assert_int_equal(shmix("ctl", NULL, NULL, NULL), 2);
    assert_one_line("shmix: ctl: missing ADDRESS (see shmix ctl --help)");
    assert_int_equal(shmix("ctl", "--pid", "x", "/shmix/ping"), 2);
    assert_one_line("shmix: ctl: --pid: expected a process id, got \"x\"");
    assert_int_equal(shmix("ctl", "--bogus", "/shmix/ping", NULL), 2);
    assert_one_line("shmix: ctl: unknown option --bogus (see shmix --help)");
    char xdg[600], want[800], *old = getenv("XDG_RUNTIME_DIR");
    old = old ? strdup(old) : NULL;
    snprintf(xdg, sizeof xdg, "%s", h_path("xdg"));
    mkdir(xdg, 0700);
    setenv("XDG_RUNTIME_DIR", xdg, 1);
    assert_int_equal(shmix("ctl", "ping", NULL, NULL), 2);
    assert_one_line("shmix: ctl: the address must start with '/', got \"ping\"");
    assert_int_equal(shmix("ctl", "/shmix/ping", NULL, NULL), 2);
    snprintf(want, sizeof want, "shmix: ctl: no shmix engine is running (no control folder "
             "%s/shmix)", xdg);
    assert_one_line(want);
    /* Options end at ADDRESS: "-6" is an argument, "--" is taken. */
    assert_int_equal(shmix("ctl", "--", "/shmix/track/0/gain_db", "-6"), 2);
    assert_one_line(want);
    if (old)
        setenv("XDG_RUNTIME_DIR", old, 1);
    else
        unsetenv("XDG_RUNTIME_DIR");
    free(old);
}

/* -q silences the notices ("playing on ...", the fallback to the null
 * device), never an error. */
static void test_quiet(void **state)
{
    (void)state;
    h_write("ok.yaml", "tracks:\n  - file: a.wav\n");
    /* No JACK server under this name, and no sound card on these machines:
     * without -q a notice says play falls back to the null device. */
    setenv("JACK_DEFAULT_SERVER", "shmix-no-such-server", 1);
    assert_int_equal(shmix("play", h_path("ok.yaml"), "--duration", "0.3"), 0);
    assert_non_null(strstr(err, "shmix: playing on "));
    static char loud[sizeof err];
    snprintf(loud, sizeof loud, "%s", err);
    const char *quiet[] = {SHMIX_BIN, "play", h_path("ok.yaml"), "--duration", "0.3", "-q",
                           NULL};
    int rc = h_run(quiet, out, sizeof out, err, sizeof err, 60);
    unsetenv("JACK_DEFAULT_SERVER");
    assert_int_equal(rc, 0);
    if (err[0])
        fail_msg("-q, and still on stderr:\n%s\n(without -q:\n%s)", err, loud);
    const char *null_dev[] = {SHMIX_BIN, "play", "--quiet", h_path("ok.yaml"), "--null",
                              "--duration", "0.3", NULL};
    assert_int_equal(h_run(null_dev, out, sizeof out, err, sizeof err, 60), 0);
    assert_string_equal(err, "");
    /* Errors are never silenced. */
    assert_int_equal(shmix("play", "-q", h_path("nothere.yaml"), NULL), 2);
    assert_int_equal(strncmp(err, "shmix: ", 7), 0);
    assert_int_equal(shmix("play", "-q", h_path("ok.yaml"), "--start=-1"), 2);
    assert_one_line("shmix: play: --start: expected seconds >= 0, got \"-1\"");
}

/* Strings may be plain, 'single' or "double" quoted in every key that
 * takes one - and in the keys themselves; on_fault: "mute" is mute. */
static void test_quoted_strings(void **state)
{
    (void)state;
    h_write("quoted.yaml",
            "\"sample_rate\": 48000\n'tracks':\n"
            "  - \"name\": 'single'\n    'file': \"a.wav\"\n"
            "    \"script\": '" SHMIX_TEST_SCRIPTS "/raise.py'\n    'on_fault': \"mute\"\n"
            "  - {name: \"double\", file: 'a.wav', on_fault: 'bypass'}\n");
    const char *argv[] = {SHMIX_BIN, "render", h_path("quoted.yaml"), "-o", h_path("q.wav"),
                          "--stats", "-", NULL};
    /* raise.py never delivers a block: exit 1, but the session loaded. */
    assert_int_equal(h_run(argv, out, sizeof out, err, sizeof err, 60), 1);
    const char *t = h_track(out, "single");
    assert_true(h_num(t, "faulted_blocks") > 0);
    assert_true(h_is_null(t, "peak_dbfs"));          /* muted while faulted */
    assert_false(h_is_null(h_track(out, "double"), "peak_dbfs"));
    /* Where YAML itself makes a quoted scalar a string, it is one. */
    h_write("qbool.yaml", "tracks:\n  - {file: a.wav, mute: \"true\"}\n");
    assert_int_equal(shmix("check", h_path("qbool.yaml"), NULL, NULL), 2);
    assert_non_null(strstr(err, "tracks[0].mute: expected true or false, got \"true\""));
}

/* params reach Python as a YAML reader understands them (checked inside
 * the script, value by value and type by type); a key that is not a string
 * or a number too large to carry is a load error at FILE:LINE:COL. */
static void test_params_as_yaml_reads_them(void **state)
{
    (void)state;
    h_write("params.yaml",
            "tracks:\n  - file: a.wav\n    script: " SHMIX_TEST_SCRIPTS "/param_types.py\n"
            "    params:\n"
            "      half: .5\n      plus: +2\n      exp: 1.5e+3\n      octal_looking: 007\n"
            "      nothing: ~\n      quoted_num: \"007\"\n      quoted_bool: 'true'\n"
            "      yes: true\n      hex: 0x1F\n      oct: 0o17\n      neg_inf: -.inf\n"
            "      big: 12345678901234567890123\n      neg: -42\n      float_dot: 1.\n"
            "      word: yes\n      list: [1, 2.0, x, null]\n"
            "      nested: {a: {b: [True, FALSE]}, c: d}\n");
    if (shmix("check", h_path("params.yaml"), NULL, NULL) != 0)
        fail_msg("the script saw other params:\n%s", err);
    h_write("key.yaml", "tracks:\n  - file: a.wav\n    params: {1: one}\n");
    assert_int_equal(shmix("check", h_path("key.yaml"), NULL, NULL), 2);
    char want[600];
    snprintf(want, sizeof want, "shmix: %s:3:14: tracks[0].params: keys must be strings, "
             "got \"1\"", h_path("key.yaml"));
    assert_one_line(want);
    h_write("huge.yaml", "tracks:\n  - file: a.wav\n    params: {x: 0x1FFFFFFFFFFFFFFFFFFF}\n");
    assert_int_equal(shmix("check", h_path("huge.yaml"), NULL, NULL), 2);
    assert_non_null(strstr(err, "huge.yaml:3:17: tracks[0].params: 0x1FFFFFFFFFFFFFFFFFFF: "
                                "not a number shmix can carry"));
}

/* check names the broken script by its path. */
static void test_check_names_the_script(void **state)
{
    (void)state;
    h_write("np.yaml", "tracks:\n  - {file: a.wav, script: " SHMIX_TEST_SCRIPTS
                       "/no_process.py}\n");
    assert_int_equal(shmix("check", h_path("np.yaml"), NULL, NULL), 2);
    char want[600];
    snprintf(want, sizeof want, "shmix: %s:2:27: tracks[0].script: " SHMIX_TEST_SCRIPTS
             "/no_process.py: TypeError: the script defines no process(block) function",
             h_path("np.yaml"));
    char *last = err + strlen(err) - 1;   /* the traceback first, the verdict last */
    *last = '\0';
    last = strrchr(err, '\n');
    assert_string_equal(last ? last + 1 : err, want);
}

/* The text of /proc/PID/FILE with NULs as spaces, in a static buffer. */
static const char *proc_text(int pid, const char *file)
{
    static char buf[512];
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    while (n > 0 && (buf[n - 1] == '\0' || buf[n - 1] == '\n'))
        n--;
    for (size_t i = 0; i < n; i++)
        buf[i] = buf[i] ? buf[i] : ' ';
    buf[n] = '\0';
    return buf;
}

/* Workers are named after their tracks in ps and top: comm
 * "shmix:drums", command line "shmix-worker drums" - cloned from the
 * zygote and started cold alike. */
static void test_worker_names(void **state)
{
    (void)state;
    h_write("names.yaml", "tracks:\n  - {name: drums, file: a.wav, script: " SHMIX_TEST_SCRIPTS
                          "/double.py}\n");
    for (int cold = 0; cold < 2; cold++) {
        if (cold)
            setenv("SHMIX_COLD_START", "1", 1);
        const char *argv[] = {SHMIX_BIN, "play", h_path("names.yaml"), "--null", "--loop",
                              "--duration", "3", "--stats", h_path("names.jsonl"),
                              "--stats-interval", "0.2", NULL};
        struct h_proc p;
        h_start(argv, &p);
        unsetenv("SHMIX_COLD_START");
        h_sleep(1.2);
        char *text = h_slurp(h_path("names.jsonl"));
        assert_non_null(text);
        char *v[64];
        int n = h_lines(text, v, 64);
        int pid = (int)h_num(h_track(v[n - 1], "drums"), "pid");
        free(text);
        assert_string_equal(proc_text(pid, "comm"), "shmix:drums");
        assert_string_equal(proc_text(pid, "cmdline"), "shmix-worker drums");
        kill(p.pid, SIGINT);
        assert_int_equal(h_finish(&p, NULL, 0, NULL, 0, 30, NULL), 0);
    }
}

/* How many times needle occurs in text. */
static int count_of(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* play --gui where there can be no overlay - no display, or a build without
 * it (-DSHMIX_GUI=OFF) - says why in one line and shows the terminal table
 * instead, and plays on. */
static void test_gui_without_overlay_shows_terminal_meters(void **state)
{
    (void)state;
    h_write("g.yaml", "tracks:\n  - file: a.wav\n");
    unsetenv("DISPLAY");
    unsetenv("WAYLAND_DISPLAY");
    const char *argv[] = {SHMIX_BIN, "play", h_path("g.yaml"), "--null", "--duration", "0.5",
                          "--gui", NULL};
    assert_int_equal(h_run(argv, out, sizeof out, err, sizeof err, 30), 0);
    static const char tail[] = "; showing the meters in the terminal instead";
    assert_int_equal(count_of(err, tail), 1);
#if SHMIX_HAS_OVERLAY
    const char *why = "shmix: no display for the overlay (";
#else
    const char *why = "shmix: this shmix was built without the overlay (SHMIX_GUI=OFF)";
#endif
    const char *line = strstr(err, why);
    if (!line || !strstr(line, tail) || memchr(line, '\n', (size_t)(strstr(line, tail) - line)))
        fail_msg("no one-line notice starting \"%s\" in:\n%s", why, err);
    assert_non_null(strstr(err, "TRACK"));       /* the terminal table */
}

/* shmix top reads a running engine's meters (in every build: it needs no
 * overlay). */
static void test_top_reads_a_running_engine(void **state)
{
    (void)state;
    h_write("t.yaml", "tracks:\n  - {name: toptrack, file: a.wav}\n");
    const char *argv[] = {SHMIX_BIN, "play", h_path("t.yaml"), "--null", "--loop",
                          "--duration", "3", NULL};
    struct h_proc p;
    h_start(argv, &p);
    h_sleep(1.0);
    char pid[16];
    snprintf(pid, sizeof pid, "%d", p.pid);
    setenv("SHMIX_TOP_ONCE", "1", 1);
    int rc = shmix("top", pid, NULL, NULL);
    unsetenv("SHMIX_TOP_ONCE");
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "toptrack"));
    assert_int_equal(h_finish(&p, NULL, 0, NULL, 0, 30, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        H_TEST(test_help_and_version),
        H_TEST(test_bad_session_is_one_line_exit_2),
        H_TEST(test_bad_audio_files),
        H_TEST(test_render_usage),
        H_TEST(test_check_starts_scripts),
        H_TEST(test_option_equals_value),
        H_TEST(test_double_dash_ends_options),
        H_TEST(test_command_help),
        H_TEST(test_ctl_usage),
        H_TEST(test_quiet),
        H_TEST(test_gui_without_overlay_shows_terminal_meters),
        H_TEST(test_top_reads_a_running_engine),
        H_TEST(test_quoted_strings),
        H_TEST(test_params_as_yaml_reads_them),
        H_TEST(test_check_names_the_script),
        H_TEST(test_worker_names),
    };
    return cmocka_run_group_tests(tests, setup, h_teardown_tmpdir);
}
