/* engine.c - building tracks from a session; see engine.h. */
#include "engine.h"
#include "channel.h"
#include "errors.h"
#include "pan.h"
#include "platform.h"
#include "session.h"
#include "feed.h"
#include "source.h"
#include "supervisor.h"
#include "track.h"
#include "zygote.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORKER_START_NS 30000000000ull  /* Python + numpy on a loaded machine */

struct engine {
    const struct session *s;
    int rate;
    uint32_t block;
    int channels;
    double master;
    int64_t length;
    int ntracks;
    struct track **tracks;
    struct zygote *zygote;   /* NULL without scripts or when cold-starting */
    struct supervisor *sup;  /* NULL until engine_supervise */
    unsigned char *mute, *solo;  /* the user's switches, main thread */
};

#define FD_MARGIN 48   /* descriptors besides the tracks' (see engine_create) */

int engine_create(const struct session *s, const struct engine_options *o,
                  struct engine **out, char *err, size_t cap)
{
    struct engine *e = calloc(1, sizeof *e);
    struct source **srcs = calloc((size_t)s->ntracks, sizeof *srcs);
    int64_t *offsets = calloc((size_t)s->ntracks, sizeof *offsets);
    if (!e || !srcs || !offsets || !(e->tracks = calloc((size_t)s->ntracks, sizeof *e->tracks))) {
        free(e ? e->tracks : NULL);
        free(e);
        free(srcs);
        free(offsets);
        snprintf(err, cap, "out of memory");
        return SHX_ENOMEM;
    }
    e->s = s;
    e->rate = o->sample_rate ? o->sample_rate : s->sample_rate;
    e->block = o->block_size ? o->block_size : (uint32_t)s->block_size;
    e->channels = s->channels;
    e->master = pan_db_to_linear(s->master_gain_db);
    int rc = SHX_OK, any_solo = 0;
    e->mute = calloc((size_t)s->ntracks, 1);
    e->solo = calloc((size_t)s->ntracks, 1);
    for (int i = 0; i < s->ntracks; i++) {
        any_solo |= s->tracks[i].solo;
        if (e->mute && e->solo) {
            e->mute[i] = (unsigned char)s->tracks[i].mute;
            e->solo[i] = (unsigned char)s->tracks[i].solo;
        }
    }
    if (!e->mute || !e->solo)
        rc = SHX_ENOMEM;

    /* Descriptors: each track's file; a scripted track's channel and its
     * worker's pidfd; and a margin for stdio, the device, inotify, the
     * zygote's pipes and meters. Checked up front, so that a session too
     * big for `ulimit -n` is one clear error rather than a failure halfway
     * through starting workers. */
    long scripted = 0, limit = 0;
    for (int i = 0; i < s->ntracks; i++)
        scripted += s->tracks[i].script != NULL;
    long need = s->ntracks + 2 * scripted + FD_MARGIN;
    if (rc == SHX_OK && plat_ensure_files(need, &limit) < 0) {
        snprintf(err, cap, "%s: %d tracks (%ld with scripts) need about %ld open files, "
                 "the limit is %ld: raise `ulimit -n`", s->path, s->ntracks, scripted, need,
                 limit);
        rc = SHX_ESYS;
    }

    for (int i = 0; i < s->ntracks && rc == SHX_OK; i++) {
        const struct session_track *st = &s->tracks[i];
        char why[256];
        /* Without a rate from the command line or the session, the first
         * file's rate is the session's (render's rule). */
        int rate = e->rate ? e->rate : 0;
        if (!rate) {
            rc = source_open(st->file, 48000, e->channels, &srcs[i], why, sizeof why);
            if (rc == SHX_OK) {
                e->rate = source_file_rate(srcs[i]);
                source_destroy(srcs[i]);
                srcs[i] = NULL;
            }
        }
        if (rc == SHX_OK)
            rc = source_open(st->file, e->rate, e->channels, &srcs[i], why, sizeof why);
        if (rc < 0) {
            char path[32];
            snprintf(path, sizeof path, "tracks[%d].file", i);
            session_error_at(s, st->file_pos, err, cap, "%s: \"%s\" %s", path, st->file_arg,
                             why);
            break;
        }
        offsets[i] = (int64_t)llround(st->offset * e->rate);
        int64_t end = offsets[i] + source_frames(srcs[i]);
        if (end > e->length)
            e->length = end;
    }

