/* channel.c - the shared-memory layout and the request/reply protocol.
 * This file is the only place that knows the layout; see channel.h. */
#include "channel.h"
#include "errors.h"
#include "platform.h"
#include "units.h"
#include "utf8.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHAN_MAGIC 0x584d4853u   /* "SHMX" in memory on little-endian */
#define CHAN_VERSION 3u
#define MAX_FRAMES 8192u
#define MAX_CHANNELS 2u

struct msg_slot {
    uint32_t type;               /* enum chan_msg_type */
    uint32_t len;                /* bytes of text used */
    char text[CHAN_MSG_TEXT];
};

/* The shared header. Plain fixed-width data, no pointers; the three halves
 * sit on their own cache lines so the two processes do not false-share. */
struct chan_header {
    /* identity, written once by the engine */
    uint32_t magic;
    uint32_t version;
    uint32_t total_bytes;
    uint32_t frames;
    uint32_t channels;
    uint32_t ctl_offset;
    uint32_t msg_offset;
    uint32_t audio_offset;
    uint32_t batch;                 /* audio blocks in the audio area */
    uint32_t reserved0[7];
    /* request half: engine writes, worker reads */
    alignas(64) uint32_t req_seq;   /* futex word, bumped per request */
    uint32_t req_cmd;               /* enum chan_cmd */
    uint32_t ctl_len;               /* bytes of the LOAD payload */
    uint32_t msg_tail;              /* messages the engine has consumed */
    uint64_t req_ns;                /* CLOCK_MONOTONIC at posting */
    uint32_t req_count;             /* PROCESS: blocks 0..req_count-1 */
    /* reply half: worker writes, engine validates */
    alignas(64) uint32_t ack_seq;   /* futex word, = req_seq when answered */
    uint32_t ack_status;            /* enum chan_status */
    uint64_t cpu_ns;                /* worker thread CPU for the request */
    uint64_t wake_ns;               /* CLOCK_MONOTONIC when the worker woke */
    uint64_t done_ns;               /* CLOCK_MONOTONIC when it answered */
    uint32_t msg_head;              /* messages the worker has written */
    uint64_t ack_mask;              /* bit i: block i processed without error */
    /* progress within a request: worker writes after each block */
    uint32_t prog_seq;              /* the request it is for (written last) */
    uint32_t prog_done;             /* blocks finished */
    uint64_t prog_mask;             /* bit i: block i processed without error */
};

_Static_assert(offsetof(struct chan_header, magic) == 0, "layout");
_Static_assert(offsetof(struct chan_header, req_seq) == 64, "layout");
_Static_assert(offsetof(struct chan_header, ack_seq) == 128, "layout");
_Static_assert(offsetof(struct chan_header, msg_head) == 160, "layout");
_Static_assert(sizeof(struct chan_header) == 192, "layout");
_Static_assert(offsetof(struct chan_header, prog_mask) < 192, "layout");
_Static_assert(sizeof(struct msg_slot) == 2048, "layout");
_Static_assert(CHAN_MAX_BATCH <= 64, "ack_mask has a bit per block");
_Static_assert(sizeof(struct chan_block_info) == 16, "layout");

#define HEADER_BYTES 256u
/* After the header: what the script is told about each block of a request
 * (engine writes with the request, worker reads after taking it). */
#define INFO_OFFSET HEADER_BYTES
#define INFO_BYTES (CHAN_MAX_BATCH * (uint32_t)sizeof(struct chan_block_info))
#define CTL_OFFSET (INFO_OFFSET + INFO_BYTES)
#define MSG_OFFSET (CTL_OFFSET + CHAN_CTL_BYTES)
#define AUDIO_OFFSET (MSG_OFFSET + CHAN_MSG_SLOTS * (uint32_t)sizeof(struct msg_slot))

/* Process-local view. Geometry here is the engine's own copy and is what
 * the engine uses; the shared copy exists only for the worker. */
struct chan {
    int fd;
    int is_engine;
    int locked;
    size_t bytes;
    unsigned char *base;
    struct chan_header *hdr;
    float *audio;
    char *ctl;
    struct chan_block_info *info;
    struct msg_slot *slots;
    uint32_t frames, channels, batch;
    size_t block_floats;
    uint32_t count;                /* engine: blocks in the outstanding request */
    uint32_t seq;                  /* engine: last request posted */
    uint32_t acked;                /* engine: last request answered */
    uint32_t seen;                 /* worker: last request taken */
    uint32_t msg_head;             /* worker: own count of messages written */
    uint32_t msg_tail;             /* engine: own count of messages read */
    atomic_int dead;               /* engine: set by the supervisor */
};

