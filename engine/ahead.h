/* ahead.h - play's render-ahead: how many blocks each track renders in
 * front of the mixer, chosen from the session and tuned while playing.
 *
 * DESIGN. The render-ahead is three parts (docs/realtime.md):
 *
 *   batch  the blocks a track hands its worker per wake-up, whole script
 *          calls (script_block): one wake-up and its cold caches per batch
 *   lag    with script calls longer than a block, the stagger of the
 *          tracks' wake-ups that the grid of calls cannot give (< one call)
 *   slack  what a late worker, a busy or stalled CPU may use up before a
 *          block is due
 *
 * batch and lag are fixed for a run. The batch is about 40 ms, longer with
 * many workers to a CPU (AHEAD_BATCH_PER_WORKER_NS each): there the
 * wake-ups, not the scripts, would use up the machine. The slack starts
 * from the session (scripts or none, how long a batch is) and is then
 * sized by what it costs: every tick the player hands in the least
 * margin any track had between finishing a batch and that batch's
 * deadline, and whether blocks
 * came late; the slack is kept at AHEAD_SAFETY times the worst need seen
 * over the last AHEAD_MEMORY_NS, growing at once and shrinking only after
 * AHEAD_HOLD_NS without growth. What it costs: params, seeks and script
 * reloads are heard that much later (faders are not: they act after it). */
#ifndef SHX_AHEAD_H
#define SHX_AHEAD_H

#include <stdint.h>

struct ahead_config {
    int rate;                 /* Hz */
    uint32_t block;           /* frames */
    uint32_t sub;             /* blocks per script call (1 without script_block) */
    uint32_t ring;            /* slots of the tracks' rings: the upper end */
    uint32_t batch_max;       /* most blocks one request carries (whole calls) */
    int scripted;             /* tracks with a script */
    int cpus;                 /* CPUs they share */
    uint32_t fixed;           /* --ahead BLOCKS: that, not tuned; 0: tuned */
    uint64_t max_ns;          /* the tuned value's upper end */
};

struct ahead;

/* Main. Errors: SHX_ENOMEM. */
int ahead_create(const struct ahead_config *c, struct ahead **out);
/* Any thread. The tuned render-ahead's upper end when the user sets none
 * (--ahead-max): AHEAD_MAX_NS, or with script calls longer than a block
 * (sub > 1) room for two of the longest batches a request carries
 * (AHEAD_MAX_LONG_FRAMES: 683 ms at 48 kHz, at most AHEAD_MAX_LIMIT_NS),
 * which only a heavy load grows the render-ahead into. */
uint64_t ahead_default_max_ns(uint32_t sub, int rate);
/* NULL is a no-op. */
void ahead_destroy(struct ahead *a);

/* Blocks a track renders per wake-up: whole script calls. */
uint32_t ahead_batch(const struct ahead *a);
/* Blocks rendered ahead now. */
uint32_t ahead_blocks(const struct ahead *a);

/* Main, once per tick. margin_ns: the least margin of any track since the
 * last call (track_take_margin; INT64_MAX: none); late: blocks that came
 * late since the last call; paused: playback was paused at some time since
 * (its margins mean nothing). Returns the render-ahead in blocks from now
 * on (ahead_blocks). */
uint32_t ahead_observe(struct ahead *a, uint64_t now_ns, int64_t margin_ns, uint64_t late,
                       int paused);

#endif
