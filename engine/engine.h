/* engine.h - a loaded session made runnable: sources opened, tracks built,
 * workers started. Shared by render, play and check.
 *
 * Main thread only (the tracks it owns have their own threads). */
#ifndef SHX_ENGINE_H
#define SHX_ENGINE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct console;
struct mixer;
struct session;
struct timeline;
struct track;
struct engine;
struct supervisor;

struct engine_options {
    int sample_rate;        /* Hz; 0 = the session's, else the first file's */
    uint32_t block_size;    /* frames; 0 = the session's */
    uint32_t ring_slots;    /* blocks each track's ring holds, at least; power of
                               two (more for long script_blocks, and for
                               ahead_max_ns) */
    uint64_t ahead_max_ns;  /* play: the longest render-ahead it may choose */
    uint32_t refill;        /* see track_config.refill */
    uint32_t batch_frames;  /* most audio one request to a worker covers:
                               track_config.batch = this / block size, in
                               whole script calls (at least one, at most
                               max_calls); 0 = one call */
    uint32_t max_calls;     /* most script calls one request covers (at most
                               CHAN_MAX_BATCH); 0 = CHAN_MAX_BATCH */
    int worker_nice;        /* see track_config.worker_nice */
    int worker_rt_prio;     /* see track_config.worker_rt_prio */
    int realtime;           /* blocks have deadlines (play): each worker pays
                               its start's page faults while it loads, not
                               while it plays (pyhost_load) */
    int pin;                /* pin track i's thread and worker to CPU i % CPUs */
    volatile sig_atomic_t *stop;   /* set by a signal: stop waiting for workers; or NULL */
    int quiet;              /* no notices on stderr (-q); errors still */
};

/* Main. Opens every track's file and builds the tracks (no workers yet).
 * On error err holds "FILE:LINE:COL: tracks[i].file: ..." and the result
 * is SHX_EIO / SHX_EFORMAT (bad input, exit 2) or SHX_ENOMEM / SHX_ESYS. */
int engine_create(const struct session *s, const struct engine_options *o,
                  struct engine **out, char *err, size_t cap);
/* Main. Stops tracks and workers; engine_destroy(NULL) is a no-op. */
void engine_destroy(struct engine *e);
/* Main. Ends the supervisor and the track threads, and asks every worker
 * and the zygote to end without waiting for them: engine_destroy reaps
 * them. Render calls it after its last block, so that the processes exit
 * (tens of ms for a few dozen) while the output file is flushed to disk.
 * Nothing restarts or reloads a worker after it. */
void engine_end_workers(struct engine *e);

/* Main. Starts every worker, then waits until each has run setup() or
 * failed: playback never starts with a worker still importing numpy.
 * Returns SHX_OK when all loaded; otherwise the first failure's code with
 * "FILE:LINE:COL: tracks[i].script: reason" in err (the others still run),
 * SHX_ESESSION when a python.preload module failed to import (err:
 * "FILE:LINE:COL: python.preload[i]: cannot import NAME: ..."; a bad
 * session, exit 2, nothing may play), or SHX_ESTOPPED as soon as the
 * options' stop flag is set. */
int engine_start_workers(struct engine *e, char *err, size_t cap);

/* Main. Starts the supervisor (after engine_start_workers): crashed and
 * hung workers restart, changed scripts reload. Errors: SHX_ESYS. */
int engine_supervise(struct engine *e, char *err, size_t cap);
/* Any thread. The supervisor, NULL before engine_supervise. */
struct supervisor *engine_supervisor(struct engine *e);

/* Track i's desk settings as the session wrote them. */
struct track_setting {
    double gain_db, pan;
    int mute, solo;
};
struct track_setting engine_track_setting(const struct engine *e, int i);
double engine_session_master_db(const struct engine *e);
/* Any thread. Where every control message is decided (console.h). */
struct console *engine_console(struct engine *e);
/* The faders, for the one consumer that mixes (player or render). */
struct mixer *engine_mixer(struct engine *e);

int engine_sample_rate(const struct engine *e);
uint32_t engine_block_size(const struct engine *e);
/* Blocks per script call (the session's script_block / block size, 1 without). */
uint32_t engine_script_blocks(const struct engine *e);
/* Slots of each track's ring to the mixer: the render-ahead's upper end. */
uint32_t engine_ring_slots(const struct engine *e);
int engine_channels(const struct engine *e);
/* Frames from timeline 0 to the end of the longest track. */
int64_t engine_length(const struct engine *e);
int engine_ntracks(const struct engine *e);
/* The session's loop region in seconds; 0 when it has none. */
int engine_loop(const struct engine *e, double *start, double *end);
/* Main. A run's place on the timeline: from start (seconds), looping the
 * session's loop region - or the whole session, as a DAW would - when
 * loop is set. Errors: SHX_EUSAGE with "CMD: --start ... is past the end"
 * or "CMD: the loop region is shorter than one block" in err. */
int engine_timeline(const struct engine *e, const char *cmd, double start, int loop,
                    struct timeline *tl, char *err, size_t cap);
struct track *engine_track(struct engine *e, int i);
/* Any thread. All the tracks, in session order (engine_ntracks of them). */
struct track *const *engine_tracks(struct engine *e);

#endif
