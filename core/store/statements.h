/*
 * statements.h: every fixed SQL statement the library runs, prepared once
 * per connection (SQLITE_PREPARE_PERSISTENT; PostgreSQL: by name, at first
 * use) and reused. Included with TH__STMT(id, sql) defined, and optionally
 * TH__STMT2(id, sql, pg_sql): a statement whose PostgreSQL text differs
 * from SQLite's (pgq.c; ?N is rewritten to $N for both kinds). Without
 * TH__STMT2, such a statement is TH__STMT(id, sql). No include guard on
 * purpose.
 */
#ifndef TH__STMT2
#define TH__STMT2(id, sql, pg_sql) TH__STMT(id, sql)
#define TH__STMT2_DEFAULT
#endif

/* transactions */
/* PostgreSQL: one writer at a time across every node and the CLI, as
 * SQLite's write lock (1414021452 is "THAL", 2 the writer), released at
 * COMMIT or ROLLBACK. Two commands: run as a simple query. */
TH__STMT2(BEGIN, "BEGIN IMMEDIATE",
          "BEGIN; SELECT pg_advisory_xact_lock(1414021452, 2)")
/* PostgreSQL: a row the schema's triggers bump at every writing
 * transaction (migrations/postgresql/). */
TH__STMT2(DATA_VERSION, "PRAGMA data_version", "SELECT v FROM townhall_version")
/* The readiness probe (th__write_probe). PostgreSQL has no zeroblob: the
 * 16 KiB of zeros are bound (?2). */
TH__STMT2(PROBE_WRITE,
          "INSERT INTO probe (id, at, room) VALUES (1, ?1, zeroblob(16384))"
          " ON CONFLICT (id) DO UPDATE SET at = excluded.at,"
          " room = excluded.room",
          "INSERT INTO probe (id, at, room) VALUES (1, ?1, ?2)"
          " ON CONFLICT (id) DO UPDATE SET at = excluded.at,"
          " room = excluded.room")
TH__STMT(COMMIT, "COMMIT")
TH__STMT(ROLLBACK, "ROLLBACK")
TH__STMT(SAVEPOINT, "SAVEPOINT th_write")
TH__STMT(RELEASE, "RELEASE th_write")
TH__STMT(ROLLBACK_TO, "ROLLBACK TO th_write")

/* sites */
#define TH__SITE_COLS                                                         \
  "id, slug, name, origins, keep_params, moderate_ideas, allow_anonymous,"    \
  " rank_anonymous, comment_days, audit_days, key_days, open_min,"            \
  " open_round, created, wards, categories, contacts"
TH__STMT(SITE_INSERT,
         "INSERT INTO sites (slug, name, origins, keep_params, moderate_ideas,"
         " allow_anonymous, rank_anonymous, comment_days, audit_days, key_days,"
         " open_min, open_round, created, wards, categories, contacts)"
         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
         " ?14, ?15, ?16) RETURNING id")
TH__STMT(SITE_UPDATE,
         "UPDATE sites SET name = ?2, origins = ?3, keep_params = ?4,"
         " moderate_ideas = ?5, allow_anonymous = ?6, rank_anonymous = ?7,"
         " comment_days = ?8, audit_days = ?9, key_days = ?10, open_min = ?11,"
         " open_round = ?12, wards = ?14, categories = ?15, contacts = ?16"
         " WHERE id = ?1")
TH__STMT(SITE_VOCAB,
         "SELECT wards, categories, contacts FROM sites WHERE id = ?1")
TH__STMT(SITE_BY_SLUG, "SELECT " TH__SITE_COLS " FROM sites WHERE slug = ?1")
TH__STMT(SITE_ALL, "SELECT " TH__SITE_COLS " FROM sites ORDER BY slug")
TH__STMT(SITE_LOOKUP,
         "SELECT id, origins, keep_params, moderate_ideas, allow_anonymous,"
         " rank_anonymous, open_min, open_round FROM sites WHERE slug = ?1")
