/* top.c - shmix top; see top.h. */
#include "top.h"
#include "errors.h"
#include "platform.h"
#include "snapshot.h"
#include "termview.h"
#include "units.h"

#include <stdio.h>

#define TOP_REFRESH_NS MS_NS(200)

int top_run(int pid, int once, volatile sig_atomic_t *stop, char *err, size_t cap)
{
    static struct snapshot snap;   /* main thread only; large */
    int rc = snapshot_peek(pid, &snap, err, cap);
    if (rc < 0)
        return rc;
    pid = snap.pid;
    while (!*stop) {
        termview_draw(stdout, &snap);
        if (once)
            break;
        plat_sleep_ns(TOP_REFRESH_NS);
        if (snapshot_peek(pid, &snap, err, cap) < 0)
            break;   /* the engine has ended */
    }
    termview_end(stdout);
    return SHX_OK;
}
