/* test_channel.c - the shared-memory channel with a real second process on
 * the worker side: round trip, timeout, death, a worker that scribbles
 * garbage over the shared header (the engine must report, not crash), and
 * a worker attaching while the engine resets the channel for it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "channel.h"
#include "errors.h"
#include "platform.h"

#define FRAMES 256
#define CHANNELS 2

/* Worker side in a child: doubles the block on PROCESS, echoes the LOAD
 * text back as a message, answers QUIT and exits. */
static void echo_worker(int fd)
{
    struct chan *ch;
    if (chan_attach(fd, &ch) != SHX_OK)
        _exit(3);
    for (;;) {
        struct chan_request req;
        if (chan_wait_request(ch, plat_now_ns() + 5000000000ull, &req) != SHX_OK)
            _exit(4);
        uint64_t woke = plat_now_ns();
        if (req.cmd == CHAN_CMD_LOAD) {
            chan_post_msg(ch, CHAN_MSG_LOG, req.ctl, req.ctl_len);
        } else if (req.cmd == CHAN_CMD_PROCESS) {
            float *a = chan_audio(ch);
            for (uint32_t i = 0; i < chan_frames(ch) * chan_channels(ch); i++)
                a[i] *= 2.0f;
        } else if (req.cmd == CHAN_CMD_QUIT) {
            chan_reply(ch, req.seq, CHAN_ST_OK, 0, woke);
            _exit(0);
        }
        chan_reply(ch, req.seq, req.cmd == CHAN_CMD_PROCESS ? CHAN_ST_OK : CHAN_ST_RAISED,
                   1000, woke);
    }
}

static pid_t start_child(struct chan *ch, void (*fn)(int))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fn(chan_fd(ch));
        _exit(0);
    }
    return pid;
}

static int reap(pid_t pid)
{
    int st;
    waitpid(pid, &st, 0);
    return st;
}

