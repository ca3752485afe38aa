/* platform_linux.c - the Linux implementation of platform.h: memfd, futex,
 * prctl(PR_SET_PDEATHSIG), pidfd, mlock. */
#include "platform.h"
#include "errors.h"
#include "units.h"
#include "utf8.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/wait.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int plat_shm_create(const char *debug_name, size_t bytes, int *fd, void **addr)
{
    int f = memfd_create(debug_name, MFD_CLOEXEC);
    if (f < 0)
        return SHX_ESYS;
    if (ftruncate(f, (off_t)bytes) != 0) {
        close(f);
        return SHX_ESYS;
    }
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
    if (p == MAP_FAILED) {
        close(f);
        return SHX_ESYS;
    }
    *fd = f;
    *addr = p;
    return SHX_OK;
}

int plat_shm_map(int fd, size_t min_bytes, size_t *bytes, void **addr)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return SHX_ESYS;
    if (st.st_size < 0 || (size_t)st.st_size < min_bytes)
        return SHX_EFORMAT;
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
                   MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return SHX_ESYS;
    *bytes = (size_t)st.st_size;
    *addr = p;
    return SHX_OK;
}

int plat_shm_publish(const char *name, size_t bytes, void **addr, int *owner)
{
    char path[128];
    snprintf(path, sizeof path, "/%s", name);
    shm_unlink(path);   /* a stale one from an engine that was killed */
    int fd = shm_open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return SHX_ESYS;
    /* The lock is taken blocking: a reader probing it holds it for a moment
     * at most. The object is reserved, not just sized: a sparse one on a
     * full tmpfs would map fine and then SIGBUS at the first write. */
    void *p = MAP_FAILED;
    if (flock(fd, LOCK_EX) == 0 && posix_fallocate(fd, 0, (off_t)bytes) == 0)
        p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        close(fd);
        shm_unlink(path);
        return SHX_ESYS;
    }
    *addr = p;
    *owner = fd;
    return SHX_OK;
}

int plat_shm_peek(const char *name, size_t min_bytes, size_t *bytes, const void **addr)
{
    char path[128];
    snprintf(path, sizeof path, "/%s", name);
    int fd = shm_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return SHX_ESYS;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_uid != getuid() || (size_t)st.st_size < min_bytes) {
        close(fd);
        return SHX_EFORMAT;
    }
    /* Taking the lock succeeds only when no publisher holds it: the name
     * outlived its process. Closing the descriptor drops our probe. */
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
        close(fd);
        return SHX_EEMPTY;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return SHX_ESYS;
    *bytes = (size_t)st.st_size;
    *addr = p;
    return SHX_OK;
}

void plat_shm_unpublish(const char *name, int owner)
{
    char path[128];
    snprintf(path, sizeof path, "/%s", name);
    shm_unlink(path);
    if (owner >= 0)
        close(owner);
}

void plat_shm_list(const char *prefix, void (*fn)(void *ctx, const char *name), void *ctx)
{
    DIR *d = opendir("/dev/shm");
    struct dirent *e;
    size_t n = strlen(prefix);
    while (d && (e = readdir(d)) != NULL)
        if (!strncmp(e->d_name, prefix, n))
            fn(ctx, e->d_name);
    if (d)
        closedir(d);
}

void plat_shm_unmap(void *addr, size_t bytes)
{
    if (addr)
        munmap(addr, bytes);
}

int plat_msg_pair(int sv[2])
{
    return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0 ? SHX_OK : SHX_ESYS;
}

/* The ancillary room for one descriptor, aligned as cmsghdr wants. */
union fd_room {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
};