TH__STMT(SITE_SECRET, "SELECT id, secret FROM sites WHERE slug = ?1")
TH__STMT(SITE_SET_SECRET, "UPDATE sites SET secret = ?2 WHERE id = ?1")
TH__STMT(SITE_IDEAS_COUNTS,
         "SELECT id, up, down, anon_up, anon_down, created FROM ideas"
         " WHERE site_id = ?1")

/* consultations */
#define TH__CONS_COLS                                                         \
  "c.id, c.site_id, c.slug, c.title, c.description, c.ward, c.opens,"         \
  " coalesce(c.closes, 0), c.pkey IS NULL, c.created"
TH__STMT(CONS_INSERT,
         "INSERT INTO consultations (site_id, slug, title, description, ward,"
         " opens, closes, pkey, created)"
         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id")
TH__STMT(CONS_BY_SLUG,
         "SELECT " TH__CONS_COLS " FROM consultations c WHERE c.site_id = ?1"
         " AND c.slug = ?2")
TH__STMT(CONS_LIST,
         "SELECT " TH__CONS_COLS " FROM consultations c WHERE c.site_id = ?1"
         " ORDER BY c.created DESC, c.id DESC")
TH__STMT(CONS_KEY,
         "SELECT site_id, slug, pkey FROM consultations WHERE id = ?1")
TH__STMT(CONS_OPEN,
         "SELECT id, opens, coalesce(closes, 0) FROM consultations"
         " WHERE site_id = ?1 AND slug = ?2")
TH__STMT(CONS_LIVE_KEYS,
         "SELECT id, slug, title FROM consultations WHERE site_id = ?1"
         " AND pkey IS NOT NULL ORDER BY id")

/* participants */
TH__STMT(PART_FIND, "SELECT id, kind FROM participants WHERE pseudonym = ?1")
TH__STMT(PART_INSERT,
         "INSERT INTO participants (consultation_id, kind, pseudonym)"
         " VALUES (?1, ?2, ?3) RETURNING id")
TH__STMT(PART_DELETE, "DELETE FROM participants WHERE id = ?1")

/* ideas */
#define TH__IDEA_COLS                                                         \
  "i.id, i.consultation_id, c.slug, i.title, i.body, i.category, i.ward,"     \
  " i.status, coalesce(i.merged_into, 0), i.response, i.response_at, i.up,"   \
  " i.down, i.anon_up, i.anon_down, i.top, i.hot, i.controversial,"           \
  " i.created, i.updated, coalesce(i.merged_from, -1)"
TH__STMT(IDEA_INSERT,
         "INSERT INTO ideas (site_id, consultation_id, author_id, title, body,"
         " category, ward, status, hot, created, updated)"
         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)"
         " RETURNING id")
TH__STMT(IDEA_DEDUP,
         "SELECT id FROM ideas WHERE consultation_id = ?1 AND author_id = ?2"
         " AND title = ?3")
TH__STMT(IDEA_GET,
         "SELECT " TH__IDEA_COLS " FROM ideas i JOIN consultations c"
         " ON c.id = i.consultation_id WHERE i.id = ?1 AND i.site_id = ?2")
TH__STMT(IDEA_STATE,
         "SELECT i.consultation_id, i.status, c.opens, coalesce(c.closes, 0),"
         " i.up, i.down, i.anon_up, i.anon_down, i.created,"
         " coalesce(i.author_id, 0), i.response, i.top, i.hot, i.controversial"
         " FROM ideas i JOIN consultations c ON c.id = i.consultation_id"
         " WHERE i.id = ?1 AND i.site_id = ?2")
TH__STMT(IDEA_COUNTS,
         "SELECT up, down, anon_up, anon_down, created, top, hot, controversial"
         " FROM ideas WHERE id = ?1")
/* An idea's counters, and of its ranking keys (?6 top, ?7 hot, ?8
 * controversial) only those that change: each key is in two indexes (per
 * site and per consultation), and an UPDATE that names a column moves its
 * index entries even when the value stays. IDEA_SET_COUNTS_0 + a mask of
 * the keys to write (1 top, 2 hot, 4 controversial). */
#define TH__IDEA_SET_COUNTS(keys)                                             \
  "UPDATE ideas SET up = ?2, down = ?3, anon_up = ?4, anon_down = ?5,"        \
  " updated = ?9" keys " WHERE id = ?1"
