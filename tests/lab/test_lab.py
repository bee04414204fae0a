"""JupyterLab end to end, as a reader uses it: open a chapter, run all, move a slider.

Starts JupyterLab on localhost, opens chapter 0 in headless Chromium, runs every
cell, moves the KL widget's first slider with the keyboard, and checks that the
printed numbers under the figure changed. Screenshots before and after go to
book/_build/screenshots/lab-*.png.

JupyterLab runs with its own settings: windowing mode "none", so that every cell is
laid out. Under the default ("contentVisibility", JupyterLab >= 4.2) cells outside the
viewport get ``content-visibility: auto`` and their ``innerText`` is empty, so the
widget's numbers and the whole-notebook checks below (maths errors, raw MyST) would
only see the cells that happen to be on screen after Run All.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from browser import launch, new_page, wait_for  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "book" / "_build" / "screenshots"
TOKEN = "book-e2e-test"

# The text printed under the KL widget's figure (see WidgetSpec.interact), read from the
# interactive widget's own output only: other cells of the chapter print "KL(q||p) =" too.
OUTPUT_TEXT = """[...document.querySelectorAll('.widget-interact .jp-OutputArea-output')]
    .map(e => e.innerText).filter(t => t.includes('KL(q||p) =')).join('|')"""
# User settings for the test's JupyterLab (schema ids and keys as in JupyterLab 4.6):
# every cell attached and laid out (see the module docstring), and no news pop-up over
# the screenshots.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab_url(tmp_path_factory):
    # Work on a copy: JupyterLab autosaves, and committed notebooks must stay output-free.
    root = tmp_path_factory.mktemp("lab")
    shutil.copy(ROOT / "book" / "toolkit.ipynb", root / "toolkit.ipynb")
    settings = tmp_path_factory.mktemp("lab-settings")
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    port = _free_port()
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           f"--IdentityProvider.token={TOKEN}", "--expose-app-in-browser",
           f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={settings}",
           f"--LabApp.workspaces_dir={settings}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}")
            break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("JupyterLab did not start")
            time.sleep(0.5)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def page():
    """Debian's headless Chromium under Playwright (tests/browser.py), a 1280 x 1600 page."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chrome = launch(playwright)
        yield new_page(chrome, 1280, 1600)
        chrome.close()


def test_run_chapter_and_move_a_slider(lab_url, page):
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        _run_chapter_and_move_a_slider(lab_url, page)
    except TimeoutError:
        page.screenshot(path=SHOTS / "lab-timeout.png")
        raise


def _run_chapter_and_move_a_slider(lab_url, page):
    page.goto(f"{lab_url}/lab/tree/toolkit.ipynb?token={TOKEN}&reset", timeout=240_000)
    wait_for(page, "window.jupyterapp && document.querySelector('.jp-Notebook .jp-Cell')", 240,
                     "the notebook to open")
    panel = "[...jupyterapp.shell.widgets('main')].find(w => w.context && w.context.path === 'toolkit.ipynb')"
    kernel_idle = f"""(() => {{ const w = {panel}; const k = w && w.sessionContext.session
        && w.sessionContext.session.kernel; return !!k && k.status === 'idle'; }})()"""
    wait_for(page, kernel_idle, 180, "an idle kernel")
    mode = page.evaluate(f"({panel}).content.notebookConfig.windowingMode")
    assert mode == "none", f"JupyterLab ignored the test's settings (windowing mode {mode!r})"
    page.evaluate(f"(() => {{ jupyterapp.shell.activateById(({panel}).id); return true; }})()")
    page.evaluate("jupyterapp.commands.execute('notebook:run-all-cells').then(() => true)")
    wait_for(page, f"({OUTPUT_TEXT}).length > 0", 240, "the widget's printed numbers")
    wait_for(page, f"""(() => {{ const w = {panel};
        return [...w.content.widgets].every(c => c.model.type !== 'code' || c.model.executionCount); }})()
        && {kernel_idle}""", 240, "all cells to finish")
    errors = page.evaluate(
        "document.querySelectorAll('.jp-OutputArea-output[data-mime-type*=\"error\"]').length")
    assert errors == 0, "a cell raised an error in JupyterLab"
    # Macros such as \\KL come from the notebook's front-matter cell (tools/sync_macros.py).
    # jupyterlab-myst (KaTeX) shows a formula it cannot parse as its raw TeX, the error only in
    # the title attribute; MathJax (outputs) writes the error as text: count both.
    tex_errors = page.evaluate("""(() => { const nb = document.querySelector('.jp-Notebook');
        return nb.querySelectorAll('[title*="Undefined control sequence"]').length
            + nb.innerText.split('Undefined control sequence').length - 1; })()""")
    assert tex_errors == 0, f"{tex_errors} maths errors in JupyterLab (undefined LaTeX macros?)"
    # MyST is rendered by jupyterlab-myst (pip metadata flags it "not compatible" with
    # JupyterLab 4.6 over @jupyter/ydoc's version; it renders): no raw roles or directives
    # left in the rendered cells, admonitions drawn as such, equation references as links.
    myst = page.evaluate("""(() => { const nb = document.querySelector('.jp-Notebook');
        return {raw: ['{eq}`', '```{admonition}', '{cite}`'].filter(s => nb.innerText.includes(s)),
                admonitions: nb.querySelectorAll('[class*="admonition"]').length,
                eqlinks: [...nb.querySelectorAll('.jp-MarkdownCell .myst a.hover-link[href^="#eq-"]')]
                    .filter(a => /^[(][0-9]+[)]$/.test(a.innerText)).length}; })()""")
    print(f"\nMyST in JupyterLab: {myst}")
    assert myst["raw"] == [] and myst["admonitions"] > 0 and myst["eqlinks"] > 0, myst
    before = page.evaluate(OUTPUT_TEXT)
    page.evaluate("""(() => { const s = [...document.querySelectorAll('.widget-interact .widget-slider')][0];
        s.scrollIntoView({block: 'center'}); return true; })()""")
    time.sleep(1)
    page.screenshot(path=SHOTS / "lab-before.png")
    # Move the first slider (mu_q) one step to the right, with the keyboard, as a reader could.
    page.evaluate("""(() => {
        const h = [...document.querySelectorAll('.widget-interact .widget-slider .noUi-handle')][0];
        h.focus(); return document.activeElement === h; })()""")
    page.keyboard.press("ArrowRight")
    wait_for(page, f"({OUTPUT_TEXT}) !== {before!r}", 60, "the widget output to change")
    after = page.evaluate(OUTPUT_TEXT)
    time.sleep(1)
    page.screenshot(path=SHOTS / "lab-after.png")
    print(f"\nbefore: {before}\nafter:  {after}\nscreenshots: {SHOTS}/lab-before.png, lab-after.png")
    assert before != after
