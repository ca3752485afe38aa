/* test_osc.c - the control server with a fake engine behind it: real
 * datagrams over its Unix socket and over UDP, the replies, the socket's
 * and folder's permissions, subscriptions, counters, and a flood into a
 * full queue. Runs in a scratch XDG_RUNTIME_DIR. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "ctldir.h"
#include "errors.h"
#include "osc.h"
#include "tuning.h"

static char xdg[64], dir[80];

/* ---- The fake engine ---- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct ctl_msg applied[64];
static int napplied, apply_rc, stats_calls, stats_size;

static int fake_apply(void *user, const struct ctl_msg *m, char *reason, size_t cap)
{
    (void)user;
    pthread_mutex_lock(&lock);
    int rc = apply_rc;
    if (rc == SHX_OK && napplied < 64)
        applied[napplied++] = *m;
    pthread_mutex_unlock(&lock);
    if (rc == SHX_EUSAGE)
        snprintf(reason, cap, "seek: 99 is past the end (12.5 s)");
    return rc;
}

static int fake_stats(void *user, char *buf, size_t cap)
{
    (void)user;
    pthread_mutex_lock(&lock);
    int k = ++stats_calls, size = stats_size;
    pthread_mutex_unlock(&lock);
    if (size) {   /* a long line: {"pad": "xxx..."} */
        if ((size_t)size >= cap)
            return SHX_EFULL;
        memset(buf, 'x', (size_t)size);
        memcpy(buf, "{\"pad\": \"", 9);
        memcpy(buf + size - 3, "\"}\n", 3);
        buf[size] = '\0';
        return size;
    }
    return snprintf(buf, cap, "{\"n\": %d}\n", k);
}

static const char *const tracks[] = {"drums", "bass"};

static struct osc *start(int udp, const char *bind_addr, uint64_t silence_ns)
{
    struct osc_options o = {tracks, 2, udp, 0, bind_addr, fake_apply, fake_stats, NULL,
                            silence_ns};
    struct osc *s = NULL;
    char err[256];
    int rc = osc_create(&o, &s, err, sizeof err);
    if (rc != SHX_OK)
        fail_msg("osc_create: %s", err);
    return s;
}

/* ---- Clients ---- */

/* A Unix datagram socket bound to a path of its own (named: replies come
 * back), or unbound (anonymous: none can). */
static int unix_client(const char *name)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    if (name) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", xdg, name);
        unlink(sa.sun_path);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    }
    return fd;
}

static int udp_client(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

static void send_to(int fd, const struct osc *s, int udp, const void *p, size_t len)
{
    ssize_t n;
    if (udp) {
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                                 .sin_port = htons((uint16_t)osc_udp_port(s))};
        n = sendto(fd, p, len, 0, (struct sockaddr *)&sa, sizeof sa);
    } else {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", osc_socket_path(s));
        n = sendto(fd, p, len, 0, (struct sockaddr *)&sa, sizeof sa);
    }
    assert_int_equal(n, (ssize_t)len);
}

/* Sends address with args. */
static void send_msg(int fd, const struct osc *s, int udp, const char *address, int n,
                     const struct ctl_arg *args)
{
    unsigned char buf[CTL_PACKET_MAX];
    size_t len;
    assert_int_equal(ctl_encode(address, args, n, buf, sizeof buf, &len), SHX_OK);
    send_to(fd, s, udp, buf, len);
}

static char raddr[64], rtext[300000];

/* The next reply within ms milliseconds into raddr and rtext; 0 if none. */
static int reply(int fd, int ms)
{
    static unsigned char buf[300000];
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    if (poll(&pf, 1, ms) <= 0)
        return 0;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    assert_true(n > 0);
    assert_int_equal(ctl_decode_reply(buf, (size_t)n, raddr, sizeof raddr, rtext, sizeof rtext),
                     SHX_OK);
    return 1;
}

