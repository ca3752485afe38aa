"""Defines no process(): the script can never run a block."""
gain = 0.5
