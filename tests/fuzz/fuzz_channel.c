/* fuzz_channel.c - libFuzzer target: the engine's side of a channel when
 * the worker writes arbitrary bytes over the shared header, control area
 * and message slots - what a hostile or broken worker can do.
 *
 * Input: byte 0 chooses the request (1..4 blocks) and whether the reply's
 * timestamps are made plausible (bit 7: wake and done moved to just after
 * the real posting time, so that the fuzzer gets past the clock checks to
 * the status and mask checks); the rest is copied over the channel from
 * offset 0. Then the engine waits for the reply with a deadline of now and
 * drains the messages. Whatever the bytes: no crash, no out-of-bounds
 * read, a reply that is accepted obeys the protocol, and every message is
 * bounded text. Offsets are those of the layout in ipc/channel.c (checked
 * there by static assertions) and docs/architecture.md. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "errors.h"
#include "platform.h"

#define FRAMES 64
#define CHANNELS 2
#define BATCH 4
#define OFF_REQ_NS 80
#define OFF_WAKE_NS 144
#define OFF_DONE_NS 152

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_channel: invariant broken: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct chan *ch;
    if (!ch)
        check(chan_create(FRAMES, CHANNELS, BATCH, &ch) == SHX_OK, "chan_create");
    if (size < 1)
        return 0;
    chan_reset(ch);
    uint32_t count = 1u + data[0] % BATCH;
    check(chan_request_blocks(ch, count) > 0, "request");

    size_t bytes;
    unsigned char *raw = chan_raw(ch, &bytes);
    size_t upto = (size_t)((unsigned char *)chan_audio(ch) - raw);
    size_t n = size - 1 < upto ? size - 1 : upto;
    uint64_t posted;
    memcpy(&posted, raw + OFF_REQ_NS, sizeof posted);
    memcpy(raw, data + 1, n);
    if (data[0] & 0x80) {
        uint64_t now = plat_now_ns(), wake = posted + 1000, done = now;
        if (done < wake)
            done = wake;
        memcpy(raw + OFF_REQ_NS, &posted, sizeof posted);
        memcpy(raw + OFF_WAKE_NS, &wake, sizeof wake);
        memcpy(raw + OFF_DONE_NS, &done, sizeof done);
    }

    struct chan_reply r;
    memset(&r, 0, sizeof r);
    int rc = chan_wait_reply(ch, plat_now_ns(), &r);
    check(rc == SHX_OK || rc == SHX_ETIMEOUT || rc == SHX_ECORRUPT, "wait result");
    if (rc == SHX_OK) {
        uint64_t full = chan_mask_of(count);
        check(r.count == count, "count");
        check(r.status < CHAN_ST_END_, "status");
        check((r.ok_mask & ~full) == 0, "mask within the request");
        check((r.status == CHAN_ST_OK) == (r.ok_mask == full), "mask agrees with status");
        check(r.busy_ns < UINT64_MAX / 2 && r.wake_ns < UINT64_MAX / 2, "times");
    }

    char text[CHAN_MSG_TEXT + 1];
    for (int i = 0; i < 64; i++) {
        uint32_t type = 0;
        int m = chan_read_msg(ch, &type, text, sizeof text);
        if (m == SHX_EEMPTY)
            break;
        check(m == SHX_OK || m == SHX_ECORRUPT, "message result");
        size_t len = strlen(text);
        check(len < sizeof text, "bounded text");
        for (size_t j = 0; j < len; j++)
            check((unsigned char)text[j] >= 0x20 || text[j] == '\n' || text[j] == '\t',
                  "no control bytes");
        if (m == SHX_OK)
            check(type > 0 && type < CHAN_MSG_END_, "message type");
    }
    return 0;
}
