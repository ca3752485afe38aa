/* platform.h - every OS-specific call shmix makes, behind one small interface.
 *
 * Linux is implemented in platform_linux.c. A macOS or Windows port is a new
 * platform_<os>.c with the same functions (shared memory from shm_open or
 * CreateFileMapping, waits from os_sync_wait_on_address or WaitOnAddress);
 * nothing else in the tree calls these OS facilities directly. */
#ifndef SHX_PLATFORM_H
#define SHX_PLATFORM_H

#include <stdint.h>
#include <stddef.h>
#include <pthread.h>
#include <sys/types.h>
#include <time.h>

/* Any thread, set-up only. Creates an anonymous shared memory object of
 * `bytes` bytes (Linux: memfd, close-on-exec, no name in /dev/shm) and maps
 * it read-write. On success *fd and *addr are set. Errors: SHX_ESYS. */
int plat_shm_create(const char *debug_name, size_t bytes, int *fd, void **addr);

/* Main, set-up only. Creates a named shared memory object readable and
 * writable by this user only (mode 0600; Linux: /dev/shm/NAME), replacing
 * a stale one, and maps it read-write. *owner is held open with an
 * exclusive lock on it (Linux: flock) until plat_shm_unpublish: the lock is
 * how readers tell a live publisher from a name left by a killed process
 * whose pid has since been reused, and the kernel drops it however the
 * process ends. Errors: SHX_ESYS. */
int plat_shm_publish(const char *name, size_t bytes, void **addr, int *owner);
/* Any thread. Maps a named object read-only (another process's) if its
 * publisher is alive. Errors: SHX_ESYS (none, or not ours), SHX_EEMPTY
 * (left behind by a process that has ended), SHX_EFORMAT (smaller than
 * min_bytes). */
int plat_shm_peek(const char *name, size_t min_bytes, size_t *bytes, const void **addr);
/* Main. Removes the name (the mapping stays valid) and, when owner >= 0,
 * closes the descriptor plat_shm_publish kept (dropping its lock). Also
 * used on another process's stale name, with owner -1. */
void plat_shm_unpublish(const char *name, int owner);
/* Any thread. Calls fn(ctx, name) for each named object whose name starts
 * with prefix. */
void plat_shm_list(const char *prefix, void (*fn)(void *ctx, const char *name), void *ctx);

/* Any thread, set-up only. Maps an inherited shared memory descriptor.
 * Errors: SHX_ESYS (fd not mappable), SHX_EFORMAT (size smaller than min). */
int plat_shm_map(int fd, size_t min_bytes, size_t *bytes, void **addr);

/* Any thread. Unmaps what plat_shm_create/plat_shm_map mapped. */
void plat_shm_unmap(void *addr, size_t bytes);

/* Main, set-up only. A pair of connected local sockets that keep message
 * boundaries and carry descriptors (Linux: AF_UNIX SOCK_SEQPACKET,
 * close-on-exec). Errors: SHX_ESYS. */
int plat_msg_pair(int sv[2]);
/* Main. Sends one message of n bytes on such a socket and, when fd >= 0,
 * a duplicate of descriptor fd with it (never SIGPIPE). Errors: SHX_EDEAD
 * (the other end is closed), SHX_ESYS. */
int plat_msg_send(int sock, const void *buf, size_t n, int fd);
/* Main. Receives one message of exactly n bytes and the descriptor sent
 * with it (*fd: close-on-exec; -1 when none came, or when the kernel could
 * not deliver it). Returns SHX_OK, SHX_EDEAD when the other end is closed,
 * SHX_EBADMSG for a message of another size, an empty one included (any
 * descriptor with it is closed), SHX_ESYS. */
int plat_msg_recv(int sock, void *buf, size_t n, int *fd);

/* Any thread, set-up only. Locks the pages into RAM when RLIMIT_MEMLOCK
 * allows; returns 0 on success, SHX_ESYS when not permitted (not fatal). */
int plat_mlock(void *addr, size_t bytes);

