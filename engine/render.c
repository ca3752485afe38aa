/* render.c - offline render; see render.h. */
#include "render.h"
#include "engine.h"
#include "errors.h"
#include "meter.h"
#include "mixer.h"
#include "outfile.h"
#include "platform.h"
#include "stats.h"
#include "track.h"

#include <math.h>
#include <stdlib.h>

#define DRAIN_EVERY 64   /* blocks between printing worker messages */
#define RENDER_SLOTS 16  /* blocks each track renders ahead */
#define RENDER_BATCH 8   /* blocks a side waits for before it wakes */

void render_engine_options(struct engine_options *eo)
{
    eo->ring_slots = RENDER_SLOTS;
    eo->refill = RENDER_BATCH;
    eo->pin = 1;   /* one request per block: local hand-offs pay (performance.md) */
}

int render_run(struct engine *e, const struct render_options *o, char *err, size_t cap)
{
    int rate = engine_sample_rate(e), ch = engine_channels(e), n = engine_ntracks(e);
    uint32_t block = engine_block_size(e);
    int64_t total = o->duration >= 0 ? (int64_t)llround(o->duration * rate) : engine_length(e);
    int64_t nblocks = (total + block - 1) / block;
    uint64_t t0 = plat_now_ns();

    struct outfile *out = NULL;
    struct stats *st = NULL;
    struct meter *meter = NULL;
    float *mix = calloc((size_t)block * (size_t)ch, sizeof(float));
    int rc = mix ? outfile_create(o->out_path, rate, ch, &out, err, cap) : SHX_ENOMEM;
    if (rc == SHX_OK && o->stats && (rc = stats_create(&st)) == SHX_OK)
        rc = meter_create(e, o->out_path, 0, &meter);
    struct track_run run = {.tl = {.start = 0}, .count = nblocks};
    for (int i = 0; i < n && rc == SHX_OK; i++)
        rc = track_run(engine_track(e, i), &run);

    float master = (float)engine_master_gain(e), peak = 0.0f;
    uint64_t clips = 0, mix_cpu = 0;
    int64_t done = 0;
    for (int64_t b = 0; b < nblocks && rc == SHX_OK; b++) {
        if (o->stop && *o->stop) {
            rc = SHX_ESTOPPED;
            break;
        }
        /* Sleep once per batch of blocks, not once per block: each wake-up
         * is a context switch on a machine that is short of them. */
        int64_t left = nblocks - b;
        uint32_t want = left < RENDER_BATCH ? (uint32_t)left : RENDER_BATCH;
        for (int i = 0; i < n; i++) {
            struct track *t = engine_track(e, i);
            while (!track_block(t, b))
                track_wait(t, want, plat_now_ns() + 100000000u);
        }
        uint64_t c0 = plat_thread_cpu_ns();
        mixer_clear(mix, (size_t)block * ch);
        for (int i = 0; i < n; i++) {
            struct track *t = engine_track(e, i);
            mixer_add(mix, track_block(t, b), (size_t)block * ch);
            track_release(t);
        }
        peak = fmaxf(peak, mixer_master(mix, (size_t)block * ch, master, &clips));
        mix_cpu += plat_thread_cpu_ns() - c0;
        int64_t frames = total - done < block ? total - done : block;
        if (outfile_write(out, mix, frames) < 0) {
            snprintf(err, cap, "%s: write failed", o->out_path);
            rc = SHX_EIO;
        }
        done += frames;
        if (b % DRAIN_EVERY == 0)
            for (int i = 0; i < n; i++)
                track_drain(engine_track(e, i));
    }
    for (int i = 0; i < n; i++)
        track_stop(engine_track(e, i));
    for (int i = 0; i < n; i++)
        track_drain(engine_track(e, i));
    if (rc == SHX_OK)
        rc = outfile_commit(out, err, cap);
    else if (rc == SHX_ESTOPPED)
        snprintf(err, cap, "interrupted; %s not written", o->out_path);
    if (st && meter) {
        struct meter_frame fr = {
            .time = (double)(plat_now_ns() - t0) / 1e9,
            .position = (double)done / rate,
            .state = rc == SHX_OK ? "stopped" : "failed",
            .master_peak = peak,
            .clips = clips,
            .mix_cpu_ns = mix_cpu,
        };
        static struct meter_snapshot snap;
        meter_update(meter, &fr);
        meter_read(meter, &snap);
        stats_observe(st, &snap);
        stats_write(st, o->stats, &snap);
    }
    meter_destroy(meter);
    stats_destroy(st);
    outfile_destroy(out);
    free(mix);
    return rc;
}
