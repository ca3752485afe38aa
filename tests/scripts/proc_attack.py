"""Tries to reach every other shmix process's shared memory through /proc:
the engine's and the zygote's descriptors (every track's channel is a memfd
there), the other workers', and /proc/PID/mem. Whatever it can open
read-write it fills with NaN. It reports what it managed to open on its
first call ("proc_attack: opened N"), so the test can tell that the attack
ran and failed rather than never ran."""
import os, mmap
import numpy as np

opened = []
me = int(os.readlink('/proc/self'))   # os.getpid() is 1 in its own PID namespace

def attack():
    for pid in os.listdir('/proc'):
        if not pid.isdigit() or int(pid) == me:
            continue
        try:
            with open(f'/proc/{pid}/comm') as f:
                comm = f.read().strip()
        except OSError:
            continue
        if not comm.startswith('shmix'):
            continue
        try:
            fds = os.listdir(f'/proc/{pid}/fd')
        except OSError:
            fds = []
        for fd in fds:
            path = f'/proc/{pid}/fd/{fd}'
            try:
                if 'memfd' not in os.readlink(path):
                    continue
                fdw = os.open(path, os.O_RDWR)
            except OSError:
                continue
            size = os.fstat(fdw).st_size
            if size > 0:
                m = mmap.mmap(fdw, size)
                a = np.frombuffer(m, dtype=np.float32)
                a[4096:] = np.nan
                opened.append(path)
            os.close(fdw)
        try:
            fdm = os.open(f'/proc/{pid}/mem', os.O_RDWR)
            opened.append(f'/proc/{pid}/mem')
            os.close(fdm)
        except OSError:
            pass

def setup(ctx):
    attack()
    print("proc_attack: opened %d: %s" % (len(opened), " ".join(opened[:4])))

def process(block):
    attack()
