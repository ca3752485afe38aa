/* player.h - real-time playback: the mixer the audio callback runs, the
 * transport (start, loop, duration, stop with a fade) and the clock the
 * track threads take their deadlines from.
 *
 * DESIGN. The callback (player_process) is wait-free: it takes each
 * track's block for the current block number from the track's ring, sums,
 * applies the master gain, meters and publishes the clock. A track whose
 * block is not there drops out for that block only (late_blocks). Track
 * threads render ahead of it; the disk thread reads ahead of them. */
#ifndef SHX_PLAYER_H
#define SHX_PLAYER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct engine;
struct player;
struct meter_frame;
struct transport;

struct player_options {
    double start;          /* seconds on the timeline */
    double duration;       /* seconds to play; < 0 = to the end (or forever when looping) */
    int loop;              /* use the session's loop region (the whole session if none) */
    uint32_t ahead;        /* blocks rendered ahead, fixed; 0 = chosen and tuned (ahead.h) */
    int realtime;          /* ask for SCHED_FIFO for the track threads */
    volatile sig_atomic_t *stop;   /* set by a signal: stop waiting to start; or NULL */
    int capture;           /* record where each control message took effect */
    uint64_t ahead_max_ns; /* the tuned render-ahead's upper end; 0 = ahead_default_max_ns */
};

/* Main. Checks the options against the session. Errors: SHX_EUSAGE (err
 * says why, e.g. --start past the end), SHX_ENOMEM. */
int player_create(struct engine *e, const struct player_options *o, struct player **out,
                  char *err, size_t cap);
/* Main. Stops everything the player started; NULL is a no-op. */
void player_destroy(struct player *p);

/* Main. Starts the disk thread and the track threads and waits until every
 * track has rendered ahead (so the first callback finds full rings).
 * Errors: SHX_ESYS, SHX_ENOMEM, SHX_ESTOPPED (the stop flag was set). */
int player_start(struct player *p, char *err, size_t cap);

/* Real-time: the audio callback. Fills frames x channels floats. underflow
 * says the device reported an xrun since the previous call. Returns how
 * many of the frames, from the first, belong to this play: all of them
 * (the stop fade and the silence of a pause included) until the run has
 * ended; the silence after its end, which the device gets until it is
 * stopped, is not counted. The run ends at its exact frame (the end of
 * --duration or of the session), not at the end of the block it falls
 * in: the rest of that block is silence too, as in render. */
uint32_t player_process(struct player *p, float *out, uint32_t frames, int underflow);

/* Any thread (signal handlers excepted). Fades out over ~10 ms, then
 * finishes. */
void player_request_stop(struct player *p);
/* Any thread. True once the last block (or the fade) has been played. */
int player_finished(const struct player *p);
/* Any thread. True when some track thread was refused SCHED_FIFO. */
int player_rt_denied(const struct player *p);

/* Main. Fills the engine-wide part of a meter update (position, xruns,
 * clips, the master peak since the previous call, the mixer's CPU). */
void player_stats(struct player *p, struct meter_frame *fr);
/* Main, once per tick. Sizes the render-ahead by what it costs (ahead.h). */
void player_tune(struct player *p);
/* Any thread. True while paused (the console pauses and resumes through
 * the transport). */
int player_paused(const struct player *p);
/* Any thread. The transport, for the console and the capture. */
struct transport *player_transport(struct player *p);

#endif
