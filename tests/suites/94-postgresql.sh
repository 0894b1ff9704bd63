#!/usr/bin/env bash
# The throwaway PostgreSQL cluster of issue 15 (tests/pg/cluster.py,
# scripts/pg-cluster). It is what the PostgreSQL tests and
# bench/pgbench-ceiling stand on: initdb in a temporary directory (as the
# postgres user when root), psql's `select 1` through the URI it gives,
# the socket directory mode 0700, no TCP port listening, fsync on, and the
# cluster stopped and removed afterwards, also when a test fails or the
# process exits without stopping it. Needs postgresql-15 (scripts/deps).
# test_open: th_open with a postgresql:// URI, through the Python binding
# against this build's library (what the libpq store does so far, and its
# refusals, none of which names the password). test_cli: every townhall
# command with --db URI, its clear failures, and the password in no output
# and blanked in the command line.
# test_harness: the test switch (TH_TEST_ENGINE=postgresql) gives the C
# unit tests and the API fixture a database of their own and drops it.
# test_migrate: the schema on PostgreSQL and its advisory-locked migration
# (tests/pg/migrate.c, linked with this build's libthcore.a): ten at once
# migrate once, the tables are SQLite's column for column, another
# application's database is refused untouched, the data-version triggers.
# test_privacy: a destroyed consultation key, and a rotated key file's old
# sealing, are in no file of the cluster after townhall's VACUUM.
# test_outage: the HTTP server answers 503 problem+json with Retry-After
# while PostgreSQL is stopped, and records again by itself once it is back.
# test_kill: SIGKILL of the node mid-load, then of PostgreSQL's postmaster
# mid-load (then started again): every answer acknowledged is stored.
# test_engine: the store's PostgreSQL engine where the domain suites do not
# reach it: a server restarted or stopped (TH_EIO at once, then the
# connection made again by itself, every acknowledged write kept), a
# batch whose connection was lost committing nothing, th_backup refused.
# test_dev_serve: the README's `scripts/dev serve-pg` run for real: it
# makes a cluster, serves from it, stops it with the server, serves again.
# test_nodes: two `townhall serve` nodes on one database (issue 16): votes
# raced through both for the same resident and idea, and page feedback,
# then every counter recounted from the rows by SQL, one vote per resident,
# every acknowledged write a row and every row acknowledged, no 5xx; each
# node's caches follow the other's writes; SIGKILL of one node mid-load
# while the other goes on answering 2xx.
set -uo pipefail
: "${TH_SRC:?}"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
cd "$TH_SRC/tests/pg"
PYTHONPATH="$TH_SRC/tests/pg:$TH_SRC/tests/api" PYTHONDONTWRITEBYTECODE=1 exec "$PY" ../api/tap.py test_cluster test_open test_cli test_harness test_migrate test_privacy test_session test_outage test_kill test_engine test_dev_serve test_nodes
