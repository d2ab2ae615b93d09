"""A stand-in server run as a child process on 127.0.0.1, waited for, and stopped by its owner."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Self

from tests.support.ports import free_port, wait_for_port


class ServerProcess:
    """Subclasses give `name` and `argv()`; `start()` returns once the port accepts connections."""

    name = "server"
    startup_timeout = 60.0

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = free_port(host)
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{self.name}-"))
        self._proc: subprocess.Popen[bytes] | None = None

    def argv(self) -> list[str]:
        raise NotImplementedError

    def child_env(self) -> dict[str, str] | None:
        """The child's environment (None: inherit ours)."""
        return None

    def start(self) -> Self:
        log_path = self.workdir / "server.log"
        with log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                self.argv(), cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, env=self.child_env()
            )
        try:
            wait_for_port(self.port, self.host, timeout=self.startup_timeout)
        except TimeoutError:
            output = log_path.read_text()
            self.stop()
            raise RuntimeError(f"{self.name} did not start:\n{output}") from None
        return self

    def stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
