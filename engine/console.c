/* console.c - deciding control messages; see console.h. */
#include "console.h"
#include "control.h"
#include "engine.h"
#include "errors.h"
#include "mixer.h"
#include "pan.h"
#include "supervisor.h"
#include "track.h"
#include "transport.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* A message that took effect without the transport (restart, reload). */
struct now_record {
    uint32_t id;
    int64_t o;
};

struct console {
    struct engine *e;
    int n, channels, rate;
    uint32_t block;
    pthread_mutex_t lock;
    /* Under lock. */
    struct transport *x;
    struct supervisor *sup;
    double *gain_db, *pan, master_db;
    unsigned char *mute, *solo;
    struct pan_gains *sent;       /* where each fader was last sent */
    float master_sent;
    struct cmd *cmds;             /* room for one message: every fader and the master */
    uint32_t next_id;
    int capturing;
    char **text;                  /* capture: each message's "ADDR, ARGS", by id */
    int64_t *arrived;             /* capture: the output block it arrived in, by id */
    uint32_t ntext;
    struct now_record *now;
    uint32_t nnow, now_cap;
    const char **names;           /* the tracks' names, for addresses */
    _Atomic uint64_t accepted, dropped;
};

static void set_initial(struct console *c);

int console_create(struct engine *e, struct console **out)
{
    struct console *c = calloc(1, sizeof *c);
    size_t n = (size_t)engine_ntracks(e);
    if (!c)
        return SHX_ENOMEM;
    c->e = e;
    c->n = (int)n;
    c->channels = engine_channels(e);
    c->rate = engine_sample_rate(e);
    c->block = engine_block_size(e);
    pthread_mutex_init(&c->lock, NULL);
    c->gain_db = calloc(n + 1, sizeof *c->gain_db);
    c->pan = calloc(n + 1, sizeof *c->pan);
    c->mute = calloc(n + 1, 1);
    c->solo = calloc(n + 1, 1);
    c->sent = calloc(n + 1, sizeof *c->sent);
    c->cmds = calloc(n + 1, sizeof *c->cmds);
    c->names = calloc(n + 1, sizeof *c->names);
    if (!c->gain_db || !c->pan || !c->mute || !c->solo || !c->sent || !c->cmds || !c->names) {
        console_destroy(c);
        return SHX_ENOMEM;
    }
    for (int i = 0; i < c->n; i++) {
        struct track_setting s = engine_track_setting(e, i);
        c->gain_db[i] = s.gain_db;
        c->pan[i] = s.pan;
        c->mute[i] = (unsigned char)s.mute;
        c->solo[i] = (unsigned char)s.solo;
        c->names[i] = track_name(engine_track(e, i));
    }
    c->master_db = engine_session_master_db(e);
    c->next_id = 1;
    set_initial(c);
    *out = c;
    return SHX_OK;
}

