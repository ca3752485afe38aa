/* track_output.c - the consumer's end of a track's output ring: the audio
 * callback (play, real-time: docs/realtime.md) or the render loop takes
 * each rendered block by its number; see track.h. */
#include "track_priv.h"
#include "peak.h"
#include "ring.h"

#include <stdatomic.h>

const float *track_block(struct track *t, int64_t index)
{
    void *s;
    while ((s = ring_read_slot(t->ring)) != NULL && slot_head(s)->index < index)
        ring_release(t->ring);          /* rendered too late: the mixer has moved on */
    if (!s || slot_head(s)->index != index)
        return NULL;
    /* The mixer asks for its blocks some tracks ahead of summing them:
     * start loading the line track_note_peak writes then too, or with a
     * thousand tracks each one's peak was a cache miss of its own, 18 % of
     * the mixer's time (docs/performance.md). */
    __builtin_prefetch(&t->c.peak_bits, 1, 0);
    return slot_audio(s);
}

void track_release(struct track *t)
{
    /* Counted here, once per block mixed (track_block may be asked for the
     * same block more than once while the render loop waits for it). */
    if (slot_head(ring_read_slot(t->ring))->late)
        atomic_fetch_add_explicit(&t->late, 1, memory_order_relaxed);
    ring_release(t->ring);
}

void track_note_peak(struct track *t, float peak)
{
    peak_raise(&t->c.peak_bits, peak);
}

void track_missed(struct track *t)
{
    atomic_fetch_add_explicit(&t->late, 1, memory_order_relaxed);
}

uint32_t track_ready(struct track *t)
{
    return ring_fill(t->ring);
}

int track_wait(struct track *t, uint32_t want, uint64_t deadline_ns)
{
    return ring_wait_data(t->ring, want, deadline_ns);
}
