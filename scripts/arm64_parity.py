"""The x86_64 half of ``scripts/check_arm64.sh``: build its test video, and compare the two machines.

    python scripts/arm64_parity.py video OUT      # OUT/video.mp4 and OUT/video.json (where each face is)
    python scripts/arm64_parity.py compare OUT    # x86_64-* against arm64-* files in OUT; exit 1 if they differ

``compare`` reads each machine's ``fer-edge eval --predictions`` CSV and ``fer-edge run --json``
lines, prints how far they agree, and writes ``OUT/parity.json``. Where labels differ it shows
how close the two top classes were, which tells rounding in the kernels from a real fault.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

from fer_edge.contract import CLASS_NAMES
from fer_edge.dataset import default_data_dir, load_split
from fer_edge.device.smoothing import box_iou
from fer_edge.placed_faces import PlacedVideo, build_video, score_run

MACHINES = ("x86_64", "arm64")
#: What "the same" means here.
MIN_EVAL_AGREEMENT = 0.995
MIN_RUN_LABEL_AGREEMENT = 0.98
MIN_SAME_FACES = 0.99
SAME_BOX_IOU = 0.5
VIDEO_FRAMES = 160
VIDEO_SEED = 7


def make_video(out: Path, data_dir: Path) -> PlacedVideo:
    """A short 640x480 video of placed test faces (two faces in every fourth frame), with its truth."""
    data = load_split(data_dir, "test")
    video = build_video(out / "video.mp4", data, VIDEO_FRAMES, VIDEO_SEED)
    truth = {"boxes": video.boxes, "indices": video.indices, "frames": VIDEO_FRAMES, "seed": VIDEO_SEED}
    (out / "video.json").write_text(json.dumps(truth) + "\n")
    return video


def read_predictions(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Predicted class indices and probabilities of a ``fer-edge eval --predictions`` CSV."""
    with path.open(newline="") as file:
        rows = list(csv.DictReader(file))
    predicted = np.array([CLASS_NAMES.index(row["predicted"]) for row in rows])
    probs = np.array([[float(row[f"p_{name}"]) for name in CLASS_NAMES] for row in rows])
    return predicted, probs


def top_two_margin(probs: np.ndarray) -> np.ndarray:
    ordered = np.sort(probs, axis=1)
    return ordered[:, -1] - ordered[:, -2]


def compare_eval(out: Path) -> dict:
    (x86, x86_probs), (arm, arm_probs) = (read_predictions(out / f"{m}-eval.csv") for m in MACHINES)
    if len(x86) != len(arm):
        raise SystemExit(f"{out}: the eval CSVs hold {len(x86)} and {len(arm)} faces")
    differ = np.flatnonzero(x86 != arm)
    return {
        "faces": len(x86),
        "labels_agree": float(np.mean(x86 == arm)),
        "differing_faces": differ.tolist(),
        "differing_top_two_margin_x86_64": top_two_margin(x86_probs[differ]).round(4).tolist(),
        "max_probability_difference": float(np.abs(x86_probs - arm_probs).max()),
        "mean_probability_difference": float(np.abs(x86_probs - arm_probs).mean()),
    }


def read_run(path: Path) -> list[list[dict]]:
    return [json.loads(line)["faces"] for line in path.read_text().splitlines() if line.strip()]


def compare_run(out: Path, video: PlacedVideo) -> dict:
    x86, arm = (read_run(out / f"{m}-run.jsonl") for m in MACHINES)
    if len(x86) != len(arm):
        raise SystemExit(f"{out}: the runs read {len(x86)} and {len(arm)} frames")
    same = either = agree = 0
    box_shift = []
    for faces_x86, faces_arm in zip(x86, arm):
        either += max(len(faces_x86), len(faces_arm))
        if not faces_x86 or not faces_arm:
            continue
        boxes_x86 = np.array([f["box"] for f in faces_x86])
        boxes_arm = np.array([f["box"] for f in faces_arm])
        iou = box_iou(boxes_x86, boxes_arm)
        for i, j in enumerate(iou.argmax(axis=1)):
            if iou[i, j] >= SAME_BOX_IOU and iou[:, j].argmax() == i:
                same += 1
                agree += faces_x86[i]["emotion"] == faces_arm[j]["emotion"]
                box_shift.append(int(np.abs(boxes_x86[i] - boxes_arm[j]).max()))
    scores = {m: score_run(video, faces) for m, faces in zip(MACHINES, (x86, arm))}
    return {
        "frames": len(x86),
        "faces_x86_64": sum(map(len, x86)),
        "faces_arm64": sum(map(len, arm)),
        "same_faces": same / max(either, 1),
        "labels_agree": agree / max(same, 1),
        "largest_box_difference_px": max(box_shift, default=0),
        "placed_found": {m: round(s.found_rate, 4) for m, s in scores.items()},
    }


def compare(out: Path) -> int:
    truth = json.loads((out / "video.json").read_text())
    video = PlacedVideo(out / "video.mp4", truth["boxes"], truth["indices"])
    report = {"eval": compare_eval(out), "run": compare_run(out, video)}
    for machine in MACHINES:
        versions = out / f"{machine}-versions.txt"
        report[f"versions_{machine}"] = versions.read_text().strip() if versions.is_file() else "not recorded"
    checks = {
        f"eval labels agree on at least {MIN_EVAL_AGREEMENT:.1%} of faces": report["eval"]["labels_agree"] >= MIN_EVAL_AGREEMENT,
        f"run finds the same faces (at least {MIN_SAME_FACES:.0%})": report["run"]["same_faces"] >= MIN_SAME_FACES,
        f"run labels agree on at least {MIN_RUN_LABEL_AGREEMENT:.0%} of them": report["run"]["labels_agree"] >= MIN_RUN_LABEL_AGREEMENT,
    }
    report["checks"] = checks
    (out / "parity.json").write_text(json.dumps(report, indent=2) + "\n")

    ev, run = report["eval"], report["run"]
    print(f"eval on test/: {ev['faces']} faces, labels agree on {ev['labels_agree']:.2%} "
          f"({len(ev['differing_faces'])} differ; largest probability difference {ev['max_probability_difference']:.4f}, "
          f"mean {ev['mean_probability_difference']:.6f})")  # fmt: skip
    if ev["differing_faces"]:
        print(f"  faces that differ: {ev['differing_faces'][:20]}; x86_64's margin between its two top classes there: "
              f"{ev['differing_top_two_margin_x86_64'][:20]}")  # fmt: skip
    print(f"run on a {run['frames']}-frame 640x480 video: {run['faces_x86_64']} faces on x86_64, {run['faces_arm64']} on arm64, "
          f"{run['same_faces']:.2%} the same face (largest box difference {run['largest_box_difference_px']} px), "
          f"labels agree on {run['labels_agree']:.2%}; placed faces found {run['placed_found']}")  # fmt: skip
    for check, passed in checks.items():
        print(f"  {'ok  ' if passed else 'FAIL'} {check}")
    return 0 if all(checks.values()) else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=("video", "compare"))
    parser.add_argument("out", type=Path, help="Folder shared with the arm64 root.")
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="FER2013 folder root (video: test/ faces).")
    args = parser.parse_args()
    if args.step == "video":
        make_video(args.out, args.data)
        return
    sys.exit(compare(args.out))


if __name__ == "__main__":
    main()
