/* test_python.c - the session's python: key through the real binaries:
 * modules from python.path and from a virtual environment reach the
 * scripts (their effect is in the rendered samples), a venv of another
 * Python and a preload module that does not import stop the session with
 * one line and exit 2, and scipy.signal preloaded in the zygote filters
 * with state carried across blocks exactly as a reference computed here;
 * workers cloned from one zygote draw random numbers of their own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#ifndef SHMIX_PYTHON_VERSION
#define SHMIX_PYTHON_VERSION "3.11"
#endif

#define RATE 48000

static char err[65536], out[65536];

static int setup(void **state)
{
    (void)state;
    h_tmpdir();
    h_write_wav("noise.wav", RATE, 2, RATE / 2, h_noise);
    h_write("dry.yaml", "tracks:\n  - {file: noise.wav}\n");
    return 0;
}

/* Runs `shmix CMD yaml [-o wav]` (cold: every worker started without the
 * zygote); returns the exit status, stderr in err. */
static int shmix(const char *cmd, const char *yaml, const char *wav, int cold)
{
    const char *argv[] = {SHMIX_BIN, cmd, h_path(yaml), wav ? "-o" : NULL,
                          wav ? h_path(wav) : NULL, NULL};
    if (cold)
        setenv("SHMIX_COLD_START", "1", 1);
    int st = h_run(argv, out, sizeof out, err, sizeof err, 120);
    unsetenv("SHMIX_COLD_START");
    return st;
}

static void render_ok(const char *yaml, const char *wav, int cold)
{
    int st = shmix("render", yaml, wav, cold);
    if (st != 0)
        fail_msg("render %s%s: exit %d\n%s", yaml, cold ? " (cold)" : "", st, err);
}

/* Fails unless wav is the dry render times k, sample for sample (the
 * scripts below multiply by powers of two: exact in float). */
static void assert_scaled(const char *wav, float k)
{
    static int dry_done;
    if (!dry_done) {
        render_ok("dry.yaml", "dry.wav", 0);
        dry_done = 1;
    }
    int64_t n1, n2;
    int c1, c2;
    float *dry = h_read(h_path("dry.wav"), &n1, &c1, NULL);
    float *wet = h_read(h_path(wav), &n2, &c2, NULL);
    assert_int_equal(n1, RATE / 2);
    assert_int_equal(n1, n2);
    assert_int_equal(c1, c2);
    size_t diff = 0, silent = 0;
    for (int64_t i = 0; i < n1 * c1; i++) {
        diff += wet[i] != k * dry[i];
        silent += dry[i] == 0.0f;
    }
    free(dry);
    free(wet);
    assert_int_equal(diff, 0);
    assert_true(silent < (size_t)n1 / 100);   /* the signal is really there */
}

/* (a) A module in a python.path folder, imported by a script in another
 * folder: with the zygote and started cold. */
static void test_path(void **state)
{
    (void)state;
    h_write("lib/halver.py", "def apply(block):\n    block *= 0.5\n");
    h_write("scripts/use_lib.py", "import halver\n"
                                  "def process(block):\n    halver.apply(block)\n");
    h_write("path.yaml", "python:\n  path: [lib]\n"
                         "tracks:\n  - {file: noise.wav, script: scripts/use_lib.py, "
                         "on_fault: mute}\n");
    render_ok("path.yaml", "path.wav", 0);
    assert_scaled("path.wav", 0.5f);
    render_ok("path.yaml", "path-cold.wav", 1);
    assert_scaled("path-cold.wav", 0.5f);
    /* Without python: the script cannot import it: a different render. */
    h_write("nopath.yaml", "tracks:\n  - {file: noise.wav, script: scripts/use_lib.py}\n");
    assert_int_equal(shmix("check", "nopath.yaml", NULL, 0), 2);
    assert_non_null(strstr(err, "ModuleNotFoundError: No module named 'halver'"));
}

