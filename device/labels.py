"""Where each face's label goes on the overlay, so that no label is drawn over another.

In a group, faces sit side by side and their boxes touch; a label always drawn above its box
would overprint the neighbour's. Each label takes the first free place in this order: above its
box, below it, inside its top edge, then further up or down in steps of its own height; a place
that also keeps clear of other faces' boxes is preferred. Larger faces are placed first.
"""

from __future__ import annotations

Rect = tuple[int, int, int, int]  # x, y, w, h


def overlaps(a: Rect, b: Rect) -> bool:
    """Whether two rectangles share any pixel."""
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def drawn(box: Rect, line: int) -> Rect:
    """The pixels a box covers once drawn: OpenCV's rectangle includes its far edge and its
    ``line``-px line straddles the edge."""
    x, y, w, h = box
    return x - line, y - line, w + 2 * line + 1, h + 2 * line + 1


def candidates(box: Rect, size: tuple[int, int], frame: tuple[int, int], line: int = 1) -> list[Rect]:
    """Label rectangles for ``box`` in order of preference, kept inside a ``frame`` (width, height)."""
    x, y, w, h = drawn(box, line)
    label_w, label_h = size
    frame_w, frame_h = frame
    left = min(max(x, 0), max(0, frame_w - label_w))
    tops = [y - label_h, y + h, y + 2 * line]
    tops += [t for step in range(1, frame_h // max(label_h, 1) + 1) for t in (y - label_h * (step + 1), y + h + label_h * step)]
    inside = [t for t in tops if 0 <= t <= frame_h - label_h]
    return [(left, t, label_w, label_h) for t in inside] or [(left, 0, label_w, label_h)]


def place_labels(boxes: list[Rect], sizes: list[tuple[int, int]], frame: tuple[int, int], line: int = 1) -> list[Rect]:
    """One label rectangle per box (same order): none overlapping another where the frame has room."""
    placed: dict[int, Rect] = {}
    for i in sorted(range(len(boxes)), key=lambda k: -boxes[k][2] * boxes[k][3]):
        options = candidates(boxes[i], sizes[i], frame, line)
        others = [drawn(boxes[k], line) for k in range(len(boxes)) if k != i]
        free = [r for r in options if not any(overlaps(r, p) for p in placed.values())]
        clear = [r for r in free if not any(overlaps(r, b) for b in others)]
        placed[i] = (clear or free or options)[0]
    return [placed[i] for i in range(len(boxes))]
