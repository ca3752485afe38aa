/* ahead.c - play's render-ahead, chosen and tuned; see ahead.h. Main
 * thread only: the tracks see the result through track_clock.ahead. */
#include "ahead.h"
#include "errors.h"
#include "tuning.h"
#include "units.h"

#include <stdlib.h>

#define MEMORY_SLOTS 32u   /* the need's maxima over AHEAD_MEMORY_NS, in slices */

struct ahead {
    struct ahead_config c;
    uint64_t period_ns;       /* one block */
    uint32_t batch, lag;      /* blocks: fixed for the run */
    uint32_t min, max;        /* the blocks' bounds when tuned */
    uint32_t blocks;          /* now */
    uint64_t changed_ns;      /* when it last grew (or started) */
    uint64_t slice_ns;        /* the memory's current slice began */
    uint32_t slice;           /* its index */
    int64_t need[MEMORY_SLOTS];   /* ns of slack each slice needed at worst */
};

/* Blocks that last at least ns (from frames: a period in ns is rounded). */
static uint32_t blocks_of(const struct ahead *a, uint64_t ns)
{
    uint64_t per = (uint64_t)a->c.block * NS_PER_S;
    return (uint32_t)((ns * (uint64_t)a->c.rate + per - 1) / per);
}

static uint32_t clamp(uint32_t v, uint32_t lo, uint32_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

int ahead_create(const struct ahead_config *c, struct ahead **out)
{
    struct ahead *a = calloc(1, sizeof *a);
    if (!a)
        return SHX_ENOMEM;
    a->c = *c;
    uint32_t sub = c->sub ? c->sub : 1;
    a->period_ns = (uint64_t)c->block * NS_PER_S / (uint64_t)c->rate;
    if (c->fixed) {
        /* The user's number, as before script_block: half of it the
         * batch, the rest slack; with long script calls at least a call
         * and its stagger, and a block of slack. */
        uint32_t half = c->fixed / 2 ? c->fixed / 2 : 1;
        a->batch = half < sub ? sub : half / sub * sub;
        a->lag = sub - 1;
        a->blocks = a->min = a->max = clamp(c->fixed, a->batch + a->lag + 1, c->ring);
        *out = a;
        return SHX_OK;
    }
    /* The batch: AHEAD_BATCH_NS, or with many workers to a CPU what keeps
     * their wake-ups to a share of the machine, within a share of the
     * upper end and one request; whole calls (rounded down, at least one). */
    int cpus = c->cpus > 0 ? c->cpus : 1;
    uint64_t per_cpu = (uint64_t)((c->scripted + cpus - 1) / cpus);
    uint64_t batch_ns = per_cpu * AHEAD_BATCH_PER_WORKER_NS;
    if (batch_ns > c->max_ns / AHEAD_BATCH_SHARE)
        batch_ns = c->max_ns / AHEAD_BATCH_SHARE;
    batch_ns = batch_ns > AHEAD_BATCH_NS ? batch_ns : AHEAD_BATCH_NS;
    uint32_t batch = (uint32_t)(batch_ns * (uint64_t)c->rate / NS_PER_S / c->block);
    if (c->batch_max && batch > c->batch_max)
        batch = c->batch_max;
    batch = batch ? batch : 1;
    a->batch = batch < sub ? sub : batch / sub * sub;
    a->lag = sub - 1;
    /* The slack it starts with: a scripted track's worker may need a
     * whole batch's time to answer (a script using all of its real
     * time); with many workers to a CPU it may wait for their turns
     * first, and after a stall of the VM for all of them to catch up
     * (AHEAD_SLACK_PER_WORKER_NS each); never less than AHEAD_SLACK_NS.
     * A session without scripts only waits for the disk thread. */
    batch_ns = a->batch * a->period_ns;
    uint64_t queue_ns = per_cpu * AHEAD_SLACK_PER_WORKER_NS;
    uint64_t slack = batch_ns > AHEAD_SLACK_NS ? batch_ns : AHEAD_SLACK_NS;
    slack = queue_ns > slack ? queue_ns : slack;
    if (!c->scripted)
        slack = AHEAD_SLACK_DIRECT_NS;
    uint32_t fixed = a->batch + a->lag;
    a->min = fixed + blocks_of(a, AHEAD_SLACK_MIN_NS);
    /* Rounded down: never more than the user's --ahead-max. */
    uint32_t top = (uint32_t)(c->max_ns * (uint64_t)c->rate / NS_PER_S / c->block);
    a->max = clamp(top > c->ring ? c->ring : top, a->min, c->ring);
    a->min = a->min > a->max ? a->max : a->min;
    a->blocks = clamp(fixed + blocks_of(a, slack), a->min, a->max);
    *out = a;   /* need[] starts at 0 (calloc) */
    return SHX_OK;
}

uint64_t ahead_default_max_ns(uint32_t sub, int rate)
{
    if (sub <= 1 || rate <= 0)
        return AHEAD_MAX_NS;
    /* Up to a whole millisecond: half of it must still hold a whole
     * request's blocks after ahead_create rounds them down. */
    uint64_t ms_ns = MS_NS(1);
    uint64_t ns = (uint64_t)AHEAD_MAX_LONG_FRAMES * NS_PER_S / (uint64_t)rate;
    ns = (ns / ms_ns + 1) * ms_ns;
    /* At low rates no longer than --ahead-max may be (4.1 s at 8 kHz). */
    ns = ns < AHEAD_MAX_LIMIT_NS ? ns : AHEAD_MAX_LIMIT_NS;
    return ns > AHEAD_MAX_NS ? ns : AHEAD_MAX_NS;
}

void ahead_destroy(struct ahead *a)
{
    free(a);
}

uint32_t ahead_batch(const struct ahead *a) { return a->batch; }
uint32_t ahead_blocks(const struct ahead *a) { return a->blocks; }

/* The worst need over the memory, after recording this tick's. */
static int64_t remember(struct ahead *a, uint64_t now, int64_t need)
{
    uint64_t span = AHEAD_MEMORY_NS / MEMORY_SLOTS;
    if (!a->slice_ns)
        a->slice_ns = now;
    while (now - a->slice_ns >= span) {   /* a new slice: forget the oldest */
        a->slice = (a->slice + 1) % MEMORY_SLOTS;
        a->need[a->slice] = 0;
        a->slice_ns += span;
        if (now - a->slice_ns > AHEAD_MEMORY_NS)   /* a long gap: start the clock over */
            a->slice_ns = now;
    }
    if (need > a->need[a->slice])
        a->need[a->slice] = need;
    int64_t worst = 0;
    for (uint32_t i = 0; i < MEMORY_SLOTS; i++)
        worst = a->need[i] > worst ? a->need[i] : worst;
    return worst;
}

uint32_t ahead_observe(struct ahead *a, uint64_t now, int64_t margin, uint64_t late, int paused)
{
    if (a->min == a->max)
        return a->blocks;
    if (!a->changed_ns)
        a->changed_ns = now;
    if (paused)
        return a->blocks;
    /* The slack every track has at least (the most lagged one), and how
     * much of it the tightest batch used: that is what it needed. */
    int64_t slack = (int64_t)(a->blocks - a->batch - a->lag) * (int64_t)a->period_ns;
    int64_t need = margin == INT64_MAX ? 0 : slack - margin;
    int64_t worst = remember(a, now, need);
    uint64_t want_ns = worst > 0 ? (uint64_t)worst * AHEAD_SAFETY : 0;
    uint32_t want = clamp(a->batch + a->lag + blocks_of(a, want_ns), a->min, a->max);
    if (late && want < a->blocks + a->blocks / 2)   /* late blocks: grow by half at least */
        want = clamp(a->blocks + a->blocks / 2, a->min, a->max);
    if (want > a->blocks) {
        a->blocks = want;
        a->changed_ns = now;
    } else if (want < a->blocks && now - a->changed_ns >= AHEAD_HOLD_NS) {
        /* Shrink in steps of a quarter at most, each after a hold. */
        uint32_t step = a->blocks - (a->blocks / 4 ? a->blocks / 4 : 1);
        a->blocks = want > step ? want : step;
        a->changed_ns = now;
    }
    return a->blocks;
}
