"""Read FER2013 in both forms users have: a folder tree of images, or the original CSV.

Both readers return the same :class:`~fer_edge.contract.Dataset` (uint8 faces, int labels) for the
same images, and both reject bad input with a :class:`~fer_edge.errors.FerEdgeError` that names the
file (and CSV line) and what is wrong, never guessing silently.

Decoding 28,709 JPEGs takes a few seconds; the decoded arrays are cached outside the repository
(``$FER_EDGE_CACHE`` or ``~/.cache/fer-edge``), keyed by the folder's file names, sizes and times,
so a changed file invalidates the cache and later loads take well under a second.
"""

from __future__ import annotations

import csv
import hashlib
import os
import sys
import warnings
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from fer_edge.contract import (
    CLASS_NAMES,
    CSV_USAGE_FOR_SPLIT,
    IMAGE_SIZE,
    NUM_CLASSES,
    Dataset,
)
from fer_edge.errors import FerEdgeError, first_line
from fer_edge.image_header import header_size

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
CSV_HEADER = ["emotion", "pixels", "Usage"]
SPLITS = tuple(CSV_USAGE_FOR_SPLIT)

#: Folder names accepted for each class (compared lower-case), beyond the canonical name.
CLASS_FOLDER_ALIASES: dict[str, int] = {
    **{name: i for i, name in enumerate(CLASS_NAMES)},
    **{str(i): i for i in range(NUM_CLASSES)},
    "anger": 0, "angries": 0,
    "disgusted": 1, "disgusts": 1,
    "fearful": 2, "fears": 2, "scared": 2,
    "happiness": 3, "happies": 3,
    "sadness": 4, "sads": 4,
    "surprised": 5, "surprises": 5,
    "neutrals": 6,
}


class MissingSplit(FerEdgeError):
    """The data holds no such split at all (a folder root without test/, a CSV without its Usage).

    Training can go on without the test split, whose report is then left to ``fer-edge eval``;
    every other fault in the data stops it.
    """


def default_data_dir() -> Path:
    """Where FER2013 is looked for: ``$FER2013_DIR``, else ``../shared/fer2013``."""
    return Path(os.environ.get("FER2013_DIR", "../shared/fer2013"))


def load_split(source: str | os.PathLike[str], split: str = "test", *, cache: bool = True) -> Dataset:
    """Load one split from a FER2013 folder root or CSV file, whichever ``source`` is.

    ``split`` is ``train`` or ``test`` for a folder root (its sub-folders), and ``train``
    (Training), ``test`` (PublicTest) or ``private`` (PrivateTest) for a CSV.
    """
    path = Path(source)
    if split not in SPLITS:
        raise FerEdgeError(f"--split {split!r} is not one of {', '.join(SPLITS)}")
    if not path.exists():
        raise FerEdgeError(
            f"{path}: no such file or folder; point --data (or $FER2013_DIR) at FER2013's folder root or CSV"
        )
    if path.is_dir():
        return load_folder(path, split, cache=cache)
    if path.suffix.lower() == ".csv":
        return load_csv(path, split)
    raise FerEdgeError(f"{path}: expected a folder root (with train/ and test/) or a .csv file")


def class_index_for_folder(folder: Path) -> int:
    """Label of a class folder, accepting capitalised, plural and synonym spellings."""
    index = CLASS_FOLDER_ALIASES.get(folder.name.lower())
    if index is None:
        raise FerEdgeError(
            f"{folder}: unknown class folder {folder.name!r}; expected one of {', '.join(CLASS_NAMES)}"
        )
    return index


def list_images(split_dir: Path) -> tuple[list[Path], np.ndarray]:
    """Image files of a split folder and their labels, in a stable (sorted) order."""
    if not split_dir.is_dir():
        raise MissingSplit(f"{split_dir}: split folder not found; a FER2013 folder root holds train/ and test/")
    files: list[Path] = []
    labels: list[int] = []
    seen: dict[int, Path] = {}
    for class_dir in sorted(p for p in split_dir.iterdir() if p.is_dir()):
        index = class_index_for_folder(class_dir)
        if index in seen:
            raise FerEdgeError(f"{class_dir}: same class as {seen[index]}; keep one folder per class")
        seen[index] = class_dir
        names = sorted(e.name for e in os.scandir(class_dir) if e.is_file() and not e.name.startswith("."))
        for name in names:
            if not name.lower().endswith(IMAGE_SUFFIXES):
                raise FerEdgeError(f"{class_dir / name}: not an image (expected {', '.join(IMAGE_SUFFIXES)})")
            files.append(class_dir / name)
            labels.append(index)
    if not files:
        raise FerEdgeError(f"{split_dir}: no images found in class folders")
    return files, np.asarray(labels, dtype=np.int64)


