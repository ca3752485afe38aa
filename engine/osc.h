/* osc.h - the control server: a thread that owns the control sockets,
 * decodes every datagram (control.h) and answers it, and hands what it
 * accepted to the engine through a callback. It never touches the audio
 * path: what it hands over goes into a queue behind `apply`, and the queue
 * decides what is too much.
 *
 * Sockets: always a Unix datagram socket, ctldir.h's DIR/PID.osc (0600,
 * removed by osc_destroy); on request also UDP, 127.0.0.1:PORT by default.
 *
 * Replies (docs/control.md), to the sender's address - a Unix client must
 * have bound its socket to a path to get one; one without an address gets
 * none:
 *   /shmix/ping         -> /shmix/pong
 *   /shmix/stats        -> /shmix/stats s (the stats callback's line)
 *   /shmix/subscribe f  -> /shmix/stats s at f Hz, the first at once, until
 *                          /shmix/unsubscribe or 60 s without any message
 *                          from that address (CONTROL_SILENCE_NS; at most
 *                          CONTROL_MAX_SUBSCRIBERS at once, tuning.h)
 *   anything accepted   -> /shmix/ok s (the address as sent)
 *   anything rejected   -> /shmix/error s (the one-line reason)
 *
 * Threads: osc_create and osc_destroy on the main thread; the callbacks run
 * on the control thread, one at a time; the accessors from any thread. */
#ifndef SHX_OSC_H
#define SHX_OSC_H

#include <stddef.h>
#include <stdint.h>

#include "control.h"

struct osc;

#define OSC_STATS_MAX (256 * 1024)   /* a stats line's buffer, bytes */

struct osc_options {
    /* The session's tracks, for `<track>` in addresses. Copied. */
    const char *const *track_names;
    int ntracks;
    int udp;                      /* also listen on UDP (--osc) */
    int udp_port;                 /* 0: any free port (see osc_udp_port) */
    const char *udp_bind;         /* --osc-bind ADDR (a numeric IPv4 or IPv6
                                   * address or a host name); NULL: 127.0.0.1.
                                   * Not a loopback address: a warning on stderr */
    /* Control thread. Takes one accepted message (never CTL_PING,
     * CTL_STATS, CTL_SUBSCRIBE or CTL_UNSUBSCRIBE, which the server answers
     * itself) and must not block: it queues it for the engine. Returns 0
     * (answered /shmix/ok), SHX_EFULL when the queue is full (the message
     * is dropped, counted in osc_dropped and answered /shmix/error), or
     * another negative code with a one-line reason in reason (cap bytes),
     * answered /shmix/error and counted in osc_control_errors. */
    int (*apply)(void *user, const struct ctl_msg *m, char *reason, size_t cap);
    /* Control thread. Writes one stats JSON line (no newline needed) into
     * buf, at most cap bytes with the NUL; returns its length, or a
     * negative code when there is none. NULL: /shmix/stats is answered
     * with an error. */
    int (*stats)(void *user, char *buf, size_t cap);
    void *user;
    uint64_t silence_ns;          /* 0: CONTROL_SILENCE_NS (tests set less) */
};

/* Main. Makes the control folder if needed (ctldir.h) and removes sockets
 * killed processes left there, binds the sockets and starts the control
 * thread. Returns 0, or with a one-line message in err: SHX_EUSAGE (the
 * folder is not private, a bad bind address, the port is taken), SHX_ESYS,
 * SHX_ENOMEM. */
int osc_create(const struct osc_options *o, struct osc **out, char *err, size_t cap);
/* Main. Stops the thread (it answers nothing more), closes the sockets and
 * removes the Unix socket's file. NULL is a no-op. */
void osc_destroy(struct osc *s);

/* Any thread. The UDP port listened on (the one bound when 0 was asked
 * for), or 0 without UDP. */
int osc_udp_port(const struct osc *s);
/* Any thread. The Unix socket's path. */
const char *osc_socket_path(const struct osc *s);
/* Any thread. Messages rejected so far: malformed, unknown address, no
 * such track, wrong types, out of range, or refused by apply (not for a
 * full queue). The stats' `control_errors`. */
uint64_t osc_control_errors(const struct osc *s);
/* Any thread. Messages dropped so far because apply's queue was full. */
uint64_t osc_dropped(const struct osc *s);

#endif
