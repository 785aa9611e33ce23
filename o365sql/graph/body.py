"""HTTP transport, response bodies: a whole body read in one call.

``Response.content`` reads a body in 10 KB chunks (``iter_content(10240)``), each a trip
through urllib3's and http.client's read paths and a separate TLS read: 36 reads and ~1.3 ms
of CPU for a 290 KB page of 1,000 messages. One ``raw.read()`` asks http.client for the
whole ``Content-Length`` (or every chunk) at once: 20 TLS reads (one per 16 KB record) and
~0.9 ms. Fewer reads also mean fewer releases of the GIL, which matter most when several
worker threads fetch pages while the caller parses them (``ranges.py``). urllib3 releases
the connection to the pool once the body is read, as it does after ``iter_content``.
"""

from __future__ import annotations

import requests
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError
from urllib3.exceptions import SSLError as Urllib3SSLError

__all__ = ["read_body"]


def read_body(response: requests.Response) -> bytes:
    """The body of a response sent with ``stream=True``, read whole and kept as its
    ``content``; urllib3's errors become the ones ``Response.content`` raises (requests'
    ``iter_content`` maps them the same way), so a connection dropped mid-body is the
    ``ChunkedEncodingError``/``ConnectionError`` the caller retries."""
    try:
        body = response.raw.read(decode_content=True) or b""
    except ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(exc) from exc
    except DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc) from exc
    except ReadTimeoutError as exc:
        raise requests.exceptions.ConnectionError(exc) from exc
    except Urllib3SSLError as exc:
        raise requests.exceptions.SSLError(exc) from exc
    # What Response.content stores after reading (requests.models.Response.content).
    response._content = body
    response._content_consumed = True
    return body
