/* table.c - the meters as lines of text that fit a width; see table.h. */
#include "table.h"
#include "snapshot.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BAR 16            /* characters in a bar */
#define NAME_MIN 6        /* the name column narrows down to this */
#define NAME_EXTRA 16     /* ... and widens by up to this where there is room */
#define CELL 256          /* bytes of one cell's text before it is fitted */

/* ---- the text buffer ---- */

static int reserve(struct text *t, size_t n)
{
    if (t->failed)
        return 0;
    if (t->len + n + 1 <= t->cap)
        return 1;
    size_t c = t->cap ? t->cap * 2 : 1024;
    while (c < t->len + n + 1)
        c *= 2;
    char *p = realloc(t->p, c);
    if (!p) {
        t->failed = 1;
        return 0;
    }
    t->p = p;
    t->cap = c;
    return 1;
}

void text_raw(struct text *t, const char *s, size_t n)
{
    if (!reserve(t, n))
        return;
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

void text_fmt(struct text *t, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof buf) {   /* rare: long text; format again in place */
        if (!reserve(t, (size_t)n))
            return;
        va_start(ap, fmt);
        vsnprintf(t->p + t->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        t->len += (size_t)n;
    } else if (n > 0) {
        text_raw(t, buf, (size_t)n);
    }
}

void text_clear(struct text *t)
{
    t->len = 0;
    if (t->p)
        t->p[0] = '\0';
}

void text_free(struct text *t)
{
    free(t->p);
    memset(t, 0, sizeof *t);
}

/* ---- characters a terminal may be given ---- */

/* The length (1..4) of the UTF-8 character at s, or 0 when a terminal
 * must not get it as it is: a C0 or C1 control (ESC, CSI, ...), DEL, or
 * bytes that are not UTF-8. s is NUL-terminated, so the look-ahead stops
 * at its end. */
static int safe_char(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x20 || c == 0x7f)
        return 0;
    if (c < 0x80)
        return 1;
    int n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    uint32_t cp = c & (0x7fu >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    if ((n == 2 && cp < 0xa0) || (n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
        || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;   /* C1 controls, overlong forms, surrogates */
    return n;
}

/* Characters in src up to width, each unsafe byte counted as one '?'. */
static int count_fit(const char *src, int width)
{
    int chars = 0;
    for (const unsigned char *s = (const unsigned char *)src; *s && chars < width; chars++) {
        int n = safe_char(s);
        s += n ? n : 1;
    }
    return chars;
}

/* Appends at most width characters of src, each unsafe one as '?'.
 * Returns the characters written. */
static int put_fit(struct text *o, const char *src, int width)
{
    int chars = 0;
    for (const unsigned char *s = (const unsigned char *)src; *s && chars < width; chars++) {
        int n = safe_char(s);
        text_raw(o, n ? (const char *)s : "?", n ? (size_t)n : 1);
        s += n ? n : 1;
    }
    return chars;
}

/* Appends src in a cell of exactly width characters, left-aligned or
 * right-aligned, cut when longer. */
static void put_cell(struct text *o, const char *src, int width, int right)
{
    int pad = width - count_fit(src, width);
    if (right && pad > 0)
        text_fmt(o, "%*s", pad, "");
    put_fit(o, src, width);
    if (!right && pad > 0)
        text_fmt(o, "%*s", pad, "");
}

/* ---- the columns ---- */

enum col_id { C_NAME, C_STATE, C_CPU, C_CPUBAR, C_DB, C_LEVEL, C_WAIT, C_BUSY, C_LATE,
              C_FAULT, C_RST, C_ERR, NCOLS };

/* drop: the order in which a narrow terminal loses the column (1 first;
 * 0 never): the level bar, the hand-off times, the CPU bar, then the
 * counters, so that at 80 columns the CPU bar and every counter stay. */
static const struct col {
    const char *head;
    int width, right, drop;
} cols[NCOLS] = {
    [C_NAME] = {"TRACK", 14, 0, 0},          [C_STATE] = {"STATE", 10, 0, 0},
    [C_CPU] = {"CPU%", 6, 1, 0},             [C_CPUBAR] = {"cpu (| peak)", BAR, 0, 4},
    [C_DB] = {"dBFS", 6, 1, 7},              [C_LEVEL] = {"level", BAR, 0, 1},
    [C_WAIT] = {"WAIT us", 7, 1, 2},         [C_BUSY] = {"BUSY us", 7, 1, 3},
    [C_LATE] = {"LATE", 5, 1, 9},            [C_FAULT] = {"FAULT", 6, 1, 6},
    [C_RST] = {"RST", 4, 1, 5},              [C_ERR] = {"ERR", 4, 1, 8},
};
#define DROP_LAST 9

/* Which columns a width keeps, and how wide each is (0: dropped). */
struct layout {
    int w[NCOLS];
};

static int layout_width(const struct layout *l)
{
    int total = -1;   /* no separator before the first column */
    for (int c = 0; c < NCOLS; c++)
        total += l->w[c] ? l->w[c] + 1 : 0;
    return total;
}

/* Drops columns in their order until the row fits, then narrows the name;
 * a name column with room to spare grows instead (long names). */
static void plan(int width, struct layout *l)
{
    for (int c = 0; c < NCOLS; c++)
        l->w[c] = cols[c].width;
    for (int rank = 1; rank <= DROP_LAST && layout_width(l) > width; rank++)
        for (int c = 0; c < NCOLS; c++)
            if (cols[c].drop == rank)
                l->w[c] = 0;
    int spare = width - layout_width(l);
    if (spare < 0)
        l->w[C_NAME] = l->w[C_NAME] + spare > NAME_MIN ? l->w[C_NAME] + spare : NAME_MIN;
    else
        l->w[C_NAME] += spare < NAME_EXTRA ? spare : NAME_EXTRA;
}

/* A bar of BAR cells for value v in [0, full]; '|' marks the hold. */
static void bar(char *out, double v, double hold, double full)
{
    int n = (int)lround(v / full * BAR), h = (int)lround(hold / full * BAR) - 1;
    for (int i = 0; i < BAR; i++)
        out[i] = i < n ? '#' : (i == h ? '|' : '.');
    out[BAR] = '\0';
}

/* The text of column c for track t. Fields of another process's snapshot
 * are read with their sizes: nothing promises their NUL. */
static void cell_text(char *b, size_t cap, int c, const struct snapshot_track *t)
{
    double db = snapshot_db(t->peak);
    unsigned long long n = 0;
    switch (c) {
    case C_NAME:
        snprintf(b, cap, "%.*s", (int)sizeof t->name, t->name);
        return;
    case C_STATE:
        snprintf(b, cap, "%.*s%s%s", (int)sizeof t->state, t->state, t->mute ? " M" : "",
                 t->solo ? " S" : "");
        return;
    case C_CPU: snprintf(b, cap, "%.1f", t->cpu); return;
    case C_CPUBAR: bar(b, fmin(t->cpu, 100.0), fmin(t->cpu_peak, 100.0), 100.0); return;
    case C_DB: snprintf(b, cap, "%.1f", isfinite(db) ? db : -99.0); return;
    case C_LEVEL: bar(b, isfinite(db) ? fmax(0.0, db + 60.0) : 0.0, 0.0, 60.0); return;
    case C_WAIT: snprintf(b, cap, "%.1f", t->wake_us); return;
    case C_BUSY: snprintf(b, cap, "%.1f", t->busy_us); return;
    case C_LATE: n = t->late_blocks; break;
    case C_FAULT: n = t->faulted_blocks; break;
    case C_RST: n = t->restarts; break;
    default: n = t->errors; break;
    }
    snprintf(b, cap, "%llu", n);
}

/* One row, cut to width: track t's cells, or the column heads when t is
 * NULL. */
static void row(struct text *o, const struct layout *l, const struct snapshot_track *t,
                int width)
{
    struct text line = {0};
    for (int c = 0; c < NCOLS; c++) {
        if (!l->w[c])
            continue;
        char b[CELL];
        if (t)
            cell_text(b, sizeof b, c, t);
        else
            snprintf(b, sizeof b, "%s", cols[c].head);
        if (line.len)
            text_raw(&line, " ", 1);
        put_cell(&line, b, l->w[c], cols[c].right);
    }
    put_fit(o, line.p ? line.p : "", width);
    text_free(&line);
}

/* ---- the header and the errors ---- */

enum { H_PID, H_SESSION, H_STATE, H_POS, H_RATE, H_BLOCK, H_DSP, H_XRUNS, H_MASTER, NHEAD };
/* The order in which a narrow terminal loses a field (0: never). */
static const int head_drop[NHEAD] = {
    [H_RATE] = 1, [H_BLOCK] = 2, [H_SESSION] = 3, [H_POS] = 4, [H_MASTER] = 5, [H_XRUNS] = 6,
};

/* "shmix PID  session  state  position  rate  block  DSP  xruns  master",
 * dropping fields that do not fit; the session by its file name. */
static void header(struct text *o, const struct snapshot *s, int width)
{
    char f[NHEAD][CELL], session[sizeof s->session + 1];
    snprintf(session, sizeof session, "%.*s", (int)sizeof s->session, s->session);
    const char *slash = strrchr(session, '/');
    double mdb = snapshot_db(s->master_peak);
    snprintf(f[H_PID], CELL, "shmix %d", s->pid);
    snprintf(f[H_SESSION], CELL, "%s", slash && slash[1] ? slash + 1 : session);
    snprintf(f[H_STATE], CELL, "%-8.*s", (int)sizeof s->state, s->state);
    snprintf(f[H_POS], CELL, "%8.2f s", s->position);
    snprintf(f[H_RATE], CELL, "%d Hz", s->sample_rate);
    snprintf(f[H_BLOCK], CELL, "%d frames", s->block_size);
    snprintf(f[H_DSP], CELL, "DSP %5.1f%%", s->dsp_load);
    snprintf(f[H_XRUNS], CELL, "xruns %llu", (unsigned long long)s->xruns);
    snprintf(f[H_MASTER], CELL, "master %5.1f dBFS", isfinite(mdb) ? mdb : -99.0);
    int keep[NHEAD], total;
    for (int rank = 0; rank <= 6; rank++) {
        total = -2;   /* two spaces between fields */
        for (int i = 0; i < NHEAD; i++) {
            keep[i] = !head_drop[i] || head_drop[i] > rank;
            total += keep[i] ? count_fit(f[i], INT_MAX) + 2 : 0;
        }
        if (total <= width)
            break;
    }
    struct text line = {0};
    for (int i = 0; i < NHEAD; i++)
        if (keep[i])
            text_fmt(&line, "%s%s", line.len ? "  " : "", f[i]);
    put_fit(o, line.p ? line.p : "", width);
    text_free(&line);
}

/* "  name: the first line of its last error", cut to width. */
static void error_line(struct text *o, const struct snapshot_track *t, int width)
{
    char err[sizeof t->last_error + 1], b[sizeof t->name + sizeof err + 8];
    snprintf(err, sizeof err, "%.*s", (int)sizeof t->last_error, t->last_error);
    snprintf(b, sizeof b, "  %.*s: %.*s", (int)sizeof t->name, t->name,
             (int)strcspn(err, "\n"), err);
    put_fit(o, b, width);
}

/* ---- the table ---- */

/* Ends a line. Returns 1 (a line), so that callers count as they go. */
static int eol(struct text *o)
{
    text_raw(o, "\n", 1);
    return 1;
}

int table_render(const struct snapshot *s, int width, int max_lines, struct text *out)
{
    if (width < 8)
        width = 8;
    int limit = max_lines > 0 ? max_lines : INT_MAX, n = 0;
    uint32_t ntracks = s->ntracks < SNAPSHOT_MAX_TRACKS ? s->ntracks : SNAPSHOT_MAX_TRACKS;
    struct layout l;
    plan(width, &l);
    if (n < limit) {
        header(out, s, width);
        n += eol(out);
    }
    if (n < limit) {
        row(out, &l, NULL, width);
        n += eol(out);
    }
    uint32_t room = (uint32_t)(limit - n), shown = ntracks <= room ? ntracks : room ? room - 1 : 0;
    for (uint32_t i = 0; i < shown; i++) {
        row(out, &l, &s->tracks[i], width);
        n += eol(out);
    }
    if (shown < ntracks && n < limit) {
        char more[64];
        snprintf(more, sizeof more, "  ... %u more tracks", ntracks - shown);
        put_fit(out, more, width);
        n += eol(out);
    }
    for (uint32_t i = 0; i < ntracks && n < limit; i++)
        if (s->tracks[i].last_error[0]) {
            error_line(out, &s->tracks[i], width);
            n += eol(out);
        }
    return n;
}