/* Real-time safe. Waits while *word == expected, until woken or until the
 * absolute CLOCK_MONOTONIC time deadline_ns (0 = forever). The word may live
 * in memory shared between processes. Returns 0 when woken or when the value
 * already differs (callers re-check the word), SHX_ETIMEOUT at the deadline. */
int plat_wait(uint32_t *word, uint32_t expected, uint64_t deadline_ns);

/* Real-time safe (one non-blocking system call). Wakes every waiter on word. */
void plat_wake(uint32_t *word);

/* Not real-time. Populates the pages of [addr, addr + bytes) and writes
 * each back with the value it holds, so that the first write of a page in
 * the audio path does not pay for a page fault (or, on some VMs, an exit
 * to the hypervisor, even for pages mlock already made resident). Only for
 * memory nobody else writes at the same time. */
void plat_touch_pages(void *addr, size_t bytes);

/* Real-time safe. CLOCK_MONOTONIC in nanoseconds. */
uint64_t plat_now_ns(void);

/* Real-time safe. CPU time consumed by the calling thread, in nanoseconds. */
uint64_t plat_thread_cpu_ns(void);

/* Not real-time (it reads procfs). How long the main thread of process pid
 * has run on a CPU since it started, in nanoseconds (Linux:
 * /proc/PID/schedstat; it may lag a running thread by a scheduler tick),
 * and whether it is runnable now - running or waiting for a CPU, rather
 * than asleep, blocked or stopped (the state in /proc/PID/stat). SHX_ESYS
 * when they cannot be read (the process is gone, no procfs). */
int plat_process_sched(pid_t pid, uint64_t *ran_ns, int *runnable);

/* Not real-time (it sleeps). Sleeps ns nanoseconds on CLOCK_MONOTONIC
 * (the whole time, across signals). */
void plat_sleep_ns(uint64_t ns);

/* Real-time safe. CLOCK_MONOTONIC nanoseconds as a timespec (for absolute
 * waits). */
struct timespec plat_timespec(uint64_t ns);

/* Engine, at start. Makes the process non-dumpable: its /proc/PID/fd and
 * /proc/PID/mem (the tracks' channels, every buffer) are then closed to
 * other processes of the same user that lack CAP_SYS_PTRACE - the workers
 * above all. Returns 0 or SHX_ESYS. */
int plat_no_dump(void);

/* Worker (and zygote), at start, before any script runs. Makes the process
 * non-dumpable (plat_no_dump), allows it SCHED_FIFO up to rtprio_max on its
 * own (RLIMIT_RTPRIO: stepping back up after SIGXCPU), then gives up every
 * capability for good (bounding set, effective, permitted, inheritable;
 * no_new_privs) - but CAP_SYS_NICE where RLIMIT_RTPRIO could not be set -
 * so that a script run by root cannot reach the engine's or another
 * worker's memory through /proc, nor raise the limits the engine sets on it
 * (RLIMIT_RTTIME, RLIMIT_AS). Best effort for each step (an unprivileged
 * process has no capabilities to drop). */
void plat_confine_worker(int rtprio_max);

/* Worker, at start. Arranges for the calling process to get SIGKILL when its
 * parent dies, then checks the parent is still `parent` (closing the race
 * where it died first). Returns 0, or SHX_EDEAD if the parent is gone. */
int plat_die_with_parent(pid_t parent);

/* Any thread. True while process `parent` is still our parent. */
int plat_parent_alive(pid_t parent);
/* Zygote, at start. From now on plat_parent_alive asks a pidfd of parent
 * (inherited by clones), which works from inside a PID namespace, where
 * getppid() is 0. Returns 0, or SHX_ESYS (then getppid() is used). */
int plat_watch_parent(pid_t parent);

/* Any thread. Opens a descriptor that becomes readable when process pid
 * exits (Linux: pidfd). Returns the descriptor or SHX_ESYS. */
int plat_pidfd_open(pid_t pid);

/* Any thread. Number of CPUs this process may run on (>= 1). */
int plat_cpu_count(void);
/* Any thread, set-up only. Restricts the calling thread, or process pid
 * (all of its threads' future children too), to one CPU. Best effort:
 * returns 0 or SHX_ESYS. */
