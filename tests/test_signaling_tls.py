"""``nbconference serve --certfile --keyfile`` serves ``wss://``, which pages on https://
need; a plain socket or an untrusted certificate gets nowhere, and bad files are refused
before the server starts."""

from __future__ import annotations

import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from tornado.websocket import WebSocketClosedError

from support.client import Client, connect_url
from support.standalone import ServeProcess
from support.tls import make_certificate


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


async def test_serve_speaks_wss_with_a_certificate(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server = ServeProcess(tls=(cert, key))
    try:
        url = (await server.ready()).url_with_token
        assert url.startswith("wss://127.0.0.1:")
        trusting = ssl.create_default_context(cafile=str(cert))
        ada = Client(await connect_url(url, tls=trusting))
        bob = Client(await connect_url(url, tls=trusting))
        await ada.join("lab")
        await bob.join("lab")
        await ada.expect("peer-joined")
        await ada.signal(bob)
        await bob.expect("signal")

        # A client that does not trust the certificate, or speaks plain ws://, gets nowhere.
        with pytest.raises(ssl.SSLCertVerificationError):
            await connect_url(url, tls=ssl.create_default_context())
        with pytest.raises((WebSocketClosedError, ConnectionError, OSError)):
            plain = await connect_url(url.replace("wss://", "ws://", 1))
            await Client(plain).join("lab")
        ada.close()
        bob.close()
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        (["--keyfile", "key"], "--keyfile needs --certfile"),
        (["--certfile", "missing"], "No such file"),
        (["--certfile", "key", "--keyfile", "key"], "cannot use --certfile/--keyfile"),
        (["--certfile", "cert"], "cannot use --certfile/--keyfile"),  # no key in it
    ],
)
def test_serve_refuses_unusable_certificate_files(
    certificate: tuple[Path, Path], files: list[str], reason: str
) -> None:
    cert, key = certificate
    paths = {"cert": str(cert), "key": str(key), "missing": str(cert.parent / "none.pem")}
    done = subprocess.run(
        [sys.executable, "-m", "nbconference", "serve", "--port", "0"]
        + [paths.get(arg, arg) for arg in files],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2, done.stderr
    assert reason in done.stderr, done.stderr
