/* ctl.c - shmix ctl: one message to a running engine, its reply printed;
 * see ctl.h and docs/control.md. */
#include "ctl.h"
#include "cli.h"
#include "control.h"
#include "ctldir.h"
#include "errors.h"
#include "platform.h"
#include "tuning.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_LISTED 16                 /* engines named in "pick one" */
#define REPLY_MAX (256 * 1024 + 1024) /* the largest stats reply (osc.h) */

/* An argument's OSC type from its spelling, as a user of oscsend-like
 * tools expects without having to write the types: an integer is i (h
 * beyond 32 bits), a decimal number f, true/false T/F, nil or null N,
 * anything else a string. The engine takes an integer where it wants f. */
static struct ctl_arg typed(char *word)
{
    struct ctl_arg a = {.type = 's', .s = word};
    char *end;
    if (!strcmp(word, "true") || !strcmp(word, "false")) {
        a.type = word[0] == 't' ? 'T' : 'F';
        return a;
    }
    if (!strcmp(word, "nil") || !strcmp(word, "null")) {
        a.type = 'N';
        return a;
    }
    if (!*word)
        return a;
    errno = 0;
    long long i = strtoll(word, &end, 10);
    if (!*end && !errno) {
        a.type = i >= INT32_MIN && i <= INT32_MAX ? 'i' : 'h';
        a.i = i;
        return a;
    }
    /* Decimal only: strtod would also take "inf", "nan" and hex. */
    if (strspn(word, "0123456789+-.eE") == strlen(word) && strpbrk(word, "0123456789")) {
        errno = 0;
        double d = strtod(word, &end);
        if (!*end && isfinite(d)) {
            a.type = 'f';
            a.f = d;
        }
    }
    return a;
}

/* The engine's socket path into path. Returns 0, or the exit status after
 * the message. */
static int find_engine(int pid, const char *dir, char *path, size_t cap, int *found)
{
    if (pid > 0) {
        if (ctldir_engine_path(dir, pid, path, cap) < 0 || !ctldir_listening(path))
            return cli_fail(2, "ctl: no shmix engine with pid %d is listening (%s/%d.osc)", pid,
                            dir, pid);
        *found = pid;
        return 0;
    }
    int pids[MAX_LISTED];
    int n = ctldir_engines(dir, pids, MAX_LISTED);
    if (n == 0)
        return cli_fail(2, "ctl: no shmix engine is running (nothing listens in %s)", dir);
    if (n > 1) {
        char list[MAX_LISTED * 12] = "";
        size_t len = 0;
        for (int i = 0; i < n && i < MAX_LISTED; i++)
            len += (size_t)snprintf(list + len, sizeof list - len, " %d", pids[i]);
        return cli_fail(2, "ctl: %d engines are running; pick one with --pid:%s%s", n, list,
                        n > MAX_LISTED ? " ..." : "");
    }
    *found = pids[0];
    ctldir_engine_path(dir, pids[0], path, cap);
    return 0;
}

/* Binds fd to a fresh name in the private folder, so that the engine has
 * an address to reply to. Returns 0 with the path in path, or SHX_ESYS. */
static int bind_own(int fd, const char *dir, char *path, size_t cap)
{
    for (int tries = 0; tries < 16; tries++) {
        uint32_t r;
        if (getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r)
            r = (uint32_t)plat_now_ns() ^ (uint32_t)tries;
        int n = snprintf(path, cap, "%s/" CTLDIR_CLIENT_PREFIX "%d-%08x.sock", dir,
                         (int)getpid(), r);
        if (n < 0 || (size_t)n >= cap || n >= CTLDIR_PATH_MAX)
            return SHX_ESYS;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        memcpy(sa.sun_path, path, (size_t)n + 1);
        if (bind(fd, (const struct sockaddr *)&sa, sizeof sa) == 0)
            return SHX_OK;
        if (errno != EADDRINUSE)
            break;
    }
    path[0] = '\0';
    return SHX_ESYS;
}