def read_face(path: Path) -> np.ndarray:
    """Decode one 48x48 grayscale face, or say exactly why it is not one.

    A 3-channel file whose channels are identical is grayscale stored as colour and is accepted;
    a real colour image is rejected rather than silently converted.
    """
    import cv2  # OpenCV decodes JPEG and PNG several times faster than pure-Python readers.

    data = np.fromfile(path, dtype=np.uint8)
    size = header_size(data)
    if size is not None and size != (IMAGE_SIZE, IMAGE_SIZE):  # refused before a huge one is decoded
        raise FerEdgeError(f"{path}: image is {size[0]}x{size[1]}; expected {IMAGE_SIZE}x{IMAGE_SIZE} (FER2013 size)")
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise FerEdgeError(f"{path}: unreadable or corrupt image")
    if image.dtype != np.uint8:
        raise FerEdgeError(f"{path}: {image.dtype} pixels; expected 8-bit grayscale")
    if image.ndim == 3:
        channels = image.shape[2]
        if channels == 1:
            image = image[..., 0]
        elif channels in (3, 4) and np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(
            image[..., 1], image[..., 2]
        ) and (channels == 3 or np.all(image[..., 3] == 255)):
            image = image[..., 0]
        else:
            raise FerEdgeError(
                f"{path}: {channels}-channel colour image; expected 48x48 grayscale (convert it first)"
            )
    if image.shape != (IMAGE_SIZE, IMAGE_SIZE):
        raise FerEdgeError(
            f"{path}: image is {image.shape[1]}x{image.shape[0]}; expected {IMAGE_SIZE}x{IMAGE_SIZE} (FER2013 size)"
        )
    return image


def read_faces(files: list[Path]) -> np.ndarray:
    """Decode many faces in parallel (OpenCV releases the GIL while decoding)."""
    from tqdm import tqdm

    images = np.empty((len(files), IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) * 2)) as pool:
        progress = tqdm(
            pool.map(read_face, files, chunksize=256),
            total=len(files),
            desc="decoding images",
            unit="img",
            disable=not sys.stderr.isatty(),
        )
        for i, image in enumerate(progress):
            images[i] = image
    return images


def cache_dir() -> Path:
    """Where decoded arrays are cached: outside the repository, never committed."""
    return Path(os.environ.get("FER_EDGE_CACHE", Path.home() / ".cache" / "fer-edge"))


