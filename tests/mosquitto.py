"""A real MQTT broker for the MQTT tests: Debian's Mosquitto, started by the test run.

Each broker gets a temporary folder with its configuration (and, when asked, a password file made
with ``mosquitto_passwd``, persistence, or TLS with a certificate of a CA made for the test), listens
on a free port on 127.0.0.1 only, and is stopped at the end of the test. Without the ``mosquitto`` binary the tests are skipped (``make test``
installs it as root through scripts/system-deps.sh).
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _binary(name: str) -> str | None:
    """Debian puts the broker in /usr/sbin, which is not on every user's PATH."""
    return shutil.which(name, path=f"{os.environ.get('PATH', '')}:/usr/sbin")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MosquittoBroker:
    """One Mosquitto process in ``root``; ``users`` (name: password) turn anonymous access off."""

    def __init__(self, root: Path, *, users: dict[str, str] | None = None, persistence: bool = False,
                 tls: tuple[Path, Path] | None = None, port: int | None = None) -> None:
        self.root = root
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.log = root / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None
        lines = [f"listener {self.port} {self.host}", "log_dest stderr", "log_type all",
                 f"allow_anonymous {'false' if users else 'true'}",
                 f"persistence {'true' if persistence else 'false'}", f"persistence_location {root}/"]
        if tls is not None:
            lines += [f"certfile {tls[0]}", f"keyfile {tls[1]}"]
        if os.geteuid() == 0:
            lines.append("user root")  # else it drops to the mosquitto user, who cannot read this folder
        if users:
            passwords = root / "passwords"
            for index, (name, password) in enumerate(users.items()):
                create = ["-c"] if index == 0 else []
                subprocess.run([_binary("mosquitto_passwd") or "mosquitto_passwd", *create, "-b", str(passwords),
                                name, password], check=True, capture_output=True, timeout=30)
            lines.append(f"password_file {passwords}")
        self.config = root / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")

    def start(self, timeout: float = 10.0) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([_binary("mosquitto") or "mosquitto", "-c", str(self.config)],
                                            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited ({self.process.returncode}): {self.log.read_text()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout} s: {self.log.read_text()}")

    def stop(self) -> None:
        """SIGTERM: Mosquitto saves its persistent state (sessions, retained messages) and exits."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA made for the test, and a certificate it signed for 127.0.0.1: (CA, certificate, key) as PEM files."""
    def key() -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    now = datetime.now(UTC)
    ca_key, server_key = key(), key()

    def signed(builder: x509.CertificateBuilder) -> x509.Certificate:
        return (builder.serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
                .not_valid_after(now + timedelta(days=1)).sign(ca_key, hashes.SHA256()))

    ca = signed(x509.CertificateBuilder().subject_name(name("gatewatch test CA")).issuer_name(name("gatewatch test CA"))
                .public_key(ca_key.public_key())
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                             content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False, encipher_only=False,
                                             decipher_only=False), critical=True))
    server = signed(x509.CertificateBuilder().subject_name(name("127.0.0.1")).issuer_name(ca.subject)
                    .public_key(server_key.public_key())
                    .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                   critical=False))
    paths = folder / "ca.pem", folder / "server.pem", folder / "server-key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return paths


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Callable[..., MosquittoBroker]]:
    """A factory of started brokers (``MosquittoBroker``'s keywords); every one is stopped at the end."""
    if _binary("mosquitto") is None:
        pytest.skip("mosquitto not found: apt-get install mosquitto (make test does it as root)")
    brokers: list[MosquittoBroker] = []
    numbers = itertools.count()

    def start(**options: object) -> MosquittoBroker:
        root = tmp_path / f"mosquitto-{next(numbers)}"
        root.mkdir()
        broker = MosquittoBroker(root, **options)  # type: ignore[arg-type]
        brokers.append(broker)
        broker.start()
        return broker

    try:
        yield start
    finally:
        for broker in brokers:
            broker.stop()
