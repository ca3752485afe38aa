/* test_install.c - shmix as a user gets it: `cmake --install` into a
 * scratch prefix and the installed demo played by the installed program
 * (which must find the installed worker and the installed stems and
 * scripts through the session's relative paths); the Debian package cpack
 * makes from this build tree, its Depends and its contents; and the manual
 * page, which must render without a warning and name every command,
 * option and session key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static char out[1 << 16], err[1 << 16];
static char prefix[512];

/* Installs this build tree into <tmpdir>/prefix, once for the group. */
static int setup(void **state)
{
    (void)state;
    h_tmpdir();
    snprintf(prefix, sizeof prefix, "%s", h_path("prefix"));
    const char *argv[] = {SHMIX_CMAKE, "--install", SHMIX_BUILD_DIR, "--prefix", prefix, NULL};
    int rc = h_run(argv, out, sizeof out, err, sizeof err, 60);
    if (rc != 0)
        fprintf(stderr, "cmake --install failed (%d):\n%s%s", rc, out, err);
    return rc == 0 ? 0 : -1;
}

/* "<prefix>/<rel>" in a rotating static buffer. */
static const char *installed(const char *rel)
{
    static char buf[8][768];
    static int k;
    char *b = buf[k++ % 8];
    snprintf(b, sizeof buf[0], "%s/%s", prefix, rel);
    return b;
}

