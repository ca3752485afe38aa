/* termview.c - the meters' table on a terminal or a pipe; see termview.h.
 *
 * Escape codes used (VT100/xterm, understood by every terminal emulator
 * and by tmux): CUP ESC[r;cH, EL ESC[2K, ED ESC[J / ESC[2J, CUU ESC[nA,
 * DECSTBM ESC[t;br (scroll region; it also homes the cursor), DECSC ESC 7
 * and DECRC ESC 8 (save and restore the cursor), DECTCEM ESC[?25l/h. */
#include "termview.h"
#include "errors.h"
#include "snapshot.h"
#include "table.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define LOG_MIN_ROWS 3   /* rows the log region keeps, however many tracks */
#define SAVE "\x1b" "7"
#define RESTORE "\x1b" "8"

struct termview {
    FILE *f;
    unsigned flags;
    int live;                     /* a terminal: redraw in place */
    int started;                  /* screen set up (live), a table printed (plain) */
    int rows, cols;               /* the size the screen was set up for */
    int height;                   /* the table's lines on the screen now */
    struct text table, out;       /* this draw's table; its bytes for the terminal */
};

int termview_create(FILE *f, unsigned flags, struct termview **out)
{
    struct termview *tv = calloc(1, sizeof *tv);
    if (!tv)
        return SHX_ENOMEM;
    tv->f = f;
    tv->flags = flags;
    tv->live = !(flags & TERMVIEW_PLAIN) && isatty(fileno(f));
    *out = tv;
    return SHX_OK;
}

int termview_live(const struct termview *tv)
{
    return tv->live;
}

/* A positive number from the environment, else fallback. */
static int env_number(const char *name, int fallback)
{
    const char *v = getenv(name);
    char *end;
    long n = v && *v ? strtol(v, &end, 10) : 0;
    return n > 0 && n < 10000 && !*end ? (int)n : fallback;
}

/* The terminal's size: the kernel's (TIOCGWINSZ), else $COLUMNS and
 * $LINES, else 80 x 24. A pipe has no size; its width is the same guess. */
static void term_size(FILE *f, int *rows, int *cols)
{
    struct winsize ws;
    memset(&ws, 0, sizeof ws);
    if (ioctl(fileno(f), TIOCGWINSZ, &ws) < 0)
        memset(&ws, 0, sizeof ws);
    *rows = ws.ws_row ? ws.ws_row : env_number("LINES", 24);
    *cols = ws.ws_col ? ws.ws_col : env_number("COLUMNS", 80);
}

/* Writes the draw's bytes at once: under the stream's lock and, on an
 * unbuffered stderr, in one write(2), which the terminal takes whole - so
 * a line another thread or a worker prints meanwhile comes before or after
 * the redraw, never inside it. */
static void flush_out(struct termview *tv)
{
    if (!tv->out.failed && tv->out.len) {
        flockfile(tv->f);
        fwrite(tv->out.p, 1, tv->out.len, tv->f);
        fflush(tv->f);
        funlockfile(tv->f);
    }
    text_clear(&tv->out);
}

/* Appends the table's lines as screen rows top.., each cleared first. */
static void put_rows(struct termview *tv, int top)
{
    const char *p = tv->table.p ? tv->table.p : "";
    for (int r = top; *p; r++) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (r == 1)
            text_fmt(&tv->out, "\x1b[H\x1b[2K");
        else
            text_fmt(&tv->out, "\x1b[%d;1H\x1b[2K", r);
        text_raw(&tv->out, p, n);
        p += n + (nl != NULL);
    }
}

/* `shmix top`: the whole screen, the table from the top. */
static void draw_screen(struct termview *tv, int rows, int cols, int n)
{
    if (!tv->started || rows != tv->rows || cols != tv->cols)
        text_fmt(&tv->out, "\x1b[?25l\x1b[H\x1b[2J");
    put_rows(tv, 1);
    if (n < rows)
        text_fmt(&tv->out, "\x1b[%d;1H\x1b[J", n + 1);   /* what a longer table left */
}

/* The first draw: makes room for h rows below the text already on the
 * screen (newlines scroll it up if it reaches the bottom), then makes the
 * rows above them the scroll region, the cursor still where the text ends. */
