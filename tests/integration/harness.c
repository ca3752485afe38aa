/* harness.c - see harness.h. */
#include "harness.h"
#include "stall.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include <cJSON.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sndfile.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
static char dir[128];

const char *h_tmpdir(void)
{
    snprintf(dir, sizeof dir, "/tmp/shmix-it-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
}

void h_cleanup(void)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (dir[0] && system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

const char *h_path(const char *name)
{
    static char bufs[8][512];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, 512, "%s/%s", dir, name);
    return b;
}

void h_write(const char *name, const char *text)
{
    const char *p = h_path(name);
    char folder[512];
    snprintf(folder, sizeof folder, "%s", p);
    char *slash = strrchr(folder, '/');
    *slash = '\0';
    mkdir(folder, 0755);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A sample function with an argument: h_write_wav's, or a sines'. */
struct signal {
    double (*plain)(int64_t frame, int channel);
    double amp;
};

static double signal_at(const struct signal *g, int64_t i, int c, int rate)
{
    if (g->plain)
        return g->plain(i, c);
    return g->amp * sin(2 * M_PI * (c ? 330 : 220) * (double)i / rate);
}

static void write_sound(const char *name, int rate, int channels, int64_t frames,
                        const struct signal *g)
{
    size_t n = strlen(name);
    int flac = n > 5 && !strcmp(name + n - 5, ".flac");
    SF_INFO info = {.samplerate = rate, .channels = channels,
                    .format = flac ? SF_FORMAT_FLAC | SF_FORMAT_PCM_16
                                   : SF_FORMAT_WAV | SF_FORMAT_FLOAT};
    SNDFILE *sf = sf_open(h_path(name), SFM_WRITE, &info);
    assert_non_null(sf);
    float *buf = malloc(sizeof(float) * (size_t)(frames * channels));
    for (int64_t i = 0; i < frames; i++)
        for (int c = 0; c < channels; c++)
            buf[i * channels + c] = (float)signal_at(g, i, c, rate);
    assert_int_equal(sf_writef_float(sf, buf, frames), frames);
    sf_close(sf);
    free(buf);
}

void h_write_wav(const char *name, int rate, int channels, int64_t frames,
                 double (*sample)(int64_t frame, int channel))
{
    struct signal g = {.plain = sample};
    write_sound(name, rate, channels, frames, &g);
}

void h_write_sines(const char *name, int rate, int channels, int64_t frames, double amp)
{
    struct signal g = {.amp = amp};
    write_sound(name, rate, channels, frames, &g);
}

double h_tone(int64_t i, int c)
{
    (void)c;
    return 0.25 * sin((double)i * 0.05);
}

int h_setup_tmpdir(void **state)
{
    (void)state;
    h_tmpdir();
    return 0;
}

int h_teardown_tmpdir(void **state)
{
    (void)state;
    h_cleanup();
    return 0;
}

void h_assert_one_line(char *text, const char *want)
{
    size_t n = strlen(text);
    if (n == 0 || text[n - 1] != '\n' || strchr(text, '\n') != text + n - 1)
        fail_msg("stderr is not one line:\n%s", text);
    text[n - 1] = '\0';
    if (strcmp(text, want))
        fail_msg("stderr\n  \"%s\"\nwanted\n  \"%s\"", text, want);
}

float *h_read(const char *path, int64_t *frames, int *channels, int *rate)
{
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf)
        fail_msg("cannot read %s: %s", path, sf_strerror(NULL));
    float *buf = malloc(sizeof(float) * (size_t)(info.frames * info.channels + 1));
    assert_int_equal(sf_readf_float(sf, buf, info.frames), info.frames);
    sf_close(sf);
    *frames = info.frames;
    *channels = info.channels;
    if (rate)
        *rate = info.samplerate;
    return buf;
}

char *h_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

int h_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void copy_out(const char *file, char *buf, size_t cap)
{
    if (!buf || !cap)
        return;
    char *s = h_slurp(file);
    snprintf(buf, cap, "%s", s ? s : "");
    free(s);
    unlink(file);
}

/* Started and not yet reaped: our own children, so no pid here can have
 * been reused by another process. */
static int started[256];
static int nstarted;

static void forget(int pid)
{
    for (int i = 0; i < nstarted; i++)
        if (started[i] == pid) {
            started[i] = started[--nstarted];
            return;
        }
}

void h_fixture(int pid)
{
    forget(pid);
}

int h_kill_strays(void)
{
    int n = nstarted;
    for (int i = 0; i < nstarted; i++) {
        kill(started[i], SIGKILL);
        waitpid(started[i], NULL, 0);
    }
    nstarted = 0;
    return n;
}

int h_test_teardown(void **state)
{
    (void)state;
    int n = h_kill_strays();
    if (n)
        fprintf(stderr, "harness: killed %d process(es) the test left running\n", n);
    return 0;
}

static double last_start;   /* h_now() at the last h_start */

void h_start(const char *const argv[], struct h_proc *p)
{
    static int serial;
    stall_watch_start();
    last_start = h_now();
    snprintf(p->out_file, sizeof p->out_file, "%s/.stdout%d", dir, serial);
    snprintf(p->err_file, sizeof p->err_file, "%s/.stderr%d", dir, serial++);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, p->out_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, p->err_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(rc, 0);
    p->pid = pid;
    if (nstarted < (int)(sizeof started / sizeof started[0]))
        started[nstarted++] = pid;
}

int h_finish(struct h_proc *p, char *out, size_t ocap, char *err, size_t ecap, int timeout_s,
             long *maxrss_kb)
{
    int status = 0;
    struct rusage ru;
    for (int ms = 0;; ms += 5) {
        pid_t r = wait4(p->pid, &status, WNOHANG, &ru);
        if (r == p->pid) {
            forget(p->pid);
            break;
        }
        if (ms > timeout_s * 1000) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            forget(p->pid);
            copy_out(p->err_file, err, ecap);
            fail_msg("process %d timed out after %d s", p->pid, timeout_s);
        }
        struct timespec t = {0, 5000000};
        nanosleep(&t, NULL);
    }
    if (maxrss_kb)
        *maxrss_kb = ru.ru_maxrss;
    copy_out(p->out_file, out, ocap);
    copy_out(p->err_file, err, ecap);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int h_alive(int pid)
{
    char path[64], s[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");   /* /proc files have no size: read, don't seek */
    if (!f)
        return 0;
    size_t n = fread(s, 1, sizeof s - 1, f);
    fclose(f);
    s[n] = '\0';
    char *paren = strrchr(s, ')');
    return !(paren && paren[1] == ' ' && paren[2] == 'Z');
}

double h_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void h_sleep(double s)
{
    struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&t, NULL);
}

double h_noise(int64_t i, int c)
{
    uint32_t x = (uint32_t)(i * 2654435761u + (uint32_t)c * 40503u);
    x ^= x >> 13;
    x *= 0x5bd1e995u;
    x ^= x >> 15;
    return ((double)(x & 0xffff) / 65535.0 - 0.5) * 0.6;
}

int h_run(const char *const argv[], char *out, size_t ocap, char *err, size_t ecap,
          int timeout_s)
{
    struct h_proc p;
    h_start(argv, &p);
    return h_finish(&p, out, ocap, err, ecap, timeout_s, NULL);
}

/* Reads what is there on the terminal's master side into out (from *len;
 * the rest of a full buffer is read and dropped). Returns 0 once every
 * slave side is closed (EIO) - the program and its workers have exited. */
static int read_pty(int master, char *out, size_t cap, size_t *len, int wait_ms)
{
    struct pollfd pf = {master, POLLIN, 0};
    if (poll(&pf, 1, wait_ms) <= 0)
        return 1;
    char buf[4096];
    ssize_t n = read(master, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
        return 1;
    if (n <= 0)
        return 0;
    size_t take = *len + (size_t)n < cap ? (size_t)n : cap - 1 - *len;
    memcpy(out + *len, buf, take);
    *len += take;
    out[*len] = '\0';
    return 1;
}

int h_run_pty(const char *const argv[], int cols, int rows, char *out, size_t ocap,
              int timeout_s)
{
    int master, slave;
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    assert_int_equal(openpty(&master, &slave, NULL, NULL, &ws), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, slave, 1);
    posix_spawn_file_actions_adddup2(&fa, slave, 2);
    posix_spawn_file_actions_addclose(&fa, master);
    posix_spawn_file_actions_addclose(&fa, slave);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(slave);
    assert_int_equal(rc, 0);
    size_t len = 0;
    out[0] = '\0';
    int status = 0, exited = 0, live = 1;
    double t0 = h_now(), t_exit = 0;
    /* Until every writer has closed the terminal; a worker that outlives
     * the program by 5 s is not waited for. */
    while (live && h_now() - t0 < timeout_s && !(exited && h_now() - t_exit > 5)) {
        live = read_pty(master, out, ocap, &len, 50);
        if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
            exited = 1;
            t_exit = h_now();
        }
    }
    while (!exited && h_now() - t0 < timeout_s) {
        exited = waitpid(pid, &status, WNOHANG) == pid;
        if (!exited)
            h_sleep(0.01);
    }
    close(master);
    if (!exited) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("process %d timed out after %d s", pid, timeout_s);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- stats lines ---- */

/* Strings handed out, freed 16 results later. */
static char *kept[16];
static unsigned nkept;

static const char *keep(char *s)
{
    if (!s)
        fail_msg("out of memory");
    unsigned i = nkept++ % (sizeof kept / sizeof kept[0]);
    free(kept[i]);
    kept[i] = s;
    return s;
}

/* s as one JSON object; the caller cJSON_Deletes it. */
static cJSON *parse(const char *s)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithOpts(s, &end, 0);
    if (!j)
        fail_msg("not JSON (at \"%.40s\"): %s", cJSON_GetErrorPtr(), s);
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
        end++;
    if (*end) {
        cJSON_Delete(j);
        fail_msg("more than one JSON value (from \"%.40s\"): %s", end, s);
    }
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        fail_msg("not a JSON object: %s", s);
    }
    return j;
}

