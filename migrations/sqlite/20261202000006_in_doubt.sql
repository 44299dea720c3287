-- In-doubt hand-overs (SPEC 6): when each claim began, whether the last claim retook a job
-- whose earlier claim recorded no result, and since when an earlier hand-over is in doubt.
-- All written by the claim and the step's result, never by a write of their own.
ALTER TABLE delivery_jobs ADD COLUMN claimed_at INTEGER;
ALTER TABLE delivery_jobs ADD COLUMN retaken INTEGER NOT NULL DEFAULT 0;
ALTER TABLE delivery_jobs ADD COLUMN in_doubt_since INTEGER;
