"""``fer-edge convert``: make a TFLite model from a ``.keras`` one, prove it, and write its sidecar.

The order is what makes the output trustworthy: convert into a temporary file beside ``--out``,
check the tensors are what the mode promises, score float and TFLite on the test split, and
only when the drop is within ``--tolerance`` write its sidecar and move the model into place.
A refused or failed conversion leaves no ``.tflite``, no sidecar and no temporary file behind
(an earlier model at ``--out`` stays as it was, with its own sidecar).
"""

from __future__ import annotations

import hashlib
import os
import shlex
import zipfile
from dataclasses import dataclass
from pathlib import Path

from fer_edge import __version__
from fer_edge.contract import INPUT_SHAPE, NUM_CLASSES, PREPROCESSING
from fer_edge.convert.check import DEFAULT_TOLERANCE, Comparison, compare
from fer_edge.convert.quantize import DEFAULT_CALIBRATION_SIZE, MODES, CalibrationSample, calibration_sample, tflite_bytes
from fer_edge.convert.tensors import TFLiteTensors, read_tensors
from fer_edge.dataset import default_data_dir, load_split
from fer_edge.errors import FerEdgeError
from fer_edge.evaluate import KERAS_SUFFIXES, load_keras_model
from fer_edge.files import check_no_clash, check_output_path, remove_stale_temporaries, write_json
from fer_edge.sidecar import sidecar_path, training_provenance, write_sidecar
from fer_edge.train.run_folder import run_record_beside


class ConversionRefused(FerEdgeError):
    """The converted model lost more accuracy than the tolerance allows; nothing was written."""

    def __init__(self, message: str, comparison: Comparison) -> None:
        super().__init__(message)
        self.comparison = comparison


@dataclass(frozen=True)
class ConversionResult:
    """A converted, checked model: where it is, what it is and how it compares with the float one."""

    out: Path
    sidecar: Path
    mode: str
    tensors: TFLiteTensors
    comparison: Comparison
    card: dict


def default_out(model_path: str | os.PathLike[str], mode: str) -> Path:
    """``runs/edge/model.keras`` -> ``runs/edge/model-int8.tflite``."""
    path = Path(model_path)
    return path.with_name(f"{path.stem}-{mode}.tflite")


def convert_command(model: Path, mode: str, data: Path, out: Path, calibration_size: int, seed: int,
                    tolerance: float, test_time_flip: bool, json_out: Path | None, confusion: Path | None) -> str:
    """The ``fer-edge convert`` command line equivalent to a call, with every setting spelled out."""
    args = ["fer-edge", "convert", str(model), f"--{mode}", "--data", str(data), "--out", str(out)]
    if mode == "int8":
        args += ["--calibration-size", str(calibration_size), "--seed", str(seed)]
    args += ["--tolerance", f"{tolerance:g}"]
    if test_time_flip:
        args.append("--test-time-flip")
    if json_out is not None:
        args += ["--json", str(json_out)]
    if confusion is not None:
        args += ["--confusion", str(confusion)]
    return shlex.join(args)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_model_shape(model, path: Path) -> None:
    """The float model must take the contract's faces and give one probability per class."""
    input_shape = tuple(getattr(model, "input_shape", ()) or ())[1:]
    output_shape = tuple(getattr(model, "output_shape", ()) or ())
    if input_shape != INPUT_SHAPE:
        raise FerEdgeError(f"{path}: model input is {input_shape}; fer-edge models take {INPUT_SHAPE} (48x48 grayscale)")
    if not output_shape or output_shape[-1] != NUM_CLASSES:
        raise FerEdgeError(f"{path}: model output is {output_shape}; fer-edge models give {NUM_CLASSES} class probabilities")


def check_tensors(tensors: TFLiteTensors, mode: str, path: Path) -> None:
    """The converted model must be what the mode promises; int8 means integer from end to end."""
    if tensors.input.shape[1:] != INPUT_SHAPE or tensors.output.shape[-1] != NUM_CLASSES:
        raise FerEdgeError(f"{path}: converted model has input {tensors.input.shape} and output {tensors.output.shape}; conversion went wrong")
    if mode == "int8" and not tensors.integer_only:
        raise FerEdgeError(
            f"{path}: int8 conversion kept float tensors (input {tensors.input.dtype}, output {tensors.output.dtype}, "
            f"{len(tensors.float_tensors)} float tensors inside, e.g. {list(tensors.float_tensors[:3])}); "
            "the model uses an op TFLite cannot run in int8"
        )
    if mode == "int8" and (tensors.input.scale is None or abs(tensors.input.scale - 1.0) > 0.01):
        # raw-pixels-v1 feeds 0..255 pixels: scale ~1 represents each exactly; anything else loses pixels.
        raise FerEdgeError(
            f"{path}: int8 input scale {tensors.input.scale}, expected about 1.0 for 0..255 pixels; "
            "the calibration faces do not span 0..255 (raise --calibration-size) or do not follow the preprocessing contract"
        )


