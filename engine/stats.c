/* stats.c - JSON stats lines; see stats.h and the contract's Stats section. */
#include "stats.h"
#include "errors.h"
#include "meter.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct track_interval {
    uint64_t blocks, cpu_ns;      /* totals at the previous line */
    float peak, cpu_peak;         /* maxima since the previous line */
    float cpu;                    /* the cpu last measured */
    float held_peak, held_cpu_peak;   /* the maxima of the last interval with blocks */
};

struct stats {
    struct track_interval t[METER_MAX_TRACKS];
    uint64_t mix_ns;
    float master_peak;
    float dsp;                    /* the dsp_load last measured */
};

int stats_create(struct stats **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? SHX_OK : SHX_ENOMEM;
}

void stats_destroy(struct stats *st)
{
    free(st);
}

void stats_observe(struct stats *st, const struct meter_snapshot *s)
{
    for (uint32_t i = 0; i < s->ntracks; i++) {
        struct track_interval *t = &st->t[i];
        t->peak = fmaxf(t->peak, s->tracks[i].peak);
        t->cpu_peak = fmaxf(t->cpu_peak, s->tracks[i].cpu_peak);
    }
    st->master_peak = fmaxf(st->master_peak, s->master_peak);
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
        fprintf(f, "%.1f", meter_db(peak));
    else
        fputs("null", f);
}

void stats_write(struct stats *st, FILE *f, const struct meter_snapshot *s)
{
    double block_ns = 1e9 * s->block_size / s->sample_rate;
    /* A track renders a batch of blocks per wake-up (about half the
     * render-ahead), so an interval shorter than a batch may see none of
     * its blocks: while playing, the line then repeats the cpu, cpu_peak and
     * peak_dbfs last measured, and the next interval measures the cpu over
     * both, as the meters do (meter.c). Stopped or paused, nothing runs and
     * 0 (or null) is the truth. */
    int playing = !strcmp(s->state, "playing");
    /* dsp_load is the sum of the tracks' cpu (each over the blocks it
     * rendered: tracks render in batches, so their block counts over an
     * interval differ by up to one batch) and the mixer's share. */
    double dsp = 0.0;
    uint64_t max_blocks = 0;
    for (uint32_t i = 0; i < s->ntracks; i++) {
        struct track_interval *p = &st->t[i];
        uint64_t b = s->tracks[i].blocks - p->blocks;
        if (b)
            p->cpu = (float)(100.0 * (double)(s->tracks[i].cpu_ns - p->cpu_ns) / ((double)b * block_ns));
        else if (!playing)
            p->cpu = 0.0f;
        dsp += p->cpu;
        max_blocks = b > max_blocks ? b : max_blocks;
    }
    if (max_blocks)
        dsp += 100.0 * (double)(s->mix_ns - st->mix_ns) / ((double)max_blocks * block_ns);
    else if (playing)
        dsp = st->dsp;
    st->dsp = (float)dsp;
    fprintf(f, "{\"time\": %.3f, \"position\": %.3f, \"state\": ", s->time, s->position);
    json_string(f, s->state);
    fprintf(f, ", \"sample_rate\": %d, \"block_size\": %d, \"dsp_load\": %.1f, "
               "\"xruns\": %llu, \"master_peak_dbfs\": ",
            s->sample_rate, s->block_size, dsp, (unsigned long long)s->xruns);
    json_db(f, st->master_peak);
    fprintf(f, ", \"clips\": %llu, \"tracks\": [", (unsigned long long)s->clips);
    for (uint32_t i = 0; i < s->ntracks; i++) {
        const struct meter_track *t = &s->tracks[i];
        struct track_interval *p = &st->t[i];
        uint64_t blocks = t->blocks - p->blocks;
        if (blocks || !playing) {
            p->held_peak = p->peak;
            p->held_cpu_peak = p->cpu_peak;
        }
        fprintf(f, "%s{\"name\": ", i ? ", " : "");
        json_string(f, t->name);
        fprintf(f, ", \"state\": \"%s\", \"pid\": ", t->state);
        if (t->pid)
            fprintf(f, "%d", t->pid);
        else
            fputs("null", f);
        fprintf(f, ", \"cpu\": %.1f, \"cpu_peak\": %.1f, \"wake_us\": %.1f, \"busy_us\": %.1f, "
                   "\"late_blocks\": %llu, \"faulted_blocks\": %llu, \"bad_samples\": %llu, "
                   "\"restarts\": %llu, \"restart_ms\": %.2f, \"errors\": %llu, \"peak_dbfs\": ",
                p->cpu, p->held_cpu_peak, t->wake_us, t->busy_us,
                (unsigned long long)t->late_blocks, (unsigned long long)t->faulted_blocks,
                (unsigned long long)t->bad_samples, (unsigned long long)t->restarts,
                t->restart_ms, (unsigned long long)t->errors);
        json_db(f, p->held_peak);
        fputs(", \"last_error\": ", f);
        if (t->last_error[0])
            json_string(f, t->last_error);
        else
            fputs("null", f);
        fputc('}', f);
        if (blocks) {
            p->blocks = t->blocks;
            p->cpu_ns = t->cpu_ns;
        }
        p->peak = p->cpu_peak = 0.0f;
    }
    fputs("]}\n", f);
    fflush(f);
    if (max_blocks)
        st->mix_ns = s->mix_ns;
    st->master_peak = 0.0f;
}
