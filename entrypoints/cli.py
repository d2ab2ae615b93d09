"""barman-cloud-backup's command line: main(argv, env) parses, runs a use case, returns the code."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import FrameType
from typing import Any, TextIO

from cloud_base_backup.domain import redaction
from cloud_base_backup.domain.errors import BackupError, Interrupted
from cloud_base_backup.domain.exit_codes import ExitCode
from cloud_base_backup.entrypoints.hook import is_hook, run_hook
from cloud_base_backup.entrypoints.options import BackupOptions, parse_tags_csv
from cloud_base_backup.entrypoints.parser import ParserExit, build_parser
from cloud_base_backup.entrypoints.providers.registry import register_credentials


def options_from_args(ns: argparse.Namespace) -> BackupOptions:
    tags = ns.tags_append or (parse_tags_csv(ns.tags_list) if ns.tags_list is not None else None)
    values = vars(ns).copy()
    for key in ("tags_append", "tags_list"):
        values.pop(key)
    return BackupOptions(tags=tags, **values)


class _RedactingStream:
    """A text stream whose writes pass through the redaction step (argparse's messages)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(redaction.redact(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM is handled like Ctrl-C: the backup is failed cleanly, never left half done."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise Interrupted(f"terminated by signal {signal.Signals(signum).name}")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (embedded use): leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(
    argv: list[str] | None = None,
    env: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    prog: str = "barman-cloud-backup",
    configure: Callable[[Any], None] | None = None,
) -> int:
    """Run the command; return the process exit code (barman's codes).

    `configure` may override the container's providers (tests inject fakes through it).
    """
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    env = dict(os.environ if env is None else env)
    register_credentials()
    redaction.set_run_secrets(env)
    parser = build_parser(prog, _RedactingStream(stdout), _RedactingStream(stderr))  # type: ignore[arg-type]
    try:
        options = options_from_args(parser.parse_args(sys.argv[1:] if argv is None else argv))
    except ParserExit as exc:
        return exc.status
    except BackupError as exc:  # --tags CSV errors: a bare line, exit 3
        stderr.write(redaction.redact(f"{exc}\n"))
        return int(exc.exit_code)
    if options.sse_customer_key and not options.sse_customer_key.startswith("file://"):
        redaction.add_secret(options.sse_customer_key)  # an inline key given by mistake

    from cloud_base_backup.entrypoints.container import (
        make_container,  # SDKs load only when a run needs them
    )

    container = make_container(options, env, stderr)
    if configure is not None:
        configure(container)
    log = container.log()
    try:
        with _terminate_as_interrupt():
            code = _run(container, options, env)
    except BackupError as exc:
        log.error(str(exc), exit_code=int(exc.exit_code))
        _debug_traceback(log, options)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        log.error("Barman cloud backup was interrupted by the user")
        return int(ExitCode.FAILED)
    except Exception as exc:  # noqa: BLE001 - unexpected: one line, traceback only at -vv
        log.error(f"Barman cloud backup exception: {exc}", error_type=type(exc).__name__)
        _debug_traceback(log, options)
        return int(ExitCode.INVALID_INPUT)
    finally:
        container.shutdown_resources()
    return int(code)


def _debug_traceback(log: Any, options: BackupOptions) -> None:
    if options.log_level <= 10:
        log.debug("Exception details", traceback=traceback.format_exc())


def _run(container: Any, options: BackupOptions, env: Mapping[str, str]) -> ExitCode:
    options.check()
    container.object_store()  # URL and credential errors surface here, before -t (exit 4)
    if options.test:  # -t wins over hook mode, as in barman
        container.check_connectivity()
        container.reporter().checked(
            f"{container.object_store().description}: the store answered, the credentials "
            "were accepted and the bucket exists"
        )
        return ExitCode.OK
    if is_hook(env):
        return run_hook(container, options, env)
    if options.snapshot_mode:
        container.take_snapshot_backup()
    else:
        container.take_backup()
    return ExitCode.OK


def run() -> None:
    """Console-script shim: the only place that calls sys.exit."""
    sys.exit(main(prog=os.path.basename(sys.argv[0]) or "barman-cloud-backup"))


if __name__ == "__main__":
    run()
