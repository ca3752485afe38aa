/* bench_osc_send.c - the OSC sender of bench_control.sh: sends fader
 * messages over UDP to a playing engine (`shmix play --osc PORT`) and
 * counts the replies that come back.
 *
 * Not a test: built by the `bench` target, never run by `make test`.
 *
 * usage: bench_osc_send PORT latency [-n COUNT] [--min-ms MS] [--max-ms MS]
 *                                    [--track T] [--values A,B] [OPTIONS]
 *        bench_osc_send PORT flood [--rate MSG_PER_S] [--seconds S]
 *                                  [--slice-ms MS] [--tracks N] [OPTIONS]
 *   OPTIONS: --delay-ms MS (wait before the first message, default 1000),
 *            --seed N (default 1), --host ADDR (default 127.0.0.1)
 *
 *   latency  COUNT (default 200) messages /shmix/track/T/gain_db f, the
 *            values alternating A, B, A, ... (default -3,-9: whole dB, exact
 *            as float32), at random intervals drawn uniformly from
 *            [min-ms, max-ms] (default 20..60 ms). After each message it
 *            waits (at most until the next is due) for its reply and
 *            records the round trip: sent -> /shmix/ok back, which covers
 *            the control thread's decoding and queueing, not the audio.
 *   flood    RATE messages a second (default 100000) for SECONDS (default
 *            10), in slices of SLICE ms (default 1): each slice's
 *            RATE*SLICE/1000 messages go out in one sendmmsg() at the
 *            slice's start, on an absolute clock. A slice that starts late
 *            (this process was not scheduled in time) is still sent whole,
 *            so the count is always RATE * SECONDS; how far behind the
 *            clock the sender fell is reported. Each message is
 *            /shmix/track/I/gain_db f (-30..0 dB) or /shmix/track/I/pan f
 *            (-1..1), half each, I drawn uniformly from 0..N-1 (default 16),
 *            from a pool of 8192 pre-encoded packets.
 *
 * Replies are read without blocking between slices (a receive buffer of
 * 8 MiB; replies that do not fit are lost in the kernel and not counted).
 * Prints one JSON line on stdout:
 *   {"mode", "sent", "send_failed", "seconds" (first send to last),
 *    "replies_ok", "replies_error", "replies_full" (errors saying the
 *    queue was full), "cpu_s" (this process's CPU time, user + system),
 *    "late_slices" (flood: slices that started more than
 *    one slice late), "max_behind_ms" (flood), "rtt_us_p50", "rtt_us_p99",
 *    "rtt_us_max", "rtt_missing" (latency: replies not seen in time)}
 * Exit status 0, or 2 on a usage error, 1 when the socket fails. */
#include "control.h"
#include "errors.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define POOL 8192
#define PKT_MAX 96
#define RX_BATCH 256
#define RX_BYTES 512

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void sleep_until(uint64_t ns)
{
    struct timespec t = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) != 0)
        ;
}

static uint64_t rng = 1;
static uint64_t next_rand(void)   /* xorshift64* */
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ull;
}
static double uniform(double a, double b)
{
    return a + (b - a) * (double)(next_rand() >> 11) / 9007199254740992.0;
}

struct counts {
    uint64_t ok, error, full;
};

static void classify(const unsigned char *p, size_t n, struct counts *c)
{
    static const char full[] = "queue is full";
    if (n >= 10 && !memcmp(p, "/shmix/ok", 10)) {
        c->ok++;
    } else if (n >= 13 && !memcmp(p, "/shmix/error", 13)) {
        c->error++;
        if (memmem(p, n, full, sizeof full - 1))
            c->full++;
    }
}

/* Reads every reply waiting, without blocking. Returns how many. */
static int drain_replies(int fd, struct counts *c)
{
    static unsigned char buf[RX_BATCH][RX_BYTES];
    struct mmsghdr m[RX_BATCH];
    struct iovec v[RX_BATCH];
    int total = 0;
    for (;;) {
        for (int i = 0; i < RX_BATCH; i++) {
            v[i] = (struct iovec){buf[i], RX_BYTES};
            m[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &v[i], .msg_iovlen = 1}};
        }
        int r = recvmmsg(fd, m, RX_BATCH, MSG_DONTWAIT, NULL);
        if (r <= 0)
            return total;
        for (int i = 0; i < r; i++)
            classify(buf[i], m[i].msg_len, c);
        total += r;
        if (r < RX_BATCH)
            return total;
    }
}

