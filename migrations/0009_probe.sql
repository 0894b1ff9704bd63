-- townhall schema 9: the readiness probe's row.
--
-- /readyz (and /healthz) report the server ready only if a write can
-- really commit: at most once every few seconds each loop sends one write
-- through the writer, which rewrites this one row (with a 16 KiB value, so
-- that a disk with almost no room left fails the probe before it fails
-- residents' writes) and commits it like any other. It holds nothing else.

CREATE TABLE probe (
  id    INTEGER PRIMARY KEY CHECK (id = 1),
  at    INTEGER NOT NULL,
  room  BLOB NOT NULL
) STRICT;
