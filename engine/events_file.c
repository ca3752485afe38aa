/* events_file.c - reading an `events:` list (a session's, or a file of
 * events such as play --capture-events writes); see events_file.h. */
#include "events_file.h"
#include "errors.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_ARGS 8

struct reader {
    const char *path;
    yaml_document_t doc;
    char *err;
    size_t cap;
    int failed;
};

static void fail(struct reader *R, const yaml_node_t *n, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(struct reader *R, const yaml_node_t *n, const char *what, const char *fmt, ...)
{
    if (R->failed)
        return;
    R->failed = 1;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(R->err, R->cap, "%s:%zu:%zu: %s: %s", R->path, n ? n->start_mark.line + 1 : 1,
             n ? n->start_mark.column + 1 : 1, what, msg);
}

static yaml_node_t *node(struct reader *R, int id)
{
    return yaml_document_get_node(&R->doc, id);
}

static const char *text(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static int plain(const yaml_node_t *n)
{
    return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* A plain scalar read as YAML 1.2's core schema reads it. */
static struct ctl_arg scalar_arg(const yaml_node_t *n)
{
    const char *s = text(n);
    struct ctl_arg a = {.type = 's', .s = s};
    if (!plain(n))
        return a;
    if (!strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL")
        || !*s)
        return (struct ctl_arg){.type = 'N'};
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return (struct ctl_arg){.type = 'T'};
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return (struct ctl_arg){.type = 'F'};
    char *end;
    errno = 0;
    long long i = strtoll(s, &end, 10);
    if (*s && !*end && !errno && strspn(s, "+-0123456789") == strlen(s))
        return (struct ctl_arg){.type = 'i', .i = i};
    double d = strtod(s, &end);
    if (*s && !*end && strspn(s, "+-0123456789.eE") == strlen(s) && strpbrk(s, "0123456789"))
        return (struct ctl_arg){.type = 'f', .f = d};
    return a;
}

static int get_at(struct reader *R, const yaml_node_t *n, const char *what, double *at)
{
    char *end = NULL;
    double v = n->type == YAML_SCALAR_NODE && plain(n) ? strtod(text(n), &end) : NAN;
    if (!end || *end || !isfinite(v) || v < 0) {
        fail(R, n, what, "expected seconds >= 0");
        return -1;
    }
    *at = v;
    return 0;
}

/* One item {at: SEC, osc: [ADDRESS, ARG...]} into ev. */
static void read_event(struct reader *R, const yaml_node_t *item, int index,
                       const struct ctl_names *names, const struct event_clock *clock,
                       struct event *ev)
{
    char what[64];
    snprintf(what, sizeof what, "events[%d]", index);
    if (item->type != YAML_MAPPING_NODE) {
        fail(R, item, what, "expected a mapping {at: SEC, osc: [ADDRESS, ARG...]}");
        return;
    }
    const yaml_node_t *at = NULL, *osc = NULL;
    for (yaml_node_pair_t *p = item->data.mapping.pairs.start;
         p < item->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(R, p->key), *v = node(R, p->value);
        const char *key = k->type == YAML_SCALAR_NODE ? text(k) : "";
        if (!strcmp(key, "at"))
            at = v;
        else if (!strcmp(key, "osc"))
            osc = v;
        else if (strcmp(key, "arrived") != 0)   /* what capture adds: when it arrived */
            return fail(R, k, what, "unknown key \"%s\" (at, osc, arrived)", key);
    }
    if (!at || !osc)
        return fail(R, item, what, "expected at: and osc:");
    double sec;
    snprintf(what, sizeof what, "events[%d].at", index);
    if (get_at(R, at, what, &sec) < 0)
        return;
    snprintf(what, sizeof what, "events[%d].osc", index);
    int n = osc->type == YAML_SEQUENCE_NODE
                ? (int)(osc->data.sequence.items.top - osc->data.sequence.items.start) : 0;
    if (n < 1 || n > MAX_ARGS + 1)
        return fail(R, osc, what, "expected [ADDRESS, ARG...] with at most %d arguments",
                    MAX_ARGS);
    yaml_node_t *addr = node(R, osc->data.sequence.items.start[0]);
    struct ctl_arg args[MAX_ARGS];
    for (int i = 1; i < n; i++) {
        yaml_node_t *a = node(R, osc->data.sequence.items.start[i]);
        if (a->type != YAML_SCALAR_NODE)
            return fail(R, a, what, "an argument must be a single value");
        args[i - 1] = scalar_arg(a);
    }
    if (addr->type != YAML_SCALAR_NODE)
        return fail(R, addr, what, "expected an address such as /shmix/track/0/gain_db");
    char reason[CTL_REASON_MAX];
    if (ctl_parse(text(addr), args, n - 1, names, &ev->m, reason, sizeof reason) < 0)
        return fail(R, addr, what, "%s", reason);
    /* The first output block at or after `at`: a captured time is a block
     * boundary exactly (its printed digits round back to it). */
    double blocks = sec * clock->rate / clock->block;
    ev->o = (int64_t)ceil(blocks - 1e-6);
}

static int by_time(const void *a, const void *b)
{
    const struct event *x = a, *y = b;
    return x->o < y->o ? -1 : x->o > y->o ? 1 : 0;
}

int events_load(const char *path, int alone, const struct ctl_names *names,
                const struct event_clock *clock, struct event **out, int *count, char *err,
                size_t cap)
{
    *out = NULL;
    *count = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, cap, "%s: cannot open: %s", path, strerror(errno));
        return SHX_EIO;
    }
    struct reader R = {.path = path, .err = err, .cap = cap};
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    int loaded = yaml_parser_load(&parser, &R.doc);
    if (!loaded) {
        snprintf(err, cap, "%s:%zu:%zu: %s", path, parser.problem_mark.line + 1,
                 parser.problem_mark.column + 1, parser.problem ? parser.problem : "not YAML");
        yaml_parser_delete(&parser);
        fclose(f);
        return SHX_ESESSION;
    }
    yaml_parser_delete(&parser);
    fclose(f);
    yaml_node_t *root = yaml_document_get_root_node(&R.doc);
    yaml_node_t *list = NULL;
    if (root && root->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
             p < root->data.mapping.pairs.top; p++) {
            yaml_node_t *k = node(&R, p->key);
            if (k->type == YAML_SCALAR_NODE && !strcmp(text(k), "events"))
                list = node(&R, p->value);
            else if (alone)
                fail(&R, k, "events file", "only an events: list belongs here");
        }
    } else if (alone) {
        fail(&R, root, "events file", "expected events: [...]");
    }
    int n = 0;
    struct event *ev = NULL;
    if (list && !R.failed) {
        if (list->type == YAML_SCALAR_NODE && plain(list) && !*text(list)) {
            n = 0;   /* "events:" with nothing: none */
        } else if (list->type != YAML_SEQUENCE_NODE) {
            fail(&R, list, "events", "expected a list of {at: SEC, osc: [ADDRESS, ARG...]}");
        } else {
            n = (int)(list->data.sequence.items.top - list->data.sequence.items.start);
            ev = calloc((size_t)n + 1, sizeof *ev);
            if (!ev)
                fail(&R, list, "events", "out of memory");
            for (int i = 0; i < n && !R.failed; i++)
                read_event(&R, node(&R, list->data.sequence.items.start[i]), i, names, clock,
                           &ev[i]);
        }
    }
    yaml_document_delete(&R.doc);
    if (R.failed) {
        free(ev);
        return SHX_ESESSION;
    }
    /* In time order; messages at the same time in the order written
     * (insertion sort: qsort is not stable, and lists are short and
     * nearly sorted). */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && by_time(&ev[j - 1], &ev[j]) > 0; j--) {
            struct event t = ev[j];
            ev[j] = ev[j - 1];
            ev[j - 1] = t;
        }
    *out = ev;
    *count = n;
    return SHX_OK;
}
