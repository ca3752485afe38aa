/* stats.c - JSON stats lines; see stats.h and docs/metering.md. */
#include "stats.h"
#include "cpuload.h"
#include "errors.h"
#include "json.h"
#include "snapshot.h"
#include "units.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct track_interval {
    struct cpuload cpu;           /* the cpu over the lines' intervals */
    float peak, cpu_peak;         /* maxima since the previous line */
    float held_peak, held_cpu_peak;   /* the maxima of the last interval with blocks */
};

struct stats {
    struct track_interval t[SNAPSHOT_MAX_TRACKS];
    struct dspload dsp;
    float master_peak;
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

void stats_start(struct stats *st, const struct snapshot *s)
{
    for (uint32_t i = 0; i < s->ntracks; i++) {
        st->t[i].cpu.blocks = s->tracks[i].blocks;
        st->t[i].cpu.cpu_ns = s->tracks[i].cpu_ns;
    }
    st->dsp.mix_ns = s->mix_ns;
}

void stats_observe(struct stats *st, const struct snapshot *s)
{
    for (uint32_t i = 0; i < s->ntracks; i++) {
        struct track_interval *t = &st->t[i];
        t->peak = fmaxf(t->peak, s->tracks[i].peak);
        t->cpu_peak = fmaxf(t->cpu_peak, s->tracks[i].cpu_peak);
    }
    st->master_peak = fmaxf(st->master_peak, s->master_peak);
}

static void put_db(struct json *j, float peak)
{
    if (peak > 0.0f)
        json_fmt(j, "%.1f", snapshot_db(peak));
    else
        json_put(j, "null");
}

/* Track i's object. A track renders a batch of blocks per wake-up (about
 * half the render-ahead), so an interval shorter than a batch may see none
 * of its blocks: while playing, the line then repeats the cpu, cpu_peak and
 * peak_dbfs last measured (cpuload.h); stopped or paused, nothing runs and
 * 0 (or null) is the truth. */
static void put_track(struct json *j, struct track_interval *p, const struct snapshot_track *t,
                      float cpu, int rendered, int playing)
{
    if (rendered || !playing) {
        p->held_peak = p->peak;
        p->held_cpu_peak = p->cpu_peak;
    }
    json_put(j, "{\"name\": ");
    json_str(j, t->name);
    json_put(j, ", \"state\": ");
    json_str(j, t->state);   /* another engine's bytes (top --json): escaped */
    json_put(j, ", \"pid\": ");
    if (t->pid)
        json_fmt(j, "%d", t->pid);
    else
        json_put(j, "null");
    json_fmt(j, ", \"cpu\": %.1f, \"cpu_peak\": %.1f, \"wake_us\": %.1f, \"busy_us\": %.1f, ",
             cpu, p->held_cpu_peak, t->wake_us, t->busy_us);
    json_fmt(j, "\"late_blocks\": %llu, \"faulted_blocks\": %llu, \"bad_samples\": %llu, ",
             (unsigned long long)t->late_blocks, (unsigned long long)t->faulted_blocks,
             (unsigned long long)t->bad_samples);
    json_fmt(j, "\"restarts\": %llu, \"restart_ms\": %.2f, \"errors\": %llu, \"peak_dbfs\": ",
             (unsigned long long)t->restarts, t->restart_ms, (unsigned long long)t->errors);
    put_db(j, p->held_peak);
    json_put(j, ", \"last_error\": ");
    if (t->last_error[0])
        json_str(j, t->last_error);
    else
        json_put(j, "null");
    json_put(j, "}");
    p->peak = p->cpu_peak = 0.0f;
}

/* The line for snapshot s into j (the interval's figures taken). */
static void stats_json(struct stats *st, const struct snapshot *s, struct json *j);

int stats_write(struct stats *st, FILE *f, const struct snapshot *s)
{
    struct json j = {0};
    stats_json(st, s, &j);
    int rc = j.failed ? SHX_ENOMEM : SHX_OK;
    if (rc == SHX_OK) {
        fwrite(j.p, 1, j.len, f);
        fflush(f);
    }
    json_free(&j);
    return rc;
}

int stats_line(struct stats *st, const struct snapshot *s, char *buf, size_t cap)
{
    struct json j = {0};
    stats_json(st, s, &j);
    int rc = j.failed ? SHX_ENOMEM : j.len >= cap ? SHX_EFULL : (int)j.len;
    if (rc >= 0) {
        memcpy(buf, j.p, j.len);
        buf[j.len] = '\0';
    }
    json_free(&j);
    return rc;
}

static void stats_json(struct stats *st, const struct snapshot *s, struct json *jp)
{
    double block_ns = (double)NS_PER_S * s->block_size / s->sample_rate;
    int playing = !strcmp(s->state, "playing");
    /* Each track's cpu over the blocks it rendered (tracks render in
     * batches, so their block counts over an interval differ by up to one
     * batch); dsp_load adds the mixer's share over the busiest track's. */
    float cpu[SNAPSHOT_MAX_TRACKS];
    unsigned char rendered[SNAPSHOT_MAX_TRACKS];
    double tracks = 0.0;
    uint64_t max_blocks = 0;
    for (uint32_t i = 0; i < s->ntracks; i++) {
        uint64_t b = s->tracks[i].blocks - st->t[i].cpu.blocks;
        max_blocks = b > max_blocks ? b : max_blocks;
        rendered[i] = b > 0;
        cpu[i] = cpuload_track(&st->t[i].cpu, s->tracks[i].blocks, s->tracks[i].cpu_ns,
                               block_ns, 0.0, playing);
        tracks += cpu[i];
    }
    struct json *j = jp;
    json_fmt(j, "{\"time\": %.3f, \"position\": %.3f, \"state\": ", s->time, s->position);
    json_str(j, s->state);
    json_fmt(j, ", \"sample_rate\": %d, \"block_size\": %d, \"dsp_load\": %.1f, "
                 "\"xruns\": %llu, \"master_peak_dbfs\": ",
             s->sample_rate, s->block_size,
             cpuload_dsp(&st->dsp, tracks, max_blocks, s->mix_ns, block_ns, playing),
             (unsigned long long)s->xruns);
    put_db(j, st->master_peak);
    json_fmt(j, ", \"clips\": %llu, \"tracks\": [", (unsigned long long)s->clips);
    for (uint32_t i = 0; i < s->ntracks; i++) {
        if (i)
            json_put(j, ", ");
        put_track(j, &st->t[i], &s->tracks[i], cpu[i], rendered[i], playing);
    }
    json_put(j, "]");
    if (s->ahead_ms > 0)   /* play */
        json_fmt(j, ", \"render_ahead_ms\": %.1f", s->ahead_ms);
    if (s->control) {
        json_put(j, ", \"osc_port\": ");
        if (s->osc_port > 0)
            json_fmt(j, "%d", s->osc_port);
        else
            json_put(j, "null");
        json_fmt(j, ", \"control_errors\": %llu, \"control_accepted\": %llu, "
                    "\"control_dropped\": %llu",
                 (unsigned long long)s->control_errors, (unsigned long long)s->control_accepted,
                 (unsigned long long)s->control_dropped);
    }
    json_put(j, "}\n");
    st->master_peak = 0.0f;
}
