/* termview.h - the meters as a table in a terminal, redrawn in place with
 * ANSI escapes (for `play --meter` and `shmix top`). Main thread. */
#ifndef SHX_TERMVIEW_H
#define SHX_TERMVIEW_H

#include <stdio.h>

struct snapshot;

/* Main. Draws the table over the previous one (the first call clears the
 * screen and hides the cursor). */
void termview_draw(FILE *f, const struct snapshot *s);
/* Main. Shows the cursor again and moves below the table. */
void termview_end(FILE *f);

#endif
