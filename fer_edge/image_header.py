"""An image's width and height from its file header, read before the image is decoded.

A small file can hold an enormous image (a PNG of 30000x30000 flat pixels compresses to a few
hundred KB and decodes to 2.7 GB), so readers check the header's size against what they expect
before handing the bytes to OpenCV. PNG, JPEG and BMP (Windows and OS/2) are read here; for other
formats (WebP, TIFF) the size is not known before decoding and OpenCV's own limit applies (about
a gigapixel).
"""

from __future__ import annotations

import struct

import numpy as np

#: JPEG start-of-frame markers, which carry the image size (not DHT, JPG or DAC, which share the range).
JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def header_size(data: bytes | memoryview | np.ndarray) -> tuple[int, int] | None:
    """``(width, height)`` from the first bytes of a PNG, JPEG or BMP file; None if not known."""
    head = bytes(data[:32])
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return struct.unpack(">II", head[16:24])
    if head[:2] == b"BM" and len(head) >= 26:
        (header,) = struct.unpack("<I", head[14:18])
        if header == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes
            return struct.unpack("<HH", head[18:22])
        width, height = struct.unpack("<ii", head[18:26])
        return abs(width), abs(height)  # a negative height means rows stored top-down
    if head[:2] == b"\xff\xd8":
        return jpeg_size(bytes(data))  # the frame header may follow large EXIF or ICC segments
    return None


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Walk a JPEG's marker segments to its start-of-frame, which holds height and width."""
    at = 2
    while at + 9 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # segments without a length
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in JPEG_FRAME_MARKERS:
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        at += 2 + length
    return None
