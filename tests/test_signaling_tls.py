"""``nbconference serve --certfile --keyfile`` serves ``wss://``, which pages on https://
need; a plain socket or an untrusted certificate gets nowhere, and bad files are refused
before the server starts."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tornado.websocket import WebSocketClosedError

from signaling_client import Client, ServeProcess, connect_url


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_serve_speaks_wss_with_a_certificate(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server = ServeProcess("--certfile", str(cert), "--keyfile", str(key))
    try:
        url = await server.started()
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
