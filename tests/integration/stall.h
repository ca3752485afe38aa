/* stall.h - a watch on the machine itself for the integration tests: did
 * a CPU stop running while shmix played?
 *
 * One thread per CPU the tests may use, pinned to it, SCHED_FIFO above
 * every thread shmix runs (the null device's clock is 10, this is 50),
 * wakes every millisecond on an absolute schedule and notes each wake-up
 * that came STALL_NOTE_MS or more late. At that priority no thread of
 * shmix can hold it off: it is late when its CPU did not run at all - the
 * VM's host took the vCPU - when the kernel itself held it, or when the
 * kernel's real-time throttling (950 ms of real-time work in a second)
 * stopped every real-time thread there, which shmix's own load causes
 * only through a worker that escaped the real-time guard (the guard's
 * tests assert the kill itself, not the allowance). The null device's
 * clock sees such a stall only on the CPU it happens to run on: an
 * untouched track late with no xrun to explain it (a restart storm's play
 * case on this VM, once in several clean-clone runs) was most likely a
 * stall of the other CPU, which nothing could tell then. A shmix fault -
 * one worker holding another off - does not stop the watch, so it cannot
 * excuse one.
 *
 * Without the right to SCHED_FIFO the watch does not start (a time-shared
 * thread is late for reasons of its own) and reports no stall. */
#ifndef SHMIX_TEST_STALL_H
#define SHMIX_TEST_STALL_H

#define STALL_NOTE_MS 10.0

/* Starts the watch once per process; later calls do nothing. Returns 1
 * when it runs, 0 when it could not (no real-time rights). */
int stall_watch_start(void);

/* Stalls that began at or after t0 (h_now() seconds): how many, and the
 * longest in ms (0 when none). */
int stall_count_since(double t0, double *longest_ms);

#endif