/* The value under key in the object j (fails, freeing j, when missing). */
static const cJSON *item(cJSON *j, const char *key, const char *s)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!v) {
        cJSON_Delete(j);
        fail_msg("no %s in %s", key, s);
    }
    return v;
}

double h_num(const char *s, const char *key)
{
    cJSON *j = parse(s);
    const cJSON *v = item(j, key, s);
    if (!cJSON_IsNumber(v)) {
        cJSON_Delete(j);
        fail_msg("%s is not a number in %s", key, s);
    }
    double d = v->valuedouble;
    cJSON_Delete(j);
    return d;
}

const char *h_str(const char *s, const char *key)
{
    cJSON *j = parse(s);
    const cJSON *v = item(j, key, s);
    if (!cJSON_IsString(v)) {
        cJSON_Delete(j);
        fail_msg("%s is not a string in %s", key, s);
    }
    char *copy = strdup(v->valuestring);
    cJSON_Delete(j);
    return keep(copy);
}

int h_is_null(const char *s, const char *key)
{
    cJSON *j = parse(s);
    int null = cJSON_IsNull(item(j, key, s));
    cJSON_Delete(j);
    return null;
}

/* The "tracks" array of the line j. */
static const cJSON *tracks_of(cJSON *j, const char *line)
{
    const cJSON *t = item(j, "tracks", line);
    if (!cJSON_IsArray(t)) {
        cJSON_Delete(j);
        fail_msg("tracks is not a list in %s", line);
    }
    return t;
}

