"""Shared by the fault scripts: when to misbehave.

params: after  blocks to process normally first (default 20)
        once   a file path: misbehave only if it does not exist (it is
               created first), so a restarted worker behaves
"""
import os

count = 0


def due(params):
    """True on the block where the script should misbehave."""
    global count
    count += 1
    if count != int(params.get("after", 20)):
        return False
    marker = params.get("once")
    if marker:
        if os.path.exists(marker):
            return False
        open(marker, "w").close()
    return True
