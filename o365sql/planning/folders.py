"""Plan stage, folder names: well-known mail folder names compared with a folder id column.

Graph accepts a well-known name (``inbox``, ``sentitems`` ...; graph-semantics §3.1) wherever
a mail folder id goes in a path, but rows carry the folder's real id. So that a name means the
same folder in every position, with pushdown on and off:

* where ``ParentFolderId = 'Inbox'`` / ``IN (...)`` chooses the endpoint, the name goes into
  the path as it is (``/me/mailFolders/Inbox/messages``; ``addressing.py``), and a value that
  names no folder reads no rows (execution turns Graph's ``ErrorItemNotFound``/
  ``ErrorInvalidIdMalformed`` for that request into an empty answer: ``Scan.missing_ok``);
* everywhere else (under OR, ``<>``, ``NOT IN``, a residual comparison) a string literal that
  is a well-known name, in any letter case, becomes ``O365_FOLDER_ID(<UserId>, 'Inbox')``: the
  execution stage resolves each name once per statement and mailbox (``GET
  /me/mailFolders/inbox?$select=id``) and the local engine compares with the real id. A name
  the mailbox has no folder for stays as it is, so it equals no folder id.

The same holds for the key of a table of mail folders: ``MailFolders.Id = 'Inbox'`` is the
Inbox row (``Table.folder_id_columns``). MailFolders has no single-item GETs, so every
comparison with its ``Id`` is one of the "everywhere else" ones.

Only tables whose catalog lists ``well_known_folders`` (Messages, MailFolders) do this; contact
folders have no documented names. Hands the rewritten tree and ``Scan.folder_names`` on.
"""

from __future__ import annotations

from sqlglot import exp

from ..catalog import Column
from .plan import Scan
from .pushdown import column_of
from .resolve import TableRef

#: The local SQL function that maps (mailbox, folder name) to the folder's real id.
FOLDER_ID = "O365_FOLDER_ID"
#: The column holding the folder id of every mail item (an endpoint parameter, catalog.py);
#: ``Table.folder_id_columns`` adds the key of a table of mail folders.
FOLDER_COLUMN = "parentfolderid"
MAILBOX_COLUMN = "userid"


def _folder_literals(ref: TableRef, columns: dict[int, Column]) -> list[exp.Literal]:
    """String literals compared with this reference's folder id columns that are folder names."""
    table = ref.table
    names = {n.lower() for n in table.well_known_folders}
    folder_columns = table.folder_id_columns()
    found: list[exp.Literal] = []
    for node in ref.scope.expression.find_all(exp.EQ, exp.NEQ, exp.In):
        sides: list[tuple[exp.Expr, list[exp.Expr]]]
        if isinstance(node, exp.In):
            sides = [(node.this, list(node.expressions))]
        else:
            sides = [(node.this, [node.expression]), (node.expression, [node.this])]
        for side, others in sides:
            column = column_of(side, ref.alias, columns)
            if column is None or column.name.lower() not in folder_columns:
                continue
            for other in others:
                while isinstance(other, exp.Paren):
                    other = other.this
                if isinstance(other, exp.Literal) and other.is_string and \
                        other.this.lower() in names:
                    found.append(other)
    return found


def prepare_folder_names(ref: TableRef, columns: dict[int, Column]) -> None:
    """Before the scan is planned: store the mailbox column when names must be resolved."""
    table = ref.table
    if not table.well_known_folders or not _folder_literals(ref, columns):
        return
    mailbox = table.column(MAILBOX_COLUMN)
    if mailbox is not None:
        ref.columns.setdefault(MAILBOX_COLUMN, mailbox)


def rewrite_folder_names(ref: TableRef, scan: Scan, columns: dict[int, Column]) -> None:
    """After the scan consumed its address conjuncts: the names left in comparisons become
    ``O365_FOLDER_ID(<alias>.UserId, 'name')`` and ``scan.folder_names`` lists them."""
    if not ref.table.well_known_folders or ref.table.column(MAILBOX_COLUMN) is None:
        return
    names: list[str] = []
    for literal in _folder_literals(ref, columns):
        mailbox = exp.column(MAILBOX_COLUMN, table=ref.alias, quoted=True)
        literal.replace(exp.Anonymous(this=FOLDER_ID, expressions=[mailbox, literal.copy()]))
        if literal.this.lower() not in names:
            names.append(literal.this.lower())
    scan.folder_names = tuple(names)