int plat_msg_send(int sock, const void *buf, size_t n, int fd)
{
    struct iovec iov = {(void *)buf, n};
    union fd_room room;
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        memset(&room, 0, sizeof room);
        m.msg_control = room.buf;
        m.msg_controllen = sizeof room.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    ssize_t r;
    while ((r = sendmsg(sock, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    if (r == (ssize_t)n)
        return SHX_OK;
    return r < 0 && (errno == EPIPE || errno == ECONNRESET) ? SHX_EDEAD : SHX_ESYS;
}

int plat_msg_recv(int sock, void *buf, size_t n, int *fd)
{
    struct iovec iov = {buf, n};
    union fd_room room;
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = room.buf,
                       .msg_controllen = sizeof room.buf};
    *fd = -1;
    ssize_t r;
    while ((r = recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
        ;
    if (r < 0)
        return errno == ECONNRESET ? SHX_EDEAD : SHX_ESYS;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        /* Every descriptor that came is ours to close: one is expected. */
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int got;
            memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof got);
            if (*fd < 0)
                *fd = got;
            else
                close(got);
        }
    }
    if (r == 0 && *fd < 0)
        return SHX_EDEAD;   /* (no descriptor comes with an end of file) */
    /* A request the kernel delivered without its descriptor (MSG_CTRUNC:
     * none free here, or a security module refused it) is still a whole
     * request: it goes to the caller with *fd -1, to be answered. */
    if (r == 0 || (size_t)r != n || (m.msg_flags & MSG_TRUNC)) {
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        return SHX_EBADMSG;
    }
    return SHX_OK;
}

int plat_mlock(void *addr, size_t bytes)
{
    return mlock(addr, bytes) == 0 ? SHX_OK : SHX_ESYS;
}

int plat_wait(uint32_t *word, uint32_t expected, uint64_t deadline_ns)
{
    struct timespec ts, *tp = NULL;
    if (deadline_ns) {
        ts = plat_timespec(deadline_ns);
        tp = &ts;
    }
    /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so a
     * spurious wake-up never stretches the total wait. Not FUTEX_PRIVATE:
     * the word is shared with another process. */
    long r = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, expected, tp, NULL,
                     FUTEX_BITSET_MATCH_ANY);
    if (r == -1 && errno == ETIMEDOUT)
        return SHX_ETIMEOUT;
    return SHX_OK; /* woken, EAGAIN (value changed) or EINTR: re-check */
}

void plat_wake(uint32_t *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

struct timespec plat_timespec(uint64_t ns)
{
    return (struct timespec){(time_t)(ns / NS_PER_S), (long)(ns % NS_PER_S)};
}

static uint64_t ns_of(const struct timespec *ts)
{
    return (uint64_t)ts->tv_sec * NS_PER_S + (uint64_t)ts->tv_nsec;
}

uint64_t plat_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ns_of(&ts);
}

uint64_t plat_thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ns_of(&ts);
}

void plat_touch_pages(void *addr, size_t bytes)
{
    long pg = sysconf(_SC_PAGESIZE);
    size_t page = pg > 0 ? (size_t)pg : 4096u;
    /* The whole pages of the range are populated in one system call first
     * (Linux 5.14 and later; an older kernel says EINVAL and the loop does
     * it all): a fault per page costs 10-15 us on a VM with shadow page
     * tables, populating ~5 us (docs/performance.md, "Start-up: populating
     * the rings and channels"). The loop still writes every page, so that
     * this process's own first access is behind it too, whatever the
     * hypervisor builds lazily. */
    uintptr_t lo = ((uintptr_t)addr + page - 1) / page * page;
    uintptr_t hi = ((uintptr_t)addr + bytes) / page * page;
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
    volatile unsigned char *p = addr;
    for (size_t off = 0; off < bytes; off += page)
        p[off] = p[off];
    if (bytes)   /* the last page, when the range does not start on one */
        p[bytes - 1] = p[bytes - 1];
}

/* The first line of /proc/PID/NAME into text; its length, or -1. */
static ssize_t read_proc(pid_t pid, const char *name, char *text, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/%s", (long)pid, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, text, cap - 1);
    close(fd);
    if (n <= 0)
        return -1;
    text[n] = '\0';
    return n;
}

int plat_process_sched(pid_t pid, uint64_t *ran_ns, int *runnable)
{
    char text[512];
    unsigned long long ran;
    if (read_proc(pid, "schedstat", text, sizeof text) < 0 || sscanf(text, "%llu", &ran) != 1)
        return SHX_ESYS;
    /* "PID (COMM) S ...": the name may hold spaces and parentheses, the
     * state follows the last ')'. */
    char *close_paren;
    if (read_proc(pid, "stat", text, sizeof text) < 0 || !(close_paren = strrchr(text, ')'))
        || close_paren[1] != ' ')
        return SHX_ESYS;
    *ran_ns = ran;
    *runnable = close_paren[2] == 'R';
    return SHX_OK;
}

void plat_sleep_ns(uint64_t ns)
{
    struct timespec until = plat_timespec(plat_now_ns() + ns);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
        ;
}

