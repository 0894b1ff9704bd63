-- townhall schema 2: per-day vote tallies, so an idea's support over time
-- can be drawn without keeping when each individual vote was cast.

CREATE TABLE vote_days (
  idea_id INTEGER NOT NULL REFERENCES ideas(id),
  day     INTEGER NOT NULL,           -- days since the epoch
  up      INTEGER NOT NULL,           -- totals at the end of that day
  down    INTEGER NOT NULL,
  PRIMARY KEY (idea_id, day)
) STRICT, WITHOUT ROWID;

-- Existing ideas start their history with today's totals.
INSERT INTO vote_days (idea_id, day, up, down)
  SELECT id, CAST(updated / 86400000 AS INTEGER), up + anon_up, down + anon_down
  FROM ideas WHERE up + down + anon_up + anon_down > 0;
