"""The program that opens docs/python.md, run as it is written (extracted from the page, so
the page cannot rot) against the real Gateway: it reaches READY after the operator approves
it, answers `gpio.read` without params and with a bad pin, and exits on Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import pathlib
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from typing import List

from conftest import ROOT, GatewayFixture

DOC = ROOT / "docs" / "python.md"


def docs_program() -> str:
    """The first ```python block of docs/python.md."""
    match = re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert match, f"{DOC} has no python block"
    return match.group(1)


def test_the_docs_program_is_short_and_comes_first() -> None:
    text = DOC.read_text(encoding="utf-8")
    program = docs_program()
    assert len(program.splitlines()) < 30, program
    # Nothing but the title and one sentence before it.
    assert text.index("```python") < 200, text[:300]


def _sigint_default() -> None:
    # A process started in the background by a non-interactive shell (as CI runners may
    # start this suite) inherits SIGINT ignored, and Python then installs no KeyboardInterrupt
    # handler: the program would never see the Ctrl-C this test sends. A user's terminal
    # delivers it; give the child that terminal's disposition.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _lines(stream: "subprocess.Popen[str]", out: "queue.Queue[str]") -> None:
    assert stream.stdout is not None
    for line in stream.stdout:
        out.put(line)


def test_the_docs_program_answers_the_operator(gateway: GatewayFixture, tmp_path: pathlib.Path) -> None:
    script = tmp_path / "node.py"
    script.write_text(docs_program(), encoding="utf-8")
    env = dict(
        os.environ,
        CLAWNODE_GATEWAY_URL=gateway.url,
        CLAWNODE_GATEWAY_TOKEN=gateway.token,
        CLAWNODE_STATE_DIR=str(tmp_path / "state"),
        PYTHONUNBUFFERED="1",
        PYTHONFAULTHANDLER="1",  # a hang below is reported with every thread's stack
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_sigint_default,
    )
    lines: "queue.Queue[str]" = queue.Queue()
    threading.Thread(target=_lines, args=(proc, lines), daemon=True).start()
    seen: List[str] = []

    def wait_line(needle: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                assert proc.poll() is None, "".join(seen)
                continue
            seen.append(line)
            if needle in line:
                return line
        raise AssertionError(f"no {needle!r} in:\n{''.join(seen)}")

    async def operator() -> None:
        approved = await gateway.call("approve_node")
        assert approved["ok"], approved
        node_id = approved["result"]["nodeId"]
        wait_line("state: ready (Gateway ")

        r = await gateway.invoke_without_params(node_id, "gpio.read")
        assert r["ok"], r
        assert r["result"]["payload"] == {"pin": 4, "value": 1}, r

        r = await gateway.invoke(node_id, "gpio.read", {"pin": 99})
        assert not r["ok"], r
        assert r["error"]["details"]["nodeError"]["code"] == "INVALID_REQUEST", r
        assert "no GPIO pin 99" in r["error"]["message"], r

    try:
        wait_line("state: idle")
        asyncio.run(operator())
        # The handler's CommandError reached the app's log (logging.basicConfig at INFO).
        failed = wait_line("WARNING:clawnode.ffi.handler:command handler failed command=gpio.read")
        assert "code=INVALID_REQUEST" in failed, failed
        # Ctrl-C: asyncio.run cancels main(), `async with` stops the node, Python exits by
        # SIGINT after its KeyboardInterrupt (atexit closes the native runtime first).
        proc.send_signal(signal.SIGINT)
        # Stopping is bounded (the supervisor 5 s, handlers' grace, the runtime 2 s): 30 s is
        # a hang, shown with the program's output and its threads' stacks (SIGABRT makes
        # faulthandler print them).
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            proc.wait(timeout=10)
            time.sleep(0.5)
            while not lines.empty():
                seen.append(lines.get())
            raise AssertionError("no exit 30 s after SIGINT:\n" + "".join(seen)) from None
        assert code == -signal.SIGINT, "".join(seen)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # The identity was written where the program said.
    assert any((tmp_path / "state").iterdir())
