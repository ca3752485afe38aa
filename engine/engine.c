/* engine.c - building tracks from a session; see engine.h. */
#include "engine.h"
#include "channel.h"
#include "errors.h"
#include "pan.h"
#include "platform.h"
#include "proc.h"
#include "session.h"
#include "console.h"
#include "feed.h"
#include "mixer.h"
#include "source.h"
#include "supervisor.h"
#include "track.h"
#include "tuning.h"
#include "zygote.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct engine {
    const struct session *s;
    int rate;                /* Hz */
    uint32_t block;          /* frames */
    uint32_t sub;            /* blocks per script call: script_block / block */
    uint32_t ring_slots;     /* each track's ring to the mixer */
    int channels;
    struct mixer *mixer;     /* the faders */
    struct console *console; /* the user's side of them: every control decided there */
    int64_t length;          /* frames: timeline 0 to the end of the longest track */
    int ntracks;             /* built so far (all of them once engine_create returns) */
    struct track **tracks;
    struct zygote *zygote;   /* NULL without scripts or when cold-starting */
    int zygote_rc;           /* why there is none though there are scripts: < 0, */
    char zygote_why[256];    /* and what its start said (start_zygote) */
    char **py_args;          /* the session's python: for every worker (proc_python_args) */
    struct supervisor *sup;  /* NULL until engine_supervise */
    volatile sig_atomic_t *stop;  /* set by a signal, or NULL */
    int quiet;               /* engine_options.quiet */
};

/* What every track of this engine shares, worked out once. */
struct build {
    const struct engine_options *o;
    uint32_t batch;          /* blocks per request to a worker, at most */
    uint32_t ring;           /* slots of each track's ring to the mixer */
    uint32_t prefetch;       /* slots of the disk thread's ring */
    int ncpu;
    int any_solo;            /* with any track solo, the others are silent */
    int nscripted;           /* scripted tracks built so far: the zygote's channel index */
};

static int engine_alloc(const struct session *s, const struct engine_options *o,
                        struct engine **out)
{
    struct engine *e = calloc(1, sizeof *e);
    size_t n = (size_t)s->ntracks;
    if (!e || !(e->tracks = calloc(n, sizeof *e->tracks))) {
        engine_destroy(e);
        return SHX_ENOMEM;
    }
    e->s = s;
    if (!(e->py_args = proc_python_args(&s->python))) {
        engine_destroy(e);
        return SHX_ENOMEM;
    }
    e->rate = o->sample_rate ? o->sample_rate : s->sample_rate;
    e->block = o->block_size ? o->block_size : (uint32_t)s->block_size;
    e->sub = 1;   /* check_script_block says how many */
    e->channels = s->channels;
    e->stop = o->stop;
    e->quiet = o->quiet;
    *out = e;
    return SHX_OK;
}

/* Descriptors: each track's file; a scripted track's channel and its
 * worker's pidfd; and FD_MARGIN more. Checked up front, so that a session
 * too big for `ulimit -n` is one clear error rather than a failure halfway
 * through starting workers. */
static int check_descriptors(const struct session *s, char *err, size_t cap)
{
    long scripted = 0, limit = 0;
    for (int i = 0; i < s->ntracks; i++)
        scripted += s->tracks[i].script != NULL;
    long need = s->ntracks + 2 * scripted + FD_MARGIN;
    if (plat_ensure_files(need, &limit) == 0)
        return SHX_OK;
    snprintf(err, cap, "%s: %d tracks (%ld with scripts) need about %ld open files, "
             "the limit is %ld: raise `ulimit -n`", s->path, s->ntracks, scripted, need, limit);
    return SHX_ESYS;
}

/* Processes and threads: a thread per track, a worker per scripted track,
 * and TASK_MARGIN more (the zygote, the engine's other threads). Checked up
 * front like the descriptors: a session too big for `ulimit -u` used to
 * start every worker and then fail to create a track thread, or the
 * supervisor's, with "system call failed" (or the zygote could not clone
 * the last workers). The limit counts the user's other processes too, so
 * this is the least the session needs, not a promise. */
static int check_tasks(const struct session *s, char *err, size_t cap)
{
    long scripted = 0, limit = 0;
    for (int i = 0; i < s->ntracks; i++)
        scripted += s->tracks[i].script != NULL;
    long need = s->ntracks + scripted + TASK_MARGIN;
    if (plat_ensure_tasks(need, &limit) == 0)
        return SHX_OK;
    snprintf(err, cap, "%s: %d tracks (%ld with scripts) need about %ld processes and "
             "threads, the limit is %ld: raise `ulimit -u`", s->path, s->ntracks, scripted,
             need, limit);
    return SHX_ESYS;
}

