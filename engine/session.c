/* session.c - loading and validating a session file with libyaml.
 *
 * The document is loaded whole (libyaml's document API keeps each node's
 * position), then walked once. Every check names its place as
 * FILE:LINE:COL and the key path (tracks[1].gain_db). The first error wins. */
#include "session_priv.h"
#include "errors.h"
#include "json.h"
#include "utf8.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>


/* Error messages quote the user's text (keys, values, paths), which may
 * hold newlines or other control bytes; the message must stay one line.
 * Found by fuzz_session: a multi-line plain key. */
void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = *s == '\n' || *s == '\t' || *s == '\r' ? ' ' : '?';
}

void fail(struct loader *L, const yaml_node_t *n, const char *path, const char *fmt, ...)
{
    if (L->failed)
        return;
    L->failed = 1;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line = n ? (int)n->start_mark.line + 1 : 1;
    int col = n ? (int)n->start_mark.column + 1 : 1;
    if (L->where)   /* a value from the command line: no file to point into */
        snprintf(L->err, L->cap, "%s: %s%s%s", L->where, path ? path : "", path ? ": " : "",
                 msg);
    else
        snprintf(L->err, L->cap, "%s:%d:%d: %s%s%s", L->file, line, col,
                 path ? path : "", path ? ": " : "", msg);
    one_line(L->err);
}

void session_error_at(const struct session *s, struct session_pos pos,
                      char *err, size_t cap, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, cap, "%s:%d:%d: %s", s->path, pos.line, pos.col, msg);
    one_line(err);
}

void session_track_error(const struct session *s, int i, int script, const char *why,
                         char *err, size_t cap)
{
    const struct session_track *t = &s->tracks[i];
    if (!s->in_memory) {
        if (script)
            session_error_at(s, t->script_pos, err, cap, "tracks[%d].script: %s", i, why);
        else
            session_error_at(s, t->file_pos, err, cap, "tracks[%d].file: \"%s\" %s", i,
                             t->file_arg, why);
        return;
    }
    /* A worker's summary names the script already ("x.py:12: ..."). */
    const char *arg = script ? t->script_arg : t->file_arg;
    size_t n = strlen(arg);
    if (script && !strncmp(why, arg, n) && why[n] == ':')
        snprintf(err, cap, "%s", why);
    else
        snprintf(err, cap, "%s: %s", arg, why);
    one_line(err);
}

const char *kind_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE: return "a mapping";
    case YAML_SEQUENCE_NODE: return "a sequence";
    default: return "a scalar";
    }
}

