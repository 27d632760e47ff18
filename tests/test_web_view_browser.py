"""``fer-edge run --serve`` seen in a real browser: headless Chromium (Debian's chromium and
chromium-driver, which .ci/run installs) loads the page while the run plays a placed-face video,
reads the rendered counts and the video element, and takes a screenshot."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from clitools import FER_EDGE, QUIET_TF, require
from fer_edge.contract import CLASS_NAMES
from fer_edge.device.results import PALETTE
from fer_edge.placed_faces import build_video

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: 20 s of video at 10 fps, played at its own pace (--realtime) so the page has time to load.
VIDEO_FRAMES, VIDEO_FPS = 200, 10.0


def start_browser(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # Headless as root in a container, and none of Chromium's own calls to the network.
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
                 f"--user-data-dir={profile}", "--window-size=1280,900"):  # fmt: skip
        options.add_argument(flag)
    # The MJPEG image never finishes loading: do not wait for the load event.
    options.page_load_strategy = "eager"
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def wait_for_url(process: subprocess.Popen, seconds: float = 120) -> str:
    deadline = time.monotonic() + seconds
    lines = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        found = re.search(r"web view: (http://\S+)", line)
        if found:
            return found.group(1)
    raise AssertionError("fer-edge run printed no web view address:\n" + "".join(lines))


def palette_pixels(image: np.ndarray) -> int:
    """How many pixels of a BGR image are (near) one of the box colours (all but neutral's grey,
    which a face's own pixels can match)."""
    colours = np.asarray([c for c, name in zip(PALETTE, CLASS_NAMES) if name != "neutral"], np.int16)
    distance = np.abs(image[:, :, None, :3].astype(np.int16) - colours[None, None]).sum(axis=-1).min(axis=-1)
    return int((distance < 40).sum())


@pytest.mark.slow
def test_the_page_shows_the_annotated_video_and_live_counts(test_split, tmp_path):
    require(Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file(), "headless browser test needs Debian's chromium and chromium-driver")
    work = tmp_path / "run"
    work.mkdir()
    build_video(work / "faces.mp4", test_split, VIDEO_FRAMES, seed=3, fps=VIDEO_FPS)
    before = sorted(p.name for p in work.iterdir())
    process = subprocess.Popen(
        [*FER_EDGE, "run", "--camera", "faces.mp4", "--no-display", "--realtime", "--serve", "127.0.0.1:0", "--json", "faces.jsonl"],
        cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=QUIET_TF,
    )  # fmt: skip
    browser = None
    try:
        url = wait_for_url(process)
        browser = start_browser(tmp_path / "profile")
        browser.get(url)
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        # Counts and FPS arrive through server-sent events; the video through the MJPEG stream.
        WebDriverWait(browser, 60).until(lambda b: int(b.find_element(By.ID, "frames").text or 0) > 10)
        WebDriverWait(browser, 30).until(lambda b: b.execute_script("return document.getElementById('video').naturalWidth") == 640)
        WebDriverWait(browser, 30).until(
            lambda b: sum(int(row.find_element(By.CLASS_NAME, "count").text) for row in b.find_elements(By.CSS_SELECTOR, "#counts li")) > 3
        )
        rows = browser.find_elements(By.CSS_SELECTOR, "#counts li")
        assert [row.get_attribute("data-emotion") for row in rows] == list(CLASS_NAMES)
        shown_counts = {row.get_attribute("data-emotion"): int(row.find_element(By.CLASS_NAME, "count").text) for row in rows}
        assert float(browser.find_element(By.ID, "fps").text) > 0
        assert browser.find_element(By.ID, "status").text == "live"
        video = browser.find_element(By.ID, "video").rect
        # Screenshots until one shows a frame with a face found (not every frame has one).
        for _ in range(20):
            png = browser.get_screenshot_as_png()
            screenshot = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
            scale = screenshot.shape[1] / browser.execute_script("return window.innerWidth")
            x, y, w, h = (int(round(v * scale)) for v in (video["x"], video["y"], video["width"], video["height"]))
            frame = screenshot[y : y + h, x : x + w]
            if palette_pixels(frame) > 100:
                break
            time.sleep(0.3)
        Path(os.environ.get("FER_EDGE_SCREENSHOT", tmp_path / "page.png")).write_bytes(png)
        assert screenshot.std() > 10, "the screenshot is blank"
        assert frame.shape[0] > 200 and frame.shape[1] > 300, frame.shape
        # The annotated frame: grey noise with a face pasted in, and a box drawn in an emotion's colour.
        assert frame.std() > 20, "the video element is empty"
        assert palette_pixels(frame) > 100, "no box drawn on the video"
        timeline = browser.find_element(By.ID, "timeline").rect
        tx, ty, tw, th = (int(round(v * scale)) for v in (timeline["x"], timeline["y"], timeline["width"], timeline["height"]))
        assert palette_pixels(screenshot[ty : ty + th, tx : tx + tw]) > 20, "the timeline has no bars"
    finally:
        if browser is not None:
            browser.quit()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    # Stopped by SIGTERM like a service, it prints the summary and exits cleanly.
    assert process.returncode == 0, stderr
    assert re.search(r"\d+ frames, \d+ faces .* FPS \[(interrupted|end of source)\]", stdout), stdout
    lines = [json.loads(line) for line in (work / "faces.jsonl").read_text().splitlines()]
    total = {name: sum(f["emotion"] == name for line in lines for f in line["faces"]) for name in CLASS_NAMES}
    # What the page counted is what the run found, up to the moment it was read.
    assert all(shown_counts[name] <= total[name] for name in CLASS_NAMES), (shown_counts, total)
    # The server wrote no frame anywhere: the run's folder holds the video and the JSON lines only.
    assert sorted(p.name for p in work.iterdir()) == sorted([*before, "faces.jsonl"])
