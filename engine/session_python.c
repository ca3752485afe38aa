/* session_python.c - the session's python: mapping: folders for the
 * workers' sys.path, a virtual environment whose packages they may import,
 * and modules the zygote imports once before it clones any worker.
 *
 * Everything a worker could trip over later is checked here, at load, with
 * the place in the file: a folder that is missing, a venv made by another
 * Python (its compiled packages would not load, or worse, load and crash),
 * a name that cannot be a module. Whether a module imports is only known
 * in Python: the zygote (or a cold worker) says so, and
 * session_python_error puts it at its place. */
#include "session_priv.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef SHMIX_PYTHON_VERSION
#define SHMIX_PYTHON_VERSION "3.11"
#endif

/* Each list is passed to every worker on its command line: a bound keeps
 * that far below ARG_MAX whatever the file holds. */
#define PYTHON_LIST_MAX 64
#define MODULE_NAME_MAX 255

static const char *const python_keys[] = {"path", "venv", "preload", NULL};
enum { P_PATH, P_VENV, P_PRELOAD };

/* An existing folder, made absolute: workers run in the engine's folder,
 * but an absolute path leaves Python nothing to interpret. */
static char *folder(struct loader *L, const yaml_node_t *v, const char *path, const char *str)
{
    char *rel = resolve(L->s, str);
    char *abs = rel ? realpath(rel, NULL) : NULL;
    int e = rel ? errno : ENOMEM;
    free(rel);
    struct stat st;
    if (!abs)
        fail(L, v, path, "cannot open \"%s\": %s", str, strerror(e));
    else if (stat(abs, &st) != 0 || !S_ISDIR(st.st_mode))
        fail(L, v, path, "\"%s\" is not a folder", str);
    else
        return abs;
    free(abs);
    return NULL;
}

/* The items of a sequence at v, or -1 after an error. */
static int items(struct loader *L, yaml_node_t *v, const char *path)
{
    if (!expect_kind(L, v, YAML_SEQUENCE_NODE, path))
        return -1;
    long n = (long)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n > PYTHON_LIST_MAX) {
        fail(L, v, path, "more than %d entries", PYTHON_LIST_MAX);
        return -1;
    }
    return (int)n;
}

static void load_path(struct loader *L, yaml_node_t *seq, const char *path)
{
    struct session_python *py = &L->s->python;
    int n = items(L, seq, path);
    if (n < 0)
        return;
    if (!(py->path = calloc((size_t)n + 1, sizeof *py->path))) {
        fail(L, seq, path, "out of memory");
        return;
    }
    for (int i = 0; i < n && !L->failed; i++) {
        yaml_node_t *v = node(L, seq->data.sequence.items.start[i]);
        char ip[48];
        snprintf(ip, sizeof ip, "%s[%d]", path, i);
        const char *str = get_string(L, v, ip);
        if (str && (py->path[i] = folder(L, v, ip, str)) != NULL)
            py->npath = i + 1;
    }
}

/* major.minor at the start of a version ("3.11.2", "3.11.2.final.0"). */
static int major_minor(const char *v, int *major, int *minor)
{
    return sscanf(v, "%d.%d", major, minor) == 2;
}

/* The Python version that made the venv at dir, from its pyvenv.cfg:
 * `version` (the venv module) or `version_info` (virtualenv, uv). Returns
 * 1 when found; 0 with *why set when not. */
static int venv_version(const char *dir, int *major, int *minor, const char **why)
{
    char cfg[PATH_MAX + 16];
    snprintf(cfg, sizeof cfg, "%s/pyvenv.cfg", dir);
    FILE *f = fopen(cfg, "r");
    if (!f) {
        *why = errno == ENOENT ? "no pyvenv.cfg" : strerror(errno);
        return 0;
    }
    char line[512];
    int have[2] = {0, 0}, mm[2][2];   /* [0]: version, [1]: version_info */
    int fresh = 1;   /* line starts a line of the file (not the rest of a long one) */
    while (fgets(line, sizeof line, f)) {
        int start = fresh;
        fresh = strchr(line, '\n') != NULL;
        char key[32], val[64];
        if (!start || sscanf(line, " %31[^= \t] = %63s", key, val) != 2)
            continue;
        int k = !strcmp(key, "version") ? 0 : !strcmp(key, "version_info") ? 1 : -1;
        if (k >= 0 && major_minor(val, &mm[k][0], &mm[k][1]))
            have[k] = 1;
    }
    int found = have[0] || have[1], k = have[0] ? 0 : 1;
    if (found) {
        *major = mm[k][0];
        *minor = mm[k][1];
    }
    fclose(f);
    if (!found)
        *why = "its pyvenv.cfg names no Python version";
    return found;
}

