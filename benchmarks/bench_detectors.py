#!/usr/bin/env python3
"""Face detectors compared: found rate by face size, false boxes and ms per frame, on pasted
FER2013 test faces and on real photos, in 640x480 frames. Each configuration's passes of each
BlazeFace model per frame are printed too: its cost in a form a busy machine does not change.

- Placed faces: ``test/`` faces pasted as the tests paste them (``fer_edge/placed_faces.py``), one
  per frame at each size, and groups of 2-6 faces of 48-160 px.
- Photos: the public-domain portraits of ``fer_edge/photos.py``, scaled so the face is each size,
  on views of photos of no person; and groups of the three side by side.
- False boxes per 100 frames with no face: grey noise and views of photos of no person.
- Faces that fill much of the frame: the portraits at 256-400 px, pasted faces at 256 and 320
  px, and the dataset's own 48x48 images, for the default and each model alone.
- Skipping frames: the default detecting every 1st, 2nd or 3rd frame of drifting faces, the last
  boxes kept in between.
- The whole-frame pass's score: false boxes on many views of photos of no person against pasted
  faces that fill much of the frame.
- What each model finds in pasted faces at the default's scores and at lower ones, so the
  default's pasted-face rates can be read against its parts'.

A face is found as ``placed_faces.match_faces`` says. Every configuration sees the same frames.
Run it with a device venv's Python to time the interpreter a Pi install uses; the figures in
``benchmarks/README.md`` name the machine and date. ``--seed`` picks the faces and places (1: the
seed the defaults were chosen on; the tests use others).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from tqdm import tqdm

from fer_edge.dataset import default_data_dir, load_split
from fer_edge.device.blazeface import FULL_RANGE, SHORT_RANGE, BlazeFaceDetector, weighted_nms
from fer_edge.device.detector import CLOSER_ZOOM, FaceDetector, HaarFaceDetector, LookCloser, away_from, make_detector, square_around
from fer_edge.device.faces import largest_first, to_gray
from fer_edge.device.interpreter import backend_version
from fer_edge.photos import background, empty_scenes, photo_group, place_photo, portraits
from fer_edge.placed_faces import match_faces, moving_faces, noise_frame, place_faces

SIZES = (48, 64, 96, 128, 192)
#: Frames each detector runs before the next takes its turn.
CHUNK = 20


class FirstElseSecond:
    """fer-edge's default before full-range: ``first``'s faces, or ``second``'s on frames where it finds none."""

    def __init__(self, first: FaceDetector, second: FaceDetector) -> None:
        self.first, self.second = first, second

    def detect(self, gray: np.ndarray) -> np.ndarray:
        boxes = self.first.detect(gray)
        return boxes if len(boxes) else self.second.detect(gray)


class UnionDetector:
    """fer-edge's default before the closer look: ``first``'s faces, and ``second``'s away from them."""

    def __init__(self, first: FaceDetector, second: FaceDetector) -> None:
        self.first, self.second = first, second

    def describe(self) -> str:
        return f"{self.first.describe()}, plus {self.second.describe()} away from its faces"

    def detect(self, gray: np.ndarray) -> np.ndarray:
        first, second = self.first.detect(gray), self.second.detect(gray)
        second = second[away_from(second, first)]
        return largest_first(np.concatenate([first, second])) if len(second) else first


class Tiled:
    """A candidate: one detector on the whole frame and on a grid of overlapping tiles, boxes merged."""

    def __init__(self, detector: FaceDetector, columns: int, rows: int, tile: int) -> None:
        self.detector, self.columns, self.rows, self.tile = detector, columns, rows, tile

    def detect(self, gray: np.ndarray) -> np.ndarray:
        height, width = gray.shape[:2]
        found = [self.detector.detect(gray)]
        for y in np.linspace(0, height - self.tile, self.rows).round().astype(int):
            for x in np.linspace(0, width - self.tile, self.columns).round().astype(int):
                found.append(self.detector.detect(gray[y : y + self.tile, x : x + self.tile]) + np.array([x, y, 0, 0]))
        boxes = np.concatenate(found).astype(np.float64)
        return weighted_nms(boxes, np.ones(len(boxes)))[0].round().astype(np.int32) if len(boxes) else boxes.astype(np.int32)


