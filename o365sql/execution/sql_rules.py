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
    ("Folder tables",
     ("MailFolders and ContactFolders hold every folder of the mailbox at any depth, each with "
      "its `ParentFolderId` (Graph lists one level per request: o365sql reads each folder's "
      "`childFolders`, a level at a time through `$batch`; filters and order on them are "
      "applied locally). Hidden mail folders are listed with `IncludeHiddenFolders = true`. "
      "`WHERE ParentFolderId = 'x'` reads x's children only. The other tables hold every item "
      "of their endpoint: Messages every message of the mailbox (hidden folders' too), Events "
      "and Contacts those of the default calendar and contact folder unless `CalendarId` / "
      "`ParentFolderId` names another, CalendarView the occurrences in its window "
      "(planning/planner.py, execution/scan.py).")),
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
    ("Mailboxes bound outside a derived table",
     ("A derived table or CTE over one per-mailbox table that outputs its `UserId` (or "
      "another pseudo address column) takes its mailboxes from the join around it: `Users u "
      "JOIN (SELECT UserId, ... FROM Messages) t ON t.UserId = u.Id` reads each user's "
      "mailbox, as a direct join does, when each of its rows depends on its own mailbox only "
      "(no LIMIT/OFFSET, aggregates grouped by `UserId`, windows partitioned by it); "
      "otherwise joining it on `UserId` is a NotSupportedError naming the table and column "
      "(it would read only `/me`) (planning/derived_joins.py).")),
    ("LATERAL",
     ("`CROSS JOIN LATERAL (...)`, `JOIN LATERAL (...) ON ...`, `LEFT JOIN LATERAL (...) ON "
      "...` and `, LATERAL (...)` take a subquery correlated with the tables before it by "
      "equalities in its WHERE clause (`m.UserId = u.Id`), with an optional ORDER BY and "
      "LIMIT/OFFSET per outer row; the local engine runs it as a join on row numbers per "
      "correlated value. A LATERAL subquery that refers to the outer tables elsewhere, "
      "aggregates, groups, uses DISTINCT or a window function is a NotSupportedError naming "
      "LATERAL (planning/lateral.py).")),
    ("Top-N per mailbox, folder or calendar",
     ("A ranking bounded per mailbox (`ROW_NUMBER()`/`RANK() OVER (PARTITION BY UserId ORDER "
      "BY ReceivedDateTime DESC) <= n` in a derived table, a CTE or `QUALIFY`) and a "
      "subquery's `ORDER BY ... LIMIT n` correlated on the mailbox (LATERAL, scalar, `IN`, "
      "`EXISTS`) send `$orderby` and `$top=n` in each mailbox's request and read no page "
      "past its n rows, when every condition of the ranked table is sent to Graph exactly "
      "and Graph sorts the key as SQLite does; the same per folder or calendar when each "
      "request reads one (`ParentFolderId`, `CalendarId` bound). EXPLAIN shows a `top-n` "
      "step (planning/top_n.py).")),
    ("LIMIT and OFFSET",
     ("`LIMIT`, `TOP` and `OFFSET` take non-negative integers (literals or parameters); a "
      "text parameter is read as one (`LIMIT :n` with `n='3'`, as `-P n=3` gives); "
      "`LIMIT -1` (SQLite's \"no limit\"), `1.5` or `'two'` is a ProgrammingError naming the "
      "value (planning/ordering.py, planning/bind.py). SQL's `OFFSET n ROWS FETCH FIRST m ROWS "
      "ONLY` is `LIMIT m OFFSET n`; `FETCH ... PERCENT` and `WITH TIES` are NotSupportedError "
      "(planning/parse.py).")),
    ("Subqueries over addressed tables",
     ("`EXISTS`, `IN` and scalar subqueries over a table that needs an address "
      "(MessageAttachments, EventAttachments, EventInstances, GroupMembers) may take it from "
      "the query around them, as a join does: `WHERE EXISTS (SELECT 1 FROM "
      "MessageAttachments a WHERE a.MessageId = m.Id)` and `WHERE m.Id IN (SELECT a.MessageId "
      "FROM MessageAttachments a)` read the attachments of every message m "
      "(planning/joins.py).")),
    ("Table-valued JSON functions",
     ("`json_each(collection)` and `json_tree(...)` have the columns `key`, `value`, `type`, "
      "`atom`, `id`, `parent`, `fullkey`, `path`; an alias of an expression over them works in "
      "GROUP BY and ORDER BY (planning/resolve.py).")),
    ("Time-relative expressions",
     ("`datetime('now', ...)`, `date('now')`, `julianday('now')`, `CURRENT_TIMESTAMP`, "
      "`CURRENT_DATE`, `CURRENT_TIME` and interval arithmetic (`CURRENT_TIMESTAMP - INTERVAL "
      "'30' DAY`, units SECOND to YEAR) read one clock reading per statement; compared with a "
      "column they become a literal before planning, so Graph filters by it and EXPLAIN "
      "shows it (planning/time_relative.py).")),
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
    ("Text compared with typed values",
     ("Text (a quoted literal or a `str` parameter) compared with a BOOLEAN, INTEGER, DOUBLE, "
      "DATETIME, DATE or TIME expression is read as that type, as PostgreSQL does: "
      "`IsRead = 'false'` (also `'f'`, `'no'`, `'off'`, `'0'`), `Size > '100'`, "
      "`COALESCE(ReceivedDateTime, SentDateTime) >= '2026-10-23T05:41:44+02:00'`. This holds "
      "for any expression (a derived table's or CTE's column, `CASE`, `HAVING MAX(...)`, "
      "`IN (SELECT '...')`, `BETWEEN`, set operations), and for text known only when the "
      "query runs (a scalar subquery `(SELECT '...')`, a derived table's or CTE's text "
      "column, a JSON value), read row by row. Datetimes compare as instants (ISO "
      "8601 text with any offset; Graph's `0001-01-01T00:00:00Z` is a datetime like any "
      "other). Text that is no value of the type (`'yesterday'`, `'maybe'`), or a number "
      "compared with a datetime, is a DataError naming the column "
      "(planning/typed_text.py, value_model.py).")),
    ("SQL the local engine rewrites",
     ("Parenthesised operands of set operations (`(SELECT ... LIMIT 1) UNION ALL (SELECT ... "
      "LIMIT 1)`) and quantified comparisons (`x > ALL (SELECT ...)`, `x = ANY (...)`, with "
      "SQL's NULL rules) are rewritten for SQLite; `INTERSECT ALL`/`EXCEPT ALL` are "
      "NotSupportedError (planning/sqlite_rewrite.py).")),
    ("Result types",
     ("Each result column's type is derived from its expression: `COALESCE`, `CASE`, "
      "`NULLIF`, `MIN`/`MAX`, window functions, set operations, derived tables, CTEs and "
      "scalar subqueries keep their operands' type (wall-clock `*_DateTime` columns stay naive "
      "datetimes); `SUM`/`TOTAL`/`AVG`/`COUNT` and arithmetic over BOOLEAN columns are "
      "numbers, arithmetic over datetimes or text is a DOUBLE (SQLite reads "
      "`'2026-...' + 0` as 2026); `julianday` is a DOUBLE, `unixepoch` a BIGINT "
      "(planning/types.py).")),
)
