-- townhall schema 6: every page-feedback answer is its own record.
--
-- Until now an answer was found again by its device (a hash of address and
-- user agent under the day's salt) per page per day, so two residents behind
-- one address with the same browser amended each other's answer, and both
-- were told it was recorded. Now an answer is reached again only through the
-- handle returned when it was recorded (townhall.h, th_feedback_answer): a
-- selector (`idem`, 8 bytes, indexed) and a secret whose keyed hash is
-- `verifier`. For an answer sent with an idempotency key the selector is a
-- hash of the key and the device under the day's salt, so a retry finds the
-- answer again; otherwise it is random. Both are cleared by the purge once
-- their day is over, like the device tokens before them.
--
-- `dedup` (the device token) stays for answers sent by the 0.1.0 widget,
-- which amends its answer with a second post carrying no handle
-- (docs/embedding.md, "Compatibility"); it is no longer unique.

ALTER TABLE feedback ADD COLUMN idem BLOB;
ALTER TABLE feedback ADD COLUMN verifier BLOB;

DROP INDEX feedback_dedup;
DROP INDEX feedback_dedup_day;
CREATE INDEX feedback_idem ON feedback (idem) WHERE idem IS NOT NULL;
CREATE INDEX feedback_legacy ON feedback (page_id, day, dedup)
  WHERE dedup IS NOT NULL;
-- What the purge clears, by day (every answer holding a device token also
-- holds a selector).
CREATE INDEX feedback_live ON feedback (day) WHERE idem IS NOT NULL;
UPDATE feedback SET idem = randomblob(8) WHERE dedup IS NOT NULL;

-- What the public may see of a page covers complete ISO weeks only
-- (docs/privacy.md, "What is published"). `pub_*` hold the page's counters
-- as they stood when the week of `last_day` began: written by the first
-- answer of each week (from the counters it is about to change), read while
-- that week is in progress; after it, the live counters are all published.
ALTER TABLE pages ADD COLUMN pub_yes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pages ADD COLUMN pub_no INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pages ADD COLUMN pub_r1 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pages ADD COLUMN pub_r2 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pages ADD COLUMN pub_r3 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pages ADD COLUMN pub_r4 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pages ADD COLUMN pub_r5 INTEGER NOT NULL DEFAULT 0;

CREATE TEMP TABLE th_pub AS
  SELECT f.page_id AS id,
         sum(f.useful = 1) AS yes, sum(f.useful = 0) AS no,
         sum(f.rating = 1) AS r1, sum(f.rating = 2) AS r2,
         sum(f.rating = 3) AS r3, sum(f.rating = 4) AS r4,
         sum(f.rating = 5) AS r5
  FROM feedback f JOIN pages p ON p.id = f.page_id
  WHERE f.day < p.last_day - ((p.last_day + 3) % 7)
  GROUP BY f.page_id;
UPDATE pages SET pub_yes = t.yes, pub_no = t.no, pub_r1 = t.r1,
  pub_r2 = t.r2, pub_r3 = t.r3, pub_r4 = t.r4, pub_r5 = t.r5
  FROM th_pub t WHERE t.id = pages.id;
DROP TABLE th_pub;
