"""The SQL dialect o365sql reads statements in and writes its local (SQLite) SQL in.

Stage: parse/plan (pure). One constant, in its own module so that every planning module (and
the EXEC parser, which ``parse`` imports) can name it without importing ``parse``.
"""

#: The sqlglot dialect the residual SQL is written in (and statements are read with, plus TOP).
DIALECT = "sqlite"
