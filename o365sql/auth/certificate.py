"""Client certificates for ``AuthScheme=AzureServicePrincipalCert``: PEM or PFX in, msal credential out.

Stage: sign-in credentials. ``load_certificate`` reads ``OAuthJWTCert`` (as CData's
``OAuthJWTCertType`` names them: ``PEMKEY_FILE``, ``PEMKEY_BLOB``, ``PFXFILE``, ``PFXBLOB``),
decrypts it with ``OAuthJWTCertPassword`` and hands the app registry a ``ClientCertificate``
whose ``msal_credential()`` is ``{"private_key", "thumbprint", "public_certificate"}``.

The form with a SHA-1 thumbprint makes msal sign an RS256 client assertion with an ``x5t``
header, which every msal release and the identity platform accept
(https://learn.microsoft.com/entra/identity-platform/certificate-credentials).
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass

from o365sql.exceptions import ProgrammingError

__all__ = ["CERT_TYPES", "ClientCertificate", "load_certificate"]

CERT_TYPES = ("PEMKEY_FILE", "PEMKEY_BLOB", "PFXFILE", "PFXBLOB")
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.+?-----END \1-----", re.DOTALL)


@dataclass(frozen=True, repr=False)
class ClientCertificate:
    """A certificate and its private key. ``repr`` shows the subject and thumbprint only."""

    private_key_pem: str
    certificate_pem: str
    thumbprint: str  # SHA-1, lower-case hex, as the Azure portal shows it
    subject: str

    def msal_credential(self) -> dict[str, str]:
        return {
            "private_key": self.private_key_pem,
            "thumbprint": self.thumbprint,
            "public_certificate": self.certificate_pem,
        }

    def __repr__(self) -> str:
        return f"ClientCertificate(subject={self.subject!r}, thumbprint={self.thumbprint!r})"

    __str__ = __repr__


def load_certificate(source: str | None, cert_type: str | None = None,
                     password: str | None = None, subject: str | None = None) -> ClientCertificate:
    """Read and decrypt a client certificate.

    Args:
        source: ``OAuthJWTCert``: a file path (``*_FILE``), PEM text (``PEMKEY_BLOB``) or base64
            PKCS#12 (``PFXBLOB``).
        cert_type: ``OAuthJWTCertType``; when unset, ``.pfx``/``.p12`` files are PFX, others PEM.
        password: ``OAuthJWTCertPassword`` for an encrypted key or PFX.
        subject: ``OAuthJWTCertSubject``: when set (and not ``*``), the certificate's subject
            must contain it, e.g. ``CN=o365sql-daemon``.

    Raises:
        ProgrammingError: naming the property at fault; never showing the password or key.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12

    if not source:
        raise ProgrammingError(
            "OAuthJWTCert is required with AuthScheme=AzureServicePrincipalCert: the path of a PEM "
            "file holding the certificate and its private key, or of a PFX file"
        )
    kind = (cert_type or "").upper() or (
        "PFXFILE" if source.lower().endswith((".pfx", ".p12")) else "PEMKEY_FILE")
    if kind not in CERT_TYPES:
        raise ProgrammingError(
            f"OAuthJWTCertType must be one of {', '.join(CERT_TYPES)}, got {cert_type!r}")
    secret = password.encode() if password else None

    if kind in ("PEMKEY_FILE", "PFXFILE"):
        try:
            with open(os.path.expanduser(source), "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise ProgrammingError(
                f"OAuthJWTCert: cannot read certificate file {source!r}: {exc.strerror}") from None
    elif kind == "PFXBLOB":
        try:
            data = base64.b64decode(source, validate=False)
        except ValueError:
            raise ProgrammingError("OAuthJWTCert: PFXBLOB must be base64 text") from None
    else:
        data = source.encode()

    try:
        if kind.startswith("PFX"):
            key, cert, extra = pkcs12.load_key_and_certificates(data, secret)
            certs = [c for c in [cert, *extra] if c is not None]
        else:
            blocks = {m.group(0): m.group(1).decode() for m in _PEM_BLOCK.finditer(data)}
            certs = [x509.load_pem_x509_certificate(b) for b, label in blocks.items()
                     if label == "CERTIFICATE"]
            key_blocks = [b for b, label in blocks.items() if label.endswith("PRIVATE KEY")]
            if not key_blocks:
                raise ProgrammingError(
                    f"OAuthJWTCert ({kind}) holds no private key: put the certificate and its key "
                    "in one PEM file, or use a PFX file (OAuthJWTCertType=PFXFILE)")
            key = serialization.load_pem_private_key(key_blocks[0], secret)
    except ProgrammingError:
        raise
    except (ValueError, TypeError) as exc:
        # cryptography says "Bad decrypt" / "Password was not given but private key is
        # encrypted" / "Could not deserialize": no key material in any of them.
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise ProgrammingError(
            f"OAuthJWTCert ({kind}) could not be read: {reason}; check the file and "
            "OAuthJWTCertPassword") from None

    if key is None or not certs:
        raise ProgrammingError(
            f"OAuthJWTCert ({kind}) must contain both a certificate and its private key")
    if not isinstance(key, rsa.RSAPrivateKey):
        # msal signs client assertions with RS256/PS256, and Entra accepts RSA keys only.
        raise ProgrammingError(
            f"OAuthJWTCert ({kind}) holds a {type(key).__name__.lstrip('_')}: app certificates "
            "for the identity platform must have RSA keys")
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    matching = [c for c in certs
                if c.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
                == public]
    if not matching:
        raise ProgrammingError(f"OAuthJWTCert ({kind}): no certificate matches the private key")
    if subject and subject != "*":
        matching = [c for c in matching if _subject_matches(c.subject.rfc4514_string(), subject)]
        if not matching:
            raise ProgrammingError(
                f"OAuthJWTCertSubject {subject!r} matches no certificate in OAuthJWTCert")
    cert = matching[0]
    return ClientCertificate(
        private_key_pem=key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()).decode(),
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        thumbprint=cert.fingerprint(hashes.SHA1()).hex(),
        subject=cert.subject.rfc4514_string(),
    )


def _subject_matches(actual: str, wanted: str) -> bool:
    """CData matches the subject loosely: ``CN=name`` or just ``name``, any case."""
    a, w = actual.lower(), wanted.strip().lower()
    parts = [p.strip() for p in a.split(",")]
    return w in parts or f"cn={w}" in parts or w == a