const char *scalar(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int plain(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* "got ..." for a value of the wrong type. */
void got(const yaml_node_t *n, char *buf, size_t cap)
{
    const char *v = scalar(n);
    if (!v)
        snprintf(buf, cap, "%s", kind_name(n));
    else if (plain(n) && (!*v || !strcmp(v, "~") || !strcmp(v, "null")))
        snprintf(buf, cap, "nothing");
    else
        snprintf(buf, cap, "\"%.60s\"", v);
}

static int parse_number(const yaml_node_t *n, double *out)
{
    const char *v = scalar(n);
    if (!v || !plain(n) || !*v)
        return 0;
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (*end || errno || !isfinite(d))
        return 0;
    *out = d;
    return 1;
}

static double get_number(struct loader *L, const yaml_node_t *n, const char *path,
                         double lo, double hi)
{
    double d;
    char g[80];
    if (!parse_number(n, &d)) {
        got(n, g, sizeof g);
        fail(L, n, path, "expected a number, got %s", g);
        return lo;
    }
    if (d < lo || d > hi)
        fail(L, n, path, "%s is out of range %g..%g", scalar(n), lo, hi);
    return d;
}

static int get_int(struct loader *L, const yaml_node_t *n, const char *path,
                   long lo, long hi)
{
    double d;
    char g[80];
    if (!parse_number(n, &d) || d != floor(d) || strpbrk(scalar(n), ".eE")) {
        got(n, g, sizeof g);
        fail(L, n, path, "expected an integer, got %s", g);
        return (int)lo;
    }
    if (d < (double)lo || d > (double)hi) {
        fail(L, n, path, "%s is out of range %ld..%ld", scalar(n), lo, hi);
        return (int)lo;   /* (int)d is undefined for a huge d; found by fuzz_session */
    }
    return (int)d;
}

/* What a plain or quoted scalar is as YAML reads it (see scalar_kind). */

static int get_bool(struct loader *L, const yaml_node_t *n, const char *path)
{
    enum scalar_kind k = n->type == YAML_SCALAR_NODE ? scalar_kind(n) : SK_STRING;
    if (k == SK_TRUE || k == SK_FALSE)
        return k == SK_TRUE;
    char g[80];
    got(n, g, sizeof g);
    fail(L, n, path, "expected true or false, got %s", g);
    return 0;
}

const char *get_string(struct loader *L, const yaml_node_t *n, const char *path)
{
    const char *v = scalar(n);
    if (!v) {
        fail(L, n, path, "expected a string, got %s", kind_name(n));
        return NULL;
    }
    if (!*v) {
        fail(L, n, path, "must not be empty");
        return NULL;
    }
    return v;
}

yaml_node_t *node(struct loader *L, int id)
{
    return yaml_document_get_node(&L->doc, id);
}

int expect_kind(struct loader *L, const yaml_node_t *n, yaml_node_type_t t, const char *path)
{
    if (n->type == t)
        return 1;
    fail(L, n, path, "expected %s, got %s",
         t == YAML_MAPPING_NODE ? "a mapping" : "a sequence", kind_name(n));
    return 0;
}

void walk(struct loader *L, yaml_node_t *map, const char *prefix, const char *const *names,
          void *ctx, key_fn fn, unsigned *seen)
{
    *seen = 0;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top && !L->failed; p++) {
        yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
        const char *key = scalar(k);
        char path[160];
        if (!key) {
            fail(L, k, prefix[0] ? prefix : NULL, "keys must be plain words");
            return;
        }
        /* Only messages show the path: one cut short names a key too long
         * to be any of ours, which the lookup below says. */
        if (snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", key)
            >= (int)sizeof path)
            memcpy(path + sizeof path - 4, "...", 4);
        int which = -1;
        for (int i = 0; names[i]; i++)
            if (!strcmp(names[i], key))
                which = i;
        if (which < 0) {
            fail(L, k, path, "unknown key");
            return;
        }
        if (*seen & (1u << which)) {
            fail(L, k, path, "duplicate key");
            return;
        }
        *seen |= 1u << which;
        fn(L, ctx, which, v, path);
    }
}

static void require(struct loader *L, yaml_node_t *map, const char *path,
                    unsigned seen, int which, const char *name)
{
    if (!(seen & (1u << which)))
        fail(L, map, path, "missing required key \"%s\"", name);
}

/* ---- params: any YAML mapping, handed to the script as JSON ---- */

/* Whether all of v matches what each of the YAML 1.2 core schema's plain
 * scalars looks like. */
static int all_of(const char *v, const char *set)
{
    return *v && strspn(v, set) == strlen(v);
}

static int is_null(const char *v)
{
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null")
           || !strcmp(v, "NULL");
}

/* [-+]? ( . digits | digits ( . digits? )? ) ( [eE] [-+]? digits )? */
static int is_float(const char *v)
{
    const char *p = v + (*v == '-' || *v == '+');
    size_t whole = strspn(p, "0123456789"), frac = 0;
    p += whole;
    if (*p == '.')
        p += 1 + (frac = strspn(p + 1, "0123456789"));
    if (whole + frac == 0)
        return 0;
    if (*p == 'e' || *p == 'E') {
        p += 1 + (p[1] == '-' || p[1] == '+');
        size_t exp = strspn(p, "0123456789");
        if (!exp)
            return 0;
        p += exp;
    }
    return *p == '\0';
}

/* A number as JSON that Python reads as the same int or float. */
static int put_number(struct loader *L, yaml_node_t *n, const char *path, struct json *j)
{
    const char *v = scalar(n), *digits = v + (*v == '-' || *v == '+');
    if (all_of(digits, "0123456789")) {   /* an int: JSON allows no '+' or leading 0 */
        while (digits[0] == '0' && digits[1])
            digits++;
        return json_fmt(j, "%s%s", *v == '-' && strcmp(digits, "0") ? "-" : "", digits);
    }
    if ((v[0] == '0' && (v[1] == 'o' || v[1] == 'x')) && v[2]) {   /* 0o17, 0x1f */
        char *end;
        errno = 0;
        unsigned long long u = strtoull(v + 2, &end, v[1] == 'o' ? 8 : 16);
        if (*end || errno) {
            fail(L, n, path, "%.40s: not a number shmix can carry", v);
            return 0;
        }
        return json_fmt(j, "%llu", u);
    }
    double d = strtod(v, NULL);
    if (!isfinite(d)) {
        fail(L, n, path, "%.40s: too large for a float", v);
        return 0;
    }
    char buf[40];
    snprintf(buf, sizeof buf, "%.17g", d);
    return json_put(j, buf) && (strpbrk(buf, ".e") || json_put(j, ".0"));   /* still a float */
}

/* Floats as .5, 1.5e+3, .inf and .nan. */
enum scalar_kind scalar_kind(const yaml_node_t *n)
{
    const char *v = scalar(n);
    if (!v || !plain(n))
        return SK_STRING;
    if (is_null(v))
        return SK_NULL;
    if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))
        return SK_TRUE;
    if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))
        return SK_FALSE;
    const char *u = v + (*v == '-' || *v == '+');
    if (!strcmp(u, ".inf") || !strcmp(u, ".Inf") || !strcmp(u, ".INF"))
        return SK_INF;
    if (!strcmp(v, ".nan") || !strcmp(v, ".NaN") || !strcmp(v, ".NAN"))
        return SK_NAN;
    if (is_float(v) || ((v[0] == '0' && (v[1] == 'o' || v[1] == 'x'))
                        && all_of(v + 2, v[1] == 'o' ? "01234567" : "0123456789abcdefABCDEF")))
        return SK_NUMBER;
    return SK_STRING;
}