/* script_block must be a whole number of the blocks this run uses (the
 * session's block_size, or --block). */
static int check_script_block(struct engine *e, const struct engine_options *o, char *err,
                              size_t cap)
{
    const struct session *s = e->s;
    if (!s->script_block)
        return SHX_OK;
    if (s->script_block < (int)e->block || s->script_block % (int)e->block) {
        session_error_at(s, s->script_block_pos, err, cap,
                         "script_block: %d is not a multiple of %s %u", s->script_block,
                         o->block_size ? "--block" : "block_size", e->block);
        return SHX_EFORMAT;
    }
    e->sub = (uint32_t)s->script_block / e->block;
    return SHX_OK;
}

/* Without a rate from the command line or the session, the first file's
 * rate is the session's (render's rule): it is opened once to learn it. */
static int probe_rate(struct engine *e, char *err, size_t cap)
{
    const struct session_track *st = &e->s->tracks[0];
    struct source *src = NULL;
    char why[256];
    int rc = source_open(st->file, 48000, e->channels, &src, why, sizeof why);
    if (rc < 0) {
        session_track_error(e->s, 0, 0, why, err, cap);
        return rc;
    }
    e->rate = source_file_rate(src);
    source_destroy(src);
    return SHX_OK;
}

/* Opens track i's file at the engine's rate. */
static int open_source(struct engine *e, int i, struct source **src, char *err, size_t cap)
{
    const struct session_track *st = &e->s->tracks[i];
    char why[256];
    int rc = source_open(st->file, e->rate, e->channels, src, why, sizeof why);
    if (rc < 0)
        session_track_error(e->s, i, 0, why, err, cap);
    return rc;
}

/* One zygote imports numpy (and python.preload) once and clones a worker
 * per scripted track. It starts before the tracks are built: it imports
 * while this thread opens the files, and engine_start_workers waits for it
 * (a channel reaches it with each request, so none has to exist yet).
 * SHMIX_COLD_START=1 starts every worker from scratch instead (to measure
 * the difference, or to debug). */
static void start_zygote(struct engine *e)
{
    int scripted = 0;
    for (int i = 0; i < e->s->ntracks; i++)
        scripted += e->s->tracks[i].script != NULL;
    const char *cold = getenv("SHMIX_COLD_START");
    if (scripted > 0 && !(cold && *cold == '1'))
        e->zygote_rc = zygote_start(scripted, e->py_args, &e->zygote, e->zygote_why,
                                    sizeof e->zygote_why);
}

static struct build plan(const struct engine *e, const struct engine_options *o)
{
    struct build b = {.o = o, .ncpu = plat_cpu_count(), .prefetch = 1};
    while (b.prefetch * e->block < (uint64_t)e->rate * PREFETCH_NS / NS_PER_S
           && b.prefetch < PREFETCH_MAX_SLOTS)
        b.prefetch *= 2;
    for (int i = 0; i < e->s->ntracks; i++)
        b.any_solo |= e->s->tracks[i].solo;
    /* At most max_calls script calls (track_create rounds it to whole ones). */
    uint32_t batch = o->batch_frames / e->block;
    uint32_t calls = o->max_calls && o->max_calls < CHAN_MAX_BATCH ? o->max_calls : CHAN_MAX_BATCH;
    b.batch = batch ? batch : 1;
    if (b.batch > calls * e->sub)
        b.batch = calls * e->sub;
    /* Room for two batches of whole calls and a stagger (track_loop.c),
     * and in play for the largest render-ahead the player may choose. */
    uint64_t need = 4u * (uint64_t)e->sub;
    uint64_t ahead_max = o->ahead_max_ns * (uint64_t)e->rate / NS_PER_S / e->block;
    need = ahead_max > need ? ahead_max : need;
    b.ring = o->ring_slots ? o->ring_slots : 8;
    while (b.ring < need)
        b.ring *= 2;
    return b;
}

