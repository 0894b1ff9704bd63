-- townhall schema 10: what an older townhall stored, scrubbed as today's
-- redactor scrubs it.
--
-- Text stored before issue 12 went through a redactor that missed some
-- layouts ("NW1  2DB", "447700900461", a zero-width space inside a number,
-- a full-width "@", an NHS number in 3-4-3 groups), kept bidirectional
-- overrides, and did not look at staff text or page addresses at all.
-- Every free-text column is scrubbed again with the library's own
-- functions (registered on every connection by db.c): residents' text with
-- th_redact, staff text with th_redact_allowing and the site's contacts,
-- page addresses with th_page_scrub. Text already clean is not rewritten.
-- secure_delete is on, so old text is overwritten rather than left in free
-- pages; the backup `townhall migrate` takes first still holds it.

UPDATE ideas SET title = th_redact(title) WHERE th_redact(title) <> title;
UPDATE ideas SET body = th_redact(body) WHERE th_redact(body) <> body;
UPDATE ideas SET response = th_redact_allowing(response,
    (SELECT contacts FROM sites WHERE sites.id = ideas.site_id))
  WHERE response <> '' AND th_redact_allowing(response,
    (SELECT contacts FROM sites WHERE sites.id = ideas.site_id)) <> response;
UPDATE consultations SET
    title = th_redact_allowing(title,
      (SELECT contacts FROM sites WHERE sites.id = consultations.site_id)),
    description = th_redact_allowing(description,
      (SELECT contacts FROM sites WHERE sites.id = consultations.site_id))
  WHERE th_redact_allowing(title,
      (SELECT contacts FROM sites WHERE sites.id = consultations.site_id))
      <> title
    OR th_redact_allowing(description,
      (SELECT contacts FROM sites WHERE sites.id = consultations.site_id))
      <> description;
UPDATE sites SET name = th_redact_allowing(name, contacts)
  WHERE th_redact_allowing(name, contacts) <> name;
UPDATE feedback SET comment = th_redact(comment)
  WHERE comment IS NOT NULL AND th_redact(comment) <> comment;
UPDATE audit SET detail = th_redact_allowing(detail,
    (SELECT contacts FROM sites WHERE sites.id = audit.site_id))
  WHERE detail <> '' AND th_redact_allowing(detail,
    (SELECT contacts FROM sites WHERE sites.id = audit.site_id)) <> detail;

-- Page addresses. Two addresses that differed only in what is scrubbed
-- ("/users/a@x.org/p", "/users/b@y.org/p") become one; (site_id, url) is
-- unique, so the lowest id of each such group (where no row has that
-- address already) takes it, and every other keeps its counts under the
-- scrubbed address with "townhall-duplicate=ID" added to its query: no
-- answer is lost or moved, nothing personal stays, and the page list
-- shows the rows side by side.
CREATE TEMP TABLE th_rescrub AS
  SELECT pages.id AS id, pages.site_id AS site_id,
         th_page_scrub(pages.url, sites.keep_params) AS url
  FROM pages JOIN sites ON sites.id = pages.site_id
  WHERE th_page_scrub(pages.url, sites.keep_params) <> pages.url;
CREATE TEMP TABLE th_rescrub_first AS
  SELECT min(r.id) AS id FROM th_rescrub r
  WHERE NOT EXISTS (SELECT 1 FROM pages p
                    WHERE p.site_id = r.site_id AND p.url = r.url)
  GROUP BY r.site_id, r.url;
UPDATE pages SET url = (SELECT url FROM th_rescrub r WHERE r.id = pages.id)
  WHERE id IN (SELECT id FROM th_rescrub_first);
UPDATE pages SET url = (SELECT r.url || CASE WHEN instr(r.url, '?') THEN '&'
                                              ELSE '?' END
                               || 'townhall-duplicate=' || r.id
                        FROM th_rescrub r WHERE r.id = pages.id)
  WHERE id IN (SELECT id FROM th_rescrub)
    AND id NOT IN (SELECT id FROM th_rescrub_first);
DROP TABLE th_rescrub;
DROP TABLE th_rescrub_first;
