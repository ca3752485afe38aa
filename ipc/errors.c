/* errors.c - the messages of the SHX_ERRORS table. */
#include "errors.h"

static const char *const messages[] = {
#define X(name, msg) msg,
    SHX_ERRORS(X)
#undef X
};

const char *shx_strerror(int rc)
{
    int i = -rc;
    if (i < 0 || i >= SHX_ERR_COUNT)
        return "unknown error";
    return messages[i];
}
