"""FER2013's training faces packed small enough to carry to an offline GPU machine, unpacked there as the CSV.

An offline batch GPU machine (no network, at most 64 MiB uploaded with the working tree) is the target. FER2013's
JPEG folders hold 61 MB and its CSV 266 MB; the decoded training faces, each pixel stored as the
difference to the one above it and compressed with LZMA, 50 MB. So ``pack`` writes the train
split (uint8 pixels, labels) into one ``.npz.xz``, and ``unpack`` turns it back into the original
``emotion,pixels,Usage`` CSV, which ``fer-edge train --data`` reads like the folders. The test
split stays behind: training on that CSV ends without a test report, made afterwards where the
data is (``fer-edge eval RUN/model.keras --json RUN/metrics.json --confusion RUN/confusion.png``).

Rows keep the order the folder reader gives, and the validation split is drawn from positions
in that order (fer_edge/splits.py): a run on the unpacked CSV holds out the same faces as a run
on the folders with the same ``--seed``, so its models can teach, or be compared with, the
models trained on the workstation. ``unpack`` checks the faces it wrote against the pack's digest.

    python tools/offline_gpu/carry.py pack ../shared/fer2013 .carry/fer2013-train.npz.xz
    python tools/offline_gpu/carry.py unpack .carry/fer2013-train.npz.xz /tmp/fer2013.csv   # on the GPU machine

The pack is derived from FER2013: it stays outside the repository (an ignored folder), like the
data itself.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import lzma
import os
import sys
from pathlib import Path

import numpy as np

from fer_edge.contract import Dataset
from fer_edge.dataset import load_split, write_csv
from fer_edge.errors import FerEdgeError

#: The splits a pack holds: what training reads.
PACKED_SPLITS = ("train",)
#: Each byte minus the one a row (48 pixels) earlier, then LZMA: 50 MB against 52 MB plain.
FILTERS = [{"id": lzma.FILTER_DELTA, "dist": 48}, {"id": lzma.FILTER_LZMA2, "preset": 6}]


def digest(images: np.ndarray, labels: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(images).tobytes() + np.asarray(labels, dtype=np.int64).tobytes()).hexdigest()


def pack(source: str | os.PathLike[str], dest: str | os.PathLike[str]) -> Path:
    """Write ``source``'s train split (a folder root or CSV) into ``dest`` (.npz.xz)."""
    arrays: dict[str, np.ndarray] = {}
    for split in PACKED_SPLITS:
        data = load_split(source, split)
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = data.images, data.labels.astype(np.int64)
        arrays[f"{split}_sha256"] = np.array(digest(data.images, data.labels))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    with lzma.open(tmp, "wb", filters=FILTERS) as handle:
        handle.write(buffer.getbuffer())
    tmp.replace(dest)
    return dest


def unpack(pack_path: str | os.PathLike[str], csv_path: str | os.PathLike[str]) -> Path:
    """Write the pack as FER2013's original CSV (its Training rows), checked against the pack."""
    pack_path, csv_path = Path(pack_path), Path(csv_path)
    try:
        with lzma.open(pack_path) as handle:
            arrays = dict(np.load(io.BytesIO(handle.read())))
    except (OSError, lzma.LZMAError, ValueError) as exc:
        raise FerEdgeError(f"{pack_path}: not a FER2013 pack ({exc})") from None
    missing = [f"{split}_{part}" for split in PACKED_SPLITS for part in ("images", "labels", "sha256") if f"{split}_{part}" not in arrays]
    if missing:
        raise FerEdgeError(f"{pack_path}: not a FER2013 pack (no {', '.join(missing)})")
    tmp = csv_path.with_name(f".{csv_path.name}.tmp")
    write_csv(tmp, {split: Dataset(arrays[f"{split}_images"], arrays[f"{split}_labels"], str(pack_path), split) for split in PACKED_SPLITS})
    tmp.replace(csv_path)
    for split in PACKED_SPLITS:
        back = load_split(csv_path, split)
        if digest(back.images, back.labels) != str(arrays[f"{split}_sha256"]):
            csv_path.unlink()
            raise FerEdgeError(f"{csv_path}: its {split} rows differ from {pack_path}'s")
    return csv_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/offline_gpu/carry.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    packing = commands.add_parser("pack", help="FER2013 folder root or CSV -> .npz.xz")
    packing.add_argument("source")
    packing.add_argument("dest")
    unpacking = commands.add_parser("unpack", help=".npz.xz -> the original emotion,pixels,Usage CSV")
    unpacking.add_argument("pack")
    unpacking.add_argument("csv")
    args = parser.parse_args(argv)
    try:
        written = pack(args.source, args.dest) if args.command == "pack" else unpack(args.pack, args.csv)
    except FerEdgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {written} ({written.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