TH__STMT(IDEA_SET_COUNTS_0, TH__IDEA_SET_COUNTS(""))
TH__STMT(IDEA_SET_COUNTS_1, TH__IDEA_SET_COUNTS(", top = ?6"))
TH__STMT(IDEA_SET_COUNTS_2, TH__IDEA_SET_COUNTS(", hot = ?7"))
TH__STMT(IDEA_SET_COUNTS_3, TH__IDEA_SET_COUNTS(", top = ?6, hot = ?7"))
TH__STMT(IDEA_SET_COUNTS_4, TH__IDEA_SET_COUNTS(", controversial = ?8"))
TH__STMT(IDEA_SET_COUNTS_5,
         TH__IDEA_SET_COUNTS(", top = ?6, controversial = ?8"))
TH__STMT(IDEA_SET_COUNTS_6,
         TH__IDEA_SET_COUNTS(", hot = ?7, controversial = ?8"))
TH__STMT(IDEA_SET_COUNTS_7,
         TH__IDEA_SET_COUNTS(", top = ?6, hot = ?7, controversial = ?8"))
TH__STMT(IDEA_SET_KEYS,
         "UPDATE ideas SET top = ?2, hot = ?3, controversial = ?4 WHERE id = ?1")
TH__STMT(IDEA_SET_STATUS,
         "UPDATE ideas SET status = ?2, updated = ?3 WHERE id = ?1")
TH__STMT(IDEA_SET_RESPONSE,
         "UPDATE ideas SET response = ?2, response_at = ?3, updated = ?3"
         " WHERE id = ?1")
TH__STMT(IDEA_SET_MERGED,
         "UPDATE ideas SET status = 9, merged_into = ?2, updated = ?3,"
         " merged_from = ?4 WHERE id = ?1")
TH__STMT(IDEA_DETACH_AUTHOR,
         "UPDATE ideas SET author_id = NULL WHERE author_id = ?1")
TH__STMT(IDEAS_BY_AUTHOR,
         "SELECT id, title, status, created FROM ideas WHERE author_id = ?1"
         " ORDER BY id")

/* votes */
TH__STMT(VOTE_GET,
         "SELECT value FROM votes WHERE idea_id = ?1 AND participant_id = ?2")
TH__STMT(VOTE_UPSERT,
         "INSERT INTO votes (idea_id, participant_id, value, day)"
         " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (idea_id, participant_id)"
         " DO UPDATE SET value = excluded.value, day = excluded.day")
TH__STMT(VOTE_DELETE,
         "DELETE FROM votes WHERE idea_id = ?1 AND participant_id = ?2")
TH__STMT(VOTES_BY_PARTICIPANT,
         "SELECT v.idea_id, i.title, v.value, v.day FROM votes v"
         " JOIN ideas i ON i.id = v.idea_id WHERE v.participant_id = ?1"
         " ORDER BY v.idea_id")
TH__STMT(VOTES_MERGE_DROP,
         "DELETE FROM votes WHERE idea_id = ?1 AND participant_id IN"
         " (SELECT participant_id FROM votes WHERE idea_id = ?2)")
TH__STMT(VOTES_MERGE_MOVE, "UPDATE votes SET idea_id = ?2 WHERE idea_id = ?1")
/* PostgreSQL sums no boolean: it counts. */
TH__STMT2(VOTES_TALLY,
          "SELECT coalesce(sum(v.value = 1 AND p.kind = 0), 0),"
          " coalesce(sum(v.value = -1 AND p.kind = 0), 0),"
          " coalesce(sum(v.value = 1 AND p.kind = 1), 0),"
          " coalesce(sum(v.value = -1 AND p.kind = 1), 0)"
          " FROM votes v JOIN participants p ON p.id = v.participant_id"
          " WHERE v.idea_id = ?1",
          "SELECT count(*) FILTER (WHERE v.value = 1 AND p.kind = 0),"
          " count(*) FILTER (WHERE v.value = -1 AND p.kind = 0),"
          " count(*) FILTER (WHERE v.value = 1 AND p.kind = 1),"
          " count(*) FILTER (WHERE v.value = -1 AND p.kind = 1)"
          " FROM votes v JOIN participants p ON p.id = v.participant_id"
          " WHERE v.idea_id = ?1")
