/* fx.h - shmix fx: one sound file through one script offline, as the
 * one-track session it stands for. The session is built in memory, not
 * written to a file, and then runs the path every session does: engine.c
 * starts the worker, render.c bounces it.
 *
 * Main thread. */
#ifndef SHX_FX_H
#define SHX_FX_H

#include <stddef.h>

struct session;

struct fx_options {
    const char *script;            /* SCRIPT, as given */
    const char *in;                /* IN, as given */
    const char *const *params;     /* --param KEY=VALUE texts (KEY not empty) */
    int nparams;
};

/* Main. The session `shmix fx` renders: IN through SCRIPT with the params,
 * at IN's own channel count (1 or 2) and, as render's rule for a session
 * without a sample_rate says, IN's rate; every other key at its default
 * (block_size 256, gain 0 dB, centre, on_fault bypass). Errors, with one
 * line in err: SHX_EIO or SHX_EFORMAT (IN or SCRIPT cannot be read: "IN:
 * reason"), SHX_EUSAGE (a --param value; see session_one_track),
 * SHX_ENOMEM. */
int fx_session(const struct fx_options *o, struct session **out, char *err, size_t cap);

#endif