int plat_pin_thread(int cpu);
int plat_pin_process(pid_t pid, int cpu);

/* Any thread, set-up only. Starts a thread with a small stack (256 KiB):
 * with all memory locked for playback, every thread's whole stack is
 * resident, and the default 8 MiB each adds up. Returns 0 or SHX_ESYS. */
int plat_thread_start(pthread_t *th, void *(*fn)(void *), void *arg);

/* Any thread, set-up only. Switches the calling thread to SCHED_FIFO at
 * priority prio. Returns 0, or SHX_ESYS when not permitted (RLIMIT_RTPRIO). */
int plat_realtime_thread(int prio);
/* Any thread, set-up only. Makes the calling thread a SCHED_DEADLINE
 * reservation: up to runtime_ns of CPU in every period_ns, due by the end
 * of each period. Above every SCHED_FIFO thread, and, unlike them, not
 * stopped by the kernel's fair server (Linux 6.12 and later), which runs
 * starved time-shared tasks for up to 50 ms a second ahead of all of
 * SCHED_FIFO.
 * Returns 0, or SHX_ESYS when refused: without CAP_SYS_NICE, with an
 * affinity narrower than the machine, or when the kernel's deadline
 * bandwidth is taken. */
int plat_deadline_thread(uint64_t runtime_ns, uint64_t period_ns);
/* Main or supervisor. Makes process pid (single-threaded) SCHED_FIFO at
 * priority prio, with RLIMIT_RTTIME soft_us / hard_us: a real-time task
 * that runs soft_us without blocking gets SIGXCPU (the worker then steps
 * down to time-sharing itself); one that runs hard_us - because it ignored
 * or blocked SIGXCPU - gets SIGKILL from the kernel, which nothing in the
 * process can stop. Children it forks start time-shared
 * (SCHED_RESET_ON_FORK). Returns 0, or SHX_ESYS when not permitted. */
int plat_realtime_process(pid_t pid, int prio, uint64_t soft_us, uint64_t hard_us);
/* Only the RLIMIT_RTTIME part of plat_realtime_process: the guard for a
 * process that may make itself real-time (a worker may, up to its
 * RLIMIT_RTPRIO) before, or without, the engine making it so. Returns 0,
 * or SHX_ESYS. */
int plat_guard_realtime(pid_t pid, uint64_t soft_us, uint64_t hard_us);
/* Main or supervisor. Raises process pid's CPU share (nice value, -20..19).
 * Returns 0, or SHX_ESYS when not permitted (RLIMIT_NICE). */
int plat_nice_process(pid_t pid, int nice);
/* Main, set-up only. Makes room for `need` open descriptors, raising the
 * soft RLIMIT_NOFILE toward the hard one when it is lower. Returns 0, or
 * SHX_ESYS with *limit set to the most the process may have. */
int plat_ensure_files(long need, long *limit);
/* Main, set-up only. The same for processes and threads (RLIMIT_NPROC,
 * which counts every process and thread of the user): makes room for
 * `need`, raising the soft limit toward the hard one. Returns 0 - also when
 * the kernel does not hold the process to the limit (root) - or SHX_ESYS
 * with *limit set to the most the user may have. */
int plat_ensure_tasks(long need, long *limit);
/* Main, set-up only. Locks all current and future pages of the process into
 * RAM. Returns 0, or SHX_ESYS when not permitted (RLIMIT_MEMLOCK). */
int plat_lock_memory(void);

/* Supervisor. Watching folders for changed files (Linux: inotify). The
 * descriptor is non-blocking and polls readable when something changed. */
int plat_watch_open(void);
/* Supervisor. Watches folder dir; returns a watch number >= 0 or SHX_ESYS. */
int plat_watch_add(int fd, const char *dir);
/* Supervisor. Calls fn(ctx, watch, name) for each file written or moved
 * into a watched folder since the last call. */
void plat_watch_read(int fd, void (*fn)(void *ctx, int watch, const char *name), void *ctx);

/* Any thread, set-up only. Names the calling thread for top/gdb. */
void plat_thread_name(const char *name);

#endif