/* Acquire/release on the sequence words: a request's payload (cmd, audio)
 * is written before req_seq is released and read after it is acquired; the
 * same holds for the reply and ack_seq. */
static uint32_t load_acq(uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static void store_rel(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

static size_t round_page(size_t n)
{
    long pg = sysconf(_SC_PAGESIZE);
    size_t p = pg > 0 ? (size_t)pg : 4096u;
    return (n + p - 1) / p * p;
}

static void set_views(struct chan *ch)
{
    ch->hdr = (struct chan_header *)ch->base;
    ch->ctl = (char *)(ch->base + CTL_OFFSET);
    ch->info = (struct chan_block_info *)(ch->base + INFO_OFFSET);
    ch->slots = (struct msg_slot *)(ch->base + MSG_OFFSET);
    ch->audio = (float *)(ch->base + AUDIO_OFFSET);
}

/* The identity is written field by field over what is there, never cleared
 * first: the engine asks the zygote for a worker ahead of starting it, so
 * the clone may be reading the identity (chan_attach) while the engine
 * resets the channel (worker_spawn). Cleared first, it read as no channel
 * for a moment - a worker that failed to start ("unsupported audio
 * format") about once in a thousand. Rewritten with the same values it
 * never reads wrong, and one a bad worker scribbled over is restored. */
static void init_header(struct chan *ch)
{
    size_t state = offsetof(struct chan_header, req_seq);
    memset(ch->base + state, 0, AUDIO_OFFSET - state);
    struct chan_header *h = ch->hdr;
    h->version = CHAN_VERSION;
    h->total_bytes = (uint32_t)ch->bytes;
    h->frames = ch->frames;
    h->channels = ch->channels;
    h->batch = ch->batch;
    h->ctl_offset = CTL_OFFSET;
    h->msg_offset = MSG_OFFSET;
    h->audio_offset = AUDIO_OFFSET;
    memset(h->reserved0, 0, sizeof h->reserved0);
    store_rel(&h->magic, CHAN_MAGIC);
    ch->seq = ch->acked = 0;
    ch->msg_tail = 0;
}

int chan_create(uint32_t frames, uint32_t channels, uint32_t batch, struct chan **out)
{
    if (frames == 0 || frames > MAX_FRAMES || channels == 0 || channels > MAX_CHANNELS
        || batch == 0 || batch > CHAN_MAX_BATCH)
        return SHX_EUSAGE;
    struct chan *ch = calloc(1, sizeof *ch);
    if (!ch)
        return SHX_ENOMEM;
    ch->is_engine = 1;
    ch->frames = frames;
    ch->channels = channels;
    ch->batch = batch;
    ch->block_floats = (size_t)frames * channels;
    ch->bytes = round_page(AUDIO_OFFSET + ch->block_floats * batch * sizeof(float));
    void *addr;
    int rc = plat_shm_create("shmix-channel", ch->bytes, &ch->fd, &addr);
    if (rc < 0) {
        free(ch);
        return rc;
    }
    ch->base = addr;
    set_views(ch);
    ch->locked = plat_mlock(ch->base, ch->bytes) == SHX_OK;
    plat_touch_pages(ch->base, ch->bytes);   /* before any request: see platform.h */
    init_header(ch);
    *out = ch;
    return SHX_OK;
}

void chan_destroy(struct chan *ch)
{
    if (!ch)
        return;
    plat_shm_unmap(ch->base, ch->bytes);
    if (ch->fd >= 0)
        close(ch->fd);
    free(ch);
}

int chan_fd(const struct chan *ch) { return ch->fd; }
int chan_locked(const struct chan *ch) { return ch->locked; }

void chan_reset(struct chan *ch)
{
    init_header(ch);
    atomic_store(&ch->dead, 0);
}

float *chan_audio(struct chan *ch) { return ch->audio; }

float *chan_block(struct chan *ch, uint32_t i)
{
    return ch->audio + (size_t)(i < ch->batch ? i : 0) * ch->block_floats;
}

uint32_t chan_batch(const struct chan *ch) { return ch->batch; }

void chan_set_info(struct chan *ch, uint32_t i, int64_t frame, uint32_t flags)
{
    if (i < ch->batch) {
        ch->info[i].frame = frame;
        ch->info[i].flags = flags;
    }
}

void chan_info(const struct chan *ch, uint32_t i, int64_t *frame, uint32_t *flags)
{
    /* Engine-written, read once each: nothing here can hurt the worker
     * beyond its own script's view of time. */
    const struct chan_block_info *b = &ch->info[i < ch->batch ? i : 0];
    *frame = __atomic_load_n(&b->frame, __ATOMIC_RELAXED);
    *flags = __atomic_load_n(&b->flags, __ATOMIC_RELAXED);
}

int chan_idle(struct chan *ch)
{
    return ch->acked == ch->seq;
}

static int64_t post(struct chan *ch, uint32_t cmd, uint32_t count, const char *ctl,
                    size_t ctl_len)
{
    if (ch->acked != ch->seq)
        return SHX_EFULL;
    struct chan_header *h = ch->hdr;
    if (ctl) {
        if (ctl_len >= CHAN_CTL_BYTES)
            return SHX_EFULL;
        memcpy(ch->ctl, ctl, ctl_len);
        ch->ctl[ctl_len] = '\0';
        h->ctl_len = (uint32_t)ctl_len;
    } else {
        h->ctl_len = 0;   /* a PROCESS carries no payload unless it says so */
    }
    h->req_cmd = cmd;
    h->req_count = count;
    ch->count = count;
    h->req_ns = plat_now_ns();
    ch->seq++;
    if (ch->seq == 0)           /* 0 means "no request yet"; skip it on wrap */
        ch->seq = 1;
    store_rel(&h->req_seq, ch->seq);
    plat_wake(&h->req_seq);
    return ch->seq;
}

int64_t chan_request(struct chan *ch, uint32_t cmd, const char *ctl, size_t ctl_len)
{
    return post(ch, cmd, 1, ctl, ctl_len);
}

int64_t chan_request_blocks(struct chan *ch, uint32_t count)
{
    return chan_request_blocks_ctl(ch, count, NULL, 0);
}

int64_t chan_request_blocks_ctl(struct chan *ch, uint32_t count, const char *ctl, size_t len)
{
    if (count == 0 || count > ch->batch)
        return SHX_EUSAGE;
    return post(ch, CHAN_CMD_PROCESS, count, len ? ctl : NULL, len);
}

/* Reads and validates the reply fields. The worker may be writing them at
 * the same time (a scribbler), so each is read once into a local. */
static int take_reply(struct chan *ch, struct chan_reply *r)
{
    struct chan_header *h = ch->hdr;
    uint32_t magic = __atomic_load_n(&h->magic, __ATOMIC_RELAXED);
    uint32_t status = __atomic_load_n(&h->ack_status, __ATOMIC_RELAXED);
    uint64_t cpu = __atomic_load_n(&h->cpu_ns, __ATOMIC_RELAXED);
    uint64_t wake = __atomic_load_n(&h->wake_ns, __ATOMIC_RELAXED);
    uint64_t done = __atomic_load_n(&h->done_ns, __ATOMIC_RELAXED);
    uint64_t mask = __atomic_load_n(&h->ack_mask, __ATOMIC_RELAXED);
    uint64_t full = chan_mask_of(ch->count);
    uint64_t posted = h->req_ns;   /* engine-written, but re-check anyway */
    uint64_t now = plat_now_ns();
    ch->acked = ch->seq;
    if (magic != CHAN_MAGIC || status >= CHAN_ST_END_)
        return SHX_ECORRUPT;
    /* Only blocks that were asked for, and all of them exactly when the
     * status says all went well. */
    if ((mask & ~full) != 0 || (status == CHAN_ST_OK) != (mask == full))
        return SHX_ECORRUPT;
    if (wake < posted || wake > done || done > now)
        return SHX_ECORRUPT;
    if (cpu > done - posted + MS_NS(1))   /* CPU time beyond wall time + slack */
        return SHX_ECORRUPT;
    if (r) {
        r->status = status;
        r->ok_mask = mask;
        r->count = ch->count;
        r->cpu_ns = cpu;
        r->wake_ns = wake - posted;
        r->busy_ns = done - wake;
    }
    return SHX_OK;
}

int chan_wait_reply(struct chan *ch, uint64_t deadline_ns, struct chan_reply *reply)
{
    struct chan_header *h = ch->hdr;
    if (ch->acked == ch->seq)
        return SHX_EUSAGE;
    for (;;) {
        if (atomic_load(&ch->dead))
            return SHX_EDEAD;
        uint32_t a = load_acq(&h->ack_seq);
        if (a == ch->seq)
            return take_reply(ch, reply);
        if (a != ch->acked) {
            /* Neither the old value nor the answer: scribbled. Treat the
             * request as answered so the engine may reset the channel. */
            ch->acked = ch->seq;
            return SHX_ECORRUPT;
        }
        if (plat_wait(&h->ack_seq, a, deadline_ns) == SHX_ETIMEOUT
            && load_acq(&h->ack_seq) != ch->seq)
            return SHX_ETIMEOUT;
    }
}

int chan_progress(struct chan *ch, uint32_t *done, uint64_t *mask)
{
    struct chan_header *h = ch->hdr;
    if (ch->acked == ch->seq || load_acq(&h->prog_seq) != ch->seq)
        return 0;
    uint32_t d = __atomic_load_n(&h->prog_done, __ATOMIC_RELAXED);
    uint64_t m = __atomic_load_n(&h->prog_mask, __ATOMIC_RELAXED);
    if (__atomic_load_n(&h->prog_seq, __ATOMIC_ACQUIRE) != ch->seq)
        return 0;   /* the worker moved on meanwhile: nothing to trust */
    /* Untrusted: only blocks of this request, only blocks finished. */
    if (d > ch->count)
        d = ch->count;
    *done = d;
    *mask = m & chan_mask_of(d);
    return 1;
}

int chan_dead(const struct chan *ch)
{
    return atomic_load(&((struct chan *)ch)->dead);
}

void chan_set_dead(struct chan *ch, int dead)
{
    atomic_store(&ch->dead, dead);
    plat_wake(&ch->hdr->ack_seq);
}

int chan_read_msg(struct chan *ch, uint32_t *type, char *text, size_t cap)
{
    struct chan_header *h = ch->hdr;
    if (cap > 0)
        text[0] = '\0';   /* whatever happens below (found by fuzz_channel) */
    *type = 0;
    uint32_t head = load_acq(&h->msg_head);
    if (head == ch->msg_tail)
        return SHX_EEMPTY;
    if (head - ch->msg_tail > CHAN_MSG_SLOTS) {
        ch->msg_tail = head;                 /* resynchronise past the garbage */
        store_rel(&h->msg_tail, head);
        return SHX_ECORRUPT;
    }
    struct msg_slot *s = &ch->slots[ch->msg_tail % CHAN_MSG_SLOTS];
    uint32_t t = __atomic_load_n(&s->type, __ATOMIC_RELAXED);
    uint32_t len = __atomic_load_n(&s->len, __ATOMIC_RELAXED);
    int rc = SHX_OK;
    if (t == 0 || t >= CHAN_MSG_END_ || len > CHAN_MSG_TEXT) {
        rc = SHX_ECORRUPT;
        len = 0;
    }
    if (cap > 0) {
        size_t n = len < cap - 1 ? len : cap - 1;
        memcpy(text, s->text, n);
        text[n] = '\0';
        for (size_t i = 0; i < n; i++)       /* no NULs or raw control bytes */
            if ((unsigned char)text[i] < 0x20 && text[i] != '\n' && text[i] != '\t')
                text[i] = '?';
    }
    *type = t;
    ch->msg_tail++;
    store_rel(&h->msg_tail, ch->msg_tail);
    return rc;
}

void *chan_raw(struct chan *ch, size_t *bytes)
{
    if (bytes)
        *bytes = ch->bytes;
    return ch->base;
}

/* ---- worker side ---- */

int chan_attach(int fd, struct chan **out)
{
    size_t bytes;
    void *addr;
    int rc = plat_shm_map(fd, AUDIO_OFFSET, &bytes, &addr);
    if (rc < 0)
        return rc;
    struct chan_header *h = addr;
    if (load_acq(&h->magic) != CHAN_MAGIC || h->version != CHAN_VERSION
        || h->total_bytes != bytes || h->frames == 0 || h->frames > MAX_FRAMES
        || h->channels == 0 || h->channels > MAX_CHANNELS
        || h->audio_offset != AUDIO_OFFSET || h->batch == 0 || h->batch > CHAN_MAX_BATCH
        || AUDIO_OFFSET + (size_t)h->frames * h->channels * h->batch * sizeof(float) > bytes) {
        plat_shm_unmap(addr, bytes);
        return SHX_EFORMAT;
    }
    struct chan *ch = calloc(1, sizeof *ch);
    if (!ch) {
        plat_shm_unmap(addr, bytes);
        return SHX_ENOMEM;
    }
    ch->fd = fd;
    ch->bytes = bytes;
    ch->base = addr;
    set_views(ch);
    ch->frames = h->frames;
    ch->channels = h->channels;
    ch->batch = h->batch;
    ch->block_floats = (size_t)ch->frames * ch->channels;
    ch->seen = 0;   /* a fresh or reset channel; the LOAD may already be posted */
    ch->msg_head = h->msg_head;
    ch->locked = plat_mlock(ch->base, ch->bytes) == SHX_OK;
    /* The audio blocks only: nothing is in flight there before the worker
     * answers its LOAD. */
    plat_touch_pages(ch->base + AUDIO_OFFSET, ch->bytes - AUDIO_OFFSET);
    *out = ch;
    return SHX_OK;
}

uint32_t chan_frames(const struct chan *ch) { return ch->frames; }
uint32_t chan_channels(const struct chan *ch) { return ch->channels; }

int chan_wait_request(struct chan *ch, uint64_t deadline_ns, struct chan_request *req)
{
    struct chan_header *h = ch->hdr;
    for (;;) {
        uint32_t r = load_acq(&h->req_seq);
        if (r != ch->seen) {
            ch->seen = r;
            req->seq = r;
            req->cmd = h->req_cmd;
            req->count = h->req_count;
            if (req->count == 0 || req->count > ch->batch)
                req->count = 1;
            req->posted_ns = h->req_ns;
            req->ctl_len = h->ctl_len < CHAN_CTL_BYTES ? h->ctl_len : 0;
            ch->ctl[req->ctl_len] = '\0';
            req->ctl = ch->ctl;
            return SHX_OK;
        }
        if (plat_wait(&h->req_seq, r, deadline_ns) == SHX_ETIMEOUT
            && load_acq(&h->req_seq) == ch->seen)
            return SHX_ETIMEOUT;
    }
}

int chan_request_pending(const struct chan *ch)
{
    return load_acq(&ch->hdr->req_seq) != ch->seen;
}

void chan_reply(struct chan *ch, uint32_t seq, uint32_t status, uint64_t cpu_ns,
                uint64_t wake_ns)
{
    chan_reply_blocks(ch, seq, status, status == CHAN_ST_OK ? 1u : 0u, cpu_ns, wake_ns);
}

void chan_note_progress(struct chan *ch, uint32_t seq, uint32_t done, uint64_t ok_mask)
{
    struct chan_header *h = ch->hdr;
    __atomic_store_n(&h->prog_seq, 0, __ATOMIC_RELAXED);   /* no mix of two requests' words */
    __atomic_store_n(&h->prog_done, done, __ATOMIC_RELAXED);
    __atomic_store_n(&h->prog_mask, ok_mask, __ATOMIC_RELAXED);
    store_rel(&h->prog_seq, seq);
}

void chan_reply_blocks(struct chan *ch, uint32_t seq, uint32_t status, uint64_t ok_mask,
                       uint64_t cpu_ns, uint64_t wake_ns)
{
    struct chan_header *h = ch->hdr;
    h->ack_status = status;
    h->ack_mask = ok_mask;
    h->cpu_ns = cpu_ns;
    h->wake_ns = wake_ns;
    h->done_ns = plat_now_ns();
    store_rel(&h->ack_seq, seq);
    plat_wake(&h->ack_seq);
}

int chan_post_msg(struct chan *ch, uint32_t type, const char *text, size_t len)
{
    struct chan_header *h = ch->hdr;
    uint32_t tail = load_acq(&h->msg_tail);
    if (ch->msg_head - tail >= CHAN_MSG_SLOTS)
        return SHX_EFULL;
    struct msg_slot *s = &ch->slots[ch->msg_head % CHAN_MSG_SLOTS];
    len = utf8_cut(text, len, CHAN_MSG_TEXT);   /* a long traceback: whole characters */
    memcpy(s->text, text, len);
    s->type = type;
    s->len = (uint32_t)len;
    ch->msg_head++;
    store_rel(&h->msg_head, ch->msg_head);
    return SHX_OK;
}