def folder_fingerprint(files: list[Path]) -> str:
    """Hash of every file's path, size and modification time: any change gives a new key."""
    digest = hashlib.sha256()
    for f in files:
        st = f.stat()
        digest.update(f"{f.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:24]


def load_folder(root: str | os.PathLike[str], split: str = "test", *, cache: bool = True) -> Dataset:
    """Load ``root/<split>/<class>/*.jpg|png`` into a :class:`Dataset`."""
    root = Path(root)
    if split == "private":
        raise FerEdgeError(f"{root}: --split private exists only in the FER2013 CSV; a folder root has train/ and test/")
    files, labels = list_images(root / split)
    key = folder_fingerprint(files) if cache else ""
    cached = cache_dir() / f"{split}-{key}.npz"
    if cache and cached.is_file():
        stored = read_cache(cached, len(files))
        if stored is not None:
            return Dataset(*stored, source=str(root), split=split)
    images = read_faces(files)
    if cache:
        write_cache(cached, images, labels)
    return Dataset(images, labels, source=str(root), split=split)


def read_cache(path: Path, count: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The cached faces and labels, or None (with a note) for a cache that is damaged or not one of
    fer-edge's: it is then rebuilt from the images. Never loads pickled objects."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            images, labels = stored["images"], stored["labels"]
        if images.shape != (count, IMAGE_SIZE, IMAGE_SIZE) or images.dtype != np.uint8 or labels.shape != (count,):
            raise ValueError(f"arrays {images.shape} {images.dtype} and {labels.shape}, not {count} 48x48 uint8 faces")
        return images, labels
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        print(f"note: {path}: damaged or foreign cache ({first_line(exc)}); decoding the images again", file=sys.stderr)
        return None


def write_cache(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Write the cache atomically; a cache that cannot be written only costs speed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
        np.savez(tmp, images=images, labels=labels)
        os.replace(tmp, path)
    except OSError:
        pass


def load_csv(path: str | os.PathLike[str], split: str = "test") -> Dataset:
    """Load one Usage of the original ``emotion,pixels,Usage`` CSV into a :class:`Dataset`."""
    path = Path(path)
    usage = CSV_USAGE_FOR_SPLIT[split]
    expected_pixels = IMAGE_SIZE * IMAGE_SIZE
    labels: list[int] = []
    pixel_rows: list[np.ndarray] = []
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise FerEdgeError(f"{path}: empty; expected a header line {','.join(CSV_HEADER)} and a row per face")
            if [h.strip() for h in header] != CSV_HEADER:
                shown = ",".join(header)
                shown = shown if len(shown) <= 60 else shown[:60] + "..."
                raise FerEdgeError(f"{path}:1: header is {shown!r}; expected {','.join(CSV_HEADER)}")
            for row in reader:
                line = reader.line_num
                if len(row) != 3:
                    raise FerEdgeError(f"{path}:{line}: {len(row)} fields; expected 3 (emotion,pixels,Usage)")
                emotion, pixels, row_usage = row
                row_usage = row_usage.strip()
                if row_usage not in CSV_USAGE_FOR_SPLIT.values():
                    raise FerEdgeError(
                        f"{path}:{line}: Usage {row_usage!r}; expected Training, PublicTest or PrivateTest"
                    )
                if row_usage != usage:
                    continue
                try:
                    label = int(emotion)
                except ValueError:
                    raise FerEdgeError(f"{path}:{line}: emotion {emotion!r} is not an integer") from None
                if not 0 <= label < NUM_CLASSES:
                    raise FerEdgeError(f"{path}:{line}: emotion {label} out of range 0..{NUM_CLASSES - 1}")
                values = parse_pixels(pixels)
                if values is None or values.size != expected_pixels and len(pixels.split()) == expected_pixels:
                    raise FerEdgeError(f"{path}:{line}: pixels must be integers 0..255 separated by spaces")
                if values.size != expected_pixels:
                    raise FerEdgeError(
                        f"{path}:{line}: {len(pixels.split())} pixel values; expected {expected_pixels}"
                        " integers (48x48)"
                    )
                if values.min() < 0 or values.max() > 255:
                    raise FerEdgeError(f"{path}:{line}: pixel values outside 0..255")
                labels.append(label)
                pixel_rows.append(values.astype(np.uint8))
    except UnicodeDecodeError:
        raise FerEdgeError(f"{path}: not a text CSV file") from None
    except csv.Error as exc:
        raise FerEdgeError(f"{path}: malformed CSV ({exc})") from None
    if not labels:
        raise MissingSplit(f"{path}: no rows with Usage {usage} (--split {split})")
    images = np.stack(pixel_rows).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
    return Dataset(images, np.asarray(labels, dtype=np.int64), source=str(path), split=split)


def parse_pixels(pixels: str) -> np.ndarray | None:
    """Parse one space-separated pixel string in C; ``None`` when a token is not an integer.

    NumPy 1.x stops early at a bad token (with a DeprecationWarning), NumPy 2.x raises: the
    caller sees ``None`` or a short array, and reports the row either way.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return np.fromstring(pixels, dtype=np.int64, sep=" ")
        except ValueError:
            return None


def write_csv(path: str | os.PathLike[str], splits: dict[str, Dataset]) -> None:
    """Write datasets as the original FER2013 CSV (for users who need that form, and for tests)."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        for split, data in splits.items():
            usage = CSV_USAGE_FOR_SPLIT[split]
            for image, label in zip(data.images, data.labels):
                writer.writerow([int(label), " ".join(map(str, image.reshape(-1).tolist())), usage])
