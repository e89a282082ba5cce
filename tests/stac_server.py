"""A real STAC API on 127.0.0.1 for tests: rustac's server behind a small front.

``rustac serve`` (the Rust ``stac-server`` shipped in the ``rustac`` wheel, in-memory
backend) serves the collections and items; a threaded front server on another port
serves the COG files with HTTP Range support, proxies every other path to rustac, and
injects faults on request (status codes, delays, truncated bodies) so tests can see
how the loaders behave against real HTTP. rustac is started with ``--addr`` set to the
front, so the links it writes (pagination ``next``, item ``self``) go through the front.

Usage (see ``tests/loaders/conftest.py`` for the session fixture)::

    with StacServer(root, collections, items) as server:
        server.url            # STAC API root, e.g. http://127.0.0.1:40123
        server.file_url("a/b.tif")
        with server.fault("/search", status=502, times=2): ...
"""

from __future__ import annotations

import fnmatch
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["Fault", "StacServer", "free_port", "rustac_executable"]


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rustac_executable() -> str:
    """The ``rustac`` command of the running interpreter's environment."""
    here = Path(sys.executable).parent / "rustac"
    if here.exists():
        return str(here)
    found = shutil.which("rustac")
    if found is None:
        raise RuntimeError("rustac is not installed: pip install rustac (see requirements/)")
    return found


@dataclass
class Fault:
    """A fault the front injects on paths matching ``pattern`` (fnmatch on the path)."""

    pattern: str
    status: int | None = None  # answer with this HTTP status
    delay: float = 0.0  # sleep this long before answering
    truncate: int | None = None  # send only this many bytes of the body, then close
    times: int | None = None  # apply this many times (None: always)
    range_start: int | None = None  # only to Range requests starting at or after this byte
    hits: int = 0

    def active(self) -> bool:
        return self.times is None or self.hits < self.times

    def applies(self, path: str, range_header: str | None) -> bool:
        """Whether this fault fires for a request of ``path`` with this Range header."""
        if not fnmatch.fnmatch(path, self.pattern) or not self.active():
            return False
        if self.range_start is None:
            return True
        if not range_header or not range_header.startswith("bytes="):
            return False
        first = range_header[len("bytes=") :].split(",")[0].partition("-")[0]
        return bool(first) and int(first) >= self.range_start


class _State:
    """The front's state: files root, backend port, faults and request log."""

    def __init__(self, root: Path, backend_port: int) -> None:
        self.root = root
        self.backend_port = backend_port
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str]] = []
        self._lock = threading.Lock()


class _Front(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], owner: _State) -> None:
        super().__init__(addr, _Handler)
        self.owner = owner


