/* npseed.h - a new worker's own numpy random state, drawn without Python.
 *
 * DESIGN. numpy's global random state (np.random.random() and the rest of
 * the legacy API) is seeded once, when the zygote imports numpy, and numpy
 * does not reseed in a forked child: every worker cloned from one zygote
 * would draw the same numbers unless each draws a state of its own.
 * Through Python (np.random.seed) that cost a clone ~80 copy-on-write
 * faults and ~4 ms of CPU on a VM whose page faults are slow - a fifth of
 * a worker's start - for a call that only writes 2.5 KiB: numpy's code
 * and objects are touched for the first time in the new process. Here the
 * zygote finds the state's memory once, through the bit generator's
 * capsule (numpy's C interface for bit generators), and checks there that
 * it holds what numpy reports as the state; a clone then fills it from the
 * kernel with one system call (the first word's top bit set, as numpy's
 * seeding sets it, so never the all-zero state; the position at the end
 * of the block, so the first draw generates a fresh one from it). A numpy
 * whose state is laid out otherwise fails the check, and the caller
 * reseeds through Python - as it does when the kernel gives no bytes. */
#ifndef SHX_NPSEED_H
#define SHX_NPSEED_H

/* Zygote, after importing numpy, before its first clone (Python running,
 * GIL held). Returns 1 when npseed_draw can reseed without Python, else 0
 * (no Python error left set). */
int npseed_prepare(void);

/* Clone, at once after the fork (single-threaded). Gives the process a
 * state of its own from the kernel's random source. Returns 0, or -1 when
 * npseed_prepare did not succeed or getrandom failed (the state may then
 * be half written): the caller reseeds through Python, which sets all of
 * it. */
int npseed_draw(void);

#endif