/* Makes a venv at name with the system's Python, the way a user would. */
static void make_venv(const char *name)
{
    const char *argv[] = {"/usr/bin/python3", "-m", "venv", "--without-pip",
                          "--system-site-packages", h_path(name), NULL};
    if (h_run(argv, out, sizeof out, err, sizeof err, 120) != 0)
        fail_msg("python3 -m venv: %s", err);
}

/* (b) A package installed into a venv (by copying, as pip would leave it)
 * and a folder a .pth file in its site-packages names. */
static void test_venv(void **state)
{
    (void)state;
    make_venv("venv");
    const char *site = "venv/lib/python" SHMIX_PYTHON_VERSION "/site-packages";
    char p[512], pth[600];
    snprintf(p, sizeof p, "%s/quarter/__init__.py", site);
    h_write(p, "from .scale import K\n");
    snprintf(p, sizeof p, "%s/quarter/scale.py", site);
    h_write(p, "K = 0.25\n");
    h_write("extra/twice.py", "K = 2.0\n");
    snprintf(p, sizeof p, "%s/extra.pth", site);
    snprintf(pth, sizeof pth, "%s\n", h_path("extra"));
    h_write(p, pth);
    h_write("use_venv.py", "import quarter, twice\n"
                           "def process(block):\n    block *= quarter.K * twice.K * quarter.K\n");
    h_write("venv.yaml", "python:\n  venv: venv\n"
                         "tracks:\n  - {file: noise.wav, script: use_venv.py, on_fault: mute}\n");
    render_ok("venv.yaml", "venv.wav", 0);
    assert_scaled("venv.wav", 0.125f);
    render_ok("venv.yaml", "venv-cold.wav", 1);
    assert_scaled("venv-cold.wav", 0.125f);
}

/* (c) A venv another Python made: one line naming both versions, exit 2,
 * from every command that loads the session. */
static void test_venv_of_another_python(void **state)
{
    (void)state;
    make_venv("oldvenv");
    /* As another Python's venv module would have written it. */
    const char *other = strcmp(SHMIX_PYTHON_VERSION, "3.9") ? "3.9" : "3.10";
    char cfg[256];
    snprintf(cfg, sizeof cfg, "home = /usr/bin\ninclude-system-site-packages = true\n"
             "version = %s.7\n", other);
    h_write("oldvenv/pyvenv.cfg", cfg);
    h_write("old.yaml", "tracks:\n  - {file: noise.wav}\npython:\n  venv: oldvenv\n");
    char want[1024];
    snprintf(want, sizeof want, "shmix: %s:4:9: python.venv: oldvenv is Python %s, "
             "shmix runs Python " SHMIX_PYTHON_VERSION, h_path("old.yaml"), other);
    assert_int_equal(shmix("check", "old.yaml", NULL, 0), 2);
    h_assert_one_line(err, want);
    assert_int_equal(shmix("render", "old.yaml", "old.wav", 0), 2);
    h_assert_one_line(err, want);
    assert_false(h_exists(h_path("old.wav")));
    /* A folder that is no venv at all. */
    h_write("novenv/readme", "not a venv\n");
    h_write("novenv.yaml", "python: {venv: novenv}\ntracks:\n  - {file: noise.wav}\n");
    snprintf(want, sizeof want, "shmix: %s:1:16: python.venv: novenv is not a virtual "
             "environment (no pyvenv.cfg)", h_path("novenv.yaml"));
    assert_int_equal(shmix("check", "novenv.yaml", NULL, 0), 2);
    h_assert_one_line(err, want);
}

/* (d) A preload module that does not import: one line with the module and
 * Python's summary, exit 2, nothing rendered - with the zygote and cold. */
