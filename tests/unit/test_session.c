/* test_session.c - session parsing: good files, defaults, and a table of
 * bad inputs with their exact messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "session.h"

#ifndef SHMIX_PYTHON_VERSION
#define SHMIX_PYTHON_VERSION "3.11"
#endif

static char dir[256];
static char path[300];

static void write_file(const char *name, const char *text)
{
    char p[400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* mkdir -p of a folder under dir. */
static void make_dirs(const char *name)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    for (char *s = p + strlen(dir) + 1; (s = strchr(s, '/')) != NULL; s++) {
        *s = '\0';
        mkdir(p, 0755);
        *s = '/';
    }
    mkdir(p, 0755);
}

/* A folder that looks like a venv: pyvenv.cfg with cfg, and site-packages
 * for the build's Python unless bare. */
static void fake_venv(const char *name, const char *cfg, int bare)
{
    char p[300];
    make_dirs(name);
    snprintf(p, sizeof p, "%s/pyvenv.cfg", name);
    write_file(p, cfg);
    snprintf(p, sizeof p, "%s/lib/python%s/site-packages", name, SHMIX_PYTHON_VERSION);
    if (!bare)
        make_dirs(p);
}

static int setup_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/shmix-test-session-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/s.yaml", dir);
    write_file("fx.py", "def process(block):\n    pass\n");
    make_dirs("lib");
    make_dirs("more/lib2");
    fake_venv("venv", "home = /usr/bin\ninclude-system-site-packages = true\n"
                      "version = " SHMIX_PYTHON_VERSION ".2\n", 0);
    /* virtualenv and uv write version_info; `version` wins when both are there. */
    fake_venv("infovenv", "home = /usr/bin\nversion_info = " SHMIX_PYTHON_VERSION
                          ".4.final.0\n", 0);
    fake_venv("bothvenv", "version_info = 2.7.18\nversion = " SHMIX_PYTHON_VERSION ".1\n", 0);
    fake_venv("oldvenv", "home = /usr/bin\nversion = 2.7.18\n", 0);
    fake_venv("bare", "version = " SHMIX_PYTHON_VERSION ".2\n", 1);
    fake_venv("noversion", "home = /usr/bin\n", 0);
    return 0;
}

