"""Starts `sleep 600` in setup(), detached into a session of its own (as a
daemon would), and appends its pid to params['pidfile']: the test checks
that it does not outlive the worker. It also starts a thread (a script in
a contained worker must still be able to). With params['crash_after']
blocks, the worker then crashes (a restart)."""
import os
import subprocess
import sys
import threading

count = 0
params = {}


def setup(ctx):
    global params
    params = ctx.params
    ran = []
    t = threading.Thread(target=lambda: ran.append(1))
    t.start()
    t.join()
    if not ran:
        raise RuntimeError("the thread did not run")
    # The child notes its own pid as the test sees it (in the worker's PID
    # namespace child.pid is another number; the system's /proc knows the
    # one outside), then becomes `sleep 600`.
    note = ("import os, sys\n"
            "with open(sys.argv[1], 'a') as f:\n"
            "    f.write(os.readlink('/proc/self') + '\\n')\n"
            "os.execvp('sleep', ['sleep', '600'])\n")
    subprocess.Popen([sys.executable, "-c", note, params["pidfile"]], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)


def process(block):
    global count
    count += 1
    if count == int(params.get("crash_after", 0)):
        os._exit(3)
