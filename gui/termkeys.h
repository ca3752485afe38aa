/* termkeys.h - the overlay's keys from a terminal, for `play --meter`.
 *
 * DESIGN. When stdin is a terminal, it is put in non-canonical, no-echo
 * mode (restored by termkeys_destroy, and kept as it was when stdin is not
 * a terminal) and read without blocking once per tick; each key becomes
 * the same overlay_input the window's keys do, so that both go through the
 * same control path (the console): space pause/play, m mute, s solo,
 * r restart, left/right gain, , and . pan, [ and ] seek, up/down select a
 * track, q quit. ^C stays a signal (ISIG is kept).
 *
 * Main thread. */
#ifndef SHX_TERMKEYS_H
#define SHX_TERMKEYS_H

#include <stddef.h>

#include "overlay.h"

struct termkeys;

/* Main. NULL in *out when stdin is not a terminal (nothing to read).
 * Errors: SHX_ENOMEM. */
int termkeys_create(int ntracks, struct termkeys **out);
/* Main. The keys pressed since the last call, at most max. */
int termkeys_read(struct termkeys *k, struct overlay_input *in, int max);
/* Main. The selected track. */
int termkeys_selected(const struct termkeys *k);
/* Main. The terminal as it was; NULL is a no-op. */
void termkeys_destroy(struct termkeys *k);

#endif