static void test_round_trip(void **state)
{
    (void)state;
    struct chan *ch;
    assert_int_equal(chan_create(0, 2, 1, &ch), SHX_EUSAGE);
    assert_int_equal(chan_create(FRAMES, CHANNELS, 1, &ch), SHX_OK);
    pid_t pid = start_child(ch, echo_worker);

    const char *load = "{\"script\": \"x.py\"}";
    assert_true(chan_request(ch, CHAN_CMD_LOAD, load, strlen(load)) > 0);
    struct chan_reply r;
    assert_int_equal(chan_wait_reply(ch, plat_now_ns() + 5000000000ull, &r), SHX_OK);
    assert_int_equal(r.status, CHAN_ST_RAISED);
    uint32_t type;
    char text[64];
    assert_int_equal(chan_read_msg(ch, &type, text, sizeof text), SHX_OK);
    assert_int_equal(type, CHAN_MSG_LOG);
    assert_string_equal(text, load);
    assert_int_equal(chan_read_msg(ch, &type, text, sizeof text), SHX_EEMPTY);

    for (int round = 0; round < 1000; round++) {
        float *a = chan_audio(ch);
        for (int i = 0; i < FRAMES * CHANNELS; i++)
            a[i] = (float)(i + round);
        assert_true(chan_idle(ch));
        assert_true(chan_request(ch, CHAN_CMD_PROCESS, NULL, 0) > 0);
        assert_false(chan_idle(ch));
        assert_int_equal(chan_request(ch, CHAN_CMD_PROCESS, NULL, 0), SHX_EFULL);
        assert_int_equal(chan_wait_reply(ch, plat_now_ns() + 5000000000ull, &r), SHX_OK);
        assert_int_equal(r.status, CHAN_ST_OK);
        assert_int_equal(r.cpu_ns, 1000);
        for (int i = 0; i < FRAMES * CHANNELS; i++)
            if (a[i] != 2.0f * (float)(i + round))
                fail_msg("round %d sample %d: %f", round, i, a[i]);
    }
    assert_true(chan_request(ch, CHAN_CMD_QUIT, NULL, 0) > 0);
    assert_int_equal(chan_wait_reply(ch, plat_now_ns() + 5000000000ull, NULL), SHX_OK);
    int st = reap(pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    chan_destroy(ch);
    chan_destroy(NULL);
}

static void silent_worker(int fd)
{
    struct chan *ch;
    if (chan_attach(fd, &ch) != SHX_OK)
        _exit(3);
    pause();   /* takes requests and never answers */
}

static void test_timeout_and_death(void **state)
{
    (void)state;
    struct chan *ch;
    assert_int_equal(chan_create(FRAMES, CHANNELS, 1, &ch), SHX_OK);
    pid_t pid = start_child(ch, silent_worker);
    assert_true(chan_request(ch, CHAN_CMD_PROCESS, NULL, 0) > 0);
    uint64_t t0 = plat_now_ns();
    assert_int_equal(chan_wait_reply(ch, t0 + 50000000u, NULL), SHX_ETIMEOUT);
    uint64_t waited = plat_now_ns() - t0;
    assert_true(waited >= 50000000u);
    assert_true(waited < 1000000000u);
    /* The supervisor marks it dead: the waiter returns at once. */
    kill(pid, SIGKILL);
    reap(pid);
    chan_set_dead(ch, 1);
    t0 = plat_now_ns();
    assert_int_equal(chan_wait_reply(ch, 0, NULL), SHX_EDEAD);
    assert_true(plat_now_ns() - t0 < 100000000u);
    /* A reset channel serves a new worker. */
    chan_reset(ch);
    assert_true(chan_idle(ch));
    pid = start_child(ch, echo_worker);
    chan_audio(ch)[7] = 1.5f;
    assert_true(chan_request(ch, CHAN_CMD_PROCESS, NULL, 0) > 0);
    assert_int_equal(chan_wait_reply(ch, plat_now_ns() + 5000000000ull, NULL), SHX_OK);
    assert_float_equal(chan_audio(ch)[7], 3.0f, 0);
    kill(pid, SIGKILL);
    reap(pid);
    chan_destroy(ch);
}

#define BATCH 7

/* Worker side for batches: adds i + 1 to every sample of block i of the
 * request, and fails block 3 (its bit stays clear, status RAISED). */
static void batch_worker(int fd)
{
    struct chan *ch;
    if (chan_attach(fd, &ch) != SHX_OK || chan_batch(ch) != BATCH)
        _exit(3);
    for (;;) {
        struct chan_request req;
        if (chan_wait_request(ch, plat_now_ns() + 5000000000ull, &req) != SHX_OK)
            _exit(4);
        uint64_t woke = plat_now_ns();
        if (req.cmd == CHAN_CMD_QUIT) {
            chan_reply(ch, req.seq, CHAN_ST_OK, 0, woke);
            _exit(0);
        }
        uint64_t mask = 0;
        uint32_t st = CHAN_ST_OK;
        for (uint32_t b = 0; b < req.count; b++) {
            float *a = chan_block(ch, b);
            for (uint32_t i = 0; i < chan_frames(ch) * chan_channels(ch); i++)
                a[i] += (float)(b + 1);
            if (b == 3)
                st = CHAN_ST_RAISED;
            else
                mask |= (uint64_t)1 << b;
        }
        chan_reply_blocks(ch, req.seq, st, mask, 0, woke);
    }
}

/* One request covers several blocks: each block is the worker's own, the
 * answer says block by block which ones failed. */
static void test_batch(void **state)
{
    (void)state;
    struct chan *ch;
    assert_int_equal(chan_create(FRAMES, CHANNELS, CHAN_MAX_BATCH + 1, &ch), SHX_EUSAGE);
    assert_int_equal(chan_create(FRAMES, CHANNELS, BATCH, &ch), SHX_OK);
    assert_int_equal(chan_batch(ch), BATCH);
    assert_int_equal(chan_request_blocks(ch, BATCH + 1), SHX_EUSAGE);
    assert_int_equal(chan_request_blocks(ch, 0), SHX_EUSAGE);
    pid_t pid = start_child(ch, batch_worker);
    for (uint32_t count = 1; count <= BATCH; count++) {
        for (uint32_t b = 0; b < BATCH; b++)
            for (uint32_t i = 0; i < FRAMES * CHANNELS; i++)
                chan_block(ch, b)[i] = (float)(b * 100);
        assert_true(chan_request_blocks(ch, count) > 0);
        assert_int_equal(chan_request_blocks(ch, count), SHX_EFULL);
        struct chan_reply r;
        assert_int_equal(chan_wait_reply(ch, plat_now_ns() + 5000000000ull, &r), SHX_OK);
        assert_int_equal(r.count, count);
        uint32_t want = (count >= 32 ? UINT32_MAX : (1u << count) - 1u) & ~(1u << 3);
        assert_int_equal(r.ok_mask, want);
        assert_int_equal(r.status, count > 3 ? CHAN_ST_RAISED : CHAN_ST_OK);
        for (uint32_t b = 0; b < BATCH; b++) {
            float expect = (float)(b * 100) + (b < count ? (float)(b + 1) : 0.0f);
            assert_float_equal(chan_block(ch, b)[0], expect, 0);
            assert_float_equal(chan_block(ch, b)[FRAMES * CHANNELS - 1], expect, 0);
        }
    }
    assert_true(chan_request(ch, CHAN_CMD_QUIT, NULL, 0) > 0);
    assert_int_equal(chan_wait_reply(ch, plat_now_ns() + 5000000000ull, NULL), SHX_OK);
    assert_int_equal(WEXITSTATUS(reap(pid)), 0);

    /* An answer that claims blocks nobody asked for, or OK with a block
     * missing, is a corrupt channel. */
    const uint32_t bad[][2] = {{CHAN_ST_OK, 0x7}, {CHAN_ST_OK, 0x1f}, {CHAN_ST_RAISED, 0xf},
                               {CHAN_ST_OK, 0x10}};
    for (size_t c = 0; c < sizeof bad / sizeof bad[0]; c++) {
        chan_reset(ch);
        struct chan *wk;   /* a new worker's side, in this process */
        assert_int_equal(chan_attach(dup(chan_fd(ch)), &wk), SHX_OK);
        struct chan_request req;
        assert_true(chan_request_blocks(ch, 4) > 0);
        assert_int_equal(chan_wait_request(wk, plat_now_ns() + 1000000000u, &req), SHX_OK);
        assert_int_equal(req.count, 4);
        chan_reply_blocks(wk, req.seq, bad[c][0], bad[c][1], 0, plat_now_ns());
        assert_int_equal(chan_wait_reply(ch, plat_now_ns() + 1000000000u, NULL), SHX_ECORRUPT);
        chan_destroy(wk);
    }
    chan_destroy(ch);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Worker side that answers by scribbling random bytes over everything
 * before the audio block: the header, the control area, the messages. */
static void scribbler(int fd)
{
    struct chan *ch;
    if (chan_attach(fd, &ch) != SHX_OK)
        _exit(3);
    struct chan_request req;
    if (chan_wait_request(ch, plat_now_ns() + 5000000000ull, &req) != SHX_OK)
        _exit(4);
    size_t bytes;
    unsigned char *raw = chan_raw(ch, &bytes);
    size_t upto = (size_t)((unsigned char *)chan_audio(ch) - raw);
    for (size_t i = 0; i < upto; i++)
        raw[i] = (unsigned char)xorshift();
    plat_wake((uint32_t *)(raw + 128));   /* the engine's reply word */
    _exit(0);
}

static void check_survives(struct chan *ch, int waiting)
{
    int rc;
    if (waiting) {
        rc = chan_wait_reply(ch, plat_now_ns() + 200000000u, NULL);
        assert_true(rc == SHX_ECORRUPT || rc == SHX_OK || rc == SHX_ETIMEOUT);
    }
    uint32_t type;
    char text[64];
    int reads = 0;
    while ((rc = chan_read_msg(ch, &type, text, sizeof text)) != SHX_EEMPTY) {
        assert_true(rc == SHX_OK || rc == SHX_ECORRUPT);
        assert_true(strlen(text) < sizeof text);
        assert_true(++reads <= (int)CHAN_MSG_SLOTS + 1);
    }
}

static void test_scribbling_worker(void **state)
{
    (void)state;
    struct chan *ch;
    assert_int_equal(chan_create(FRAMES, CHANNELS, 1, &ch), SHX_OK);
    pid_t pid = start_child(ch, scribbler);
    assert_true(chan_request(ch, CHAN_CMD_PROCESS, NULL, 0) > 0);
    /* A random header almost surely breaks the magic: reported as corrupt. */
    assert_int_equal(chan_wait_reply(ch, plat_now_ns() + 5000000000ull, NULL), SHX_ECORRUPT);
    reap(pid);
    check_survives(ch, 0);

    /* Many more patterns in-process, including plausible-looking ones:
     * the reply word set to the expected value with garbage around it. */
    size_t bytes;
    unsigned char *raw = chan_raw(ch, &bytes);
    size_t upto = (size_t)((unsigned char *)chan_audio(ch) - raw);
    for (int round = 0; round < 2000; round++) {
        chan_reset(ch);
        int64_t seq = chan_request(ch, CHAN_CMD_PROCESS, NULL, 0);
        assert_true(seq > 0);
        size_t n = round % 2 ? upto : 256;
        for (size_t i = 0; i < n; i++)
            raw[i] = (unsigned char)xorshift();
        if (round % 4 == 0)
            memcpy(raw + 128, &(uint32_t){(uint32_t)seq}, 4);   /* "answered" */
        if (round % 8 == 0)
            memcpy(raw, "SHMX", 4);                            /* valid magic */
        check_survives(ch, 1);
    }
    chan_destroy(ch);
}

/* A worker cloned ahead attaches while the engine resets the channel for
 * it (engine_start_workers asks the zygote ahead, worker_spawn resets):
 * every attach must succeed. The child attaches over and over, the parent
 * resets over and over until the child is done; the child's exit status is
 * its count of failed attaches (a reset that cleared the header first
 * failed here within a few hundred). */
enum { ATTACHES = 3000 };

static void attacher(int fd)
{
    int failed = 0;
    for (int i = 0; i < ATTACHES; i++) {
        struct chan *wk;
        int mine = dup(fd);
        if (chan_attach(mine, &wk) != SHX_OK) {
            failed++;
            close(mine);   /* chan_attach keeps it only when it succeeds */
        } else {
            chan_destroy(wk);
        }
    }
    _exit(failed > 250 ? 250 : failed);
}

static void test_reset_while_attaching(void **state)
{
    (void)state;
    struct chan *ch;
    assert_int_equal(chan_create(FRAMES, CHANNELS, BATCH, &ch), SHX_OK);
    pid_t pid = start_child(ch, attacher);
    int st, resets = 0;
    pid_t r;
    while ((r = waitpid(pid, &st, WNOHANG)) == 0) {
        chan_reset(ch);
        resets++;
    }
    assert_int_equal(r, pid);
    assert_true(resets > 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    /* And what a reset leaves is a fresh channel: a worker attaches and
     * sees no request. */
    struct chan *wk;
    assert_int_equal(chan_attach(dup(chan_fd(ch)), &wk), SHX_OK);
    assert_int_equal(chan_batch(wk), BATCH);
    assert_false(chan_request_pending(wk));
    chan_destroy(wk);
    chan_destroy(ch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_timeout_and_death),
        cmocka_unit_test(test_scribbling_worker),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_reset_while_attaching),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
