"""What a change-feed listener costs the Firestore emulator per write, by collection size.

Run with ``.venv/bin/python benchmarks/emulator_listeners.py`` (it starts its own
Firestore emulator on a free port). For each collection size it fills a
collection, opens one listener, writes new documents one by one and prints the
emulator's CPU time per write for two listeners:

* ``whole``: the whole collection, as the dev stack's trigger feeds
  (``shared/stores/firestore_feed.py``) listen today;
* ``window``: a query matching only the documents written during the run.

The emulator answers every write with a fresh result of each listener's query,
so a whole-collection listener costs more per write as the collection grows;
a listener whose query stays small does not. This is why the emulator stack
slows down as an order benchmark runs (see "Benchmarks" in the README).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from measure import header, stop_on_sigterm

from shared import emulators
from shared.procfs import group_members

PAYLOAD = "x" * 300
BATCH = 400


def main() -> None:
    """Run every size and listener shape on one emulator and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 1000, 4000])
    parser.add_argument("--writes", type=int, default=200)
    args = parser.parse_args()
    stop_on_sigterm()  # the emulator stops as on Ctrl-C
    print(header("emulator_listeners", vars(args)), flush=True)
    emulator = emulators.start(emulators.FIRESTORE)
    assert emulator.process is not None
    pgid = os.getpgid(emulator.process.pid)
    os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.env_value
    try:
        measure("whole", 0, 50, pgid)  # warm the emulator's JIT up; not printed
        print(f"emulator CPU per write, {args.writes} writes each:")
        for size in args.sizes:
            whole = measure("whole", size, args.writes, pgid)
            window = measure("window", size, args.writes, pgid)
            print(
                f"  {size:6,} documents: whole collection {whole * 1000:6.1f} ms, "
                f"recent writes only {window * 1000:6.1f} ms ({whole / window:.1f}x)"
            )
    finally:
        emulator.stop()


def measure(shape: str, size: int, writes: int, pgid: int) -> float:
    """Emulator CPU seconds per write with one ``shape`` listener on ``size`` documents."""
    db = firestore.Client(project=f"bench-{shape}-{size}-{time.monotonic_ns()}")
    things = db.collection("things")
    batch = db.batch()
    for i in range(size):
        batch.set(things.document(f"old-{i}"), {"seq": i, "payload": PAYLOAD})
        if i % BATCH == BATCH - 1:
            batch.commit()
            batch = db.batch()
    batch.commit()
    snapshots: list[int] = []
    query = things if shape == "whole" else things.where(filter=FieldFilter("seq", ">=", size))
    watch = query.on_snapshot(lambda docs, changes, read_time: snapshots.append(len(changes)))
    try:
        time.sleep(2)  # the first snapshot
        before = cpu_s(pgid)
        for i in range(writes):
            things.document(f"new-{i}").set({"seq": size + i, "payload": PAYLOAD})
        time.sleep(3)  # the last snapshots
        return (cpu_s(pgid) - before) / writes
    finally:
        watch.unsubscribe()  # type: ignore[no-untyped-call]
        db.close()  # type: ignore[no-untyped-call]


def cpu_s(pgid: int) -> float:
    """User and system CPU seconds of the live processes of a process group."""
    ticks = 0
    for pid, _, _ in group_members([pgid]):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