static void expect(int fd, const char *address, const char *text)
{
    if (!reply(fd, 3000))
        fail_msg("no reply, expected %s %s", address, text ? text : "");
    assert_string_equal(raddr, address);
    if (text)
        assert_string_equal(rtext, text);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

#define F(x) {.type = 'f', .f = (x)}
#define I(x) {.type = 'i', .i = (x)}
#define S(x) {.type = 's', .s = (x)}

/* ---- Tests ---- */

static int setup_each(void **state)
{
    (void)state;
    pthread_mutex_lock(&lock);
    napplied = 0;
    apply_rc = SHX_OK;
    stats_calls = 0;
    stats_size = 0;
    pthread_mutex_unlock(&lock);
    return 0;
}

static void test_socket_and_folder(void **state)
{
    (void)state;
    struct osc *s = start(0, NULL, 0);
    char want[256];
    snprintf(want, sizeof want, "%s/%d.osc", dir, (int)getpid());
    assert_string_equal(osc_socket_path(s), want);
    assert_int_equal(osc_udp_port(s), 0);
    struct stat st;
    assert_int_equal(lstat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(lstat(want, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    int pids[4];
    assert_int_equal(ctldir_engines(dir, pids, 4), 1);
    assert_int_equal(pids[0], (int)getpid());
    assert_true(ctldir_listening(want));
    osc_destroy(s);
    assert_int_equal(lstat(want, &st), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(ctldir_engines(dir, pids, 4), 0);
    osc_destroy(NULL);
}

static void test_unsafe_folders_refused(void **state)
{
    (void)state;
    struct osc_options o = {tracks, 2, 0, 0, NULL, fake_apply, fake_stats, NULL, 0};
    struct osc *s = NULL;
    char err[256];
    mkdir(dir, 0700);
    /* Made by somebody with a looser umask, or on purpose: refused. */
    assert_int_equal(chmod(dir, 0755), 0);
    assert_int_equal(osc_create(&o, &s, err, sizeof err), SHX_EUSAGE);
    assert_null(s);
    assert_non_null(strstr(err, "has mode 0755, not 0700"));
    assert_int_equal(chmod(dir, 0700), 0);
    /* A symlink to a private folder is not the folder. */
    char real[128];
    snprintf(real, sizeof real, "%s/elsewhere", xdg);
    assert_int_equal(rename(dir, real), 0);
    assert_int_equal(symlink(real, dir), 0);
    assert_int_equal(osc_create(&o, &s, err, sizeof err), SHX_EUSAGE);
    assert_non_null(strstr(err, "not a folder"));
    assert_int_equal(unlink(dir), 0);
    assert_int_equal(rename(real, dir), 0);
    /* A missing folder is made, 0700 whatever the umask. */
    assert_int_equal(rmdir(dir), 0);
    mode_t old = umask(0);
    s = start(0, NULL, 0);
    umask(old);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    osc_destroy(s);
}

static void test_stale_sockets_swept(void **state)
{
    (void)state;
    /* What a SIGKILLed engine and client leave: bound, never unlinked. */
    const char *names[] = {"999999.osc", "ctl-999999-0000abcd.sock"};
    char path[256];
    for (int i = 0; i < 2; i++) {
        int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", dir, names[i]);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
        close(fd);
        assert_false(ctldir_listening(sa.sun_path));
    }
    snprintf(path, sizeof path, "%s/notes.txt", dir);   /* not ours to remove */
    FILE *f = fopen(path, "w");
    fclose(f);
    struct osc *s = start(0, NULL, 0);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        assert_int_equal(access(path, F_OK), -1);
    }
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    assert_int_equal(access(path, F_OK), 0);
    unlink(path);
    osc_destroy(s);
}

static void test_ping_stats_and_apply_unix(void **state)
{
    (void)state;
    struct osc *s = start(0, NULL, 0);
    int fd = unix_client("c1.sock");
    send_msg(fd, s, 0, "/shmix/ping", 0, NULL);
    expect(fd, CTL_REPLY_PONG, "");
    send_msg(fd, s, 0, "/shmix/stats", 0, NULL);
    expect(fd, CTL_REPLY_STATS, "{\"n\": 1}");   /* the newline stripped */
    send_msg(fd, s, 0, "/shmix/track/drums/gain_db", 1, (struct ctl_arg[]){F(-6)});
    expect(fd, CTL_REPLY_OK, "/shmix/track/drums/gain_db");
    send_msg(fd, s, 0, "/shmix/track/1/param/mode", 1, (struct ctl_arg[]){S("wide")});
    expect(fd, CTL_REPLY_OK, "/shmix/track/1/param/mode");
    send_msg(fd, s, 0, "/shmix/transport/seek", 1, (struct ctl_arg[]){I(3)});
    expect(fd, CTL_REPLY_OK, "/shmix/transport/seek");
    pthread_mutex_lock(&lock);
    assert_int_equal(napplied, 3);   /* ping and stats are answered, not applied */
    assert_int_equal(applied[0].kind, CTL_GAIN);
    assert_int_equal(applied[0].track, 0);
    assert_true(applied[0].a == -6);
    assert_int_equal(applied[1].kind, CTL_PARAM);
    assert_int_equal(applied[1].track, 1);
    assert_string_equal(applied[1].value_json, "\"wide\"");
    assert_int_equal(applied[2].kind, CTL_SEEK);
    assert_true(applied[2].a == 3);
    pthread_mutex_unlock(&lock);
    assert_int_equal(osc_control_errors(s), 0);
    close(fd);
    osc_destroy(s);
}

static void test_udp_any_port(void **state)
{
    (void)state;
    struct osc *s = start(1, NULL, 0);
    assert_true(osc_udp_port(s) > 0);
    int fd = udp_client();
    send_msg(fd, s, 1, "/shmix/ping", 0, NULL);
    expect(fd, CTL_REPLY_PONG, "");
    send_msg(fd, s, 1, "/shmix/track/bass/mute", 1, (struct ctl_arg[]){I(1)});
    expect(fd, CTL_REPLY_OK, "/shmix/track/bass/mute");
    send_msg(fd, s, 1, "/shmix/track/bass/mute", 1, (struct ctl_arg[]){I(7)});
    expect(fd, CTL_REPLY_ERROR, "mute: 7 is out of range (0 or 1)");
    assert_int_equal(osc_control_errors(s), 1);
    close(fd);
    osc_destroy(s);
}

static void test_rejections_counted(void **state)
{
    (void)state;
    struct osc *s = start(1, NULL, 0);
    int u = unix_client("c2.sock"), fd = udp_client();
    send_msg(u, s, 0, "/shmix/foo", 0, NULL);
    expect(u, CTL_REPLY_ERROR, "unknown address /shmix/foo");
    send_msg(fd, s, 1, "/shmix/track/x/pan", 1, (struct ctl_arg[]){F(0)});
    expect(fd, CTL_REPLY_ERROR, "no track 'x'");
    send_to(u, s, 0, "garbage", 7);
    expect(u, CTL_REPLY_ERROR, "malformed OSC packet: the address is not a padded string");
    /* Larger than any request: refused by its size, not decoded cut. */
    static unsigned char big[CTL_PACKET_MAX + 100];
    memset(big, 0, sizeof big);
    memcpy(big, "/shmix/ping", 11);
    send_to(u, s, 0, big, sizeof big);
    expect(u, CTL_REPLY_ERROR, "malformed OSC packet: 8292 bytes, at most 8192");
    /* Refused by the engine, with its reason. */
    pthread_mutex_lock(&lock);
    apply_rc = SHX_EUSAGE;
    pthread_mutex_unlock(&lock);
    send_msg(u, s, 0, "/shmix/transport/seek", 1, (struct ctl_arg[]){F(99)});
    expect(u, CTL_REPLY_ERROR, "seek: 99 is past the end (12.5 s)");
    assert_int_equal(osc_control_errors(s), 5);
    assert_int_equal(osc_dropped(s), 0);
    /* A sender without an address gets no reply but is counted. */
    int anon = unix_client(NULL);
    send_msg(anon, s, 0, "/shmix/nope", 0, NULL);
    for (int i = 0; i < 300 && osc_control_errors(s) < 6; i++)
        usleep(10000);
    assert_int_equal(osc_control_errors(s), 6);
    close(anon);
    close(u);
    close(fd);
    osc_destroy(s);
}

static void test_stats_errors(void **state)
{
    (void)state;
    struct osc_options o = {tracks, 2, 1, 0, NULL, fake_apply, NULL, NULL, 0};
    struct osc *s = NULL;
    char err[256];
    assert_int_equal(osc_create(&o, &s, err, sizeof err), SHX_OK);
    int u = unix_client("c3.sock");
    send_msg(u, s, 0, "/shmix/stats", 0, NULL);
    expect(u, CTL_REPLY_ERROR, "stats are not available");
    osc_destroy(s);
    /* A long line goes through the Unix socket, not through UDP. */
    s = start(1, NULL, 0);
    pthread_mutex_lock(&lock);
    stats_size = 100000;
    pthread_mutex_unlock(&lock);
    send_msg(u, s, 0, "/shmix/stats", 0, NULL);
    expect(u, CTL_REPLY_STATS, NULL);
    assert_int_equal(strlen(rtext), 100000 - 1);
    int fd = udp_client();
    send_msg(fd, s, 1, "/shmix/stats", 0, NULL);
    expect(fd, CTL_REPLY_ERROR, "the stats line (99999 bytes) does not fit in one datagram");
    close(fd);
    close(u);
    osc_destroy(s);
}

static void test_subscribe(void **state)
{
    (void)state;
    struct osc *s = start(1, NULL, 0);
    int u = unix_client("c4.sock"), fd = udp_client();
    send_msg(u, s, 0, "/shmix/subscribe", 1, (struct ctl_arg[]){F(20)});
    send_msg(fd, s, 1, "/shmix/subscribe", 1, (struct ctl_arg[]){I(50)});
    double t0 = now_s();
    int got = 0, got_udp = 0;
    while (now_s() - t0 < 0.5) {
        if (reply(u, 10)) {
            assert_string_equal(raddr, CTL_REPLY_STATS);
            assert_int_equal(strncmp(rtext, "{\"n\": ", 6), 0);
            got++;
        }
        if (reply(fd, 10)) {
            assert_string_equal(raddr, CTL_REPLY_STATS);
            got_udp++;
        }
    }
    /* 20 Hz for 0.5 s: ~10 lines (the first at once); 50 Hz: ~25. A loaded
     * machine may deliver fewer, never more than the rate allows. */
    assert_true(got >= 4 && got <= 12);
    assert_true(got_udp >= 8 && got_udp <= 27);
    send_msg(u, s, 0, "/shmix/unsubscribe", 0, NULL);
    while (reply(u, 500) && strcmp(raddr, CTL_REPLY_OK))
        assert_string_equal(raddr, CTL_REPLY_STATS);
    assert_string_equal(raddr, CTL_REPLY_OK);
    assert_string_equal(rtext, "/shmix/unsubscribe");
    assert_false(reply(u, 300));   /* nothing after the unsubscribe */
    /* A subscriber whose socket is gone is dropped, not written to for ever. */
    close(fd);
    osc_destroy(s);
    close(u);
    s = start(0, NULL, 0);
    u = unix_client("c5.sock");
    send_msg(u, s, 0, "/shmix/subscribe", 1, (struct ctl_arg[]){F(50)});
    assert_true(reply(u, 2000));
    close(u);
    char path[256];
    snprintf(path, sizeof path, "%s/c5.sock", xdg);
    unlink(path);
    usleep(200000);
    osc_destroy(s);
}

static void test_subscription_ends_in_silence(void **state)
{
    (void)state;
    struct osc *s = start(0, NULL, 300000000ull);   /* 0.3 s instead of 60 s */
    int u = unix_client("c6.sock");
    send_msg(u, s, 0, "/shmix/subscribe", 1, (struct ctl_arg[]){F(50)});
    /* Kept alive by a ping after 0.2 s, so it lasts ~0.5 s in all. */
    double t0 = now_s(), last = 0;
    int pinged = 0;
    while (now_s() - t0 < 1.5) {
        if (!pinged && now_s() - t0 > 0.2) {
            send_msg(u, s, 0, "/shmix/ping", 0, NULL);
            pinged = 1;
        }
        if (reply(u, 10) && !strcmp(raddr, CTL_REPLY_STATS))
            last = now_s() - t0;
    }
    assert_true(last > 0.35);
    assert_true(last < 0.9);
    osc_destroy(s);
    close(u);
}

static void test_subscribers_capped(void **state)
{
    (void)state;
    struct osc *s = start(0, NULL, 0);
    int fds[CONTROL_MAX_SUBSCRIBERS + 1];
    for (int i = 0; i <= CONTROL_MAX_SUBSCRIBERS; i++) {
        char name[32];
        snprintf(name, sizeof name, "sub%d.sock", i);
        fds[i] = unix_client(name);
        send_msg(fds[i], s, 0, "/shmix/subscribe", 1, (struct ctl_arg[]){F(1)});
        expect(fds[i], i < CONTROL_MAX_SUBSCRIBERS ? CTL_REPLY_STATS : CTL_REPLY_ERROR, NULL);
    }
    assert_string_equal(rtext, "subscribe: all 16 subscriptions are taken");
    assert_int_equal(osc_control_errors(s), 1);
    /* Subscribing again from the same address is no new subscription. */
    send_msg(fds[0], s, 0, "/shmix/subscribe", 1, (struct ctl_arg[]){F(2)});
    expect(fds[0], CTL_REPLY_STATS, NULL);
    for (int i = 0; i <= CONTROL_MAX_SUBSCRIBERS; i++)
        close(fds[i]);
    osc_destroy(s);
}

/* Many more messages than the engine's queue takes: every one answered
 * or dropped, none lost silently, nothing blocks - also while the client
 * reads none of its replies. */
static void test_flood_into_full_queue(void **state)
{
    (void)state;
    struct osc *s = start(1, NULL, 0);
    pthread_mutex_lock(&lock);
    apply_rc = SHX_EFULL;
    pthread_mutex_unlock(&lock);
    int u = unix_client("c7.sock"), fd = udp_client();
    enum { FLOOD = 2000 };
    for (int i = 0; i < FLOOD; i++)
        send_msg(u, s, 0, "/shmix/track/drums/pan", 1, (struct ctl_arg[]){F(i % 2 ? 0.5 : -0.5)});
    /* UDP may lose datagrams when the server's buffer is full; only what
     * arrived can be counted, so pace these. */
    for (int i = 0; i < 100; i++) {
        send_msg(fd, s, 1, "/shmix/master/gain_db", 1, (struct ctl_arg[]){F(-1)});
        if (i % 10 == 9)
            usleep(2000);
    }
    for (int i = 0; i < 500 && osc_dropped(s) < FLOOD + 100; i++)
        usleep(10000);
    assert_int_equal(osc_dropped(s), FLOOD + 100);
    assert_int_equal(osc_control_errors(s), 0);
    /* Still answering, and the replies that fit said why. */
    expect(u, CTL_REPLY_ERROR, "the engine's control queue is full: message dropped");
    int p = unix_client("c8.sock");
    send_msg(p, s, 0, "/shmix/ping", 0, NULL);
    expect(p, CTL_REPLY_PONG, "");
    close(p);
    close(u);
    close(fd);
    osc_destroy(s);
}

static void test_udp_bind_address(void **state)
{
    (void)state;
    /* A port that is taken. */
    int taken = udp_client();
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    getsockname(taken, (struct sockaddr *)&sa, &len);
    struct osc_options o = {tracks, 2, 1, ntohs(sa.sin_port), NULL, fake_apply, fake_stats,
                            NULL, 0};
    struct osc *s = NULL;
    char err[256];
    assert_int_equal(osc_create(&o, &s, err, sizeof err), SHX_EUSAGE);
    assert_non_null(strstr(err, "the port is taken"));
    close(taken);
    o.udp_port = 70000;
    assert_int_equal(osc_create(&o, &s, err, sizeof err), SHX_EUSAGE);
    o.udp_port = 0;
    o.udp_bind = "not an address.invalid";
    assert_int_equal(osc_create(&o, &s, err, sizeof err), SHX_EUSAGE);
    const char *want_err = "--osc-bind not an address.invalid: ";
    assert_int_equal(strncmp(err, want_err, strlen(want_err)), 0);
    /* The socket of a failed create is gone. */
    char path[256];
    snprintf(path, sizeof path, "%s/%d.osc", dir, (int)getpid());
    assert_int_equal(access(path, F_OK), -1);

    /* Loopback: quiet. Any other address: a warning on stderr. */
    char log[128];
    snprintf(log, sizeof log, "%s/stderr.txt", xdg);
    fflush(stderr);
    int saved = dup(2), to = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(to, 2);
    close(to);
    o.udp_bind = "::1";
    int rc1 = osc_create(&o, &s, err, sizeof err);
    osc_destroy(s);
    o.udp_bind = "0.0.0.0";
    int rc2 = osc_create(&o, &s, err, sizeof err);
    int port = rc2 == SHX_OK ? osc_udp_port(s) : 0;
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    assert_int_equal(rc2, SHX_OK);
    char text[512] = "", want[256];
    FILE *f = fopen(log, "r");
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    snprintf(want, sizeof want, "shmix: warning: OSC control listens on UDP 0.0.0.0 port %d: "
             "anyone who can reach this address can control the engine\n", port);
    assert_string_equal(text, want);   /* one line, and none for ::1 */
    int fd = udp_client();
    send_msg(fd, s, 1, "/shmix/ping", 0, NULL);
    expect(fd, CTL_REPLY_PONG, "");
    close(fd);
    osc_destroy(s);
    (void)rc1;   /* ::1 is missing where IPv6 is off; what matters is no warning */
}

static int setup(void **state)
{
    (void)state;
    snprintf(xdg, sizeof xdg, "/tmp/shmix-test-osc-XXXXXX");
    if (!mkdtemp(xdg))
        return -1;
    setenv("XDG_RUNTIME_DIR", xdg, 1);
    snprintf(dir, sizeof dir, "%s/shmix", xdg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", xdg);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_socket_and_folder, setup_each),
        cmocka_unit_test_setup(test_unsafe_folders_refused, setup_each),
        cmocka_unit_test_setup(test_stale_sockets_swept, setup_each),
        cmocka_unit_test_setup(test_ping_stats_and_apply_unix, setup_each),
        cmocka_unit_test_setup(test_udp_any_port, setup_each),
        cmocka_unit_test_setup(test_rejections_counted, setup_each),
        cmocka_unit_test_setup(test_stats_errors, setup_each),
        cmocka_unit_test_setup(test_subscribe, setup_each),
        cmocka_unit_test_setup(test_subscription_ends_in_silence, setup_each),
        cmocka_unit_test_setup(test_subscribers_capped, setup_each),
        cmocka_unit_test_setup(test_flood_into_full_queue, setup_each),
        cmocka_unit_test_setup(test_udp_bind_address, setup_each),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
