"""The emulator's own OData engine: query options run over Graph JSON, as Graph runs them.

What is here: the ``$filter`` lexer, parser and compiled predicates, ``$orderby``, ``$select``
and default property sets, ``$search``, server-driven paging, the per-resource rules (``rules``),
the EDM shapes (``schema``) and value comparisons (``values``), write-body checks (``body``) and
Graph's answers to bad options (``errors``).

Independent of the driver's ``o365sql.odata`` on purpose: the two share no code, so a bug in one
is caught by the other. May import: ``o365sql.emulator.errors`` and the lazy JSON views of
``tenant.record_view``. Knows no HTTP, no route and no token.
"""