TH__STMT(VOTE_DAY_SET,
         "INSERT INTO vote_days (idea_id, day, up, down) VALUES (?1, ?2, ?3, ?4)"
         " ON CONFLICT (idea_id, day) DO UPDATE SET up = excluded.up,"
         " down = excluded.down")
TH__STMT(VOTE_DAYS,
         "SELECT day, up, down FROM vote_days WHERE idea_id = ?1 ORDER BY day")

/* feedback */
#define TH__PAGE_COLS                                                         \
  "id, url, yes, no, r1, r2, r3, r4, r5, comments, useful_lower, first_day,"  \
  " last_day, pub_yes, pub_no, pub_r1, pub_r2, pub_r3, pub_r4, pub_r5"
TH__STMT(PAGE_FIND,
         "SELECT " TH__PAGE_COLS " FROM pages WHERE site_id = ?1 AND url = ?2")
TH__STMT(PAGE_BY_ID, "SELECT " TH__PAGE_COLS " FROM pages WHERE id = ?1")
TH__STMT(PAGE_INSERT,
         "INSERT INTO pages (site_id, url, first_day, last_day)"
         " VALUES (?1, ?2, ?3, ?3) RETURNING id")
/* The first write of a week (?12, its Monday) to a page keeps the counters
 * it is about to change as the page's published ones (pub_*): the right-
 * hand sides all read the row as it was. */
#define TH__PUB_KEEP(c)                                                       \
  " pub_" c " = CASE WHEN last_day - ((last_day + 3) % 7) < ?12 THEN " c      \
  " ELSE pub_" c " END,"
#define TH__PAGE_SET(max)                                                     \
  "UPDATE pages SET" TH__PUB_KEEP("yes") TH__PUB_KEEP("no")                   \
  TH__PUB_KEEP("r1") TH__PUB_KEEP("r2") TH__PUB_KEEP("r3")                    \
  TH__PUB_KEEP("r4") TH__PUB_KEEP("r5")                                       \
  " yes = ?2, no = ?3, r1 = ?4, r2 = ?5, r3 = ?6,"                            \
  " r4 = ?7, r5 = ?8, comments = ?9, useful_lower = ?10,"                     \
  " last_day = " max "(last_day, ?11) WHERE id = ?1"
/* SQLite's two-argument max() is PostgreSQL's greatest(). */
TH__STMT2(PAGE_SET, TH__PAGE_SET("max"), TH__PAGE_SET("greatest"))
TH__STMT(PAGES_WORST,
         "SELECT " TH__PAGE_COLS " FROM pages WHERE site_id = ?1"
         " AND (?2 = 0 OR useful_lower > ?3 OR (useful_lower = ?3"
         " AND (no < ?4 OR (no = ?4 AND id > ?5))))"
         " ORDER BY useful_lower, no DESC, id LIMIT ?6")
#define TH__FB_COLS "f.id, f.page_id, f.day, f.useful, coalesce(f.rating, 0), f.comment"
/* Answers by their handle's selector, with their page's site. */
TH__STMT(FB_BY_IDEM,
         "SELECT " TH__FB_COLS ", f.verifier, p.site_id FROM feedback f"
         " JOIN pages p ON p.id = f.page_id WHERE f.idem = ?1")
/* The 0.1.0 widget's answers from one device on a page today that its
 * follow-up may amend: those with no rating and no comment yet first (the
 * newest of them), then one equal to the follow-up (a retry of it). */
#define TH__FB_LEGACY_FIND(is)                                                \
  "SELECT " TH__FB_COLS " FROM feedback f"                                    \
  " WHERE f.page_id = ?1 AND f.day = ?2 AND f.dedup = ?3"                     \
  " AND f.useful = ?4 AND ((f.rating IS NULL AND f.comment IS NULL)"          \
  " OR (coalesce(f.rating, 0) = ?5 AND f.comment " is " ?6))"                 \
  " ORDER BY f.rating IS NULL AND f.comment IS NULL DESC, f.id DESC"          \
  " LIMIT 1"
