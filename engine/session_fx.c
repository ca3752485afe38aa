/* session_fx.c - the one-track session `shmix fx` stands for, built in
 * memory: a sound file, a script, --param KEY=VALUE texts read as a
 * session's params are. Part of the session loader (session_priv.h). */
#include "session_priv.h"
#include "errors.h"
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* One --param's VALUE, which must be one YAML scalar, as JSON: the text is
 * parsed as a YAML document of its own, so quoting works as in a session
 * ('007' is a string) and the scalar resolves exactly as a params value in
 * a session file does. An empty VALUE is null, as `key:` is in YAML. */
static int put_param_value(struct loader *L, const char *value, struct json *j)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)value, strlen(value));
    if (!yaml_parser_load(&parser, &doc)) {
        fail(L, NULL, NULL, "YAML: %s%s%s", parser.problem ? parser.problem : "cannot parse",
             parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return 0;
    }
    yaml_parser_delete(&parser);
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    int ok = 0;
    if (!root)
        ok = json_put(j, "null");
    else if (root->type != YAML_SCALAR_NODE)
        fail(L, root, NULL, "expected one YAML scalar, got %s (quote it to make it a string)",
             kind_name(root));
    else
        ok = put_scalar(L, root, NULL, j);
    yaml_document_delete(&doc);
    return ok;
}

/* The length of a KEY=VALUE's KEY. */
static size_t key_len(const char *kv)
{
    return strcspn(kv, "=");
}

/* params as a JSON object from KEY=VALUE texts; a KEY given again replaces
 * the earlier value (the last one wins, as with repeated options). */
static int params_from_args(struct loader *L, const char *const *kv, int n)
{
    struct json j = {0};
    int ok = json_put(&j, "{"), first = 1;
    for (int i = 0; ok && i < n; i++) {
        size_t k = key_len(kv[i]);
        int later = 0;
        for (int m = i + 1; m < n && !later; m++)
            later = key_len(kv[m]) == k && !strncmp(kv[m], kv[i], k);
        if (later)
            continue;
        char where[128];
        snprintf(where, sizeof where, "fx: --param %.*s", (int)(k < 64 ? k : 64), kv[i]);
        L->where = where;
        char *key = strndup(kv[i], k);
        ok = key && (first || json_put(&j, ",")) && json_str(&j, key) && json_put(&j, ":")
             && put_param_value(L, kv[i] + k + 1, &j);
        free(key);
        first = 0;
        if (!ok && !L->failed)
            fail(L, NULL, NULL, "out of memory");
    }
    L->where = "fx: --param";
    if (ok && (!json_put(&j, "}") || j.failed))
        fail(L, NULL, NULL, "out of memory");
    else if (ok && j.len > PARAMS_MAX)
        fail(L, NULL, NULL, "longer than %d bytes as JSON", PARAMS_MAX);
    if (L->failed) {
        json_free(&j);
        return 0;
    }
    L->s->tracks[0].params_json = j.p;
    return 1;
}

int session_one_track(const struct session_one *o, struct session **out, char *err,
                      size_t cap)
{
    struct session *s = session_new(o->file);
    struct session_track *t = s ? (s->tracks = calloc(1, sizeof *s->tracks)) : NULL;
    if (t) {
        s->ntracks = 1;
        s->in_memory = 1;
        s->channels = o->channels;
        t->file = strdup(o->file);
        t->file_arg = strdup(o->file);
        /* As typed, relative to the working folder, so that a worker's
         * messages name it as the user wrote it ("x.py:12: ..."). */
        t->script = strdup(o->script);
        t->script_arg = strdup(o->script);
    }
    if (!t || !t->file || !t->file_arg || !t->script || !t->script_arg) {
        session_destroy(s);
        snprintf(err, cap, "out of memory");
        return SHX_ENOMEM;
    }
    default_name(t, 0);
    struct stat st;
    struct loader L = {.s = s, .file = s->path, .err = err, .cap = cap};
    int rc = SHX_EIO;
    if (stat(o->script, &st) != 0)
        snprintf(err, cap, "%s: cannot open: %s", o->script, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        snprintf(err, cap, "%s: is not a file", o->script);
    else
        rc = params_from_args(&L, o->params, o->nparams) ? SHX_OK : SHX_EUSAGE;
    if (rc == SHX_OK) {
        *out = s;
        return SHX_OK;
    }
    one_line(err);
    session_destroy(s);
    return rc;
}