static size_t encode_float(const char *address, double value, unsigned char *out)
{
    struct ctl_arg a = {.type = 'f', .f = value};
    size_t len = 0;
    if (ctl_encode(address, &a, 1, out, PKT_MAX, &len) < 0) {
        fprintf(stderr, "bench_osc_send: cannot encode %s\n", address);
        exit(1);
    }
    return len;
}

static double cpu_s(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec)
           + (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: bench_osc_send PORT latency [-n COUNT] [--min-ms MS] [--max-ms MS] "
            "[--track T] [--values A,B] [OPTIONS]\n"
            "       bench_osc_send PORT flood [--rate N] [--seconds S] [--slice-ms MS] "
            "[--tracks N] [OPTIONS]\n"
            "OPTIONS: --delay-ms MS, --seed N, --host ADDR\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    int port = atoi(argv[1]);
    const char *mode = argv[2];
    int latency = !strcmp(mode, "latency");
    if (!latency && strcmp(mode, "flood"))
        return usage();
    int count = 200, track = 0, tracks = 16;
    double min_ms = 20, max_ms = 60, va = -3, vb = -9, rate = 100000, seconds = 10,
           slice_ms = 1, delay_ms = 1000;
    const char *host = "127.0.0.1";
    for (int i = 3; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage();
        i++;
        if (!strcmp(o, "-n")) count = atoi(v);
        else if (!strcmp(o, "--min-ms")) min_ms = atof(v);
        else if (!strcmp(o, "--max-ms")) max_ms = atof(v);
        else if (!strcmp(o, "--track")) track = atoi(v);
        else if (!strcmp(o, "--values")) {
            if (sscanf(v, "%lf,%lf", &va, &vb) != 2)
                return usage();
        } else if (!strcmp(o, "--rate")) rate = atof(v);
        else if (!strcmp(o, "--seconds")) seconds = atof(v);
        else if (!strcmp(o, "--slice-ms")) slice_ms = atof(v);
        else if (!strcmp(o, "--tracks")) tracks = atoi(v);
        else if (!strcmp(o, "--delay-ms")) delay_ms = atof(v);
        else if (!strcmp(o, "--seed")) rng = strtoull(v, NULL, 10) * 0x9E3779B97F4A7C15ull | 1;
        else if (!strcmp(o, "--host")) host = v;
        else return usage();
    }
    if (port <= 0 || port > 65535 || count < 1 || tracks < 1 || rate <= 0 || seconds <= 0
        || slice_ms <= 0 || min_ms < 0 || max_ms < min_ms)
        return usage();

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (fd < 0 || inet_pton(AF_INET, host, &to.sin_addr) != 1
        || connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
        perror("bench_osc_send: socket");
        return 1;
    }
    int big = 8 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);

    struct counts c = {0};
    uint64_t sent = 0, failed = 0, first = 0, last = 0;
    sleep_until(now_ns() + (uint64_t)(delay_ms * 1e6));

    if (latency) {
        char addr[64];
        snprintf(addr, sizeof addr, "/shmix/track/%d/gain_db", track);
        unsigned char pkt[2][PKT_MAX];
        size_t len[2] = {encode_float(addr, va, pkt[0]), encode_float(addr, vb, pkt[1])};
        uint64_t *rtt = calloc((size_t)count, sizeof *rtt);
        int nrtt = 0, missing = 0;
        uint64_t due = now_ns();
        for (int i = 0; i < count; i++) {
            sleep_until(due);
            drain_replies(fd, &c);   /* stragglers of the previous one */
            uint64_t t0 = now_ns();
            if (!first)
                first = t0;
            if (send(fd, pkt[i & 1], len[i & 1], 0) < 0) {
                failed++;
            } else {
                sent++;
                last = t0;
            }
            due = t0 + (uint64_t)(uniform(min_ms, max_ms) * 1e6);
            /* Its reply, at most until the next message is due. */
            uint64_t got = 0;
            while (!got) {
                uint64_t t = now_ns();
                if (t >= due)
                    break;
                struct pollfd pf = {fd, POLLIN, 0};
                if (poll(&pf, 1, (int)((due - t) / 1000000u) + 1) <= 0)
                    break;
                uint64_t before = c.ok + c.error;
                drain_replies(fd, &c);
                if (c.ok + c.error > before)
                    got = now_ns();
            }
            if (got)
                rtt[nrtt++] = got - t0;
            else
                missing++;
        }
        sleep_until(now_ns() + 200000000u);
        drain_replies(fd, &c);
        qsort(rtt, (size_t)nrtt, sizeof *rtt, cmp_u64);
        double p50 = nrtt ? rtt[(nrtt - 1) / 2] / 1e3 : 0;
        double p99 = nrtt ? rtt[(int)(0.99 * (nrtt - 1) + 0.5)] / 1e3 : 0;
        double mx = nrtt ? rtt[nrtt - 1] / 1e3 : 0;
        printf("{\"mode\": \"latency\", \"sent\": %llu, \"send_failed\": %llu, \"seconds\": %.3f, "
               "\"replies_ok\": %llu, \"replies_error\": %llu, \"replies_full\": %llu, "
               "\"rtt_us_p50\": %.1f, \"rtt_us_p99\": %.1f, \"rtt_us_max\": %.1f, "
               "\"rtt_missing\": %d, \"cpu_s\": %.2f}\n",
               (unsigned long long)sent, (unsigned long long)failed, (last - first) / 1e9,
               (unsigned long long)c.ok, (unsigned long long)c.error, (unsigned long long)c.full,
               p50, p99, mx, missing, cpu_s());
        free(rtt);
        return 0;
    }

    /* flood */
    static unsigned char pool[POOL][PKT_MAX];
    static size_t plen[POOL];
    for (int i = 0; i < POOL; i++) {
        char addr[64];
        int t = (int)(next_rand() % (uint64_t)tracks);
        if (next_rand() & 1) {
            snprintf(addr, sizeof addr, "/shmix/track/%d/gain_db", t);
            plen[i] = encode_float(addr, (double)(float)uniform(-30, 0), pool[i]);
        } else {
            snprintf(addr, sizeof addr, "/shmix/track/%d/pan", t);
            plen[i] = encode_float(addr, (double)(float)uniform(-1, 1), pool[i]);
        }
    }
    int per = (int)(rate * slice_ms / 1000.0 + 0.5);
    if (per < 1)
        per = 1;
    uint64_t slices = (uint64_t)(seconds * 1000.0 / slice_ms + 0.5);
    uint64_t slice_ns = (uint64_t)(slice_ms * 1e6);
    struct mmsghdr *m = calloc((size_t)per, sizeof *m);
    struct iovec *v = calloc((size_t)per, sizeof *v);
    uint64_t late = 0, behind_max = 0;
    uint64_t start = now_ns();
    first = start;
    for (uint64_t s = 0; s < slices; s++) {
        uint64_t due = start + s * slice_ns;
        uint64_t t = now_ns();
        if (t < due)
            sleep_until(due);
        else if (t - due > behind_max)
            behind_max = t - due;
        if (t > due + slice_ns)
            late++;
        for (int i = 0; i < per; i++) {
            int k = (int)(next_rand() % POOL);
            v[i] = (struct iovec){pool[k], plen[k]};
            m[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &v[i], .msg_iovlen = 1}};
        }
        int done = 0;
        while (done < per) {
            int r = sendmmsg(fd, m + done, (unsigned)(per - done), 0);
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                failed++;   /* this one fails; go on with the rest */
                done++;
                continue;
            }
            done += r;
            sent += (uint64_t)r;
        }
        last = now_ns();
        drain_replies(fd, &c);
    }
    /* The engine may still be working through its socket's backlog. */
    for (int i = 0; i < 20; i++) {
        sleep_until(now_ns() + 50000000u);
        drain_replies(fd, &c);
    }
    printf("{\"mode\": \"flood\", \"sent\": %llu, \"send_failed\": %llu, \"seconds\": %.3f, "
           "\"replies_ok\": %llu, \"replies_error\": %llu, \"replies_full\": %llu, "
           "\"late_slices\": %llu, \"max_behind_ms\": %.2f, \"cpu_s\": %.2f}\n",
           (unsigned long long)sent, (unsigned long long)failed, (last - first) / 1e9,
           (unsigned long long)c.ok, (unsigned long long)c.error, (unsigned long long)c.full,
           (unsigned long long)late, behind_max / 1e6, cpu_s());
    free(m);
    free(v);
    return 0;
}
