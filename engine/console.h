/* console.h - the one place a control message is decided: OSC, `shmix
 * ctl`, the overlay's and the terminal's keys, a session's `events:` all
 * come here as a struct ctl_msg.
 *
 * DESIGN. The console holds the user's side of the desk - each track's
 * gain, pan, mute and solo, the master gain - resolves mute/solo and the
 * pan law into fader positions, checks what only it can know (a param for
 * a track without a script, a seek past the end, a loop region shorter
 * than a block) and hands the result to the transport (transport.h) as
 * commands, all of one message or none. A message it accepts gets an id;
 * with capture on, the console keeps each accepted message's text so that
 * what the transport reports as taken effect (id, output block) can be
 * written as an `events:` line (console_capture_drain).
 *
 * Threads: any non-real-time thread; one lock inside, never taken by the
 * real-time side. */
#ifndef SHX_CONSOLE_H
#define SHX_CONSOLE_H

#include <stdint.h>
#include <stdio.h>

struct console;
struct ctl_msg;
struct engine;
struct supervisor;
struct transport;

/* Main. The desk set as the session says; its faders go straight to the
 * engine's mixer until a transport is attached. Errors: SHX_ENOMEM. */
int console_create(struct engine *e, struct console **out);
/* Main. NULL is a no-op. */
void console_destroy(struct console *c);

/* Main, around a run: where commands go (NULL: none, the mixer directly)
 * and who restarts and reloads workers (may be NULL). */
void console_attach(struct console *c, struct transport *x, struct supervisor *sup);

/* Any non-real-time thread. Applies an accepted message (ctl_decode made
 * sure its values are in range). Returns 0, or with a one-line reason:
 * SHX_EUSAGE (it cannot apply here: no script, past the end, no
 * transport), SHX_EFULL (the queue to the mixer is full: dropped and
 * counted). Stats, subscribe and ping are the OSC server's, not here. */
int console_apply(struct console *c, const struct ctl_msg *m, char *reason, size_t cap);

/* Any thread. The user's values, for the views. */
int console_mute(struct console *c, int i);
int console_solo(struct console *c, int i);
double console_gain_db(struct console *c, int i);
double console_pan(struct console *c, int i);
/* Any thread. Messages accepted, and dropped because the queue was full. */
uint64_t console_accepted(struct console *c);
uint64_t console_dropped(struct console *c);

/* Main: capture. From now on every accepted message's text is kept. */
void console_capture(struct console *c);
/* Main (or one capture thread). Writes an `events:` line for each message
 * the transport says took effect ("  - {at: SEC, osc: [ADDR, ARGS]}"), at
 * output block o = SEC x rate / block. Returns how many it wrote. */
int console_capture_drain(struct console *c, FILE *out);

#endif
