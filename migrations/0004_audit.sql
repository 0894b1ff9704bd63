-- townhall schema 4: the audit log of staff actions.

CREATE TABLE audit (
  id      INTEGER PRIMARY KEY,
  site_id INTEGER NOT NULL REFERENCES sites(id),
  at      INTEGER NOT NULL,
  actor   TEXT NOT NULL,
  action  TEXT NOT NULL,
  idea_id INTEGER,
  detail  TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_site ON audit (site_id, id);
CREATE INDEX audit_at ON audit (at);