static int teardown_dir(void **state)
{
    (void)state;
    char cmd[320];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static struct session *load_ok(const char *yaml)
{
    write_file("s.yaml", yaml);
    struct session *s = NULL;
    char err[512] = "";
    int rc = session_load(path, &s, err, sizeof err);
    if (rc != SHX_OK)
        fail_msg("unexpected error: %s", err);
    return s;
}

static void test_defaults(void **state)
{
    (void)state;
    struct session *s = load_ok("tracks:\n  - file: stems/drums.flac\n");
    assert_int_equal(s->sample_rate, 0);
    assert_int_equal(s->block_size, 256);
    assert_int_equal(s->channels, 2);
    assert_int_equal(s->max_restarts, 5);
    assert_true(s->window == 10.0);
    assert_true(s->hang_timeout == 0.5);
    assert_int_equal(s->worker_memory_mb, 1024);
    assert_int_equal(s->has_loop, 0);
    assert_int_equal(s->ntracks, 1);
    assert_string_equal(s->tracks[0].name, "drums");
    char want[400];
    snprintf(want, sizeof want, "%s/stems/drums.flac", dir);
    assert_string_equal(s->tracks[0].file, want);
    assert_null(s->tracks[0].script);
    assert_string_equal(s->tracks[0].params_json, "{}");
    assert_int_equal(s->tracks[0].on_fault, ON_FAULT_BYPASS);
    session_destroy(s);
}

/* A file value with no stem ("a.wav/", "stems/") names the track by its
 * place; found by fuzz_session, which once got an empty name. (A dotfile
 * keeps its whole name: ".wav".) */
static void test_default_name_without_stem(void **state)
{
    (void)state;
    struct session *s = load_ok("tracks:\n  - file: a.wav/\n  - file: stems/\n"
                                "  - file: b.wav\n  - file: .wav\n");
    assert_int_equal(s->ntracks, 4);
    assert_string_equal(s->tracks[0].name, "track 1");
    assert_string_equal(s->tracks[1].name, "track 2");
    assert_string_equal(s->tracks[2].name, "b");
    assert_string_equal(s->tracks[3].name, ".wav");
    session_destroy(s);
}

/* A huge integer is a range error, not undefined behaviour (fuzz_session
 * with UBSan). */
static void test_huge_integer(void **state)
{
    (void)state;
    write_file("s.yaml", "sample_rate: 48777777777777777777777777777777777777000\n"
                         "tracks:\n  - file: a.wav\n");
    struct session *s = NULL;
    char err[512] = "";
    assert_int_equal(session_load(path, &s, err, sizeof err), SHX_ESESSION);
    assert_null(s);
    assert_non_null(strstr(err, ":1:14: sample_rate: 48777777777777777777777777777777777777000 "
                                "is out of range 8000..384000"));
}

/* A message quoting the user's text stays one line even when that text
 * spans lines (fuzz_session: a multi-line plain key). */
static void test_error_is_one_line(void **state)
{
    (void)state;
    write_file("s.yaml", "\"sample\\nrate\\x01\": 1\ntracks: [{file: a.wav}]\n");
    struct session *s = NULL;
    char err[512] = "";
    assert_int_equal(session_load(path, &s, err, sizeof err), SHX_ESESSION);
    assert_null(strchr(err, '\n'));
    assert_non_null(strstr(err, ":1:1: sample rate?: unknown key"));
}

static void test_full(void **state)
{
    (void)state;
    struct session *s = load_ok(
        "sample_rate: 44100\nblock_size: 128\nchannels: 1\nmaster: {gain_db: -3}\n"
        "loop: {start: 1.5, end: 4}\n"
        "supervisor: {max_restarts: 2, window: 5, hang_timeout: 0.25, worker_memory_mb: 512}\n"
        "tracks:\n"
        "  - name: lead\n    file: /abs/lead.wav\n    gain_db: -6.5\n    pan: -0.25\n"
        "    mute: true\n    solo: false\n    offset: 2\n    script: fx.py\n"
        "    params: {drive: 3.0, mode: soft, on: true, list: [1, 'two'], none: ~}\n"
        "    on_fault: mute\n");
    assert_int_equal(s->sample_rate, 44100);
    assert_int_equal(s->block_size, 128);
    assert_int_equal(s->channels, 1);
    assert_true(s->master_gain_db == -3.0);
    assert_true(s->has_loop && s->loop_start == 1.5 && s->loop_end == 4.0);
    assert_int_equal(s->max_restarts, 2);
    assert_true(s->hang_timeout == 0.25);
    assert_int_equal(s->worker_memory_mb, 512);
    const struct session_track *t = &s->tracks[0];
    assert_string_equal(t->name, "lead");
    assert_string_equal(t->file, "/abs/lead.wav");
    assert_true(t->gain_db == -6.5 && t->pan == -0.25 && t->offset == 2.0);
    assert_true(t->mute && !t->solo);
    assert_int_equal(t->on_fault, ON_FAULT_MUTE);
    assert_string_equal(t->params_json,
                        "{\"drive\":3.0,\"mode\":\"soft\",\"on\":true,\"list\":[1,\"two\"],"
                        "\"none\":null}");
    assert_int_equal(t->script_pos.line, 15);
    assert_int_equal(t->script_pos.col, 13);
    char req[1024];
    assert_int_equal(session_script_request(s, 0, 44100, 128, 1, req, sizeof req), SHX_OK);
    assert_non_null(strstr(req, "\"sample_rate\":44100,\"block_size\":128,\"channels\":1,"
                                "\"realtime\":true,"));
    /* --block 512: the script is told what it is called with; render and
     * check have no deadlines. */
    assert_int_equal(session_script_request(s, 0, 44100, 512, 0, req, sizeof req), SHX_OK);
    assert_non_null(strstr(req, "\"block_size\":512,"));
    assert_non_null(strstr(req, "\"realtime\":false,"));
    assert_non_null(strstr(req, "\"track\":\"lead\""));
    session_destroy(s);
}

static void test_python(void **state)
{
    (void)state;
    struct session *s = load_ok("tracks: [{file: a.wav}]\n"
                                "python:\n"
                                "  path: [lib, 'more/lib2']\n"
                                "  venv: venv\n"
                                "  preload: [scipy.signal, a_b.c9, numpy]\n");
    const struct session_python *py = &s->python;
    char real[PATH_MAX], want[PATH_MAX + 64];
    assert_non_null(realpath(dir, real));
    assert_int_equal(py->npath, 2);
    snprintf(want, sizeof want, "%s/lib", real);
    assert_string_equal(py->path[0], want);
    snprintf(want, sizeof want, "%s/more/lib2", real);
    assert_string_equal(py->path[1], want);
    snprintf(want, sizeof want, "%s/venv/lib/python%s/site-packages", real, SHMIX_PYTHON_VERSION);
    assert_string_equal(py->site, want);
    assert_int_equal(py->npreload, 3);
    assert_string_equal(py->preload[0], "scipy.signal");
    assert_string_equal(py->preload[1], "a_b.c9");
    assert_int_equal(py->preload_pos[1].line, 5);
    assert_int_equal(py->preload_pos[1].col, 27);
    /* What a worker says about a module it could not import lands at the
     * module's place; anything else at python:. */
    char err[512];
    session_python_error(s, "cannot import a_b.c9: ModuleNotFoundError: No module named 'a_b'",
                         err, sizeof err);
    snprintf(want, sizeof want, "%s:5:27: python.preload[1]: cannot import a_b.c9: "
                                "ModuleNotFoundError: No module named 'a_b'", path);
    assert_string_equal(err, want);
    session_python_error(s, "cannot import a_b: X\nY", err, sizeof err);
    snprintf(want, sizeof want, "%s:3:3: python: cannot import a_b: X Y", path);
    assert_string_equal(err, want);
    session_destroy(s);

    s = load_ok("python: {venv: infovenv}\ntracks: [{file: a.wav}]\n");
    assert_non_null(strstr(s->python.site, "/infovenv/lib/python"));
    assert_int_equal(s->python.npath, 0);
    assert_int_equal(s->python.npreload, 0);
    session_destroy(s);
    s = load_ok("python: {venv: bothvenv}\ntracks: [{file: a.wav}]\n");
    assert_non_null(s->python.site);
    session_destroy(s);
    s = load_ok("python: {}\ntracks: [{file: a.wav}]\n");   /* nothing asked */
    assert_null(s->python.site);
    session_destroy(s);
}

struct bad {
    const char *yaml;
    const char *message;   /* after "PATH:" */
};

static const struct bad bad_inputs[] = {
    {"", "1:1: session is empty"},
    {"- a\n- b\n", "1:1: session: expected a mapping, got a sequence"},
    {"tracks: [\n", "2:1: YAML: did not find expected node content while parsing a flow node"},
    {"sample_rate: 48000\n", "1:1: missing required key \"tracks\""},
    {"tempo: 120\ntracks: []\n", "1:1: tempo: unknown key"},
    {"tracks: []\n", "1:9: tracks: at least one track is required"},
    {"tracks: {a: 1}\n", "1:9: tracks: expected a sequence, got a mapping"},
    {"tracks:\n  - name: x\n", "2:5: tracks[0]: missing required key \"file\""},
    {"tracks:\n  - file: a.wav\n    gian_db: 1\n", "3:5: tracks[0].gian_db: unknown key"},
    {"tracks:\n  - file: a.wav\n    gain_db: loud\n",
     "3:14: tracks[0].gain_db: expected a number, got \"loud\""},
    {"tracks:\n  - file: a.wav\n    gain_db: 30\n",
     "3:14: tracks[0].gain_db: 30 is out of range -120..24"},
    {"tracks:\n  - file: a.wav\n    pan: 1.5\n", "3:10: tracks[0].pan: 1.5 is out of range -1..1"},
    {"tracks:\n  - file: a.wav\n    mute: maybe\n",
     "3:11: tracks[0].mute: expected true or false, got \"maybe\""},
    {"tracks:\n  - file: a.wav\n    on_fault: skip\n",
     "3:15: tracks[0].on_fault: expected bypass or mute, got \"skip\""},
    {"tracks:\n  - file: a.wav\n    offset: -1\n",
     "3:13: tracks[0].offset: -1 is out of range 0..86400"},
    {"tracks:\n  - file: a.wav\n  - file: b/a.flac\n",
     "3:5: tracks[1].name: duplicate track name \"a\" (from the file name; add a name)"},
    {"tracks:\n  - {file: a.wav, name: x}\n  - {file: b.wav, name: x}\n",
     "3:25: tracks[1].name: duplicate track name \"x\""},
    {"tracks:\n  - file: a.wav\n    gain_db: 1\n    gain_db: 2\n",
     "4:5: tracks[0].gain_db: duplicate key"},
    {"tracks:\n  - file: [a.wav]\n", "2:11: tracks[0].file: expected a string, got a sequence"},
    {"tracks:\n  - file: a.wav\n    name: \"\"\n", "3:11: tracks[0].name: must not be empty"},
    {"tracks:\n  - file: a.wav\n    params: [1, 2]\n",
     "3:13: tracks[0].params: expected a mapping, got a sequence"},
    {"tracks:\n  - file: a.wav\n    script: nothere.py\n",
     "3:13: tracks[0].script: cannot open \"nothere.py\": No such file or directory"},
    {"sample_rate: 44.1k\ntracks:\n  - file: a.wav\n",
     "1:14: sample_rate: expected an integer, got \"44.1k\""},
    {"sample_rate: 1000\ntracks:\n  - file: a.wav\n",
     "1:14: sample_rate: 1000 is out of range 8000..384000"},
    {"block_size: 10\ntracks:\n  - file: a.wav\n", "1:13: block_size: 10 is out of range 16..8192"},
    {"block_size: 256.5\ntracks:\n  - file: a.wav\n",
     "1:13: block_size: expected an integer, got \"256.5\""},
    {"channels: 3\ntracks:\n  - file: a.wav\n", "1:11: channels: 3 is out of range 1..2"},
    {"master: {gain: 1}\ntracks:\n  - file: a.wav\n", "1:10: master.gain: unknown key"},
    {"master: {gain_db: \"3\"}\ntracks:\n  - file: a.wav\n",
     "1:19: master.gain_db: expected a number, got \"3\""},
    {"loop: {start: 4, end: 2}\ntracks:\n  - file: a.wav\n",
     "1:7: loop.end: must be greater than loop.start"},
    {"loop: {start: 4}\ntracks:\n  - file: a.wav\n", "1:7: loop: missing required key \"end\""},
    {"supervisor: {max_restarts: 1.5}\ntracks:\n  - file: a.wav\n",
     "1:28: supervisor.max_restarts: expected an integer, got \"1.5\""},
    {"supervisor: {hang_timeout: 0}\ntracks:\n  - file: a.wav\n",
     "1:28: supervisor.hang_timeout: 0 is out of range 0.01..60"},
    {"supervisor: {worker_memory_mb: 10}\ntracks:\n  - file: a.wav\n",
     "1:32: supervisor.worker_memory_mb: 10 is out of range 64..1048576"},
    {"supervisor: {window: }\ntracks:\n  - file: a.wav\n",
     "1:22: supervisor.window: expected a number, got nothing"},
    {"tracks:\n  - file: a.wav\n    gain_db: nan\n",
     "3:14: tracks[0].gain_db: expected a number, got \"nan\""},
    {"tracks:\n  - 42\n", "2:5: tracks[0]: expected a mapping, got a scalar"},
    {"python: [lib]\ntracks: [{file: a.wav}]\n", "1:9: python: expected a mapping, got a sequence"},
    {"python: {paths: [lib]}\ntracks: [{file: a.wav}]\n", "1:10: python.paths: unknown key"},
    {"python: {path: lib}\ntracks: [{file: a.wav}]\n",
     "1:16: python.path: expected a sequence, got a scalar"},
    {"python: {path: [lib, nothere]}\ntracks: [{file: a.wav}]\n",
     "1:22: python.path[1]: cannot open \"nothere\": No such file or directory"},
    {"python: {path: [fx.py]}\ntracks: [{file: a.wav}]\n",
     "1:17: python.path[0]: \"fx.py\" is not a folder"},
    {"python: {path: [[lib]]}\ntracks: [{file: a.wav}]\n",
     "1:17: python.path[0]: expected a string, got a sequence"},
    {"python: {path: [lib], path: [lib]}\ntracks: [{file: a.wav}]\n",
     "1:23: python.path: duplicate key"},
    {"python: {venv: [venv]}\ntracks: [{file: a.wav}]\n",
     "1:16: python.venv: expected a string, got a sequence"},
    {"python: {venv: ''}\ntracks: [{file: a.wav}]\n", "1:16: python.venv: must not be empty"},
    {"python: {venv: nothere}\ntracks: [{file: a.wav}]\n",
     "1:16: python.venv: cannot open \"nothere\": No such file or directory"},
    {"python: {venv: lib}\ntracks: [{file: a.wav}]\n",
     "1:16: python.venv: lib is not a virtual environment (no pyvenv.cfg)"},
    {"python: {venv: noversion}\ntracks: [{file: a.wav}]\n",
     "1:16: python.venv: noversion is not a virtual environment (its pyvenv.cfg names no "
     "Python version)"},
    {"python:\n  venv: oldvenv\ntracks: [{file: a.wav}]\n",
     "2:9: python.venv: oldvenv is Python 2.7, shmix runs Python " SHMIX_PYTHON_VERSION},
    {"python: {venv: bare}\ntracks: [{file: a.wav}]\n",
     "1:16: python.venv: bare has no lib/python" SHMIX_PYTHON_VERSION "/site-packages"},
    {"python: {preload: scipy}\ntracks: [{file: a.wav}]\n",
     "1:19: python.preload: expected a sequence, got a scalar"},
    {"python: {preload: [numpy, 'scipy signal']}\ntracks: [{file: a.wav}]\n",
     "1:27: python.preload[1]: \"scipy signal\" is not a module name"},
    {"python: {preload: [9lives]}\ntracks: [{file: a.wav}]\n",
     "1:20: python.preload[0]: \"9lives\" is not a module name"},
    {"python: {preload: [a..b]}\ntracks: [{file: a.wav}]\n",
     "1:20: python.preload[0]: \"a..b\" is not a module name"},
    {"python: {preload: [.rel]}\ntracks: [{file: a.wav}]\n",
     "1:20: python.preload[0]: \".rel\" is not a module name"},
    {"python: {preload: [scipy.]}\ntracks: [{file: a.wav}]\n",
     "1:20: python.preload[0]: \"scipy.\" is not a module name"},
    {"python: {preload: [{a: 1}]}\ntracks: [{file: a.wav}]\n",
     "1:20: python.preload[0]: expected a string, got a mapping"},
    {"python: {preload: [\"\"]}\ntracks: [{file: a.wav}]\n",
     "1:20: python.preload[0]: must not be empty"},
    {"python: {preload: [a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, "
     "a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, "
     "a, a, a, a, a, a, a, a, a, a, a, a]}\ntracks: [{file: a.wav}]\n",
     "1:19: python.preload: more than 64 entries"},
};

static void test_bad_inputs(void **state)
{
    (void)state;
    size_t n = sizeof bad_inputs / sizeof bad_inputs[0];
    assert_true(n >= 20);
    for (size_t i = 0; i < n; i++) {
        write_file("s.yaml", bad_inputs[i].yaml);
        struct session *s = NULL;
        char err[512] = "", want[700];
        int rc = session_load(path, &s, err, sizeof err);
        snprintf(want, sizeof want, "%s:%s", path, bad_inputs[i].message);
        if (rc != SHX_ESESSION || strcmp(err, want) != 0)
            fail_msg("case %zu (%s): got rc %d\n  \"%s\"\nwanted\n  \"%s\"", i,
                     bad_inputs[i].yaml, rc, err, want);
        assert_null(s);
    }
}

static void test_missing_file(void **state)
{
    (void)state;
    struct session *s = NULL;
    char err[512];
    assert_int_equal(session_load("/nonexistent/s.yaml", &s, err, sizeof err), SHX_EIO);
    assert_string_equal(err, "/nonexistent/s.yaml: No such file or directory");
}

/* The one-track session of shmix fx: the defaults, the track named after
 * the file, params from KEY=VALUE as a session file's params would give
 * them (the last of a repeated key wins), and errors that name the
 * command line, not a file. */
static void test_one_track(void **state)
{
    (void)state;
    char script[400], err[512] = "";
    snprintf(script, sizeof script, "%s/fx.py", dir);
    const char *params[] = {"drive=3", "gain=.5", "name=abc", "x=~", "empty=", "q='007'",
                            "k=1", "big=12345678901234567890123", "k=+2", "f=1.5e+3",
                            "w=two words"};
    struct session_one one = {"stems/take one.flac", script, params, 11, 1};
    struct session *s = NULL;
    if (session_one_track(&one, &s, err, sizeof err) != SHX_OK)
        fail_msg("unexpected error: %s", err);
    assert_int_equal(s->ntracks, 1);
    assert_int_equal(s->in_memory, 1);
    assert_int_equal(s->channels, 1);
    assert_int_equal(s->sample_rate, 0);
    assert_int_equal(s->block_size, 256);
    assert_true(s->hang_timeout == 0.5);
    const struct session_track *t = &s->tracks[0];
    assert_string_equal(t->name, "take one");
    assert_string_equal(t->file, "stems/take one.flac");
    assert_string_equal(t->script, script);
    assert_true(t->gain_db == 0 && t->pan == 0 && !t->mute && t->on_fault == ON_FAULT_BYPASS);
    assert_string_equal(t->params_json,
                        "{\"drive\":3,\"gain\":0.5,\"name\":\"abc\",\"x\":null,"
                        "\"empty\":null,\"q\":\"007\",\"big\":12345678901234567890123,"
                        "\"k\":2,\"f\":1500.0,\"w\":\"two words\"}");
    /* Messages about it name the file and the script as given. */
    session_track_error(s, 0, 0, "cannot open: No such file or directory", err, sizeof err);
    assert_string_equal(err, "stems/take one.flac: cannot open: No such file or directory");
    char why[600], want[600];
    snprintf(why, sizeof why, "%s:4: ValueError: no (in setup)", script);
    session_track_error(s, 0, 1, why, err, sizeof err);
    assert_string_equal(err, why);
    session_track_error(s, 0, 1, "worker died while starting (segfault)", err, sizeof err);
    snprintf(want, sizeof want, "%s: worker died while starting (segfault)", script);
    assert_string_equal(err, want);
    session_destroy(s);

    static const struct {
        const char *param, *message;
    } bad[] = {
        {"l=[1, 2]", "fx: --param l: expected one YAML scalar, got a sequence (quote it to "
                     "make it a string)"},
        {"m={a: 1}", "fx: --param m: expected one YAML scalar, got a mapping (quote it to "
                     "make it a string)"},
        {"h=0x1FFFFFFFFFFFFFFFFFFF", "fx: --param h: 0x1FFFFFFFFFFFFFFFFFFF: not a number "
                                     "shmix can carry"},
        {"q=\"open", "fx: --param q: YAML: found unexpected end of stream while scanning "
                     "a quoted scalar"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct session_one b = {"a.wav", script, &bad[i].param, 1, 2};
        s = NULL;
        assert_int_equal(session_one_track(&b, &s, err, sizeof err), SHX_EUSAGE);
        assert_string_equal(err, bad[i].message);
        assert_null(s);
    }
    struct session_one missing = {"a.wav", "/nonexistent/x.py", NULL, 0, 2};
    assert_int_equal(session_one_track(&missing, &s, err, sizeof err), SHX_EIO);
    assert_string_equal(err, "/nonexistent/x.py: cannot open: No such file or directory");
}

/* A session file keeps its messages' places. */
static void test_track_error_in_a_file(void **state)
{
    (void)state;
    struct session *s = load_ok("tracks:\n  - {file: a.wav, script: fx.py}\n");
    char err[512], want[700];
    session_track_error(s, 0, 0, "cannot open: No such file or directory", err, sizeof err);
    snprintf(want, sizeof want, "%s:2:12: tracks[0].file: \"a.wav\" cannot open: No such file "
             "or directory", path);
    assert_string_equal(err, want);
    session_track_error(s, 0, 1, "x.py:3: NameError (in setup)", err, sizeof err);
    snprintf(want, sizeof want, "%s:2:27: tracks[0].script: x.py:3: NameError (in setup)", path);
    assert_string_equal(err, want);
    session_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_default_name_without_stem),
        cmocka_unit_test(test_huge_integer),
        cmocka_unit_test(test_error_is_one_line),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_python),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_one_track),
        cmocka_unit_test(test_track_error_in_a_file),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
