"""The README's promises: its commands are the ones CI runs, its numbers are the sidecars'."""

from __future__ import annotations

import json

from clitools import REPO_ROOT

from fer_edge.results_table import BEGIN, END, training_summary, render, training_time


def test_results_table_matches_the_sidecars() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    assert BEGIN in readme and END in readme
    shown = readme[readme.index(BEGIN) : readme.index(END) + len(END)]
    assert shown == render(REPO_ROOT / "models"), "README results drifted from models/*.json: run python -m fer_edge.results_table --write README.md"
    assert "edge-int8.tflite" in shown


def test_results_table_counts_epochs_against_the_planned_schedule() -> None:
    """A run stopped with `--resume --epochs 116` inside a 120-epoch cosine schedule: the table
    must say how far the schedule got, not "116 of 116". The shipped edge row says it of its run."""
    stopped = {"epochs_run": 116, "best_epoch": 103, "schedule_epochs": 120, "config": {"recipe": {"epochs": 116}}}
    assert training_summary({"training": stopped}) == "116 of 120 epochs, best 103"
    training = json.loads((REPO_ROOT / "models" / "edge" / "edge.json").read_text())["training"]
    row = next(line for line in render(REPO_ROOT / "models").splitlines() if line.startswith("| `edge/edge.keras`"))
    assert f"| {training_summary({'training': training})} |" in row
    assert f"{training['epochs_run']} of {training['schedule_epochs']} epochs" in row


def test_training_time_is_split_by_the_machines_a_resumed_run_trained_on() -> None:
    """A run cut off on a GPU machine and finished on a CPU workstation with --resume trained on both: the table
    must not call its GPU minutes CPU hours."""
    gpu, cpu = {"keras_backend": "jax", "gpus": "1"}, {"keras_backend": "tensorflow"}
    cut_off_on_gpu = {"versions": gpu, "train_seconds": 180.0 + 1800.0, "resumed": [{"versions": cpu, "train_seconds_before": 180.0}]}
    assert training_time(cut_off_on_gpu) == "3 min GPU + 30 min CPU"
    assert training_time({"versions": cpu, "train_seconds": 4.1 * 3600}) == "4.1 h CPU"
    back_on_cpu_twice = {**cut_off_on_gpu, "train_seconds": 180.0 + 7200.0, "resumed": [*cut_off_on_gpu["resumed"], {"versions": cpu, "train_seconds_before": 1980.0}]}
    assert training_time(back_on_cpu_twice) == "3 min GPU + 2.0 h CPU"
    assert training_time({"versions": {"gpus": "2"}, "train_seconds": 600.0}) == "10 min 2 GPUs"


def test_readme_first_commands_are_what_ci_runs() -> None:
    commands = [line.strip() for line in (REPO_ROOT / "README.md").read_text().splitlines()[:5] if line.startswith("    ")]
    assert len(commands) == 2
    setup, tests = commands
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert "pip install -e '.[train,dev]'" in setup and "pip install --quiet -e '.[train,dev]'" in ci
    assert tests in ci.splitlines()


def test_the_pi_install_lines_are_the_ones_tested() -> None:
    """Each release's pip line in the README is what its device venv installs, and the arm64 check
    installs Trixie's."""
    from test_device_env import PI_RELEASES

    readme = (REPO_ROOT / "README.md").read_text()
    sections = {
        "trixie": readme[readme.index("### Install on Raspberry Pi OS Trixie") : readme.index("### Install on Bookworm")],
        "bookworm": readme[readme.index("### Install on Bookworm") : readme.index("### What has been tested")],
    }
    for release, section in sections.items():
        extra = "".join(f" '{requirement}'" for requirement in PI_RELEASES[release][1])
        assert "python3 -m venv --system-site-packages ~/fer-edge-venv" in section, release
        assert f"~/fer-edge-venv/bin/pip install --only-binary=:all: ~/fer-edge'[device]'{extra}\n" in section, release
    script = (REPO_ROOT / "scripts" / "check_arm64.sh").read_text()
    assert 'python3 -m venv --system-site-packages "$VENV"' in script
    assert 'pip" install --quiet --only-binary=:all: "$CLONE[device]"' in script
