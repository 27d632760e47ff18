"""The Raspberry Pi install on arm64: ``scripts/check_arm64.sh`` in an emulated Debian 13 root.

The script installs fer-edge in the arm64 root exactly as docs/running.md tells Trixie users, runs
``fer-edge eval`` on a third of ``test/`` and ``fer-edge run --json`` on a placed-face video and
its first frames as PNG files there and with this Python on x86_64, and writes the comparison to
``parity.json``. It needs root (debootstrap,
chroot, binfmt_misc) and apt; the arm64 root is built once and kept outside the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from clitools import REPO_ROOT, require

SCRIPT = REPO_ROOT / "scripts" / "check_arm64.sh"


@pytest.mark.slow
@pytest.mark.arm64
def test_the_pi_install_labels_faces_on_arm64_as_on_x86_64(fer2013_dir, tmp_path):
    require(os.geteuid() == 0 and shutil.which("apt-get") is not None, "the arm64 check needs root and apt (debootstrap, chroot)")
    env = {**os.environ, "FER2013_DIR": str(fer2013_dir.resolve()), "HOST_PYTHON": sys.executable}
    # Its own session, so that a timeout stops qemu's processes too, not only the script.
    process = subprocess.Popen(["bash", str(SCRIPT), "--out", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env, start_new_session=True)  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=45 * 60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
    print(stdout[-3000:])
    assert process.returncode == 0, stdout[-3000:] + stderr[-3000:]

    report = json.loads((tmp_path / "parity.json").read_text())
    assert report["versions"]["arm64"].startswith("aarch64 Python 3.13") and "NumPy 2." in report["versions"]["arm64"]
    # The Pi 5's core runs eval on a third of test/ (every class), the video and its PNG frames; the Pi 4's the PNG frames.
    assert sorted(report["targets"]) == ["arm64-cortex-a72", "arm64-cortex-a76"]
    pi5 = report["targets"]["arm64-cortex-a76"]
    assert report["eval_faces"] >= 1000 and pi5["eval"]["faces"] == report["eval_faces"], (report["eval_faces"], pi5["eval"])
    assert pi5["eval"]["labels_agree"] >= 0.995, pi5["eval"]
    video = pi5["run"]["video"]
    assert video["frames"] == 160 and video["faces_x86_64"] > 100
    # The MPEG-4 video is decoded by each machine's OpenCV: its thresholds are the script's checks,
    # asserted below with the others (scripts/arm64_parity.py says how far apart the decoders are).
    assert any("on the video" in check for check in pi5["checks"]), pi5["checks"]
    for target, parity in report["targets"].items():
        # On PNG frames decoded on x86_64, the same pixels reach both runtimes: the same faces and labels.
        same_pixels = parity["run"]["same_pixels"]
        assert same_pixels["frames"] == 40 and same_pixels["faces_x86_64"] > 25, (target, same_pixels)
        assert same_pixels["same_faces"] >= 0.99 and same_pixels["labels_agree"] >= 0.98, (target, same_pixels)
        assert all(parity["checks"].values()), (target, parity["checks"])
