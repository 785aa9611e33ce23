"""Where tokens live between connections and processes: ``OAuthSettingsLocation``.

Stage: sign-in persistence. ``open_store(location)`` hands the providers and the OAuth
procedures a ``TokenStore``; ``store.transaction()`` yields a ``StoreState`` (msal's serialised
``SerializableTokenCache`` plus o365sql's record of the last tokens) and writes it back if it
changed.

* A file path: one JSON file, created with mode 0600; every directory the store makes (missing
  parents, ``<file>.pending``) is created 0700 whatever the umask, and an existing one is
  never opened wider. Every read-modify-write runs under an exclusive ``fcntl.flock`` on a
  sidecar ``<file>.lock``, so processes sharing the file cannot lose each other's
  refresh-token rotation; the file is replaced atomically (temp file in the same directory,
  ``fsync``, ``os.replace``) so a reader never sees half a file. A writer killed before the
  replace leaves its 0600 temp file; the next transaction, holding the lock, deletes it.
* ``memory://<id>``: process memory, shared by every connection that names the same id
  (CData's meaning of the same value).

File layout (``format`` 1)::

    {"format": "o365sql-token-store", "version": 1,
     "last_tokens": {"client_id", "authority", "home_account_id", "username", "scope",
                     "access_token", "refresh_token", "expires_at", "obtained_at",
                     "credential"},
     "msal_cache": {…msal's unified cache schema: AccessToken, RefreshToken, Account, …},
     "app_tokens": {"<credential fingerprint>": {…an msal cache holding app-only tokens…}}}

``msal_cache`` holds a person's tokens; ``last_tokens.credential`` names the credential (a
fingerprint, never the secret) that obtained them. App-only tokens live apart in
``app_tokens``, one msal cache per credential fingerprint, because msal files tokens by client
id alone and would otherwise hand one credential's app token to another (see ``apps.py``).
Stores written before ``app_tokens`` existed are read as they are.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from o365sql.exceptions import OperationalError, ProgrammingError

__all__ = [
    "MEMORY_PREFIX",
    "FileTokenStore",
    "MemoryTokenStore",
    "StoreState",
    "TokenStore",
    "open_store",
    "private_dir",
    "temp_state_root",
]

MEMORY_PREFIX = "memory://"
_FORMAT = "o365sql-token-store"


@dataclass(repr=False)
class StoreState:
    """The store's content while a transaction holds it. ``repr`` shows no token."""

    msal_cache: str = ""
    record: dict[str, Any] = field(default_factory=dict)
    dirty: bool = False
    #: credential fingerprint → serialised msal cache of that credential's app-only tokens.
    partitions: dict[str, str] = field(default_factory=dict)

    def set_record(self, record: dict[str, Any]) -> None:
        self.record = dict(record)
        self.dirty = True

    def clear(self) -> None:
        """Forget every token: the person's, the record and every credential's app tokens."""
        self.msal_cache = ""
        self.record = {}
        self.partitions = {}
        self.dirty = True

    @property
    def empty(self) -> bool:
        return not (self.msal_cache or self.record or self.partitions)

    def __repr__(self) -> str:
        return f"StoreState(account={self.record.get('username')!r}, dirty={self.dirty})"


class TokenStore(Protocol):
    location: str

    def transaction(self) -> contextlib.AbstractContextManager[StoreState]: ...

    def pending_dir(self) -> Path: ...


def _make_dirs_0700(path: Path) -> None:
    """Create ``path`` and its missing parents, each level 0700.

    Not ``os.makedirs(path, 0o700)``: since Python 3.7 its mode reaches only the last level,
    the parents get the default 0777 minus the umask (0755). And ``mkdir``'s mode is itself cut
    by the umask (0277 would leave 0500), so each level made here is chmod-ed to 0700 after.
    Levels that exist already, or that another process makes meanwhile, are not changed.
    """
    missing: list[Path] = []
    level = path
    while not os.path.lexists(level) and level != level.parent:
        missing.append(level)
        level = level.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            continue
        os.chmod(directory, 0o700)


def private_dir(path: Path) -> Path:
    """Create (every missing level 0700) or check a directory only this user can use.

    Refuses a directory owned by someone else, or a symbolic link, since pending sign-ins and
    tokens are written there. An existing directory open to others is narrowed to its owner's
    bits; no permission is ever added to one.
    """
    try:
        _make_dirs_0700(path)
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid():
            raise OperationalError(f"refusing to keep sign-in state in {str(path)!r}: it is a "
                                   "symbolic link or belongs to another user")
        if not stat.S_ISDIR(info.st_mode):
            raise OperationalError(f"cannot keep sign-in state in {str(path)!r}: it is not a "
                                   "directory")
        if info.st_mode & 0o077:
            os.chmod(path, stat.S_IMODE(info.st_mode) & 0o700)
    except OSError as exc:
        raise OperationalError(f"cannot keep sign-in state in {str(path)!r}: "
                               f"{exc.strerror}") from None
    return path


def temp_state_root() -> Path:
    """``$TMPDIR/o365sql-<uid>``: sign-in state of stores without a file (and CA copies)."""
    return private_dir(Path(tempfile.gettempdir()) / f"o365sql-{os.getuid()}")


