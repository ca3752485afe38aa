/* top.c - shmix top; see top.h. */
#include "top.h"
#include "errors.h"
#include "platform.h"
#include "snapshot.h"
#include "stats.h"
#include "termview.h"
#include "units.h"

#include <stdio.h>

#define TOP_REFRESH_NS MS_NS(200)    /* the table on a terminal */
#define TOP_PLAIN_NS S_NS(1)         /* plain tables into a pipe */
#define TOP_LINE_NS MS_NS(500)       /* stats lines: --stats-interval's default */
/* Stats lines keep the interval's peaks; the engine publishes a peak per
 * tick (~33 ms), so look about that often. */
#define TOP_PEEK_NS MS_NS(40)

/* The table: redrawn in place on a terminal, else a plain table a second
 * (once: one plain table, on a terminal too, like `top -n 1`). */
static int top_table(const struct top_options *o, int pid, struct snapshot *snap)
{
    struct termview *tv;
    if (termview_create(stdout, o->once ? TERMVIEW_PLAIN : 0, &tv) < 0)
        return SHX_ENOMEM;
    uint64_t every = termview_live(tv) ? TOP_REFRESH_NS : TOP_PLAIN_NS;
    char err[256];
    while (!*o->stop && !ferror(stdout)) {
        termview_draw(tv, snap);
        if (o->once)
            break;
        plat_sleep_ns(every);
        if (snapshot_peek(pid, snap, err, sizeof err) < 0)
            break;   /* the engine has ended */
    }
    termview_destroy(tv);
    return SHX_OK;
}

/* Stats lines, the first one interval after joining (so that its cpu is
 * the interval's, not the run's average so far), then one per interval.
 * Returns SHX_EEMPTY when the engine ended before one line was written. */
static int top_json(const struct top_options *o, int pid, struct snapshot *snap)
{
    struct stats *st;
    if (stats_create(&st) < 0)
        return SHX_ENOMEM;
    stats_start(st, snap);
    int lines = 0;
    char err[256];
    uint64_t next = plat_now_ns() + TOP_LINE_NS;
    while (!*o->stop && !ferror(stdout)) {
        plat_sleep_ns(TOP_PEEK_NS);
        if (snapshot_peek(pid, snap, err, sizeof err) < 0)
            break;   /* the engine has ended */
        stats_observe(st, snap);
        uint64_t now = plat_now_ns();
        if (now < next)
            continue;
        if (stats_write(st, stdout, snap) == SHX_OK)
            lines++;
        if (o->once)
            break;
        next = next + TOP_LINE_NS > now ? next + TOP_LINE_NS : now + TOP_LINE_NS;
    }
    stats_destroy(st);
    return lines || *o->stop ? SHX_OK : SHX_EEMPTY;
}

int top_run(const struct top_options *o, char *err, size_t cap)
{
    static struct snapshot snap;   /* main thread only; large */
    int rc = snapshot_peek(o->pid, &snap, err, cap);
    if (rc < 0)
        return rc;
    int pid = snap.pid;
    rc = o->json ? top_json(o, pid, &snap) : top_table(o, pid, &snap);
    if (rc == SHX_EEMPTY)
        snprintf(err, cap, "engine %d ended before a line was written", pid);
    else if (rc == SHX_ENOMEM)
        snprintf(err, cap, "out of memory");
    return rc;
}
