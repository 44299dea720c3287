-- The callbacks Herald gave up on, newest first, for the operator's list and redelivery
-- (SPEC 8, GET /admin/v1/callbacks?status=FAILED). Partial: a callback enters it only when
-- it fails for good, so delivering callbacks writes nothing more.
CREATE INDEX callbacks_failed_by_created ON callbacks(created_at, webhook_id) WHERE state = 'FAILED';
