"""The emulator process's memory allocator: keep freed memory for the next response.

Stage: process set-up, called once by the command line (``python -m o365sql.emulator``, the
process the benchmarks measure), never by an emulator embedded in another process (a test's).

A page of 1,000 messages is answered as one ~400 KB text and its bytes. glibc's malloc serves
blocks that large with ``mmap`` (or from a per-thread arena it trims back after each free), so
every response faulted its pages in afresh: with 4 requests of one mailbox served at once (one
thread each) the emulator spent as much CPU in the kernel zeroing pages (76,000 minor faults, 0.3 s
per 100,000-message scan) as in Python. Fixed thresholds (which also stop glibc's dynamic
adjustment) keep such blocks on the heap and the heap untrimmed: the process keeps a few MB it
would have returned and reuses them. Elsewhere (another libc, no ``mallopt``) nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# <malloc.h>: parameter numbers of mallopt.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Blocks below this come from the heap (a whole page of whole messages is ~3 MB).
MMAP_THRESHOLD = 16 * 2**20
#: Free memory at the top of the heap kept rather than returned to the system.
TRIM_THRESHOLD = 128 * 2**20


def keep_freed_memory() -> bool:
    """Set glibc's thresholds (see the module docstring); True when they were set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
