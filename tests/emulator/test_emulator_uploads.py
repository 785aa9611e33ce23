"""Upload sessions for large attachments, over HTTPS (attachment-createuploadsession.md,
outlook-large-attachments.md): the session, slice PUTs with Content-Range and no bearer token,
416 for a slice out of place, 401 for a PUT that carries a token, 201 with Location at the end,
DELETE cancelling, and sizes outside 3-150 MB refused."""

from __future__ import annotations

import os
from typing import Any

from o365sql.emulator import Emulator

MB = 1024 * 1024


def _draft(emu: Emulator, http: Any, headers: dict[str, str]) -> str:
    answer = http.post(f"{emu.graph_url}/me/messages", json={"subject": "big"}, headers=headers)
    assert answer.status_code == 201
    return str(answer.json()["id"])


def _session(emu: Emulator, http: Any, headers: dict[str, str], draft: str, size: int) -> Any:
    return http.post(f"{emu.graph_url}/me/messages/{draft}/attachments/createUploadSession",
                     json={"AttachmentItem": {"attachmentType": "file", "name": "big.bin",
                                              "size": size, "contentType": "application/zip"}},
                     headers=headers)


def test_upload_in_slices_then_the_attachment_exists(emu: Emulator, http: Any) -> None:
    auth = {"Authorization": "Bearer " + emu.mint_token(user=emu.users[0])}
    draft = _draft(emu, http, auth)
    data = os.urandom(int(3.5 * MB))
    created = _session(emu, http, auth, draft, len(data))
    assert created.status_code == 201
    session = created.json()
    assert session["nextExpectedRanges"] == ["0-"] and session["expirationDateTime"]
    url = session["uploadUrl"]
    assert not url.startswith(emu.graph_url)  # outside the version root, as Outlook's is

    def put(start: int, end: int, **extra: str) -> Any:
        return http.put(url, data=data[start:end + 1], headers={
            "Content-Range": f"bytes {start}-{end}/{len(data)}", **extra})

    assert put(0, 2 * MB - 1, **auth).status_code == 401  # no bearer token on upload URLs
    first = put(0, 2 * MB - 1)
    assert first.status_code == 200 and first.json()["nextExpectedRanges"] == [str(2 * MB)]
    assert put(0, 10).status_code == 416  # not where the last slice ended
    last = put(2 * MB, len(data) - 1)
    assert last.status_code == 201 and "attachments('" in last.headers["Location"]
    listing = http.get(f"{emu.graph_url}/me/messages/{draft}/attachments", headers=auth).json()
    (attachment,) = listing["value"]
    assert (attachment["name"], attachment["size"]) == ("big.bin", len(data))
    raw = http.get(f"{emu.graph_url}/me/messages/{draft}/attachments/{attachment['id']}/$value",
                   headers=auth)
    assert raw.content == data
    assert put(0, 10).status_code == 404  # the finished session is gone


def test_cancel_and_sizes_outside_the_range(emu: Emulator, http: Any) -> None:
    auth = {"Authorization": "Bearer " + emu.mint_token(user=emu.users[0])}
    draft = _draft(emu, http, auth)
    assert _session(emu, http, auth, draft, 2 * MB).status_code == 400
    assert _session(emu, http, auth, draft, 151 * MB).status_code == 400
    url = _session(emu, http, auth, draft, 4 * MB).json()["uploadUrl"]
    assert http.delete(url).status_code == 204
    assert http.put(url, data=b"x", headers={"Content-Range": f"bytes 0-0/{4 * MB}"}
                    ).status_code == 404
