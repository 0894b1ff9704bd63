-- townhall schema 8: a site's own lists of wards and categories, and the
-- council's own published contact details.
--
-- An idea's ward and category were free text stored and published as sent:
-- an e-mail address typed as a category reached the ideas CSV and open
-- data. A site may now name its wards and its categories (one per line;
-- '' = no list), and an idea on such a site must use one of them; where a
-- site has no list the text is scrubbed like any other resident's text
-- (townhall.h, th_site). `contacts` (one per line) are the council's own
-- switchboard numbers, offices' postcodes and public e-mail addresses,
-- which the scrubbing of staff-written text leaves in place.

ALTER TABLE sites ADD COLUMN wards TEXT NOT NULL DEFAULT '';
ALTER TABLE sites ADD COLUMN categories TEXT NOT NULL DEFAULT '';
ALTER TABLE sites ADD COLUMN contacts TEXT NOT NULL DEFAULT '';

-- What is already stored is scrubbed in place with the library's own
-- redactor (th_redact, registered on every connection by db.c): an e-mail
-- address becomes "[email]", a phone number "[phone]", and the rest of the
-- text stays (docs/privacy.md, "Wards and categories"). secure_delete is
-- on, so the old text is overwritten rather than left in free pages; the
-- backup `townhall migrate` takes first still holds it.
UPDATE ideas SET category = th_redact(category)
  WHERE category <> '' AND th_redact(category) <> category;
UPDATE ideas SET ward = th_redact(ward)
  WHERE ward <> '' AND th_redact(ward) <> ward;
UPDATE consultations SET ward = th_redact(ward)
  WHERE ward <> '' AND th_redact(ward) <> ward;
