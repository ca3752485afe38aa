/* transport.c - control changes at exact blocks; see transport.h.
 * Real-time rules for the consumer side: docs/realtime.md. */
#include "transport.h"
#include "errors.h"
#include "mixer.h"
#include "ring.h"
#include "track.h"
#include "tuning.h"
#include "units.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define CMD_SLOTS 1024u        /* commands in flight (a solo of 256 tracks is 257) */
#define APPLIED_SLOTS 4096u    /* took-effect records not yet written by the capture */
#define PENDING_MAX 64         /* params and changes decided but not heard yet */

struct applied {
    uint32_t id;
    int64_t o;
};

/* A message decided for a run block, heard when the mixer reaches it. */
struct pending {
    int64_t k;
    uint32_t id;
};

enum { PLAYING, PAUSED };

struct transport {
    struct transport_config c;
    struct ring *cmds;           /* control side -> consumer */
    struct ring *applied;        /* consumer -> capture, or NULL */
    struct program program;      /* timeline changes, for the tracks */

    /* Consumer only. */
    int64_t next;                /* run block mixed next */
    int64_t pos;                 /* its timeline frame */
    struct timeline tl;          /* the mixer's view of the timeline */
    int state;                   /* PLAYING or PAUSED */
    int ramp;                    /* this block: -1 ramps down (pause), +1 up (play) */
    int mixed;                   /* this block took a run block */
    struct pending pend[PENDING_MAX];
    int npend;
    int64_t change_k;            /* the pending timeline change's block, -1 none */
    struct tl_change change;
    float stop_gain, stop_step;  /* the stop fade, per frame */
    int stopping;
    int64_t played;              /* frames of run blocks delivered */
    const struct tl_change *fixed;   /* render: the changes known beforehand */
    uint32_t nfixed, next_fixed;

    /* Shared. */
    _Atomic uint32_t ahead;      /* c.ahead, as play's tuning changes it */
    _Atomic int64_t out_blocks;
    _Atomic int64_t position;
    atomic_int paused, finished, stop_asked;
};

int transport_create(const struct transport_config *c, struct transport **out)
{
    struct transport *x = calloc(1, sizeof *x);
    if (!x)
        return SHX_ENOMEM;
    x->c = *c;
    x->c.align = c->align ? c->align : 1;
    atomic_store(&x->ahead, c->ahead);
    x->tl = c->tl;
    x->pos = c->tl.start;
    x->change_k = -1;
    x->stop_gain = 1.0f;
    x->stop_step = 1.0f / (float)((uint64_t)c->rate * STOP_FADE_NS / NS_PER_S + 1);
    atomic_store(&x->position, c->tl.start);
    int rc = ring_create(CMD_SLOTS, sizeof(struct cmd), &x->cmds);
    if (rc == SHX_OK && c->capture)
        rc = ring_create(APPLIED_SLOTS, sizeof(struct applied), &x->applied);
    if (rc < 0) {
        transport_destroy(x);
        return rc;
    }
    *out = x;
    return SHX_OK;
}

void transport_destroy(struct transport *x)
{
    if (!x)
        return;
    ring_destroy(x->cmds);
    ring_destroy(x->applied);
    free(x);
}

int transport_post(struct transport *x, const struct cmd *cmds, int n)
{
    if (n <= 0)
        return SHX_OK;
    if (CMD_SLOTS - ring_fill(x->cmds) < (uint32_t)n)
        return SHX_EFULL;   /* all or none: a message is never half applied */
    for (int i = 0; i < n; i++) {
        struct cmd *s = ring_write_slot(x->cmds);
        *s = cmds[i];
        s->last = i == n - 1;
        ring_commit(x->cmds);
    }
    return SHX_OK;
}

/* The message of command c took effect at this output block. A full
 * record queue loses the record, not the change. */
static void took_effect(struct transport *x, uint32_t id)
{
    if (!x->applied || !id)
        return;
    struct applied *a = ring_write_slot(x->applied);
    if (a) {
        a->id = id;
        a->o = atomic_load_explicit(&x->out_blocks, memory_order_relaxed);
        ring_commit(x->applied);
    }
}

/* The first run block no track has rendered yet (each renders at most
 * `ahead` blocks past the one the mixer takes next) where a script call
 * starts: a script sees a change at the start of a call, in play as in a
 * render of the capture. */