/* Prints the reply; returns the exit status. */
static int print_reply(const char *address, const char *text)
{
    if (!strcmp(address, CTL_REPLY_OK))
        return 0;
    if (!strcmp(address, CTL_REPLY_PONG)) {
        puts("pong");
        return 0;
    }
    if (!strcmp(address, CTL_REPLY_STATS)) {
        printf("%s\n", text);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (!strcmp(address, CTL_REPLY_ERROR))
        return cli_fail(2, "%s", text);
    return cli_fail(1, "ctl: unexpected reply %.100s", address);
}

/* Waits for the engine's reply on fd and prints it. Datagrams from anyone
 * but the engine are ignored. Returns the exit status. */
static int await_reply(int fd, const char *engine, int pid, volatile sig_atomic_t *stop)
{
    char *buf = malloc(REPLY_MAX), *text = malloc(REPLY_MAX);
    int status = -1;
    uint64_t deadline = plat_now_ns() + CONTROL_REPLY_NS;
    while (status < 0 && buf && text) {
        uint64_t now = plat_now_ns();
        if (stop && *stop) {
            status = cli_fail(1, "ctl: interrupted");
            break;
        }
        if (now >= deadline) {
            status = cli_fail(1, "ctl: no reply from engine %d within %.0f s", pid,
                              CONTROL_REPLY_NS / 1e9);
            break;
        }
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int ms = (int)((deadline - now + NS_PER_MS - 1) / NS_PER_MS);
        if (poll(&pf, 1, ms) <= 0)
            continue;   /* EINTR (a signal: look at stop) or the deadline */
        struct sockaddr_un from;
        socklen_t flen = sizeof from;
        ssize_t n = recvfrom(fd, buf, REPLY_MAX, MSG_DONTWAIT | MSG_TRUNC,
                             (struct sockaddr *)&from, &flen);
        if (n < 0 || flen <= (socklen_t)offsetof(struct sockaddr_un, sun_path)
            || strncmp(from.sun_path, engine, sizeof from.sun_path))
            continue;
        char address[256];
        if ((size_t)n > REPLY_MAX
            || ctl_decode_reply(buf, (size_t)n, address, sizeof address, text, REPLY_MAX) < 0)
            status = cli_fail(1, "ctl: engine %d sent a reply that is not one", pid);
        else
            status = print_reply(address, text);
    }
    if (status < 0)
        status = cli_fail(1, "ctl: out of memory");
    free(buf);
    free(text);
    return status;
}

int ctl_command_run(const struct ctl_command *c)
{
    /* The message first: a typo is reported without an engine. */
    struct ctl_arg *args = calloc((size_t)c->nargs + 1, sizeof *args);
    if (!args)
        return cli_fail(1, "ctl: out of memory");
    for (int i = 0; i < c->nargs; i++)
        args[i] = typed(c->args[i]);
    unsigned char packet[CTL_PACKET_MAX];
    size_t len = 0;
    int rc = ctl_encode(c->address, args, c->nargs, packet, sizeof packet, &len);
    free(args);
    if (rc == SHX_EUSAGE)
        return cli_fail(2, "ctl: the address must start with '/', got \"%.100s\"", c->address);
    if (rc == SHX_EFULL)
        return cli_fail(2, "ctl: the message is longer than %d bytes", CTL_PACKET_MAX);
    if (rc < 0)
        return cli_fail(1, "ctl: %s", shx_strerror(rc));

    char dir[CTLDIR_PATH_MAX], err[512];
    if ((rc = ctldir_open(0, dir, sizeof dir, err, sizeof err)) < 0)
        return cli_fail(2, "ctl: %s", err);
    char engine[CTLDIR_PATH_MAX], own[CTLDIR_PATH_MAX + 32];
    int pid = 0, status = find_engine(c->pid, dir, engine, sizeof engine, &pid);
    if (status)
        return status;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind_own(fd, dir, own, sizeof own) < 0) {
        status = cli_fail(1, "ctl: cannot make a socket in %s: %s", dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return status;
    }
    /* A full queue at the engine (it is not reading) must not hang us. */
    struct timeval tv = {.tv_sec = (time_t)(CONTROL_REPLY_NS / NS_PER_S)};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, engine, strlen(engine) + 1);
    if (sendto(fd, packet, len, MSG_NOSIGNAL, (const struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        if (e == ECONNREFUSED || e == ENOENT)
            status = cli_fail(2, "ctl: engine %d has ended", pid);
        else if (e == EAGAIN || e == EWOULDBLOCK)
            status = cli_fail(1, "ctl: engine %d is not reading its messages", pid);
        else
            status = cli_fail(1, "ctl: cannot send to engine %d: %s", pid, strerror(e));
    } else {
        status = await_reply(fd, engine, pid, c->stop);
    }
    close(fd);
    unlink(own);
    return status;
}
