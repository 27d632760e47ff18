"""The FER2013 readers, on the real images: counts, folder/CSV agreement, and every bad input."""

from __future__ import annotations

import re
import shutil
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from clitools import copy_test_faces

from fer_edge.contract import CLASS_NAMES, Dataset
from fer_edge.dataset import load_csv, load_folder, load_split, write_csv
from fer_edge.errors import FerEdgeError
from fer_edge.image_header import header_size


def readme_counts(fer2013_dir: Path) -> dict[str, tuple[int, dict[str, int]]]:
    """The per-split totals and per-class counts that the dataset's own README states."""
    counts = {}
    for line in (fer2013_dir / "README.md").read_text().splitlines():
        match = re.match(r"\|\s*(train|test)/\s*\|[^|]*\|\s*([\d,]+)\s*\(([^)]*)\)", line)
        if match:
            per_class = {name: int(n) for name, n in re.findall(r"(\w+) (\d+)", match.group(3))}
            counts[match.group(1)] = (int(match.group(2).replace(",", "")), per_class)
    return counts


@pytest.mark.parametrize("split", ["train", "test"])
def test_class_counts_match_the_dataset_readme(fer2013_dir: Path, split: str, request) -> None:
    data: Dataset = request.getfixturevalue(f"{split}_split")
    total, per_class = readme_counts(fer2013_dir)[split]
    assert len(data) == total
    assert data.class_counts() == per_class
    assert data.images.shape == (total, 48, 48) and data.images.dtype == np.uint8


def test_images_are_decoded_not_blank(test_split: Dataset) -> None:
    # Real faces: mid-grey on average with plenty of contrast; a decoding bug gives 0s or noise.
    assert 80 < test_split.images.mean() < 180
    assert test_split.images.std() > 40


def test_csv_and_folder_readers_agree_on_real_images(train_split: Dataset, test_split: Dataset, tmp_path: Path) -> None:
    # 40 real images per class from each split, written as the original CSV inside the test.
    rng = np.random.default_rng(1)
    picked = {}
    for split, data in (("train", train_split), ("test", test_split)):
        idx = np.sort(np.concatenate([rng.permutation(np.flatnonzero(data.labels == c))[:40] for c in range(7)]))
        picked[split] = Dataset(data.images[idx], data.labels[idx], data.source, split)
    csv_path = tmp_path / "fer2013.csv"
    write_csv(csv_path, picked)
    for split in ("train", "test"):
        from_csv = load_csv(csv_path, split)
        np.testing.assert_array_equal(from_csv.images, picked[split].images)
        np.testing.assert_array_equal(from_csv.labels, picked[split].labels)
    assert load_split(csv_path, "test").class_counts() == picked["test"].class_counts()


def test_csv_reader_takes_the_private_split(tmp_path: Path, test_split: Dataset) -> None:
    subset = Dataset(test_split.images[:5], test_split.labels[:5], "", "private")
    csv_path = tmp_path / "p.csv"
    write_csv(csv_path, {"private": subset})
    np.testing.assert_array_equal(load_split(csv_path, "private").images, subset.images)


def test_folder_reader_accepts_capitalised_and_synonym_class_names(fer2013_dir: Path, tmp_path: Path) -> None:
    spellings = ["Angry", "DISGUSTED", "fearful", "Happiness", "sadness", "Surprised", "Neutral"]
    for canonical, spelling in zip(CLASS_NAMES, spellings):
        dest = tmp_path / "test" / spelling
        dest.mkdir(parents=True)
        for src in sorted((fer2013_dir / "test" / canonical).iterdir())[:3]:
            shutil.copy(src, dest / src.name)
    data = load_folder(tmp_path, "test", cache=False)
    assert data.class_counts() == {name: 3 for name in CLASS_NAMES}


