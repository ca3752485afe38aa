/* mixer.c - the mixing desk; see mixer.h. */
#include "mixer.h"
#include "errors.h"
#include "track.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct fader {
    _Atomic uint64_t target;   /* two floats' bits: left (low), right (high) */
    struct pan_gains now;      /* consumer: where the fader stands */
    float last[2];             /* consumer: the track's last frame in the mix */
    int missed;                /* consumer: its previous block was not there */
};

struct mixer {
    int n, channels;
    uint32_t block;
    struct fader *tracks;
    struct fader master;       /* left only */
    const float **blocks;      /* consumer: each track's block of this period */
};

/* How many tracks ahead of the one being mixed the mixer finds the next
 * blocks and asks for their audio. A track's block was written by its
 * track thread on another CPU, up to the render-ahead earlier: with
 * hundreds of tracks it is out of the caches, and summing it waits on
 * memory - most of the mixer's time at 1 000 tracks before this
 * (docs/performance.md). Eight tracks are ~8 KiB of 128-frame stereo
 * blocks in flight. */
#define MIX_AHEAD 8
/* Only a block's first bytes are asked for: a longer block is read in
 * order, which the CPU's own prefetcher follows. */
#define MIX_PREFETCH_BYTES 2048

static uint64_t pack(struct pan_gains g)
{
    uint32_t l, r;
    memcpy(&l, &g.left, sizeof l);
    memcpy(&r, &g.right, sizeof r);
    return (uint64_t)l | (uint64_t)r << 32;
}

static struct pan_gains unpack(uint64_t v)
{
    struct pan_gains g;
    uint32_t l = (uint32_t)v, r = (uint32_t)(v >> 32);
    memcpy(&g.left, &l, sizeof l);
    memcpy(&g.right, &r, sizeof r);
    return g;
}

static void set(struct fader *f, struct pan_gains g)
{
    atomic_store_explicit(&f->target, pack(g), memory_order_relaxed);
}

int mixer_create(int n, int channels, uint32_t block, struct mixer **out)
{
    struct mixer *m = calloc(1, sizeof *m);
    if (!m || !(m->tracks = calloc((size_t)(n > 0 ? n : 1), sizeof *m->tracks))
        || !(m->blocks = calloc((size_t)(n > 0 ? n : 1), sizeof *m->blocks))) {
        mixer_destroy(m);
        return SHX_ENOMEM;
    }
    m->n = n;
    m->channels = channels;
    m->block = block;
    struct pan_gains unity = {1.0f, 1.0f};
    for (int i = 0; i < n; i++)
        set(&m->tracks[i], unity);
    set(&m->master, unity);
    mixer_settle(m);
    *out = m;
    return SHX_OK;
}

void mixer_destroy(struct mixer *m)
{
    if (!m)
        return;
    free(m->tracks);
    free(m->blocks);
    free(m);
}

void mixer_set_track(struct mixer *m, int i, struct pan_gains g)
{
    if (i >= 0 && i < m->n)
        set(&m->tracks[i], g);
}

void mixer_set_master(struct mixer *m, float gain)
{
    set(&m->master, (struct pan_gains){gain, gain});
}

void mixer_settle(struct mixer *m)
{
    for (int i = 0; i < m->n; i++)
        m->tracks[i].now = unpack(atomic_load(&m->tracks[i].target));
    m->master.now = unpack(atomic_load(&m->master.target));
}

/* Where the fader goes over this block: from `from` (its place) to its
 * target, which it reaches on the block's last frame. */
static struct pan_gains take_target(struct fader *f, struct pan_gains *from)
{
    *from = f->now;
    f->now = unpack(atomic_load_explicit(&f->target, memory_order_relaxed));
    return f->now;
}

/* |v| as the bits of a float: for finite values (the mixer only ever sees
 * sanitised blocks) their order is the order of the magnitudes, and an
 * unsigned maximum vectorises where a float one (NaN rules) does not. */
static inline uint32_t mag_bits(float v)
{
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    return b & 0x7fffffffu;
}

static float bits_float(uint32_t b)
{
    float v;
    memcpy(&v, &b, sizeof v);
    return v;
}

/* out += in x fader, the fader ramping linearly from `a` to `b` over the
 * block (flat when they are equal: the common case, written so that it
 * vectorises - one of these per track per period is most of the mixer's
 * time). Returns the largest |in x fader|. */
