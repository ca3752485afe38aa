/* termview.h - the meters' table (table.h) on a terminal or a pipe, for
 * `play --meter` and `shmix top`.
 *
 * DESIGN. On a terminal (isatty) the table is redrawn in place with escape
 * codes and fits the terminal's width (TIOCGWINSZ; else $COLUMNS; else 80)
 * and height. Anywhere else - a pipe, a file - each draw prints the table
 * as plain text, no escape codes, a blank line between tables.
 *
 * Two places on a terminal:
 *  - the whole screen (`shmix top`): the table from the top left;
 *  - TERMVIEW_LOG_ABOVE (`play --meter`): the table at the bottom, and the
 *    rows above it a scroll region (DECSTBM) where everything else that is
 *    written to the terminal - the lines scripts print, tracebacks, notices,
 *    from any thread or process - scrolls as usual. Nobody who prints needs
 *    to know about the table: text written in the region cannot reach the
 *    table's rows, and each redraw saves the cursor, draws, and puts the
 *    cursor back where the text left it (DECSC/DECRC), in one write under
 *    the stream's lock, so no line printed meanwhile lands inside the table.
 *    When the table grows (a track's first error) the region scrolls up to
 *    make room; when the terminal is resized the screen is cleared and set
 *    up again.
 *
 * Main thread (one view per stream). */
#ifndef SHX_TERMVIEW_H
#define SHX_TERMVIEW_H

#include <stdio.h>

struct snapshot;
struct termview;

#define TERMVIEW_LOG_ABOVE 1u   /* the table at the bottom, other output above */
#define TERMVIEW_PLAIN 2u       /* plain tables even on a terminal (top --once) */

/* Main. A view on f (stderr for play, stdout for top). Errors: SHX_ENOMEM. */
int termview_create(FILE *f, unsigned flags, struct termview **out);
/* Main. 1 when the view redraws in place on a terminal, 0 when it prints
 * plain tables. */
int termview_live(const struct termview *tv);
/* Main. Draws snapshot s: over the previous table, or as the next plain one. */
void termview_draw(struct termview *tv, const struct snapshot *s);
/* Main. Leaves the terminal as it was (scroll region, cursor shown), with
 * the last table on screen and the cursor below it; frees. NULL is a no-op. */
void termview_destroy(struct termview *tv);

#endif