static void test_bad_preload(void **state)
{
    (void)state;
    h_write("lib/raises.py", "import math\nraise ValueError('not today')\n");
    h_write("fine.py", "def process(block):\n    pass\n");
    h_write("badpre.yaml", "python:\n  path: [lib]\n  preload: [math, no_such_module_zq]\n"
                           "tracks:\n  - {file: noise.wav, script: fine.py}\n"
                           "  - {name: two, file: noise.wav, script: fine.py}\n");
    char want[1024];
    snprintf(want, sizeof want, "shmix: %s:3:19: python.preload[1]: cannot import "
             "no_such_module_zq: ModuleNotFoundError: No module named 'no_such_module_zq'",
             h_path("badpre.yaml"));
    for (int cold = 0; cold <= 1; cold++) {
        assert_int_equal(shmix("render", "badpre.yaml", "badpre.wav", cold), 2);
        h_assert_one_line(err, want);
        assert_false(h_exists(h_path("badpre.wav")));
        assert_int_equal(shmix("check", "badpre.yaml", NULL, cold), 2);
        h_assert_one_line(err, want);
    }
    const char *play[] = {SHMIX_BIN, "play", h_path("badpre.yaml"), "--null", NULL};
    assert_int_equal(h_run(play, out, sizeof out, err, sizeof err, 60), 2);
    h_assert_one_line(err, want);
    /* A module that raises names where. */
    h_write("raises.yaml", "python:\n  path: [lib]\n  preload: [raises]\n"
                           "tracks:\n  - {file: noise.wav, script: fine.py}\n");
    snprintf(want, sizeof want, "shmix: %s:3:13: python.preload[0]: cannot import raises: "
             "%s:2: ValueError: not today", h_path("raises.yaml"), h_path("lib/raises.py"));
    for (int cold = 0; cold <= 1; cold++) {
        assert_int_equal(shmix("check", "raises.yaml", NULL, cold), 2);
        h_assert_one_line(err, want);
    }
}

/* The filter the script below runs, in double precision over the whole
 * file (scipy's lfilter, direct form II transposed). */
static const double B[3] = {0.2, 0.3, 0.1}, A[3] = {1.0, -0.5, 0.2};

/* (e) scipy.signal preloaded in the zygote; the script checks it was
 * there before it imported it, and runs lfilter block by block with zi
 * carried across blocks: the output is the whole file filtered at once. */
static void test_preload_scipy(void **state)
{
    (void)state;
    h_write("lfilt.py",
            "import sys\n"
            "if 'scipy.signal' not in sys.modules:\n"
            "    raise RuntimeError('scipy.signal was not preloaded')\n"
            "import numpy as np\n"
            "import scipy.signal as sig\n"
            "b = a = zi = None\n"
            "def setup(ctx):\n"
            "    global b, a, zi\n"
            "    b = np.array(ctx.params['b'])\n"
            "    a = np.array(ctx.params['a'])\n"
            "    zi = np.zeros((len(a) - 1, ctx.channels))\n"
            "def process(block):\n"
            "    global zi\n"
            "    y, zi = sig.lfilter(b, a, block, axis=0, zi=zi)\n"
            "    block[:] = y\n");
    h_write("scipy.yaml", "python:\n  preload: [scipy.signal]\nblock_size: 128\n"
                          "tracks:\n  - {file: noise.wav, script: lfilt.py, on_fault: mute,\n"
                          "     params: {b: [0.2, 0.3, 0.1], a: [1.0, -0.5, 0.2]}}\n");
    for (int cold = 0; cold <= 1; cold++) {
        const char *wav = cold ? "scipy-cold.wav" : "scipy.wav";
        render_ok("scipy.yaml", wav, cold);
        int64_t n, nin;
        int ch, chin;
        float *y = h_read(h_path(wav), &n, &ch, NULL);
        float *x = h_read(h_path("noise.wav"), &nin, &chin, NULL);
        assert_int_equal(n, nin);
        assert_int_equal(ch, chin);
        double worst = 0, moved = 0;
        for (int c = 0; c < ch; c++) {
            double z1 = 0, z2 = 0;
            for (int64_t i = 0; i < n; i++) {
                double in = x[i * ch + c], o = B[0] * in + z1;
                z1 = B[1] * in - A[1] * o + z2;
                z2 = B[2] * in - A[2] * o;
                worst = fmax(worst, fabs(y[i * ch + c] - o));
                moved = fmax(moved, fabs(y[i * ch + c] - in));
            }
        }
        free(x);
        free(y);
        if (worst > 1e-6)
            fail_msg("%s differs from the reference by %g", wav, worst);
        assert_true(moved > 0.05);   /* it really filtered */
    }
}

