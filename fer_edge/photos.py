"""Real photos with known face boxes, placed in 640x480 frames: detection with context and clutter.

FER2013 crops end at the hairline and chin, so pasted test faces (``placed_faces.py``) show a
detector no hair, neck or room. These photos do: the public-domain portraits that scikit-image
(``astronaut``: Eileen Collins, NASA; ``camera``: the cameraman) and Matplotlib (``grace_hopper``:
US Navy) ship, scaled so the face is a chosen size, as a person a few metres from a Pi camera
looks. Photos of no person (scikit-image's coffee, cat, rocket, textures...) are the frames where
every box is a false one. Frames are built in memory; no photo or frame is written to the
repository. Needs scikit-image (the ``dev`` extra) and Matplotlib (the ``train`` extra).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from fer_edge.placed_faces import FRAME_HEIGHT, FRAME_WIDTH, noise_frame

#: Photos of no person in scikit-image's data (all ship with the package; ``chelsea`` is a cat,
#: whose face a face detector should not report).
EMPTY_SCENES: tuple[str, ...] = (
    "coffee", "chelsea", "rocket", "brick", "grass", "gravel", "coins", "moon", "page", "text",
    "hubble_deep_field", "horse", "clock",
)  # fmt: skip


@dataclass(frozen=True)
class Photo:
    """A BGR photo and its faces' boxes ``(x, y, w, h)``, drawn by hand as FER2013 crops them
    (hairline to chin, square), in the photo's pixels."""

    name: str
    image: np.ndarray
    faces: tuple[tuple[int, int, int, int], ...]


def as_bgr(image: np.ndarray) -> np.ndarray:
    """A scikit-image array (grey, RGB, RGBA, float or bool) as uint8 BGR."""
    if image.dtype != np.uint8:
        image = (np.clip(image.astype(np.float64), 0.0, 1.0) * 255).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2BGR)


def portraits() -> list[Photo]:
    """The public-domain portraits, one face each."""
    import matplotlib.cbook
    import skimage.data

    hopper = cv2.imread(str(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)), cv2.IMREAD_COLOR)
    return [
        Photo("astronaut", as_bgr(skimage.data.astronaut()), ((165, 55, 122, 122),)),
        Photo("camera", as_bgr(skimage.data.camera()), ((180, 106, 92, 92),)),
        Photo("grace_hopper", hopper, ((158, 112, 222, 222),)),
    ]


def empty_scenes() -> list[np.ndarray]:
    """The scikit-image photos of no person, BGR."""
    import skimage.data

    return [as_bgr(getattr(skimage.data, name)()) for name in EMPTY_SCENES]


