/* fx.c - the one-track session of shmix fx; see fx.h. */
#include "fx.h"
#include "errors.h"
#include "session.h"
#include "source.h"

#include <stdio.h>

int fx_session(const struct fx_options *o, struct session **out, char *err, size_t cap)
{
    /* The file is opened once here to learn its channel count, which the
     * session needs before the engine opens it again (as engine.c does to
     * learn the rate); 48000 is only what the probe converts to. */
    struct source *src = NULL;
    char why[256];
    int rc = source_open(o->in, 48000, 2, &src, why, sizeof why);
    if (rc < 0) {
        snprintf(err, cap, "%s: %s", o->in, why);
        return rc;
    }
    struct session_one one = {.file = o->in, .script = o->script, .params = o->params,
                              .nparams = o->nparams, .channels = source_file_channels(src)};
    source_destroy(src);
    return session_one_track(&one, out, err, cap);
}
