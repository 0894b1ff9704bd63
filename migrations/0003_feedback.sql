-- townhall schema 3: page feedback. Counters live on the page row and move
-- in the same transaction as each record, so summaries never scan rows.

CREATE TABLE pages (
  id           INTEGER PRIMARY KEY,
  site_id      INTEGER NOT NULL REFERENCES sites(id),
  url          TEXT NOT NULL,
  yes          INTEGER NOT NULL DEFAULT 0,
  no           INTEGER NOT NULL DEFAULT 0,
  r1           INTEGER NOT NULL DEFAULT 0,
  r2           INTEGER NOT NULL DEFAULT 0,
  r3           INTEGER NOT NULL DEFAULT 0,
  r4           INTEGER NOT NULL DEFAULT 0,
  r5           INTEGER NOT NULL DEFAULT 0,
  comments     INTEGER NOT NULL DEFAULT 0,
  useful_lower REAL NOT NULL DEFAULT 0,  -- Wilson lower bound of yes/(yes+no)
  first_day    INTEGER NOT NULL,
  last_day     INTEGER NOT NULL,
  UNIQUE (site_id, url)
) STRICT;
CREATE INDEX pages_worst ON pages (site_id, useful_lower, no DESC, id);

-- One row per device per page per day. `dedup` is SipHash(daily salt, site,
-- page, device): the salt lives only in memory (and a 0600 file) and is
-- destroyed after 48 h, after which the token links to nothing; the purge
-- clears it anyway. Only the day is kept, never the time.
CREATE TABLE feedback (
  id      INTEGER PRIMARY KEY,
  page_id INTEGER NOT NULL REFERENCES pages(id),
  day     INTEGER NOT NULL,
  useful  INTEGER NOT NULL CHECK (useful IN (0, 1)),
  rating  INTEGER CHECK (rating BETWEEN 1 AND 5),
  comment TEXT,
  dedup   BLOB
) STRICT;
CREATE UNIQUE INDEX feedback_dedup ON feedback (page_id, day, dedup)
  WHERE dedup IS NOT NULL;
CREATE INDEX feedback_dedup_day ON feedback (day) WHERE dedup IS NOT NULL;
CREATE INDEX feedback_comments ON feedback (page_id, day) WHERE comment IS NOT NULL;