/* A scalar as JSON that Python reads as the same value: `.5`, `+2`,
 * `1.5e+3`, `007` and `~` reach it as 0.5, 2, 1500.0, 7 and None, as
 * yaml.safe_load would give them. */
int put_scalar(struct loader *L, yaml_node_t *n, const char *path, struct json *j)
{
    const char *v = scalar(n);
    if (strlen(v) > PARAMS_MAX) {   /* never converted: the text would be too long anyway */
        fail(L, n, path, "longer than %d bytes as JSON", PARAMS_MAX);
        return 0;
    }
    switch (scalar_kind(n)) {
    case SK_NULL: return json_put(j, "null");
    case SK_TRUE: return json_put(j, "true");
    case SK_FALSE: return json_put(j, "false");
    case SK_INF: return json_put(j, *v == '-' ? "-Infinity" : "Infinity");   /* Python's json reads these */
    case SK_NAN: return json_put(j, "NaN");
    case SK_NUMBER: return put_number(L, n, path, j);
    default: return json_str(j, v);
    }
}

/* A mapping's key: a string (a key that YAML reads as a number, a bool or
 * null, or a sequence or mapping, has no JSON form a script would see as
 * written). */
static int put_key(struct loader *L, yaml_node_t *k, const char *path, struct json *j)
{
    if (k->type != YAML_SCALAR_NODE || scalar_kind(k) != SK_STRING) {
        char g[80];
        got(k, g, sizeof g);
        fail(L, k, path, "keys must be strings, got %s", g);
        return 0;
    }
    return put_scalar(L, k, path, j) && json_put(j, ":");
}

