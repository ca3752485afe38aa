/* channel.h - one track's shared-memory channel between engine and worker.
 *
 * DESIGN. The engine creates a channel per scripted track: an anonymous
 * shared memory object (memfd on Linux) that the worker inherits as a
 * descriptor. It holds a versioned header, a control area the engine fills
 * with the LOAD request (JSON text), a ring of fixed-size text messages from
 * the worker (tracebacks, log lines) and the audio area: `batch` blocks of
 * float32, interleaved, frames x channels. Requests and replies are
 * sequence numbers in two 32-bit words of the header, each a futex the
 * other side waits on. One PROCESS request covers blocks 0..count-1 of the
 * audio area: playing ahead, a track hands its worker several blocks per
 * wake-up, so the two context switches of a round trip are paid once per
 * batch rather than once per block (docs/realtime.md).
 *
 * Ownership: the engine writes the request half and the control area; the
 * worker writes the reply half and the message slots; the audio area is
 * the worker's from a request until its reply, the engine's otherwise. The
 * engine never issues a request before the previous one is answered, so a
 * late worker can never have its buffer overwritten.
 *
 * Trust: the worker is not trusted. Everything the engine reads that the
 * worker wrote (reply words, message slots) is validated; geometry and
 * offsets come from the engine's private copy, never from shared memory
 * after creation. The layout itself is private to channel.c.
 *
 * Threads: one engine thread (the track thread) issues requests and waits
 * for replies; one engine non-real-time thread drains messages; any thread
 * may call chan_interrupt. The worker side is single-threaded. */
#ifndef SHX_CHANNEL_H
#define SHX_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

struct chan;

enum chan_cmd {
    CHAN_CMD_LOAD = 1,    /* import the script named in the control area, run setup */
    CHAN_CMD_PROCESS = 2, /* run process() on the audio blocks (params first, when the
                             control area carries some: ctl_len > 0) */
    CHAN_CMD_QUIT = 3,    /* exit cleanly */
    CHAN_CMD_END_
};

enum chan_status {
    CHAN_ST_OK = 0,
    CHAN_ST_RAISED = 1,   /* the script raised; a traceback message follows */
    CHAN_ST_SHAPE = 2,    /* process() returned something of the wrong shape/type */
    CHAN_ST_NOSCRIPT = 3, /* PROCESS before a successful LOAD */
    CHAN_ST_END_
};

enum chan_msg_type {
    CHAN_MSG_ERROR = 1,   /* a traceback or load error, first line is the summary */
    CHAN_MSG_LOG = 2,     /* text the script printed */
    CHAN_MSG_PRELOAD = 3, /* "cannot import NAME: ...": a python.preload module failed in
                             a cold-started worker, which then exits SHX_EXIT_PRELOAD; the
                             engine reports it once, as a session error, not per track */
    CHAN_MSG_END_
};

#define CHAN_CTL_BYTES 16384u     /* room for the LOAD request, bytes */
#define CHAN_MSG_SLOTS 16u        /* worker -> engine messages in flight */
#define CHAN_MSG_TEXT 2040u       /* longest message text, bytes */
/* The highest SCHED_FIFO priority a worker may give itself (its
 * RLIMIT_RTPRIO): it steps back up to the priority the engine gave it after
 * SIGXCPU stepped it down. The engine's PRIO_WORKER is at most this. */
#define CHAN_WORKER_PRIO_MAX 4

#define CHAN_MAX_BATCH 64u        /* most blocks one PROCESS request covers */

/* Any thread. The mask with a bit for each of the first n blocks (n <= 64). */
static inline uint64_t chan_mask_of(uint32_t n)
{
    return n >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1u;
}
/* Failed blocks in a row (raises, wrong shapes) after which the engine puts
 * the track in `error` and calls its script no more: a worker that reaches
 * it within a batch leaves the rest of the batch unprocessed, so the script
 * runs exactly as often as it would one block per request. */
#define CHAN_FAILS_TO_ERROR 10u

/* What a PROCESS request tells the script about each of its blocks. */
#define CHAN_BLK_JUMPED 1u        /* info.jumped: the first block after start, a seek or a wrap */
#define CHAN_BLK_RESET 2u         /* call reset() before process(): after a seek or a wrap */

struct chan_block_info {
    int64_t frame;                /* timeline frame of the block's first frame */
    uint32_t flags;               /* CHAN_BLK_* */
    uint32_t reserved;
};

struct chan_request {
    uint32_t seq;
    uint32_t cmd;                 /* enum chan_cmd */
    uint32_t count;               /* PROCESS: blocks 0..count-1 (1..batch) */
    const char *ctl;              /* LOAD payload (worker side), NUL-terminated */
    uint32_t ctl_len;             /* bytes */
    uint64_t posted_ns;           /* CLOCK_MONOTONIC when the engine posted it */
};

struct chan_reply {
    uint32_t status;              /* enum chan_status of the first block that failed */
    uint64_t ok_mask;             /* bit i: block i was processed without error */
    uint32_t count;               /* blocks the request covered */
    uint64_t cpu_ns;              /* worker thread CPU time on the request */
    uint64_t wake_ns;             /* from posting until the worker ran */
    uint64_t busy_ns;             /* from the worker running until its reply */
};

/* ---- engine side ---- */

/* Main. Creates a channel for up to `batch` (1..CHAN_MAX_BATCH) blocks of
 * frames x channels floats per request.
 * Errors: SHX_EUSAGE (geometry out of range), SHX_ESYS, SHX_ENOMEM. */