def relative_to(path: Path, folder: Path) -> str:
    """``path`` as the sidecar records it: relative to the sidecar's folder when it can be."""
    try:
        return os.path.relpath(path.resolve(), folder.resolve())
    except ValueError:  # another drive on Windows
        return str(path.resolve())


def require_tensorflow_backend() -> None:
    """TFLite's converter takes Keras models built on TensorFlow; say so in one line, not an ImportError.

    A model trained on another backend converts all the same: ``.keras`` files are backend-neutral.
    """
    import importlib.util

    if importlib.util.find_spec("tensorflow") is None:
        raise FerEdgeError("fer-edge convert needs TensorFlow (TFLite's converter): pip install -e '.[train]'")
    from fer_edge.train.backend import backend_name

    if backend_name() != "tensorflow":
        raise FerEdgeError(
            f"fer-edge convert needs Keras's TensorFlow backend, not {backend_name()}: set KERAS_BACKEND=tensorflow "
            "(a model trained on any backend converts there)"
        )


def convert(
    model_path: str | os.PathLike[str],
    mode: str = "int8",
    data: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    *,
    calibration_size: int = DEFAULT_CALIBRATION_SIZE,
    seed: int = 0,
    tolerance: float = DEFAULT_TOLERANCE,
    test_time_flip: bool = False,
    json_out: str | os.PathLike[str] | None = None,
    confusion: str | os.PathLike[str] | None = None,
    command: str | None = None,
    verbose: bool = True,
) -> ConversionResult:
    """Convert ``model_path`` (a ``.keras``) in ``mode``, prove it on the test split, and write it.

    Raises :class:`ConversionRefused` (a :class:`FerEdgeError`) when the accuracy drop exceeds
    ``tolerance`` points; then nothing is written. Writes ``out``, its sidecar, and on request the
    ``json_out`` report and the ``confusion`` PNG of the TFLite model on the test split.
    ``command`` is recorded in the sidecar; by default the equivalent ``fer-edge convert`` line.
    """
    say = print if verbose else (lambda *_: None)
    model_path = Path(model_path)
    data = Path(data) if data is not None else default_data_dir()
    out = Path(out) if out is not None else default_out(model_path, mode)
    json_out = Path(json_out) if json_out is not None else None
    confusion = Path(confusion) if confusion is not None else None
    if mode not in MODES:
        raise FerEdgeError(f"mode {mode!r} is not one of {', '.join(MODES)} (--int8, --float16, --dynamic)")
    if out.suffix.lower() != ".tflite":
        raise FerEdgeError(f"--out {out}: must end in .tflite (e.g. {default_out(model_path, mode).name})")
    if confusion is not None and confusion.suffix.lower() != ".png":
        raise FerEdgeError(f"--confusion {confusion}: must end in .png")
    for option, path in (("--out", out), ("--json", json_out), ("--confusion", confusion)):
        if path is not None:
            check_output_path(option, path)
    if model_path.suffix.lower() not in KERAS_SUFFIXES:
        raise FerEdgeError(f"{model_path}: expected a .keras model (the float model fer-edge train writes)")
    if sidecar_path(out).resolve() == sidecar_path(model_path).resolve():
        raise FerEdgeError(f"--out {out}: its sidecar would overwrite {sidecar_path(model_path)}; choose another name, e.g. {default_out(model_path, mode).name}")
    run_record = run_record_beside(model_path)
    check_no_clash(
        {"--out": out, "--out's sidecar": sidecar_path(out), "--json": json_out, "--confusion": confusion},
        {"the model": model_path, "the model's sidecar": sidecar_path(model_path), "its run's run.json": run_record if run_record.is_file() else None, "--data": data},
    )
    if not tolerance >= 0:
        raise FerEdgeError(f"--tolerance {tolerance}: must be 0 or more accuracy points")
    # A conversion killed mid-write leaves its temporary model and sidecar behind: clear them.
    for stale in remove_stale_temporaries(out.parent, f".{out.stem}.", ".tmp.tflite") + remove_stale_temporaries(
        out.parent, f".{sidecar_path(out).name}.", ".tmp"
    ):
        say(f"removed {stale.name}, left by a conversion that was stopped")
    if not model_path.is_file():
        raise FerEdgeError(f"{model_path}: model file not found")
    if model_path.suffix.lower() == ".keras" and not zipfile.is_zipfile(model_path):
        raise FerEdgeError(f"{model_path}: not a Keras model (a .keras file is a zip archive, as fer-edge train writes it)")
    require_tensorflow_backend()  # after the checks that need no TensorFlow, which then answer at once
    command = command or convert_command(model_path, mode, data, out, calibration_size, seed, tolerance, test_time_flip, json_out, confusion)
    training, commands = training_provenance(model_path)

    model = load_keras_model(model_path)
    check_model_shape(model, model_path)
    test = load_split(data, "test")
    calibration: CalibrationSample | None = None
    if mode == "int8":
        calibration = calibration_sample(load_split(data, "train"), calibration_size, seed)
        say(f"calibrating on {len(calibration.images)} training faces ({calibration.per_class} per class, seed {seed})")

    tmp = out.with_name(f".{out.stem}.{os.getpid()}.tmp.tflite")
    sidecar = sidecar_path(out)
    sidecar_before = sidecar.read_bytes() if sidecar.is_file() else None
    try:
        tmp.write_bytes(tflite_bytes(model, mode, None if calibration is None else calibration.images))
        tensors = read_tensors(tmp)
        check_tensors(tensors, mode, out)
        say(f"checking {mode} against float on {len(test)} test faces of {test.source}")
        comparison = compare(model, tmp, test, tolerance=tolerance, test_time_flip=test_time_flip, name=str(out))
        say(comparison.summary(mode))
        if not comparison.accepted:
            raise ConversionRefused(
                f"{out}: {mode} accuracy {100 * comparison.tflite_report.accuracy:.2f}% is "
                f"{comparison.drop_points:.2f} points below float {100 * comparison.float_report.accuracy:.2f}%, "
                f"more than --tolerance {tolerance:g}; nothing written (try more --calibration-size, another mode, "
                "or quantization-aware training)",
                comparison,
            )
        size = tmp.stat().st_size
        files: dict[str, str] = {}
        if confusion is not None:
            from fer_edge.plots import plot_confusion

            plot_confusion(comparison.tflite_report, confusion, title=(
                f"{out.name} ({mode}) on test: accuracy {100 * comparison.tflite_report.accuracy:.1f}%, "
                f"weighted F1 {100 * comparison.tflite_report.weighted_f1:.1f}%"
            ))
            files["confusion"] = relative_to(confusion, out.parent)
        card = tflite_card(
            mode=mode, tensors=tensors, comparison=comparison, size=size, sha256=file_sha256(tmp), test_time_flip=test_time_flip,
            calibration=calibration, model_path=model_path, out=out, test_source=test.source,
            training=training, commands=[*commands, command], files=files,
        )
        # The model moves into place last: until then a failure leaves the earlier model, with
        # its own sidecar, as it was.
        write_sidecar(out, card)
        try:
            os.replace(tmp, out)
        except OSError as exc:
            restore_or_remove(sidecar, sidecar_before)
            raise FerEdgeError(f"{out}: cannot write ({exc.strerror})") from None
    finally:
        tmp.unlink(missing_ok=True)

    if json_out is not None:
        write_json(json_out, {"model": str(out), "sidecar": str(sidecar), **card, "check": comparison.to_dict()})
    say(f"wrote {out} ({size / 1024:.0f} KiB) and {sidecar}")
    return ConversionResult(out, sidecar, mode, tensors, comparison, card)