/* Converts node n. Stops as soon as the text is past PARAMS_MAX (the
 * caller rejects it): a few hundred bytes of nested YAML aliases stand for
 * billions of nodes ("billion laughs"), so the size is bounded while
 * converting, never after. Every node adds at least one byte, so a
 * conversion visits at most PARAMS_MAX + 1 nodes. Returns 0 after an error
 * (too deep, out of memory, a value it cannot carry: then L has failed). */
static int to_json(struct loader *L, yaml_node_t *n, const char *path, struct json *j,
                   int depth)
{
    if (depth > 32 || L->failed)
        return 0;
    if (j->len > PARAMS_MAX)
        return 1;
    if (n->type == YAML_SCALAR_NODE)
        return put_scalar(L, n, path, j);
    int ok = 1;
    if (n->type == YAML_SEQUENCE_NODE) {
        ok = json_put(j, "[");
        for (yaml_node_item_t *i = n->data.sequence.items.start;
             ok && i < n->data.sequence.items.top && j->len <= PARAMS_MAX; i++) {
            if (i != n->data.sequence.items.start)
                ok = json_put(j, ",");
            ok = ok && to_json(L, node(L, *i), path, j, depth + 1);
        }
        return ok && json_put(j, "]");
    }
    ok = json_put(j, "{");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         ok && p < n->data.mapping.pairs.top && j->len <= PARAMS_MAX; p++) {
        if (p != n->data.mapping.pairs.start)
            ok = json_put(j, ",");
        ok = ok && put_key(L, node(L, p->key), path, j)
             && to_json(L, node(L, p->value), path, j, depth + 1);
    }
    return ok && json_put(j, "}");
}

/* ---- paths ---- */

char *resolve(const struct session *s, const char *p)
{
    size_t n = strlen(s->dir) + strlen(p) + 2;
    char *r = malloc(n);
    if (!r)
        return NULL;
    if (p[0] == '/')
        snprintf(r, n, "%s", p);
    else
        snprintf(r, n, "%s/%s", s->dir, p);
    return r;
}

/* ---- the keys ---- */

static const char *const top_keys[] = {"sample_rate", "block_size", "channels", "master",
                                       "loop", "supervisor", "tracks", "events", "python",
                                       "script_block", NULL};
/* events: is read by events_file.c, with the tracks known (render). */
enum { K_RATE, K_BLOCK, K_CHANNELS, K_MASTER, K_LOOP, K_SUPERVISOR, K_TRACKS, K_EVENTS,
       K_PYTHON, K_SCRIPT_BLOCK };
static const char *const master_keys[] = {"gain_db", NULL};
static const char *const loop_keys[] = {"start", "end", NULL};
static const char *const sup_keys[] = {"max_restarts", "window", "hang_timeout",
                                       "worker_memory_mb", NULL};
static const char *const track_keys[] = {"name", "file", "gain_db", "pan", "mute", "solo",
                                         "offset", "script", "params", "on_fault", NULL};
enum { T_NAME, T_FILE, T_GAIN, T_PAN, T_MUTE, T_SOLO, T_OFFSET, T_SCRIPT, T_PARAMS,
       T_ON_FAULT };

static void master_key(struct loader *L, void *ctx, int which, yaml_node_t *v,
                       const char *path)
{
    (void)ctx;
    (void)which;
    L->s->master_gain_db = get_number(L, v, path, -120, 24);
}

static void loop_key(struct loader *L, void *ctx, int which, yaml_node_t *v,
                     const char *path)
{
    (void)ctx;
    double d = get_number(L, v, path, 0, 86400);
    if (which == 0)
        L->s->loop_start = d;
    else
        L->s->loop_end = d;
}