static void load_venv(struct loader *L, yaml_node_t *v, const char *path)
{
    struct session_python *py = &L->s->python;
    const char *str = get_string(L, v, path);
    char *dir = str ? folder(L, v, path, str) : NULL;
    if (!dir)
        return;
    int major, minor, want_major, want_minor;
    const char *why = NULL;
    if (!major_minor(SHMIX_PYTHON_VERSION, &want_major, &want_minor))
        fail(L, v, path, "shmix was built without a Python version");
    else if (!venv_version(dir, &major, &minor, &why))
        fail(L, v, path, "%s is not a virtual environment (%s)", str, why);
    else if (major != want_major || minor != want_minor)
        fail(L, v, path, "%s is Python %d.%d, shmix runs Python %s", str, major, minor,
             SHMIX_PYTHON_VERSION);
    if (L->failed) {
        free(dir);
        return;
    }
    /* Where the venv module (and virtualenv, uv) install packages on Linux. */
    char *site = NULL;
    struct stat st;
    if (asprintf(&site, "%s/lib/python%s/site-packages", dir, SHMIX_PYTHON_VERSION) < 0) {
        site = NULL;
        fail(L, v, path, "out of memory");
    } else if (stat(site, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fail(L, v, path, "%s has no lib/python%s/site-packages", str, SHMIX_PYTHON_VERSION);
    } else {
        py->site = site;
        site = NULL;
    }
    free(site);
    free(dir);
}

/* Dotted identifiers: "scipy.signal", "my_lib". Non-ASCII letters are
 * Python's business (it says so if they are not letters). */
static int module_name(const char *v)
{
    for (;;) {
        size_t n = 0;
        if (isdigit((unsigned char)*v))
            return 0;
        while (v[n] == '_' || isalnum((unsigned char)v[n]) || (unsigned char)v[n] >= 0x80)
            n++;
        if (n == 0)
            return 0;
        v += n;
        if (*v == '\0')
            return 1;
        if (*v++ != '.')
            return 0;
    }
}

static void load_preload(struct loader *L, yaml_node_t *seq, const char *path)
{
    struct session_python *py = &L->s->python;
    int n = items(L, seq, path);
    if (n < 0)
        return;
    py->preload = calloc((size_t)n + 1, sizeof *py->preload);
    py->preload_pos = calloc((size_t)n + 1, sizeof *py->preload_pos);
    if (!py->preload || !py->preload_pos) {
        fail(L, seq, path, "out of memory");
        return;
    }
    for (int i = 0; i < n && !L->failed; i++) {
        yaml_node_t *v = node(L, seq->data.sequence.items.start[i]);
        char ip[48];
        snprintf(ip, sizeof ip, "%s[%d]", path, i);
        const char *str = get_string(L, v, ip);
        if (!str)
            return;
        if (strlen(str) > MODULE_NAME_MAX || !module_name(str)) {
            fail(L, v, ip, "\"%.60s\" is not a module name", str);
            return;
        }
        if (!(py->preload[i] = strdup(str))) {
            fail(L, v, ip, "out of memory");
            return;
        }
        py->preload_pos[i] = (struct session_pos){(int)v->start_mark.line + 1,
                                                  (int)v->start_mark.column + 1};
        py->npreload = i + 1;
    }
}

static void python_key(struct loader *L, void *ctx, int which, yaml_node_t *v,
                       const char *path)
{
    (void)ctx;
    switch (which) {
    case P_PATH: load_path(L, v, path); break;
    case P_VENV: load_venv(L, v, path); break;
    default: load_preload(L, v, path); break;
    }
}

void python_load(struct loader *L, yaml_node_t *v, const char *path)
{
    if (!expect_kind(L, v, YAML_MAPPING_NODE, path))
        return;
    L->s->python.pos = (struct session_pos){(int)v->start_mark.line + 1,
                                            (int)v->start_mark.column + 1};
    unsigned seen;
    walk(L, v, path, python_keys, NULL, python_key, &seen);
}

void python_free(struct session_python *py)
{
    for (int i = 0; py->path && py->path[i]; i++)
        free(py->path[i]);
    for (int i = 0; py->preload && py->preload[i]; i++)
        free(py->preload[i]);
    free(py->path);
    free(py->preload);
    free(py->preload_pos);
    free(py->site);
    memset(py, 0, sizeof *py);
}

void session_python_error(const struct session *s, const char *what, char *err, size_t cap)
{
    const struct session_python *py = &s->python;
    static const char head[] = "cannot import ";
    size_t h = sizeof head - 1;
    for (int i = 0; i < py->npreload; i++) {
        size_t n = strlen(py->preload[i]);
        if (!strncmp(what, head, h) && !strncmp(what + h, py->preload[i], n)
            && what[h + n] == ':') {
            session_error_at(s, py->preload_pos[i], err, cap, "python.preload[%d]: %s", i, what);
            return;
        }
    }
    session_error_at(s, py->pos, err, cap, "python: %s", what);
}