static void test_install_lays_out_the_files(void **state)
{
    (void)state;
    static const char *const files[] = {
        "bin/shmix", "libexec/shmix/shmix-worker", "share/man/man1/shmix.1.gz",
        "share/shmix/demo/demo.yaml", "share/shmix/demo/stems/drums.flac",
        "share/shmix/demo/stems/bass.flac", "share/shmix/demo/stems/pad.flac",
        "share/shmix/demo/stems/lead.wav", "share/shmix/scripts/drive.py",
        "share/shmix/scripts/onepole.py", "share/shmix/scripts/tremolo.py",
        "share/shmix/scripts/delay.py", "share/shmix/scripts/gain.py",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (!h_exists(installed(files[i])))
            fail_msg("not installed: %s", installed(files[i]));
}

/* The installed program plays the installed demo: every scripted track
 * running, so it found the installed worker (beside it in ../libexec/shmix,
 * with no SHMIX_WORKER to point elsewhere) and the stems and scripts by the
 * session's relative paths. */
static void test_installed_demo_plays(void **state)
{
    (void)state;
    unsetenv("SHMIX_WORKER");
    const char *argv[] = {installed("bin/shmix"), "play",
                          installed("share/shmix/demo/demo.yaml"), "--null", "--duration", "2",
                          "--stats", h_path("demo.jsonl"), "--stats-interval", "0.5", NULL};
    int rc = h_run(argv, out, sizeof out, err, sizeof err, 60);
    if (rc != 0)
        fail_msg("installed shmix play exited %d:\n%s", rc, err);
    char *text = h_slurp(h_path("demo.jsonl"));
    assert_non_null(text);
    char *v[64];
    int n = h_lines(text, v, 64);
    assert_true(n >= 2);
    const char *last = v[n - 1];
    assert_int_equal(h_ntracks(last), 4);
    static const char *const tracks[] = {"drums", "bass", "pad", "lead"};
    for (int i = 0; i < 4; i++) {
        const char *t = h_track(last, tracks[i]);
        if (strcmp(h_str(t, "state"), "running"))
            fail_msg("track %s is %s, not running:\n%s", tracks[i], h_str(t, "state"), err);
        assert_int_equal((int)h_num(t, "errors"), 0);
    }
    free(text);
}

/* Runs argv and returns its stdout, failing the test unless it exits 0. */
static const char *ok(const char *const argv[], int timeout_s)
{
    int rc = h_run(argv, out, sizeof out, err, sizeof err, timeout_s);
    if (rc != 0)
        fail_msg("%s exited %d:\n%s%s", argv[0], rc, out, err);
    return out;
}

/* True when the Depends field names package pkg (with or without a
 * version, alone or among alternatives). */
static int depends_on(const char *depends, const char *pkg)
{
    size_t n = strlen(pkg);
    for (const char *p = depends; (p = strstr(p, pkg)) != NULL; p += n) {
        int starts = p == depends || p[-1] == ' ' || p[-1] == ',' || p[-1] == '|';
        int ends = p[n] == '\0' || p[n] == ' ' || p[n] == ',' || p[n] == '\n' || p[n] == '|';
        if (starts && ends)
            return 1;
    }
    return 0;
}

/* cpack makes a .deb from this tree whose Depends cover what `shmix play`
 * needs on a clean system - the shared libraries (dpkg-shlibdeps), numpy and the
 * embedded Python's standard library (named in cmake/package.cmake) - and which holds the installed files
 * under /usr. */
static void test_debian_package(void **state)
{
    (void)state;
    const char *pkgdir = h_path("deb");
    const char *cpack[] = {SHMIX_CPACK, "-G", "DEB", "--config",
                           SHMIX_BUILD_DIR "/CPackConfig.cmake", "-B", pkgdir, NULL};
    double t0 = h_now();
    ok(cpack, 120);
    fprintf(stderr, "cpack: %.1f s\n", h_now() - t0);
    char pattern[700];
    snprintf(pattern, sizeof pattern, "%s/shmix_*.deb", pkgdir);
    glob_t g;
    assert_int_equal(glob(pattern, 0, NULL, &g), 0);
    assert_int_equal(g.gl_pathc, 1);
    char deb[700];
    snprintf(deb, sizeof deb, "%s", g.gl_pathv[0]);
    globfree(&g);

    const char *info[] = {"/usr/bin/dpkg-deb", "-I", deb, NULL};
    const char *control = ok(info, 30);
    assert_non_null(strstr(control, "Package: shmix\n"));
    const char *dep = strstr(control, "Depends: ");
    assert_non_null(dep);
    char depends[2048];
    snprintf(depends, sizeof depends, "%.*s", (int)strcspn(dep + 9, "\n"), dep + 9);
    fprintf(stderr, "Depends: %s\n", depends);
    static const char *const needed[] = {
        "python3-numpy", "libportaudio2", "libsndfile1", "libsamplerate0", "libyaml-0-2",
        "libpython3.11-stdlib",
#if SHMIX_HAS_OVERLAY
        "libsdl2-2.0-0", "libsdl2-ttf-2.0-0", "libfontconfig1",
#endif
    };
    for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++)
        if (!depends_on(depends, needed[i]))
            fail_msg("the package does not depend on %s: Depends: %s", needed[i], depends);

    const char *list[] = {"/usr/bin/dpkg-deb", "-c", deb, NULL};
    const char *contents = ok(list, 30);
    static const char *const files[] = {
        " ./usr/bin/shmix\n", " ./usr/libexec/shmix/shmix-worker\n",
        " ./usr/share/man/man1/shmix.1.gz\n", " ./usr/share/shmix/demo/demo.yaml\n",
        " ./usr/share/shmix/demo/stems/drums.flac\n", " ./usr/share/shmix/scripts/drive.py\n",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (!strstr(contents, files[i]))
            fail_msg("the package lacks%.*s:\n%s", (int)strlen(files[i]) - 1, files[i],
                     contents);
}

/* The man page's source, read once. */
static const char *man_source(void)
{
    static char *text;
    if (!text)
        text = h_slurp(SHMIX_SOURCE_DIR "/docs/shmix.1");
    assert_non_null(text);
    return text;
}

/* True when some line of the man page is a bold tag (.B, .BI, .BR) whose
 * first argument is word in troff's spelling: every '-' as "\-". */
static int man_tags(const char *word)
{
    char want[256];
    size_t k = 0;
    for (const char *w = word; *w && k + 3 < sizeof want; w++) {
        if (*w == '-')
            want[k++] = '\\';
        want[k++] = *w;
    }
    want[k] = '\0';
    static const char *const macros[] = {"\n.B ", "\n.BI ", "\n.BR "};
    const char *text = man_source();
    for (size_t m = 0; m < 3; m++)
        for (const char *p = text; (p = strstr(p, macros[m])) != NULL; p++) {
            const char *a = p + strlen(macros[m]);
            if (!strncmp(a, want, k) && (a[k] == '\n' || a[k] == ' '))
                return 1;
        }
    return 0;
}

/* The session keys that docs/session-format.md's key listing (its yaml
 * block) names, as the man page spells them: top-level keys, "master.gain_db"
 * for a key in a top-level mapping, a track's keys bare. Returns how many
 * (at most max) in keys[], each malloc'ed. */
static int session_keys(char **keys, int max)
{
    char *doc = h_slurp(SHMIX_SOURCE_DIR "/docs/session-format.md");
    assert_non_null(doc);
    char *block = strstr(doc, "## Keys");
    assert_non_null(block);
    block = strstr(block, "```yaml\n");
    assert_non_null(block);
    block += 8;
    *strstr(block, "```") = '\0';
    int n = 0;
    char parent[64] = "";
    for (char *line = strtok(block, "\n"); line && n < max; line = strtok(NULL, "\n")) {
        int indent = (int)strspn(line, " ");
        char *k = line + indent;
        if (!strncmp(k, "- ", 2))
            k += 2;
        size_t len = strspn(k, "abcdefghijklmnopqrstuvwxyz_");
        if (!len || k[len] != ':')
            continue;
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)len, k);
        char *value = k + len + 1;
        value += strspn(value, " ");
        if (indent == 0) {
            snprintf(parent, sizeof parent, "%s", !strcmp(key, "tracks") ? "" : key);
            if (*value == '{') {          /* loop: {start: 0.0, end: 8.0} */
                for (char *f = value + 1; *f && *f != '}' && n < max;) {
                    f += strspn(f, " ,");
                    size_t fl = strspn(f, "abcdefghijklmnopqrstuvwxyz_");
                    if (!fl)
                        break;
                    keys[n] = malloc(strlen(key) + fl + 2);
                    sprintf(keys[n++], "%s.%.*s", key, (int)fl, f);
                    f = strchr(f, ',') ? strchr(f, ',') : f + fl;
                }
            } else if (*value && *value != '#') {   /* a leaf, not master: or tracks: */
                keys[n++] = strdup(key);
            }
        } else {
            keys[n] = malloc(strlen(parent) + len + 2);
            sprintf(keys[n++], "%s%s%s", parent, *parent ? "." : "", key);
        }
    }
    free(doc);
    return n;
}