int plat_die_with_parent(pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        return SHX_ESYS;
    return plat_parent_alive(parent) ? SHX_OK : SHX_EDEAD;
}

/* A pidfd of the engine, where the process watches it that way (a worker
 * in a PID namespace of its own cannot see its parent's pid). */
static int parent_pidfd = -1;

int plat_watch_parent(pid_t parent)
{
#ifdef SYS_pidfd_open
    parent_pidfd = (int)syscall(SYS_pidfd_open, parent, 0);
#endif
    return parent_pidfd >= 0 && plat_parent_alive(parent) ? SHX_OK : SHX_ESYS;
}

int plat_parent_alive(pid_t parent)
{
    if (parent_pidfd >= 0) {
        /* Readable once the process has ended; polling, unlike
         * pidfd_send_signal, works from a descendant PID namespace. */
        struct pollfd p = {parent_pidfd, POLLIN, 0};
        return poll(&p, 1, 0) == 0;
    }
    return getppid() == parent;
}

int plat_pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0)
        return fd;
#endif
    (void)pid;
    return SHX_ESYS;
}

int plat_cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? n : 1;
}

/* The index-th CPU of those we may use. */
static int nth_cpu(int index)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return -1;
    int n = CPU_COUNT(&set);
    if (n <= 0)
        return -1;
    index %= n;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set) && index-- == 0)
            return c;
    return -1;
}

/* pid 0 with thread: the calling thread; else the process pid. */
static int pin(pid_t pid, int thread, int cpu)
{
    int c = nth_cpu(cpu);
    if (c < 0)
        return SHX_ESYS;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(c, &one);
    int rc = thread ? pthread_setaffinity_np(pthread_self(), sizeof one, &one)
                    : sched_setaffinity(pid, sizeof one, &one);
    return rc == 0 ? SHX_OK : SHX_ESYS;
}

int plat_pin_thread(int cpu) { return pin(0, 1, cpu); }
int plat_pin_process(pid_t pid, int cpu) { return pin(pid, 0, cpu); }

int plat_thread_start(pthread_t *th, void *(*fn)(void *), void *arg)
{
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 256 * 1024);
    int rc = pthread_create(th, &at, fn, arg);
    pthread_attr_destroy(&at);
    return rc == 0 ? SHX_OK : SHX_ESYS;
}

int plat_realtime_thread(int prio)
{
    struct sched_param sp = {.sched_priority = prio};
    return pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0 ? SHX_OK : SHX_ESYS;
}

/* The kernel's struct sched_attr (include/uapi/linux/sched/types.h), whose
 * header clashes with glibc's <sched.h>, and which glibc before 2.41 has no
 * wrapper for: the first 48 bytes, the size the kernel takes since 3.14. */
struct deadline_attr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
};
#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif

int plat_deadline_thread(uint64_t runtime_ns, uint64_t period_ns)
{
#ifdef SYS_sched_setattr
    struct deadline_attr at;
    memset(&at, 0, sizeof at);
    at.size = sizeof at;
    at.sched_policy = SCHED_DEADLINE;
    at.sched_runtime = runtime_ns;
    at.sched_deadline = period_ns;
    at.sched_period = period_ns;
    return syscall(SYS_sched_setattr, 0, &at, 0) == 0 ? SHX_OK : SHX_ESYS;
#else
    (void)runtime_ns;
    (void)period_ns;
    return SHX_ESYS;
#endif
}

int plat_guard_realtime(pid_t pid, uint64_t soft_us, uint64_t hard_us)
{
    /* A hard limit the engine set cannot be raised by the process without
     * CAP_SYS_RESOURCE. */
    struct rlimit rl;
    if (prlimit(pid, RLIMIT_RTTIME, NULL, &rl) != 0)
        return SHX_ESYS;
    if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)hard_us)
        rl.rlim_max = (rlim_t)hard_us;
    rl.rlim_cur = (rlim_t)soft_us < rl.rlim_max ? (rlim_t)soft_us : rl.rlim_max;
    return prlimit(pid, RLIMIT_RTTIME, &rl, NULL) == 0 ? SHX_OK : SHX_ESYS;
}

