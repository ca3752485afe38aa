/* zygote_proto.h - the engine <-> zygote spawn protocol.
 *
 * The zygote is a shmix-worker that has started Python and imported numpy
 * once and then makes workers by cloning itself (with CLONE_PARENT, so each
 * worker is the engine's own child: reaped, watched and killed like a cold
 * one). It reads spawn requests from a local socket, each request carrying
 * the channel its worker is to serve (SCM_RIGHTS), and answers on a pipe;
 * only the spawn path uses them, never audio. Because no channel has to
 * exist when it starts, the engine starts it first and opens the session's
 * files while it imports numpy.
 *
 * Once Python is up and the session's python: settings are applied (the
 * path, the venv, the preload modules imported), the zygote writes one
 * struct zyg_hello on the reply pipe and only then reads requests; after
 * a failed hello it exits. */
#ifndef SHX_ZYGOTE_PROTO_H
#define SHX_ZYGOTE_PROTO_H

#include <stdint.h>

#define ZYG_MAGIC 0x3147595au   /* "ZYG1" */
#define ZYG_REQ_FD 3            /* zygote reads requests here (a SOCK_SEQPACKET socket) */
#define ZYG_REPLY_FD 4          /* and answers here (a pipe) */

#define ZYG_NAME_BYTES 64       /* a track name, NUL-terminated */

#define ZYG_TEXT_BYTES 1024      /* a hello's reason, NUL-terminated */

enum zyg_status {
    ZYG_READY = 0,              /* serving requests */
    ZYG_NO_PYTHON = 1,          /* Python or numpy would not start */
    ZYG_PRELOAD_FAILED = 2,     /* text: "cannot import NAME: Exception: message" */
};

struct zyg_hello {
    uint32_t magic;
    uint32_t status;            /* enum zyg_status */
    char text[ZYG_TEXT_BYTES];  /* why, when not ready */
};

/* Sent with the channel's descriptor; the zygote closes its copy once
 * the clone has it. */
struct zyg_request {
    uint32_t magic;
    uint32_t index;             /* which channel: the engine's number, echoed */
    int32_t memory_mb;          /* the worker's address-space limit */
    uint32_t seq;               /* the engine's request number, echoed */
    char name[ZYG_NAME_BYTES];  /* the track it serves: its process title */
};

struct zyg_reply {
    uint32_t magic;
    uint32_t index;
    int32_t pid;                /* > 0, or -errno */
    uint32_t seq;               /* the request's */
};

#endif