static float add_faded(float *restrict out, const float *restrict in, uint32_t frames, int ch,
                       struct pan_gains a, struct pan_gains b)
{
    uint32_t peak = 0;
    if (a.left == b.left && a.right == b.right) {
        if (ch == 2) {
            float gl = a.left, gr = a.right;
            for (size_t f = 0; f < frames; f++) {
                float l = in[2 * f] * gl, r = in[2 * f + 1] * gr;
                out[2 * f] += l;
                out[2 * f + 1] += r;
                uint32_t ml = mag_bits(l), mr = mag_bits(r);
                peak = ml > peak ? ml : peak;
                peak = mr > peak ? mr : peak;
            }
        } else {
            size_t n = (size_t)frames * (size_t)ch;
            for (size_t i = 0; i < n; i++) {
                float v = in[i] * a.left;
                out[i] += v;
                uint32_t m = mag_bits(v);
                peak = m > peak ? m : peak;
            }
        }
        return bits_float(peak);
    }
    float dl = (b.left - a.left) / (float)frames, dr = (b.right - a.right) / (float)frames;
    for (uint32_t f = 0; f < frames; f++) {
        float gl = a.left + dl * (float)(f + 1), gr = a.right + dr * (float)(f + 1);
        if (f + 1 == frames) {   /* exactly the target at the end, whatever the rounding */
            gl = b.left;
            gr = b.right;
        }
        for (int c = 0; c < ch; c++) {
            float v = in[(size_t)f * ch + c] * (c ? gr : gl);
            out[(size_t)f * ch + c] += v;
            uint32_t m = mag_bits(v);
            peak = m > peak ? m : peak;
        }
    }
    return bits_float(peak);
}

/* The master fader over the sum, then its peak and clipped samples. */
static float master_bus(struct mixer *m, float *out, uint64_t *clips)
{
    struct pan_gains from, to = take_target(&m->master, &from);
    float peak = 0.0f;
    uint64_t c = 0;
    float d = (to.left - from.left) / (float)m->block;
    for (uint32_t f = 0; f < m->block; f++) {
        float g = from.left == to.left || f + 1 == m->block ? to.left
                                                            : from.left + d * (float)(f + 1);
        for (int ch = 0; ch < m->channels; ch++) {
            float *s = &out[(size_t)f * m->channels + ch];
            *s *= g;
            float a = fabsf(*s);
            peak = a > peak ? a : peak;
            c += a > 1.0f;
        }
    }
    *clips += c;
    return peak;
}

/* A block that was not there in time (play only): the track's last frame
 * decays to silence over this block instead of stopping dead, and its
 * next block ramps in from silence - a dropout, not two clicks. */
static void add_dropout(float *out, struct fader *f, uint32_t frames, int ch)
{
    for (uint32_t i = 0; i < frames; i++) {
        float w = 1.0f - (float)(i + 1) / (float)frames;
        for (int c = 0; c < ch; c++)
            out[(size_t)i * ch + c] += f->last[c] * w;
    }
    f->last[0] = f->last[1] = 0.0f;
    f->missed = 1;
}

/* The block after a dropout ramps in (its fader ramps from zero). */
static void after_dropout(struct fader *f, struct pan_gains *from)
{
    if (f->missed) {
        *from = (struct pan_gains){0.0f, 0.0f};
        f->missed = 0;
    }
}

/* Finds track i's block k and starts loading its audio into the cache. */
static void find_block(struct mixer *m, struct track *const *tracks, int i, int64_t k,
                       size_t bytes)
{
    const float *b = track_block(tracks[i], k);
    m->blocks[i] = b;
    if (b) {
        const char *c = (const char *)b;
        size_t len = bytes < MIX_PREFETCH_BYTES ? bytes : MIX_PREFETCH_BYTES;
        for (size_t off = 0; off < len; off += 64)
            __builtin_prefetch(c + off, 0, 0);
    }
}

float mixer_mix(struct mixer *m, struct track *const *tracks, int64_t k, float *out,
                uint64_t *clips)
{
    size_t n = (size_t)m->block * (size_t)m->channels;
    memset(out, 0, n * sizeof *out);
    for (int i = 0; i < m->n && i < MIX_AHEAD; i++)
        find_block(m, tracks, i, k, n * sizeof(float));
    for (int i = 0; i < m->n; i++) {
        if (i + MIX_AHEAD < m->n)
            find_block(m, tracks, i + MIX_AHEAD, k, n * sizeof(float));
        struct fader *f = &m->tracks[i];
        struct pan_gains from, to = take_target(f, &from);
        const float *b = m->blocks[i];
        if (!b) {
            track_missed(tracks[i]);   /* only this track drops out of this block */
            add_dropout(out, f, m->block, m->channels);
            continue;
        }
        after_dropout(f, &from);
        track_note_peak(tracks[i], add_faded(out, b, m->block, m->channels, from, to));
        /* Its last frame as mixed, for a dropout of the next block. */
        const float *lastf = b + n - (size_t)m->channels;
        f->last[0] = lastf[0] * to.left;
        f->last[1] = m->channels == 2 ? lastf[1] * to.right : 0.0f;
        track_release(tracks[i]);
    }
    return master_bus(m, out, clips);
}
