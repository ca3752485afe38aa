/* control.c - control messages decoded and validated, replies encoded;
 * see control.h. liblo reads and writes the wire format; everything that
 * decides what a message means is here, table-driven. */
#include "control.h"
#include "errors.h"
#include "json.h"
#include "utf8.h"

#include <lo/lo.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "/shmix/"
#define TRACK_PREFIX "/shmix/track/"
#define PARAM_LEAF "param/"
#define QUOTE_MAX 64            /* bytes of a name or address quoted in a reason */

/* What arguments an address takes. */
enum sig {
    SIG_NONE,                     /* no arguments */
    SIG_NUM,                      /* f (i, h, d accepted) */
    SIG_BOOL,                     /* i, T or F: 0 or 1 */
    SIG_LOOP,                     /* i, T or F; or f f */
    SIG_ANY,                      /* a param value: f, i, s, T, F, N (d, h, S too) */
};

struct route {
    const char *path;             /* after "/shmix/" or after "/shmix/track/T/" */
    enum ctl_kind kind;
    enum sig sig;
    double lo, hi;                /* SIG_NUM's range */
};

static const struct route track_routes[] = {
    {"gain_db", CTL_GAIN, SIG_NUM, -120.0, 24.0},
    {"pan", CTL_PAN, SIG_NUM, -1.0, 1.0},
    {"mute", CTL_MUTE, SIG_BOOL, 0, 0},
    {"solo", CTL_SOLO, SIG_BOOL, 0, 0},
    {"restart", CTL_RESTART, SIG_NONE, 0, 0},
    {"reload", CTL_RELOAD, SIG_NONE, 0, 0},
};

