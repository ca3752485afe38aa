/* events.h - control messages at output times, planned for a render.
 *
 * DESIGN. A render with events (a session's `events:`, render --events,
 * the file play --capture-events writes) must make the samples play made
 * when the same messages took effect at the same output times. In play the
 * transport decides each message when it arrives (transport.h); a render
 * knows all of them beforehand, so this plans them: it walks the output
 * blocks once, as the transport would (pause ramps a block down and stands
 * still, play ramps up, stop ends), and says for each message what the
 * render does with it - a fader or transport message at its output block;
 * a param before run block k (the block heard at its output time); a seek
 * or a loop change as a timeline change at run block k (program.h).
 * An event at an output time the run never reaches is dropped.
 *
 * Main thread, before the render starts. Pure arithmetic. */
#ifndef SHX_EVENTS_H
#define SHX_EVENTS_H

#include <stdint.h>

#include "control.h"
#include "program.h"
#include "timeline.h"

/* One message at an output block, as read from a file. */
struct event {
    int64_t o;                 /* output block it takes effect at */
    struct ctl_msg m;
};

/* A message for a run block: a param. */
struct planned_param {
    int64_t k;
    struct ctl_msg m;
};

struct event_plan {
    struct event *now;         /* faders, master, pause, play, stop: at output block o */
    int nnow;
    struct planned_param *params;   /* in order of k */
    int nparams;
    struct tl_change *changes; /* in order of k, at most one per block */
    uint32_t nchanges;
};

/* What the plan needs to know of the run. */
struct event_run {
    int rate;
    uint32_t block;
    struct timeline tl;        /* at the start */
    int64_t frames;            /* frames of the run; INT64_MAX: to the end */
    int64_t length;            /* the session's frames */
    int has_loop;              /* the session's loop region, for loop on */
    int64_t loop_start, loop_end;
};

/* Main. Plans n events (sorted by o, stable). Errors: SHX_ENOMEM. */
int events_plan(const struct event *ev, int n, const struct event_run *run,
                struct event_plan *out);
/* Main. Frees what events_plan allocated. */
void events_plan_free(struct event_plan *p);

#endif
