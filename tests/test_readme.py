"""The documentation's promises: the README's commands are the ones CI runs, its numbers are the
sidecars', it stays a short guide, and every link in it and in docs/ leads somewhere."""

from __future__ import annotations

import json
import re

from clitools import REPO_ROOT, load_tool

results_table = load_tool("results_table")

#: A markdown link or image whose target is not a URL or an in-page anchor: ``[text](target)``.
RELATIVE_LINK = re.compile(r"\]\((?!https?://|mailto:|#)([^)\s]+)\)")
#: What "a user guide" means in characters: the detail lives in docs/ and benchmarks/README.md.
README_MAX_CHARS = 12_500
#: An import of the table generator, in any of its spellings.
IMPORTS_THE_TOOL = re.compile(r"^\s*(from\s+\S*results_table\s+import|import\s+\S*results_table)|spec_from_file_location\(.*results_table", re.M)


def test_results_tables_match_the_sidecars() -> None:
    for name, (begin, end, render) in results_table.TARGETS.items():
        shown = results_table.shown_block((REPO_ROOT / name).read_text(), begin, end)
        assert shown, f"{name} has lost its generated block ({begin})"
        assert shown == render(REPO_ROOT / "models"), f"{name} drifted from models/*.json: run python tools/results_table.py --write"
        assert "edge-int8.tflite" in shown


def test_results_table_counts_epochs_against_the_planned_schedule() -> None:
    """A run stopped with `--resume --epochs 116` inside a 120-epoch cosine schedule: the table
    must say how far the schedule got, not "116 of 116". The shipped edge row says it of its run."""
    training_summary = results_table.training_summary
    stopped = {"epochs_run": 116, "best_epoch": 103, "schedule_epochs": 120, "config": {"recipe": {"epochs": 116}}}
    assert training_summary({"training": stopped}) == "116 of 120 epochs, best 103"
    training = json.loads((REPO_ROOT / "models" / "edge" / "edge.json").read_text())["training"]
    summary = results_table.render_summary(REPO_ROOT / "models")
    row = next(line for line in summary.splitlines() if line.startswith("| `edge/edge.keras`"))
    assert f"| {training_summary({'training': training})} |" in row
    assert f"{training['epochs_run']} of {training['schedule_epochs']} epochs" in row


def test_training_time_is_split_by_the_machines_a_resumed_run_trained_on() -> None:
    """A run cut off on a GPU machine and finished on a CPU workstation with --resume trained on both: the table
    must not call its GPU minutes CPU hours."""
    training_time = results_table.training_time
    gpu, cpu = {"keras_backend": "jax", "gpus": "1"}, {"keras_backend": "tensorflow"}
    cut_off_on_gpu = {"versions": gpu, "train_seconds": 180.0 + 1800.0, "resumed": [{"versions": cpu, "train_seconds_before": 180.0}]}
    assert training_time(cut_off_on_gpu) == "3 min GPU + 30 min CPU"
    assert training_time({"versions": cpu, "train_seconds": 4.1 * 3600}) == "4.1 h CPU"
    back_on_cpu_twice = {**cut_off_on_gpu, "train_seconds": 180.0 + 7200.0, "resumed": [*cut_off_on_gpu["resumed"], {"versions": cpu, "train_seconds_before": 1980.0}]}
    assert training_time(back_on_cpu_twice) == "3 min GPU + 2.0 h CPU"
    assert training_time({"versions": {"gpus": "2"}, "train_seconds": 600.0}) == "10 min 2 GPUs"


def test_the_table_generator_stays_out_of_the_package() -> None:
    """tools/ is not installed: an import of it from the package would fail on a Pi."""
    for stage in ("fer_edge", "train", "convert", "device"):
        for module in (REPO_ROOT / stage).rglob("*.py"):
            assert not IMPORTS_THE_TOOL.search(module.read_text()), module


def test_readme_first_commands_are_what_ci_runs() -> None:
    commands = [line.strip() for line in (REPO_ROOT / "README.md").read_text().splitlines()[:5] if line.startswith("    ")]
    assert len(commands) == 2
    setup, tests = commands
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert "pip install -e '.[train,dev]'" in setup and "pip install --quiet -e '.[train,dev]'" in ci
    assert tests in ci.splitlines()
    # The arm64 check, left out of a plain pytest, runs in CI too.
    assert f"{tests} -m arm64" in ci.splitlines()


def test_readme_is_a_short_guide() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    assert len(readme) < README_MAX_CHARS, f"README.md is {len(readme)} characters: move detail to docs/"


def test_every_relative_link_leads_to_a_file() -> None:
    pages = [REPO_ROOT / "README.md", REPO_ROOT / "benchmarks" / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
    checked = 0
    for page in pages:
        for target in RELATIVE_LINK.findall(page.read_text()):
            path = target.split("#", 1)[0]
            assert (page.parent / path).exists(), f"{page.relative_to(REPO_ROOT)}: link to {target}, which does not exist"
            checked += 1
    assert checked, "no relative link found: the pattern no longer matches the pages"


def test_the_pi_install_lines_are_the_ones_tested() -> None:
    """Each release's pip line in docs/running.md is what its device venv installs, the README's
    quick start is Trixie's, and the arm64 check installs Trixie's."""
    from test_device_env import PI_RELEASES

    running = (REPO_ROOT / "docs" / "running.md").read_text()
    sections = {
        "trixie": running[running.index("### Raspberry Pi OS Trixie") : running.index("### Bookworm")],
        "bookworm": running[running.index("### Bookworm") : running.index("### Check the install")],
    }
    lines = {}
    for release, section in sections.items():
        extra = "".join(f" '{requirement}'" for requirement in PI_RELEASES[release][1])
        lines[release] = f"~/fer-edge-venv/bin/pip install --only-binary=:all: ~/fer-edge'[device]'{extra}\n"
        assert "python3 -m venv --system-site-packages ~/fer-edge-venv" in section, release
        assert lines[release] in section, release
    readme = (REPO_ROOT / "README.md").read_text()
    assert "python3 -m venv --system-site-packages ~/fer-edge-venv" in readme
    assert lines["trixie"] in readme
    script = (REPO_ROOT / "scripts" / "check_arm64.sh").read_text()
    assert 'python3 -m venv --system-site-packages "$VENV"' in script
    assert 'PIP_LINE="--only-binary=:all: $CLONE[device]"' in script and 'pip" install --quiet $PIP_LINE' in script