/* SQLite's `IS ?` (NULL equals NULL) is PostgreSQL's IS NOT DISTINCT FROM. */
TH__STMT2(FB_LEGACY_FIND, TH__FB_LEGACY_FIND("IS"),
          TH__FB_LEGACY_FIND("IS NOT DISTINCT FROM"))
TH__STMT(FB_INSERT,
         "INSERT INTO feedback (page_id, day, useful, rating, comment, dedup,"
         " idem, verifier) VALUES (?1, ?2, ?3, nullif(?4, 0), ?5, ?6, ?7, ?8)")
TH__STMT(FB_UPDATE,
         "UPDATE feedback SET useful = ?2, rating = nullif(?3, 0), comment = ?4"
         " WHERE id = ?1")
TH__STMT(FB_COMMENTS,
         "SELECT day, useful, coalesce(rating, 0), comment FROM feedback"
         " WHERE page_id = ?1 AND comment IS NOT NULL"
         " ORDER BY day DESC, id DESC LIMIT ?2")

/* audit */
/* PostgreSQL infers a parameter compared with 0 alone as a 32-bit integer:
 * an id there is cast to 64 bits. */
#define TH__AUDIT_INSERT(id)                                                  \
  "INSERT INTO audit (site_id, at, actor, action, idea_id, detail)"           \
  " VALUES (?1, ?2, ?3, ?4, nullif(" id ", 0), ?6)"
TH__STMT2(AUDIT_INSERT, TH__AUDIT_INSERT("?5"), TH__AUDIT_INSERT("?5::bigint"))
#define TH__AUDIT_LIST(id)                                                    \
  "SELECT id, at, actor, action, coalesce(idea_id, 0), detail FROM audit"     \
  " WHERE site_id = ?1 AND (" id " = 0 OR id < ?2) ORDER BY id DESC"          \
  " LIMIT ?3"
TH__STMT2(AUDIT_LIST, TH__AUDIT_LIST("?2"), TH__AUDIT_LIST("?2::bigint"))

/* retention */
TH__STMT(PURGE_SITES, "SELECT id, comment_days, audit_days, key_days FROM sites")
TH__STMT(PURGE_COMMENTS,
         "UPDATE feedback SET comment = NULL WHERE comment IS NOT NULL"
         " AND day < ?2 AND page_id IN (SELECT id FROM pages WHERE site_id = ?1)")
TH__STMT(PURGE_COMMENT_COUNTS,
         "UPDATE pages SET comments = (SELECT count(*) FROM feedback f"
         " WHERE f.page_id = pages.id AND f.comment IS NOT NULL)"
         " WHERE site_id = ?1 AND comments > 0")
TH__STMT(PURGE_AUDIT, "DELETE FROM audit WHERE site_id = ?1 AND at < ?2")
TH__STMT(PURGE_KEYS,
         "UPDATE consultations SET pkey = NULL WHERE site_id = ?1"
         " AND pkey IS NOT NULL AND closes IS NOT NULL AND closes < ?2")
TH__STMT(PURGE_PSEUDONYMS,
         "UPDATE participants SET pseudonym = NULL WHERE pseudonym IS NOT NULL"
         " AND consultation_id IN (SELECT id FROM consultations"
         " WHERE pkey IS NULL)")
TH__STMT(PURGE_DEDUP,
         "UPDATE feedback SET idem = NULL, verifier = NULL, dedup = NULL"
         " WHERE idem IS NOT NULL AND day < ?1")

/* open data (opendata.c) */
TH__STMT(OPEN_RULES,
         "SELECT open_min, open_round, created FROM sites WHERE id = ?1")
/* feedback.csv: each page's answers per week (?2 <= its last day, weeks
 * before ?3), by page and by week from its first: the running totals are
 * what is published. */
