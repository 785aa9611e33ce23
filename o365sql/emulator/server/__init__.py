"""The emulator's HTTP side: TLS material, the HTTPS server, and what applies to every request.

What is here: the test CA and certificates (``tls``), the keep-alive HTTPS server that writes each
response in one send (``httpd``), the HTTP and service-facing request/response values
(``transport``, ``wire``), Outlook's per-mailbox throttling (``limits``), fault injection
(``faults``) and the request log (``requestlog``).

May import: ``o365sql.emulator.errors``. Knows no Graph route and no identity endpoint: the
assembly (``router``) hands it a handler.
"""
