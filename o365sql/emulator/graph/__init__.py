"""The emulated Microsoft Graph v1.0 service: one module per workload's routes.

What is here: routing of ``/v1.0`` (``service``), per-request plumbing (``context``), mail,
calendar, contacts, directory, attachments, ``$batch``, delta queries and the permission each
route needs (``permissions``).

May import: ``o365sql.emulator.errors``, ``odata`` (to run query options), ``tenant`` (the data)
and ``server.wire`` (the request/response values). Never ``identity``: a request reaches this
package with its token already checked by the router.
"""
