"""`./oneplan new-service NAME` in a copy of the checkout: a working service, no hand edits.

The test copies the checkout's files (tracked and untracked, not ignored) into a temporary
git repository, scaffolds `notes` there with the real uv (its cache makes the sync quick),
runs the new service's own tests, starts `./oneplan dev` (its own nats-server from the wheel),
records a note over HTTP with a development token and sees the event on that run's JetStream,
then records one for a child's shared plan and reads it there at the plans service (which knew
nothing of the new agency). Then `git status` must show only the new service's files,
`uv.lock` and the generated files.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import nats
import pytest

from oneplan_kit.deployment import generated_files
from oneplan_kit.dev import port_in_use
from oneplan_kit.service import installed_services

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "Press Ctrl-C to stop"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(360)]


def copy_checkout(target: Path) -> None:
    """The checkout's files as a fresh git repository with one commit."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = ROOT / os.fsdecode(name)
        if source.is_file():  # a tracked file deleted in the working tree is not copied
            destination = target / os.fsdecode(name)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=target, check=True)
    subprocess.run([*git, "add", "-A"], cwd=target, check=True)
    subprocess.run([*git, "commit", "-qm", "the checkout"], cwd=target, check=True)


def copy_env() -> dict[str, str]:
    """This environment without what ties it to this checkout's .venv and settings."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("ONEPLAN_", "VIRTUAL_ENV", "UV_PROJECT", "PYTEST_"))
    }
    venv_bin = str(ROOT / ".venv" / "bin")
    path = [part for part in env.get("PATH", "").split(os.pathsep) if part != venv_bin]
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv:
        path.insert(0, str(Path(uv).parent))
    env["PATH"] = os.pathsep.join(path)
    env["ONEPLAN_ENV"] = "development"
    return env


async def run(cwd: Path, *argv: str, seconds: float = 150) -> tuple[int, str]:
    """Run a command to completion in ``cwd``; its exit code and output."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=copy_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(seconds):
            output, _ = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


def free_offset() -> int:
    """A port offset under which every service port (8001..8020) is free."""
    for _ in range(50):
        offset = random.randrange(20_000, 40_000, 100)
        if not any(port_in_use(8001 + offset + i) for i in range(20)):
            return offset
    raise RuntimeError("no free port range for the dev runner")


@contextlib.asynccontextmanager
async def oneplan_dev(root: Path, offset: int) -> AsyncIterator[list[str]]:
    """`./oneplan dev --port-offset OFFSET` in ``root`` until every service is ready."""
    process = await asyncio.create_subprocess_exec(
        "./oneplan",
        "dev",
        "--port-offset",
        str(offset),
        cwd=root,
        env=copy_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        limit=1 << 20,
    )
    lines: list[str] = []

    async def pump() -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            lines.append(line.decode(errors="replace").rstrip())

    reader = asyncio.create_task(pump())
    try:
        async with asyncio.timeout(120):
            while not any(READY_LINE in line for line in lines):
                if process.returncode is not None:
                    raise AssertionError("oneplan dev exited:\n" + "\n".join(lines[-60:]))
                await asyncio.sleep(0.2)
        yield lines
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                async with asyncio.timeout(30):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
        await reader


