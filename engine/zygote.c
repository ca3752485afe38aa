/* zygote.c - the engine's side of the zygote; see zygote.h and
 * ipc/zygote_proto.h. */
#include "zygote.h"
#include "errors.h"
#include "platform.h"
#include "proc.h"
#include "tuning.h"
#include "utf8.h"
#include "zygote_proto.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define REPLY_TIMEOUT_MS 5000
#define HIGH_FD 256   /* parking place for descriptors while they are moved */

extern char **environ;

struct zygote {
    pid_t pid;
    int req;      /* the engine's end of the request socket */
    int reply;    /* read end of the reply pipe */
    int count;    /* channels */
    int ready;    /* its hello said so */
    uint32_t seq;       /* the last request's number */
    uint32_t *asked;    /* per channel: its request not collected yet, 0: none */
};

/* Spawns shmix-worker --zygote with the request socket's other end and the
 * reply pipe's write end at ZYG_REQ_FD and ZYG_REPLY_FD. Both are parked
 * above them first, so that no dup2 in the child lands on a descriptor
 * that is still to be moved. */
static int spawn(const char *wp, int rq, int rp, char *const *py_args, pid_t *pid, char *err,
                 size_t cap)
{
    int parked[2] = {fcntl(rq, F_DUPFD_CLOEXEC, HIGH_FD), fcntl(rp, F_DUPFD_CLOEXEC, HIGH_FD)};
    if (parked[0] < 0 || parked[1] < 0) {
        snprintf(err, cap, "zygote: %s", strerror(errno));
        for (int i = 0; i < 2; i++)
            if (parked[i] >= 0)
                close(parked[i]);
        return SHX_ESYS;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, parked[0], ZYG_REQ_FD);
    posix_spawn_file_actions_adddup2(&fa, parked[1], ZYG_REPLY_FD);
    posix_spawn_file_actions_addclosefrom_np(&fa, ZYG_REPLY_FD + 1);
    proc_spawn_attr(&at);
    char parg[24];
    snprintf(parg, sizeof parg, "%ld", (long)getpid());
    char *base[] = {(char *)"shmix-zygote", (char *)"--zygote", (char *)"1", (char *)"--parent",
                    parg, NULL};
    char **argv = proc_argv_join(base, py_args);
    int e = argv ? posix_spawn(pid, wp, &fa, &at, argv, environ) : ENOMEM;
    free(argv);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(parked[0]);
    close(parked[1]);
    if (e) {
        snprintf(err, cap, "cannot start %s: %s", wp, strerror(e));
        return SHX_ESYS;
    }
    return SHX_OK;
}

int zygote_start(int count, char *const *py_args, struct zygote **out, char *err, size_t cap)
{
    const char *wp = proc_worker_path();
    if (!wp) {
        snprintf(err, cap, "cannot find shmix-worker (set SHMIX_WORKER)");
        return SHX_ESYS;
    }
    struct zygote *z = calloc(1, sizeof *z);
    uint32_t *asked = calloc((size_t)count + 1, sizeof *asked);
    int rq[2] = {-1, -1}, rp[2] = {-1, -1};
    if (!z || !asked || plat_msg_pair(rq) < 0 || pipe2(rp, O_CLOEXEC)) {
        snprintf(err, cap, "zygote: %s", strerror(errno ? errno : ENOMEM));
        if (rq[0] >= 0) {
            close(rq[0]);
            close(rq[1]);
        }
        free(z);
        free(asked);
        return SHX_ESYS;
    }
    z->count = count;
    z->asked = asked;
    int rc = spawn(wp, rq[1], rp[1], py_args, &z->pid, err, cap);
    close(rq[1]);
    close(rp[1]);
    z->req = rq[0];
    z->reply = rp[0];
    if (rc < 0) {
        z->pid = 0;
        zygote_destroy(z);
        return rc;
    }
    *out = z;
    return SHX_OK;
}

/* Reads the zygote's hello (zygote_proto.h): Python started, numpy and the
 * preload modules imported. That takes from a tenth of a second to many (a
 * big preload on a busy machine), so the wait is as long as a worker's
 * start and looks at the stop flag every WORKER_POLL_NS. */
static int read_hello(struct zygote *z, volatile sig_atomic_t *stop, char *err, size_t cap)
{
    uint64_t deadline = plat_now_ns() + WORKER_START_NS;
    struct pollfd p = {z->reply, POLLIN, 0};
    for (;;) {
        if (stop && *stop)
            return SHX_ESTOPPED;
        int n = poll(&p, 1, (int)(WORKER_POLL_NS / NS_PER_MS));
        if (n > 0)
            break;
        if (n < 0 && errno != EINTR) {
            snprintf(err, cap, "zygote: poll: %s", strerror(errno));
            return SHX_ESYS;
        }
        if (plat_now_ns() >= deadline) {
            snprintf(err, cap, "zygote did not start in %d s",
                     (int)(WORKER_START_NS / NS_PER_S));
            return SHX_ETIMEOUT;
        }
    }
    /* One write of less than PIPE_BUF bytes: it arrives whole or not at all. */
    struct zyg_hello h;
    ssize_t r;
    while ((r = read(z->reply, &h, sizeof h)) < 0 && errno == EINTR)
        ;
    if (r != (ssize_t)sizeof h || h.magic != ZYG_MAGIC) {
        snprintf(err, cap, "zygote exited while starting");
        return SHX_ESYS;
    }
    h.text[sizeof h.text - 1] = '\0';
    if (h.status == ZYG_READY)
        return SHX_OK;
    if (h.status == ZYG_PRELOAD_FAILED) {
        snprintf(err, cap, "%s", h.text);
        return SHX_ESCRIPT;
    }
    snprintf(err, cap, "zygote: %s", h.text[0] ? h.text : "cannot start Python");
    return SHX_ESYS;
}

