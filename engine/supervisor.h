/* supervisor.h - restarts crashed and hung workers, reloads changed scripts.
 *
 * DESIGN. One non-real-time thread per engine run (render or play). It
 * learns of a worker's death at once (a pidfd per worker, in one poll()),
 * reaps it and says why ("segfault in drums (scripts/drive.py), restart
 * 2/5"), then takes the track's channel from the track thread (see
 * worker.h), starts a new worker from the zygote, loads the script and
 * hands the channel back. Restart intensity follows the session's
 * supervisor block, as OTP supervisors do: more than max_restarts within
 * window seconds and the track is `failed` until its script file changes.
 * Script files are watched (inotify on their folders); a change reloads the
 * script in the live worker, or starts a fresh one for a failed track. Only
 * this thread spawns workers once it runs (it must outlive them:
 * PR_SET_PDEATHSIG follows the spawning thread). */
#ifndef SHX_SUPERVISOR_H
#define SHX_SUPERVISOR_H

#include <stdint.h>

struct track;
struct zygote;
struct supervisor;

struct supervisor_policy {
    int max_restarts;
    double window;           /* seconds */
};

/* Main. Errors: SHX_ENOMEM, SHX_ESYS. */
int supervisor_create(struct track **tracks, int n, struct zygote *z,
                      const struct supervisor_policy *p, struct supervisor **out);
/* Main. Starts watching (after the first workers were started). Tracks whose
 * worker already died while starting are restarted per the policy.
 * Errors: SHX_ESYS. */
int supervisor_start(struct supervisor *s);
/* Any thread. Asks for the track's worker to be restarted (a user action). */
void supervisor_restart(struct supervisor *s, int track);
/* Any thread. Asks for the track's script to be reloaded, as when its
 * file changes (a user action). */
void supervisor_reload(struct supervisor *s, int track);
/* Main. Stops the thread; call before ending the workers. NULL is a no-op. */
void supervisor_destroy(struct supervisor *s);

#endif