    char request[CHAN_CTL_BYTES];
    int ncpu = plat_cpu_count(), nscripted = 0;
    /* The disk thread reads about two seconds ahead (play only). */
    uint32_t prefetch = 1;
    while (prefetch * e->block < (uint32_t)e->rate * 2u && prefetch < 4096)
        prefetch *= 2;
    uint32_t batch = o->batch_frames / e->block;
    batch = batch < 1 ? 1 : batch > CHAN_MAX_BATCH ? CHAN_MAX_BATCH : batch;
    for (int i = 0; i < s->ntracks && rc == SHX_OK; i++) {
        const struct session_track *st = &s->tracks[i];
        if (st->script) {
            rc = session_script_request(s, i, e->rate, request, sizeof request);
            if (rc < 0) {
                session_error_at(s, st->script_pos, err, cap,
                                 "tracks[%d].script: request too large", i);
                break;
            }
        }
        struct track_config tc = {
            .name = st->name,
            .sample_rate = e->rate,
            .block_size = e->block,
            .channels = e->channels,
            .gain_db = st->gain_db,
            .pan = st->pan,
            .audible = !st->mute && (!any_solo || st->solo),
            .on_fault = st->on_fault,
            .hang_ns = (uint64_t)(s->hang_timeout * 1e9),
            .worker_memory_mb = s->worker_memory_mb,
            .load_request = st->script ? request : NULL,
            .ring_slots = o->ring_slots ? o->ring_slots : 8,
            .prefetch_slots = prefetch,
            .refill = o->refill ? o->refill : 1,
            .batch = batch,
            /* When pinned (render): a track thread and its worker never run
             * at the same time (one waits for the other), so they share a
             * CPU and each hand-off is a local context switch instead of a
             * cross-CPU wake-up, which costs several microseconds more on
             * a virtual machine; the tracks are spread over the CPUs. Play
             * does not pin (docs/realtime.md). */
            .cpu = o->pin && ncpu > 1 ? i % ncpu : -1,
            .worker_nice = o->worker_nice,
            .worker_rt_prio = o->worker_rt_prio,
            .worker_index = st->script ? nscripted++ : -1,
            .script_label = st->script_arg,
            .script_path = st->script,
        };
        struct feed *feed = NULL;
        rc = feed_create(srcs[i], offsets[i], e->block, e->channels, &feed);
        if (rc == SHX_OK) {
            srcs[i] = NULL;   /* owned by the feed now */
            rc = track_create(&tc, feed, &e->tracks[i]);
            if (rc < 0)
                feed_destroy(feed);
        }
        if (rc < 0) {
            snprintf(err, cap, "%s: cannot create track %s: %s", s->path, st->name,
                     shx_strerror(rc));
            break;
        }
        e->ntracks = i + 1;
    }
    for (int i = 0; i < s->ntracks; i++)
        source_destroy(srcs[i]);
    free(srcs);
    free(offsets);
    if (rc < 0) {
        engine_destroy(e);
        return rc;
    }
    *out = e;
    return SHX_OK;
}

void engine_destroy(struct engine *e)
{
    if (!e)
        return;
    supervisor_destroy(e->sup);   /* first: it must not restart what we end */
    for (int i = 0; i < e->ntracks; i++)
        track_stop(e->tracks[i]);
    for (int i = 0; i < e->ntracks; i++)
        track_destroy(e->tracks[i]);
    zygote_destroy(e->zygote);
    free(e->mute);
    free(e->solo);
    free(e->tracks);
    free(e);
}