void console_destroy(struct console *c)
{
    if (!c)
        return;
    for (uint32_t i = 0; i < c->ntext; i++)
        free(c->text[i]);
    free(c->text);
    free(c->arrived);
    free(c->now);
    free(c->gain_db);
    free(c->pan);
    free(c->mute);
    free(c->solo);
    free(c->sent);
    free(c->cmds);
    free(c->names);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void console_attach(struct console *c, struct transport *x, struct supervisor *sup)
{
    pthread_mutex_lock(&c->lock);
    c->x = x;
    c->sup = sup;
    pthread_mutex_unlock(&c->lock);
}

/* Under lock. Where track i's fader belongs: gain and pan by the pan law,
 * mute and solo resolved the way the session's are (with any track solo,
 * the tracks that are not are silent). */
static struct pan_gains fader_of(struct console *c, int i, int any_solo)
{
    int audible = !c->mute[i] && (!any_solo || c->solo[i]);
    track_set_audible(engine_track(c->e, i), audible);
    if (!audible)
        return (struct pan_gains){0.0f, 0.0f};
    return pan_law(c->gain_db[i], c->pan[i], track_source_channels(engine_track(c->e, i)),
                   c->channels);
}

static int any_solo(const struct console *c)
{
    for (int i = 0; i < c->n; i++)
        if (c->solo[i])
            return 1;
    return 0;
}

/* Under lock, at creation: the mixer set where the session says, no ramp. */
static void set_initial(struct console *c)
{
    struct mixer *m = engine_mixer(c->e);
    int solo = any_solo(c);
    for (int i = 0; i < c->n; i++) {
        c->sent[i] = fader_of(c, i, solo);
        mixer_set_track(m, i, c->sent[i]);
    }
    c->master_sent = (float)pan_db_to_linear(c->master_db);
    mixer_set_master(m, c->master_sent);
    mixer_settle(m);
}

/* Under lock. The faders that moved, as the commands of message id, sent
 * (all or none). Returns 0 or SHX_EFULL. */
static int send_faders(struct console *c, uint32_t id)
{
    int solo = any_solo(c), n = 0;
    for (int i = 0; i < c->n; i++) {
        struct pan_gains g = fader_of(c, i, solo);
        if (g.left != c->sent[i].left || g.right != c->sent[i].right)
            c->cmds[n++] = (struct cmd){.kind = CMD_FADER, .track = i, .id = id, .l = g.left,
                                        .r = g.right};
    }
    float master = (float)pan_db_to_linear(c->master_db);
    if (master != c->master_sent)
        c->cmds[n++] = (struct cmd){.kind = CMD_MASTER, .id = id, .l = master};
    if (n == 0)   /* nothing moved (a mute of a muted track): still a message */
        c->cmds[n++] = (struct cmd){.kind = CMD_MASTER, .id = id, .l = c->master_sent};
    int rc;
    if (c->x) {
        rc = transport_post(c->x, c->cmds, n);
    } else {   /* no run: straight to the mixer */
        for (int i = 0; i < n; i++)
            if (c->cmds[i].kind == CMD_FADER)
                mixer_set_track(engine_mixer(c->e), c->cmds[i].track,
                                (struct pan_gains){c->cmds[i].l, c->cmds[i].r});
            else
                mixer_set_master(engine_mixer(c->e), c->cmds[i].l);
        rc = SHX_OK;
    }
    if (rc == SHX_OK) {
        for (int i = 0; i < n; i++)
            if (c->cmds[i].kind == CMD_FADER)
                c->sent[c->cmds[i].track] = (struct pan_gains){c->cmds[i].l, c->cmds[i].r};
            else
                c->master_sent = c->cmds[i].l;
    }
    return rc;
}

/* Under lock. A fader message: the value changes, the faders follow; on a
 * full queue the value goes back. */
static int fader_message(struct console *c, const struct ctl_msg *m, uint32_t id)
{
    int i = m->track;
    double was_gain = i >= 0 ? c->gain_db[i] : 0, was_pan = i >= 0 ? c->pan[i] : 0;
    double was_master = c->master_db;
    unsigned char was_mute = i >= 0 ? c->mute[i] : 0, was_solo = i >= 0 ? c->solo[i] : 0;
    switch (m->kind) {
    case CTL_GAIN: c->gain_db[i] = m->a; break;
    case CTL_PAN: c->pan[i] = m->a; break;
    case CTL_MUTE: c->mute[i] = m->a != 0; break;
    case CTL_SOLO: c->solo[i] = m->a != 0; break;
    default: c->master_db = m->a; break;
    }
    int rc = send_faders(c, id);
    if (rc < 0) {
        if (i >= 0) {
            c->gain_db[i] = was_gain;
            c->pan[i] = was_pan;
            c->mute[i] = was_mute;
            c->solo[i] = was_solo;
        }
        c->master_db = was_master;
        send_faders(c, 0);   /* the audible flags back as they were */
    }
    return rc;
}

/* Under lock. The transport's command for a transport or param message, or
 * SHX_EUSAGE with the reason. */
static int transport_cmd(struct console *c, const struct ctl_msg *m, uint32_t id,
                         struct cmd *out, char *reason, size_t cap)
{
    int64_t length = engine_length(c->e);
    *out = (struct cmd){.id = id, .track = m->track};
    switch (m->kind) {
    case CTL_PARAM:
        if (!track_script_label(engine_track(c->e, m->track))[0]) {
            snprintf(reason, cap, "param: track '%s' has no script", c->names[m->track]);
            return SHX_EUSAGE;
        }
        out->kind = CMD_PARAM;
        snprintf(out->key, sizeof out->key, "\"%s\"", m->key);   /* keys need no escaping */
        snprintf(out->value, sizeof out->value, "%s", m->value_json);
        return SHX_OK;
    case CTL_PLAY: out->kind = CMD_PLAY; return SHX_OK;
    case CTL_PAUSE: out->kind = CMD_PAUSE; return SHX_OK;
    case CTL_STOP: out->kind = CMD_STOP; return SHX_OK;
    case CTL_SEEK:
        out->kind = CMD_SEEK;
        out->a = (int64_t)llround(m->a * c->rate);
        if (out->a >= length) {
            snprintf(reason, cap, "seek: %g s is past the end of the session (%.3f s)", m->a,
                     (double)length / c->rate);
            return SHX_EUSAGE;
        }
        return SHX_OK;
    case CTL_LOOP_ON: {
        out->kind = CMD_LOOP;
        out->a = m->a != 0;
        double ls, le;   /* turned on: the session's region, or the whole session */
        int has = engine_loop(c->e, &ls, &le);
        out->b0 = has ? (int64_t)llround(ls * c->rate) : 0;
        out->b1 = has ? (int64_t)llround(le * c->rate) : length;
        return SHX_OK;
    }
    case CTL_LOOP_REGION:
        out->kind = CMD_LOOP;
        out->a = 1;
        out->b0 = (int64_t)llround(m->a * c->rate);
        out->b1 = (int64_t)llround(m->b * c->rate);
        if (out->b1 - out->b0 < (int64_t)c->block) {
            snprintf(reason, cap, "loop: the region %g..%g s is shorter than one block", m->a,
                     m->b);
            return SHX_EUSAGE;
        }
        return SHX_OK;
    default:
        snprintf(reason, cap, "not a message the console applies");
        return SHX_EUSAGE;
    }
}

/* Under lock. Restart and reload act at once, through the supervisor. */
static int worker_message(struct console *c, const struct ctl_msg *m, char *reason, size_t cap)
{
    if (!track_script_label(engine_track(c->e, m->track))[0]) {
        snprintf(reason, cap, "%s: track '%s' has no script",
                 m->kind == CTL_RESTART ? "restart" : "reload", c->names[m->track]);
        return SHX_EUSAGE;
    }
    if (!c->sup) {
        snprintf(reason, cap, "no supervisor is running");
        return SHX_EUSAGE;
    }
    if (m->kind == CTL_RESTART)
        supervisor_restart(c->sup, m->track);
    else
        supervisor_reload(c->sup, m->track);
    return SHX_OK;
}

/* Under lock, capturing: the message's text, "ADDRESS, ARG, ..." as a
 * YAML flow list's items, kept by id. */
static void keep_text(struct console *c, const struct ctl_msg *m, uint32_t id)
{
    char addr[512], args[600] = "";
    if (ctl_address(m, &(struct ctl_names){c->names, c->n}, addr, sizeof addr) < 0)
        return;
    switch (m->kind) {
    case CTL_GAIN: case CTL_PAN: case CTL_MASTER_GAIN: case CTL_SEEK:
        snprintf(args, sizeof args, ", %.17g%s", m->a, m->a == floor(m->a) ? ".0" : "");
        break;
    case CTL_MUTE: case CTL_SOLO: case CTL_LOOP_ON:
        snprintf(args, sizeof args, ", %d", m->a != 0);
        break;
    case CTL_LOOP_REGION:
        snprintf(args, sizeof args, ", %.17g%s, %.17g%s", m->a, m->a == floor(m->a) ? ".0" : "",
                 m->b, m->b == floor(m->b) ? ".0" : "");
        break;
    case CTL_PARAM:
        snprintf(args, sizeof args, ", %s", m->value_json);
        break;
    default:
        break;
    }
    if (id >= c->ntext) {
        uint32_t n = id * 2 + 16;
        char **t = realloc(c->text, n * sizeof *t);
        if (t)
            c->text = t;
        int64_t *ar = realloc(c->arrived, n * sizeof *ar);
        if (ar)
            c->arrived = ar;
        if (!t || !ar)
            return;
        memset(t + c->ntext, 0, (n - c->ntext) * sizeof *t);
        c->ntext = n;
    }
    /* The output blocks produced when it arrived: it takes effect in this
     * one at the earliest (the callback may be mixing it right now). */
    c->arrived[id] = c->x ? transport_output_blocks(c->x) : 0;
    size_t len = strlen(addr) + strlen(args) + 1;
    c->text[id] = malloc(len);
    if (c->text[id])
        snprintf(c->text[id], len, "%s%s", addr, args);
}

static void note_now(struct console *c, uint32_t id)
{
    if (c->nnow == c->now_cap) {
        uint32_t n = c->now_cap * 2 + 16;
        struct now_record *r = realloc(c->now, n * sizeof *r);
        if (!r)
            return;
        c->now = r;
        c->now_cap = n;
    }
    c->now[c->nnow++] = (struct now_record){id, c->x ? transport_output_blocks(c->x) : 0};
}

int console_apply(struct console *c, const struct ctl_msg *m, char *reason, size_t cap)
{
    pthread_mutex_lock(&c->lock);
    uint32_t id = c->next_id++;
    if (c->capturing)
        keep_text(c, m, id);
    int rc;
    switch (m->kind) {
    case CTL_GAIN: case CTL_PAN: case CTL_MUTE: case CTL_SOLO: case CTL_MASTER_GAIN:
        rc = fader_message(c, m, id);
        break;
    case CTL_RESTART: case CTL_RELOAD:
        rc = worker_message(c, m, reason, cap);
        if (rc == SHX_OK && c->capturing)
            note_now(c, id);
        break;
    default: {
        struct cmd cmd;
        rc = transport_cmd(c, m, id, &cmd, reason, cap);
        if (rc == SHX_OK && !c->x) {
            snprintf(reason, cap, "nothing is playing");
            rc = SHX_EUSAGE;
        } else if (rc == SHX_OK) {
            rc = transport_post(c->x, &cmd, 1);
        }
        break;
    }
    }
    if (rc == SHX_EFULL) {
        snprintf(reason, cap, "the control queue is full: message dropped");
        atomic_fetch_add(&c->dropped, 1);
    } else if (rc == SHX_OK) {
        atomic_fetch_add(&c->accepted, 1);
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

static double read_value(struct console *c, const double *d, const unsigned char *b, int i)
{
    if (i < 0 || i >= c->n)
        return 0;
    pthread_mutex_lock(&c->lock);
    double v = d ? d[i] : b[i];
    pthread_mutex_unlock(&c->lock);
    return v;
}

int console_mute(struct console *c, int i) { return (int)read_value(c, NULL, c->mute, i); }
int console_solo(struct console *c, int i) { return (int)read_value(c, NULL, c->solo, i); }
double console_gain_db(struct console *c, int i) { return read_value(c, c->gain_db, NULL, i); }
double console_pan(struct console *c, int i) { return read_value(c, c->pan, NULL, i); }
uint64_t console_accepted(struct console *c) { return atomic_load(&c->accepted); }
uint64_t console_dropped(struct console *c) { return atomic_load(&c->dropped); }

void console_capture(struct console *c)
{
    pthread_mutex_lock(&c->lock);
    c->capturing = 1;
    pthread_mutex_unlock(&c->lock);
}

static int write_event(struct console *c, FILE *out, uint32_t id, int64_t o)
{
    if (id >= c->ntext || !c->text[id])
        return 0;
    /* Exact: o blocks of output, written so that reading it back and
     * rounding at x rate / block gives o again. */
    fprintf(out, "  - {at: %.17g, arrived: %.17g, osc: [%s]}\n", (double)o * c->block / c->rate,
            (double)c->arrived[id] * c->block / c->rate, c->text[id]);
    free(c->text[id]);
    c->text[id] = NULL;
    return 1;
}

int console_capture_drain(struct console *c, FILE *out)
{
    int n = 0;
    uint32_t id;
    int64_t o;
    pthread_mutex_lock(&c->lock);
    while (c->x && transport_applied(c->x, &id, &o) == SHX_OK)
        n += write_event(c, out, id, o);
    for (uint32_t i = 0; i < c->nnow; i++)
        n += write_event(c, out, c->now[i].id, c->now[i].o);
    c->nnow = 0;
    pthread_mutex_unlock(&c->lock);
    if (n)
        fflush(out);
    return n;
}
