/* events_file.h - reading control messages at output times: the `events:`
 * list of a session file, or of a file of events alone (render --events,
 * what play --capture-events writes):
 *
 *   events:
 *     - {at: 4.0, osc: [/shmix/track/drums/gain_db, -6.0]}
 *
 * Each message is checked as if it had come over OSC (ctl_parse, with the
 * session's tracks); arguments are YAML scalars (an int, a float, true,
 * false, null, or a string). An event takes effect at the first block
 * boundary at or after its time. Errors name the place:
 * "FILE:LINE:COL: events[2].osc: no track 'x'". Main thread. */
#ifndef SHX_EVENTS_FILE_H
#define SHX_EVENTS_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "control.h"
#include "events.h"

/* What turns seconds into output blocks. */
struct event_clock {
    int rate;
    uint32_t block;
};

/* Main. Reads the events: list of the YAML file at path - alone: the file
 * holds nothing else; else it is a session and other keys are its own -
 * into *out (malloc'ed, sorted by time; free() it), *count of them (0 and
 * NULL when there are none). Errors: SHX_EIO, SHX_ESESSION (err: where
 * and what), SHX_ENOMEM. */
int events_load(const char *path, int alone, const struct ctl_names *names,
                const struct event_clock *clock, struct event **out, int *count, char *err,
                size_t cap);

#endif
