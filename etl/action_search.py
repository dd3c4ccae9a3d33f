"""The full-text indexes of enforcement actions, rebuilt by each loader that adds actions.

enforcement_actions_fts and action_documents_fts are the usual sqlite-utils indexes of each table;
enforcement_actions_search indexes each action together with the text of its documents (rowid = the
action's rowid), so that the search box of enforcement_actions (metadata fts_table) also finds words that
only the agreement or press release contains.
"""

from __future__ import annotations

import sqlite_utils

SEARCH_TABLE = "enforcement_actions_search"


def index(db: sqlite_utils.Database) -> None:
    """(Re)build every full-text index of enforcement_actions and action_documents from their rows."""
    for table in ("enforcement_actions", "action_documents"):
        if db[f"{table}_fts"].exists():
            db.table(table).disable_fts()
    db.execute(f"drop table if exists {SEARCH_TABLE}")
    db.table("enforcement_actions").enable_fts(["entity", "summary", "incident_text", "notes"], tokenize="porter")
    db.table("action_documents").enable_fts(["title", "text"], tokenize="porter")
    db.execute(
        f"create virtual table {SEARCH_TABLE} using fts5("
        "entity, summary, incident_text, notes, documents, tokenize='porter')"
    )
    db.execute(f"""
        insert into {SEARCH_TABLE} (rowid, entity, summary, incident_text, notes, documents)
        select a.rowid, a.entity, a.summary, a.incident_text, a.notes,
               (select group_concat(coalesce(d.title, '') || ' ' || d.text, ' ')
                  from (select * from action_documents where action_id = a.id order by url) d)
        from enforcement_actions a order by a.rowid""")
