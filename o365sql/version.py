"""The package's version, in a module of its own so that the Graph client's ``User-Agent`` reads
it without importing the package's surface or reading the installed distribution's metadata
(``importlib.metadata.version`` scans ``sys.path``: milliseconds of every first query).
``tests/dbapi/test_dbapi_exports.py`` checks it equals the distribution's version."""

__version__ = "0.1.0"
