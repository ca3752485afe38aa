/* events.c - planning a render's control events; see events.h. */
#include "events.h"
#include "errors.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The plan's walk: the transport's rules, without the audio. */
struct walk {
    const struct event_run *run;
    int64_t k;                 /* the run block mixed next */
    int64_t pos;               /* its timeline frame */
    struct timeline tl;
    int64_t played;            /* frames of run blocks */
    int paused, ramp, stopping;      /* as transport.c's state and ramp */
};

static int is_now(enum ctl_kind k)
{
    return k == CTL_GAIN || k == CTL_PAN || k == CTL_MUTE || k == CTL_SOLO
        || k == CTL_MASTER_GAIN || k == CTL_PLAY || k == CTL_PAUSE || k == CTL_STOP;
}

static int is_timeline(enum ctl_kind k)
{
    return k == CTL_SEEK || k == CTL_LOOP_ON || k == CTL_LOOP_REGION;
}

/* A seek or a loop change met at run block w->k: the change there, merged
 * with one already planned for the same block. */
static void plan_change(struct walk *w, const struct ctl_msg *m, struct event_plan *p)
{
    const struct event_run *r = w->run;
    struct tl_change *c = p->nchanges && p->changes[p->nchanges - 1].k == w->k
                              ? &p->changes[p->nchanges - 1] : NULL;
    if (!c) {
        c = &p->changes[p->nchanges++];
        *c = (struct tl_change){.k = w->k, .tl = w->tl, .pos = w->pos};
    }
    if (m->kind == CTL_SEEK) {
        c->pos = (int64_t)llround(m->a * r->rate);
        c->jump = 1;
    } else if (m->kind == CTL_LOOP_ON) {
        c->tl.looping = m->a != 0;
        if (c->tl.looping) {
            c->tl.loop_start = r->has_loop ? r->loop_start : 0;
            c->tl.loop_end = r->has_loop ? r->loop_end : r->length;
        }
    } else {
        c->tl.looping = 1;
        c->tl.loop_start = (int64_t)llround(m->a * r->rate);
        c->tl.loop_end = (int64_t)llround(m->b * r->rate);
    }
    w->tl = c->tl;
    w->pos = c->pos;
}

/* Pause, play and stop exactly as transport.c's apply() takes them. */
static void transport_rule(struct walk *w, enum ctl_kind k)
{
    if (k == CTL_PAUSE && !w->paused && w->ramp == 0) {
        w->ramp = -1;
    } else if (k == CTL_PAUSE && !w->paused && w->ramp > 0) {
        w->paused = 1;   /* a play and a pause in one block: still paused */
        w->ramp = 0;
    } else if (k == CTL_PLAY && w->paused) {
        w->paused = 0;
        w->ramp = 1;
    } else if (k == CTL_PLAY && w->ramp < 0) {
        w->ramp = 0;
    } else if (k == CTL_STOP) {
        w->stopping = 1;
    }
}

/* The run's end at the walk's place, as transport_begin decides it. */
static int ended(const struct walk *w)
{
    int64_t left = w->run->frames - w->played;
    if (w->run->frames == INT64_MAX && !w->tl.looping)
        left = w->run->length - w->pos;
    return left <= 0;
}

int events_plan(const struct event *ev, int n, const struct event_run *run,
                struct event_plan *out)
{
    memset(out, 0, sizeof *out);
    out->now = calloc((size_t)n + 1, sizeof *out->now);
    out->params = calloc((size_t)n + 1, sizeof *out->params);
    out->changes = calloc((size_t)n + 1, sizeof *out->changes);
    if (!out->now || !out->params || !out->changes) {
        events_plan_free(out);
        return SHX_ENOMEM;
    }
    struct walk w = {.run = run, .pos = run->tl.start, .tl = run->tl};
    int i = 0;
    /* Messages met while paused wait for the next block that is mixed. */
    int waiting = 0;
    for (int64_t o = 0; i < n || waiting < i; o++) {
        for (; i < n && ev[i].o <= o; i++) {
            const struct ctl_msg *m = &ev[i].m;
            if (!is_now(m->kind))
                continue;
            out->now[out->nnow++] = (struct event){o, *m};
            transport_rule(&w, m->kind);
        }
        if (w.stopping || (!w.paused && ended(&w)) || (w.paused && i == n))
            break;   /* what is left is never heard */
        if (w.paused)
            continue;
        for (; waiting < i; waiting++) {
            const struct ctl_msg *m = &ev[waiting].m;
            if (m->kind == CTL_PARAM)
                out->params[out->nparams++] = (struct planned_param){w.k, *m};
            else if (is_timeline(m->kind))
                plan_change(&w, m, out);
        }
        int64_t left = run->frames - w.played;
        if (run->frames == INT64_MAX && !w.tl.looping)
            left = run->length - w.pos;
        w.played += left < (int64_t)run->block ? left : run->block;
        w.pos = timeline_advance(&w.tl, w.pos, run->block);
        w.k++;
        if (w.ramp < 0)
            w.paused = 1;
        w.ramp = 0;
    }
    return SHX_OK;
}

void events_plan_free(struct event_plan *p)
{
    free(p->now);
    free(p->params);
    free(p->changes);
    memset(p, 0, sizeof *p);
}