int plat_realtime_process(pid_t pid, int prio, uint64_t soft_us, uint64_t hard_us)
{
    /* The limit first: the process must never run real-time unguarded. */
    if (plat_guard_realtime(pid, soft_us, hard_us) != SHX_OK)
        return SHX_ESYS;
    struct sched_param sp = {.sched_priority = prio};
    return sched_setscheduler(pid, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) == 0 ? SHX_OK
                                                                               : SHX_ESYS;
}

int plat_ensure_files(long need, long *limit)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return SHX_ESYS;
    if (rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < need) {
        rlim_t want = (rlim_t)need;
        rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    *limit = rl.rlim_cur == RLIM_INFINITY ? LONG_MAX : (long)rl.rlim_cur;
    return *limit >= need ? SHX_OK : SHX_ESYS;
}

int plat_ensure_tasks(long need, long *limit)
{
    /* The kernel lets the root user (and CAP_SYS_RESOURCE or CAP_SYS_ADMIN,
     * which may also raise the hard limit below) start tasks past it. */
    *limit = LONG_MAX;
    if (getuid() == 0)
        return SHX_OK;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NPROC, &rl) != 0)
        return SHX_ESYS;
    if (rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < need) {
        struct rlimit up = {(rlim_t)need, rl.rlim_max};
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < up.rlim_cur)
            up.rlim_max = up.rlim_cur;   /* allowed with CAP_SYS_RESOURCE only */
        if (setrlimit(RLIMIT_NPROC, &up) != 0 && rl.rlim_max != RLIM_INFINITY) {
            rl.rlim_cur = rl.rlim_max;   /* as far as an unprivileged process may */
            setrlimit(RLIMIT_NPROC, &rl);
        }
        getrlimit(RLIMIT_NPROC, &rl);
    }
    *limit = rl.rlim_cur == RLIM_INFINITY ? LONG_MAX : (long)rl.rlim_cur;
    return *limit >= need ? SHX_OK : SHX_ESYS;
}

int plat_nice_process(pid_t pid, int nice)
{
    return setpriority(PRIO_PROCESS, (id_t)pid, nice) == 0 ? SHX_OK : SHX_ESYS;
}

int plat_lock_memory(void)
{
    return mlockall(MCL_CURRENT | MCL_FUTURE) == 0 ? SHX_OK : SHX_ESYS;
}

int plat_watch_open(void)
{
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    return fd >= 0 ? fd : SHX_ESYS;
}

int plat_watch_add(int fd, const char *dir)
{
    /* Editors either rewrite a file in place (close-after-write) or write a
     * new one and rename it over the old (moved-to). */
    int wd = inotify_add_watch(fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO);
    return wd >= 0 ? wd : SHX_ESYS;
}

void plat_watch_read(int fd, void (*fn)(void *ctx, int watch, const char *name), void *ctx)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            if (ev->len > 0)
                fn(ctx, ev->wd, ev->name);
            p += sizeof *ev + ev->len;
        }
    }
}

void plat_thread_name(const char *name)
{
    char buf[16];   /* the kernel's TASK_COMM_LEN */
    utf8_copy(buf, sizeof buf, name);
    pthread_setname_np(pthread_self(), buf);
}

int plat_no_dump(void)
{
    return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 ? SHX_OK : SHX_ESYS;
}

void plat_confine_worker(int rtprio_max)
{
    plat_no_dump();
    struct rlimit rp = {(rlim_t)rtprio_max, (rlim_t)rtprio_max};
    setrlimit(RLIMIT_RTPRIO, &rp);   /* while CAP_SYS_RESOURCE may still raise it */
    /* Where the limit could not be set (root in a container without
     * CAP_SYS_RESOURCE), CAP_SYS_NICE is what lets the worker step back up
     * to real time: it alone is kept. It cannot lift the hard
     * RLIMIT_RTTIME, which is what bounds a runaway worker. */
    int keep = getrlimit(RLIMIT_RTPRIO, &rp) != 0 || rp.rlim_cur < (rlim_t)rtprio_max
               ? CAP_SYS_NICE : -1;
    for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
        if (cap != keep)
            prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct caps[2];
    memset(caps, 0, sizeof caps);
    if (keep >= 0)
        caps[keep / 32].effective = caps[keep / 32].permitted = 1u << (keep % 32);
    if (syscall(SYS_capset, &hdr, caps) != 0 && keep >= 0) {
        memset(caps, 0, sizeof caps);   /* CAP_SYS_NICE was not ours: drop all */
        syscall(SYS_capset, &hdr, caps);
    }
}
