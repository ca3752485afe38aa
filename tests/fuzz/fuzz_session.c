/* fuzz_session.c - libFuzzer target: YAML bytes into the session loader.
 *
 * Whatever the bytes, session_load either returns a session that the rest
 * of the engine may rely on (every invariant checked below) or a one-line
 * error naming the file, and it never crashes or leaks (AddressSanitizer
 * and LeakSanitizer run with it). The bytes are handed over as a file, the
 * way shmix reads a session: a memfd, opened by path. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "errors.h"
#include "session.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_session: invariant broken: %s\n", what);
        abort();
    }
}

static int valid_utf8(const char *s)
{
    size_t n = strlen(s), k;
    for (size_t i = 0; i < n; i += k)
        if ((k = utf8_seq((const unsigned char *)s + i, n - i)) == 0)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("session.yaml", MFD_CLOEXEC);
        check(fd >= 0, "memfd_create");
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    check(ftruncate(fd, 0) == 0, "ftruncate");
    check(pwrite(fd, data, size, 0) == (ssize_t)size, "pwrite");

    struct session *s = NULL;
    char err[1024] = "";
    int rc = session_load(path, &s, err, sizeof err);
    if (rc != SHX_OK) {
        check(s == NULL, "no session on error");
        check(rc == SHX_ESESSION || rc == SHX_EIO || rc == SHX_ENOMEM, "error code");
        check(err[0] != '\0', "an error message");
        check(strchr(err, '\n') == NULL, "one line");
        check(strncmp(err, path, strlen(path)) == 0, "the message names the file");
        return 0;
    }
    check(s != NULL, "a session");
    check(s->block_size >= 16 && s->block_size <= 8192, "block_size");
    check(s->channels == 1 || s->channels == 2, "channels");
    check(s->sample_rate >= 0, "sample_rate");
    check(s->ntracks >= 1 && s->tracks != NULL, "tracks");
    check(s->hang_timeout > 0.0, "hang_timeout");
    check(!s->has_loop || s->loop_end > s->loop_start, "loop region");
    for (int i = 0; i < s->ntracks; i++) {
        const struct session_track *t = &s->tracks[i];
        check(t->name[0] != '\0' && memchr(t->name, '\0', sizeof t->name), "track name");
        check(t->file != NULL && t->file_arg != NULL, "track file");
        /* A name cut from a long file name is cut between characters. */
        check(!valid_utf8(t->file_arg) || valid_utf8(t->name), "name is UTF-8");
        check(t->params_json != NULL && t->params_json[0] == '{', "params");
        check(t->gain_db >= -120.0 && t->gain_db <= 24.0, "gain_db");
        check(t->pan >= -1.0 && t->pan <= 1.0, "pan");
        for (int j = 0; j < i; j++)
            check(strcmp(t->name, s->tracks[j].name) != 0, "unique names");
        if (t->script) {
            char req[16384];
            int r = session_script_request(s, i, 48000, s->block_size, 1, req, sizeof req);
            check(r == SHX_OK || r == SHX_EFULL, "script request");
            check(r != SHX_OK || valid_utf8(req), "the request is UTF-8");
        }
    }
    /* python: what goes on every worker's command line. */
    const struct session_python *py = &s->python;
    check(py->npath >= 0 && py->npath <= 64 && py->npreload >= 0 && py->npreload <= 64,
          "python lists");
    for (int i = 0; i < py->npath; i++)
        check(py->path[i] && py->path[i][0] == '/', "python.path absolute");
    check(!py->site || py->site[0] == '/', "python.venv absolute");
    for (int i = 0; i < py->npreload; i++)
        check(py->preload[i] && py->preload[i][0] && py->preload[i][0] != '-'
              && py->preload_pos[i].line >= 1, "python.preload names");
    session_destroy(s);
    return 0;
}
