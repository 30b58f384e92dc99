"""Whom the kernel trusts as its local signaling server (nbconference.client.local): a
server killed outright leaves its runtime file behind, and whoever listens on its port
next must neither be trusted nor receive the token. The server proves itself by the HMAC
of a nonce under the token; the process and the listening socket must be this user's."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nbconference.client.local import (
    RUNTIME_FILE,
    LocalServer,
    find_or_start,
    listening_uids,
    parse_listener,
    read_runtime_file,
    verify,
)
from support.impostor import NOBODY, Impostor, can_run_as_another_user
from support.polling import wait_until
from support.processes import free_port, process_alive

needs_another_user = pytest.mark.skipif(
    not can_run_as_another_user(), reason="needs root, setpriv and /usr/bin/python3"
)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Path]:
    """A runtime dir of its own; the servers started there are stopped afterwards."""
    folder = tmp_path / "runtime"
    yield folder
    for line in (folder / "pids").read_text().split() if (folder / "pids").exists() else []:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(line), signal.SIGKILL)


def started(runtime: Path, server: LocalServer) -> LocalServer:
    """Note a detached server for the fixture to stop."""
    with (runtime / "pids").open("a") as file:
        file.write(f"{server.pid}\n")
    return server


@pytest.fixture
def stand_in() -> Iterator[subprocess.Popen[bytes]]:
    """A live process of this user: what a dead server's pid may belong to by now."""
    process = subprocess.Popen(["sleep", "120"])
    yield process
    process.kill()
    process.wait()


@pytest.fixture
def stranger() -> Iterator[subprocess.Popen[bytes]]:
    """A live process of another user (nobody)."""
    process = subprocess.Popen(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "sleep", "120"]
    )
    wait_until(lambda: os.stat(f"/proc/{process.pid}").st_uid == NOBODY, 10, "the setuid")
    yield process
    process.kill()
    process.wait()


def killed_leaving_its_file(runtime: Path) -> tuple[LocalServer, dict[str, Any]]:
    """A local server killed with SIGKILL: its runtime file stays, naming a free port."""
    server = started(runtime, find_or_start(runtime))
    record = json.loads((runtime / RUNTIME_FILE).read_text())
    os.kill(server.pid, signal.SIGKILL)
    wait_until(lambda: not process_alive(server.pid), 10, "the server to die")
    return server, record


def rewrite(runtime: Path, record: dict[str, Any]) -> None:
    path = runtime / RUNTIME_FILE
    path.write_text(json.dumps(record))
    path.chmod(0o600)


@pytest.mark.parametrize("key", ["no proof", "a wrong key"])
def test_a_listener_on_a_stale_port_gets_neither_trust_nor_token(
    runtime: Path, tmp_path: Path, stand_in: subprocess.Popen[bytes], key: str
) -> None:
    old, record = killed_leaving_its_file(runtime)
    # The pid was reused by a process of this user, and the port taken by a stranger
    # who answers with that pid (and an HMAC under a key of its own, or none).
    record["pid"] = stand_in.pid
    rewrite(runtime, record)
    wrong = "" if key == "no proof" else secrets.token_urlsafe(24)
    log = tmp_path / "impostor.log"
    with Impostor(old.port, stand_in.pid, wrong, log) as impostor:
        assert verify(read_runtime_file(runtime / RUNTIME_FILE)) is False  # type: ignore[arg-type]
        replacement = started(runtime, find_or_start(runtime))
        seen = impostor.requests()
    assert seen, "the impostor was never asked: the test tested nothing"
    assert all(old.token not in request for request in seen), seen
    assert old.token not in impostor.output()
    assert replacement.pid != stand_in.pid and replacement.port != old.port
    assert verify(replacement) and read_runtime_file(runtime / RUNTIME_FILE) == replacement


def test_the_real_server_answers_a_nonce_with_its_hmac(runtime: Path) -> None:
    server = started(runtime, find_or_start(runtime))
    nonce = secrets.token_hex(16)
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/?nonce={nonce}") as response:
        status = json.loads(response.read())
    message = b"nbconference local server\n" + nonce.encode()
    expected = hmac.new(server.token.encode(), message, hashlib.sha256).hexdigest()
    assert status == {
        "nbconference": "signaling",
        "protocol": 1,
        "pid": server.pid,
        "proof": expected,
    }
    assert verify(server)
    assert not verify(LocalServer(server.url, "x" * 32, server.pid, server.port))


def test_the_socket_table_names_the_owner_of_a_listening_socket() -> None:
    port = free_port()
    assert listening_uids(port) == set()
    for family, address in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::")):
        with socket.socket(family) as listener:
            listener.bind((address, port))
            assert listening_uids(port) == set(), "bound is not listening"
            listener.listen()
            assert listening_uids(port) == {os.getuid()}, address
    # Lines as the kernel writes them (little-endian words), of another uid.
    tcp = "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000 0 99"
    tcp6 = (
        "   1: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 "
        "0A 00000000:00000000 00:00000000 00000000  1001 0 98"
    )
    established = tcp.replace(" 0A ", " 01 ")
    if socket.htonl(1) != 1:  # little-endian, as /proc shows on x86 and arm
        assert parse_listener(tcp, socket.AF_INET) == ("127.0.0.1", 8080, 1000)
    assert parse_listener(tcp6, socket.AF_INET6) == ("::", 8080, 1001)
    assert parse_listener(established, socket.AF_INET) is None
    assert parse_listener("  sl  local_address rem_address   st", socket.AF_INET) is None


@needs_another_user
def test_a_listener_of_another_user_is_not_even_asked(
    runtime: Path, tmp_path: Path, stand_in: subprocess.Popen[bytes]
) -> None:
    old, record = killed_leaving_its_file(runtime)
    record["pid"] = stand_in.pid
    rewrite(runtime, record)
    # Even one that could answer the nonce: the socket's owner alone rules it out.
    with Impostor(old.port, stand_in.pid, old.token, tmp_path / "i.log", uid=NOBODY) as impostor:
        assert listening_uids(old.port) == {NOBODY}
        assert verify(read_runtime_file(runtime / RUNTIME_FILE)) is False  # type: ignore[arg-type]
        assert impostor.requests() == []


@needs_another_user
def test_a_process_of_another_user_is_not_ours(
    runtime: Path, tmp_path: Path, stranger: subprocess.Popen[bytes]
) -> None:
    old, record = killed_leaving_its_file(runtime)
    # The pid went to another user's process (root's signal test would find it alive);
    # even a listener that answers as the server would is not asked.
    record["pid"] = stranger.pid
    rewrite(runtime, record)
    with Impostor(old.port, stranger.pid, old.token, tmp_path / "i.log") as impostor:
        assert verify(read_runtime_file(runtime / RUNTIME_FILE)) is False  # type: ignore[arg-type]
        assert impostor.requests() == []