static int64_t first_free_block(const struct transport *x)
{
    int64_t k = x->next + atomic_load_explicit(&x->ahead, memory_order_relaxed);
    int64_t a = x->c.align;
    return (k + a - 1) / a * a;
}

void transport_set_ahead(struct transport *x, uint32_t ahead)
{
    atomic_store_explicit(&x->ahead, ahead, memory_order_relaxed);
}

/* The timeline frame block k will start at, with no change on the way. */
static int64_t position_of(const struct transport *x, int64_t k)
{
    int64_t pos = x->pos;
    for (int64_t i = x->next; i < k; i++)
        pos = timeline_advance(&x->tl, pos, x->c.block);
    return pos;
}

/* A timeline change (seek, loop) at the first free block. */
static void decide_change(struct transport *x, const struct cmd *c, int64_t k)
{
    struct tl_change ch = {.k = k, .tl = x->tl, .pos = position_of(x, k)};
    if (c->kind == CMD_SEEK) {
        ch.pos = c->a;
        ch.jump = 1;
    } else {
        ch.tl.looping = c->a != 0;
        if (c->b1 > c->b0) {
            ch.tl.loop_start = c->b0;
            ch.tl.loop_end = c->b1;
        }
    }
    x->change = ch;
    x->change_k = k;
    program_publish(&x->program, &ch);
}

/* Takes one command; 0 when it must wait (another change is pending, or
 * no room to remember it until it is heard). */
static int apply(struct transport *x, const struct cmd *c)
{
    int deferred = c->kind == CMD_SEEK || c->kind == CMD_LOOP || c->kind == CMD_PARAM;
    if (deferred && x->npend == PENDING_MAX)
        return 0;
    if ((c->kind == CMD_SEEK || c->kind == CMD_LOOP) && x->change_k >= 0)
        return 0;
    int64_t free_k = deferred ? first_free_block(x) : 0;   /* once: the tuning may move it */
    switch (c->kind) {
    case CMD_FADER:
        mixer_set_track(x->c.mixer, c->track, (struct pan_gains){c->l, c->r});
        break;
    case CMD_MASTER:
        mixer_set_master(x->c.mixer, c->l);
        break;
    case CMD_PAUSE:   /* the same rules as events.c's transport_rule */
        if (x->state == PLAYING && x->ramp == 0) {
            x->ramp = -1;
        } else if (x->state == PLAYING && x->ramp > 0) {
            x->state = PAUSED;   /* a play and a pause in one block: still paused */
            x->ramp = 0;
        }
        break;
    case CMD_PLAY:
        if (x->state == PAUSED) {
            x->state = PLAYING;
            x->ramp = 1;
        } else if (x->ramp < 0) {
            x->ramp = 0;   /* a pause and a play in one block: nothing happens */
        }
        break;
    case CMD_STOP:
        x->stopping = 1;
        break;
    case CMD_PARAM:   /* a full queue to the track: wait in ours, lose nothing */
        if (c->track >= 0 && c->track < x->c.n
            && track_post_param(x->c.tracks[c->track], free_k, c->key, c->value)
                   == SHX_EFULL)
            return 0;
        break;
    case CMD_SEEK:
    case CMD_LOOP:
        decide_change(x, c, free_k);
        break;
    default:
        break;
    }
    if (c->last && deferred)
        x->pend[x->npend++] = (struct pending){free_k, c->id};
    else if (c->last)
        took_effect(x, c->id);
    return 1;
}

void transport_set_changes(struct transport *x, const struct tl_change *c, uint32_t n)
{
    x->fixed = c;
    x->nfixed = n;
}

