/* harness.h - helpers for integration tests that run the real binaries:
 * a scratch folder, sound files in and out, and running a command with its
 * output captured. */
#ifndef SHX_HARNESS_H
#define SHX_HARNESS_H

#include <stddef.h>
#include <stdint.h>

/* Creates a fresh scratch folder; returns its path (static). */
const char *h_tmpdir(void);
/* Removes the scratch folder. */
void h_cleanup(void);
/* "<tmpdir>/<name>" in a static rotating buffer. */
const char *h_path(const char *name);
/* Writes text to <tmpdir>/<name>. */
void h_write(const char *name, const char *text);
/* Writes a float WAV (16-bit FLAC when name ends in .flac): sample(frame,
 * channel) gives each value. */
void h_write_wav(const char *name, int rate, int channels, int64_t frames,
                 double (*sample)(int64_t frame, int channel));
/* Reads any sound file into a malloc'ed float array; sets frames, channels. */
float *h_read(const char *path, int64_t *frames, int *channels, int *rate);
/* Runs argv (argv[0] a path), stdin from /dev/null; captures stdout and
 * stderr into the buffers (NUL-terminated, may be NULL). Returns the exit
 * status, or 128 + signal. Kills it after timeout_s seconds. */
int h_run(const char *const argv[], char *out, size_t ocap, char *err, size_t ecap,
          int timeout_s);
/* Runs argv like h_run with stdout and stderr on a new pseudo-terminal of
 * cols x rows (isatty is true, TIOCGWINSZ says that size) and captures
 * every byte written to it, escape codes and all, into out (NUL-terminated;
 * what does not fit is dropped). Returns the exit status, or 128 + signal. */
int h_run_pty(const char *const argv[], int cols, int rows, char *out, size_t ocap,
              int timeout_s);
/* Reads a whole text file (malloc'ed), NULL if missing. */
char *h_slurp(const char *path);
/* True when the file exists. */
int h_exists(const char *path);

/* ---- what several test files share ---- */
/* The plain test tone, the same on every channel: 0.25 * sin(0.05 i), about
 * 382 Hz at 48 kHz (a sample function for h_write_wav). */
double h_tone(int64_t i, int c);
/* Writes a sound file like h_write_wav: sines of amplitude amp, 220 Hz on
 * channel 0 and 330 Hz on channel 1 (a mono file is the 220 Hz one); sample
 * i of channel c is amp * sin(2 pi f_c i / rate). */
void h_write_sines(const char *name, int rate, int channels, int64_t frames, double amp);
/* cmocka setup and teardown that only make and remove the scratch folder. */
int h_setup_tmpdir(void **state);
int h_teardown_tmpdir(void **state);
/* Fails unless text (a captured stderr) is exactly one line equal to want;
 * strips that line's newline in place. */
void h_assert_one_line(char *text, const char *want);

/* A command started in the background. */
struct h_proc {
    int pid;
    char out_file[600], err_file[600];
};
/* Starts argv like h_run but returns at once. */
void h_start(const char *const argv[], struct h_proc *p);
/* Waits up to timeout_s for it (then SIGKILL and fail); returns the exit
 * status or 128 + signal; fills out/err like h_run and *maxrss_kb (may be
 * NULL) with the peak resident set size. */
int h_finish(struct h_proc *p, char *out, size_t ocap, char *err, size_t ecap, int timeout_s,
             long *maxrss_kb);
/* Kills (SIGKILL) and reaps every process h_start started that nobody has
 * h_finish'ed: a test that fails half-way must not leave an engine playing
 * into the next test (its CPU load and its meters would fail that one too).
 * Returns how many there were. */
int h_kill_strays(void);
/* Marks a process h_start started as the group's fixture (Xvfb, jackd),
 * which outlives each test: h_kill_strays leaves it alone. */
void h_fixture(int pid);
/* A cmocka teardown that calls h_kill_strays; H_TEST(f) is a test with it. */
int h_test_teardown(void **state);
#define H_TEST(f) cmocka_unit_test_teardown(f, h_test_teardown)
/* True while process pid exists (and is not a zombie). */
int h_alive(int pid);
/* Seconds on CLOCK_MONOTONIC. */
double h_now(void);
/* Sleeps s seconds. */
void h_sleep(double s);
/* Deterministic white noise in -0.3..0.3 (a sample function for h_write_wav). */
double h_noise(int64_t i, int c);
/* ---- stats lines (the contract's JSON), read with cJSON ---- */
/* Each reader takes s, one JSON object: a stats line (trailing whitespace
 * allowed, nothing else after it) or a track from h_track/h_track_at, and
 * fails the test when s is not one or the key is missing. Strings they
 * return stay valid until 16 more have been returned. */
/* The number under key (fails when it is null or not a number). */
double h_num(const char *s, const char *key);
/* The string under key (fails when it is null or not a string). */
const char *h_str(const char *s, const char *key);
/* True when key's value is null. */
int h_is_null(const char *s, const char *key);
/* Track `name` of a stats line: its object re-printed as compact JSON (fails
 * when there is no such track). */
const char *h_track(const char *line, const char *name);
/* How many tracks a stats line lists; the i-th of them (0-based, in order)
 * like h_track; where track `name` is in the list. */
int h_ntracks(const char *line);
const char *h_track_at(const char *line, int i);
int h_track_index(const char *line, const char *name);
/* Reads a stats file another process may still be writing: its complete
 * lines only (malloc'ed; a line cut short at the end is left out), NULL if
 * missing. */
char *h_slurp_lines(const char *path);
/* How many late (and so faulted) blocks a track that nothing was done to
 * may show in a --null play whose final stats line is `last` (the process
 * of the last h_start/h_run): 0 - unless the machine itself stalled during
 * the run, which the null device's clock thread (real-time) sees too
 * and counts as xruns, or which the stall watch (stall.h: a thread above
 * shmix on every CPU) saw on any CPU; then up to 64 per xrun or stall,
 * whichever counted more (a 0.3 s freeze of this VM at 256 frames).
 * Isolation is about one track's worker hurting another, not about the VM
 * stopping a CPU. */
int h_late_allowed(const char *last);
/* Whether the play whose final stats line is `last` had every block in
 * time: no track late, no null-device xrun, and (unless faulted_ok, for a
 * script that fails on purpose) no faulted block. A play compared sample
 * for sample with a render needs it: a late script block plays per
 * on_fault, so its recording then rightly differs - a timing event on a
 * busy VM or under ASan, not wrong samples. Such a test plays again
 * (three plays at most) while this says no. */
int h_played_clean(const char *last, int faulted_ok);
/* Stalls of a CPU that the stall watch saw since the last h_start/h_run
 * began (stall.h): what may explain null-device xruns in that run. */
int h_stalls(void);
/* Time the VM's host took from this machine (the steal column of
 * /proc/stat): mark, run, then ask for the percentage of all CPU time
 * since the mark that was stolen. When the host is busy it takes a fifth
 * of this VM while both vCPUs work, and every clock a meter reads (thread
 * CPU time included) runs on through it: meter tests widen their margin
 * by what was stolen, and say so. */
struct h_steal { unsigned long long total, steal; };
void h_steal_mark(struct h_steal *m);
double h_steal_pct(const struct h_steal *m);
/* Splits text into lines in place; returns how many (at most max). */
int h_lines(char *text, char **v, int max);

#endif