#define TH__OPEN_FEEDBACK(group)                                              \
  "SELECT p.url, f.day - ((f.day + 3) % 7) AS monday,"                        \
  " count(*) FILTER (WHERE f.useful = 1),"                                    \
  " count(*) FILTER (WHERE f.useful = 0),"                                    \
  " count(*) FILTER (WHERE f.rating = 1),"                                    \
  " count(*) FILTER (WHERE f.rating = 2),"                                    \
  " count(*) FILTER (WHERE f.rating = 3),"                                    \
  " count(*) FILTER (WHERE f.rating = 4),"                                    \
  " count(*) FILTER (WHERE f.rating = 5)"                                     \
  " FROM pages p JOIN feedback f ON f.page_id = p.id"                         \
  " WHERE p.site_id = ?1 AND p.last_day >= ?2 AND p.first_day < ?3"           \
  " AND f.day < ?3"                                                           \
  " GROUP BY " group ", monday ORDER BY p.url, monday"
/* PostgreSQL wants every selected column grouped (p.url). */
TH__STMT2(OPEN_FEEDBACK, TH__OPEN_FEEDBACK("f.page_id"),
          TH__OPEN_FEEDBACK("f.page_id, p.url"))
/* ideas.csv: ideas of the public statuses (1 to 6) created before ?3, with
 * their votes at the end of the last day before ?2 (the vote history), at
 * most ?4 of them. */
TH__STMT(OPEN_IDEAS,
         "SELECT i.id, c.slug, i.title, i.status, i.category, i.ward, i.created,"
         " coalesce(v.up, 0), coalesce(v.down, 0), i.response, i.response_at"
         " FROM ideas i JOIN consultations c ON c.id = i.consultation_id"
         " LEFT JOIN vote_days v ON v.idea_id = i.id AND v.day ="
         "  (SELECT max(day) FROM vote_days WHERE idea_id = i.id AND day < ?2)"
         " WHERE i.site_id = ?1 AND i.status BETWEEN 1 AND 6 AND i.created < ?3"
         " ORDER BY i.id LIMIT ?4")

/* key rotation (rotate.c): every sealed value, as id, site id, slug (NULL
 * for a site secret) and the sealed bytes; sealed anew with ?1 the id and
 * ?2 the value (a site secret: SITE_SET_SECRET). */
TH__STMT(ROTATE_SECRETS,
         "SELECT id, id, NULL, secret FROM sites WHERE secret IS NOT NULL")
TH__STMT(ROTATE_PKEYS,
         "SELECT id, site_id, slug, pkey FROM consultations"
         " WHERE pkey IS NOT NULL")
TH__STMT(ROTATE_SET_PKEY, "UPDATE consultations SET pkey = ?2 WHERE id = ?1")
TH__STMT(ROTATE_REVOKE_TOKENS,
         "UPDATE staff_tokens SET revoked = 1 WHERE revoked = 0")
TH__STMT(ROTATE_SITE_IDS, "SELECT id FROM sites ORDER BY id")

/* staff tokens */
#define TH__TOKEN_COLS                                                        \
  "t.id, coalesce(s.slug, ''), t.role, t.label, t.created, t.expires,"        \
  " t.revoked"
#define TH__TOKEN_INSERT(zeros)                                               \
  "INSERT INTO staff_tokens (site_id, role, label, hash, created,"            \
  " expires) VALUES (?1, ?2, ?3, " zeros ", ?4, ?5) RETURNING id"
TH__STMT2(TOKEN_INSERT, TH__TOKEN_INSERT("zeroblob(32)"),
          TH__TOKEN_INSERT("decode(repeat('00', 32), 'hex')"))
TH__STMT(TOKEN_SET_HASH, "UPDATE staff_tokens SET hash = ?2 WHERE id = ?1")
TH__STMT(TOKEN_GET,
         "SELECT " TH__TOKEN_COLS ", t.hash, coalesce(t.site_id, 0)"
         " FROM staff_tokens t LEFT JOIN sites s ON s.id = t.site_id"
         " WHERE t.id = ?1")
TH__STMT(TOKEN_REVOKE,
         "UPDATE staff_tokens SET revoked = 1 WHERE id = ?1 AND revoked = 0")
TH__STMT(TOKEN_LIST,
         "SELECT " TH__TOKEN_COLS " FROM staff_tokens t"
         " LEFT JOIN sites s ON s.id = t.site_id ORDER BY t.id DESC")

#ifdef TH__STMT2_DEFAULT
#undef TH__STMT2
#undef TH__STMT2_DEFAULT
#endif
