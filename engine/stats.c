/* stats.c - JSON stats lines; see stats.h and the contract's Stats section. */
#include "stats.h"
#include "engine.h"
#include "errors.h"
#include "track.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct stats {
    struct engine *e;
    int n;
    struct track_snapshot *prev;   /* at the previous line */
    struct track_snapshot *cur;    /* taken for this line */
    uint64_t prev_mix_ns;
};

int stats_create(struct engine *e, struct stats **out)
{
    struct stats *st = calloc(1, sizeof *st);
    int n = engine_ntracks(e);
    if (!st || !(st->prev = calloc((size_t)n, sizeof *st->prev))
        || !(st->cur = calloc((size_t)n, sizeof *st->cur))) {
        if (st)
            free(st->prev);
        free(st);
        return SHX_ENOMEM;
    }
    st->e = e;
    st->n = n;
    *out = st;
    return SHX_OK;
}

void stats_destroy(struct stats *st)
{
    if (!st)
        return;
    free(st->prev);
    free(st->cur);
    free(st);
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_db(FILE *f, float peak)
{
    if (peak > 0.0f)
        fprintf(f, "%.1f", 20.0 * log10(peak));
    else
        fputs("null", f);
}

void stats_write(struct stats *st, FILE *f, const struct stats_frame *fr)
{
    struct engine *e = st->e;
    double block_ns = 1e9 * engine_block_size(e) / engine_sample_rate(e);
    struct track_snapshot *snaps = st->cur;
    uint64_t total_cpu = 0, max_blocks = 0;

    /* dsp_load in the header needs every track's delta: snapshot all first. */
    for (int i = 0; i < st->n; i++) {
        track_snapshot(engine_track(e, i), &snaps[i]);
        total_cpu += snaps[i].cpu_ns - st->prev[i].cpu_ns;
        uint64_t b = snaps[i].blocks - st->prev[i].blocks;
        if (b > max_blocks)
            max_blocks = b;
    }
    total_cpu += fr->mix_cpu_ns - st->prev_mix_ns;
    double dsp = max_blocks ? 100.0 * (double)total_cpu / ((double)max_blocks * block_ns) : 0.0;

    fprintf(f, "{\"time\": %.3f, \"position\": %.3f, \"state\": ", fr->time, fr->position);
    json_string(f, fr->state);
    fprintf(f, ", \"sample_rate\": %d, \"block_size\": %u, \"dsp_load\": %.1f, "
               "\"xruns\": %llu, \"master_peak_dbfs\": ",
            engine_sample_rate(e), engine_block_size(e), dsp, (unsigned long long)fr->xruns);
    json_db(f, fr->master_peak);
    fprintf(f, ", \"clips\": %llu, \"tracks\": [", (unsigned long long)fr->clips);
    for (int i = 0; i < st->n; i++) {
        const struct track_snapshot now = snaps[i];
        const struct track_snapshot *p = &st->prev[i];
        uint64_t blocks = now.blocks - p->blocks;
        double cpu = blocks ? 100.0 * (double)(now.cpu_ns - p->cpu_ns) / (blocks * block_ns) : 0.0;
        double cpu_peak = 100.0 * (double)now.block_cpu_peak_ns / block_ns;
        fprintf(f, "%s{\"name\": ", i ? ", " : "");
        json_string(f, track_name(engine_track(e, i)));
        fprintf(f, ", \"state\": \"%s\", \"pid\": ", track_state_name(now.state));
        if (now.pid)
            fprintf(f, "%ld", now.pid);
        else
            fputs("null", f);
        fprintf(f, ", \"cpu\": %.1f, \"cpu_peak\": %.1f, \"wake_us\": %.1f, \"busy_us\": %.1f, "
                   "\"late_blocks\": %llu, \"faulted_blocks\": %llu, \"bad_samples\": %llu, "
                   "\"restarts\": %llu, \"restart_ms\": %.2f, \"errors\": %llu, \"peak_dbfs\": ",
                cpu, cpu_peak, now.wake_ns / 1e3, now.busy_ns / 1e3,
                (unsigned long long)now.late_blocks, (unsigned long long)now.faulted_blocks,
                (unsigned long long)now.bad_samples, (unsigned long long)now.restarts,
                now.restart_ns / 1e6, (unsigned long long)now.errors);
        json_db(f, now.peak);
        fputs(", \"last_error\": ", f);
        if (now.last_error[0])
            json_string(f, now.last_error);
        else
            fputs("null", f);
        fputc('}', f);
        st->prev[i] = now;
    }
    fputs("]}\n", f);
    fflush(f);
    st->prev_mix_ns = fr->mix_cpu_ns;
}
