/* control.h - one control message: the bytes of an OSC packet decoded and
 * validated against the contract's Control table into a flat struct
 * ctl_msg, or a one-line reason why not; and the replies the engine sends
 * (/shmix/ok, /shmix/error, /shmix/pong, /shmix/stats). docs/control.md
 * is the user's side of it.
 *
 * Pure code: no I/O, no global state. Any thread, but not real-time (liblo
 * and the JSON writer allocate): decode on the control thread, then copy
 * the struct ctl_msg - fixed size, no pointers - through a queue to
 * whoever applies it. A message that decodes is valid: every value is in
 * range, so the applying side needs no checks of its own beyond what only
 * it can know (a seek past the end, a track without a script). */
#ifndef SHX_CONTROL_H
#define SHX_CONTROL_H

#include <stddef.h>
#include <stdint.h>

enum ctl_kind {
    CTL_GAIN,            /* /shmix/track/T/gain_db f   a = dB, -120..24 */
    CTL_PAN,             /* /shmix/track/T/pan f       a = -1..1 */
    CTL_MUTE,            /* /shmix/track/T/mute i|T|F  a = 0 or 1 */
    CTL_SOLO,            /* /shmix/track/T/solo i|T|F  a = 0 or 1 */
    CTL_PARAM,           /* /shmix/track/T/param/KEY any  key, value_json */
    CTL_RESTART,         /* /shmix/track/T/restart */
    CTL_RELOAD,          /* /shmix/track/T/reload */
    CTL_MASTER_GAIN,     /* /shmix/master/gain_db f    a = dB, -120..24 */
    CTL_PLAY,            /* /shmix/transport/play */
    CTL_PAUSE,           /* /shmix/transport/pause */
    CTL_STOP,            /* /shmix/transport/stop */
    CTL_SEEK,            /* /shmix/transport/seek f    a = seconds >= 0 */
    CTL_LOOP_ON,         /* /shmix/transport/loop i|T|F  a = 0 or 1 */
    CTL_LOOP_REGION,     /* /shmix/transport/loop f f  a = start >= 0, b = end > a */
    CTL_STATS,           /* /shmix/stats        (answered by the control thread) */
    CTL_SUBSCRIBE,       /* /shmix/subscribe f  a = Hz, (0, 50] (control thread) */
    CTL_UNSUBSCRIBE,     /* /shmix/unsubscribe  (control thread) */
    CTL_PING,            /* /shmix/ping         (control thread) */
};
#define CTL_KIND_COUNT (CTL_PING + 1)

#define CTL_KEY_MAX 64        /* a param key: 1..63 bytes of A-Z a-z 0-9 _ . - */
#define CTL_VALUE_MAX 256     /* a param value as JSON text, NUL included */
#define CTL_REASON_MAX 256    /* enough for every reason ctl_decode writes */
#define CTL_PACKET_MAX 8192   /* the largest request datagram taken in */
#define CTL_SUBSCRIBE_MAX_HZ 50.0

/* One accepted message. Plain data of a fixed size: copy it anywhere. */
struct ctl_msg {
    enum ctl_kind kind;
    int track;                    /* 0-based index; -1 when the address names none */
    double a, b;                  /* the values, per kind (see enum ctl_kind) */
    char key[CTL_KEY_MAX];        /* CTL_PARAM: the key */
    /* CTL_PARAM: the value as JSON text - 1, 2.5, "text", true, false or
     * null - ready to be set into a script's params. Strings are escaped
     * and valid UTF-8; numbers are finite (i: an integer, f: a number with
     * a '.' or exponent, the shortest text that gives the same float). */
    char value_json[CTL_VALUE_MAX];
};

/* The session's tracks by name, for resolving <track>: names[i] is track
 * i's name. The names must stay valid while ctl_decode uses them. */
struct ctl_names {
    const char *const *names;
    int count;
};

/* One OSC argument, independent of liblo: for ctl_parse (a session's
 * `events:`) and ctl_encode (`shmix ctl`, the replies). */
struct ctl_arg {
    char type;                    /* OSC type tag: i h f d s S T F N (others are rejected) */
    int64_t i;                    /* i, h */
    double f;                     /* f, d */
    const char *s;                /* s, S */
};

/* Any thread. Decodes one OSC packet (one datagram's bytes, not modified)
 * into *out. `<track>` in the address is a track's name (an exact match
 * wins, so a track named "2" is that track, not index 2; a name may hold
 * '/') or its 0-based index. OSC bundles are rejected, as are address
 * patterns (a '*' is taken as a character of a name). Returns 0, or a
 * negative code with a one-line reason in reason (no trailing newline, no
 * control characters, cut to cap):
 *   SHX_EBADMSG  malformed packet, bundle, unknown address, no such track,
 *                wrong argument types, value out of range, NaN or Inf
 *   SHX_ENOMEM   out of memory
 * A rejected message leaves *out zeroed, track -1. */
int ctl_decode(const void *packet, size_t len, const struct ctl_names *tracks,
               struct ctl_msg *out, char *reason, size_t cap);

/* Any thread. The same validation for a message given as an address and
 * its arguments (a session's `events:`). Same returns as ctl_decode. */
int ctl_parse(const char *address, const struct ctl_arg *args, int nargs,
              const struct ctl_names *tracks, struct ctl_msg *out, char *reason, size_t cap);

/* Any thread. The message's address with the track by name (param key
 * included), e.g. "/shmix/track/drums/gain_db", for logs and captured
 * events. Returns 0, or SHX_EFULL when it does not fit cap. */
int ctl_address(const struct ctl_msg *m, const struct ctl_names *tracks, char *buf, size_t cap);

/* ---- Replies (see docs/control.md) ---- */

#define CTL_REPLY_OK "/shmix/ok"        /* s: the address accepted */
#define CTL_REPLY_ERROR "/shmix/error"  /* s: the one-line reason */
#define CTL_REPLY_PONG "/shmix/pong"    /* no arguments */
#define CTL_REPLY_STATS "/shmix/stats"  /* s: one stats JSON line */

/* Any thread. Serialises an OSC message into buf. Returns 0 with *len set,
 * SHX_EFULL (does not fit cap), SHX_EUSAGE (address not starting with '/',
 * or an argument type it cannot write), SHX_ENOMEM. */
int ctl_encode(const char *address, const struct ctl_arg *args, int nargs, void *buf,
               size_t cap, size_t *len);
/* Any thread. A reply: address with one string argument text, or none when
 * text is NULL. Returns as ctl_encode. */
int ctl_encode_reply(const char *address, const char *text, void *buf, size_t cap,
                     size_t *len);
/* Any thread. Reads a reply: its address (into address, acap bytes) and its
 * one string argument (into text, tcap bytes; "" when it has none).
 * Returns 0, SHX_EBADMSG (not an OSC message with at most one string
 * argument), SHX_EFULL (address or text longer than its buffer),
 * SHX_ENOMEM. */
int ctl_decode_reply(const void *packet, size_t len, char *address, size_t acap, char *text,
                     size_t tcap);

#endif