def scene_frame(scene: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 640x480 view of ``scene``: scaled to cover the frame (1-1.5x more), cut at random, maybe mirrored."""
    height, width = scene.shape[:2]
    scale = max(FRAME_WIDTH / width, FRAME_HEIGHT / height) * rng.uniform(1.0, 1.5)
    big = cv2.resize(scene, (max(FRAME_WIDTH, round(width * scale)), max(FRAME_HEIGHT, round(height * scale))))
    x = int(rng.integers(0, big.shape[1] - FRAME_WIDTH + 1))
    y = int(rng.integers(0, big.shape[0] - FRAME_HEIGHT + 1))
    view = big[y : y + FRAME_HEIGHT, x : x + FRAME_WIDTH]
    return np.ascontiguousarray(view[:, ::-1] if rng.random() < 0.5 else view)


def background(scenes: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """A BGR frame with no face: a view of one of ``scenes``, or grey noise when there are none."""
    if not scenes:
        return noise_frame(rng, channels=3)
    return scene_frame(scenes[int(rng.integers(len(scenes)))], rng)


def place_photo(
    photo: Photo, face_size: int, rng: np.random.Generator, scenes: list[np.ndarray] | None = None
) -> tuple[np.ndarray, list[list[int]]]:
    """A 640x480 BGR frame showing ``photo`` scaled so its first face is ``face_size`` px wide, and
    the faces' boxes in it. A photo larger than the frame is cut around the face; a smaller one is
    pasted at random on a view of ``scenes`` (grey noise without them)."""
    if not 0 < face_size <= min(FRAME_WIDTH, FRAME_HEIGHT):
        raise ValueError(f"face size {face_size}: must be between 1 and {min(FRAME_WIDTH, FRAME_HEIGHT)} px")
    scale = face_size / photo.faces[0][2]
    image = cv2.resize(photo.image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    faces = np.round(np.asarray(photo.faces, dtype=np.float64) * scale).astype(int)
    fx, fy, fw, fh = faces[0]
    height, width = image.shape[:2]
    # Cut the photo to the frame where it is larger, keeping the first face whole inside.
    cut_x = int(rng.integers(max(0, fx + fw - FRAME_WIDTH), min(fx, width - FRAME_WIDTH) + 1)) if width > FRAME_WIDTH else 0
    cut_y = int(rng.integers(max(0, fy + fh - FRAME_HEIGHT), min(fy, height - FRAME_HEIGHT) + 1)) if height > FRAME_HEIGHT else 0
    image = image[cut_y : cut_y + FRAME_HEIGHT, cut_x : cut_x + FRAME_WIDTH]
    height, width = image.shape[:2]
    frame = background(scenes or [], rng)
    at_x = int(rng.integers(0, FRAME_WIDTH - width + 1))
    at_y = int(rng.integers(0, FRAME_HEIGHT - height + 1))
    frame[at_y : at_y + height, at_x : at_x + width] = image
    shift = np.array([at_x - cut_x, at_y - cut_y, 0, 0])
    boxes = [list(map(int, box + shift)) for box in faces]
    return frame, [box for box in boxes if inside_frame(box)]


def inside_frame(box: list[int]) -> bool:
    x, y, w, h = box
    return x >= 0 and y >= 0 and x + w <= FRAME_WIDTH and y + h <= FRAME_HEIGHT


def head_and_shoulders(photo: Photo, face_size: int) -> tuple[np.ndarray, list[int]]:
    """The photo's first person cut from a face height above the face to one below, 2.4 faces
    wide, scaled so the face is ``face_size`` px; and the face's box in the cut."""
    x, y, w, h = photo.faces[0]
    height, width = photo.image.shape[:2]
    left, top = max(0, x - int(0.7 * w)), max(0, y - h // 2)
    right, bottom = min(width, x + w + int(0.7 * w)), min(height, y + 2 * h)
    scale = face_size / w
    cut = cv2.resize(photo.image[top:bottom, left:right], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    box = [round((x - left) * scale), round((y - top) * scale), face_size, face_size]
    return cut, box


def photo_group(
    photos: list[Photo], face_sizes: list[int], rng: np.random.Generator, scenes: list[np.ndarray] | None = None
) -> tuple[np.ndarray, list[list[int]]]:
    """A 640x480 BGR frame of several real people side by side, one per column (the portraits'
    head and shoulders at ``face_sizes``), on a view of ``scenes``; and their face boxes."""
    frame = background(scenes or [], rng)
    column = FRAME_WIDTH // len(photos)
    if max(face_sizes) > column or 2 * max(face_sizes) > FRAME_HEIGHT:
        raise ValueError(f"faces of {max(face_sizes)} px do not fit {len(photos)} columns of {column} px")
    boxes = []
    for k, (photo, size) in enumerate(zip(photos, face_sizes)):
        cut, box = head_and_shoulders(photo, size)
        # Narrow the cut to its column around the face, and to the frame's height.
        left = int(np.clip(box[0] + size // 2 - column // 2, 0, max(0, cut.shape[1] - column)))
        cut = cut[:FRAME_HEIGHT, left : left + column]
        box = [box[0] - left, box[1], size, size]
        height, width = cut.shape[:2]
        at_x = k * column + int(rng.integers(0, column - width + 1))
        at_y = int(rng.integers(0, FRAME_HEIGHT - height + 1))
        frame[at_y : at_y + height, at_x : at_x + width] = cut
        boxes.append([box[0] + at_x, box[1] + at_y, size, size])
    return frame, boxes
