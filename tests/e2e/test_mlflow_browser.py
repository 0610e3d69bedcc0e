"""The MLflow UI as a person sees it: a finished sweep served by a real `mlflow server`, opened in headless Chromium.

Playwright (PyPI) drives Debian's `chromium` package (`make test` installs it as root; no browser download). Each
test starts from the runs table in Model-training mode, clicks where a person would, and asserts on the rendered
page. Screenshots of every step are saved under the test's temporary directory (`pytest --basetemp DIR` to choose
it); a failing step names its screenshot.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.helpers import runs, sweep, write_spec
from tests.helpers import free_port

pytestmark = [pytest.mark.slow, pytest.mark.browser]

NAME = "browser"
EXPERIMENT = f"auxlstm-{NAME}"
TRIALS = 3
EPOCHS = 3
WAIT_MS = 60_000  # MLflow's UI is a heavy single-page app; CI's CPUs are slow
CARD = '[data-testid="experiment-view-compare-runs-card"]'


@pytest.fixture(scope="module")
def finished(ray_cluster, tmp_path_factory):
    """A sweep of three trials of three epochs, logged to SQLite: its folder, parent run and trial runs."""
    cwd = tmp_path_factory.mktemp("browser")
    spec = write_spec(cwd, NAME, trials=TRIALS)
    result = sweep(cwd, ray_cluster, "--study", str(spec), "--name", NAME)
    assert result.returncode == 0, result.stderr[-3000:]
    uri = f"sqlite:///{cwd / 'mlflow.db'}"
    parents, children = runs(uri, EXPERIMENT)
    assert len(parents) == 1 and len(children) == TRIALS
    printed = re.search(r"the sweep's runs: (http://127\.0\.0\.1:5000/\S+)", result.stdout)
    assert printed, f"the summary prints no runs-table URL:\n{result.stdout[-2000:]}"
    return cwd, parents[0], children, printed.group(1)


@pytest.fixture(scope="module")
def server(finished) -> Iterator[str]:
    """`mlflow server` on the sweep's store, on 127.0.0.1: its base URL. The runs' artifact URIs are local paths,
    which the server reads and serves to the UI itself."""
    cwd = finished[0]
    port = free_port()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}  # no job consumers outliving the server
    log = (cwd / "mlflow-server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{cwd / 'mlflow.db'}"],
        cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            started = process.poll() is None and time.monotonic() < deadline
            assert started, f"mlflow server did not start: see {cwd / 'mlflow-server.log'}"
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the server's workers are in its process group
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)
        log.close()


@pytest.fixture(scope="module")
def chromium():
    """Headless Chromium: Debian's package, driven by Playwright (no browser of Playwright's own)."""
    executable = shutil.which("chromium")
    assert executable, "no `chromium` on PATH: run `make browser` as root or `sudo apt-get install chromium`"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])  # root in CI
        yield browser
        browser.close()


@pytest.fixture
def page(chromium) -> Iterator[Page]:
    """A fresh page (no local storage: the UI's remembered mode starts unset, as for a first visit)."""
    context = chromium.new_context(viewport={"width": 1600, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    yield context.new_page()
    context.close()


class Steps:
    """Runs a test's steps on `page`, saving a screenshot after each (`NN-name.png` under `folder`); a step that
    fails raises an AssertionError naming its screenshot."""

    def __init__(self, page: Page, folder: Path) -> None:
        self.page, self.folder, self.count = page, folder / "screenshots", 0
        self.folder.mkdir()

    def __call__(self, name: str, check: Callable[[], None]) -> None:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        try:
            check()
        except (AssertionError, PlaywrightError) as err:
            self.page.screenshot(path=path, full_page=True)
            raise AssertionError(f"step {name!r} failed; screenshot {path}\n{err}") from err
        self.page.screenshot(path=path)


def _runs_table(page: Page, base: str, finished) -> None:
    """Open the URL the sweep printed (its runs table in Model-training mode), on the test's server, and see the
    parent listed."""
    page.goto(finished[3].replace("http://127.0.0.1:5000", base))
    parent = finished[1]
    expect(page.get_by_role("link", name=parent.info.run_name, exact=True)).to_be_visible()
    assistant = page.locator('button[data-component-id="mlflow.assistant.chat_panel.close"]')
    if assistant.count():  # the assistant's side panel only hides the table in the screenshots
        assistant.click()


def _expand(page: Page, parent) -> None:
    """Click the expander of the parent's row (the only button in its run-name cell)."""
    page.locator(f'[role="gridcell"]:has(a[href$="/runs/{parent.info.run_id}"]) button').first.click()


def test_the_runs_table_lists_the_sweep_and_expanding_it_lists_every_trial(page, server, finished, tmp_path):
    steps = Steps(page, tmp_path)
    _, parent, children, _ = finished
    steps("parent-listed", lambda: _runs_table(page, server, finished))
    steps("expanded", lambda: _expand(page, parent))

    def every_trial_listed() -> None:
        for child in children:
            expect(page.get_by_role("link", name=child.info.run_name, exact=True)).to_be_visible()

    steps("trials-listed", every_trial_listed)


def _chart(page: Page, metric: str, run_name: str, points: int) -> None:
    """The chart card of `metric` shows `run_name`'s curve in its legend, with `points` points."""
    card = page.locator(f'{CARD}:has(h4[title="{metric}"])')
    expect(card.get_by_text(f"{run_name} ({metric})", exact=True)).to_be_visible()
    expect(card.locator("g.trace.scatter g.points path")).to_have_count(points)


def test_the_parents_chart_view_shows_the_best_so_far_curve(page, server, finished, tmp_path):
    steps = Steps(page, tmp_path)
    name = finished[1].info.run_name
    steps("runs-table", lambda: _runs_table(page, server, finished))
    steps("chart-view", lambda: page.locator('label:has(input[name="runs-view-mode"][value="CHART"])').click())
    # the parent's legend, one point per finished trial
    steps("best-so-far", lambda: _chart(page, "best/val/accuracy", name, TRIALS))


def test_a_trials_model_metrics_page_renders_its_validation_accuracy_chart(page, server, finished, tmp_path):
    steps = Steps(page, tmp_path)
    _, parent, children, _ = finished
    child = children[0]
    steps("runs-table", lambda: _runs_table(page, server, finished))
    steps("expanded", lambda: _expand(page, parent))
    steps("trial-page", lambda: page.get_by_role("link", name=child.info.run_name, exact=True).click())
    steps("model-metrics", lambda: page.get_by_role("tab", name="Model metrics").click())

    def validation_accuracy_chart() -> None:
        page.get_by_placeholder("Search metric charts").fill("val/accuracy")
        _chart(page, "val/accuracy", child.info.run_name, EPOCHS)  # one point per epoch

    steps("val-accuracy", validation_accuracy_chart)


def test_the_parents_artifacts_hold_the_report(page, server, finished, tmp_path):
    steps = Steps(page, tmp_path)
    name = finished[1].info.run_name
    steps("runs-table", lambda: _runs_table(page, server, finished))
    steps("parent-page", lambda: page.get_by_role("link", name=name, exact=True).click())
    steps("artifacts", lambda: page.get_by_role("tab", name="Artifacts").click())
    steps("report-folder", lambda: page.get_by_text("report", exact=True).click())
    steps("report-md", lambda: page.get_by_text("report.md", exact=True).click())
    # The Markdown rendered in the preview: its title, a heading.
    steps("report-shown", lambda: expect(page.get_by_role("heading", name=f"Sweep {name}")).to_be_visible())
