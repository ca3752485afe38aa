/* osc.c - the control server's thread and sockets; see osc.h. */
#include "osc.h"
#include "ctldir.h"
#include "errors.h"
#include "platform.h"
#include "tuning.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Room for the largest reply: a stats line and its OSC framing. */
#define OUT_MAX (OSC_STATS_MAX + 1024)
/* Ask the kernel for send buffers this large, so that a long stats line
 * still fits one datagram (it caps the request at net.core.wmem_max). */
#define SEND_BUFFER (2 * OUT_MAX)
#define RECV_BUFFER (8 << 20)   /* asked for; the kernel gives up to rmem_max */
/* The longest period a subscriber may ask for (a rate near 0 Hz). */
#define MAX_PERIOD_NS S_NS(86400)

struct peer {
    int fd;                       /* the socket it wrote to: replies go back out of it */
    struct sockaddr_storage addr;
    socklen_t len;
};

struct subscriber {
    int used;
    struct peer to;
    uint64_t period_ns, next_ns, heard_ns;
};

struct osc {
    /* Set up by osc_create, read-only afterwards. */
    char **names;                 /* nnames copies */
    int nnames;
    struct ctl_names tracks;
    int (*apply)(void *user, const struct ctl_msg *m, char *reason, size_t cap);
    int (*stats)(void *user, char *buf, size_t cap);
    void *user;
    uint64_t silence_ns;
    int unix_fd, udp_fd, udp_port;
    int wake[2];                  /* osc_destroy writes a byte: the thread ends */
    char path[CTLDIR_PATH_MAX];
    pthread_t thread;
    int started;

    /* The control thread's own. */
    unsigned char in[CTL_PACKET_MAX];
    char *stats_line;             /* OSC_STATS_MAX */
    unsigned char *out;           /* OUT_MAX */
    struct subscriber subs[CONTROL_MAX_SUBSCRIBERS];

    /* Written by the control thread, read by anyone. */
    uint64_t errors, dropped;
};

/* ---- Replies ---- */

/* Whether a reply can reach the sender: a Unix socket that never bound a
 * path has an address of only its family. */
static int has_address(const struct peer *p)
{
    return p->len > (socklen_t)offsetof(struct sockaddr_un, sun_path);
}

/* Sends len bytes of s->out to p without ever waiting (a client that does
 * not read loses its replies, the server never stalls). Returns 0 or the
 * errno of the failure. */
static int send_out(struct osc *s, const struct peer *p, size_t len)
{
    for (;;) {
        if (sendto(p->fd, s->out, len, MSG_DONTWAIT | MSG_NOSIGNAL,
                   (const struct sockaddr *)&p->addr, p->len) >= 0)
            return 0;
        if (errno != EINTR)
            return errno;
    }
}

/* Sends the reply address (with one string argument text, or none). */
static int reply(struct osc *s, const struct peer *p, const char *address, const char *text)
{
    size_t len;
    if (!has_address(p) || ctl_encode_reply(address, text, s->out, OUT_MAX, &len) < 0)
        return 0;
    return send_out(s, p, len);
}

/* Counts a rejected message and says why. */
static void reject(struct osc *s, const struct peer *p, const char *reason)
{
    __atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
    reply(s, p, CTL_REPLY_ERROR, reason);
}

/* Encodes a /shmix/stats reply into s->out. Returns its length, or 0 with
 * the reason in why. */
static size_t stats_reply(struct osc *s, char *why, size_t cap)
{
    if (!s->stats) {
        snprintf(why, cap, "stats are not available");
        return 0;
    }
    int n = s->stats(s->user, s->stats_line, OSC_STATS_MAX);
    if (n < 0 || n >= OSC_STATS_MAX) {
        snprintf(why, cap, "stats are not available: %s",
                 n < 0 ? shx_strerror(n) : "too long");
        return 0;
    }
    s->stats_line[n] = '\0';
    while (n > 0 && (s->stats_line[n - 1] == '\n' || s->stats_line[n - 1] == '\r'))
        s->stats_line[--n] = '\0';
    size_t len;
    if (ctl_encode_reply(CTL_REPLY_STATS, s->stats_line, s->out, OUT_MAX, &len) < 0) {
        snprintf(why, cap, "stats are not available: out of memory");
        return 0;
    }
    return len;
}

