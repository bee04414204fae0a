"""A minimal Chrome DevTools Protocol client: enough to drive JupyterLab in headless Chromium."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--window-size=1280,1600"]


class Browser:
    def __init__(self, chromium: str, port: int = 9333):
        # Chromium's helper processes can still write to the profile while it is removed.
        self.profile = tempfile.TemporaryDirectory(ignore_cleanup_errors=True)
        self.proc = subprocess.Popen(
            [chromium, *FLAGS, f"--remote-debugging-port={port}", f"--user-data-dir={self.profile.name}",
             "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json") as r:
                    targets = [t for t in json.load(r) if t["type"] == "page"]
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.3)
        self.ws = websocket.create_connection(targets[0]["webSocketDebuggerUrl"], timeout=60)
        self._id = 0
        #: Events whose method is in :attr:`record` (e.g. ``"Runtime.exceptionThrown"``), in the
        #: order they arrived while commands were being answered.
        self.record: set[str] = set()
        self.events: list[dict] = []

    def send(self, method: str, **params):
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("method") in self.record:
                self.events.append(msg)
            if msg.get("id") == self._id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def eval(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript error: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 60, what: str = ""):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if self.eval(f"!!({expression})"):
                    return
            except RuntimeError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"timed out after {timeout} s waiting for {what or expression}")

    def key(self, key: str, code: str, key_code: int):
        for kind in ("keyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", type=kind, key=key, code=code,
                      windowsVirtualKeyCode=key_code, nativeVirtualKeyCode=key_code)

    def screenshot(self, path: Path):
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self):
        try:
            self.ws.close()
        finally:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the browser and all its helper processes
            except ProcessLookupError:
                pass
            self.proc.wait()
            self.profile.cleanup()