enum transport_do transport_begin(struct transport *x, int64_t *k, uint32_t *frames)
{
    *frames = x->c.block;
    struct cmd *c;
    while ((c = ring_read_slot(x->cmds)) != NULL && apply(x, c))
        ring_release(x->cmds);
    if (atomic_load_explicit(&x->stop_asked, memory_order_relaxed))
        x->stopping = 1;
    if (atomic_load_explicit(&x->finished, memory_order_relaxed))
        return TRANSPORT_END;
    if (x->stopping && x->state == PAUSED) {   /* nothing sounds: nothing to fade */
        atomic_store(&x->finished, 1);
        return TRANSPORT_END;
    }
    x->mixed = x->state == PLAYING;
    if (!x->mixed)
        return TRANSPORT_SILENCE;
    /* The block a timeline change was decided for: from here the mixer's
     * view follows it too. */
    if (x->next == x->change_k) {
        x->tl = x->change.tl;
        x->pos = x->change.pos;
        x->change_k = -1;
    }
    if (x->next_fixed < x->nfixed && x->fixed[x->next_fixed].k == x->next) {
        x->tl = x->fixed[x->next_fixed].tl;
        x->pos = x->fixed[x->next_fixed].pos;
        x->next_fixed++;
    }
    /* --duration's frames, silence past the session's end included; else
     * the session's end (a seek may have moved it), unless looping. */
    int64_t left = x->c.frames - x->played;
    if (x->c.frames == INT64_MAX && !x->tl.looping)
        left = x->c.length - x->pos;
    if (left <= 0) {
        atomic_store(&x->finished, 1);
        return TRANSPORT_END;
    }
    if (left < (int64_t)*frames)
        *frames = (uint32_t)left;
    x->played += *frames;
    *k = x->next;
    return TRANSPORT_MIX;
}

/* out x a gain going from a to b over the block (b reached on its last
 * frame). */
static void ramp(float *out, uint32_t frames, int ch, float a, float b)
{
    float d = (b - a) / (float)frames;
    for (uint32_t f = 0; f < frames; f++) {
        float g = f + 1 == frames ? b : a + d * (float)(f + 1);
        for (int c = 0; c < ch; c++)
            out[(size_t)f * ch + c] *= g;
    }
}

/* Messages decided for the run block just mixed are heard now. */
static void heard(struct transport *x, int64_t k)
{
    int j = 0;
    for (int i = 0; i < x->npend; i++) {
        if (x->pend[i].k <= k)
            took_effect(x, x->pend[i].id);
        else
            x->pend[j++] = x->pend[i];
    }
    x->npend = j;
}

void transport_end(struct transport *x, float *out)
{
    uint32_t frames = x->c.block;
    int ch = x->c.channels;
    if (x->mixed) {
        if (x->ramp < 0) {
            ramp(out, frames, ch, 1.0f, 0.0f);
            x->state = PAUSED;
        } else if (x->ramp > 0) {
            ramp(out, frames, ch, 0.0f, 1.0f);
        }
        heard(x, x->next);
        atomic_store_explicit(&x->position, x->pos, memory_order_relaxed);
        x->pos = timeline_advance(&x->tl, x->pos, frames);
        x->next++;
    }
    x->ramp = 0;
    x->mixed = 0;
    if (x->stopping) {
        for (uint32_t f = 0; f < frames; f++) {
            for (int c = 0; c < ch; c++)
                out[(size_t)f * ch + c] *= x->stop_gain;
            x->stop_gain = x->stop_gain > x->stop_step ? x->stop_gain - x->stop_step : 0.0f;
        }
        if (x->stop_gain == 0.0f)
            atomic_store(&x->finished, 1);
    }
    atomic_store_explicit(&x->paused, x->state == PAUSED, memory_order_relaxed);
    atomic_fetch_add_explicit(&x->out_blocks, 1, memory_order_relaxed);
}

void transport_stop(struct transport *x)
{
    atomic_store(&x->stop_asked, 1);
}

const struct program *transport_program(const struct transport *x) { return &x->program; }

int64_t transport_position(const struct transport *x)
{
    return atomic_load(&((struct transport *)x)->position);
}

int64_t transport_output_blocks(const struct transport *x)
{
    return atomic_load(&((struct transport *)x)->out_blocks);
}

int transport_paused(const struct transport *x)
{
    return atomic_load(&((struct transport *)x)->paused);
}

int transport_finished(const struct transport *x)
{
    return atomic_load(&((struct transport *)x)->finished);
}

int transport_applied(struct transport *x, uint32_t *id, int64_t *o)
{
    struct applied *a = x->applied ? ring_read_slot(x->applied) : NULL;
    if (!a)
        return SHX_EEMPTY;
    *id = a->id;
    *o = a->o;
    ring_release(x->applied);
    return SHX_OK;
}