static void sup_key(struct loader *L, void *ctx, int which, yaml_node_t *v,
                    const char *path)
{
    (void)ctx;
    struct session *s = L->s;
    switch (which) {
    case 0: s->max_restarts = get_int(L, v, path, 0, 1000); break;
    case 1: s->window = get_number(L, v, path, 0.1, 86400); break;
    case 2: s->hang_timeout = get_number(L, v, path, 0.01, 60); break;
    default: s->worker_memory_mb = get_int(L, v, path, 64, 1048576); break;
    }
}

struct track_ctx {
    struct session_track *t;
    yaml_node_t *name_node;
};

/* tracks[i].file or .script: kept as written (for messages) and resolved
 * against the session's folder; a script must be a file that exists. */
static void track_path(struct loader *L, struct session_track *t, int script, yaml_node_t *v,
                       const char *path)
{
    const char *str = get_string(L, v, path);
    if (!str)
        return;
    char **arg = script ? &t->script_arg : &t->file_arg;
    char **res = script ? &t->script : &t->file;
    struct session_pos *pos = script ? &t->script_pos : &t->file_pos;
    *arg = strdup(str);
    *res = resolve(L->s, str);
    pos->line = (int)v->start_mark.line + 1;
    pos->col = (int)v->start_mark.column + 1;
    if (script && *res) {
        struct stat st;
        if (stat(*res, &st) != 0)
            fail(L, v, path, "cannot open \"%s\": %s", str, strerror(errno));
        else if (!S_ISREG(st.st_mode))
            fail(L, v, path, "\"%s\" is not a file", str);
    }
}

/* tracks[i].params: any mapping, handed to the script as JSON. */
static void track_params(struct loader *L, struct session_track *t, yaml_node_t *v,
                         const char *path)
{
    if (!expect_kind(L, v, YAML_MAPPING_NODE, path))
        return;
    struct json j = {0};
    if (!to_json(L, v, path, &j, 0) && !L->failed)
        fail(L, v, path, "cannot be converted (too deep or out of memory)");
    else if (j.len > PARAMS_MAX)
        fail(L, v, path, "longer than %d bytes as JSON", PARAMS_MAX);
    free(t->params_json);
    t->params_json = j.p;
}

static void track_key(struct loader *L, void *ctx, int which, yaml_node_t *v,
                      const char *path)
{
    struct track_ctx *c = ctx;
    struct session_track *t = c->t;
    const char *str;
    switch (which) {
    case T_NAME:
        if ((str = get_string(L, v, path)) == NULL)
            return;
        if (strlen(str) >= sizeof t->name)
            fail(L, v, path, "longer than %zu characters", sizeof t->name - 1);
        else
            snprintf(t->name, sizeof t->name, "%s", str);
        c->name_node = v;
        break;
    case T_FILE:
    case T_SCRIPT:
        track_path(L, t, which == T_SCRIPT, v, path);
        break;
    case T_GAIN: t->gain_db = get_number(L, v, path, -120, 24); break;
    case T_PAN: t->pan = get_number(L, v, path, -1, 1); break;
    case T_MUTE: t->mute = get_bool(L, v, path); break;
    case T_SOLO: t->solo = get_bool(L, v, path); break;
    case T_OFFSET: t->offset = get_number(L, v, path, 0, 86400); break;
    case T_PARAMS: track_params(L, t, v, path); break;
    default:
        str = scalar(v);
        /* Plain, 'single' or "double" quoted: a string either way. */
        if (str && !strcmp(str, "bypass"))
            t->on_fault = ON_FAULT_BYPASS;
        else if (str && !strcmp(str, "mute"))
            t->on_fault = ON_FAULT_MUTE;
        else {
            char g[80];
            got(v, g, sizeof g);
            fail(L, v, path, "expected bypass or mute, got %s", g);
        }
    }
}

