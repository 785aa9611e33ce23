"""Graph stage: sends the ``GraphRequest``s the OData stage renders and hands JSON pages to the
execution stage. ``client.GraphClient`` is the entry point (``send``, ``pages``, ``payloads``,
``fan_out``, ``download``); ``retry``, ``paging``, ``batch`` and ``errors`` hold its rules.
Nothing here knows about SQL. Submodules are imported explicitly, so importing
``o365sql.graph.request`` stays free of ``requests``.
"""