/* Sends the stats reply made by stats_reply, or an error when it could not
 * be made or is too large for a datagram. Returns 0 or send_out's errno. */
static int send_stats(struct osc *s, const struct peer *p, size_t len, const char *why)
{
    if (!has_address(p))
        return 0;
    int e = len ? send_out(s, p, len) : 0;
    if (!len) {
        reply(s, p, CTL_REPLY_ERROR, why);
    } else if (e == EMSGSIZE) {
        char r[CTL_REASON_MAX];
        snprintf(r, sizeof r, "the stats line (%zu bytes) does not fit in one datagram",
                 strlen(s->stats_line));
        reply(s, p, CTL_REPLY_ERROR, r);
    }
    return e;
}

/* ---- Subscribers ---- */

static struct subscriber *find_subscriber(struct osc *s, const struct peer *p)
{
    for (int i = 0; i < CONTROL_MAX_SUBSCRIBERS; i++) {
        struct subscriber *u = &s->subs[i];
        if (u->used && u->to.fd == p->fd && u->to.len == p->len
            && !memcmp(&u->to.addr, &p->addr, p->len))
            return u;
    }
    return NULL;
}

static void subscribe(struct osc *s, const struct peer *p, double hz, uint64_t now)
{
    if (!has_address(p)) {   /* no way to send it anything */
        __atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
        return;
    }
    struct subscriber *u = find_subscriber(s, p);
    for (int i = 0; !u && i < CONTROL_MAX_SUBSCRIBERS; i++)
        if (!s->subs[i].used)
            u = &s->subs[i];
    if (!u) {
        char r[CTL_REASON_MAX];
        snprintf(r, sizeof r, "subscribe: all %d subscriptions are taken",
                 CONTROL_MAX_SUBSCRIBERS);
        reject(s, p, r);
        return;
    }
    double period = 1e9 / hz;
    u->used = 1;
    u->to = *p;
    u->period_ns = period > (double)MAX_PERIOD_NS ? MAX_PERIOD_NS : (uint64_t)period;
    u->next_ns = now;   /* the first line at once: it is the reply */
    u->heard_ns = now;
}

/* Sends every subscriber that is due its line and ends the subscriptions
 * that fell silent or whose address is gone. */
static void serve_subscribers(struct osc *s, uint64_t now)
{
    size_t len = 0;
    int made = 0;
    char why[CTL_REASON_MAX];
    for (int i = 0; i < CONTROL_MAX_SUBSCRIBERS; i++) {
        struct subscriber *u = &s->subs[i];
        if (!u->used)
            continue;
        if (now - u->heard_ns >= s->silence_ns) {
            u->used = 0;
            continue;
        }
        if (now < u->next_ns)
            continue;
        if (!made) {   /* one line for everybody due now */
            len = stats_reply(s, why, sizeof why);
            made = 1;
        }
        int e = send_stats(s, &u->to, len, why);
        /* Gone (its socket file removed or closed), or it cannot take
         * the line at all: the subscription ends. */
        if (!len || e == ECONNREFUSED || e == ENOENT || e == ENOTDIR || e == ECONNRESET
            || e == EMSGSIZE)
            u->used = 0;
        u->next_ns += u->period_ns;
        if (u->next_ns <= now)   /* fell behind (a stall): no burst of lines */
            u->next_ns = now + u->period_ns;
    }
}

