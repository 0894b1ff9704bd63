-- townhall schema 5: staff API tokens. A token is shown once, when it is
-- created; only a keyed hash of it is stored (under a subkey of the key file,
-- so a leaked database cannot be used to test guesses offline).

CREATE TABLE staff_tokens (
  id       INTEGER PRIMARY KEY,
  site_id  INTEGER REFERENCES sites(id),   -- NULL: every site
  role     INTEGER NOT NULL CHECK (role IN (1, 2, 3)), -- moderator, councillor, admin
  label    TEXT NOT NULL,
  hash     BLOB NOT NULL,
  created  INTEGER NOT NULL,
  expires  INTEGER NOT NULL,
  revoked  INTEGER NOT NULL DEFAULT 0
) STRICT;
