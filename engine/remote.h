/* remote.h - play's control side: the OSC server (osc.h) feeding the
 * console, and the capture of what took effect (--capture-events).
 *
 * Main thread creates, ticks and destroys it; the OSC server's callbacks
 * run on its control thread: messages go to the console (console.h), a
 * stats request reads the meters' latest snapshot. */
#ifndef SHX_REMOTE_H
#define SHX_REMOTE_H

#include <stddef.h>

struct engine;
struct meter;
struct meter_frame;
struct remote;
struct snapshot;

struct remote_options {
    int osc_port;             /* --osc PORT; -1: the private socket only */
    const char *osc_bind;     /* --osc-bind ADDR, or NULL */
    const char *capture;      /* --capture-events FILE, or NULL */
};

/* Main, once the run's transport is attached to the console. Starts the
 * control thread and opens the capture file. Returns SHX_OK, or
 * REMOTE_NO_CONTROL (> 0) when the private socket could not be made and
 * nothing asked for it explicitly (no --osc): *out is usable, without
 * OSC, and err says why. Errors: SHX_EIO (the capture file: err says
 * why), SHX_ESYS (the sockets, with --osc), SHX_ENOMEM. */
#define REMOTE_NO_CONTROL 1
int remote_create(struct engine *e, struct meter *m, const struct remote_options *o,
                  struct remote **out, char *err, size_t cap);
/* Main, each tick. Writes what took effect since the last tick to the
 * capture file, and keeps snapshot s for the stats the control thread
 * answers (a copy under a lock: the meters' seqlock has one reader, the
 * main thread, in this process). */
void remote_tick(struct remote *r, const struct snapshot *s);
/* Main. The control figures of the stats (osc_port, control_errors). */
void remote_frame(struct remote *r, struct meter_frame *fr);
/* Main. Stops the control thread, writes the last captured events, closes
 * the file. NULL is a no-op. */
void remote_destroy(struct remote *r);
/* Any thread. The UDP port, 0 when none. */
int remote_udp_port(const struct remote *r);

#endif