async def test_a_new_service_is_scaffolded_runs_and_publishes(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    copy_checkout(root)
    try:
        await _scaffold_test_and_run(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)  # its .venv is a few hundred MB


async def _scaffold_test_and_run(root: Path) -> None:
    code, out = await run(root, "./oneplan", "new-service", "notes")
    assert code == 0, out
    assert "created services/notes/" in out
    expected_port = max([8007, *(d.port for d in installed_services().values())]) + 1
    assert f"port {expected_port}" in out
    assert "generated the deployment files" in out

    uv = shutil.which("uv", path=copy_env()["PATH"])
    assert uv is not None
    code, out = await run(root, uv, "run", "--frozen", "pytest", "services/notes", "-q")
    assert code == 0, out
    assert re.search(r"\b\d+ passed\b", out), out

    offset = free_offset()
    async with oneplan_dev(root, offset) as lines:
        nats_url = re.search(r"OnePlan is running \(NATS (nats://[0-9.:]+)", "\n".join(lines))
        assert nats_url, "\n".join(lines[-40:])
        ports = [d.port + offset for d in installed_services().values()]
        ports.append(expected_port + offset)
        async with httpx.AsyncClient(timeout=5) as client:
            for port in ports:
                ready = await client.get(f"http://127.0.0.1:{port}/readyz")
                assert ready.status_code == 200, ready.text
            code, token = await run(
                root, "./oneplan", "token", "--agency", "notes", "--role", "practitioner"
            )
            assert code == 0, token
            await _record_and_see_the_event(client, expected_port + offset, token, nats_url[1])
            await _see_the_note_in_the_shared_plan(client, root, offset, expected_port, token)

    code, status = await run(root, "git", "status", "--porcelain", "--untracked-files=all")
    assert code == 0, status
    changed = {line[3:] for line in status.splitlines() if not line.startswith("??")}
    added = {line[3:] for line in status.splitlines() if line.startswith("??")}
    generated = {g.path for g in generated_files(list(installed_services().values()))}
    assert changed <= generated | {"uv.lock"}, status
    assert {"uv.lock", "deploy/nats/accounts.conf", "docker-compose.yml"} <= changed, status
    assert added, status
    assert all(path.startswith("services/notes/") for path in added), status
    assert "services/notes/src/oneplan_notes/bootstrap.py" in added


async def _record_and_see_the_event(
    client: httpx.AsyncClient, port: int, token: str, nats_url: str
) -> None:
    note = {"child_id": "0b6f3c1e-8d55-4a57-9d55-1f3f7b1f0c11", "text": "Likes the quiet room."}
    headers = {"Authorization": f"Bearer {token.strip().splitlines()[-1]}"}
    created = await client.post(f"http://127.0.0.1:{port}/v1/notes", json=note, headers=headers)
    assert created.status_code == 201, created.text
    note_id = created.json()["note_id"]
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream(timeout=5)
        events = await js.subscribe("oneplan.notes.>", stream="NOTES", ordered_consumer=True)
        message = await events.next_msg(timeout=20)
        await events.unsubscribe()
    finally:
        await nc.close()
    assert message.subject.startswith(f"oneplan.notes.note.recorded.{note_id}.")
    assert (message.headers or {}).get("ce-type") == "oneplan.notes.note.recorded"


async def _see_the_note_in_the_shared_plan(
    client: httpx.AsyncClient, root: Path, offset: int, port: int, token: str
) -> None:
    """The new agency's note, shared, is in the child's plan at the plans service."""
    code, send = await run(root, "./oneplan", "token", "--agency", "send", "--role", "caseworker")
    assert code == 0, send
    child = await client.post(
        f"http://127.0.0.1:{8001 + offset}/v1/children",
        json={"given_name": "Robin", "family_name": "Testnote", "date_of_birth": "2016-02-03"},
        headers={"Authorization": f"Bearer {send.strip().splitlines()[-1]}"},
    )
    assert child.status_code == 201, child.text
    child_id = child.json()["child_id"]
    note = {"child_id": child_id, "text": "Calmer after the quiet room.", "plan_section": "K"}
    headers = {"Authorization": f"Bearer {token.strip().splitlines()[-1]}"}
    created = await client.post(
        f"http://127.0.0.1:{port + offset}/v1/notes", json=note, headers=headers
    )
    assert created.status_code == 201, created.text
    code, family = await run(
        root, "./oneplan", "token", "--agency", "family", "--role", "parent", "--child", child_id
    )
    assert code == 0, family
    url = f"http://127.0.0.1:{8003 + offset}/v1/children/{child_id}/plan"
    family_headers = {"Authorization": f"Bearer {family.strip().splitlines()[-1]}"}
    async with asyncio.timeout(20):
        while True:
            plan = await client.get(url, headers=family_headers)
            lines = plan.json()["sections"][-1]["lines"] if plan.status_code == 200 else []
            if lines:
                break
            await asyncio.sleep(0.2)
    [line] = lines
    assert (line["title"], line["content"]) == ("Note from notes", note["text"])
    assert line["provenance"]["agency"] == "notes"
