"""The x86_64 half of ``scripts/check_arm64.sh``: build its inputs, and compare the two machines.

    python scripts/arm64_parity.py prepare OUT    # OUT/video.mp4, video.json (where each face is), frames/, eval-faces/
    python scripts/arm64_parity.py compare OUT    # x86_64-* against each arm64-CPU-* in OUT; exit 1 if they differ

``prepare`` also copies every third face of each class of ``test/`` into ``OUT/eval-faces/test``:
1,200 faces that both machines score with ``fer-edge eval`` (all of ``test/`` would take several
times as long under emulation, for no other kernels). ``compare`` reads each machine's
``fer-edge eval --predictions`` CSV and ``fer-edge run --json`` lines (the arm64 ones once per
emulated CPU model), prints how far they agree with x86_64's, and writes ``OUT/parity.json``. Where labels differ it shows
how close the two top classes were, which tells rounding in the kernels from a real fault.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np

from fer_edge.contract import CLASS_NAMES
from fer_edge.dataset import default_data_dir, load_split
from fer_edge.device.smoothing import box_iou
from fer_edge.placed_faces import PlacedVideo, build_video, score_run

REFERENCE = "x86_64"
#: What "the same" means here. On the same pixels (PNG frames) the runtimes must agree; the
#: MPEG-4 video is decoded by each machine's OpenCV wheel, 1-2 grey levels apart on most pixels,
#: which moves full-range BlazeFace's averaged boxes and tips a few faces near a threshold or
#: between two classes: a weak candidate's closer look or the whole-frame pass confirms it on
#: one machine and not on the other (measured: 93.2% of 143 faces the same, 94.9% of their
#: labels, 67% and 69% of the placed faces found; 96.0% the same with the whole-frame pass from
#: 0.6). Each face is 0.7 of a point, so the video's bar leaves room for a few such faces and
#: still catches a decoder that differs grossly; exact parity is the PNG frames' check. Both
#: must still find as many of the placed faces.
MIN_EVAL_AGREEMENT = 0.995
MIN_RUN_LABEL_AGREEMENT = 0.98
MIN_SAME_FACES = 0.99
MIN_VIDEO_LABEL_AGREEMENT = 0.93
MIN_VIDEO_SAME_FACES = 0.90
MAX_VIDEO_FOUND_GAP = 0.03
SAME_BOX_IOU = 0.5
VIDEO_FRAMES = 160
VIDEO_SEED = 7
PNG_FRAMES = 40
#: Every how manyth face of each class of test/ both machines evaluate.
EVAL_EVERY = 3


def make_video(out: Path, data_dir: Path) -> PlacedVideo:
    """A short 640x480 video of placed test faces (two faces in every fourth frame), with its truth,
    and its first :data:`PNG_FRAMES` frames as decoded here, as PNG files in ``out/frames``: the
    same pixels on both machines, which tells differences of decoding from those of the runtime."""
    data = load_split(data_dir, "test")
    video = build_video(out / "video.mp4", data, VIDEO_FRAMES, VIDEO_SEED)
    truth = {"boxes": video.boxes, "indices": video.indices, "frames": VIDEO_FRAMES, "seed": VIDEO_SEED}
    (out / "video.json").write_text(json.dumps(truth) + "\n")
    (out / "frames").mkdir(exist_ok=True)
    capture = cv2.VideoCapture(str(video.path))
    for i in range(PNG_FRAMES):
        ok, frame = capture.read()
        if not ok:
            raise SystemExit(f"{video.path}: frame {i} could not be decoded")
        cv2.imwrite(str(out / "frames" / f"{i:03d}.png"), frame)
    capture.release()
    return video


def copy_eval_faces(out: Path, data_dir: Path) -> int:
    """Every :data:`EVAL_EVERY`-th image (in name order) of each class folder of ``test/`` into
    ``out/eval-faces/test``, a folder root ``fer-edge eval --data`` reads; returns how many."""
    copied = 0
    for class_dir in sorted(p for p in (data_dir / "test").iterdir() if p.is_dir()):
        target = out / "eval-faces" / "test" / class_dir.name
        target.mkdir(parents=True, exist_ok=True)
        for image in sorted(class_dir.iterdir())[::EVAL_EVERY]:
            shutil.copy2(image, target / image.name)
            copied += 1
    return copied


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


def compare_eval(out: Path, target: str) -> dict:
    (x86, x86_probs), (arm, arm_probs) = (read_predictions(out / f"{m}-eval.csv") for m in (REFERENCE, target))
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


def match_runs(x86: list[list[dict]], arm: list[list[dict]]) -> dict:
    """How far two runs over the same frames found the same faces (IoU >= 0.5, one to one) and
    gave them the same label and box."""
    if len(x86) != len(arm):
        raise SystemExit(f"the runs read {len(x86)} and {len(arm)} frames")
    same = either = agree = identical = 0
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
                identical += box_shift[-1] == 0
    return {
        "frames": len(x86),
        "faces_x86_64": sum(map(len, x86)),
        "faces_arm64": sum(map(len, arm)),
        "same_faces": same / max(either, 1),
        "labels_agree": agree / max(same, 1),
        "identical_boxes": identical / max(same, 1),
        "largest_box_difference_px": max(box_shift, default=0),
    }


def compare_run(out: Path, target: str, video: PlacedVideo) -> dict:
    """The target's run on the PNG frames against x86_64's, and on the video where it ran that too."""
    report: dict = {"same_pixels": match_runs(read_run(out / f"{REFERENCE}-frames.jsonl"), read_run(out / f"{target}-frames.jsonl"))}
    if (out / f"{target}-run.jsonl").is_file():
        x86, arm = (read_run(out / f"{m}-run.jsonl") for m in (REFERENCE, target))
        report["video"] = match_runs(x86, arm)
        report["video"]["placed_found"] = {m: round(score_run(video, faces).found_rate, 4) for m, faces in (("x86_64", x86), ("arm64", arm))}
    return report


def arm64_targets(out: Path) -> list[str]:
    """``arm64-CPU`` for each emulated CPU model whose run on the PNG frames is in ``out``."""
    return sorted(path.name.removesuffix("-frames.jsonl") for path in out.glob("arm64-*-frames.jsonl"))


def compare(out: Path) -> int:
    truth = json.loads((out / "video.json").read_text())
    video = PlacedVideo(out / "video.mp4", truth["boxes"], truth["indices"])
    targets = arm64_targets(out)
    if not targets:
        raise SystemExit(f"{out}: no arm64-*-run.jsonl to compare")
    report: dict = {"versions": {}, "targets": {}, "eval_faces": sum(1 for p in (out / "eval-faces" / "test").rglob("*") if p.is_file())}
    for machine in ("x86_64", "arm64"):
        versions = out / f"{machine}-versions.txt"
        report["versions"][machine] = versions.read_text().strip() if versions.is_file() else "not recorded"
    passed = True
    for target in targets:
        ev = compare_eval(out, target) if (out / f"{target}-eval.csv").is_file() else None
        run = compare_run(out, target, video)
        checks = {
            f"on the same pixels (PNG frames): at least {MIN_SAME_FACES:.0%} the same faces, {MIN_RUN_LABEL_AGREEMENT:.0%} the same labels": (
                run["same_pixels"]["same_faces"] >= MIN_SAME_FACES and run["same_pixels"]["labels_agree"] >= MIN_RUN_LABEL_AGREEMENT
            )
        }
        if "video" in run:
            checks[f"run on the video finds the same faces (at least {MIN_VIDEO_SAME_FACES:.0%})"] = run["video"]["same_faces"] >= MIN_VIDEO_SAME_FACES
            checks[f"run on the video: labels agree on at least {MIN_VIDEO_LABEL_AGREEMENT:.0%} of them"] = run["video"]["labels_agree"] >= MIN_VIDEO_LABEL_AGREEMENT
            found = run["video"]["placed_found"]
            checks[f"run on the video: placed faces found within {MAX_VIDEO_FOUND_GAP:.0%} of each other"] = abs(found["x86_64"] - found["arm64"]) <= MAX_VIDEO_FOUND_GAP
        if ev is not None:
            checks[f"eval labels agree on at least {MIN_EVAL_AGREEMENT:.1%} of faces"] = ev["labels_agree"] >= MIN_EVAL_AGREEMENT
        report["targets"][target] = {"eval": ev, "run": run, "checks": checks}
        passed &= all(checks.values())
        print(f"{target} against {REFERENCE}:")
        if ev is not None:
            print(f"  eval on a 1-in-{EVAL_EVERY} sample of test/: {ev['faces']} faces, labels agree on {ev['labels_agree']:.2%} "
                  f"({len(ev['differing_faces'])} differ; largest probability difference {ev['max_probability_difference']:.4f}, "
                  f"mean {ev['mean_probability_difference']:.6f})")  # fmt: skip
            if ev["differing_faces"]:
                print(f"    faces that differ: {ev['differing_faces'][:20]}; {REFERENCE}'s margin between its two top classes there: "
                      f"{ev['differing_top_two_margin_x86_64'][:20]}")  # fmt: skip
        if "video" in run:
            video_run = run["video"]
            print(f"  run on a {video_run['frames']}-frame 640x480 video: {video_run['faces_x86_64']} faces on x86_64, {video_run['faces_arm64']} on arm64, "
                  f"{video_run['same_faces']:.2%} the same face (largest box difference {video_run['largest_box_difference_px']} px), "
                  f"labels agree on {video_run['labels_agree']:.2%}; placed faces found {video_run['placed_found']}")  # fmt: skip
        png = run["same_pixels"]
        print(f"  run on the first {png['frames']} frames as decoded on {REFERENCE} (PNG, the same pixels on both): "
              f"{png['same_faces']:.2%} the same face, {png['identical_boxes']:.2%} of boxes identical "
              f"(largest difference {png['largest_box_difference_px']} px), labels agree on {png['labels_agree']:.2%}")  # fmt: skip
        for check, ok in checks.items():
            print(f"    {'ok  ' if ok else 'FAIL'} {check}")
    (out / "parity.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0 if passed else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=("prepare", "compare"))
    parser.add_argument("out", type=Path, help="Folder shared with the arm64 root.")
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="FER2013 folder root (video: test/ faces).")
    args = parser.parse_args()
    if args.step == "prepare":
        make_video(args.out, args.data)
        print(f"{copy_eval_faces(args.out, args.data)} test faces to evaluate on both machines")
        return
    sys.exit(compare(args.out))


if __name__ == "__main__":
    main()
