/* session_priv.h - the session loader's insides, shared by the files that
 * read parts of a session file: session.c (the document, most keys),
 * session_python.c (python:), session_fx.c (shmix fx's session) and
 * events_file.c (events:, read once the tracks are known). Not for anything
 * outside the loader.
 *
 * Main thread only, like session.h. Every helper reports the first
 * problem through fail() as "FILE:LINE:COL: key.path: message" and later
 * ones are dropped (L->failed). */
#ifndef SHX_SESSION_PRIV_H
#define SHX_SESSION_PRIV_H

#include "session.h"

#include <yaml.h>

#define PARAMS_MAX 8192   /* bytes of params as JSON; the LOAD request must fit the channel */

struct loader {
    struct session *s;       /* what is being loaded (NULL: events_file.c) */
    const char *file;        /* the file errors name: the session's path */
    yaml_document_t doc;
    char *err;
    size_t cap;
    int failed;
    const char *where;       /* what errors name instead of FILE:LINE:COL (a --param), or NULL */
};

/* Records the first error at node n (NULL: line 1, column 1) under key
 * path (NULL: none). */
void fail(struct loader *L, const yaml_node_t *n, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* "got ..." for a value of the wrong type: "a sequence", "nothing", "\"x\"". */
void got(const yaml_node_t *n, char *buf, size_t cap);
/* A non-empty string scalar, or NULL after an error. */
const char *get_string(struct loader *L, const yaml_node_t *n, const char *path);
/* The document's node number id. */
yaml_node_t *node(struct loader *L, int id);
/* 1 when n is a t (mapping or sequence), else an error and 0. */
int expect_kind(struct loader *L, const yaml_node_t *n, yaml_node_type_t t, const char *path);

/* Walks a mapping's keys against a list of known names (at most 32). For
 * each pair calls back with the key's index in names; rejects unknown and
 * duplicate keys and non-scalar keys; *seen gets a bit per key found. */
typedef void (*key_fn)(struct loader *L, void *ctx, int which, yaml_node_t *val,
                       const char *path);
void walk(struct loader *L, yaml_node_t *map, const char *prefix, const char *const *names,
          void *ctx, key_fn fn, unsigned *seen);

/* p resolved against the session's folder (malloc'ed; NULL: out of memory). */
char *resolve(const struct session *s, const char *p);

/* Shared with session_fx.c (shmix fx's session). */
struct json;
/* Makes an error message one line (newlines become spaces). */
void one_line(char *s);
/* "a mapping", "a sequence", "nothing", ... for messages. */
const char *kind_name(const yaml_node_t *n);
/* What a scalar is, as YAML 1.2's core schema resolves it: quoted ones
 * are strings; plain ones may be null, a bool, a number (SK_NUMBER: an int
 * in decimal, 0o octal or 0x hex, or a float; SK_INF, SK_NAN) or a
 * string. Anything but a scalar is SK_STRING. */
enum scalar_kind { SK_STRING, SK_NULL, SK_TRUE, SK_FALSE, SK_INF, SK_NAN, SK_NUMBER };
enum scalar_kind scalar_kind(const yaml_node_t *n);
/* A scalar's text (NULL for anything else). */
const char *scalar(const yaml_node_t *n);
/* A scalar as JSON, resolved as YAML 1.2's core schema reads it. */
int put_scalar(struct loader *L, yaml_node_t *n, const char *path, struct json *j);
/* The track's default name: its file's stem. */
void default_name(struct session_track *t, int index);
/* An empty session for path (NULL: out of memory). */
struct session *session_new(const char *path);

/* session_python.c: the python: mapping at v (key path `path`) into
 * L->s->python, and freeing what it holds. */
void python_load(struct loader *L, yaml_node_t *v, const char *path);
void python_free(struct session_python *py);

#endif
