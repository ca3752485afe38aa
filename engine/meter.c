/* meter.c - gathering and publishing the meters; see meter.h. */
#include "meter.h"
#include "engine.h"
#include "errors.h"
#include "platform.h"
#include "track.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define METER_MAGIC 0x4d58484du   /* "MHXM" */
#define METER_VERSION 1u
/* The shortest stretch of a track's audio its shown cpu is measured over:
 * about 8 overlay frames, a few batches. The stats lines measure over their
 * own interval (stats.c). */
#define METER_CPU_SPAN_NS 250e6

struct meter {
    struct engine *e;
    struct meter_snapshot *pub;   /* shared (or private when not published) */
    int published;
    int owner;                    /* held open (and locked) while published */
    char name[64];
    char session[128];
    struct track_snapshot *prev;  /* totals at the previous update */
    float *shown_cpu;             /* each track's cpu as last measured */
    uint64_t *tick_blocks;        /* each track's blocks at the previous update */
    float shown_dsp;
    uint64_t prev_mix_ns;
};

/* Removes a meters name whose engine no longer exists (killed with
 * SIGKILL, so it could not remove its own), so /dev/shm does not fill up
 * over months of crashes. Only when the pid is gone: a live pid may be a
 * starting engine that has not taken its lock yet. A stale name whose pid
 * was reused stays until that process ends; readers skip it (its lock is
 * free). */
static void sweep_stale(void *ctx, const char *name)
{
    (void)ctx;
    int pid = atoi(name + strlen(METER_PREFIX));
    if (pid > 0 && kill(pid, 0) != 0 && errno == ESRCH)
        plat_shm_unpublish(name, -1);
}

int meter_create(struct engine *e, const char *session, int publish, struct meter **out)
{
    struct meter *m = calloc(1, sizeof *m);
    int n = engine_ntracks(e);
    if (!m || !(m->prev = calloc((size_t)n + 1, sizeof *m->prev))
        || !(m->shown_cpu = calloc((size_t)n + 1, sizeof *m->shown_cpu))
        || !(m->tick_blocks = calloc((size_t)n + 1, sizeof *m->tick_blocks))) {
        if (m) {
            free(m->prev);
            free(m->shown_cpu);
            free(m->tick_blocks);
        }
        free(m);
        return SHX_ENOMEM;
    }
    m->e = e;
    snprintf(m->name, sizeof m->name, METER_PREFIX "%d", (int)getpid());
    void *addr = NULL;
    m->owner = -1;
    if (publish) {
        plat_shm_list(METER_PREFIX, sweep_stale, NULL);
        if (plat_shm_publish(m->name, sizeof *m->pub, &addr, &m->owner) == SHX_OK)
            m->published = 1;
    }
    if (!m->published)   /* not asked for, or /dev/shm refused: private */
        addr = calloc(1, sizeof *m->pub);
    if (!addr) {
        free(m->prev);
        free(m->shown_cpu);
        free(m->tick_blocks);
        free(m);
        return SHX_ENOMEM;
    }
    m->pub = addr;
    m->pub->version = METER_VERSION;
    m->pub->pid = (int32_t)getpid();
    snprintf(m->session, sizeof m->session, "%s", session);
    snprintf(m->pub->session, sizeof m->pub->session, "%s", session);
    __atomic_store_n(&m->pub->magic, METER_MAGIC, __ATOMIC_RELEASE);
    *out = m;
    return SHX_OK;
}

void meter_destroy(struct meter *m)
{
    if (!m)
        return;
    if (m->published) {
        plat_shm_unpublish(m->name, m->owner);
        plat_shm_unmap(m->pub, sizeof *m->pub);
    } else {
        free(m->pub);
    }
    free(m->prev);
    free(m->shown_cpu);
    free(m->tick_blocks);
    free(m);
}

double meter_db(float peak)
{
    return peak > 0.0f ? 20.0 * log10(peak) : -INFINITY;
}