int engine_start_workers(struct engine *e, char *err, size_t cap)
{
    int first = SHX_OK;
    char why[512];
    /* One zygote imports numpy once and clones a worker per scripted track;
     * SHMIX_COLD_START=1 starts every worker from scratch instead (to
     * measure the difference, or to debug). A zygote that fails to start
     * is not an error: the tracks start cold. */
    int *fds = calloc((size_t)e->ntracks, sizeof *fds), nfds = 0;
    const char *cold = getenv("SHMIX_COLD_START");
    for (int i = 0; fds && i < e->ntracks; i++)
        if ((fds[nfds] = track_chan_fd(e->tracks[i])) >= 0)
            nfds++;
    if (nfds > 0 && !(cold && *cold == '1') && !e->zygote
        && zygote_create(fds, nfds, &e->zygote, why, sizeof why) < 0)
        fprintf(stderr, "shmix: %s; starting workers without it\n", why);
    free(fds);
    for (int i = 0; i < e->ntracks; i++) {
        int rc = track_start_worker(e->tracks[i], e->zygote, why, sizeof why);
        if (rc < 0 && first == SHX_OK) {
            first = rc;
            session_error_at(e->s, e->s->tracks[i].script_pos, err, cap,
                             "tracks[%d].script: %s", i, why);
        }
    }
    uint64_t deadline = plat_now_ns() + WORKER_START_NS;
    for (int i = 0; i < e->ntracks; i++) {
        int rc = track_await_worker(e->tracks[i], deadline, why, sizeof why);
        if (rc < 0 && first == SHX_OK) {
            first = rc;
            session_error_at(e->s, e->s->tracks[i].script_pos, err, cap,
                             "tracks[%d].script: %s", i, why);
        }
    }
    return first;
}

int engine_supervise(struct engine *e, char *err, size_t cap)
{
    struct supervisor_policy pol = {e->s->max_restarts, e->s->window};
    int rc = supervisor_create(e->tracks, e->ntracks, e->zygote, &pol, &e->sup);
    if (rc == SHX_OK && (rc = supervisor_start(e->sup)) < 0) {
        supervisor_destroy(e->sup);
        e->sup = NULL;
    }
    if (rc < 0)
        snprintf(err, cap, "cannot start the supervisor: %s", shx_strerror(rc));
    return rc;
}

struct supervisor *engine_supervisor(struct engine *e) { return e->sup; }

/* Mute and solo resolved the way the session's are: with any track solo,
 * the tracks that are not are silent. */
static void apply_switches(struct engine *e)
{
    int any_solo = 0;
    for (int i = 0; i < e->ntracks; i++)
        any_solo |= e->solo[i];
    for (int i = 0; i < e->ntracks; i++)
        track_set_audible(e->tracks[i], !e->mute[i] && (!any_solo || e->solo[i]));
}

void engine_set_mute(struct engine *e, int i, int on)
{
    if (i >= 0 && i < e->ntracks) {
        e->mute[i] = (unsigned char)!!on;
        apply_switches(e);
    }
}

void engine_set_solo(struct engine *e, int i, int on)
{
    if (i >= 0 && i < e->ntracks) {
        e->solo[i] = (unsigned char)!!on;
        apply_switches(e);
    }
}

int engine_mute(const struct engine *e, int i) { return e->mute[i]; }
int engine_solo(const struct engine *e, int i) { return e->solo[i]; }

int engine_sample_rate(const struct engine *e) { return e->rate; }
uint32_t engine_block_size(const struct engine *e) { return e->block; }
int engine_channels(const struct engine *e) { return e->channels; }
double engine_master_gain(const struct engine *e) { return e->master; }
int64_t engine_length(const struct engine *e) { return e->length; }
int engine_ntracks(const struct engine *e) { return e->ntracks; }

int engine_loop(const struct engine *e, double *start, double *end)
{
    *start = e->s->loop_start;
    *end = e->s->loop_end;
    return e->s->has_loop;
}
struct track *engine_track(struct engine *e, int i) { return e->tracks[i]; }
