"""Key material of the emulator: its test CA, the HTTPS server certificate, the token-signing key
and the demo app's client certificate.

Stage: emulator start-up. Hands an ``ssl.SSLContext`` to ``server.py``, the signing key to
``identity/tokens.py`` and the client certificate files to ``identity/apps.py``.

Generating RSA keys costs tenths of a second, so the material is made once per process and also
kept on disk in a private (0700) directory under the temp dir; the directory name carries no
secret, only the user id and a layout version. Nothing here is a real secret: it is a test CA
that only the emulator's own clients are told to trust (``verify=ca_path``).
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import ipaddress
import os
import shutil
import ssl
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Bump when the files or their contents change, so an old cache is not reused.
_LAYOUT = "v1"
_FILES = ("ca.pem", "server.pem", "server.key", "signing.key", "app.pem", "app.key")
_SERVER_NAMES = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Material:
    """Paths of the PEM files (all in one private directory) and the derived facts."""

    directory: Path
    ca_path: Path
    server_cert_path: Path
    server_key_path: Path
    signing_key_path: Path
    app_cert_path: Path
    app_key_path: Path

    @property
    def app_thumbprint(self) -> str:
        """SHA-1 hex of the app certificate (DER), the form msal's ``thumbprint`` wants."""
        cert = x509.load_pem_x509_certificate(self.app_cert_path.read_bytes())
        return cert.fingerprint(hashes.SHA1()).hex().upper()

    def server_context(self) -> ssl.SSLContext:
        """A TLS server context with the emulator's certificate."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(self.server_cert_path), str(self.server_key_path))
        return ctx


_lock = threading.Lock()
_cached: Material | None = None


def material() -> Material:
    """The process-wide key material, loaded from the disk cache or generated once."""
    global _cached
    with _lock:
        if _cached is None:
            _cached = _load_or_create(_cache_dir())
        return _cached


def copy_ca(dest_dir: str | os.PathLike[str]) -> Path:
    """Copy the CA certificate into ``dest_dir`` (the CLI's ``--state-dir``) and return its path."""
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / "ca.pem"
    shutil.copyfile(material().ca_path, target)
    return target


def _cache_dir() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"o365sql-emulator-{uid}-{_LAYOUT}"


def _paths(directory: Path) -> Material:
    return Material(
        directory=directory,
        ca_path=directory / "ca.pem",
        server_cert_path=directory / "server.pem",
        server_key_path=directory / "server.key",
        signing_key_path=directory / "signing.key",
        app_cert_path=directory / "app.pem",
        app_key_path=directory / "app.key",
    )


def _usable(directory: Path) -> bool:
    """True when the cached directory is ours, private, complete and not about to expire."""
    try:
        st = directory.stat()
    except FileNotFoundError:
        return False
    if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o077):
        return False
    if not all((directory / name).is_file() for name in _FILES):
        return False
    try:
        cert = x509.load_pem_x509_certificate((directory / "server.pem").read_bytes())
    except ValueError:
        return False
    soon = _dt.datetime.now(_dt.UTC) + _dt.timedelta(days=2)
    return cert.not_valid_after_utc > soon


def _load_or_create(directory: Path) -> Material:
    if _usable(directory):
        return _paths(directory)
    # Build in a private scratch directory, then rename into place: a concurrent process either
    # wins the rename or finds a complete directory.
    parent = directory.parent
    scratch = Path(tempfile.mkdtemp(prefix=directory.name + ".tmp-", dir=parent))
    _generate(scratch)
    if directory.exists() and not _usable(directory):
        shutil.rmtree(directory, ignore_errors=True)
    try:
        os.rename(scratch, directory)
    except OSError:
        # Someone else finished first; use theirs if it is good, else our scratch copy.
        if _usable(directory):
            shutil.rmtree(scratch, ignore_errors=True)
            return _paths(directory)
        return _paths(scratch)
    return _paths(directory)


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _generate(directory: Path) -> None:
    now = _dt.datetime.now(_dt.UTC) - _dt.timedelta(hours=1)
    # EC keys for the TLS chain: generated in microseconds, and every TLS client supports them.
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "o365sql emulator"),
        x509.NameAttribute(NameOID.COMMON_NAME, "o365sql emulator test CA"),
    ])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for name in _SERVER_NAMES:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _dt.timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    # RSA where the protocol demands it: RS256 tokens, and msal's RS256/PS256 client assertions.
    signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    app_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    app_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "o365sql emulator demo app")])
    app_cert = (
        x509.CertificateBuilder()
        .subject_name(app_name)
        .issuer_name(app_name)
        .public_key(app_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _dt.timedelta(days=3650))
        .sign(app_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    _write(directory / "ca.pem", ca_cert.public_bytes(pem))
    _write(directory / "server.pem", server_cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    _write(directory / "server.key", _key_pem(server_key))
    _write(directory / "signing.key", _key_pem(signing_key))
    _write(directory / "app.pem", app_cert.public_bytes(pem))
    _write(directory / "app.key", _key_pem(app_key))
    os.chmod(directory, 0o700)


def certificate_thumbprints(pem: bytes) -> tuple[str, str]:
    """(x5t, x5t#S256) of a PEM certificate as unpadded base64url, as JWS headers carry them."""
    cert = x509.load_pem_x509_certificate(pem)
    der = cert.public_bytes(serialization.Encoding.DER)
    sha1 = hashlib.sha1(der).digest()
    sha256 = hashlib.sha256(der).digest()
    return _b64url(sha1), _b64url(sha256)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
