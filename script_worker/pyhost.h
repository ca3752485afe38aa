/* pyhost.h - the embedded CPython interpreter of one worker process.
 *
 * DESIGN. One interpreter per process, used from the worker's single thread.
 * The audio block of the channel is wrapped once, at start, as a zero-copy
 * numpy array of shape (frames, channels), float32, C-contiguous; every
 * process() call receives that same array. Python's cyclic garbage collector
 * is frozen after setup() and only run by pyhost_idle, which the worker
 * calls after answering a block, so a collection never lands inside one. */
#ifndef SHX_PYHOST_H
#define SHX_PYHOST_H

#include <stddef.h>
#include <stdint.h>

struct chan;
struct pyhost;

/* Worker or zygote. Starts Python and imports numpy. On failure writes a
 * one-line reason into err. Errors: SHX_ESYS (Python or numpy failed). */
int pyhost_create(struct pyhost **out, char *err, size_t cap);
/* Worker. Wraps the channel's audio block; messages go to this channel.
 * Errors: SHX_ESYS. */
int pyhost_attach(struct pyhost *h, struct chan *ch, char *err, size_t cap);
/* Zygote, once, after pyhost_prepare and before its first clone: makes
 * the clones' start cheaper where that changes nothing they can see
 * (threading's after-fork hook stilled while the zygote has one thread). */
void pyhost_before_clones(struct pyhost *h);
/* Zygote, around the clone that makes a worker: keeps the interpreter's
 * locks and thread state consistent on both sides. In the clone it also
 * puts threading's hook back and reseeds numpy's global random state. */
void pyhost_before_fork(void);
void pyhost_after_fork(int child);
/* Worker. Finalises Python; pyhost_destroy(NULL) is a no-op. */
void pyhost_destroy(struct pyhost *h);

/* Worker. Loads the script described by the LOAD request's JSON text and
 * runs its setup(ctx), then - a reload - its reload(old) with the current
 * script's module (a reload() that raises is reported and the new script
 * starts fresh). On success the new script replaces the current one; on
 * failure the current one (if any) stays and a traceback is posted.
 * Returns an enum chan_status. */
uint32_t pyhost_load(struct pyhost *h, const char *ctl);

/* Worker, inside a block. Calls reset() first when flags has
 * CHAN_BLK_RESET, then process(block) - or process(block, info) with
 * info.frame = frame - on audio block i of the channel; on an exception or
 * a wrong return value posts the traceback. Returns an enum chan_status. */
uint32_t pyhost_process(struct pyhost *h, uint32_t i, int64_t frame, uint32_t flags);

/* Worker, before the blocks of a request that carries params (a JSON list
 * of [key, value] pairs): each goes into ctx.params, then to the script's
 * on_param(key, value) if it has one. One that on_param rejects (raises)
 * is reported like a script error and leaves ctx.params as it was. */
void pyhost_params(struct pyhost *h, const char *payload);

/* Worker, between blocks (when it would otherwise sleep). Runs the garbage
 * collector now and then. */
void pyhost_idle(struct pyhost *h);

/* Zygote, or a worker started cold: once, after pyhost_create and before
 * any script, applies the session's python: settings. paths: folders put
 * first on sys.path (as PYTHONPATH's are); sites: a venv's site-packages
 * folders, added with site.addsitedir (so .pth files work) ahead of the
 * system's packages; preload: modules imported now, so that every worker
 * cloned afterwards has them (and a restart does not import them again).
 * NULL-terminated arrays, each may be NULL. What was imported is frozen
 * with the rest of the interpreter's objects (see pyhost_create).
 * Errors: SHX_ESCRIPT (a module failed to import; err: "cannot import
 * NAME: Exception: message"), SHX_ESYS. */
int pyhost_prepare(struct pyhost *h, const char *const *paths, const char *const *sites,
                   const char *const *preload, char *err, size_t cap);

#endif
