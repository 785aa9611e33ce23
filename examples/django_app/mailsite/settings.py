"""Settings of the o365sql Django example site (one settings module, no database).

Stage: configuration. Sessions live in Django's cache (server-side; the browser holds only the
session key), and the signed-in visitor's tokens are kept in that session, so no token ever
travels in a cookie. The local-memory cache suits one process (``runserver``); with several
processes use a shared cache (Redis, Memcached) or the database session backend.

Environment:

* ``O365SQL_CONNECTION`` (required to sign in): the app's o365sql connection string without any
  user's token (client id and secret, tenant; for the emulator also GraphURL, AuthorityURL and
  SSLServerCert; see README.md).
* ``O365SQL_CALLBACK_URL``: the redirect URI registered for the app; default this site's
  ``/callback`` URL as the browser reached it.
* ``O365SQL_REFRESH_MARGIN``: refresh access tokens this many seconds before expiry (300).
* ``DJANGO_SECRET_KEY`` (default: random per process), ``DJANGO_DEBUG=1``,
  ``DJANGO_ALLOWED_HOSTS`` (comma-separated, added to the loopback names).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50)
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"] + [
    h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h.strip()
]

INSTALLED_APPS = ["mailsite"]  # templates only: the site has no models
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "mailsite.urls"
WSGI_APPLICATION = "mailsite.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

DATABASES: dict[str, dict[str, str]] = {}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
SESSION_COOKIE_HTTPONLY = True
# Lax: the cookie comes back on the top-level redirect from the sign-in page to /callback.
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 3600

USE_TZ = True
TIME_ZONE = "UTC"

O365SQL_CONNECTION = os.environ.get("O365SQL_CONNECTION", "")
O365SQL_CALLBACK_URL = os.environ.get("O365SQL_CALLBACK_URL") or None
O365SQL_REFRESH_MARGIN = float(os.environ.get("O365SQL_REFRESH_MARGIN", "300"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_auth_codes": {"()": "mailsite.log_redaction.RedactAuthCodes"}},
    "formatters": {
        "server": {"format": "[{server_time}] {message}", "style": "{"},
        "plain": {"format": "{levelname} {name}: {message}", "style": "{"},
    },
    "handlers": {
        "server": {
            "class": "logging.StreamHandler",
            "formatter": "server",
            "filters": ["redact_auth_codes"],
        },
        "site": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "loggers": {
        "django.server": {"handlers": ["server"], "level": "INFO", "propagate": False},
        "mailsite": {"handlers": ["site"], "level": "INFO", "propagate": False},
    },
}
