/* session.h - the session file: YAML in, a validated read-only description out.
 *
 * Main thread only. The session is loaded once, before any thread starts;
 * track threads receive copies of the values they need, never a pointer
 * into this structure. See docs/session-format.md for the format. */
#ifndef SHX_SESSION_H
#define SHX_SESSION_H

#include <stddef.h>

enum on_fault { ON_FAULT_BYPASS = 0, ON_FAULT_MUTE = 1 };

/* Where a value was written, for messages: 1-based line and column. */
/* script_block's upper end, in frames: 340 ms at 48 kHz. Longer calls
 * would need a render-ahead (and param latency) of more than that. */
#define SCRIPT_BLOCK_MAX 16384

struct session_pos {
    int line, col;
};

struct session_track {
    char name[64];
    char *file;              /* path to open (resolved against the session folder) */
    char *file_arg;          /* as written in the session */
    struct session_pos file_pos;
    char *script;            /* resolved absolute path, or NULL */
    char *script_arg;        /* as written */
    struct session_pos script_pos;
    char *params_json;       /* params as a JSON object ("{}" when none) */
    double gain_db;          /* dB, -120..24 */
    double pan;              /* -1..1 */
    double offset;           /* seconds on the timeline */
    int mute, solo;
    enum on_fault on_fault;
};

/* python: what every worker of the session gets before any script loads
 * (docs/scripting.md). Folders are absolute and were found to exist. */
struct session_python {
    char **path;             /* folders for sys.path, in order; npath of them */
    int npath;
    char *site;              /* the venv's site-packages folder, or NULL */
    char **preload;          /* module names, imported once in the zygote */
    struct session_pos *preload_pos;
    int npreload;
    struct session_pos pos;  /* the python: mapping itself */
};

struct session {
    char *path;              /* as given on the command line */
    char *dir;               /* folder that relative paths start from */
    int sample_rate;         /* Hz; 0 when the file does not say */
    int block_size;          /* frames, 16..8192 */
    int script_block;        /* frames per process() call, 0: block_size (a multiple
                                of the engine's block, checked by engine_create) */
    struct session_pos script_block_pos;
    int channels;            /* 1 or 2 */
    double master_gain_db;
    int has_loop;
    double loop_start, loop_end;  /* seconds */
    int max_restarts;
    double window;           /* seconds */
    double hang_timeout;     /* seconds */
    int worker_memory_mb;
    int ntracks;
    struct session_track *tracks;
    struct session_python python;   /* all empty without python: */
    int has_events;          /* an events: key (events_file.h reads it) */
    int in_memory;           /* built by session_one_track: no file, no FILE:LINE:COL */
};

/* What session_one_track builds a session from (shmix fx). */
struct session_one {
    const char *file;        /* the sound file, as given */
    const char *script;      /* the script, as given (relative to the working folder) */
    const char *const *params;   /* "KEY=VALUE" texts, KEY not empty; VALUE a YAML scalar */
    int nparams;
    int channels;            /* 1 or 2: the file's own */
};

/* Main. Reads and validates the session at path. On error fills err with
 * "FILE:LINE:COL: key.path: message" (no "shmix: " prefix).
 * Errors: SHX_EIO (cannot read the file), SHX_ESESSION, SHX_ENOMEM. */
int session_load(const char *path, struct session **out, char *err, size_t cap);

/* Main. A one-track session without a session file: o->file through
 * o->script, every other key at its default (the sample rate is the
 * file's), the track named after the file's stem, params from the
 * KEY=VALUE texts, each VALUE resolved as a params value in a session
 * file is (`3` an int, `.5` a float, `~` null, `'007'` a string; the last
 * of a repeated KEY wins). Errors, with "PLACE: message" in err: SHX_EIO
 * (the script cannot be opened), SHX_EUSAGE (a VALUE that is not one YAML
 * scalar, or params too large), SHX_ENOMEM. */
int session_one_track(const struct session_one *o, struct session **out, char *err,
                      size_t cap);

/* Main. session_destroy(NULL) is a no-op. */
void session_destroy(struct session *s);

/* Main. Formats "FILE:LINE:COL: what" for a problem found after loading
 * (a missing audio file, a script that fails setup). */
void session_error_at(const struct session *s, struct session_pos pos,
                      char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Main. A problem with track i's file (script 0) or script (script 1)
 * found after loading, with why as the reason: "FILE:LINE:COL:
 * tracks[i].file: \"ARG\" why" or "FILE:LINE:COL: tracks[i].script: why";
 * for a session built in memory, which has no place to point at, "ARG:
 * why", or why alone when it starts with the script's name already (a
 * worker's "x.py:12: ValueError: ..."). */
void session_track_error(const struct session *s, int i, int script, const char *why,
                         char *err, size_t cap);
/* Main. Formats what a worker said when a python.preload module failed to
 * import ("cannot import NAME: ...") at that module's place in the session:
 * "FILE:LINE:COL: python.preload[i]: cannot import NAME: ...". */
void session_python_error(const struct session *s, const char *what, char *err, size_t cap);

/* Main. The worker's LOAD request for track index as JSON text:
 * {"script", "track", "sample_rate", "block_size", "channels", "realtime",
 * "params"}, with the run's rate and block size (--block overrides the
 * session's: a script's ctx.block_size is the frames it is called with);
 * realtime: the run has deadlines (play), so the worker settles its memory
 * at load (pyhost_load).
 * Errors: SHX_EUSAGE (no script), SHX_EFULL (does not fit cap), SHX_ENOMEM. */
int session_script_request(const struct session *s, int index, int sample_rate,
                           int block_size, int realtime, char *buf, size_t cap);

#endif
