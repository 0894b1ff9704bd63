-- townhall schema 7: what a merged idea was before it was merged.
--
-- Merging used to overwrite an idea's status with "merged" and nothing else,
-- and a merged idea was shown to everyone: so on a moderated site, merging a
-- pending idea (never approved) into a public one published its title and
-- body at GET /ideas/{id}. Now the status it had is kept, and a merged idea
-- is public only if it was public before the merge (th_idea_is_public).
--
-- Ideas merged before this version: the status they had is not known. One
-- counts as having been public when the record shows it was (a moderator
-- published it, or the council set its status, which only a public idea
-- can have), or when its site does not moderate ideas (every idea there is
-- published when proposed); otherwise it counts as pending, and stays out
-- of public view. The value 1 is "published", 0 "pending".

ALTER TABLE ideas ADD COLUMN merged_from INTEGER;

UPDATE ideas SET merged_from = CASE
    WHEN EXISTS (SELECT 1 FROM audit a WHERE a.idea_id = ideas.id
                   AND a.action IN ('moderate:publish', 'status'))
      OR (SELECT moderate_ideas FROM sites s WHERE s.id = ideas.site_id) = 0
    THEN 1 ELSE 0 END
  WHERE status = 9;