/* groff and man render the page without a warning; it documents every
 * command and option `shmix --help` lists, every session key, and the exit
 * statuses. */
static void test_man_page(void **state)
{
    (void)state;
    const char *groff[] = {"/usr/bin/groff", "-man", "-ww", "-z",
                           SHMIX_SOURCE_DIR "/docs/shmix.1", NULL};
    assert_int_equal(h_run(groff, out, sizeof out, err, sizeof err, 30), 0);
    if (err[0])
        fail_msg("groff warns:\n%s", err);
    /* The installed, compressed page, as man shows it. */
    setenv("MANWIDTH", "80", 1);
    const char *man[] = {"/usr/bin/man", "--warnings", "-l",
                         installed("share/man/man1/shmix.1.gz"), NULL};
    assert_int_equal(h_run(man, out, sizeof out, err, sizeof err, 30), 0);
    unsetenv("MANWIDTH");
    if (err[0])
        fail_msg("man warns:\n%s", err);
    assert_non_null(strstr(out, "EXIT STATUS"));

    const char *help[] = {SHMIX_BIN, "--help", NULL};
    ok(help, 10);
    char *usage = strdup(out);
    int checked = 0;
    for (char *p = usage; (p = strstr(p, "shmix ")) != NULL; p += 6) {
        char cmd[32];
        if (sscanf(p + 6, "%31[a-z]", cmd) == 1) {
            if (!man_tags(cmd))
                fail_msg("the man page has no entry for the command %s", cmd);
            checked++;
        }
    }
    for (char *p = usage; (p = strchr(p, '-')) != NULL; p++) {
        char opt[64];
        if ((p == usage || p[-1] == ' ' || p[-1] == '[' || p[-1] == '|')
            && sscanf(p, "%63[-a-z]", opt) == 1 && strlen(opt) > 1 && opt[1] != ' ') {
            if (!man_tags(opt))
                fail_msg("the man page has no entry for the option %s", opt);
            checked++;
            p += strlen(opt) - 1;
        }
    }
    free(usage);
    assert_true(checked >= 5 + 14);       /* the commands, the options */

    char *keys[64];
    int n = session_keys(keys, 64);
    assert_true(n >= 20);
    for (int i = 0; i < n; i++) {
        if (!man_tags(keys[i]))
            fail_msg("the man page has no entry for the session key %s", keys[i]);
        free(keys[i]);
    }
    for (int status = 0; status <= 2; status++) {
        char tag[16];
        snprintf(tag, sizeof tag, "%d", status);
        if (!man_tags(tag))
            fail_msg("the man page does not list exit status %d", status);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        H_TEST(test_install_lays_out_the_files),
        H_TEST(test_installed_demo_plays),
        H_TEST(test_debian_package),
        H_TEST(test_man_page),
    };
    return cmocka_run_group_tests(tests, setup, h_teardown_tmpdir);
}
