-- In-doubt hand-overs (SPEC 6): when each claim began, whether the last claim retook a job
-- whose earlier claim recorded no result, and since when an earlier hand-over is in doubt.
-- All written by the claim and the step's result, never by a write of their own.
ALTER TABLE delivery_jobs ADD COLUMN claimed_at timestamptz;
ALTER TABLE delivery_jobs ADD COLUMN retaken boolean NOT NULL DEFAULT false;
ALTER TABLE delivery_jobs ADD COLUMN in_doubt_since timestamptz;
