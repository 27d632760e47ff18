"""Which files of a GPU job's run folders come back, within what one call of the machine returns.

A batch GPU host of the kind gpu_job.sh targets returns at most 64 MiB per job (8 files of at most 16 MiB). Run folders can
hold more: the wide net's model alone is 19 MB, and a run cut off by the job's budget keeps its
restart point and best weights (22 MB for the edge net), which it needs to finish elsewhere with
``--resume``. Four runs side by side (plans/edge_variants.sh) can pass the limit, and a
job whose files exceed it brings back nothing of what is over, so the choice is made in this module:

- every run's records (run.json, history, logs, plots: each file under 1 MiB) always come;
- the large pieces come as whole units while they fit, smallest first: a finished run's
  model.keras, or a cut-off run's checkpoints/ (its restart point and best weights together,
  since one without the other cannot resume). A finished run's checkpoints stay behind;
- teachers' targets (teacher-targets.npz) never travel: a resumed run recomputes them.

What is left out is named on stderr, which the job log keeps. The selection goes to stdout as
NUL-separated paths relative to the runs folder, for ``tar --null -T -``:

    python tools/offline_gpu/bring_back.py /tmp/runs --cap-mib 60 | tar -C /tmp/runs --null -T - -czf - | split ...
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

#: Files under this size are records (JSON, CSV, logs, plots) and always come back.
RECORD_BYTES = 1 << 20
#: Derived from the data, recomputed on resume, and large: never carried back.
NEVER = {"teacher-targets.npz"}


@dataclass(frozen=True)
class Unit:
    """Large files that come back together or not at all."""

    name: str
    files: tuple[Path, ...]
    size: int


def _unit(name: str, files: list[Path]) -> Unit:
    return Unit(name, tuple(files), sum(path.stat().st_size for path in files))


def plan(runs: Path, cap_bytes: int) -> tuple[list[Path], list[Unit]]:
    """The files to bring back (relative to ``runs``) and the units left out for want of room."""
    records: list[Path] = []
    large_by_entry: dict[str, list[Path]] = {}  # by run folder, or by a large file beside them
    for path in sorted(path for path in runs.rglob("*") if path.is_file() and path.name not in NEVER):
        if path.stat().st_size < RECORD_BYTES:
            records.append(path)
        else:
            large_by_entry.setdefault(path.relative_to(runs).parts[0], []).append(path)
    units: list[Unit] = []
    for name, large in large_by_entry.items():
        folder = runs / name
        if not folder.is_dir():  # a long log, say
            units.append(_unit(name, large))
        elif (folder / "model.keras").is_file():
            kept = [path for path in large if folder / "checkpoints" not in path.parents]
            units.append(_unit(f"{name} (finished: its model)", kept))
        else:
            units.append(_unit(f"{name} (cut off: its checkpoints, to --resume)", large))
    chosen = list(records)
    room = cap_bytes - sum(path.stat().st_size for path in records)
    left_out: list[Unit] = []
    for unit in sorted(units, key=lambda unit: unit.size):
        if unit.size <= room:
            chosen.extend(unit.files)
            room -= unit.size
        else:
            left_out.append(unit)
    return [path.relative_to(runs) for path in chosen], left_out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/offline_gpu/bring_back.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, help="the folder holding the job's run folders")
    parser.add_argument("--cap-mib", type=float, default=60.0, help="the most to bring back, in MiB (default 60)")
    args = parser.parse_args(argv)
    if not args.runs.is_dir():
        print(f"error: {args.runs}: no such folder", file=sys.stderr)
        return 2
    files, left_out = plan(args.runs, int(args.cap_mib * (1 << 20)))
    for unit in left_out:
        print(f"left out, over {args.cap_mib:g} MiB: {unit.name}, {unit.size / (1 << 20):.1f} MiB", file=sys.stderr)
    sys.stdout.write("".join(f"{path}\0" for path in files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