def _decode(text: str, where: str) -> StoreState:
    if not text.strip():
        return StoreState()
    try:
        data = json.loads(text)
    except ValueError:
        raise ProgrammingError(
            f"OAuthSettingsLocation {where!r} is not an o365sql token store (not JSON); "
            "point it at a new file") from None
    if not isinstance(data, dict):
        raise ProgrammingError(f"OAuthSettingsLocation {where!r} is not an o365sql token store")
    if data.get("format") == _FORMAT:
        cache = data.get("msal_cache") or {}
        apps = data.get("app_tokens")
        partitions = ({str(k): json.dumps(v) for k, v in apps.items() if isinstance(v, dict) and v}
                      if isinstance(apps, dict) else {})
        return StoreState(msal_cache=json.dumps(cache) if cache else "",
                          record=dict(data.get("last_tokens") or {}), partitions=partitions)
    if {"AccessToken", "RefreshToken", "Account"} & set(data):
        # A bare msal cache (e.g. written by another msal application): use it as is.
        return StoreState(msal_cache=text)
    raise ProgrammingError(f"OAuthSettingsLocation {where!r} is not an o365sql token store")


def _encode(state: StoreState) -> str:
    cache = json.loads(state.msal_cache) if state.msal_cache else {}
    data: dict[str, Any] = {"format": _FORMAT, "version": 1, "last_tokens": state.record,
                            "msal_cache": cache}
    apps = {k: json.loads(v) for k, v in sorted(state.partitions.items()) if v}
    if apps:
        data["app_tokens"] = apps
    return json.dumps(data, indent=1, sort_keys=True)


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


def remove_stale_temps(path: Path) -> int:
    """Delete the temporary files earlier writers of ``path`` left behind (a process killed
    between ``mkstemp`` and ``os.replace``): they may hold tokens. Call it holding the store's
    lock, so no live writer's file is among them. Returns how many were removed."""
    removed = 0
    try:
        names = os.listdir(path.parent)
    except OSError:
        return 0
    prefix = _temp_prefix(path)
    for name in names:
        if not name.startswith(prefix):
            continue
        stale = path.parent / name
        with contextlib.suppress(OSError):
            if stale.is_symlink() or not stale.is_file():
                continue
            stale.unlink()
            removed += 1
    return removed


def _atomic_write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` as a 0600 file, all or nothing."""
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), dir=path.parent)  # mkstemp: 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


# One lock per path inside this process too: flock serialises processes (and separate open
# file descriptions), the thread lock keeps threads of one process from queueing on flock.
_PATH_LOCKS: dict[str, threading.RLock] = {}
_PATH_LOCKS_GUARD = threading.Lock()


class FileTokenStore:
    """A token store file shared by processes (flock on ``<file>.lock``, atomic 0600 writes)."""

    def __init__(self, path: str) -> None:
        self.path = Path(os.path.expanduser(path)).absolute()
        self.location = str(self.path)
        with _PATH_LOCKS_GUARD:
            self._thread_lock = _PATH_LOCKS.setdefault(self.location, threading.RLock())

    @contextlib.contextmanager
    def transaction(self) -> Iterator[StoreState]:
        with self._thread_lock:
            try:
                if not self.path.parent.exists():
                    private_dir(self.path.parent)
                lock_fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise OperationalError(
                    f"OAuthSettingsLocation {self.location!r} cannot be used: {exc.strerror}"
                ) from None
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX)
                remove_stale_temps(self.path)
                state = self._read()
                yield state
                if state.dirty:
                    _atomic_write_private(self.path, _encode(state))
                    state.dirty = False
            finally:
                fcntl.flock(lock_fd, fcntl.LOCK_UN)
                os.close(lock_fd)

    def _read(self) -> StoreState:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return StoreState()
        except OSError as exc:
            raise OperationalError(
                f"OAuthSettingsLocation {self.location!r} cannot be read: {exc.strerror}"
            ) from None
        return _decode(text, self.location)

    def pending_dir(self) -> Path:
        return private_dir(self.path.parent / f"{self.path.name}.pending")

    def __repr__(self) -> str:
        return f"FileTokenStore({self.location!r})"


_MEMORY: dict[str, tuple[threading.RLock, StoreState]] = {}
_MEMORY_GUARD = threading.Lock()


class MemoryTokenStore:
    """Tokens in process memory, shared by stores opened with the same id."""

    def __init__(self, store_id: str) -> None:
        self.store_id = store_id
        self.location = MEMORY_PREFIX + store_id
        with _MEMORY_GUARD:
            self._lock, self._state = _MEMORY.setdefault(store_id, (threading.RLock(), StoreState()))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[StoreState]:
        with self._lock:
            # Work on a copy so a failed operation leaves the shared state untouched.
            working = StoreState(self._state.msal_cache, dict(self._state.record),
                                 partitions=dict(self._state.partitions))
            yield working
            if working.dirty:
                self._state.msal_cache = working.msal_cache
                self._state.record = working.record
                self._state.partitions = working.partitions

    def pending_dir(self) -> Path:
        return private_dir(temp_state_root() / "pending")

    def __repr__(self) -> str:
        return f"MemoryTokenStore({self.location!r})"


class EphemeralTokenStore(MemoryTokenStore):
    """Tokens kept only for one call: what the web procedures use when no
    ``OAuthSettingsLocation`` is set, so a web process does not hold every visitor's tokens
    (the caller gets them back and keeps them per site user)."""

    def __init__(self) -> None:
        self.store_id = "ephemeral"
        self.location = "(not kept: OAuthSettingsLocation is not set)"
        self._lock, self._state = threading.RLock(), StoreState()


def open_store(location: str | None, default_id: str) -> FileTokenStore | MemoryTokenStore:
    """The store ``OAuthSettingsLocation`` names; unset → ``memory://<default_id>``."""
    if not location:
        return MemoryTokenStore(default_id)
    if location.lower().startswith(MEMORY_PREFIX):
        store_id = location[len(MEMORY_PREFIX):]
        if not store_id:
            raise ProgrammingError("OAuthSettingsLocation memory:// needs an id, e.g. memory://app1")
        return MemoryTokenStore(store_id)
    return FileTokenStore(location)