void default_name(struct session_track *t, int index)
{
    const char *base = strrchr(t->file_arg, '/');
    base = base ? base + 1 : t->file_arg;
    size_t n = strcspn(base, ".");
    if (n == 0)
        n = strlen(base);
    n = utf8_cut(base, n, sizeof t->name - 1);   /* never inside a character */
    memcpy(t->name, base, n);
    t->name[n] = '\0';
    if (!t->name[0])   /* "stems/" or ".wav": no stem to name it by (fuzz_session) */
        snprintf(t->name, sizeof t->name, "track %d", index + 1);
}

static void load_tracks(struct loader *L, yaml_node_t *seq)
{
    struct session *s = L->s;
    if (!expect_kind(L, seq, YAML_SEQUENCE_NODE, "tracks"))
        return;
    int n = (int)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    if (n == 0) {
        fail(L, seq, "tracks", "at least one track is required");
        return;
    }
    s->tracks = calloc((size_t)n, sizeof *s->tracks);
    if (!s->tracks) {
        fail(L, seq, "tracks", "out of memory");
        return;
    }
    for (int i = 0; i < n && !L->failed; i++) {
        yaml_node_t *tn = node(L, seq->data.sequence.items.start[i]);
        struct session_track *t = &s->tracks[i];
        char path[32];
        snprintf(path, sizeof path, "tracks[%d]", i);
        s->ntracks = i + 1;
        if (!expect_kind(L, tn, YAML_MAPPING_NODE, path))
            return;
        struct track_ctx c = {t, NULL};
        unsigned seen;
        walk(L, tn, path, track_keys, &c, track_key, &seen);
        require(L, tn, path, seen, T_FILE, "file");
        if (L->failed)
            return;
        if (!t->params_json)
            t->params_json = strdup("{}");
        if (!t->name[0])
            default_name(t, i);
        for (int k = 0; k < i; k++)
            if (!strcmp(s->tracks[k].name, t->name)) {
                char np[48];
                snprintf(np, sizeof np, "%s.name", path);
                if (c.name_node)
                    fail(L, c.name_node, np, "duplicate track name \"%s\"", t->name);
                else
                    fail(L, tn, np, "duplicate track name \"%s\" (from the file name; "
                                    "add a name)", t->name);
                return;
            }
    }
}

