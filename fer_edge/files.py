"""Writing files whole or not at all: the one way fer-edge writes its JSON and reports.

A killed training run, a full disk or a refused conversion must never leave a half-written
run.json, sidecar or report that a later command would read as real. Each file is written to a
temporary name beside it and renamed into place (atomic on one filesystem).
"""

from __future__ import annotations

import glob
import json
import os
from pathlib import Path

from fer_edge.errors import FerEdgeError


def check_output_path(option: str, path: str | os.PathLike[str]) -> Path:
    """Refuse, before any work, an output path that cannot be written: a missing folder or a folder.

    Checked up front so a long evaluation or conversion does not end in a traceback, or with
    some of its outputs written and others not.
    """
    path = Path(path)
    if path.is_dir():
        raise FerEdgeError(f"{option} {path}: is a folder, not a file")
    if not path.parent.is_dir():
        raise FerEdgeError(f"{option} {path}: folder {path.parent} does not exist; create it first")
    if path.exists() and not os.access(path, os.W_OK):
        raise FerEdgeError(f"{option} {path}: cannot write there (permission denied)")
    if path.exists():
        return path  # written in place (or a device, a pipe): its own permission is what counts
    # A new file: try the folder itself, as permissions alone miss a read-only filesystem (and root ignores them).
    probe = path.parent / f".{path.name}.{os.getpid()}.probe"
    try:
        probe.touch(exist_ok=False)
    except OSError as exc:
        raise FerEdgeError(f"{option} {path}: cannot write in {path.parent} ({exc.strerror or exc})") from None
    probe.unlink(missing_ok=True)
    return path


PathLike = str | os.PathLike[str]


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: equal once links are resolved, or one inode (a hard link)."""
    try:
        if a.resolve() == b.resolve():
            return True
    except (OSError, RuntimeError):  # a link that loops is no file
        return False
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_no_clash(outputs: dict[str, PathLike | None], inputs: dict[str, PathLike | None]) -> None:
    """Refuse, before any work, an output that would replace an input or another output, or land
    inside an input folder (a data set, an image folder).

    ``outputs`` and ``inputs`` map how the user named each path (``--json``, ``the model``) to
    the path; ``None`` and ``-`` (stdout) are skipped. Paths are compared after resolving links.
    """
    given_outputs = [(name, Path(p)) for name, p in outputs.items() if p is not None and str(p) != "-"]
    given_inputs = [(name, Path(p)) for name, p in inputs.items() if p is not None and str(p) != "-"]
    for name, out in given_outputs:
        try:
            out.resolve()
        except (OSError, RuntimeError):
            raise FerEdgeError(f"{name} {out}: a link that points back to itself; choose another file") from None
    for k, (name, out) in enumerate(given_outputs):
        for input_name, source in given_inputs:
            if same_file(out, source):
                raise FerEdgeError(f"{name} {out}: is {input_name} ({source}), which this command reads; choose another file")
            if source.is_dir() and out.resolve().is_relative_to(source.resolve()):
                raise FerEdgeError(f"{name} {out}: is inside {input_name} ({source}), which this command reads; write it elsewhere")
        for other_name, other in given_outputs[:k]:
            if same_file(out, other):
                raise FerEdgeError(f"{name} {out}: is also {other_name}; give each output its own file")


def process_alive(pid: int) -> bool:
    """Whether a process with this id is running (one of another user counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(folder: Path, prefix: str, suffix: str) -> list[Path]:
    """Remove ``{prefix}{pid}{suffix}`` files in ``folder`` left by a process no longer running (a
    killed conversion or write); the files removed. A running process's file is left alone."""
    removed = []
    for path in folder.glob(f"{glob.escape(prefix)}*{glob.escape(suffix)}"):
        if not (path.name.startswith(prefix) and path.name.endswith(suffix)):
            continue
        pid = path.name[len(prefix) : len(path.name) - len(suffix)]
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def write_atomically(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write ``data`` to ``path`` whole, or raise a one-line error and leave ``path`` as it was.

    A link is written through (the file it names is replaced, the link kept). A device or a pipe
    (``/dev/stdout``, ``/dev/full``) is written in place: renaming a file over it would replace
    the device itself.
    """
    path = Path(path)
    payload = data if isinstance(data, bytes) else data.encode("utf-8")
    if path.exists() and not path.is_file():
        try:
            with open(path, "wb") as handle:
                handle.write(payload)
        except OSError as exc:
            raise FerEdgeError(f"{path}: cannot write ({exc.strerror or exc})") from None
        return path
    try:
        target = path.resolve() if path.is_symlink() else path
    except (OSError, RuntimeError):  # a link that loops
        raise FerEdgeError(f"{path}: cannot write (a link that points back to itself)") from None
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(payload)
        os.replace(tmp, target)
    except OSError as exc:
        raise FerEdgeError(f"{path}: cannot write ({exc.strerror or exc})") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_json(path: str | os.PathLike[str], payload: dict) -> Path:
    """``payload`` as indented JSON, written whole."""
    return write_atomically(path, json.dumps(payload, indent=2) + "\n")