def test_cached_load_equals_fresh_decode(fer2013_dir: Path, test_split: Dataset, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FER_EDGE_CACHE", str(tmp_path / "cache"))
    fresh = load_folder(fer2013_dir, "test", cache=False)
    load_folder(fer2013_dir, "test")  # writes the cache
    cached = load_folder(fer2013_dir, "test")
    assert list((tmp_path / "cache").glob("*.npz"))
    np.testing.assert_array_equal(fresh.images, cached.images)
    np.testing.assert_array_equal(fresh.labels, cached.labels)


@pytest.mark.parametrize("spoil", ["cut short", "other arrays", "wrong count"])
def test_a_damaged_or_foreign_cache_is_rebuilt_with_a_note(small_tree: Path, tmp_path: Path, monkeypatch, capsys, spoil: str) -> None:
    monkeypatch.setenv("FER_EDGE_CACHE", str(tmp_path / "cache"))
    fresh = load_folder(small_tree, "test")  # writes the cache
    (cache,) = (tmp_path / "cache").glob("*.npz")
    if spoil == "cut short":
        cache.write_bytes(cache.read_bytes()[:100])
    elif spoil == "other arrays":
        np.savez(cache, weights=np.zeros(3))
    else:
        np.savez(cache, images=fresh.images[:3], labels=fresh.labels[:3])
    capsys.readouterr()
    again = load_folder(small_tree, "test")
    assert "damaged or foreign cache" in capsys.readouterr().err
    np.testing.assert_array_equal(again.images, fresh.images)
    np.testing.assert_array_equal(load_folder(small_tree, "test").labels, fresh.labels)  # and rewritten whole


# ---------------------------------------------------------------- bad input: one clear error each


def huge_png_header(width: int, height: int) -> bytes:
    """The start of a PNG that claims ``width`` x ``height``: what a decompression bomb shows first."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))


def test_image_sizes_are_read_from_the_header_before_decoding() -> None:
    for suffix in (".png", ".jpg", ".bmp"):
        ok, encoded = cv2.imencode(suffix, np.zeros((37, 53, 3), np.uint8))
        assert header_size(encoded.tobytes()) == (53, 37), suffix
    assert header_size(huge_png_header(30000, 30000)) == (30000, 30000)
    assert header_size(b"RIFF....WEBP") is None


def test_a_huge_image_in_the_data_is_refused_by_its_header(small_tree: Path, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FER_EDGE_CACHE", str(tmp_path / "cache"))
    (small_tree / "test" / "angry" / "bomb.png").write_bytes(huge_png_header(30000, 30000))
    with pytest.raises(FerEdgeError, match="bomb.png: image is 30000x30000; expected 48x48"):
        load_folder(small_tree, "test")


@pytest.fixture
def small_tree(fer2013_dir: Path, tmp_path: Path) -> Path:
    """A valid folder root with 2 real images per class in test/."""
    return copy_test_faces(fer2013_dir, tmp_path / "root", 2)


def expect_error(match: str, func, *args, **kwargs) -> str:
    with pytest.raises(FerEdgeError, match=match) as info:
        func(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_missing_folder(tmp_path: Path) -> None:
    expect_error(r"nowhere: no such file or folder", load_split, tmp_path / "nowhere", "test")


def test_missing_split_folder(small_tree: Path) -> None:
    expect_error(r"train: split folder not found", load_split, small_tree, "train", cache=False)


def test_unknown_class_folder(small_tree: Path) -> None:
    (small_tree / "test" / "contempt").mkdir()
    expect_error(r"contempt: unknown class folder 'contempt'", load_split, small_tree, "test", cache=False)


def test_corrupt_image(small_tree: Path) -> None:
    bad = small_tree / "test" / "happy" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    message = expect_error(r"broken\.jpg: unreadable or corrupt image", load_split, small_tree, "test", cache=False)
    assert str(bad) in message


def test_image_of_another_size(small_tree: Path) -> None:
    cv2.imwrite(str(small_tree / "test" / "sad" / "big.png"), np.full((64, 50), 128, np.uint8))
    expect_error(r"big\.png: image is 50x64; expected 48x48", load_split, small_tree, "test", cache=False)


def test_colour_image(small_tree: Path) -> None:
    colour = np.zeros((48, 48, 3), np.uint8)
    colour[..., 2] = 255
    cv2.imwrite(str(small_tree / "test" / "fear" / "red.png"), colour)
    expect_error(r"red\.png: 3-channel colour image", load_split, small_tree, "test", cache=False)


def test_grey_stored_as_rgb_is_accepted(small_tree: Path) -> None:
    grey = np.repeat(np.arange(48 * 48, dtype=np.uint8).reshape(48, 48, 1), 3, axis=2)
    cv2.imwrite(str(small_tree / "test" / "fear" / "grey_rgb.png"), grey)
    data = load_split(small_tree, "test", cache=False)
    assert any(np.array_equal(img, grey[..., 0]) for img in data.images)


def test_not_an_image_file(small_tree: Path) -> None:
    (small_tree / "test" / "angry" / "notes.txt").write_text("hello")
    expect_error(r"notes\.txt: not an image", load_split, small_tree, "test", cache=False)


def write_rows(path: Path, rows: list[str], header: str = "emotion,pixels,Usage") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


GOOD_PIXELS = " ".join(["128"] * 2304)


def test_csv_wrong_header(tmp_path: Path) -> None:
    csv_path = write_rows(tmp_path / "a.csv", [f"0,{GOOD_PIXELS},PublicTest"], header="label,pixels,usage")
    expect_error(r"a\.csv:1: header is", load_split, csv_path, "test")


def test_a_csv_without_its_header_or_empty_says_so_in_a_short_line(tmp_path: Path) -> None:
    """A first row of pixels is shown cut short, not as 2,304 numbers on one line."""
    headless = tmp_path / "headless.csv"
    headless.write_text(f"0,{GOOD_PIXELS},PublicTest\n")
    message = expect_error(r"headless\.csv:1: header is '0,", load_split, headless, "test")
    assert len(message) < 200, message
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    expect_error(r"empty\.csv: empty; expected a header line", load_split, empty, "test")


def test_csv_wrong_pixel_count(tmp_path: Path) -> None:
    rows = [f"0,{GOOD_PIXELS},PublicTest", f"3,{' '.join(['1'] * 2000)},PublicTest"]
    expect_error(r"a\.csv:3: 2000 pixel values; expected 2304", load_split, write_rows(tmp_path / "a.csv", rows), "test")


def test_csv_label_out_of_range(tmp_path: Path) -> None:
    rows = [f"7,{GOOD_PIXELS},PublicTest"]
    expect_error(r"a\.csv:2: emotion 7 out of range 0\.\.6", load_split, write_rows(tmp_path / "a.csv", rows), "test")


def test_csv_pixel_out_of_range_and_non_integer(tmp_path: Path) -> None:
    too_big = " ".join(["300"] + ["1"] * 2303)
    expect_error(r"a\.csv:2: pixel values outside 0\.\.255", load_split, write_rows(tmp_path / "a.csv", [f"1,{too_big},PublicTest"]), "test")
    words = " ".join(["x"] + ["1"] * 2303)
    expect_error(r"b\.csv:2: pixels must be integers", load_split, write_rows(tmp_path / "b.csv", [f"1,{words},PublicTest"]), "test")


def test_csv_unknown_usage(tmp_path: Path) -> None:
    expect_error(r"a\.csv:2: Usage 'Validation'", load_split, write_rows(tmp_path / "a.csv", [f"1,{GOOD_PIXELS},Validation"]), "test")


def test_private_split_needs_the_csv(small_tree: Path) -> None:
    expect_error(r"--split private exists only in the FER2013 CSV", load_split, small_tree, "private")
