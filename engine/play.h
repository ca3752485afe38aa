/* play.h - the play command: a session through the audio device (or the
 * null device) in real time, with stats, until the end, the duration or a
 * signal.
 *
 * Main thread. It owns the monitor loop: every tick (PLAY_TICK_NS in
 * tuning.h, ~30 a second, or as often as stats lines are due) it drains the
 * workers' messages, publishes the meters, feeds the views and, every
 * stats interval, writes a stats line. */
#ifndef SHX_PLAY_H
#define SHX_PLAY_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct session;

struct play_options {
    const char *device;           /* --device, or NULL */
    int null;                     /* --null */
    unsigned block;               /* --block, 0 = the session's */
    double start, duration;       /* seconds; duration < 0 = to the end */
    int loop;
    unsigned ahead;               /* --ahead blocks, 0 = default */
    uint64_t ahead_max_ns;        /* --ahead-max, 0 = default */
    int gui;                      /* --gui: the overlay window */
    int meter;                    /* --meter: the table in the terminal */
    int quiet;                    /* -q: no notices (errors still) */
    const char *session_name;     /* for titles */
    const char *record;           /* --record OUT: what is played, into a file; or NULL */
    int osc_port;                 /* --osc PORT, -1: none */
    const char *osc_bind;         /* --osc-bind ADDR, or NULL */
    const char *capture;          /* --capture-events FILE, or NULL */
    FILE *stats;                  /* or NULL */
    double stats_interval;        /* seconds */
    volatile sig_atomic_t *stop;  /* set by SIGINT/SIGTERM */
};

/* Main. Returns the exit status: 0, 2 (bad usage or session: err holds the
 * message), 1 (failure at run time: err holds it). */
int play_run(const struct session *s, const struct play_options *o, char *err, size_t cap);

#endif