int chan_create(uint32_t frames, uint32_t channels, uint32_t batch, struct chan **out);
/* Main. Unmaps and closes; chan_destroy(NULL) is a no-op. */
void chan_destroy(struct chan *ch);
/* Any thread. The descriptor to hand to the worker. */
int chan_fd(const struct chan *ch);
/* Any thread. True when the shared pages were locked into RAM. */
int chan_locked(const struct chan *ch);
/* Main or supervisor, while no worker serves the channel: restores the
 * header to its freshly created state for a new worker. A worker cloned
 * ahead for a channel no worker has served yet may attach meanwhile: the
 * identity it reads is rewritten in place, never cleared, so its
 * chan_attach does not fail for the reset. */
void chan_reset(struct chan *ch);

/* Track thread, real-time safe. The first audio block (engine's own pointer). */
float *chan_audio(struct chan *ch);
/* Track thread / worker, real-time safe. Audio block i (0..batch-1). */
float *chan_block(struct chan *ch, uint32_t i);
/* Any thread. Blocks in the audio area. */
uint32_t chan_batch(const struct chan *ch);
/* Track thread, real-time safe. True when the last request has been answered
 * (or none was made), i.e. the audio block belongs to the engine. */
int chan_idle(struct chan *ch);
/* Track thread, real-time safe for PROCESS/QUIT (ctl NULL). Posts a request.
 * ctl (LOAD only) is copied into the control area. PROCESS covers block 0.
 * Returns the sequence number (> 0). Errors: SHX_EFULL (previous request
 * still outstanding or ctl too long). */
int64_t chan_request(struct chan *ch, uint32_t cmd, const char *ctl, size_t ctl_len);
/* Track thread, real-time safe, before posting the request that covers
 * block i (0..batch-1): where the block lies and how it follows the last. */
void chan_set_info(struct chan *ch, uint32_t i, int64_t frame, uint32_t flags);
/* Track thread, real-time safe. Posts PROCESS for blocks 0..count-1.
 * Errors: SHX_EFULL, SHX_EUSAGE (count not in 1..batch). */
int64_t chan_request_blocks(struct chan *ch, uint32_t count);
/* Track thread, real-time safe. The same, with params for the script to
 * take before the first block: a JSON list of [key, value] pairs, copied
 * into the control area (len 0: none). Errors: as chan_request_blocks,
 * SHX_EFULL when it does not fit. */
int64_t chan_request_blocks_ctl(struct chan *ch, uint32_t count, const char *ctl, size_t len);
/* Track thread, real-time safe. Waits for the reply to the outstanding
 * request until deadline_ns (CLOCK_MONOTONIC, 0 = forever).
 * Errors: SHX_ETIMEOUT, SHX_EDEAD (chan_interrupt'ed as dead), SHX_ECORRUPT
 * (the worker wrote something invalid; the engine should kill it). */
int chan_wait_reply(struct chan *ch, uint64_t deadline_ns, struct chan_reply *reply);
/* Track thread, real-time safe. How far the worker got with the outstanding
 * request: blocks finished and which of them succeeded (their audio is in
 * place). Returns 1, or 0 when it has said nothing about this request yet.
 * Untrusted like every reply: clamped to the request. */
int chan_progress(struct chan *ch, uint32_t *done, uint64_t *mask);
/* Any thread. Marks the worker dead (dead != 0) or alive again, and wakes a
 * thread waiting in chan_wait_reply. */
void chan_set_dead(struct chan *ch, int dead);
/* Any thread. True after chan_set_dead(ch, 1), until chan_reset. */
int chan_dead(const struct chan *ch);
/* Non-real-time engine thread. Copies the next worker message into text
 * (NUL-terminated, truncated to cap). Errors: SHX_EEMPTY, SHX_ECORRUPT. */
int chan_read_msg(struct chan *ch, uint32_t *type, char *text, size_t cap);

/* ---- worker side ---- */

/* Worker. Maps the inherited descriptor and validates the header.
 * Errors: SHX_ESYS, SHX_EFORMAT (not a channel, or another version). */
int chan_attach(int fd, struct chan **out);
/* Worker. Geometry of the audio block. */
uint32_t chan_frames(const struct chan *ch);
uint32_t chan_channels(const struct chan *ch);
/* Worker, after taking a PROCESS request. What the engine said of block i. */
void chan_info(const struct chan *ch, uint32_t i, int64_t *frame, uint32_t *flags);
/* Worker. Waits for the next request until deadline_ns (0 = forever).
 * Errors: SHX_ETIMEOUT. */
int chan_wait_request(struct chan *ch, uint64_t deadline_ns, struct chan_request *req);
/* Worker. 1 when a request is posted that chan_wait_request has not taken
 * yet: the next wait will not sleep. */
int chan_request_pending(const struct chan *ch);
/* Worker. Answers request seq (one block: ok_mask 1 when status is OK). */
void chan_reply(struct chan *ch, uint32_t seq, uint32_t status, uint64_t cpu_ns,
                uint64_t wake_ns);
/* Worker. Answers a PROCESS request of several blocks: status is that of
 * the first block that failed or was not run (CHAN_ST_OK when none), bit i
 * of ok_mask set when block i succeeded. */
void chan_reply_blocks(struct chan *ch, uint32_t seq, uint32_t status, uint64_t ok_mask,
                       uint64_t cpu_ns, uint64_t wake_ns);
/* Worker, after each block of a request: done blocks finished, ok_mask
 * those that succeeded. What the engine keeps of a batch whose worker dies
 * or hangs part-way, and what restarts its hang clock. */
void chan_note_progress(struct chan *ch, uint32_t seq, uint32_t done, uint64_t ok_mask);
/* Worker. Queues a message; drops it when the engine has not drained the
 * ring. Errors: SHX_EFULL. */
int chan_post_msg(struct chan *ch, uint32_t type, const char *text, size_t len);

/* Tests only: the raw shared bytes, to play a misbehaving worker. */
void *chan_raw(struct chan *ch, size_t *bytes);

#endif