int h_ntracks(const char *line)
{
    cJSON *j = parse(line);
    int n = cJSON_GetArraySize(tracks_of(j, line));
    cJSON_Delete(j);
    return n;
}

/* Where track `name` is in the line j, -1 when it is not. */
static int find_track(cJSON *j, const char *line, const char *name)
{
    const cJSON *t, *tracks = tracks_of(j, line);
    int i = 0;
    cJSON_ArrayForEach(t, tracks) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(t, "name");
        if (cJSON_IsString(n) && !strcmp(n->valuestring, name))
            return i;
        i++;
    }
    return -1;
}

int h_track_index(const char *line, const char *name)
{
    cJSON *j = parse(line);
    int i = find_track(j, line, name);
    cJSON_Delete(j);
    if (i < 0)
        fail_msg("no track %s in %s", name, line);
    return i;
}

const char *h_track_at(const char *line, int i)
{
    cJSON *j = parse(line);
    const cJSON *t = cJSON_GetArrayItem(tracks_of(j, line), i);
    if (!cJSON_IsObject(t)) {
        cJSON_Delete(j);
        fail_msg("no track %d in %s", i, line);
    }
    char *text = cJSON_PrintUnformatted(t);
    cJSON_Delete(j);
    return keep(text);
}

const char *h_track(const char *line, const char *name)
{
    return h_track_at(line, h_track_index(line, name));
}

char *h_slurp_lines(const char *path)
{
    char *s = h_slurp(path);
    if (s) {
        char *nl = strrchr(s, '\n');
        if (nl)
            nl[1] = '\0';
        else
            s[0] = '\0';
    }
    return s;
}

int h_stalls(void)
{
    double longest;
    return stall_count_since(last_start, &longest);
}

int h_late_allowed(const char *last)
{
    int xruns = (int)h_num(last, "xruns");
    double longest;
    int stalls = stall_count_since(last_start, &longest);
    int n = stalls > xruns ? stalls : xruns;
    if (n)
        fprintf(stderr, "harness: the machine stalled (%d null-device xruns, %d stalls of a "
                        "CPU of %.0f ms or more, the longest %.0f ms): healthy tracks may be up "
                        "to %d blocks late\n", xruns, stalls, STALL_NOTE_MS, longest, 64 * n);
    return 64 * n;
}

int h_played_clean(const char *last, int faulted_ok)
{
    int clean = h_num(last, "xruns") == 0;
    for (int i = 0; i < h_ntracks(last); i++) {
        const char *t = h_track_at(last, i);
        clean &= h_num(t, "late_blocks") == 0;
        clean &= faulted_ok || h_num(t, "faulted_blocks") == 0;
    }
    return clean;
}

int h_lines(char *text, char **v, int max)
{
    int n = 0;
    char *save;
    for (char *l = strtok_r(text, "\n", &save); l && n < max; l = strtok_r(NULL, "\n", &save))
        v[n++] = l;
    return n;
}

/* From the first line of /proc/stat: cpu user nice system idle iowait irq
 * softirq steal ... (in clock ticks). */
void h_steal_mark(struct h_steal *m)
{
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    if (!f || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                     &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
        memset(v, 0, sizeof v);
    if (f)
        fclose(f);
    m->total = 0;
    for (int i = 0; i < 8; i++)
        m->total += v[i];
    m->steal = v[7];
}

double h_steal_pct(const struct h_steal *m)
{
    struct h_steal now;
    h_steal_mark(&now);
    unsigned long long total = now.total - m->total;
    double pct = total ? 100.0 * (double)(now.steal - m->steal) / (double)total : 0;
    if (pct > 1)
        fprintf(stderr, "harness: the host took %.0f %% of this VM's CPU time meanwhile\n", pct);
    return pct;
}