/* Milliseconds poll may sleep before a subscriber is due or falls silent. */
static int timeout_ms(const struct osc *s, uint64_t now)
{
    uint64_t next = UINT64_MAX;
    for (int i = 0; i < CONTROL_MAX_SUBSCRIBERS; i++) {
        const struct subscriber *u = &s->subs[i];
        if (!u->used)
            continue;
        if (u->next_ns < next)
            next = u->next_ns;
        if (u->heard_ns + s->silence_ns < next)
            next = u->heard_ns + s->silence_ns;
    }
    if (next == UINT64_MAX)
        return -1;
    if (next <= now)
        return 0;
    uint64_t ms = (next - now + NS_PER_MS - 1) / NS_PER_MS;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* ---- Messages ---- */

static void handle(struct osc *s, const struct peer *p, size_t n, uint64_t now)
{
    struct subscriber *u = find_subscriber(s, p);
    if (u)   /* any message keeps a subscription alive */
        u->heard_ns = now;
    char reason[CTL_REASON_MAX];
    if (n > sizeof s->in) {
        snprintf(reason, sizeof reason, "malformed OSC packet: %zu bytes, at most %d", n,
                 CTL_PACKET_MAX);
        reject(s, p, reason);
        return;
    }
    struct ctl_msg m;
    int rc = ctl_decode(s->in, n, &s->tracks, &m, reason, sizeof reason);
    if (rc < 0) {
        reject(s, p, reason);
        return;
    }
    const char *address = (const char *)s->in;   /* decoded: NUL-terminated */
    switch (m.kind) {
    case CTL_PING:
        reply(s, p, CTL_REPLY_PONG, NULL);
        return;
    case CTL_STATS: {
        size_t len = has_address(p) ? stats_reply(s, reason, sizeof reason) : 0;
        send_stats(s, p, len, reason);
        return;
    }
    case CTL_SUBSCRIBE:
        subscribe(s, p, m.a, now);
        return;
    case CTL_UNSUBSCRIBE:
        if (u)
            u->used = 0;
        reply(s, p, CTL_REPLY_OK, address);
        return;
    default:
        break;
    }
    memset(reason, 0, sizeof reason);
    rc = s->apply ? s->apply(s->user, &m, reason, sizeof reason) : SHX_EUSAGE;
    if (rc == SHX_OK) {
        reply(s, p, CTL_REPLY_OK, address);
    } else if (rc == SHX_EFULL) {
        __atomic_fetch_add(&s->dropped, 1, __ATOMIC_RELAXED);
        reply(s, p, CTL_REPLY_ERROR, "the engine's control queue is full: message dropped");
    } else {
        reason[sizeof reason - 1] = '\0';
        if (!reason[0])
            snprintf(reason, sizeof reason, "%.160s: %s", address,
                     s->apply ? shx_strerror(rc) : "not taken by this engine");
        for (char *c = reason; *c; c++)   /* one line, whatever apply wrote */
            if ((unsigned char)*c < 0x20)
                *c = ' ';
        reject(s, p, reason);
    }
}

/* Reads up to CONTROL_BURST datagrams from fd. */
static void drain(struct osc *s, int fd)
{
    for (int i = 0; i < CONTROL_BURST; i++) {
        struct peer p = {.fd = fd, .len = sizeof p.addr};
        /* MSG_TRUNC: the datagram's real size, so an oversized one is
         * refused by its size rather than decoded cut short. */
        ssize_t n = recvfrom(fd, s->in, sizeof s->in, MSG_DONTWAIT | MSG_TRUNC,
                             (struct sockaddr *)&p.addr, &p.len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;   /* EAGAIN: all read; else an error report consumed (UDP) */
        }
        handle(s, &p, (size_t)n, plat_now_ns());
    }
}

static void *run(void *arg)
{
    struct osc *s = arg;
    plat_thread_name("shmix-osc");
    for (;;) {
        struct pollfd pf[3] = {{.fd = s->wake[0], .events = POLLIN},
                               {.fd = s->unix_fd, .events = POLLIN},
                               {.fd = s->udp_fd, .events = POLLIN}};
        nfds_t n = s->udp_fd >= 0 ? 3 : 2;
        int r = poll(pf, n, timeout_ms(s, plat_now_ns()));
        if (r < 0 && errno != EINTR)
            plat_sleep_ns(MS_NS(10));   /* never spin (ENOMEM) */
        if (r > 0 && pf[0].revents)
            break;
        for (nfds_t i = 1; r > 0 && i < n; i++)
            if (pf[i].revents)
                drain(s, pf[i].fd);
        serve_subscribers(s, plat_now_ns());
    }
    return NULL;
}

/* ---- Set-up ---- */

static int copy_names(struct osc *s, const struct osc_options *o)
{
    int n = o->ntracks > 0 ? o->ntracks : 0;
    s->names = calloc((size_t)n + 1, sizeof *s->names);
    if (!s->names)
        return SHX_ENOMEM;
    s->nnames = n;
    for (int i = 0; i < n; i++)
        if (!(s->names[i] = strdup(o->track_names[i] ? o->track_names[i] : "")))
            return SHX_ENOMEM;
    s->tracks.names = (const char *const *)s->names;
    s->tracks.count = n;
    return SHX_OK;
}

static void big_buffers(int fd)
{
    int size = SEND_BUFFER;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    /* And a receive buffer that rides out a burst: the default (~208 KiB,
     * ~250 small datagrams) overflowed in a 100 000 msg/s flood while the
     * control thread was off its CPU (performance.md). The kernel caps it
     * at net.core.rmem_max; what still overflows is dropped there. */
    size = RECV_BUFFER;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

static int open_unix(struct osc *s, char *err, size_t cap)
{
    char dir[CTLDIR_PATH_MAX];
    int rc = ctldir_open(1, dir, sizeof dir, err, cap);
    if (rc < 0)
        return rc;
    ctldir_sweep(dir);
    if (ctldir_engine_path(dir, (int)getpid(), s->path, sizeof s->path) < 0) {
        snprintf(err, cap, "control socket: the path %s/... is too long", dir);
        return SHX_EUSAGE;
    }
    /* Our pid's name: one left by a killed process that had this pid
     * (nobody listens) is replaced. One somebody listens on belongs to an
     * engine in another PID namespace sharing the folder. */
    if (ctldir_listening(s->path)) {
        snprintf(err, cap, "control socket %s is in use by another process", s->path);
        s->path[0] = '\0';   /* theirs: osc_destroy must not remove it */
        return SHX_EUSAGE;
    }
    unlink(s->path);
    s->unix_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
    if (s->unix_fd < 0 || bind(s->unix_fd, (const struct sockaddr *)&sa, sizeof sa) != 0) {
        snprintf(err, cap, "control socket %s: %s", s->path, strerror(errno));
        s->path[0] = '\0';
        return SHX_ESYS;
    }
    /* The folder (0700) already keeps others out; 0600 says so again on
     * the socket itself, whatever the umask. */
    if (chmod(s->path, 0600) != 0) {
        snprintf(err, cap, "control socket %s: %s", s->path, strerror(errno));
        return SHX_ESYS;
    }
    big_buffers(s->unix_fd);
    return SHX_OK;
}

static int is_loopback(const struct sockaddr *a)
{
    if (a->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
    if (a->sa_family == AF_INET6) {
        const struct in6_addr *x = &((const struct sockaddr_in6 *)a)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(x) || (IN6_IS_ADDR_V4MAPPED(x) && x->s6_addr[12] == 127);
    }
    return 0;
}

static int open_udp(struct osc *s, const struct osc_options *o, char *err, size_t cap)
{
    const char *host = o->udp_bind ? o->udp_bind : "127.0.0.1";
    if (o->udp_port < 0 || o->udp_port > 65535) {
        snprintf(err, cap, "--osc: expected a port 0..65535, got %d", o->udp_port);
        return SHX_EUSAGE;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", o->udp_port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM,
                             .ai_flags = AI_NUMERICSERV}, *res = NULL;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g != 0) {
        snprintf(err, cap, "--osc-bind %s: %s", host, gai_strerror(g));
        return SHX_EUSAGE;
    }
    int e = 0, loopback = 0;
    for (struct addrinfo *a = res; a && s->udp_fd < 0; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                        a->ai_protocol);
        if (fd >= 0 && bind(fd, a->ai_addr, a->ai_addrlen) == 0) {
            s->udp_fd = fd;
            loopback = is_loopback(a->ai_addr);
        } else {
            e = errno;
            if (fd >= 0)
                close(fd);
        }
    }
    freeaddrinfo(res);
    if (s->udp_fd < 0) {
        snprintf(err, cap, "--osc %d: cannot listen on %s: %s", o->udp_port, host,
                 e == EADDRINUSE ? "the port is taken" : strerror(e));
        return e == EADDRINUSE || e == EADDRNOTAVAIL || e == EACCES ? SHX_EUSAGE : SHX_ESYS;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(s->udp_fd, (struct sockaddr *)&ss, &len) != 0) {
        snprintf(err, cap, "--osc: %s", strerror(errno));
        return SHX_ESYS;
    }
    s->udp_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    big_buffers(s->udp_fd);
    /* Never silenced by -q: it is about who can control the engine. */
    if (!loopback)
        fprintf(stderr, "shmix: warning: OSC control listens on UDP %s port %d: anyone who "
                        "can reach this address can control the engine\n", host, s->udp_port);
    return SHX_OK;
}

int osc_create(const struct osc_options *o, struct osc **out, char *err, size_t cap)
{
    *out = NULL;
    struct osc *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, cap, "out of memory");
        return SHX_ENOMEM;
    }
    s->unix_fd = s->udp_fd = s->wake[0] = s->wake[1] = -1;
    s->apply = o->apply;
    s->stats = o->stats;
    s->user = o->user;
    s->silence_ns = o->silence_ns ? o->silence_ns : CONTROL_SILENCE_NS;
    s->stats_line = malloc(OSC_STATS_MAX);
    s->out = malloc(OUT_MAX);
    int rc = s->stats_line && s->out ? copy_names(s, o) : SHX_ENOMEM;
    if (rc < 0)
        snprintf(err, cap, "out of memory");
    if (rc == SHX_OK && pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        snprintf(err, cap, "control: pipe: %s", strerror(errno));
        rc = SHX_ESYS;
    }
    if (rc == SHX_OK)
        rc = open_unix(s, err, cap);
    if (rc == SHX_OK && o->udp)
        rc = open_udp(s, o, err, cap);
    if (rc == SHX_OK && (rc = plat_thread_start(&s->thread, run, s)) < 0)
        snprintf(err, cap, "cannot start the control thread");
    if (rc < 0) {
        osc_destroy(s);
        return rc;
    }
    s->started = 1;
    *out = s;
    return SHX_OK;
}

void osc_destroy(struct osc *s)
{
    if (!s)
        return;
    if (s->started) {
        /* The pipe is empty and a byte always fits. */
        while (write(s->wake[1], "x", 1) < 0 && errno == EINTR)
            ;
        pthread_join(s->thread, NULL);
    }
    if (s->unix_fd >= 0)
        close(s->unix_fd);
    if (s->path[0])
        unlink(s->path);
    if (s->udp_fd >= 0)
        close(s->udp_fd);
    for (int i = 0; i < 2; i++)
        if (s->wake[i] >= 0)
            close(s->wake[i]);
    for (int i = 0; i < s->nnames; i++)
        free(s->names[i]);
    free(s->names);
    free(s->stats_line);
    free(s->out);
    free(s);
}

int osc_udp_port(const struct osc *s)
{
    return s->udp_port;
}

const char *osc_socket_path(const struct osc *s)
{
    return s->path;
}

uint64_t osc_control_errors(const struct osc *s)
{
    return __atomic_load_n(&s->errors, __ATOMIC_RELAXED);
}

uint64_t osc_dropped(const struct osc *s)
{
    return __atomic_load_n(&s->dropped, __ATOMIC_RELAXED);
}
