"""What the kernel says about a process: CPU time, resident memory, the fd limit.

Linux only (``/proc``). The load generator reads the *server's* figures around each
measured window, so the numbers cover exactly that window and nothing of the
client's own work.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

__all__ = ["cpu_seconds", "raise_nofile_limit", "rss_bytes"]

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of every thread of ``pid``, in seconds.

    From ``/proc/PID/stat`` fields 14 and 15 (``utime``, ``stime``, in clock ticks,
    usually 10 ms each: a window of a few seconds keeps the rounding under 1 %).
    """
    text = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) is in parentheses and may contain spaces: split
    # after its closing parenthesis. Field 3 is then at index 0, field 14 at 11.
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_SECOND


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` in bytes (``VmRSS`` of ``/proc/PID/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            value, unit = line.split()[1:3]
            if unit != "kB":
                raise ValueError(f"unexpected VmRSS unit {unit!r}")
            return int(value) * 1024
    raise ValueError(f"no VmRSS for process {pid} (a zombie?)")


def raise_nofile_limit(wanted: int = 65536) -> int:
    """Raise this process's soft ``RLIMIT_NOFILE`` towards ``wanted`` (at most the
    hard limit) so thousands of sockets fit; children inherit it. Returns the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target
