-- A message's callbacks by sequence, whatever their state: numbering a new callback
-- (MAX(seq)) must not scan every callback ever queued.
CREATE INDEX callbacks_by_message ON callbacks(message_uuid, seq);