static void top_key(struct loader *L, void *ctx, int which, yaml_node_t *v,
                    const char *path)
{
    (void)ctx;
    struct session *s = L->s;
    unsigned seen;
    switch (which) {
    case K_RATE: s->sample_rate = get_int(L, v, path, 8000, 384000); break;
    case K_BLOCK: s->block_size = get_int(L, v, path, 16, 8192); break;
    case K_CHANNELS: s->channels = get_int(L, v, path, 1, 2); break;
    case K_MASTER:
        if (expect_kind(L, v, YAML_MAPPING_NODE, path))
            walk(L, v, path, master_keys, NULL, master_key, &seen);
        break;
    case K_LOOP:
        if (!expect_kind(L, v, YAML_MAPPING_NODE, path))
            break;
        walk(L, v, path, loop_keys, NULL, loop_key, &seen);
        require(L, v, path, seen, 0, "start");
        require(L, v, path, seen, 1, "end");
        if (!L->failed && s->loop_end <= s->loop_start)
            fail(L, v, "loop.end", "must be greater than loop.start");
        s->has_loop = 1;
        break;
    case K_SUPERVISOR:
        if (expect_kind(L, v, YAML_MAPPING_NODE, path))
            walk(L, v, path, sup_keys, NULL, sup_key, &seen);
        break;
    case K_EVENTS:
        s->has_events = 1;   /* read once the tracks are known (events_file.h) */
        break;
    case K_PYTHON:
        python_load(L, v, path);
        break;
    case K_SCRIPT_BLOCK:
        s->script_block = get_int(L, v, path, 16, SCRIPT_BLOCK_MAX);
        s->script_block_pos = (struct session_pos){(int)v->start_mark.line + 1,
                                                   (int)v->start_mark.column + 1};
        break;
    default:
        load_tracks(L, v);
    }
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/* A session with every default the format documents, named path; NULL
 * when out of memory. */
struct session *session_new(const char *path)
{
    struct session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->path = strdup(path);
    s->dir = dir_of(path);
    s->block_size = 256;
    s->channels = 2;
    s->max_restarts = 5;
    s->window = 10.0;
    s->hang_timeout = 0.5;
    s->worker_memory_mb = 1024;
    if (!s->path || !s->dir) {
        session_destroy(s);
        return NULL;
    }
    return s;
}

int session_load(const char *path, struct session **out, char *err, size_t cap)
{
    struct session *s = session_new(path);
    if (!s) {
        snprintf(err, cap, "%s: out of memory", path);
        return SHX_ENOMEM;
    }

    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, cap, "%s: %s", path, strerror(errno));
        session_destroy(s);
        return SHX_EIO;
    }
    struct loader L = {.s = s, .file = s->path, .err = err, .cap = cap};
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    int loaded = yaml_parser_load(&parser, &L.doc);
    fclose(f);
    if (!loaded) {
        const yaml_mark_t *m = parser.problem ? &parser.problem_mark : &parser.context_mark;
        snprintf(err, cap, "%s:%d:%d: YAML: %s%s%s", path, (int)m->line + 1,
                 (int)m->column + 1, parser.problem ? parser.problem : "cannot parse",
                 parser.context ? " " : "", parser.context ? parser.context : "");
        one_line(err);
        yaml_parser_delete(&parser);
        session_destroy(s);
        return SHX_ESESSION;
    }
    yaml_parser_delete(&parser);

    yaml_node_t *root = yaml_document_get_root_node(&L.doc);
    unsigned seen = 0;
    if (!root || (root->type == YAML_SCALAR_NODE && !*scalar(root)))
        fail(&L, NULL, NULL, "session is empty");
    else if (expect_kind(&L, root, YAML_MAPPING_NODE, "session"))
        walk(&L, root, "", top_keys, NULL, top_key, &seen);
    if (!L.failed && !(seen & (1u << K_TRACKS)))
        fail(&L, root, NULL, "missing required key \"tracks\"");
    yaml_document_delete(&L.doc);
    if (L.failed) {
        session_destroy(s);
        return SHX_ESESSION;
    }
    *out = s;
    return SHX_OK;
}

void session_destroy(struct session *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->ntracks; i++) {
        struct session_track *t = &s->tracks[i];
        free(t->file);
        free(t->file_arg);
        free(t->script);
        free(t->script_arg);
        free(t->params_json);
    }
    free(s->tracks);
    python_free(&s->python);
    free(s->path);
    free(s->dir);
    free(s);
}

int session_script_request(const struct session *s, int index, int sample_rate,
                           int block_size, int realtime, char *buf, size_t cap)
{
    const struct session_track *t = &s->tracks[index];
    if (!t->script)
        return SHX_EUSAGE;
    struct json j = {0};
    char nums[192];
    snprintf(nums, sizeof nums,
             ",\"sample_rate\":%d,\"block_size\":%d,\"channels\":%d,\"realtime\":%s,",
             sample_rate, block_size, s->channels, realtime ? "true" : "false");
    int ok = json_put(&j, "{\"script\":") && json_str(&j, t->script)
             && json_put(&j, ",\"track\":") && json_str(&j, t->name)
             && json_put(&j, nums) && json_put(&j, "\"params\":")
             && json_put(&j, t->params_json) && json_put(&j, "}");
    int rc = !ok ? SHX_ENOMEM : j.len >= cap ? SHX_EFULL : SHX_OK;
    if (rc == SHX_OK)
        memcpy(buf, j.p, j.len + 1);
    free(j.p);
    return rc;
}
