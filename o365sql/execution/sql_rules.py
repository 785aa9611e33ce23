"""Execution stage, documentation of the local SQL's rules where they differ from a reader's
guess: letter case, folder names, search terms, empty lists, datetime literals, and the
standard SQL that SQLite's grammar lacks.

Pure data; ``tools/gen_reference.py`` renders :data:`RULES` into the "SQL semantics" section
of ``docs/reference.md``, so the reference states what the engine does. Each entry names the
module that implements it.
"""

from __future__ import annotations

#: (topic, rule) pairs, in reading order.
RULES: tuple[tuple[str, str], ...] = (
    ("Letter case",
     ("`LIKE` ignores letter case in every alphabet (`'Über' LIKE 'über%'` and `'RE: x' LIKE "
      "'re:%'` are both true), matching one character with one character, so `_` is always "
      "exactly one character; `UPPER`/`LOWER` use full Unicode mappings (`UPPER('Zoë')` is "
      "`'ZOË'`). `=`, `<>`, `<`, `IN`, `GLOB`, `ORDER BY`, `DISTINCT` and `GROUP BY` compare "
      "text exactly (case-sensitive). Graph compares many strings without case, so o365sql "
      "pushes such predicates only as pre-filters and re-checks their rows with these rules "
      "(execution/sql_functions.py).")),
    ("Negations",
     ("`NOT LIKE`, `NOT IN`, `NOT BETWEEN`, `IS NOT NULL` and `NOT (...)` are evaluated "
      "locally (Graph's `not` is undocumented on Outlook resources); `<>` is pushed as `ne` "
      "where the catalog allows and re-checked, because OData's `ne` keeps NULLs.")),
    ("Empty lists",
     ("`x IN :p` with an empty sequence is `x IN ()`: false for every row, NULL included "
      "(`NOT IN ()` is true). A WHERE clause that is false sends no Graph request for the "
      "tables of its SELECT.")),
    ("Well-known folder names",
     ("In Messages and MailFolders a string compared with `ParentFolderId` (or with "
      "MailFolders' `Id`) that is a well-known mail folder name (`'Inbox'`, `'sentitems'`, "
      "`'Drafts'` ..., any case) means that folder in every comparison (`=`, `<>`, `IN`, "
      "`NOT IN`, under `OR`; `SELECT ... FROM MailFolders WHERE Id = 'Inbox'` is the Inbox), "
      "with "
      "pushdown on and off: bound with `=`/`IN` it chooses the folder's endpoint; elsewhere "
      "o365sql resolves the name once per statement and mailbox (`GET "
      "/me/mailFolders/inbox?$select=id`) and compares the real id. A folder id or name that "
      "names no folder of the mailbox matches no row (it is not an error) "
      "(planning/folders.py).")),
    ("Mailboxes from a subquery",
     ("`UserId IN (SELECT Id FROM Users WHERE ...)` and `UserId = (SELECT ...)` (uncorrelated) "
      "run the subquery first and read each mailbox it names, as `JOIN ... ON m.UserId = "
      "u.Id` does (planning/addressing.py).")),
    ("Joins to a parent's children",
     ("A join that binds a child table's address columns reads the children of each parent "
      "row: `JOIN MessageAttachments a ON a.MessageId = m.Id AND a.UserId = m.UserId` sends "
      "`GET /users/{UserId}/messages/{MessageId}/attachments` with every message's own "
      "mailbox (the same for EventAttachments, EventInstances, a folder's messages). `UserId` "
      "may be bound through a chain (`a.UserId = u.Id` with `m.UserId = u.Id`). An unbound "
      "`UserId` means the signed-in user (`/me`); with app-only sign-in "
      "(`AuthScheme=AzureServicePrincipal`/`AzureServicePrincipalCert`) there is none, so a "
      "table whose mailbox is not bound is a ProgrammingError before any request "
      "(planning/joins.py).")),
    ("LIMIT and OFFSET",
     ("`LIMIT`, `TOP` and `OFFSET` take non-negative integers (literals or parameters); "
      "`LIMIT -1` (SQLite's \"no limit\"), `1.5` or `'2'` is a ProgrammingError naming the "
      "value (planning/ordering.py, planning/bind.py).")),
    ("U+0000 in strings",
     ("A string may hold U+0000 (a bound parameter): `=`, `<>`, `<`, `IN`, `LIKE`, `||`, "
      "`UPPER`/`LOWER` see every character, and such comparisons are evaluated locally (never "
      "sent to Graph). SQLite's own `LENGTH` and `SUBSTR` stop at the first U+0000 "
      "(planning/sqlite_rewrite.py).")),
    ("SearchTerms",
     ("`SearchTerms = '...'` asks Graph for `$search` and must be a top-level `AND` condition "
      "of the table's WHERE clause; any other use in a condition is an error. It is sent with "
      "`Pushdown=false` too: a search has no exact local equivalent. Messages take KQL. "
      "Users and Groups take a word (searched in `displayName`: `'adele'` becomes "
      "`$search=\"displayName:adele\"`), `'property:value'`, or Graph's own `'\"displayName:a\" "
      "OR \"description:b\"'` form, with searchable properties only "
      "(planning/search_terms.py).")),
    ("Datetime literals",
     ("A literal compared with a DATETIME or DATE column must be ISO 8601 text "
      "(`'2026-01-31'`, `'2026-01-31T09:30:00+01:00'`); anything else (`'yesterday'`, `5`) "
      "is a DataError naming the column and the value.")),
    ("SQL the local engine rewrites",
     ("Parenthesised operands of set operations (`(SELECT ... LIMIT 1) UNION ALL (SELECT ... "
      "LIMIT 1)`) and quantified comparisons (`x > ALL (SELECT ...)`, `x = ANY (...)`, with "
      "SQL's NULL rules) are rewritten for SQLite; `INTERSECT ALL`/`EXCEPT ALL` are "
      "NotSupportedError (planning/sqlite_rewrite.py).")),
    ("Result types",
     ("`SUM`/`TOTAL`/`AVG`/`COUNT` and arithmetic over BOOLEAN columns are numbers; `MIN`/"
      "`MAX` keep the column's type (planning/types.py).")),
)
