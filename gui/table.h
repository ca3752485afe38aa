/* table.h - the meters' snapshot as lines of plain text that fit a width:
 * a header, a row per track, the tracks' last errors. What `play --meter`
 * and `shmix top` show, without a single escape code: termview.c puts the
 * lines on a terminal (or a pipe).
 *
 * DESIGN. A line is never wider than the width it is given, so a terminal
 * never wraps a row: columns are dropped (the level bar first, then the
 * hand-off times, the CPU bar, ...), then the name is narrowed, and as a
 * last resort a line is cut. Widths are counted in characters (UTF-8 code
 * points). Names and errors come from the session and from the workers'
 * messages, which are not trusted: control characters and bytes that are
 * not UTF-8 are shown as '?', so nothing in them can move the cursor.
 *
 * Pure text: the main thread of whichever process draws. */
#ifndef SHX_TABLE_H
#define SHX_TABLE_H

#include <stddef.h>

struct snapshot;

/* A growing text buffer (zero-initialise it). An allocation failure is
 * sticky: later appends do nothing and `failed` stays set. */
struct text {
    char *p;                      /* NUL-terminated; NULL before the first append */
    size_t len, cap;
    int failed;
};

/* Any thread, one per buffer (the main thread here). Appends
 * printf-formatted text. */
void text_fmt(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Any thread, one per buffer. Appends n bytes. */
void text_raw(struct text *t, const char *s, size_t n);
/* Any thread, one per buffer. Empties t, keeping its memory. */
void text_clear(struct text *t);
/* Any thread, one per buffer. Frees t's memory and zeroes it. */
void text_free(struct text *t);

/* Main (of the process that draws). The table for s, each line ending in
 * '\n', appended to out: no line wider than width characters (width < 8
 * counts as 8), and at most max_lines lines when max_lines > 0 (then the
 * errors' lines are the first to go, and tracks that do not fit are
 * counted on a last line). Returns the number of lines. */
int table_render(const struct snapshot *s, int width, int max_lines, struct text *out);

#endif