static void log_setup(struct termview *tv, int rows, int h)
{
    text_fmt(&tv->out, "\x1b[?25l");
    for (int i = 0; i < h; i++)
        text_raw(&tv->out, "\r\n", 2);
    text_fmt(&tv->out, "\x1b[%dA" SAVE "\x1b[1;%dr" RESTORE, h, rows - h);
}

/* The terminal was resized and has rearranged its lines in its own way:
 * starts over on a clear screen. */
static void log_resize(struct termview *tv, int rows, int h)
{
    text_fmt(&tv->out, "\x1b[r\x1b[H\x1b[2J" SAVE "\x1b[1;%dr" RESTORE, rows - h);
}

/* The table needs h rows instead of tv->height: a taller table first
 * scrolls the region up by the difference (its oldest lines give way, the
 * newest stay), the cursor following its line; a shorter one gives the
 * region its rows back, cleared. */
static void log_resize_table(struct termview *tv, int rows, int h)
{
    int old = tv->height;
    text_raw(&tv->out, SAVE, 2);
    if (h > old) {
        text_fmt(&tv->out, "\x1b[%d;1H", rows - old);
        for (int i = old; i < h; i++)
            text_raw(&tv->out, "\n", 1);
    }
    text_fmt(&tv->out, "\x1b[1;%dr", rows - h);
    for (int r = rows - old + 1; r <= rows - h; r++)
        text_fmt(&tv->out, "\x1b[%d;1H\x1b[2K", r);
    text_raw(&tv->out, RESTORE, 2);
    if (h > old)
        text_fmt(&tv->out, "\x1b[%dA", h - old);
}

/* `play --meter`: the table in the bottom h rows, the rest a scroll region
 * for everything else on the terminal. */
static void draw_log(struct termview *tv, int rows, int cols, int h)
{
    if (!tv->started)
        log_setup(tv, rows, h);
    else if (rows != tv->rows || cols != tv->cols)
        log_resize(tv, rows, h);
    else if (h != tv->height)
        log_resize_table(tv, rows, h);
    text_raw(&tv->out, SAVE, 2);
    put_rows(tv, rows - h + 1);
    text_raw(&tv->out, RESTORE, 2);
}

/* Lines the table may take on a terminal of `rows`. */
static int max_lines(const struct termview *tv, int rows)
{
    if (!(tv->flags & TERMVIEW_LOG_ABOVE))
        return rows;
    return rows > 2 * LOG_MIN_ROWS ? rows - LOG_MIN_ROWS : rows / 2;
}

void termview_draw(struct termview *tv, const struct snapshot *s)
{
    int rows, cols;
    term_size(tv->f, &rows, &cols);
    text_clear(&tv->table);
    if (!tv->live) {
        if (tv->started)
            text_raw(&tv->out, "\n", 1);   /* a blank line between tables */
        table_render(s, cols, 0, &tv->table);
        text_raw(&tv->out, tv->table.p ? tv->table.p : "", tv->table.len);
        tv->started = 1;
        flush_out(tv);
        return;
    }
    int limit = max_lines(tv, rows);
    if (limit < 1)
        return;   /* a terminal one row high: nothing fits */
    int n = table_render(s, cols, limit, &tv->table);
    if (tv->flags & TERMVIEW_LOG_ABOVE)
        draw_log(tv, rows, cols, n);
    else
        draw_screen(tv, rows, cols, n);
    tv->started = 1;
    tv->rows = rows;
    tv->cols = cols;
    tv->height = n;
    flush_out(tv);
}

void termview_destroy(struct termview *tv)
{
    if (!tv)
        return;
    if (tv->live && tv->started) {
        /* Below the last table: the whole screen scrolls one line up. */
        int last = tv->flags & TERMVIEW_LOG_ABOVE ? tv->rows : tv->height;
        text_fmt(&tv->out, "%s\x1b[%d;1H\r\n\x1b[?25h",
                 tv->flags & TERMVIEW_LOG_ABOVE ? "\x1b[r" : "", last > 0 ? last : 1);
        flush_out(tv);
    }
    text_free(&tv->table);
    text_free(&tv->out);
    free(tv);
}