def restore_or_remove(path: Path, before: bytes | None) -> None:
    """Put back what ``path`` held before this command (or remove it if it did not exist)."""
    if before is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(before)


def tflite_card(*, mode: str, tensors: TFLiteTensors, comparison: Comparison, size: int, sha256: str, test_time_flip: bool,
                calibration: CalibrationSample | None, model_path: Path, out: Path, test_source: str,
                training: dict | None, commands: list[str], files: dict[str, str]) -> dict:
    """The sidecar of a converted model (layout in :mod:`fer_edge.sidecar`)."""
    import tensorflow as tf

    card: dict = {
        "format": "tflite",
        "quantization": mode,
        "input": tensors.input.to_dict(),
        "output": tensors.output.to_dict(),
        "preprocessing": PREPROCESSING,
        "test_time_flip": test_time_flip,
        "metrics": {
            "test": comparison.tflite_report.to_dict(),
            "float_test": comparison.float_report.to_dict(),
            "drop_points": comparison.drop_points,
        },
        "tolerance_points": comparison.tolerance,
        "data": {"test": str(Path(test_source).resolve()), "split": "test"},
        "size_bytes": size,
        "sha256": sha256,
        "source": {"model": relative_to(model_path, out.parent), "sha256": file_sha256(model_path)},
        "converter": {"fer_edge": __version__, "tensorflow": tf.__version__},
    }
    if calibration is not None:
        card["calibration"] = calibration.to_dict()
    if training is not None:
        card["training"] = training
    card["commands"] = commands
    if files:
        card["files"] = files
    return card
