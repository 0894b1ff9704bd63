-- townhall schema 1: sites, consultations, pseudonymous participants, ideas
-- and votes. Applied in one transaction; PRAGMA user_version tracks it.
--
-- Nothing here holds personal data: participants are keyed hashes under a
-- per-consultation key kept only encrypted (see docs/privacy.md).

CREATE TABLE townhall_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE sites (
  id              INTEGER PRIMARY KEY,
  slug            TEXT NOT NULL UNIQUE,
  name            TEXT NOT NULL,
  origins         TEXT NOT NULL DEFAULT '',
  keep_params     TEXT NOT NULL DEFAULT '',
  moderate_ideas  INTEGER NOT NULL DEFAULT 0,
  allow_anonymous INTEGER NOT NULL DEFAULT 0,
  rank_anonymous  INTEGER NOT NULL DEFAULT 0,
  comment_days    INTEGER NOT NULL DEFAULT 365,
  audit_days      INTEGER NOT NULL DEFAULT 730,
  key_days        INTEGER NOT NULL DEFAULT 365,
  open_min        INTEGER NOT NULL DEFAULT 8,
  open_round      INTEGER NOT NULL DEFAULT 5,
  secret          BLOB,             -- JWT secret, encrypted under the key file
  created         INTEGER NOT NULL  -- ms since the epoch
) STRICT;

CREATE TABLE consultations (
  id          INTEGER PRIMARY KEY,
  site_id     INTEGER NOT NULL REFERENCES sites(id),
  slug        TEXT NOT NULL,
  title       TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  ward        TEXT NOT NULL DEFAULT '',
  opens       INTEGER NOT NULL,
  closes      INTEGER,              -- NULL: always open (an ideas board)
  pkey        BLOB,                 -- random pseudonym key, encrypted; NULL once destroyed
  created     INTEGER NOT NULL,
  UNIQUE (site_id, slug)
) STRICT;

-- A resident or device, known only by a keyed hash under its consultation's
-- key. The compact integer id keeps the vote index small and fast.
CREATE TABLE participants (
  id              INTEGER PRIMARY KEY,
  consultation_id INTEGER NOT NULL REFERENCES consultations(id),
  kind            INTEGER NOT NULL CHECK (kind IN (0, 1)), -- 0 resident, 1 device
  pseudonym       BLOB UNIQUE        -- NULL once the consultation's key is destroyed
) STRICT;

CREATE TABLE ideas (
  id              INTEGER PRIMARY KEY,
  site_id         INTEGER NOT NULL REFERENCES sites(id),
  consultation_id INTEGER NOT NULL REFERENCES consultations(id),
  author_id       INTEGER REFERENCES participants(id) ON DELETE SET NULL,
  title           TEXT NOT NULL,
  body            TEXT NOT NULL DEFAULT '',
  category        TEXT NOT NULL DEFAULT '',
  ward            TEXT NOT NULL DEFAULT '',
  status          INTEGER NOT NULL,
  merged_into     INTEGER REFERENCES ideas(id),
  response        TEXT NOT NULL DEFAULT '',
  response_at     INTEGER NOT NULL DEFAULT 0,
  up              INTEGER NOT NULL DEFAULT 0,
  down            INTEGER NOT NULL DEFAULT 0,
  anon_up         INTEGER NOT NULL DEFAULT 0,
  anon_down       INTEGER NOT NULL DEFAULT 0,
  top             REAL NOT NULL DEFAULT 0,  -- Wilson lower bound
  hot             REAL NOT NULL DEFAULT 0,
  controversial   REAL NOT NULL DEFAULT 0,
  created         INTEGER NOT NULL,
  updated         INTEGER NOT NULL
) STRICT;

-- One index per stored sort key, for lists of a whole site and of one
-- consultation, so that every list is a range scan that stops after a page;
-- the id breaks ties and makes cursors exact.
CREATE INDEX ideas_site_top ON ideas (site_id, top DESC, id DESC);
CREATE INDEX ideas_site_hot ON ideas (site_id, hot DESC, id DESC);
CREATE INDEX ideas_site_new ON ideas (site_id, created DESC, id DESC);
CREATE INDEX ideas_site_controversial ON ideas (site_id, controversial DESC, id DESC);
CREATE INDEX ideas_cons_top ON ideas (consultation_id, top DESC, id DESC);
CREATE INDEX ideas_cons_hot ON ideas (consultation_id, hot DESC, id DESC);
CREATE INDEX ideas_cons_new ON ideas (consultation_id, created DESC, id DESC);
CREATE INDEX ideas_cons_controversial ON ideas (consultation_id, controversial DESC, id DESC);
CREATE INDEX ideas_author ON ideas (author_id) WHERE author_id IS NOT NULL;
CREATE UNIQUE INDEX ideas_dedup ON ideas (consultation_id, author_id, title)
  WHERE author_id IS NOT NULL;

CREATE TABLE votes (
  idea_id        INTEGER NOT NULL REFERENCES ideas(id),
  participant_id INTEGER NOT NULL REFERENCES participants(id),
  value          INTEGER NOT NULL CHECK (value IN (-1, 1)),
  day            INTEGER NOT NULL,  -- days since the epoch: no finer time is kept
  PRIMARY KEY (idea_id, participant_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX votes_participant ON votes (participant_id);
