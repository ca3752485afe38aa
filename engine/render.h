/* render.h - the offline bounce: the same track threads and workers as
 * play, consumed as fast as they produce, written to a file.
 *
 * Main thread. Deterministic: the output depends on the session and the
 * scripts only, never on the machine's speed (a block waits for its worker
 * up to hang_timeout). */
#ifndef SHX_RENDER_H
#define SHX_RENDER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct engine;
struct event;
struct engine_options;

struct render_options {
    const char *out_path;
    double duration;              /* seconds; < 0 = to the end of the session */
    FILE *stats;                  /* final stats line, or NULL */
    volatile sig_atomic_t *stop;  /* set by a signal handler to abandon */
    int strict;                   /* any faulted block fails the render */
    double start;                 /* seconds on the timeline where it begins */
    int loop;                     /* loop the loop region (needs a duration) */
    const struct event *events;   /* control messages at output times, by time; or NULL */
    int nevents;
};

/* Main. The engine options render needs (ring depth, batching) at blocks
 * of `block` frames. */
void render_engine_options(struct engine_options *eo, uint32_t block);

/* Main. Renders and renames the file into place. On any failure nothing is
 * left at out_path. Errors: SHX_EUSAGE (output format), SHX_EIO, SHX_ESYS,
 * SHX_ESTOPPED (interrupted); err says why. SHX_ESCRIPT: the file is
 * written, but a scripted track never processed a block (its script failed
 * to load, or every start crashed) or, with strict, some block was faulted;
 * one "shmix: TRACK: ..." line per such track is on stderr already. */
int render_run(struct engine *e, const struct render_options *o, char *err, size_t cap);

#endif
