"""MIME messages (in-process): a draft created and a message sent from base64 MIME with
``Content-Type: text/plain`` (user-post-messages.md, user-sendmail.md), the documented refusal
of a body that is not base64, and ``/$value`` giving the message back as MIME."""

from __future__ import annotations

import base64
import email
import email.policy
from email.message import EmailMessage

import pytest
from graph_harness import Client, code


@pytest.fixture
def client() -> Client:
    return Client(seed=4, messages_per_user=5, events_per_user=1, contacts_per_user=1)


def _mime(client: Client, subject: str, *, attachment: bytes | None = None) -> bytes:
    bob = client.tenant.users[1]
    msg = EmailMessage()
    msg["From"] = client.tenant.users[0]["mail"]
    msg["To"] = f"Bob <{bob['mail']}>"
    msg["Subject"] = subject
    msg["X-Custom"] = "42"
    msg.set_content("Plain body ✓\n")
    if attachment is not None:
        msg.add_attachment(attachment, maintype="application", subtype="octet-stream",
                           filename="data.bin")
    return base64.b64encode(msg.as_bytes())


def test_draft_from_mime_and_its_value(client: Client) -> None:
    payload = bytes(range(256)) * 3
    status, draft, _ = client.call("POST", "/me/messages", raw=_mime(client, "From MIME",
                                                                    attachment=payload),
                                   headers={"Content-Type": "text/plain"})
    assert status == 201, draft
    assert draft["isDraft"] is True and draft["subject"] == "From MIME"
    assert draft["body"]["contentType"] == "text" and "Plain body ✓" in draft["body"]["content"]
    assert [r["emailAddress"]["address"] for r in draft["toRecipients"]] == [
        client.tenant.users[1]["mail"]]
    assert draft["hasAttachments"] is True
    status, text, _ = client.call("GET", f"/me/messages/{draft['id']}/$value")
    assert status == 200 and isinstance(text, str)
    back = email.message_from_string(text, policy=email.policy.default)
    assert back["Subject"] == "From MIME"
    (part,) = list(back.iter_attachments())
    assert part.get_filename() == "data.bin" and part.get_payload(decode=True) == payload


def test_send_mail_from_mime_delivers_and_saves(client: Client) -> None:
    status, body, _ = client.call("POST", "/me/sendMail", raw=_mime(client, "Sent as MIME"),
                                  headers={"Content-Type": "text/plain"})
    assert status == 202 and body is None
    _, inbox, _ = client.call("GET", "/me/mailFolders/inbox/messages", "$top=100", user=1)
    assert [m["subject"] for m in inbox["value"]].count("Sent as MIME") == 1
    _, sent, _ = client.call("GET", "/me/mailFolders/sentitems/messages", "$top=5")
    assert sent["value"][0]["subject"] == "Sent as MIME"


@pytest.mark.parametrize("path", ["/me/messages", "/me/sendMail"])
def test_mime_that_is_not_base64_is_refused(client: Client, path: str) -> None:
    status, body, _ = client.call("POST", path, raw=b"Subject: not encoded\r\n\r\nhi",
                                  headers={"Content-Type": "text/plain"})
    assert status == 400 and code(body) == "ErrorMimeContentInvalidBase64String"


def _example(name: str) -> bytes:
    import json
    from pathlib import Path

    examples = json.loads((Path("/work/shared/reference") / "graph-examples.json").read_text())
    found = next(e for e in examples if e.get("example_name") == name)
    return str(found["request_body"]).encode("ascii")


def test_reply_all_with_the_documented_mime_body(client: Client) -> None:
    """message_replyAll_mime_v1 (message-replyall.md): an S/MIME reply, answered 202; the
    reply takes the MIME's subject."""
    _, inbox, _ = client.call("GET", "/me/mailFolders/inbox/messages", "$top=1")
    original = inbox["value"][0]
    status, body, _ = client.call("POST", f"/me/messages/{original['id']}/replyAll",
                                  raw=_example("message_replyAll_mime_v1"),
                                  headers={"Content-Type": "text/plain"})
    assert status == 202 and body is None
    _, sent, _ = client.call("GET", "/me/mailFolders/sentitems/messages", "$top=1")
    assert sent["value"][0]["subject"] == "Re: Testing S/MIME"


def test_create_reply_from_mime(client: Client) -> None:
    _, inbox, _ = client.call("GET", "/me/mailFolders/inbox/messages", "$top=1")
    original = inbox["value"][0]
    status, draft, _ = client.call("POST", f"/me/messages/{original['id']}/createReply",
                                   raw=_mime(client, "Re: from MIME"),
                                   headers={"Content-Type": "text/plain"})
    assert status == 201 and draft["isDraft"] is True
    assert draft["subject"] == "Re: from MIME"
    assert draft["conversationId"] == original["conversationId"]
