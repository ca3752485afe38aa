/* worker.c - shmix-worker: one Python script host per scripted track.
 *
 * DESIGN. Started only by the engine, as
 *     shmix-worker --fd N --parent PID [--memory-mb MB]
 * with the track's channel inherited as descriptor N. It contains itself
 * (address-space limit, no core dumps, dies with its parent), starts
 * Python, then serves requests in a loop: wait -> LOAD/PROCESS/QUIT ->
 * reply. The wait is timed so the parent is re-checked every second even
 * if PR_SET_PDEATHSIG was somehow missed. Single-threaded. */
#include "pyhost.h"
#include "../ipc/channel.h"
#include "../ipc/errors.h"
#include "../ipc/platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void usage_exit(void)
{
    fprintf(stderr, "shmix-worker: started by shmix only "
                    "(--fd N --parent PID [--memory-mb MB])\n");
    exit(2);
}

static void contain(long memory_mb)
{
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    if (memory_mb > 0) {
        struct rlimit as = {(rlim_t)memory_mb << 20, (rlim_t)memory_mb << 20};
        setrlimit(RLIMIT_AS, &as);
    }
    /* numpy's BLAS would otherwise start a thread per core in every worker. */
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    setenv("OMP_NUM_THREADS", "1", 1);
    setenv("MKL_NUM_THREADS", "1", 1);
    /* The engine may use stdout for stats; a stray write from C code in a
     * script's extension goes to stderr instead. Python's print() is sent
     * to the engine as log messages by pyhost. */
    dup2(STDERR_FILENO, STDOUT_FILENO);
}

static int serve(struct chan *ch, struct pyhost *py, pid_t parent)
{
    for (;;) {
        struct chan_request req;
        int rc = chan_wait_request(ch, plat_now_ns() + 1000000000u, &req);
        if (rc == SHX_ETIMEOUT) {
            if (!plat_parent_alive(parent))
                return 1;
            continue;
        }
        uint64_t woke = plat_now_ns();
        uint64_t cpu0 = plat_thread_cpu_ns();
        uint32_t st;
        switch (req.cmd) {
        case CHAN_CMD_LOAD:
            st = pyhost_load(py, req.ctl);
            break;
        case CHAN_CMD_PROCESS:
            st = pyhost_process(py);
            break;
        case CHAN_CMD_QUIT:
            chan_reply(ch, req.seq, CHAN_ST_OK, 0, woke);
            return 0;
        default:
            st = CHAN_ST_NOSCRIPT;
            break;
        }
        chan_reply(ch, req.seq, st, plat_thread_cpu_ns() - cpu0, woke);
        pyhost_idle(py);
    }
}

int main(int argc, char **argv)
{
    int fd = -1;
    long parent = -1, memory_mb = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--fd"))
            fd = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--parent"))
            parent = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--memory-mb"))
            memory_mb = atol(argv[i + 1]);
        else
            usage_exit();
    }
    if (fd < 0 || parent <= 0 || argc % 2 != 1)
        usage_exit();
    if (plat_die_with_parent((pid_t)parent) != SHX_OK)
        return 1;
    contain(memory_mb);
    plat_thread_name("shmix-worker");

    struct chan *ch;
    int rc = chan_attach(fd, &ch);
    if (rc < 0) {
        fprintf(stderr, "shmix-worker: descriptor %d: %s\n", fd, shx_strerror(rc));
        return 1;
    }
    struct pyhost *py;
    char err[256];
    if (pyhost_create(ch, &py, err, sizeof err) < 0) {
        chan_post_msg(ch, CHAN_MSG_ERROR, err, strlen(err));
        fprintf(stderr, "shmix-worker: %s\n", err);
        return 1;
    }
    int status = serve(ch, py, (pid_t)parent);
    /* Skip Py_Finalize on the way out: it can run arbitrary script code
     * (atexit, __del__) and the engine may already be waiting to reap us. */
    fflush(stderr);
    _exit(status);
}
