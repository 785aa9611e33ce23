"""Outlook-style item ids for the emulator's mailboxes (emulator data stage).

Exchange REST ids are URL-safe base64 with ``=`` padding (``AAMkADhAAAW-VPeAAA=``; the same id
appears ``%2F``/``%3D``-encoded in ``webLink``), case-sensitive and opaque, see
https://learn.microsoft.com/graph/outlook-immutable-id . The emulator packs the mailbox, the kind
of item and its serial number into such a string instead of storing one per item, so ids cost
no memory and can be told apart: garbage is ``ErrorInvalidIdMalformed`` (400), a well-formed id
that names nothing is ``ErrorItemNotFound`` (404), as Graph answers.
"""

from __future__ import annotations

import base64
import binascii
import struct
import zlib
from dataclasses import dataclass

# Leading bytes chosen so the base64 text starts like Exchange's: "AAMk" for items, "AQMk" for
# default folders, "AAQk" for conversation ids.
_PREFIX_ITEM = b"\x00\x03\x24"
_PREFIX_DEFAULT_FOLDER = b"\x01\x03\x24"
_PREFIX_CONVERSATION = b"\x00\x04\x24"

MESSAGE = 1
MAIL_FOLDER = 2
EVENT = 3
CALENDAR = 4
CONTACT = 5
CONTACT_FOLDER = 6
ATTACHMENT = 7  # extra: attachment number within its parent item
OCCURRENCE = 8  # extra: day number (days since 1970-01-01) of the occurrence's original start
EVENT_ATTACHMENT = 9

KIND_NAMES = {MESSAGE: "message", MAIL_FOLDER: "mailFolder", EVENT: "event", CALENDAR: "calendar",
              CONTACT: "contact", CONTACT_FOLDER: "contactFolder", ATTACHMENT: "attachment",
              OCCURRENCE: "event", EVENT_ATTACHMENT: "attachment"}

# Layout after the 3-byte prefix: mailbox key (16 bytes), kind, serial, extra, two filler bytes
# (Exchange ids carry such "F\x00" markers), checksum. 32 bytes in all, so the text ends in "=".
_BODY = struct.Struct(">16sBII2sH")
_FILLER = b"F\x00"


@dataclass(frozen=True)
class ItemId:
    """What an id names: a mailbox (by its 16-byte key), a kind, a serial and a kind-specific extra."""

    mailbox: bytes
    kind: int
    serial: int
    extra: int = 0


class MalformedId(ValueError):
    """The text is not an id this tenant could have issued."""


def _checksum(body: bytes) -> int:
    return zlib.crc32(body) & 0xFFFF


def encode(mailbox: bytes, kind: int, serial: int, extra: int = 0, *, default_folder: bool = False) -> str:
    head = _BODY.pack(mailbox, kind, serial, extra, _FILLER, 0)[:-2]
    prefix = _PREFIX_DEFAULT_FOLDER if default_folder else _PREFIX_ITEM
    raw = prefix + head + struct.pack(">H", _checksum(prefix + head))
    return base64.urlsafe_b64encode(raw).decode("ascii")


# The text order of ids (what ``$orderby`` ties and the default sort compare) without building
# them: within one mailbox and kind, characters 26-31 of the base64 text carry the kind's low four
# bits and the 32-bit serial, six bits each, and earlier characters are equal. Each six-bit digit
# is replaced by the ASCII code of its alphabet character, so integers compare like the text.
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_PAIR = [(_ALPHABET[v >> 6] << 7) | _ALPHABET[v & 63] for v in range(4096)]


def order_key(kind: int, serial: int) -> int:
    """An int that orders like ``encode(mailbox, kind, serial)`` among ids of one mailbox and
    kind (same prefix, ``extra`` 0): ``order_key(k, a) < order_key(k, b)`` iff the ids compare so."""
    return ((_ALPHABET[((kind & 15) << 2) | (serial >> 30)] << 35) | (_PAIR[(serial >> 18) & 4095] << 21)
            | (_PAIR[(serial >> 6) & 4095] << 7) | _ALPHABET[serial & 63])


def decode(text: str) -> ItemId:
    """Parse an id; raises MalformedId for anything this emulator could not have produced."""
    if not text or len(text) > 200:
        raise MalformedId(text)
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise MalformedId(text) from exc
    if len(raw) != 3 + _BODY.size or raw[:3] not in (_PREFIX_ITEM, _PREFIX_DEFAULT_FOLDER):
        raise MalformedId(text)
    mailbox, kind, serial, extra, filler, check = _BODY.unpack(raw[3:])
    if check != _checksum(raw[:-2]) or kind not in KIND_NAMES or filler != _FILLER:
        raise MalformedId(text)
    # Exact round trip: rejects ids whose padding or alphabet was altered.
    if encode(mailbox, kind, serial, extra, default_folder=raw[:3] == _PREFIX_DEFAULT_FOLDER) != text:
        raise MalformedId(text)
    return ItemId(mailbox, kind, serial, extra)


def conversation_id(tenant_key: bytes, conversation: int) -> str:
    """A conversationId ("AAQk..."); every mailbox holding the thread shares it, so it is keyed
    by the tenant and a tenant-wide conversation number, not by the mailbox."""
    raw = _PREFIX_CONVERSATION + struct.pack(">16sI", tenant_key, conversation)
    return base64.urlsafe_b64encode(raw + b"\x10").decode("ascii")
