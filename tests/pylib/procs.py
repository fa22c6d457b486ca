"""What /proc says of a process, for the integration tests that check no
process of a run outlives it. Every function answers for a process that is
gone (False, "" or no pids) instead of raising."""
import os


def proc_alive(pid):
    """True when pid runs and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def proc_env_has(pid, needle):
    """True when the environment of pid holds the entry needle (bytes, NAME=value)."""
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            return needle in f.read().split(b"\0")
    except OSError:
        return False


def proc_comm(pid):
    """The command name of pid; "" when it is gone."""
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def processes_with(needle):
    """The live pids, this one aside, whose environment holds needle."""
    me = os.getpid()
    return [int(n) for n in os.listdir("/proc")
            if n.isdigit() and int(n) != me and proc_alive(int(n)) and proc_env_has(int(n), needle)]
