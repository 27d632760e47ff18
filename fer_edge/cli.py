"""The ``fer-edge`` command: parses options and dispatches to the stage functions.

The work lives in functions a Python user can call with the same arguments
(``fer_edge.train.trainer.train``, ``fer_edge.evaluate.evaluate``, ...); this module only
turns options into those calls, and every error a user can cause into one line and exit code 2.
Heavy imports (TensorFlow) happen inside the commands, so ``--help`` and ``run`` start fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

try:  # typer 0.2x carries its own copy of click
    from typer._click import exceptions as click_errors
except ImportError:
    from click import exceptions as click_errors

from fer_edge import __version__
from fer_edge.dataset import default_data_dir
from fer_edge.errors import FerEdgeError
from fer_edge.files import check_no_clash, check_output_path, write_json
from fer_edge.sidecar import sidecar_path
from fer_edge.third_party_logs import quiet_by_default, show_everything
from fer_edge.train.backend import choose_backend_if_unset
from fer_edge.train import config as run_defaults
from fer_edge.train.run_folder import run_record_beside

app = typer.Typer(
    help="Facial emotion recognition on FER2013, from training to a live int8 model on a Raspberry Pi.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

def _show_everything(value: bool) -> bool:
    if value:
        show_everything()  # before the command imports TensorFlow or OpenCV
    return value


#: Every command's --verbose: the libraries' own log lines, which fer-edge otherwise keeps quiet.
VERBOSE_HELP = "Also print the third-party libraries' own log lines (TensorFlow, absl, TFLite, OpenCV), hidden by default."

DATA_HELP = "FER2013 folder root (with train/ and test/) or the original CSV; default $FER2013_DIR or ../shared/fer2013."


def cli_command() -> str:
    """The command line as a user would type it again, recorded in every artefact it makes."""
    import shlex

    return shlex.join(["fer-edge", *sys.argv[1:]])


def _version(value: bool) -> None:
    if value:
        typer.echo(f"fer-edge {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Facial emotion recognition on FER2013, from training to a live int8 model on a Raspberry Pi."""


