/* meter.c - gathering the meters; see meter.h. */
#include "meter.h"
#include "cpuload.h"
#include "console.h"
#include "engine.h"
#include "errors.h"
#include "snapshot.h"
#include "track.h"
#include "tuning.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct meter {
    struct engine *e;
    struct snapshot_writer *w;
    char session[128];
    struct cpuload *cpu;          /* each track's cpu interval */
    uint64_t *tick_blocks;        /* each track's blocks at the previous update */
    struct dspload dsp;
    struct snapshot next;         /* the snapshot being gathered (large) */
};

int meter_create(struct engine *e, const char *session, int publish, struct meter **out)
{
    struct meter *m = calloc(1, sizeof *m);
    size_t n = (size_t)engine_ntracks(e) + 1;
    if (!m || !(m->cpu = calloc(n, sizeof *m->cpu))
        || !(m->tick_blocks = calloc(n, sizeof *m->tick_blocks))
        || snapshot_writer_create(publish, &m->w) < 0) {
        meter_destroy(m);
        return SHX_ENOMEM;
    }
    m->e = e;
    snprintf(m->session, sizeof m->session, "%s", session);
    *out = m;
    return SHX_OK;
}

void meter_destroy(struct meter *m)
{
    if (!m)
        return;
    snapshot_writer_destroy(m->w);
    free(m->cpu);
    free(m->tick_blocks);
    free(m);
}

/* Track i's row. Returns the blocks it rendered since the previous update
 * (the mixer's share is measured over the busiest track's). */
static uint64_t fill_track(struct meter *m, int i, struct snapshot_track *mt, double block_ns,
                           int playing)
{
    struct track *t = engine_track(m->e, i);
    struct track_snapshot now;
    track_snapshot(t, &now);
    uint64_t tick = now.blocks - m->tick_blocks[i];
    m->tick_blocks[i] = now.blocks;
    snprintf(mt->name, sizeof mt->name, "%s", track_name(t));
    snprintf(mt->state, sizeof mt->state, "%s", track_state_name(now.state));
    mt->pid = (int32_t)now.pid;
    mt->mute = (uint8_t)console_mute(engine_console(m->e), i);
    mt->solo = (uint8_t)console_solo(engine_console(m->e), i);
    mt->audible = (uint8_t)now.audible;
    mt->blocks = now.blocks;
    mt->cpu_ns = now.cpu_ns;
    mt->cpu = cpuload_track(&m->cpu[i], now.blocks, now.cpu_ns, block_ns, METER_CPU_SPAN_NS,
                            playing);
    mt->cpu_peak = (float)(100.0 * (double)now.block_cpu_peak_ns / block_ns);
    mt->wake_us = (float)((double)now.wake_ns / NS_PER_US);
    mt->busy_us = (float)((double)now.busy_ns / NS_PER_US);
    mt->peak = now.peak;
    mt->late_blocks = now.late_blocks;
    mt->faulted_blocks = now.faulted_blocks;
    mt->bad_samples = now.bad_samples;
    mt->restarts = now.restarts;
    mt->errors = now.errors;
    mt->restart_ms = (float)((double)now.restart_ns / NS_PER_MS);
    snprintf(mt->last_error, sizeof mt->last_error, "%s", now.last_error);
    return tick;
}

static void fill(struct meter *m, struct snapshot *s, const struct meter_frame *fr)
{
    struct engine *e = m->e;
    double block_ns = (double)NS_PER_S * engine_block_size(e) / engine_sample_rate(e);
    int n = engine_ntracks(e) < SNAPSHOT_MAX_TRACKS ? engine_ntracks(e) : SNAPSHOT_MAX_TRACKS;
    int playing = fr->state && !strcmp(fr->state, "playing");   /* else nothing to hold */
    uint64_t max_blocks = 0;
    double tracks = 0.0;
    for (int i = 0; i < n; i++) {
        uint64_t tick = fill_track(m, i, &s->tracks[i], block_ns, playing);
        max_blocks = tick > max_blocks ? tick : max_blocks;
        tracks += s->tracks[i].cpu;
    }
    s->ntracks = (uint32_t)n;
    snprintf(s->session, sizeof s->session, "%s", m->session);
    s->time = fr->time;
    s->position = fr->position;
    snprintf(s->state, sizeof s->state, "%s", fr->state);
    s->sample_rate = engine_sample_rate(e);
    s->block_size = (int32_t)engine_block_size(e);
    s->dsp_load = cpuload_dsp(&m->dsp, tracks, max_blocks, fr->mix_cpu_ns, block_ns, playing);
    s->master_peak = fr->master_peak;
    s->gui_cpu = fr->gui_cpu;
    s->xruns = fr->xruns;
    s->clips = fr->clips;
    s->mix_ns = fr->mix_cpu_ns;
    s->control = fr->control;
    s->osc_port = fr->osc_port;
    s->ahead_ms = fr->ahead_ms;
    s->control_errors = fr->control_errors;
    s->control_accepted = fr->control_accepted;
    s->control_dropped = fr->control_dropped;
}

void meter_update(struct meter *m, const struct meter_frame *fr)
{
    memset(&m->next, 0, sizeof m->next);
    fill(m, &m->next, fr);
    snapshot_write(m->w, &m->next);
}

void meter_read(struct meter *m, struct snapshot *out)
{
    snapshot_read(m->w, out);
}
