/* events_file.c - reading an `events:` list (a session's, or a file of
 * events such as play --capture-events writes); see events_file.h. */
#include "events_file.h"
#include "errors.h"
#include "session_priv.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_ARGS 8

/* A plain scalar as YAML 1.2's core schema reads it (scalar_kind, the
 * session loader's): null, true, false, an int (decimal, 0o, 0x), a float,
 * or else a string. */
static struct ctl_arg scalar_arg(const yaml_node_t *n)
{
    const char *s = scalar(n), *digits = s + (*s == '-' || *s == '+');
    switch (scalar_kind(n)) {
    case SK_NULL: return (struct ctl_arg){.type = 'N'};
    case SK_TRUE: return (struct ctl_arg){.type = 'T'};
    case SK_FALSE: return (struct ctl_arg){.type = 'F'};
    case SK_INF: return (struct ctl_arg){.type = 'f', .f = *s == '-' ? -INFINITY : INFINITY};
    case SK_NAN: return (struct ctl_arg){.type = 'f', .f = NAN};
    case SK_NUMBER: break;
    default: return (struct ctl_arg){.type = 's', .s = s};
    }
    char *end;
    errno = 0;
    if (strspn(digits, "0123456789") == strlen(digits)) {
        long long i = strtoll(s, &end, 10);
        if (!*end && !errno)
            return (struct ctl_arg){.type = 'i', .i = i};
    } else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
        unsigned long long u = strtoull(s + 2, &end, s[1] == 'o' ? 8 : 16);
        if (!*end && !errno && u <= (unsigned long long)INT64_MAX)
            return (struct ctl_arg){.type = 'i', .i = (long long)u};
    }
    return (struct ctl_arg){.type = 'f', .f = strtod(s, NULL)};   /* or an int too large */
}

static int get_at(struct loader *L, const yaml_node_t *n, const char *what, double *at)
{
    char *end = NULL;
    double v = scalar_kind(n) == SK_NUMBER ? strtod(scalar(n), &end) : NAN;
    if (!end || *end || !isfinite(v) || v < 0) {
        fail(L, n, what, "expected seconds >= 0");
        return -1;
    }
    *at = v;
    return 0;
}

/* One item {at: SEC, osc: [ADDRESS, ARG...]} into ev. */
static void read_event(struct loader *L, const yaml_node_t *item, int index,
                       const struct ctl_names *names, const struct event_clock *clock,
                       struct event *ev)
{
    char what[64];
    snprintf(what, sizeof what, "events[%d]", index);
    if (item->type != YAML_MAPPING_NODE) {
        fail(L, item, what, "expected a mapping {at: SEC, osc: [ADDRESS, ARG...]}");
        return;
    }
    const yaml_node_t *at = NULL, *osc = NULL;
    for (yaml_node_pair_t *p = item->data.mapping.pairs.start;
         p < item->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
        const char *key = k->type == YAML_SCALAR_NODE ? scalar(k) : "";
        if (!strcmp(key, "at"))
            at = v;
        else if (!strcmp(key, "osc"))
            osc = v;
        else if (strcmp(key, "arrived") != 0)   /* what capture adds: when it arrived */
            return fail(L, k, what, "unknown key \"%s\" (at, osc, arrived)", key);
    }
    if (!at || !osc)
        return fail(L, item, what, "expected at: and osc:");
    double sec;
    snprintf(what, sizeof what, "events[%d].at", index);
    if (get_at(L, at, what, &sec) < 0)
        return;
    snprintf(what, sizeof what, "events[%d].osc", index);
    int n = osc->type == YAML_SEQUENCE_NODE
                ? (int)(osc->data.sequence.items.top - osc->data.sequence.items.start) : 0;
    if (n < 1 || n > MAX_ARGS + 1)
        return fail(L, osc, what, "expected [ADDRESS, ARG...] with at most %d arguments",
                    MAX_ARGS);
    yaml_node_t *addr = node(L, osc->data.sequence.items.start[0]);
    struct ctl_arg args[MAX_ARGS];
    for (int i = 1; i < n; i++) {
        yaml_node_t *a = node(L, osc->data.sequence.items.start[i]);
        if (a->type != YAML_SCALAR_NODE)
            return fail(L, a, what, "an argument must be a single value");
        args[i - 1] = scalar_arg(a);
    }
    if (addr->type != YAML_SCALAR_NODE)
        return fail(L, addr, what, "expected an address such as /shmix/track/0/gain_db");
    char reason[CTL_REASON_MAX];
    if (ctl_parse(scalar(addr), args, n - 1, names, &ev->m, reason, sizeof reason) < 0)
        return fail(L, addr, what, "%s", reason);
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
    struct loader L = {.file = path, .err = err, .cap = cap};
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    int loaded = yaml_parser_load(&parser, &L.doc);
    if (!loaded) {
        snprintf(err, cap, "%s:%zu:%zu: %s", path, parser.problem_mark.line + 1,
                 parser.problem_mark.column + 1, parser.problem ? parser.problem : "not YAML");
        yaml_parser_delete(&parser);
        fclose(f);
        return SHX_ESESSION;
    }
    yaml_parser_delete(&parser);
    fclose(f);
    yaml_node_t *root = yaml_document_get_root_node(&L.doc);
    yaml_node_t *list = NULL;
    if (root && root->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
             p < root->data.mapping.pairs.top; p++) {
            yaml_node_t *k = node(&L, p->key);
            if (k->type == YAML_SCALAR_NODE && !strcmp(scalar(k), "events"))
                list = node(&L, p->value);
            else if (alone)
                fail(&L, k, "events file", "only an events: list belongs here");
        }
    } else if (alone) {
        fail(&L, root, "events file", "expected events: [...]");
    }
    int n = 0;
    struct event *ev = NULL;
    if (list && !L.failed) {
        if (list->type == YAML_SCALAR_NODE && scalar_kind(list) == SK_NULL) {
            n = 0;   /* "events:" with nothing (or null): none */
        } else if (list->type != YAML_SEQUENCE_NODE) {
            fail(&L, list, "events", "expected a list of {at: SEC, osc: [ADDRESS, ARG...]}");
        } else {
            n = (int)(list->data.sequence.items.top - list->data.sequence.items.start);
            ev = calloc((size_t)n + 1, sizeof *ev);
            if (!ev)
                fail(&L, list, "events", "out of memory");
            for (int i = 0; i < n && !L.failed; i++)
                read_event(&L, node(&L, list->data.sequence.items.start[i]), i, names, clock,
                           &ev[i]);
        }
    }
    yaml_document_delete(&L.doc);
    if (L.failed) {
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
