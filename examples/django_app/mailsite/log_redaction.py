"""A logging filter that keeps authorization codes out of the request log.

Stage: site logging (``settings.LOGGING`` puts it on ``django.server``). The development server
logs each request line, and the sign-in callback's line is ``GET /callback?code=...&state=...``:
the code can be redeemed for tokens for a few minutes, so it is masked before it is written.
"""

from __future__ import annotations

import logging
import re

_SECRET_PARAMS = re.compile(r"([?&](?:code|state|session_state)=)[^&\s\"]+")


class RedactAuthCodes(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_PARAMS.sub(r"\1[redacted]", a) if isinstance(a, str) else a
                for a in record.args
            )
        record.msg = _SECRET_PARAMS.sub(r"\1[redacted]", str(record.msg))
        return True