def skipping(frames: int, speeds: tuple[float, ...], seed: int, threads: int) -> str:
    """Found rate and ms per frame of the default detecting every 1st, 2nd or 3rd frame, on 128 px
    faces drifting at each speed (px per frame) through clips of 10 frames."""
    test = load_split(default_data_dir(), "test")
    rows = [f"{'default, detecting':<28}" + "".join(f"{f'{v:g} px/frame':>14}" for v in speeds) + f"{'ms/frame':>10}"]
    clips = {v: moving_faces(test, max(1, frames // 10), 10, 128, v, seed) for v in speeds}
    for n in (1, 2, 3):
        cells, seconds, count = "", 0.0, 0
        for speed, placed in clips.items():
            detector = make_detector(every=n, threads=threads)
            found = 0
            for frame, boxes in zip(placed.frames, placed.boxes):
                start = time.perf_counter()
                detected = detector.detect(frame)
                seconds += time.perf_counter() - start
                found += match_faces(boxes, detected)[0][0] is not None
            count += len(placed.frames)
            cells += f"{found / len(placed.frames):>14.0%}"
        rows.append(f"{'every frame' if n == 1 else f'every {n} frames':<28}{cells}{1000 * seconds / count:>10.1f}")
    return "\n".join(rows)


def filling(frames: int, seed: int, threads: int) -> str:
    """Found rate of the default and of each model alone on faces that fill much of the frame:
    the portraits at 256-400 px, pasted test faces at 256 and 320 px, and the dataset's own 48x48
    images (the face is the whole image)."""
    test = load_split(default_data_dir(), "test")
    rng = np.random.default_rng(seed)
    scenes, people = empty_scenes(), portraits()
    sets = {f"photo {size}": [place_photo(people[k % len(people)], size, rng, scenes) for k in range(frames // 4)] for size in (256, 320, 400)}
    for size in (256, 320):
        placed = place_faces(test, frames // 2, (size, size), seed + size)
        sets[f"faces {size}"] = list(zip(placed.frames, placed.boxes))
    sets["48x48 images"] = [(image, [[0, 0, 48, 48]]) for image in test.images[: 2 * frames]]
    detectors = {
        "auto (default)": make_detector(threads=threads),
        "full-range 0.6": BlazeFaceDetector(0.6, threads, model=FULL_RANGE),
        "short-range 0.6": BlazeFaceDetector(0.6, threads, model=SHORT_RANGE),
    }
    rows = [f"{'detector':<20}" + "".join(f"{name:>14}" for name in sets)]
    for name, detector in detectors.items():
        rows.append(f"{name:<20}" + "".join(f"{found_share(detector, shown):>14.0%}" for shown in sets.values()))
    return "\n".join(rows)


def found_share(detector: FaceDetector, shown: list[tuple[np.ndarray, list[list[int]]]]) -> float:
    """The share of the faces in ``shown`` (frames and their true boxes) that ``detector`` finds."""
    return float(np.mean([m is not None for frame, boxes in shown for m in match_faces(boxes, detector.detect(to_gray(frame)))[0]]))


def default_with(threads: int, **changes: float | int) -> LookCloser:
    """The default detector with ``changes`` to its :class:`LookCloser` settings."""
    default = make_detector(threads=threads)
    return LookCloser(default.full, default.closer, **changes)


def whole_frame_score(frames: int, seed: int, threads: int) -> str:
    """The default with its whole-frame pass at its score and 0.05 either side: false boxes on
    ``8 * frames`` views of photos of no person (the pass runs on every frame where nothing else
    is found, as in an empty room), and the share found of faces that fill much of the frame:
    pasted test faces, the portraits, and the dataset's own 48x48 images."""
    test = load_split(default_data_dir(), "test")
    rng = np.random.default_rng(seed)
    scenes, people = empty_scenes(), portraits()
    empty = [to_gray(background(scenes, rng)) for _ in range(8 * frames)]
    sets = {}
    for size in (192, 256, 320):
        placed = place_faces(test, frames, (size, size), seed + size)
        sets[f"faces {size}"] = list(zip(placed.frames, placed.boxes))
    sets["photos 256-400"] = [place_photo(people[k % len(people)], size, rng, scenes) for size in (256, 320, 400) for k in range(frames // 4)]
    sets["48x48 images"] = [(image, [[0, 0, 48, 48]]) for image in test.images[: 2 * frames]]
    chosen = make_detector(threads=threads).frame_score
    rows = [f"{'whole frame from':<18}{'false/100 scene':>16}" + "".join(f"{name:>16}" for name in sets)]
    for score in (chosen - 0.05, chosen, chosen + 0.05):
        detector = default_with(threads, frame_score=score)
        false = sum(len(detector.detect(frame)) for frame in empty)
        name = f"{score:g}" + (" (default)" if score == chosen else "")
        rows.append(f"{name:<18}{100 * false / len(empty):>16.1f}" + "".join(f"{found_share(detector, shown):>16.0%}" for shown in sets.values()))
    return "\n".join(rows)


def reach(frames: int, seed: int, threads: int) -> str:
    """Per face size, the share of pasted faces each model finds, one face per frame, at the
    default's scores: full-range from a closer look's candidate score and from its own minimum
    (taken as it is); short-range on the square a closer look cuts for a candidate centred on the
    face (:func:`square_on`) at a look's score and at 0.5, and on the whole frame at the
    whole-frame pass's score. Not a bound on the default: a real candidate's look is centred
    where full-range's box is, and finds some faces a centred one misses."""
    test = load_split(default_data_dir(), "test")
    default = make_detector(threads=threads)
    full, short = default.full, default.closer
    scores = (default.candidate_score, full.min_score, short.min_score, 0.5, default.frame_score)
    columns = [f"{kind} >= {score:g}" for kind, score in zip(("full", "full", "look", "look", "short frame"), scores)]
    rows = [f"{'face size':<12}" + "".join(f"{c:>21}" for c in columns)]
    for size in SIZES:
        placed = place_faces(test, frames, (size, size), seed + size)
        found = np.array([found_by_each(full, short, scores, frame, box) for frame, (box,) in zip(placed.frames, placed.boxes)])
        rows.append(f"{f'{size} px':<12}" + "".join(f"{share:>21.0%}" for share in found.mean(axis=0)))
    return "\n".join(rows)


def found_by_each(full: BlazeFaceDetector, short: BlazeFaceDetector, scores: tuple[float, ...], frame: np.ndarray, box: list[int]) -> list[bool]:
    """Whether each of :func:`reach`'s columns, at its score in ``scores``, finds the face ``box`` in ``frame``."""
    square, in_square = square_on(frame, box)
    candidate, full_min, look, look_low, whole = scores
    return [
        finds(full, frame, box, candidate),
        finds(full, frame, box, full_min),
        finds(short, square, in_square, look),
        finds(short, square, in_square, look_low),
        finds(short, frame, box, whole),
    ]


def square_on(frame: np.ndarray, box: list[int]) -> tuple[np.ndarray, list[int]]:
    """The closer look's square for a candidate centred on the placed face ``box`` (full-range's
    box for it is the crop's side over its ``crop_scale``), and the face's box in it."""
    x, y, w, h = box
    square, x0, y0 = square_around(frame, x + w / 2.0, y + h / 2.0, CLOSER_ZOOM * max(w, h) / FULL_RANGE.crop_scale)
    return square, [x - x0, y - y0, w, h]


def finds(model: BlazeFaceDetector, gray: np.ndarray, box: list[int], min_score: float) -> bool:
    """Whether ``model`` finds the face ``box`` in ``gray`` with a box scoring ``min_score`` or more."""
    boxes, _ = model.scored_faces(gray, min_score)
    unbounded = (10**6, 10**6)  # every box counts, wherever its centre lies
    return match_faces([box], model.crops(boxes, unbounded))[0][0] is not None


def blazeface_parts(detector: object) -> list[BlazeFaceDetector]:
    """The BlazeFace models a configuration runs (the default's two, a union's, a tiling's...),
    found through its attributes."""
    if isinstance(detector, BlazeFaceDetector):
        return [detector]
    parts = [value for value in vars(detector).values() if hasattr(value, "detect")]
    return [model for part in parts for model in blazeface_parts(part)]


def configurations(threads: int) -> dict[str, FaceDetector]:
    """The default, its parts at other scores, and the candidates measured against it."""

    def full(score: float) -> BlazeFaceDetector:
        return BlazeFaceDetector(score, threads, model=FULL_RANGE)

    def short(score: float) -> BlazeFaceDetector:
        return BlazeFaceDetector(score, threads, model=SHORT_RANGE)

    return {
        "auto (default)": make_detector(threads=threads),
        "auto, 2 closer looks": default_with(threads, looks=2),
        "auto, 5 closer looks": default_with(threads, looks=5),
        "auto, candidates from 0.05": default_with(threads, candidate_score=0.05),
        "auto, closer square 2.5x": default_with(threads, zoom=2.5),
        "auto, whole frame from 0.6": default_with(threads, frame_score=0.6),
        "auto, --min-face-score 0.5": make_detector(min_score=0.5, threads=threads),
        "full 0.5 + short 0.6 (previous auto)": UnionDetector(full(0.5), short(0.6)),
        "full-range 0.4": full(0.4),
        "full-range 0.5": full(0.5),
        "full-range 0.6": full(0.6),
        "short-range 0.35": short(0.35),
        "short-range 0.6": short(0.6),
        "haar 240 px": make_detector("haar"),
        "haar 320 px": make_detector("haar", detect_width=320),
        "auto + haar 320 px": UnionDetector(make_detector(threads=threads), HaarFaceDetector(320)),
        "short-range 0.35, else haar (old auto)": FirstElseSecond(short(0.35), HaarFaceDetector(240)),
        "short-range 0.5 tiled 3x2 of 288 px": Tiled(short(0.5), 3, 2, 288),
    }


@dataclass
class Tally:
    """Found faces by group (a face size, or a kind of frame), false boxes and time, for one detector."""

    found: dict[str, list[int]] = field(default_factory=dict)  # group -> [found, shown]
    false: dict[str, list[int]] = field(default_factory=dict)  # frame kind -> [false boxes, frames]
    seconds: float = 0.0
    frames: int = 0
    passes: Counter = field(default_factory=Counter)  # BlazeFace model name -> passes

    def add(self, detector: FaceDetector, frame: np.ndarray, truth: list[list[int]], groups: list[str], kind: str) -> None:
        gray = to_gray(frame)
        models = blazeface_parts(detector)
        before = [model.passes for model in models]
        start = time.perf_counter()
        boxes = detector.detect(gray)
        self.seconds += time.perf_counter() - start
        for model, passes in zip(models, before):
            self.passes[model.model.name] += model.passes - passes
        self.frames += 1
        matches, false = match_faces(truth, boxes)
        for group, match in zip(groups, matches):
            counts = self.found.setdefault(group, [0, 0])
            counts[0] += match is not None
            counts[1] += 1
        counts = self.false.setdefault(kind, [0, 0])
        counts[0] += false
        counts[1] += 1

    def rate(self, group: str) -> str:
        found, shown = self.found.get(group, [0, 0])
        return f"{found / shown:.0%}" if shown else "-"

    def passes_per_frame(self, model: str) -> str:
        return f"{self.passes[model] / self.frames:.2f}" if self.passes[model] else "-"

    def false_per_100(self, kind: str) -> str:
        false, frames = self.false[kind]
        return f"{100 * false / frames:.1f}"


def size_group(size: int) -> str:
    """The face-size band a group face falls in (the group columns of the found-rate tables)."""
    return "48-64" if size < 64 else "64-96" if size < 96 else ">=96"


def build_frames(seed: int, frames_per_size: int) -> list[tuple[np.ndarray, list[list[int]], list[str], str]]:
    """Every frame the detectors see: (frame, true boxes, each face's group, frame kind)."""
    test = load_split(default_data_dir(), "test")
    rng = np.random.default_rng(seed)
    scenes = empty_scenes()
    people = portraits()
    frames = []
    for size in SIZES:
        placed = place_faces(test, frames_per_size, (size, size), seed + size)
        frames += [(f, b, [f"faces {size}"], "faces") for f, b in zip(placed.frames, placed.boxes)]
    groups = place_faces(test, frames_per_size, (48, 160), seed + 1000, per_frame=(2, 6))
    frames += [(f, b, [f"group {size_group(box[2])}" for box in b], "group") for f, b in zip(groups.frames, groups.boxes)]
    for size in SIZES:
        for k in range(frames_per_size // 4):
            frame, boxes = place_photo(people[k % len(people)], size, rng, scenes)
            frames.append((frame, boxes, [f"photo {size}"] * len(boxes), "photo"))
    for _ in range(frames_per_size // 2):
        sizes = [int(s) for s in rng.integers(48, 160, len(people))]
        frame, boxes = photo_group(people, sizes, rng, scenes)
        frames.append((frame, boxes, [f"photo group {size_group(box[2])}" for box in boxes], "photo group"))
    frames += [(noise_frame(rng), [], [], "empty noise") for _ in range(frames_per_size)]
    frames += [(background(scenes, rng), [], [], "empty scene") for _ in range(2 * frames_per_size)]
    return frames


def table(tallies: dict[str, Tally], groups: list[str], kinds: list[str], prefix: str) -> str:
    """One row per detector: found rate per group (headed without ``prefix``), false boxes, ms."""
    names = list(tallies)
    width = max(map(len, names)) + 2
    heads = [g.removeprefix(prefix).replace("group ", "grp ") for g in groups]
    models = (FULL_RANGE.name, SHORT_RANGE.name)
    head = "".join(f"{h:>10}" for h in heads) + "".join(f"{'false/100 ' + k.split()[-1]:>18}" for k in kinds) + f"{'ms/frame':>10}"
    head += "".join(f"{m.split('-')[0] + ' passes':>14}" for m in models)
    rows = [f"{'detector':<{width}}{head}"]
    for name in names:
        tally = tallies[name]
        cells = "".join(f"{tally.rate(g):>10}" for g in groups) + "".join(f"{tally.false_per_100(k):>18}" for k in kinds)
        passes = "".join(f"{tally.passes_per_frame(m):>14}" for m in models)
        rows.append(f"{name:<{width}}{cells}{1000 * tally.seconds / tally.frames:>10.1f}{passes}")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1, help="faces, places and photo views (1: the seed the defaults were chosen on)")
    parser.add_argument("--frames", type=int, default=120, help="frames per face size (photos a quarter, groups as many)")
    parser.add_argument("--only", nargs="*", help="measure only these configurations (names as printed)")
    parser.add_argument("--threads", type=int, default=2, help="BlazeFace's interpreter threads (fer-edge run gives it 2 on 2 or more cores)")
    args = parser.parse_args()

    frames = build_frames(args.seed, args.frames)
    detectors = {name: det for name, det in configurations(args.threads).items() if not args.only or name in args.only}
    tallies = {name: Tally() for name in detectors}
    for frame, *_ in frames[:5]:  # warm-up: first invocations allocate
        for detector in detectors.values():
            detector.detect(to_gray(frame))
    # Each detector takes a chunk of frames in turn, so a slower spell of the machine is shared
    # by all of them rather than landing on one detector's column.
    chunks = [frames[start : start + CHUNK] for start in range(0, len(frames), CHUNK)]
    for chunk in tqdm(chunks, desc="frames", unit="chunk"):
        for name, detector in detectors.items():
            for frame, boxes, groups, kind in chunk:
                tallies[name].add(detector, frame, boxes, groups, kind)

    backend = make_detector("full-range").backend
    print(f"{date.today()}, {platform.machine()}, {os.cpu_count()} CPUs, {backend} {backend_version(backend)}, {args.threads} BlazeFace thread(s), seed {args.seed}")
    print(f"\nFER2013 test faces pasted into 640x480 frames ({args.frames} frames per size; groups of 2-6 faces by size band):")
    groups = [f"faces {s}" for s in SIZES] + [f"group {b}" for b in ("48-64", "64-96", ">=96")]
    print(table(tallies, groups, ["empty noise"], "faces "))
    print(f"\nReal photos (astronaut, camera, grace_hopper) on views of photos of no person ({args.frames // 4} frames per size; groups of the three):")
    groups = [f"photo {s}" for s in SIZES] + [f"photo group {b}" for b in ("48-64", "64-96", ">=96")]
    print(table(tallies, groups, ["empty scene"], "photo "))
    print(f"\nFaces that fill much of the frame (portraits {args.frames // 4} frames per size, pasted test faces {args.frames // 2}, {2 * args.frames} dataset images):")
    print(filling(args.frames, args.seed, args.threads))
    print(f"\nDetecting every Nth frame, boxes kept in between: a 128 px test face drifting through {args.frames} frames per speed:")
    print(skipping(args.frames, (2.0, 8.0), args.seed, args.threads))
    print(f"\nThe whole-frame pass's score: false boxes on {8 * args.frames} views of photos of no person; faces found that fill much of the frame:")
    print(whole_frame_score(args.frames, args.seed, args.threads))
    print(f"\nWhat each model finds in pasted test faces, one per frame ({args.frames} frames per size; look: short-range on the square cut for a candidate centred on the face):")
    print(reach(args.frames, args.seed, args.threads))


if __name__ == "__main__":
    main()