int zygote_await(struct zygote *z, volatile sig_atomic_t *stop, char *err, size_t cap)
{
    if (z->ready)
        return SHX_OK;
    int rc = read_hello(z, stop, err, cap);
    z->ready = rc == SHX_OK;
    return rc;
}

void zygote_ask_end(struct zygote *z)
{
    if (z && z->req >= 0) {
        close(z->req);     /* EOF: the zygote exits by itself */
        z->req = -1;
    }
}

void zygote_destroy(struct zygote *z)
{
    if (!z)
        return;
    zygote_ask_end(z);
    if (z->reply >= 0)
        close(z->reply);
    /* One still importing numpy would only notice the end after it: an
     * engine that stops early (a bad file, a signal) does not wait. */
    if (z->pid > 0 && !z->ready)
        proc_kill(z->pid);
    if (z->pid > 0)
        proc_reap(z->pid, WORKER_REAP_MS);
    free(z->asked);
    free(z);
}

int zygote_ask(struct zygote *z, int index, int chan_fd, int memory_mb, const char *name)
{
    if (++z->seq == 0)
        z->seq = 1;
    struct zyg_request rq = {ZYG_MAGIC, (uint32_t)index, memory_mb, z->seq, ""};
    utf8_copy(rq.name, sizeof rq.name, name);
    /* One message, with the channel: whole or not at all. */
    if (z->req < 0)
        return SHX_EDEAD;
    int rc = plat_msg_send(z->req, &rq, sizeof rq, chan_fd);
    if (rc < 0)
        return rc;   /* SHX_EDEAD: the zygote is gone; SHX_ESYS: errno says */
    if (index >= 0 && index < z->count)
        z->asked[index] = z->seq;
    return SHX_OK;
}

int zygote_spawn(struct zygote *z, int index, int chan_fd, int memory_mb, const char *name,
                 pid_t *pid, char *err, size_t cap)
{
    int mine = index >= 0 && index < z->count;
    /* Before its hello is read, a reply read here would be the hello's
     * first bytes: zygote_await comes first (engine_start_workers). */
    if (!z->ready) {
        snprintf(err, cap, "zygote is not ready");
        return SHX_EDEAD;
    }
    if (!(mine && z->asked[index])) {
        int rc = zygote_ask(z, index, chan_fd, memory_mb, name);
        if (rc < 0) {
            snprintf(err, cap, rc == SHX_EDEAD ? "zygote is gone" : "cannot ask the zygote: %s",
                     strerror(errno));
            return rc;
        }
    }
    uint32_t want = mine ? z->asked[index] : z->seq;
    struct zyg_reply rp;
    for (;;) {   /* the replies come in the order of the requests */
        struct pollfd p = {z->reply, POLLIN, 0};
        int n;
        while ((n = poll(&p, 1, REPLY_TIMEOUT_MS)) < 0 && errno == EINTR)
            ;
        if (n == 0) {
            /* The caller starts this worker cold: if the clone comes
             * after all, its reply no longer matches and it is killed. */
            if (mine)
                z->asked[index] = 0;
            snprintf(err, cap, "zygote did not answer");
            return SHX_ETIMEOUT;
        }
        if (read(z->reply, &rp, sizeof rp) != (ssize_t)sizeof rp || rp.magic != ZYG_MAGIC) {
            snprintf(err, cap, "zygote is gone");
            return SHX_EDEAD;
        }
        if (rp.seq == want && rp.index == (uint32_t)index)
            break;
        /* Not this request's: the late clone of one given up on, or one
         * asked ahead for a worker that was not started after all. Gone
         * before it can serve a channel another worker may serve; a later
         * start of its channel asks again. */
        if (rp.index < (uint32_t)z->count && z->asked[rp.index] == rp.seq)
            z->asked[rp.index] = 0;
        if (rp.pid > 0)
            proc_reap(rp.pid, 0);
    }
    if (mine)
        z->asked[index] = 0;
    if (rp.pid <= 0) {
        snprintf(err, cap, "zygote cannot fork: %s", strerror(-rp.pid));
        return SHX_ESYS;
    }
    *pid = rp.pid;
    return SHX_OK;
}

int zygote_reap(struct zygote *z)
{
    int st;
    if (!z || z->pid <= 0 || waitpid(z->pid, &st, WNOHANG) != z->pid)
        return 0;
    z->pid = 0;
    return 1;
}