/* Subscribe's lower bound is open: checked apart (see check_num). */
static const struct route global_routes[] = {
    {"master/gain_db", CTL_MASTER_GAIN, SIG_NUM, -120.0, 24.0},
    {"transport/play", CTL_PLAY, SIG_NONE, 0, 0},
    {"transport/pause", CTL_PAUSE, SIG_NONE, 0, 0},
    {"transport/stop", CTL_STOP, SIG_NONE, 0, 0},
    {"transport/seek", CTL_SEEK, SIG_NUM, 0.0, INFINITY},
    {"transport/loop", CTL_LOOP_ON, SIG_LOOP, 0, 0},
    {"stats", CTL_STATS, SIG_NONE, 0, 0},
    {"subscribe", CTL_SUBSCRIBE, SIG_NUM, 0.0, CTL_SUBSCRIBE_MAX_HZ},
    {"unsubscribe", CTL_UNSUBSCRIBE, SIG_NONE, 0, 0},
    {"ping", CTL_PING, SIG_NONE, 0, 0},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int fail(char *reason, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Every rejection goes through here: one line, cut to cap. */
static int fail(char *reason, size_t cap, const char *fmt, ...)
{
    if (cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reason, cap, fmt, ap);
        va_end(ap);
        /* A cut may end inside a character: keep the text UTF-8. */
        size_t n = strlen(reason);
        reason[utf8_cut(reason, n, n)] = '\0';
    }
    return SHX_EBADMSG;
}

/* s as it may appear in a reason: the sender wrote it, and the reason ends
 * up on somebody's terminal. Printable ASCII and whole UTF-8 characters
 * pass; control bytes (C1 included: U+0080..U+009F are escapes to some
 * terminals), backslashes and stray bytes become \xNN; cut after QUOTE_MAX
 * bytes with "...". buf holds at least QUOTE_MAX + 16 bytes. */
static const char *quote(char *buf, size_t cap, const char *s)
{
    size_t o = 0, i = 0, n = strlen(s);
    while (i < n && o < QUOTE_MAX) {
        const unsigned char *u = (const unsigned char *)s + i;
        size_t k = u[0] < 0x80 ? 1 : utf8_seq(u, n - i);
        int plain = k == 1 ? u[0] >= 0x20 && u[0] != 0x7f && u[0] != '\\'
                  : k > 1 && !(u[0] == 0xc2 && u[1] < 0xa0);
        size_t take = k ? k : 1;
        size_t need = plain ? take : 4 * take;
        if (o + need + 4 > cap)
            break;
        if (plain)
            memcpy(buf + o, u, take);
        else
            for (size_t b = 0; b < take; b++)
                snprintf(buf + o + 4 * b, 5, "\\x%02x", u[b]);
        o += need;
        i += take;
    }
    if (i < n && o + 4 <= cap) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

/* The type tags of args, for "expected f, got TAGS". */
static const char *tags(const struct ctl_arg *args, int nargs, char *buf, size_t cap)
{
    if (nargs == 0)
        return "nothing";
    size_t o = 0;
    for (int i = 0; i < nargs && o + 4 < cap; i++) {
        char t = args[i].type;
        if (t > 0x20 && t < 0x7f) {
            buf[o++] = t;
        } else {   /* a type byte no OSC implementation writes */
            snprintf(buf + o, cap - o, "\\x%02x", (unsigned char)t);
            o += 4;
        }
    }
    buf[o] = '\0';
    return buf;
}

static int is_number(char t)
{
    return t == 'i' || t == 'h' || t == 'f' || t == 'd';
}

static double number(const struct ctl_arg *a)
{
    return a->type == 'i' || a->type == 'h' ? (double)a->i : a->f;
}

/* A finite number within lo..hi (subscribe: lo excluded). */
static int check_num(const char *what, enum ctl_kind kind, double v, double lo, double hi,
                     char *reason, size_t cap)
{
    if (!isfinite(v))
        return fail(reason, cap, "%s: expected a finite number, got %g", what, v);
    if (kind == CTL_SUBSCRIBE && (v <= 0 || v > hi))
        return fail(reason, cap, "%s: %g is out of range (0 < Hz <= %g)", what, v, hi);
    if (isinf(hi) && v < lo)
        return fail(reason, cap, "%s: %g is out of range (must be >= %g)", what, v, lo);
    if (v < lo || v > hi)
        return fail(reason, cap, "%s: %g is out of range %g..%g", what, v, lo, hi);
    return SHX_OK;
}

/* i (0 or 1), T or F into *v. */
static int check_bool(const char *what, const char *expected, const struct ctl_arg *a,
                      double *v, char *reason, size_t cap)
{
    if (a->type == 'T' || a->type == 'F') {
        *v = a->type == 'T';
        return SHX_OK;
    }
    if (a->type != 'i' && a->type != 'h') {
        char t[8];
        return fail(reason, cap, "%s: expected %s, got %s", what, expected, tags(a, 1, t, sizeof t));
    }
    if (a->i != 0 && a->i != 1)
        return fail(reason, cap, "%s: %lld is out of range (0 or 1)", what, (long long)a->i);
    *v = (double)a->i;
    return SHX_OK;
}

/* The shortest %g text that reads back as the same value (as a float when
 * single, as a double otherwise), with ".0" added when it would otherwise
 * read as an integer: 0.1f is "0.1" (not 0.100000001) and 2.0f is "2.0",
 * so a script's params get what the sender meant, as a float. */
static void real_text(char *buf, size_t cap, double v, int single)
{
    for (int p = single ? 6 : 15; p <= (single ? 9 : 17); p++) {
        snprintf(buf, cap, "%.*g", p, v);
        if (single ? strtof(buf, NULL) == (float)v : strtod(buf, NULL) == v)
            break;
    }
    if (!strpbrk(buf, ".e"))
        strncat(buf, ".0", cap - strlen(buf) - 1);
}

static int valid_utf8(const char *s)
{
    size_t n = strlen(s), k;
    for (size_t i = 0; i < n; i += k)
        if ((k = utf8_seq((const unsigned char *)s + i, n - i)) == 0)
            return 0;
    return 1;
}

/* A param key: 1..63 bytes of A-Z a-z 0-9 _ . - (a Python identifier, or
 * close to one: "cutoff_hz", "lfo.rate", "mix-2"). */
static int valid_key(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n >= CTL_KEY_MAX)
        return 0;
    return strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/* A param value as JSON text into out->value_json. */
static int param_value(const char *what, const struct ctl_arg *a, struct ctl_msg *out,
                       char *reason, size_t cap)
{
    char *v = out->value_json;
    size_t vcap = sizeof out->value_json;
    switch (a->type) {
    case 'T': snprintf(v, vcap, "true"); return SHX_OK;
    case 'F': snprintf(v, vcap, "false"); return SHX_OK;
    case 'N': snprintf(v, vcap, "null"); return SHX_OK;
    case 'i':
    case 'h': snprintf(v, vcap, "%lld", (long long)a->i); return SHX_OK;
    case 'f':
    case 'd':
        if (!isfinite(a->f))
            return fail(reason, cap, "%s: expected a finite number, got %g", what, a->f);
        real_text(v, vcap, a->f, a->type == 'f');
        return SHX_OK;
    case 's':
    case 'S': {
        if (!valid_utf8(a->s))
            return fail(reason, cap, "%s: the string is not valid UTF-8", what);
        struct json j = {0};
        json_str(&j, a->s);
        if (j.failed) {
            json_free(&j);
            snprintf(reason, cap, "out of memory");
            return SHX_ENOMEM;
        }
        size_t n = j.len;
        if (n < vcap)
            memcpy(v, j.p, n + 1);
        json_free(&j);
        if (n >= vcap)
            return fail(reason, cap, "%s: the string is too long (%zu bytes as JSON, at most %zu)",
                        what, n, vcap - 1);
        return SHX_OK;
    }
    default: {
        char t[8];
        return fail(reason, cap, "%s: expected f, i, s, T, F or N, got %s", what,
                    tags(a, 1, t, sizeof t));
    }
    }
}

/* The arguments of route r, checked into out. */
static int check_args(const struct route *r, const char *what, const struct ctl_arg *args,
                      int nargs, struct ctl_msg *out, char *reason, size_t cap)
{
    char t[64];
    switch (r->sig) {
    case SIG_NONE:
        if (nargs)
            return fail(reason, cap, "%s: expected no arguments, got %s", what,
                        tags(args, nargs, t, sizeof t));
        return SHX_OK;
    case SIG_NUM:
        if (nargs != 1 || !is_number(args[0].type))
            return fail(reason, cap, "%s: expected f, got %s", what, tags(args, nargs, t, sizeof t));
        out->a = number(&args[0]);
        return check_num(what, r->kind, out->a, r->lo, r->hi, reason, cap);
    case SIG_BOOL:
        if (nargs != 1)
            return fail(reason, cap, "%s: expected i or T/F, got %s", what,
                        tags(args, nargs, t, sizeof t));
        return check_bool(what, "i or T/F", &args[0], &out->a, reason, cap);
    case SIG_LOOP:
        if (nargs == 1 && !(args[0].type == 'f' || args[0].type == 'd'))
            return check_bool(what, "i, or f f", &args[0], &out->a, reason, cap);
        if (nargs != 2 || !is_number(args[0].type) || !is_number(args[1].type))
            return fail(reason, cap, "%s: expected i, or f f, got %s", what,
                        tags(args, nargs, t, sizeof t));
        out->kind = CTL_LOOP_REGION;
        out->a = number(&args[0]);
        out->b = number(&args[1]);
        if (!isfinite(out->a) || !isfinite(out->b))
            return fail(reason, cap, "%s: expected finite numbers, got %g %g", what, out->a,
                        out->b);
        if (out->a < 0 || out->b <= out->a)
            return fail(reason, cap, "%s: the region %g..%g is not 0 <= start < end", what,
                        out->a, out->b);
        return SHX_OK;
    case SIG_ANY:
        if (nargs != 1)
            return fail(reason, cap, "%s: expected f, i, s, T, F or N, got %s", what,
                        tags(args, nargs, t, sizeof t));
        return param_value(what, &args[0], out, reason, cap);
    }
    return fail(reason, cap, "%s: internal error", what);
}

/* The track that rest ("NAME/leaf" or "INDEX/leaf") starts with, and in
 * *leaf what follows its '/'. The longest name followed by '/' wins (names
 * are unique; a name may hold '/'), then a decimal index. Returns the
 * index, or -1 with the reason written. */
static int find_track(const char *rest, const struct ctl_names *tracks, const char **leaf,
                      char *reason, size_t cap)
{
    int count = tracks ? tracks->count : 0, best = -1;
    size_t best_len = 0;
    for (int i = 0; i < count; i++) {
        const char *name = tracks->names[i];
        size_t n = name ? strlen(name) : 0;
        if (n > best_len && !strncmp(rest, name, n) && rest[n] == '/') {
            best = i;
            best_len = n;
        }
    }
    if (best >= 0) {
        *leaf = rest + best_len + 1;
        return best;
    }
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    char seg[128], q[QUOTE_MAX + 16];
    snprintf(seg, sizeof seg, "%.*s", (int)(n < sizeof seg ? n : sizeof seg - 1), rest);
    *leaf = slash ? slash + 1 : rest + n;
    if (n == 0 || n >= 10 || strspn(seg, "0123456789") != n) {
        fail(reason, cap, "no track '%s'", quote(q, sizeof q, seg));
        return -1;
    }
    int idx = atoi(seg);
    if (idx < count)
        return idx;
    if (count == 0)
        fail(reason, cap, "no track '%s' (the session has no tracks)", seg);
    else
        fail(reason, cap, "no track '%s' (%d tracks: 0..%d)", seg, count, count - 1);
    return -1;
}

/* ctl_parse without the clean-up of a rejection. */
static int parse(const char *address, const struct ctl_arg *args, int nargs,
                 const struct ctl_names *tracks, struct ctl_msg *out, char *reason, size_t cap)
{
    char q[QUOTE_MAX + 16], what[CTL_KEY_MAX + 16];
    if (nargs < 0 || (nargs > 0 && !args))
        return fail(reason, cap, "malformed OSC packet");
    if (strncmp(address, PREFIX, strlen(PREFIX)) != 0)
        return fail(reason, cap, "unknown address %s", quote(q, sizeof q, address));

    const struct route *r = NULL;
    if (!strncmp(address, TRACK_PREFIX, strlen(TRACK_PREFIX))
        && strchr(address + strlen(TRACK_PREFIX), '/')) {
        const char *leaf;
        out->track = find_track(address + strlen(TRACK_PREFIX), tracks, &leaf, reason, cap);
        if (out->track < 0)
            return SHX_EBADMSG;
        for (size_t i = 0; i < COUNT(track_routes); i++)
            if (!strcmp(leaf, track_routes[i].path))
                r = &track_routes[i];
        if (!r && !strncmp(leaf, PARAM_LEAF, strlen(PARAM_LEAF))) {
            static const struct route param = {PARAM_LEAF, CTL_PARAM, SIG_ANY, 0, 0};
            const char *key = leaf + strlen(PARAM_LEAF);
            if (!valid_key(key))
                return fail(reason, cap, "param key '%s' is not 1..%d of A-Z a-z 0-9 _ . -",
                            quote(q, sizeof q, key), CTL_KEY_MAX - 1);
            snprintf(out->key, sizeof out->key, "%s", key);
            snprintf(what, sizeof what, "param/%s", key);
            out->kind = CTL_PARAM;
            return check_args(&param, what, args, nargs, out, reason, cap);
        }
    } else {
        for (size_t i = 0; i < COUNT(global_routes); i++)
            if (!strcmp(address + strlen(PREFIX), global_routes[i].path))
                r = &global_routes[i];
    }
    if (!r)
        return fail(reason, cap, "unknown address %s", quote(q, sizeof q, address));
    out->kind = r->kind;
    const char *slash = strrchr(r->path, '/');
    snprintf(what, sizeof what, "%s", slash ? slash + 1 : r->path);
    return check_args(r, what, args, nargs, out, reason, cap);
}

int ctl_parse(const char *address, const struct ctl_arg *args, int nargs,
              const struct ctl_names *tracks, struct ctl_msg *out, char *reason, size_t cap)
{
    memset(out, 0, sizeof *out);
    out->track = -1;
    if (cap)
        reason[0] = '\0';
    int rc = parse(address, args, nargs, tracks, out, reason, cap);
    if (rc < 0) {   /* nothing half-decoded for a careless caller to use */
        memset(out, 0, sizeof *out);
        out->track = -1;
    }
    return rc;
}

/* The reason for liblo's result code. */
static const char *lo_reason(int res)
{
    switch (res) {
    case LO_EINVALIDPATH: return "the address is not a padded string";
    case LO_ENOTYPE: return "no type tag string";
    case LO_EINVALIDTYPE: return "the type tag string is not a padded string";
    case LO_EBADTYPE: return "the type tag string does not start with ','";
    case LO_EINVALIDARG: return "an argument is malformed or of an unknown type";
    case LO_ESIZE: return "its size does not match its arguments";
    default: return "unreadable";
    }
}

/* Whether the packet's type tag string holds a blob. liblo 0.31 reads a
 * blob's 4-byte size before checking that 4 bytes are left (a read past
 * its copy of a truncated packet), and no address takes a blob, so such
 * packets never reach it. */
static int has_blob(const unsigned char *p, size_t len)
{
    const unsigned char *end = memchr(p, '\0', len);
    if (!end)
        return 0;
    size_t off = ((size_t)(end - p) / 4 + 1) * 4;
    if (off >= len || p[off] != ',')
        return 0;
    const unsigned char *tend = memchr(p + off, '\0', len - off);
    return memchr(p + off, 'b', tend ? (size_t)(tend - (p + off)) : len - off) != NULL;
}

/* Before liblo sees the bytes: sizes, bundles and blobs. Returns 0 or the
 * rejection. */
static int precheck(const unsigned char *p, size_t len, char *reason, size_t cap)
{
    if (len == 0)
        return fail(reason, cap, "malformed OSC packet: empty");
    if (len > CTL_PACKET_MAX)
        return fail(reason, cap, "malformed OSC packet: %zu bytes, at most %d", len,
                    CTL_PACKET_MAX);
    if (len >= 8 && !memcmp(p, "#bundle", 8))
        return fail(reason, cap, "OSC bundles are not accepted: send one message per packet");
    if (has_blob(p, len)) {
        char path[QUOTE_MAX + 1], q[QUOTE_MAX + 16];
        snprintf(path, sizeof path, "%s", (const char *)p);   /* has_blob found its NUL */
        return fail(reason, cap, "%s: blob arguments are not accepted", quote(q, sizeof q, path));
    }
    return SHX_OK;
}

int ctl_decode(const void *packet, size_t len, const struct ctl_names *tracks,
               struct ctl_msg *out, char *reason, size_t cap)
{
    memset(out, 0, sizeof *out);
    out->track = -1;
    int rc = precheck(packet, len, reason, cap);
    if (rc < 0)
        return rc;
    int res = 0;
    /* lo_message_deserialise only reads data (it copies the arguments
     * before swapping their bytes); its prototype just lacks the const. */
    lo_message m = lo_message_deserialise((void *)packet, len, &res);
    if (!m) {
        if (res == LO_EALLOC) {
            snprintf(reason, cap, "out of memory");
            return SHX_ENOMEM;
        }
        return fail(reason, cap, "malformed OSC packet: %s", lo_reason(res));
    }
    /* Deserialised, so the packet starts with a NUL-terminated address. */
    const char *address = packet;
    int argc = lo_message_get_argc(m);
    const char *types = lo_message_get_types(m);
    lo_arg **argv = lo_message_get_argv(m);
    struct ctl_arg args[8];
    if (argc > (int)COUNT(args)) {   /* no address takes more than two */
        lo_message_free(m);
        char q[QUOTE_MAX + 16];
        return fail(reason, cap, "%s: expected at most 2 arguments, got %d",
                    quote(q, sizeof q, address), argc);
    }
    for (int i = 0; i < argc; i++) {
        struct ctl_arg *a = &args[i];
        memset(a, 0, sizeof *a);
        a->type = types[i];
        /* Arguments sit at 4-byte offsets, but a lo_arg (a union holding
         * 8-byte members) wants 8: read the bytes, never through a lo_arg
         * member. */
        const unsigned char *v = (const unsigned char *)argv[i];
        int32_t i32;
        float f32;
        switch (a->type) {
        case 'i': memcpy(&i32, v, 4); a->i = i32; break;
        case 'h': memcpy(&a->i, v, 8); break;
        case 'f': memcpy(&f32, v, 4); a->f = f32; break;
        case 'd': memcpy(&a->f, v, 8); break;
        case 's':
        case 'S': a->s = (const char *)v; break;
        default: break;   /* T F N carry no value; other types are refused by type */
        }
    }
    rc = ctl_parse(address, args, argc, tracks, out, reason, cap);
    lo_message_free(m);
    return rc;
}

static const char *const kind_leaf[CTL_KIND_COUNT] = {
    [CTL_GAIN] = "gain_db", [CTL_PAN] = "pan", [CTL_MUTE] = "mute", [CTL_SOLO] = "solo",
    [CTL_PARAM] = "param/", [CTL_RESTART] = "restart", [CTL_RELOAD] = "reload",
    [CTL_MASTER_GAIN] = "master/gain_db", [CTL_PLAY] = "transport/play",
    [CTL_PAUSE] = "transport/pause", [CTL_STOP] = "transport/stop",
    [CTL_SEEK] = "transport/seek", [CTL_LOOP_ON] = "transport/loop",
    [CTL_LOOP_REGION] = "transport/loop", [CTL_STATS] = "stats",
    [CTL_SUBSCRIBE] = "subscribe", [CTL_UNSUBSCRIBE] = "unsubscribe", [CTL_PING] = "ping",
};

int ctl_address(const struct ctl_msg *m, const struct ctl_names *tracks, char *buf, size_t cap)
{
    if ((unsigned)m->kind >= CTL_KIND_COUNT)
        return SHX_EUSAGE;
    int n;
    if (m->kind <= CTL_RELOAD) {
        const char *name = tracks && m->track >= 0 && m->track < tracks->count
                               ? tracks->names[m->track] : NULL;
        char idx[16];
        snprintf(idx, sizeof idx, "%d", m->track);
        n = snprintf(buf, cap, TRACK_PREFIX "%s/%s%s", name ? name : idx, kind_leaf[m->kind],
                     m->kind == CTL_PARAM ? m->key : "");
    } else {
        n = snprintf(buf, cap, PREFIX "%s", kind_leaf[m->kind]);
    }
    return n >= 0 && (size_t)n < cap ? SHX_OK : SHX_EFULL;
}

int ctl_encode(const char *address, const struct ctl_arg *args, int nargs, void *buf,
               size_t cap, size_t *len)
{
    if (!address || address[0] != '/' || nargs < 0)
        return SHX_EUSAGE;
    lo_message m = lo_message_new();
    if (!m)
        return SHX_ENOMEM;
    int rc = SHX_OK;
    for (int i = 0; i < nargs && rc == SHX_OK; i++) {
        const struct ctl_arg *a = &args[i];
        int r;
        switch (a->type) {
        case 'i': r = lo_message_add_int32(m, (int32_t)a->i); break;
        case 'h': r = lo_message_add_int64(m, a->i); break;
        case 'f': r = lo_message_add_float(m, (float)a->f); break;
        case 'd': r = lo_message_add_double(m, a->f); break;
        case 's': r = a->s ? lo_message_add_string(m, a->s) : -1; break;
        case 'S': r = a->s ? lo_message_add_symbol(m, a->s) : -1; break;
        case 'T': r = lo_message_add_true(m); break;
        case 'F': r = lo_message_add_false(m); break;
        case 'N': r = lo_message_add_nil(m); break;
        default: rc = SHX_EUSAGE; continue;
        }
        if (r != 0)
            rc = a->s || (a->type != 's' && a->type != 'S') ? SHX_ENOMEM : SHX_EUSAGE;
    }
    if (rc == SHX_OK) {
        size_t size = lo_message_length(m, address);
        if (size > cap)
            rc = SHX_EFULL;
        else if (!lo_message_serialise(m, address, buf, &size))
            rc = SHX_ENOMEM;
        else
            *len = size;
    }
    lo_message_free(m);
    return rc;
}

int ctl_encode_reply(const char *address, const char *text, void *buf, size_t cap,
                     size_t *len)
{
    struct ctl_arg a = {.type = 's', .s = text};
    return ctl_encode(address, &a, text ? 1 : 0, buf, cap, len);
}

int ctl_decode_reply(const void *packet, size_t len, char *address, size_t acap, char *text,
                     size_t tcap)
{
    if (len == 0 || (len >= 8 && !memcmp(packet, "#bundle", 8)))
        return SHX_EBADMSG;
    if (has_blob(packet, len))
        return SHX_EBADMSG;
    int res = 0;
    lo_message m = lo_message_deserialise((void *)packet, len, &res);
    if (!m)
        return res == LO_EALLOC ? SHX_ENOMEM : SHX_EBADMSG;
    int argc = lo_message_get_argc(m);
    const char *types = lo_message_get_types(m);
    int rc = SHX_OK;
    const char *s = "";
    if (argc > 1 || (argc == 1 && types[0] != 's'))
        rc = SHX_EBADMSG;
    else if (argc == 1)
        s = (const char *)lo_message_get_argv(m)[0];   /* see ctl_decode */
    if (rc == SHX_OK && (strlen(packet) >= acap || strlen(s) >= tcap))
        rc = SHX_EFULL;
    if (rc == SHX_OK) {
        memcpy(address, packet, strlen(packet) + 1);
        memcpy(text, s, strlen(s) + 1);
    }
    lo_message_free(m);
    return rc;
}
