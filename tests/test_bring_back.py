"""What a GPU job brings back within a call's limit (tools/offline_gpu/bring_back.py)."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

from clitools import REPO_ROOT, load_tool

plan = load_tool("offline_gpu/bring_back").plan
BRING_BACK = str(REPO_ROOT / "tools" / "offline_gpu" / "bring_back.py")

MIB = 1 << 20


def _write(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * size)


def _runs(root: Path) -> Path:
    """A job's runs as edge_variants.sh leaves them: a finished teacher, a finished and two cut-off students."""
    _write(root / "wide/model.keras", 19 * MIB)
    _write(root / "wide/checkpoints/last.keras", 30 * MIB)
    _write(root / "wide/run.json", 2000)
    _write(root / "edge-240/model.keras", 5 * MIB)
    _write(root / "edge-240/history.csv", 9000)
    for name in ("edge-born-again", "edge-kd-views"):
        _write(root / name / "checkpoints/last.keras", 11 * MIB)
        _write(root / name / "checkpoints/best.weights.h5", 11 * MIB)
        _write(root / name / "checkpoints/state.json", 500)
        _write(root / name / "checkpoints/teacher-targets.npz", 40 * MIB)
        _write(root / name / "run.json", 2000)
    _write(root / "edge-kd-views.log", 3000)
    return root


def test_records_always_come_back_and_large_pieces_whole_while_they_fit(tmp_path: Path) -> None:
    runs = _runs(tmp_path / "runs")
    files, left_out = plan(runs, 60 * MIB)
    chosen = {str(path) for path in files}
    # Every record, the cut-off runs' states included; never a teacher's targets or a finished run's checkpoints.
    assert {"wide/run.json", "edge-240/history.csv", "edge-kd-views.log", "edge-born-again/checkpoints/state.json"} <= chosen
    assert not any(name.endswith("teacher-targets.npz") or name.startswith("wide/checkpoints") for name in chosen)
    # 5 + 19 + 22 MiB fit in 60; the second cut-off run's 22 MiB would not, and neither of its files comes.
    assert {"edge-240/model.keras", "wide/model.keras"} <= chosen
    assert [unit.name.split()[0] for unit in left_out] == ["edge-kd-views"]
    assert {"edge-born-again/checkpoints/last.keras", "edge-born-again/checkpoints/best.weights.h5"} <= chosen
    assert not any(name.startswith("edge-kd-views/checkpoints/") and not name.endswith("state.json") for name in chosen)
    assert sum((runs / path).stat().st_size for path in files) <= 60 * MIB
    # With room for everything, nothing is left out; a large file beside the runs is a unit of its own.
    _write(runs / "long.log", 2 * MIB)
    files, left_out = plan(runs, 200 * MIB)
    assert left_out == [] and "long.log" in {str(path) for path in files}
    assert [unit.name for unit in plan(runs, 1 * MIB)[1]][0] == "long.log"


def test_the_selection_feeds_tar_and_names_what_is_left_out(tmp_path: Path) -> None:
    runs = _runs(tmp_path / "runs")
    listing = subprocess.run([sys.executable, BRING_BACK, str(runs), "--cap-mib", "30"], capture_output=True, check=True)
    assert "left out, over 30 MiB: edge-born-again (cut off" in listing.stderr.decode()
    archive = tmp_path / "runs.tgz"
    subprocess.run(["tar", "-C", str(runs), "--null", "-T", "-", "-czf", str(archive)], input=listing.stdout, check=True)
    with tarfile.open(archive) as packed:
        names = set(packed.getnames())
    assert {"edge-240/model.keras", "wide/model.keras", "wide/run.json"} <= names
    assert "edge-born-again/checkpoints/last.keras" not in names
    missing = subprocess.run([sys.executable, BRING_BACK, str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert missing.returncode == 2 and missing.stderr.strip() == f"error: {tmp_path / 'nowhere'}: no such folder"