/* Track i's configuration. request: its LOAD request, or NULL. */
static struct track_config track_config_of(const struct engine *e, struct build *b, int i,
                                           const char *request)
{
    const struct session *s = e->s;
    const struct session_track *st = &s->tracks[i];
    return (struct track_config){
        .name = st->name,
        .sample_rate = e->rate,
        .block_size = e->block,
        .channels = e->channels,
        .audible = !st->mute && (!b->any_solo || st->solo),
        .on_fault = st->on_fault,
        .hang_ns = (uint64_t)(s->hang_timeout * NS_PER_S),
        .worker_memory_mb = s->worker_memory_mb,
        .load_request = request,
        .ring_slots = b->ring,
        .prefetch_slots = b->prefetch,
        .refill = b->o->refill ? b->o->refill : 1,
        .batch = b->batch,
        .script_blocks = e->sub,
        /* When pinned (render): a track thread and its worker never run
         * at the same time (one waits for the other), so they share a CPU
         * and each hand-off is a local context switch instead of a
         * cross-CPU wake-up, which costs several microseconds more on a
         * virtual machine; the tracks are spread over the CPUs. Play does
         * not pin (docs/realtime.md). */
        .cpu = b->o->pin && b->ncpu > 1 ? i % b->ncpu : -1,
        .worker_nice = b->o->worker_nice,
        .worker_rt_prio = b->o->worker_rt_prio,
        .worker_index = st->script ? b->nscripted++ : -1,
        .script_label = st->script_arg,
        .script_path = st->script,
        .py_args = e->py_args,
    };
}

/* Opens track i's file and builds the track around it. */
static int build_track(struct engine *e, struct build *b, int i, char *err, size_t cap)
{
    const struct session_track *st = &e->s->tracks[i];
    char request[CHAN_CTL_BYTES];
    struct source *src = NULL;
    struct feed *feed = NULL;
    int rc = open_source(e, i, &src, err, cap);
    if (rc < 0)
        return rc;
    int64_t offset = (int64_t)llround(st->offset * e->rate);
    if (offset + source_frames(src) > e->length)
        e->length = offset + source_frames(src);
    if (st->script && session_script_request(e->s, i, e->rate, (int)(e->block * e->sub),
                                             b->o->realtime, request, sizeof request) < 0) {
        session_track_error(e->s, i, 1, "request too large", err, cap);
        source_destroy(src);
        return SHX_EFULL;
    }
    struct track_config tc = track_config_of(e, b, i, st->script ? request : NULL);
    if ((rc = feed_create(src, offset, e->block, e->channels, &feed)) < 0)
        source_destroy(src);   /* else the feed owns it */
    else if ((rc = track_create(&tc, feed, &e->tracks[i])) < 0)
        feed_destroy(feed);
    if (rc < 0)
        snprintf(err, cap, "%s: cannot create track %s: %s", e->s->path, st->name,
                 shx_strerror(rc));
    return rc;
}

int engine_create(const struct session *s, const struct engine_options *o,
                  struct engine **out, char *err, size_t cap)
{
    struct engine *e = NULL;
    int rc = engine_alloc(s, o, &e);
    if (rc < 0) {
        snprintf(err, cap, "out of memory");
        return rc;
    }
    rc = check_descriptors(s, err, cap);
    if (rc == SHX_OK)
        rc = check_tasks(s, err, cap);
    if (rc == SHX_OK && !e->rate && s->ntracks > 0)
        rc = probe_rate(e, err, cap);
    if (rc == SHX_OK)
        rc = check_script_block(e, o, err, cap);
    if (rc == SHX_OK)
        start_zygote(e);
    struct build b = plan(e, o);
    e->ring_slots = b.ring;
    for (int i = 0; i < s->ntracks && rc == SHX_OK; i++) {
        if ((rc = build_track(e, &b, i, err, cap)) == SHX_OK)
            e->ntracks = i + 1;
    }
    if (rc == SHX_OK)
        rc = mixer_create(e->ntracks, e->channels, e->block, &e->mixer);
    if (rc < 0) {
        engine_destroy(e);
        return rc;
    }
    if (rc == SHX_OK)
        rc = console_create(e, &e->console);   /* sets the faders as the session says */
    if (rc < 0) {
        snprintf(err, cap, "out of memory");
        engine_destroy(e);
        return rc;
    }
    *out = e;
    return SHX_OK;
}

void engine_end_workers(struct engine *e)
{
    supervisor_destroy(e->sup);   /* first: it must not restart what we end */
    e->sup = NULL;
    for (int i = 0; i < e->ntracks; i++)
        track_stop(e->tracks[i]);
    /* Every worker is told to end before any is waited for, and the
     * zygote after them: they exit side by side (a few ms each, which a
     * short render would otherwise pay once per track). */
    for (int i = 0; i < e->ntracks; i++)
        track_ask_end(e->tracks[i]);
    zygote_ask_end(e->zygote);
}

void engine_destroy(struct engine *e)
{
    if (!e)
        return;
    engine_end_workers(e);
    zygote_destroy(e->zygote);
    for (int i = 0; i < e->ntracks; i++)
        track_destroy(e->tracks[i]);
    console_destroy(e->console);
    mixer_destroy(e->mixer);
    free(e->py_args);
    free(e->tracks);
    free(e);
}