/* (f) Workers cloned from one zygote are processes of their own to their
 * scripts: each draws its own random numbers (numpy's global state and
 * Python's; numpy's state drawn whole, not from a seed), a seeded
 * generator draws the same numbers everywhere, and threading works as in
 * a fresh process - the hook the zygote stills for its clones is back in
 * place. Started cold the same. */
static void test_clones_state(void **state)
{
    (void)state;
    h_write("scripts/state.py",
            "import random, threading\n"
            "import numpy as np\n"
            "def setup(ctx):\n"
            /* as numpy's own seeding from entropy leaves the first word:
             * a clone's state is drawn whole (npseed), not from a seed */
            "    whole = np.random.get_state()[1][0] == 0x80000000\n"
            "    t = threading.Thread(target=lambda: None)\n"
            "    t.start()\n"
            "    t.join()\n"
            "    ok = (threading.current_thread() is threading.main_thread()\n"
            "          and threading.active_count() == 1\n"
            "          and threading._after_fork.__code__.co_name == '_after_fork')\n"
            "    drawn = np.random.random(), random.random()\n"
            "    np.random.seed(7)\n"
            "    print('state %s %.17g %.17g %.17g %.17g' % ('ok' if ok and whole else 'BAD',\n"
            "          *drawn, np.random.random(), random.Random(7).random()))\n"
            "def process(block):\n    pass\n");
    h_write("state.yaml", "tracks:\n"
                          "  - {name: a, file: noise.wav, script: scripts/state.py}\n"
                          "  - {name: b, file: noise.wav, script: scripts/state.py}\n"
                          "  - {name: c, file: noise.wav, script: scripts/state.py}\n");
    for (int cold = 0; cold <= 1; cold++) {
        render_ok("state.yaml", "state.wav", cold);
        /* (the zygote really cloned them: it did not fall back to cold) */
        assert_null(strstr(err, "starting workers without it"));
        double np_[3], py[3], np_seeded[3], seeded[3];
        int n = 0;
        for (const char *p = err; (p = strstr(p, "state ")) != NULL; p++) {
            char word[8];
            assert_true(n < 3);
            assert_int_equal(sscanf(p, "state %7s %lf %lf %lf %lf", word, &np_[n], &py[n],
                                    &np_seeded[n], &seeded[n]), 5);
            assert_string_equal(word, "ok");
            n++;
        }
        if (n != 3)
            fail_msg("expected three state lines (cold=%d):\n%s", cold, err);
        for (int i = 0; i < 3; i++) {
            /* the Mersenne Twister's first draw for seed 7, in any Python 3
             * and in numpy's legacy API */
            if (seeded[i] != 0.32383276483316237 || np_seeded[i] != 0.07630828937395717)
                fail_msg("seeded with 7, random drew %.17g and numpy %.17g (cold=%d):\n%s",
                         seeded[i], np_seeded[i], cold, err);
            for (int j = i + 1; j < 3; j++) {
                if (np_[i] == np_[j] || py[i] == py[j])
                    fail_msg("two tracks drew the same number (cold=%d):\n%s", cold, err);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        H_TEST(test_path),
        H_TEST(test_venv),
        H_TEST(test_venv_of_another_python),
        H_TEST(test_bad_preload),
        H_TEST(test_preload_scipy),
        H_TEST(test_clones_state),
    };
    return cmocka_run_group_tests(tests, setup, h_teardown_tmpdir);
}
