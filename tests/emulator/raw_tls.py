"""Raw bytes over TLS to the emulator, for tests of what an HTTP client library would never send."""

from __future__ import annotations

import socket
import ssl

from o365sql.emulator import Emulator


def raw_exchange(emu: Emulator, payload: bytes) -> bytes:
    """Send raw bytes over TLS and read until the server closes or answers."""
    ctx = ssl.create_default_context(cafile=emu.ca_path)
    with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as sock, \
            ctx.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
        tls.sendall(payload)
        chunks = []
        while True:
            try:
                data = tls.recv(65536)
            except (TimeoutError, ssl.SSLError, ConnectionError):
                break
            if not data:
                break
            chunks.append(data)
            if b"\r\n\r\n" in b"".join(chunks) and b"Connection: close" in b"".join(chunks):
                head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
                length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                if len(body) >= length:
                    break
    return b"".join(chunks)