int engine_start_workers(struct engine *e, char *err, size_t cap)
{
    int first = SHX_OK;
    char why[512];
    /* A zygote that fails to start is not an error: the tracks start cold.
     * A preload module that fails to import is: the session asks for
     * something that is not there, and nothing plays. */
    int rc = e->zygote_rc;
    snprintf(why, sizeof why, "%s", e->zygote_why);
    if (e->zygote && (rc = zygote_await(e->zygote, e->stop, why, sizeof why)) < 0) {
        zygote_destroy(e->zygote);
        e->zygote = NULL;
    }
    e->zygote_rc = SHX_OK;   /* said once */
    if (rc == SHX_ESTOPPED)
        return rc;
    if (rc == SHX_ESCRIPT) {
        session_python_error(e->s, why, err, cap);
        return SHX_ESESSION;
    }
    if (rc < 0 && !e->quiet)
        fprintf(stderr, "shmix: %s; starting workers without it\n", why);
    /* The zygote is asked ZYGOTE_AHEAD workers ahead: it clones the next
     * while this thread sets up the one it just made, instead of waiting
     * for each request in turn. */
    for (int i = 0, asked = 0; i < e->ntracks; i++) {
        for (; e->zygote && asked < e->ntracks && asked <= i + ZYGOTE_AHEAD; asked++)
            track_ask_worker(e->tracks[asked], e->zygote);
        rc = track_start_worker(e->tracks[i], e->zygote, why, sizeof why);
        if (rc < 0 && first == SHX_OK) {
            first = rc;
            session_track_error(e->s, i, 1, why, err, cap);
        }
    }
    uint64_t deadline = plat_now_ns() + WORKER_START_NS;
    for (int i = 0; i < e->ntracks; i++) {
        rc = track_await_worker(e->tracks[i], deadline, e->stop, why, sizeof why);
        if (rc == SHX_ESTOPPED)
            return rc;
        /* Started cold, each worker imports python.preload itself: the
         * first that cannot is the answer, whatever failed before it. */
        if (rc == SHX_ESESSION && first != SHX_ESESSION) {
            first = rc;
            session_python_error(e->s, why, err, cap);
            continue;
        }
        if (rc < 0 && first == SHX_OK) {
            first = rc;
            session_track_error(e->s, i, 1, why, err, cap);
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
struct track *const *engine_tracks(struct engine *e) { return e->tracks; }

struct track_setting engine_track_setting(const struct engine *e, int i)
{
    const struct session_track *st = &e->s->tracks[i];
    return (struct track_setting){st->gain_db, st->pan, st->mute, st->solo};
}

double engine_session_master_db(const struct engine *e) { return e->s->master_gain_db; }
struct console *engine_console(struct engine *e) { return e->console; }
struct mixer *engine_mixer(struct engine *e) { return e->mixer; }


int engine_sample_rate(const struct engine *e) { return e->rate; }
uint32_t engine_block_size(const struct engine *e) { return e->block; }
uint32_t engine_script_blocks(const struct engine *e) { return e->sub; }
uint32_t engine_ring_slots(const struct engine *e) { return e->ring_slots; }
int engine_channels(const struct engine *e) { return e->channels; }
int64_t engine_length(const struct engine *e) { return e->length; }
int engine_ntracks(const struct engine *e) { return e->ntracks; }

int engine_loop(const struct engine *e, double *start, double *end)
{
    *start = e->s->loop_start;
    *end = e->s->loop_end;
    return e->s->has_loop;
}
struct track *engine_track(struct engine *e, int i) { return e->tracks[i]; }

int engine_timeline(const struct engine *e, const char *cmd, double start, int loop,
                    struct timeline *tl, char *err, size_t cap)
{
    int64_t length = engine_length(e);
    int rate = engine_sample_rate(e);
    uint32_t block = engine_block_size(e);
    *tl = (struct timeline){.start = (int64_t)llround(start * rate)};
    if (tl->start >= length && !loop) {
        snprintf(err, cap, "%s: --start %g is past the end of the session (%.3f s)", cmd, start,
                 (double)length / rate);
        return SHX_EUSAGE;
    }
    if (!loop)
        return SHX_OK;
    double ls, le;
    tl->looping = 1;
    if (engine_loop(e, &ls, &le)) {
        tl->loop_start = (int64_t)llround(ls * rate);
        tl->loop_end = (int64_t)llround(le * rate);
    } else {
        tl->loop_start = 0;
        tl->loop_end = length;
    }
    if (tl->loop_end - tl->loop_start < (int64_t)block) {
        snprintf(err, cap, "%s: the loop region is shorter than one block (%u frames)", cmd,
                 block);
        return SHX_EUSAGE;
    }
    return SHX_OK;
}
