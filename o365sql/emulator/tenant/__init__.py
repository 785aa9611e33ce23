"""The seeded demo tenant: users, mailboxes and their compact stores.

What is here: the tenant and its mailboxes (``tenant``), the seeders (``seed_*``), the mail,
calendar and contact stores, the Graph JSON built from them lazily (``mail_json``,
``record_view``), Outlook-style item ids, recurrence expansion, time zones and the meeting
requests an invitation leaves.

May import: the standard library only (and ``o365sql.emulator.errors`` for a Graph error a store
raises). Knows neither HTTP nor the OData engine nor any route.
"""
