/* transport.h - control changes applied at exact blocks: the faders,
 * params, pause/play/stop, seeks and loop changes, as the one consumer of
 * the tracks' blocks (the audio callback, or the render loop) meets them.
 *
 * DESIGN. Control messages are decided elsewhere (console.c: validation,
 * the pan law, mute/solo) and arrive here as commands through a wait-free
 * single-producer queue. At the start of every output block the consumer
 * takes what has arrived, and each command takes effect at a block that
 * makes play and render agree sample for sample:
 *
 *   faders, master, pause, play, stop   this output block (the mixer is
 *                                       after the render-ahead: heard now)
 *   params, seeks, loop changes         block next + ahead of the run: the
 *                                       first no track has rendered yet
 *
 * Pause ramps the current block down and then plays silence without
 * taking blocks (the run stands still); play ramps the next block up.
 * Stop fades out over STOP_FADE_NS and ends the run. A change of timeline
 * waits in the queue while another is still ahead of the mixer, so at most
 * one is pending (program.h). Every output block counts as output time,
 * silence included: a message "took effect" at the output block where it
 * is heard, which is what --capture-events records and --events replays.
 *
 * Threads: transport_post from one control thread at a time (the
 * console's lock); transport_begin/_end from the consumer (real-time safe:
 * no locks, no allocation, no system calls but a futex wake); the
 * applied-record queue is read by one capture thread. */
#ifndef SHX_TRANSPORT_H
#define SHX_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "program.h"
#include "timeline.h"

struct mixer;
struct track;
struct transport;

enum cmd_kind {
    CMD_FADER,        /* track's fader to (l, r) */
    CMD_MASTER,       /* master fader to l */
    CMD_PARAM,        /* track's param key = value */
    CMD_PAUSE,
    CMD_PLAY,
    CMD_STOP,
    CMD_SEEK,         /* to a (frames) */
    CMD_LOOP,         /* looping a (0/1) over [b0, b1) frames (b1 == 0: keep the region) */
};

#define CMD_KEY_BYTES 80      /* a param key as JSON text */
#define CMD_VALUE_BYTES 256   /* a param value as JSON text */

struct cmd {
    uint32_t kind;            /* enum cmd_kind */
    int32_t track;
    uint32_t id;              /* the message it belongs to, for capture (0: none) */
    uint32_t last;            /* the last command of its message */
    float l, r;
    int64_t a, b0, b1;
    char key[CMD_KEY_BYTES];
    char value[CMD_VALUE_BYTES];
};

/* Where the consumer stands after transport_begin. */
enum transport_do {
    TRANSPORT_MIX,            /* mix run block *k */
    TRANSPORT_SILENCE,        /* paused: silence, no block taken */
    TRANSPORT_END,            /* the run is over */
};

struct transport_config {
    struct mixer *mixer;
    struct track *const *tracks;
    int n, channels, rate;
    uint32_t block;
    uint32_t ahead;           /* blocks the tracks render ahead of the mixer (at most) */
    uint32_t align;           /* params, seeks and loop changes start a script
                                 call: a block k that is a multiple of this (0 = 1) */
    struct timeline tl;       /* the run's timeline at its start */
    int64_t frames;           /* frames of the run to play; INT64_MAX: until the end */
    int64_t length;           /* frames of the session (its end, when not looping) */
    int capture;              /* keep a record of what took effect where */
};

/* Main. Errors: SHX_ENOMEM. */
int transport_create(const struct transport_config *c, struct transport **out);
/* Main. NULL is a no-op. */
void transport_destroy(struct transport *x);

/* Main (play's tuning). The tracks render at most `ahead` blocks ahead of
 * the mixer from now on: params and timeline changes are decided for the
 * block after that. */
void transport_set_ahead(struct transport *x, uint32_t ahead);

/* Control side, one thread at a time. Queues the n commands of one
 * message, all or none. Errors: SHX_EFULL (the queue is full: dropped). */
int transport_post(struct transport *x, const struct cmd *cmds, int n);

/* Consumer, real-time safe. Starts an output block: takes the commands
 * that arrived and says what to play; *k is the run block to mix and
 * *frames how many frames of the block to deliver (all of it but for the
 * run's last: --duration's, or the session's end). */
enum transport_do transport_begin(struct transport *x, int64_t *k, uint32_t *frames);
/* Consumer, real-time safe. Ends the output block in out (block x
 * channels, mixed or silent): its ramps and fades, the clock moves on. */
void transport_end(struct transport *x, float *out);
/* Consumer, real-time safe. Asks for the stop fade (a signal, a key). */
void transport_stop(struct transport *x);

/* Main, before the run (render): the timeline changes it will meet, in
 * order of k (decided beforehand from its events, events.h); the array
 * must outlive the run. */
void transport_set_changes(struct transport *x, const struct tl_change *c, uint32_t n);
/* Any thread. The published timeline changes, for the tracks (track_run). */
const struct program *transport_program(const struct transport *x);
/* Any thread. Where the mixer is: the timeline frame of the block played
 * last; output blocks produced; paused. */
int64_t transport_position(const struct transport *x);
int64_t transport_output_blocks(const struct transport *x);
int transport_paused(const struct transport *x);
int transport_finished(const struct transport *x);

/* Capture thread. The next message that took effect: its id and the
 * output block it took effect at. Returns 0, or SHX_EEMPTY. */
int transport_applied(struct transport *x, uint32_t *id, int64_t *o);

#endif