@app.command(
    epilog=(
        "Examples:\n\n"
        "  fer-edge train --arch edge --out runs/edge\n\n"
        "  fer-edge train --out runs/edge --resume   (continue a stopped run)"
    )
)
def train(
    data: Optional[Path] = typer.Option(None, "--data", show_default="$FER2013_DIR or ../shared/fer2013", help=DATA_HELP + " With --resume or --restore-from: where the run's data is now (a moved run)."),
    arch: Optional[str] = typer.Option(None, "--arch", show_default=run_defaults.DEFAULT_ARCH, help="Architecture: edge (default edge model), wide (a teacher to distil into edge), seed (the reference CNN), tiny (tests)."),
    out: Optional[Path] = typer.Option(None, "--out", show_default=str(run_defaults.default_out("ARCH")), help="Output folder."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last checkpoint, with its saved settings (only --epochs may change: at or below the epochs done it just exports the best model so far; a cosine schedule cannot be lengthened; --data may say where the data is now)."),
    init_from: Optional[Path] = typer.Option(None, "--init-from", help="Start a new run from a shipped .keras model's weights (fine-tuning, e.g. a second, shorter cosine cycle); its validation split must be the same (same --seed)."),
    restore_from: Optional[Path] = typer.Option(None, "--restore-from", help="Continue the run a shipped .keras model came from, at its best epoch, in a new --out (for a lost run folder); --epochs gives the run's full length."),
    seed: Optional[int] = typer.Option(None, "--seed", show_default=str(run_defaults.DEFAULT_SEED), help="Seed for the validation split, and for initialisation and augmentation unless --init-seed is given."),
    init_seed: Optional[int] = typer.Option(None, "--init-seed", show_default="--seed", help="Seed for initialisation, batches, augmentation and dropout alone: runs that differ only in it share the validation split (an ensemble of teachers)."),
    val_fraction: Optional[float] = typer.Option(None, "--val-fraction", show_default=str(run_defaults.DEFAULT_VAL_FRACTION), help="Share of train/ held out (stratified) to choose the best epoch."),
    limit_per_class: Optional[int] = typer.Option(None, "--limit-per-class", help="Use at most N training images per class (quick runs)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Maximum epochs; default: the --arch recipe's."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Batch size; default: the --arch recipe's."),
    learning_rate: Optional[float] = typer.Option(None, "--lr", help="Peak learning rate; default: the --arch recipe's."),
    optimizer: Optional[str] = typer.Option(None, "--optimizer", help="sgd (Nesterov), adam or adamw; default: the --arch recipe's."),
    schedule: Optional[str] = typer.Option(None, "--schedule", help="constant or cosine; default: the --arch recipe's."),
    warmup_epochs: Optional[int] = typer.Option(None, "--warmup-epochs", help="Linear warm-up epochs for cosine; default: the --arch recipe's."),
    weight_decay: Optional[float] = typer.Option(None, "--weight-decay", help="Decoupled weight decay of kernels; default: the --arch recipe's."),
    label_smoothing: Optional[float] = typer.Option(None, "--label-smoothing", help="Label smoothing; default: the --arch recipe's."),
    augment: Optional[str] = typer.Option(None, "--augment", help="none, standard or strong; default: the --arch recipe's."),
    monitor: Optional[str] = typer.Option(None, "--monitor", help="val_loss or val_accuracy: picks the best epoch; default: the --arch recipe's."),
    patience: Optional[int] = typer.Option(None, "--patience", help="Early-stopping patience in epochs, 0 = off; default: the --arch recipe's."),
    teacher: Optional[list[Path]] = typer.Option(None, "--teacher", help="Distil from this trained .keras model (repeat for several; their mean is used). It must hold out the same validation split (same --seed)."),
    distill_weight: Optional[float] = typer.Option(None, "--distill-weight", show_default=f"{run_defaults.DISTILL_WEIGHT_WITH_TEACHERS} with --teacher", help="Share of the teachers' probabilities in the training targets (the rest: the labels)."),
    distill_temperature: Optional[float] = typer.Option(None, "--distill-temperature", show_default=str(run_defaults.DEFAULT_DISTILL_TEMPERATURE), help="Softens the teachers' probabilities: softmax(log(p) / T)."),
    distill_views: Optional[str] = typer.Option(None, "--distill-views", show_default=run_defaults.DEFAULT_DISTILL_VIEWS, help="What the teachers label: faces (each training face once, with its mirror image; cached) or augmented (every augmented view the student trains on, as it trains: consistent, but a teacher pass per step)."),
    mixup: Optional[float] = typer.Option(None, "--mixup", help="Mixup: blend each batch with a shuffled copy of itself, faces and targets, by a Beta(a, a) draw; a, 0 = off; default: the --arch recipe's."),
    average_from: Optional[int] = typer.Option(None, "--average-from", show_default=f"{run_defaults.DEFAULT_AVERAGE_FROM} (off)", help="Stochastic weight averaging: average the weights of every epoch from this one on; the average (batch-norm statistics recomputed on the training faces) becomes model.keras, scored on validation beside the best single epoch in run.json."),
    precision: Optional[str] = typer.Option(None, "--precision", show_default=run_defaults.DEFAULT_PRECISION, help="auto (bfloat16 where the CPU/GPU has it), float32, mixed_bfloat16."),
    strategy: Optional[str] = typer.Option(None, "--strategy", show_default=run_defaults.DEFAULT_STRATEGY, help="tf.distribute strategy (KERAS_BACKEND=tensorflow): auto (mirrored on several GPUs), default, mirrored, one-device; JAX and PyTorch train on one device."),
    verbose: bool = typer.Option(False, "--verbose", callback=_show_everything, help=VERBOSE_HELP),
) -> None:
    """Train a CNN on FER2013 with checkpoints every epoch (see --resume).

    Runs on the Keras backend that KERAS_BACKEND names: tensorflow (the default), jax or torch.
    """
    from fer_edge.train.trainer import train as run_training

    overrides = dict(
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        optimizer=optimizer,
        schedule=schedule,
        warmup_epochs=warmup_epochs,
        weight_decay=weight_decay,
        label_smoothing=label_smoothing,
        augment=augment,
        monitor=monitor,
        patience=patience,
        distill_weight=distill_weight,
        distill_temperature=distill_temperature,
        distill_views=distill_views,
        mixup=mixup,
        average_from=average_from,
    )
    run_settings = dict(arch=arch, seed=seed, init_seed=init_seed, val_fraction=val_fraction, limit_per_class=limit_per_class, precision=precision, strategy=strategy)
    if resume or restore_from:
        flag = "--resume" if resume else "--restore-from"
        given = {**overrides, **run_settings, "teacher": teacher or None}
        flags = {"learning_rate": "lr"}  # options whose flag is not their name
        changed = [f"--{flags.get(name, name).replace('_', '-')}" for name, value in given.items() if value is not None and name != "epochs"]
        if changed:
            raise FerEdgeError(
                f"{', '.join(changed)} cannot change on {flag}: a run keeps the settings it started with "
                "(only --epochs may, and --data says where its data is now)"
            )
    starts = [flag for flag, given in (("--resume", resume), ("--restore-from", restore_from), ("--init-from", init_from)) if given]
    if len(starts) > 1:
        raise FerEdgeError(f"{' and '.join(starts)} exclude each other: a run starts fresh, from a model (--init-from, --restore-from), or continues (--resume)")
    # A resumed run reads the data its run.json names unless --data says where it is now.
    check_run_folder(out or run_defaults.default_out(arch or run_defaults.DEFAULT_ARCH), data if resume else data or default_data_dir(), [init_from, restore_from, *(teacher or [])])
    if restore_from:
        from fer_edge.train.restore import restore_run

        if out is None:
            raise FerEdgeError("--restore-from needs --out: the new folder the restored run continues in")
        restore_run(restore_from, out, epochs=epochs, data=data)
    config = run_defaults.new_run_config(
        **run_settings, data=data or default_data_dir(), out=out, command=cli_command(), init_from=init_from, teachers=teacher, **overrides
    )
    continues = resume or restore_from is not None
    result = run_training(config, resume=continues, resume_epochs=epochs if continues else None, data_moved_to=str(data) if continues and data else None)
    typer.echo(result.summary())


def check_run_folder(out: Path, data: Path | None, models: list[Path | None]) -> None:
    """Refuse a run folder that would write into the data, or over a model the run reads."""
    out_resolved = out.resolve()
    if data is not None and Path(data).exists() and Path(data).is_dir() and out_resolved.is_relative_to(Path(data).resolve()):
        raise FerEdgeError(f"--out {out}: is inside --data ({data}), which the run reads; write the run elsewhere")
    for model in models:
        if model is not None and Path(model).resolve().is_relative_to(out_resolved):
            raise FerEdgeError(f"--out {out}: holds {model}, which the run reads and would write over; choose another --out")


@app.command(
    "eval",
    epilog=(
        "Examples:\n\n"
        "  fer-edge eval models/edge/edge-int8.tflite\n\n"
        "  fer-edge eval runs/edge/model.keras --split val --json report.json"
    ),
)
def evaluate_command(
    model: Path = typer.Argument(..., help="A .keras or .tflite model."),
    data: Path = typer.Option(default_data_dir(), "--data", help=DATA_HELP),
    split: str = typer.Option("test", "--split", help="Folder: train or test. CSV: train (Training), test (PublicTest), private (PrivateTest). Either: val, the part of train/ the model's training run held out (from its sidecar or run.json) - choose settings there, not on test."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the report as JSON to this file ('-' for stdout)."),
    confusion: Optional[Path] = typer.Option(None, "--confusion", help="Also draw the confusion matrix into this PNG."),
    predictions: Optional[Path] = typer.Option(None, "--predictions", metavar="FILE.csv", help="Also write each face's true and predicted class and probabilities, one CSV row per face in the split's order."),
    test_time_flip: Optional[bool] = typer.Option(None, "--test-time-flip/--no-test-time-flip", show_default="as the model's sidecar says (off without one)", help="Average each face with its mirror image."),
    verbose: bool = typer.Option(False, "--verbose", callback=_show_everything, help=VERBOSE_HELP),
) -> None:
    """Evaluate a model: per-class precision, recall, F1, accuracy, macro and weighted averages."""
    from fer_edge.evaluate import evaluate
    from fer_edge.plots import require_matplotlib

    to_stdout = str(json_out) == "-"
    if json_out is not None and not to_stdout:
        check_output_path("--json", json_out)
    if confusion is not None:
        if confusion.suffix.lower() != ".png":
            raise FerEdgeError(f"--confusion {confusion}: must end in .png")
        check_output_path("--confusion", confusion)
        require_matplotlib("--confusion")
    if predictions is not None:
        if str(predictions) == "-":
            raise FerEdgeError("--predictions -: give a file name (standard output carries the report)")
        check_output_path("--predictions", predictions)
    run_record = run_record_beside(model)
    check_no_clash(
        {"--json": json_out, "--confusion": confusion, "--predictions": predictions},
        {"the model": model, "the model's sidecar": sidecar_path(model), "its run's run.json": run_record if run_record.is_file() else None, "--data": data},
    )
    report = evaluate(model, data, split, test_time_flip=test_time_flip, predictions_out=predictions)
    described = {"model": str(model), "data": report.data, "test_time_flip": report.test_time_flip, **report.to_dict()}
    if to_stdout:
        typer.echo(json.dumps(described, indent=2))
    else:
        typer.echo(f"{model} on {report.data}, test-time flip {'on' if report.test_time_flip else 'off'}")
        typer.echo(report.table())
        if json_out is not None:
            write_json(json_out, described)
    if confusion is not None:
        from fer_edge.plots import plot_confusion

        plot_confusion(report, confusion)


@app.command(
    "run",
    epilog=(
        "Examples:\n\n"
        "  fer-edge run --camera 0   (a preview window; q or Esc quits)\n\n"
        "  fer-edge run --camera photos/ --no-display --json results.jsonl\n\n"
        "  fer-edge run --no-display --serve 0.0.0.0:8000   (web view on the LAN)"
    ),
)
def run_command(
    camera: str = typer.Option("auto", "--camera", metavar="SOURCE", help="SOURCE: a camera index (0), picam (Pi camera module), a video file, a stream URL, an image or a folder of images; auto = picam when a Pi camera is the only camera, else 0."),
    model: Optional[Path] = typer.Option(None, "--model", show_default="the shipped edge-int8.tflite, installed with fer-edge", help="An int8 .tflite model; its .json sidecar (written by fer-edge convert) must sit beside it."),
    display: bool = typer.Option(True, "--display/--no-display", help="Show a window with boxes and labels where a display exists; --no-display for a headless Pi."),
    json_out: Optional[str] = typer.Option(None, "--json", metavar="FILE|-", help="Write one JSON line per frame to FILE ('-' for stdout)."),
    append: bool = typer.Option(False, "--append", help="Add to an existing --json FILE instead of replacing it (a service that restarts keeps its earlier lines)."),
    record: Optional[Path] = typer.Option(None, "--record", metavar="FILE.mp4", help="Write the annotated video to FILE.mp4."),
    max_frames: Optional[int] = typer.Option(None, "--max-frames", show_default="until the source ends, q/Esc or Ctrl-C", help="Stop after N frames."),
    smooth: Optional[bool] = typer.Option(None, "--smooth/--no-smooth", show_default="on for cameras and streams, off for files", help="Average each face's probabilities over its last frames."),
    verbose: bool = typer.Option(False, "--verbose", callback=_show_everything, help="Print the interpreter backend, model input and source details, and the libraries' own log lines (TFLite, OpenCV)."),
    threads: Optional[int] = typer.Option(None, "--threads", show_default="2 (1 on a single core); with --overlap half the cores, at most 2", help="Interpreter threads, for the classifier and BlazeFace (a 48x48 face gains little from more)."),
    test_time_flip: Optional[bool] = typer.Option(None, "--test-time-flip/--no-test-time-flip", show_default="as the model's sidecar says", help="Classify each face and its mirror image and average them: the sidecar's accuracy is measured as it says; off is faster per face."),
    overlap: bool = typer.Option(False, "--overlap/--no-overlap", help="Read and detect the next frame in a second thread while this one is classified, each stage on half the cores: more frames per second where classifying costs about as much as detecting (see benchmarks/bench_runtime.py), one frame more latency."),
    detector: Optional[str] = typer.Option(None, "--detector", show_default="auto", help="Face detector: auto (BlazeFace full-range, and short-range looking closer where it is unsure: most faces from about 48 px in a 640x480 frame), full-range or short-range alone (faster; faces from about 96 and 128 px), or haar (OpenCV's cascade, at --detect-width)."),
    min_face_score: Optional[float] = typer.Option(None, "--min-face-score", show_default="0.6 (auto; full-range 0.5, short-range 0.6)", help="BlazeFace's minimum score for a face (auto: full-range's; short-range's whole-frame pass needs 0.05 more, its closer looks 0.1 more): raise it if false faces appear."),
    detect_every: int = typer.Option(1, "--detect-every", metavar="N", help="Look for faces on every Nth frame only and keep their boxes in between: faster (a Pi 4), new faces found up to N-1 frames late."),
    detect_width: Optional[int] = typer.Option(None, "--detect-width", show_default="240: faces from about 64 px in a 640x480 frame", help="The Haar cascade's (--detector haar): width frames are shrunk to for it: larger finds smaller, farther faces, more slowly."),
    serve: Optional[str] = typer.Option(None, "--serve", metavar="[HOST:]PORT", help="Serve a live web view (video, FPS, counts, timeline; /stream.mjpg, /api/latest, /metrics) for as long as the run lasts. HOST defaults to 127.0.0.1 (this machine only); 0.0.0.0 opens it to the network, with a token."),
    token: Optional[str] = typer.Option(None, "--token", show_default="generated and printed when HOST is not loopback", help="The token every web request must carry (?token=, or an Authorization: Bearer header)."),
    stream_fps: Optional[float] = typer.Option(None, "--stream-fps", show_default="15", help="With --serve: most frames per second sent to each web viewer."),
    stream_quality: Optional[int] = typer.Option(None, "--stream-quality", show_default="70", help="With --serve: JPEG quality of the web stream (10-100)."),
    realtime: bool = typer.Option(False, "--realtime", help="Play a video file or image folder at its own pace (frames at their video time, images 1 s apart) instead of as fast as possible."),
) -> None:
    """Run the int8 model live on a camera, video or images: the light Raspberry Pi runtime (no TensorFlow)."""
    from fer_edge.device.runner import run

    run(
        camera=camera,
        model=model,
        display=display,
        json_out=json_out,
        record=record,
        max_frames=max_frames,
        smooth=smooth,
        verbose=verbose,
        threads=threads,
        test_time_flip=test_time_flip,
        overlap=overlap,
        append=append,
        detector=detector,
        detect_width=detect_width,
        min_face_score=min_face_score,
        detect_every=detect_every,
        serve=serve,
        token=token,
        stream_fps=stream_fps,
        stream_quality=stream_quality,
        realtime=realtime,
    )


@app.command(
    "convert",
    epilog=(
        "Examples:\n\n"
        "  fer-edge convert runs/edge/model.keras --int8\n\n"
        "  fer-edge convert runs/edge/model.keras --float16 --out edge-f16.tflite"
    ),
)
def convert_command(
    model: Path = typer.Argument(..., help="The float .keras model, e.g. runs/edge/model.keras."),
    int8: bool = typer.Option(False, "--int8", help="Full-integer int8: weights, activations, input and output (the default)."),
    float16: bool = typer.Option(False, "--float16", help="float16 weights; float32 input, output and arithmetic."),
    dynamic: bool = typer.Option(False, "--dynamic", help="Dynamic range: int8 weights, float activations."),
    data: Path = typer.Option(default_data_dir(), "--data", help=DATA_HELP + " train/ calibrates, test/ checks."),
    out: Optional[Path] = typer.Option(None, "--out", help="The .tflite to write (default: MODEL-MODE.tflite beside MODEL); its sidecar gets the same name in .json."),
    calibration_size: int = typer.Option(350, "--calibration-size", help="int8: training faces to calibrate on, class-balanced (N/7 per class, rounded up)."),
    seed: int = typer.Option(0, "--seed", help="int8: seed of the calibration sample."),
    tolerance: float = typer.Option(1.0, "--tolerance", help="Refuse (exit 2, nothing written) when test accuracy drops more than this many points below float."),
    test_time_flip: bool = typer.Option(False, "--test-time-flip", help="Score with each face and its mirror image averaged, and record it so the Pi runtime does the same."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the sidecar and the check's verdict as JSON to this file."),
    confusion: Optional[Path] = typer.Option(None, "--confusion", help="Also draw the converted model's confusion matrix on test/ into this PNG."),
    verbose: bool = typer.Option(False, "--verbose", callback=_show_everything, help=VERBOSE_HELP),
) -> None:
    """Convert a .keras model to TFLite, check it against the float model on test/, write it with its sidecar."""
    from fer_edge.convert.converter import convert

    modes = [name for name, chosen in (("int8", int8), ("float16", float16), ("dynamic", dynamic)) if chosen]
    if len(modes) > 1:
        raise FerEdgeError(f"choose one of --int8, --float16, --dynamic (got {', '.join('--' + m for m in modes)})")
    convert(
        model,
        modes[0] if modes else "int8",
        data,
        out,
        calibration_size=calibration_size,
        seed=seed,
        tolerance=tolerance,
        test_time_flip=test_time_flip,
        json_out=json_out,
        confusion=confusion,
        command=cli_command(),
    )


@app.command(
    "ship",
    epilog=(
        "Examples:\n\n"
        "  fer-edge ship runs/edge models/edge/edge.keras   (then fer-edge convert it)\n\n"
        "  fer-edge ship runs/seed models/seed/seed.keras --no-weights"
    ),
)
def ship_command(
    run: Path = typer.Argument(..., metavar="RUN", help="A finished fer-edge train folder (its --out), with model.keras, run.json and metrics.json."),
    dest: Path = typer.Argument(..., metavar="DEST", help="The .keras to write; its sidecar (.json) and the run's log and plots (DEST-history.csv, -curves.png, -confusion.png) go beside it."),
    weights: bool = typer.Option(True, "--weights/--no-weights", help="--no-weights ships the sidecar and run files without the model: the record of a reference model nobody deploys."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace DEST and the files beside it that shipping writes, if they exist."),
    verbose: bool = typer.Option(False, "--verbose", callback=_show_everything, help=VERBOSE_HELP),
) -> None:
    """Ship a finished training run's float model as DEST, with its sidecar and training files."""
    from fer_edge.convert.ship import ship_keras

    sidecar = ship_keras(run, dest, with_weights=weights, overwrite=overwrite)
    card = json.loads(sidecar.read_text())
    written = ([dest.name] if weights else []) + [sidecar.name, *card["files"].values()]
    accuracy = card["metrics"]["test"].get("accuracy")
    typer.echo(
        f"shipped {run / 'model.keras'}{' (metrics only, no weights)' if not weights else ''}"
        f"{f', test accuracy {100 * accuracy:.1f}%' if isinstance(accuracy, (int, float)) else ''}: "
        f"wrote {', '.join(written)} in {dest.parent}"
    )
    if weights:
        typer.echo(f"next: fer-edge convert {dest} --int8 --out {dest.with_name(dest.stem + '-int8.tflite')}")


#: Packages that only some commands need, and how to get each (a missing one is a setup
#: problem, said in one line, not a traceback).
OPTIONAL_PACKAGES = {
    "tensorflow": "pip install -e '.[train]'",
    "keras": "pip install -e '.[train]' (or '.[train-jax]')",
    "jax": "pip install -e '.[train-jax]', or unset KERAS_BACKEND",
    "torch": "install PyTorch, or unset KERAS_BACKEND",
    "matplotlib": "pip install -e '.[train]'",
}


def usage_error_line(exc: click_errors.UsageError) -> str:
    """A usage error (unknown option, missing argument, bad value) as fer-edge's one line."""
    message = exc.format_message().strip().replace("\n", " ")
    message = message[:1].lower() + message[1:]
    where = exc.ctx.command_path if exc.ctx is not None else "fer-edge"
    return f"error: {message.rstrip('.')}; see {where} --help"


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit code 2."""
    # TensorFlow's, absl's, TFLite's and OpenCV's own lines bury fer-edge's; --verbose shows them.
    quiet_by_default()
    choose_backend_if_unset()  # a venv with JAX and no TensorFlow trains on JAX unasked
    try:
        code = app(standalone_mode=False)
        if code == 130:  # typer turns Ctrl-C into this code itself, saying nothing
            typer.echo("interrupted", err=True)
        if isinstance(code, int) and code:
            sys.exit(code)
    except getattr(click_errors, "NoArgsIsHelpError", ()) as exc:  # plain `fer-edge`: the help, as before
        typer.echo(exc.ctx.get_help())
        sys.exit(2)
    except click_errors.UsageError as exc:
        typer.echo(usage_error_line(exc), err=True)
        sys.exit(2)
    except click_errors.ClickException as exc:
        typer.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(2)
    except typer.Abort:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except FerEdgeError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        if top not in OPTIONAL_PACKAGES:
            raise
        typer.echo(f"error: {top} is not installed, and this command needs it: {OPTIONAL_PACKAGES[top]}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
