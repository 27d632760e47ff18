"""The pictures a person would rather look at than read: training curves, confusion matrix.

matplotlib is imported inside each function (Agg backend, no display) so that importing
fer_edge stays light on the Pi.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from fer_edge.contract import CLASS_NAMES
from fer_edge.errors import FerEdgeError
from fer_edge.files import write_atomically
from fer_edge.metrics import EvalReport


def require_matplotlib(option: str) -> None:
    """A one-line error when matplotlib is missing: the Pi's device extra leaves it out."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise FerEdgeError(f"{option} draws a PNG and needs matplotlib: pip install matplotlib (or 'fer-edge[train]')") from None


def _pyplot():
    require_matplotlib("drawing a plot")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, png: Path) -> None:
    """Render ``fig`` (a Matplotlib figure) in memory, then write the PNG whole (a full disk is a
    one-line error, not a traceback or a truncated picture), and free the figure."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=110)
    finally:
        plt.close(fig)
    write_atomically(png, buffer.getvalue())


def plot_history(history_csv: Path, png: Path, title: str = "", average: dict[str, float] | None = None) -> None:
    """Loss and accuracy per epoch, training against validation, from Keras' CSV log.

    ``average`` (``val_loss``, ``val_accuracy`` of a run's weight average) is drawn as a level
    line, so the average can be read against the epochs it was made of.
    """
    with open(history_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return
    plt = _pyplot()
    epochs = [int(r["epoch"]) + 1 for r in rows]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    for key, ax in (("loss", ax_loss), ("accuracy", ax_acc)):
        ax.plot(epochs, [float(r[key]) for r in rows], label=f"train {key}")
        if f"val_{key}" in rows[0]:
            ax.plot(epochs, [float(r[f"val_{key}"]) for r in rows], label=f"validation {key}")
        if average and f"val_{key}" in average:
            ax.axhline(average[f"val_{key}"], color="black", ls="--", lw=1, label=f"weight average, validation {key}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    if "learning_rate" in rows[0]:
        ax_lr = ax_loss.twinx()
        ax_lr.plot(epochs, [float(r["learning_rate"]) for r in rows], color="grey", ls=":", label="learning rate")
        ax_lr.set_ylabel("learning rate", color="grey")
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, png)


def plot_confusion(report: EvalReport, png: Path, title: str = "") -> None:
    """Row-normalised confusion matrix with counts, so rare classes (disgust) stay readable."""
    plt = _pyplot()
    cm = report.confusion
    rates = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(7, 6))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for t in range(cm.shape[0]):
        for p in range(cm.shape[1]):
            colour = "white" if rates[t, p] > 0.5 else "black"
            ax.text(p, t, f"{100 * rates[t, p]:.0f}%\n{cm[t, p]}", ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(len(CLASS_NAMES)), CLASS_NAMES, rotation=45, ha="right")
    ax.set_yticks(range(len(CLASS_NAMES)), CLASS_NAMES)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or f"accuracy {100 * report.accuracy:.1f}%, weighted F1 {100 * report.weighted_f1:.1f}% (n={report.n})")
    fig.tight_layout()
    save_figure(fig, png)
