"""The peak memory of a whole bulk export, measured in a fresh process.

A fresh interpreter runs the export, so the caller's own memory never counts: Linux carries
a process's high-water mark over ``fork`` and ``exec``, and a test or benchmark process
holding its data set made every child's "peak" the size of its parent. The export's reading
process (ADBC, a child of the exporting one) is polled for its own high-water mark.
"""

from __future__ import annotations

import subprocess
import sys

__all__ = ["export_peak"]

_SCRIPT = """
import os, resource, sys, threading, time
import helios_persistence as hp
def hwm(pid):
    return int(open(f"/proc/{pid}/status").read().split("VmHWM:")[1].split()[0]) // 1024
children, done = {}, threading.Event()
def poll():
    while not done.is_set():
        try:
            for task in os.listdir("/proc/self/task"):
                for pid in open(f"/proc/self/task/{task}/children").read().split():
                    children[pid] = max(children.get(pid, 0), hwm(pid))
        except (OSError, IndexError):
            pass
        time.sleep(0.05)
threading.Thread(target=poll, daemon=True).start()
store = hp.open_store(sys.argv[1])
job = store.export(hp.TenantContext.for_tenant(sys.argv[3]), destination=sys.argv[2]).wait()
done.set()
assert job.status == "completed", job.error
try:
    peak = hwm("self")
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(sum(job.counts.values()), peak, max(children.values(), default=0))
"""


def export_peak(store_url: str, destination: str, tenant: str) -> tuple[int, int, int]:
    """Export ``tenant``'s resources of the store at ``store_url`` to ``destination`` in a
    fresh process: ``(resources exported, peak MB of the exporting process, peak MB of its
    reading process)`` (Linux: reads ``/proc``)."""
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, store_url, destination, tenant],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return int(out[0]), int(out[1]), int(out[2])