class _Handler(BaseHTTPRequestHandler):
    server: _Front
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _fault(self) -> Fault | None:
        owner = self.server.owner
        path = self.path.split("?", 1)[0]
        rng = self.headers.get("Range")
        with owner._lock:
            owner.log.append((self.command, self.path, rng or ""))
            for f in owner.faults:
                if f.applies(path, rng):
                    f.hits += 1
                    return f
        return None

    def _send(self, status: int, body: bytes, headers: dict[str, str], fault: Fault | None) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if fault is not None and fault.truncate is not None:
            self.wfile.write(body[: fault.truncate])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(body)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/_control/"):
            self._control(body)
            return
        fault = self._fault()
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.status is not None:
            msg = json.dumps({"code": "InjectedFault", "description": f"HTTP {fault.status}"})
            self._send(fault.status, msg.encode(), {"Content-Type": "application/json"}, None)
            return
        if self.path.startswith("/files/"):
            self._file(fault)
        else:
            self._proxy(body, fault)

    do_GET = do_POST = do_HEAD = _handle

    def _control(self, body: bytes) -> None:
        owner = self.server.owner
        with owner._lock:
            if self.path == "/_control/faults":
                spec = json.loads(body or b"[]")
                owner.faults = [Fault(**f) for f in spec]
            elif self.path == "/_control/log/clear":
                owner.log.clear()
            answer = {
                "log": owner.log,
                "faults": [{"pattern": f.pattern, "hits": f.hits} for f in owner.faults],
            }
        self._send(200, json.dumps(answer).encode(), {"Content-Type": "application/json"}, None)

    def _file(self, fault: Fault | None) -> None:
        rel = urllib.request.url2pathname(self.path.split("?", 1)[0][len("/files/") :])
        path = (self.server.owner.root / rel).resolve()
        if not path.is_file() or self.server.owner.root.resolve() not in path.parents:
            self._send(404, b"not found", {"Content-Type": "text/plain"}, None)
            return
        data = path.read_bytes()
        headers = {"Content-Type": "image/tiff", "Accept-Ranges": "bytes"}
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            first, _, last = rng[len("bytes=") :].split(",")[0].partition("-")
            start = int(first) if first else max(0, len(data) - int(last))
            end = min(int(last), len(data) - 1) if (first and last) else len(data) - 1
            if start >= len(data):
                headers["Content-Range"] = f"bytes */{len(data)}"
                self._send(416, b"", headers, None)
                return
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            self._send(206, data[start : end + 1], headers, fault)
        else:
            self._send(200, data, headers, fault)

    def _proxy(self, body: bytes, fault: Fault | None) -> None:
        owner = self.server.owner
        conn = http.client.HTTPConnection("127.0.0.1", owner.backend_port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "accept")}
        try:
            conn.request(self.command, self.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            keep = {k: v for k, v in resp.getheaders() if k.lower() in ("content-type", "location")}
            self._send(resp.status, data, keep, fault)
        finally:
            conn.close()


class StacServer:
    """rustac's STAC API behind a fault-injecting, Range-capable front on 127.0.0.1.

    ``root`` is the folder whose files are served under ``/files/``; ``documents`` are
    the STAC collections and items (dicts) rustac loads at start. Both servers run in
    their own processes: GDAL holds the GIL while it waits on the network, so a server
    thread inside the test process would deadlock against rasterio.
    """

    def __init__(self, root: Path, documents: list[dict[str, Any]], *, port: int = 0) -> None:
        self.root = Path(root)
        self.port = port or free_port()
        self.backend_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._documents = documents
        self._procs: list[subprocess.Popen[bytes]] = []
        self._faults: list[dict[str, Any]] = []

    def file_url(self, rel: str) -> str:
        """The URL of ``root/rel`` on the front."""
        return f"{self.url}/files/{rel}"

    def start(self) -> StacServer:
        docs = self.root / "_stac"
        docs.mkdir(parents=True, exist_ok=True)
        hrefs = []
        for i, doc in enumerate(self._documents):
            p = docs / f"{i:04d}-{doc.get('type', 'doc')}.json"
            p.write_text(json.dumps(doc))
            hrefs.append(str(p))
        self._logfile = open(docs / "servers.log", "wb")
        env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
        rustac = [
            rustac_executable(),
            "serve",
            "--addr",
            self.url,
            "--bind",
            f"127.0.0.1:{self.backend_port}",
            *hrefs,
        ]
        front = [
            sys.executable,
            str(Path(__file__).resolve()),
            str(self.root),
            str(self.port),
            str(self.backend_port),
        ]
        for cmd in (rustac, front):
            self._procs.append(
                subprocess.Popen(cmd, stdout=self._logfile, stderr=subprocess.STDOUT, env=env)
            )
        deadline = time.monotonic() + 60
        while True:
            for proc in self._procs:
                if proc.poll() is not None:
                    self.stop()
                    raise RuntimeError(
                        f"{proc.args[0]} exited with {proc.returncode}: "
                        f"{(docs / 'servers.log').read_text(errors='replace')[-2000:]}"
                    )
            try:
                with urllib.request.urlopen(f"{self.url}/collections", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the test STAC server did not answer within 60 s")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
        self._procs = []
        if getattr(self, "_logfile", None) is not None:
            self._logfile.close()
            self._logfile = None

    def __enter__(self) -> StacServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _control(self, what: str, payload: Any = None) -> dict[str, Any]:
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(
            f"{self.url}/_control/{what}",
            data=data,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    @contextmanager
    def fault(self, pattern: str, **kw: Any):
        """Inject a :class:`Fault` on paths matching ``pattern`` while the block runs.

        Yields a callable returning how many times the fault has fired so far.
        """
        spec = {"pattern": pattern, **kw}
        self._faults.append(spec)
        self._control("faults", self._faults)

        def hits() -> int:
            state = self._control("status")
            return sum(f["hits"] for f in state["faults"] if f["pattern"] == pattern)

        try:
            yield hits
        finally:
            self._faults.remove(spec)
            self._control("faults", self._faults)

    def requests(self, pattern: str = "*") -> list[tuple[str, str]]:
        """Requests seen by the front whose path matches ``pattern`` (oldest first)."""
        return [(m, p) for m, p, _ in self.request_log(pattern)]

    def request_log(self, pattern: str = "*") -> list[tuple[str, str, str]]:
        """Like :meth:`requests`, with each request's Range header ("" when none)."""
        log = self._control("status")["log"]
        return [(m, p, r) for m, p, r in log if fnmatch.fnmatch(p.split("?", 1)[0], pattern)]

    def clear_log(self) -> None:
        self._control("log/clear", {})


def _serve_front(root: str, port: int, backend_port: int) -> None:
    server = _Front(("127.0.0.1", port), _State(Path(root), backend_port))
    server.serve_forever()


if __name__ == "__main__":
    _serve_front(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
