/* termview.c - terminal meters; see termview.h. */
#include "termview.h"
#include "snapshot.h"

#include <math.h>
#include <string.h>

#define BAR 16   /* characters in a bar */

static int started;

/* A bar of BAR cells for value v in [0, full]; '|' marks the hold. */
static void bar(char *out, double v, double hold, double full)
{
    int n = (int)lround(v / full * BAR), h = (int)lround(hold / full * BAR) - 1;
    for (int i = 0; i < BAR; i++)
        out[i] = i < n ? '#' : (i == h ? '|' : '.');
    out[BAR] = '\0';
}

void termview_draw(FILE *f, const struct snapshot *s)
{
    if (!started) {
        fputs("\x1b[2J\x1b[?25l", f);
        started = 1;
    }
    fputs("\x1b[H", f);   /* home: overwrite in place, no flicker */
    double mdb = snapshot_db(s->master_peak);
    fprintf(f, "shmix %d  %s  %-8s %8.2f s  %d Hz  %d frames  DSP %5.1f%%  xruns %llu  "
               "master %s%5.1f dBFS\x1b[K\n",
            s->pid, s->session, s->state, s->position, s->sample_rate, s->block_size,
            s->dsp_load, (unsigned long long)s->xruns, isfinite(mdb) ? "" : " ",
            isfinite(mdb) ? mdb : -99.0);
    fprintf(f, "%-14s %-10s %6s %-16s %6s %-16s %7s %7s %5s %6s %4s %4s\x1b[K\n", "TRACK", "STATE",
            "CPU%", "cpu (| peak)", "dBFS", "level", "WAIT us", "BUSY us", "LATE", "FAULT",
            "RST", "ERR");
    for (uint32_t i = 0; i < s->ntracks; i++) {
        const struct snapshot_track *t = &s->tracks[i];
        char cb[BAR + 1], lb[BAR + 1];
        double db = snapshot_db(t->peak);
        bar(cb, fmin(t->cpu, 100.0), fmin(t->cpu_peak, 100.0), 100.0);
        bar(lb, isfinite(db) ? fmax(0.0, db + 60.0) : 0.0, 0.0, 60.0);
        char state[24];
        snprintf(state, sizeof state, "%s%s%s", t->state, t->mute ? " M" : "", t->solo ? " S" : "");
        fprintf(f, "%-14.14s %-10.10s %6.1f %s %6.1f %s %7.1f %7.1f %5llu %6llu %4llu %4llu\x1b[K\n",
                t->name, state, t->cpu, cb, isfinite(db) ? db : -99.0, lb, t->wake_us, t->busy_us,
                (unsigned long long)t->late_blocks, (unsigned long long)t->faulted_blocks,
                (unsigned long long)t->restarts, (unsigned long long)t->errors);
    }
    for (uint32_t i = 0; i < s->ntracks; i++)
        if (s->tracks[i].last_error[0])
            fprintf(f, "  %s: %.*s\x1b[K\n", s->tracks[i].name,
                    (int)strcspn(s->tracks[i].last_error, "\n"), s->tracks[i].last_error);
    fputs("\x1b[J", f);   /* clear what an earlier, longer table left below */
    fflush(f);
}

void termview_end(FILE *f)
{
    if (started)
        fputs("\x1b[?25h", f);
    fflush(f);
}
