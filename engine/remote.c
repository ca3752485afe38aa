/* remote.c - play's control side; see remote.h. */
#include "remote.h"
#include "console.h"
#include "engine.h"
#include "errors.h"
#include "meter.h"
#include "osc.h"
#include "snapshot.h"
#include "stats.h"
#include "track.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct remote {
    struct engine *e;
    struct meter *meter;
    struct osc *osc;
    FILE *capture;
    /* The latest snapshot, copied by the main thread each tick. */
    pthread_mutex_t lock;
    struct snapshot *latest;
    int have;
    /* Control thread only: the stats a /shmix/stats request reads. */
    struct stats *st;
    struct snapshot *snap;
    int st_started;
};

static int on_message(void *user, const struct ctl_msg *m, char *reason, size_t cap)
{
    struct remote *r = user;
    return console_apply(engine_console(r->e), m, reason, cap);
}

/* A stats line as of the latest snapshot; its interval figures since the
 * previous request (subscribers share them). */
static int on_stats(void *user, char *buf, size_t cap)
{
    struct remote *r = user;
    pthread_mutex_lock(&r->lock);
    int have = r->have;
    if (have)
        memcpy(r->snap, r->latest, sizeof *r->snap);
    pthread_mutex_unlock(&r->lock);
    if (!have)
        return SHX_EEMPTY;   /* before the first tick: nothing to say yet */
    if (!r->st_started) {
        stats_start(r->st, r->snap);
        r->st_started = 1;
    }
    stats_observe(r->st, r->snap);
    int n = stats_line(r->st, r->snap, buf, cap);
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    return n;
}

int remote_create(struct engine *e, struct meter *m, const struct remote_options *o,
                  struct remote **out, char *err, size_t cap)
{
    struct remote *r = calloc(1, sizeof *r);
    int n = engine_ntracks(e);
    const char **names = calloc((size_t)n + 1, sizeof *names);
    if (!r || !names || !(r->snap = calloc(1, sizeof *r->snap))
        || !(r->latest = calloc(1, sizeof *r->latest)) || stats_create(&r->st) < 0) {
        free(names);
        remote_destroy(r);
        snprintf(err, cap, "out of memory");
        return SHX_ENOMEM;
    }
    r->e = e;
    r->meter = m;
    pthread_mutex_init(&r->lock, NULL);
    if (o->capture) {
        /* Written as it happens, so that a play stopped any way leaves a
         * valid list of what took effect up to there. */
        r->capture = fopen(o->capture, "w");
        if (!r->capture || fputs("events:\n", r->capture) < 0 || fflush(r->capture) != 0) {
            snprintf(err, cap, "%s: cannot write: %s", o->capture, strerror(errno));
            free(names);
            remote_destroy(r);
            return SHX_EIO;
        }
        console_capture(engine_console(e));
    }
    for (int i = 0; i < n; i++)
        names[i] = track_name(engine_track(e, i));
    struct osc_options oo = {
        .track_names = names, .ntracks = n, .udp = o->osc_port >= 0,
        .udp_port = o->osc_port >= 0 ? o->osc_port : 0, .udp_bind = o->osc_bind,
        .apply = on_message, .stats = on_stats, .user = r,
    };
    int rc = osc_create(&oo, &r->osc, err, cap);
    free(names);   /* copied */
    if (rc < 0 && o->osc_port < 0 && rc != SHX_ENOMEM) {
        /* Only the private socket was asked for, implicitly: play goes on
         * without control, and the caller says why (err). */
        r->osc = NULL;
        *out = r;
        return REMOTE_NO_CONTROL;
    }
    if (rc < 0) {
        remote_destroy(r);
        return rc;
    }
    err[0] = '\0';
    *out = r;
    return SHX_OK;
}

void remote_tick(struct remote *r, const struct snapshot *s)
{
    if (!r)
        return;
    if (r->capture)
        console_capture_drain(engine_console(r->e), r->capture);
    pthread_mutex_lock(&r->lock);
    memcpy(r->latest, s, sizeof *s);
    r->have = 1;
    pthread_mutex_unlock(&r->lock);
}

void remote_frame(struct remote *r, struct meter_frame *fr)
{
    if (!r)
        return;
    fr->control = 1;
    fr->osc_port = r->osc ? osc_udp_port(r->osc) : 0;
    fr->control_errors = r->osc ? osc_control_errors(r->osc) : 0;
    fr->control_accepted = console_accepted(engine_console(r->e));
    fr->control_dropped = console_dropped(engine_console(r->e));
}

int remote_udp_port(const struct remote *r)
{
    return r && r->osc ? osc_udp_port(r->osc) : 0;
}

void remote_destroy(struct remote *r)
{
    if (!r)
        return;
    osc_destroy(r->osc);   /* first: no message arrives after this */
    if (r->capture) {
        console_capture_drain(engine_console(r->e), r->capture);
        fclose(r->capture);
    }
    stats_destroy(r->st);
    free(r->snap);
    free(r->latest);
    if (r->meter)
        pthread_mutex_destroy(&r->lock);
    free(r);
}