static void fill(struct meter *m, struct meter_snapshot *s, const struct meter_frame *fr)
{
    struct engine *e = m->e;
    double block_ns = 1e9 * engine_block_size(e) / engine_sample_rate(e);
    int n = engine_ntracks(e);
    if (n > METER_MAX_TRACKS)
        n = METER_MAX_TRACKS;
    uint64_t max_blocks = 0;
    double dsp = 0.0;
    int playing = fr->state && !strcmp(fr->state, "playing");   /* else nothing to hold */
    for (int i = 0; i < n; i++) {
        struct track *t = engine_track(e, i);
        struct track_snapshot now;
        track_snapshot(t, &now);
        struct track_snapshot *p = &m->prev[i];
        struct meter_track *mt = &s->tracks[i];
        uint64_t blocks = now.blocks - p->blocks, cpu = now.cpu_ns - p->cpu_ns;
        uint64_t tick = now.blocks - m->tick_blocks[i];   /* for the mixer's share */
        m->tick_blocks[i] = now.blocks;
        max_blocks = tick > max_blocks ? tick : max_blocks;
        snprintf(mt->name, sizeof mt->name, "%s", track_name(t));
        snprintf(mt->state, sizeof mt->state, "%s", track_state_name(now.state));
        mt->pid = (int32_t)now.pid;
        mt->mute = (uint8_t)engine_mute(e, i);
        mt->solo = (uint8_t)engine_solo(e, i);
        mt->audible = (uint8_t)now.audible;
        mt->blocks = now.blocks;
        mt->cpu_ns = now.cpu_ns;
        /* A track renders a batch of blocks per wake-up, and one batch's
         * CPU clock readings can be off by a millisecond or two on a
         * virtual machine (its thread clocks take steal and interrupts in
         * lumps): each track's cpu is measured over at least
         * METER_CPU_SPAN_NS of its blocks and shown until the next
         * measurement (prev keeps its block and CPU totals meanwhile). */
        int measured = (double)blocks * block_ns >= METER_CPU_SPAN_NS;
        if (measured)
            mt->cpu = (float)(100.0 * (double)cpu / ((double)blocks * block_ns));
        else
            mt->cpu = playing ? m->shown_cpu[i] : 0.0f;
        m->shown_cpu[i] = mt->cpu;
        dsp += mt->cpu;
        mt->cpu_peak = (float)(100.0 * (double)now.block_cpu_peak_ns / block_ns);
        mt->wake_us = (float)(now.wake_ns / 1e3);
        mt->busy_us = (float)(now.busy_ns / 1e3);
        mt->peak = now.peak;
        mt->late_blocks = now.late_blocks;
        mt->faulted_blocks = now.faulted_blocks;
        mt->bad_samples = now.bad_samples;
        mt->restarts = now.restarts;
        mt->errors = now.errors;
        mt->restart_ms = (float)(now.restart_ns / 1e6);
        snprintf(mt->last_error, sizeof mt->last_error, "%s", now.last_error);
        if (!measured) {
            now.blocks = p->blocks;
            now.cpu_ns = p->cpu_ns;
        }
        *p = now;
    }
    if (max_blocks) {
        dsp += 100.0 * (double)(fr->mix_cpu_ns - m->prev_mix_ns) / ((double)max_blocks * block_ns);
        m->prev_mix_ns = fr->mix_cpu_ns;
    }
    s->ntracks = (uint32_t)n;
    snprintf(s->session, sizeof s->session, "%s", m->session);
    s->time = fr->time;
    s->position = fr->position;
    snprintf(s->state, sizeof s->state, "%s", fr->state);
    s->sample_rate = engine_sample_rate(e);
    s->block_size = (int32_t)engine_block_size(e);
    if (max_blocks || !playing)
        m->shown_dsp = (float)dsp;
    s->dsp_load = m->shown_dsp;
    s->master_peak = fr->master_peak;
    s->gui_cpu = fr->gui_cpu;
    s->xruns = fr->xruns;
    s->clips = fr->clips;
    s->mix_ns = fr->mix_cpu_ns;
}

/* Seqlock writer: seq odd while the body changes; the fences order the
 * body's stores between the two increments for a reader on any CPU. */
/* GCC warns that ThreadSanitizer does not model standalone fences. The
 * seqlock's readers are the overlay and stats (the main thread, which is
 * also the writer) and `shmix top` in another process, which TSan cannot
 * see either way; the fences are what make the cross-process read
 * correct, so they stay. */
#if defined(__SANITIZE_THREAD__) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wtsan"
#endif

void meter_update(struct meter *m, const struct meter_frame *fr)
{
    static struct meter_snapshot next;   /* main thread only */
    memset(&next, 0, sizeof next);
    fill(m, &next, fr);
    struct meter_snapshot *s = m->pub;
    uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
    __atomic_store_n(&s->seq, seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    size_t head = offsetof(struct meter_snapshot, time);
    memcpy((char *)s + head, (char *)&next + head, sizeof next - head);
    __atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
}

static int read_snapshot(const struct meter_snapshot *s, struct meter_snapshot *out)
{
    for (int tries = 0; tries < 1000; tries++) {
        uint32_t a = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
        if (a & 1)
            continue;
        memcpy(out, s, sizeof *out);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) == a) {
            if (out->ntracks > METER_MAX_TRACKS)   /* another process's bytes: check */
                out->ntracks = METER_MAX_TRACKS;
            return SHX_OK;
        }
    }
    return SHX_EEMPTY;
}

void meter_read(struct meter *m, struct meter_snapshot *out)
{
    read_snapshot(m->pub, out);
}

struct found {
    int pids[16];
    int n;
};

static void on_name(void *ctx, const char *name)
{
    struct found *f = ctx;
    int pid = atoi(name + strlen(METER_PREFIX));
    size_t bytes;
    const void *addr;
    if (pid <= 0 || f->n >= 16 || plat_shm_peek(name, 1, &bytes, &addr) < 0)
        return;   /* not ours, or left by an engine that has ended */
    plat_shm_unmap((void *)addr, bytes);
    f->pids[f->n++] = pid;
}

int meter_peek(int pid, struct meter_snapshot *out, char *err, size_t cap)
{
    if (pid <= 0) {
        struct found f = {{0}, 0};
        plat_shm_list(METER_PREFIX, on_name, &f);
        if (f.n == 0) {
            snprintf(err, cap, "no shmix engine is running");
            return SHX_EEMPTY;
        }
        if (f.n > 1) {
            int len = snprintf(err, cap, "%d engines are running; pick one:", f.n);
            for (int i = 0; i < f.n && len < (int)cap; i++)
                len += snprintf(err + len, cap - (size_t)len, " %d", f.pids[i]);
            return SHX_EUSAGE;
        }
        pid = f.pids[0];
    }
    char name[64];
    snprintf(name, sizeof name, METER_PREFIX "%d", pid);
    size_t bytes;
    const void *addr;
    int rc = plat_shm_peek(name, sizeof *out, &bytes, &addr);
    if (rc < 0) {
        snprintf(err, cap, "no shmix engine with pid %d (or not yours)", pid);
        return rc;
    }
    const struct meter_snapshot *s = addr;
    rc = __atomic_load_n(&s->magic, __ATOMIC_ACQUIRE) == METER_MAGIC && s->version == METER_VERSION
             ? read_snapshot(s, out)
             : SHX_EFORMAT;
    plat_shm_unmap((void *)addr, bytes);
    if (rc < 0)
        snprintf(err, cap, "engine %d: its meters are unreadable", pid);
    return rc;
}
