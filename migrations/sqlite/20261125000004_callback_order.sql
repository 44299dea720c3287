-- A message's callbacks by sequence: numbering a new callback (MAX(seq)) and checking for an
-- earlier pending one must not scan every callback ever queued.
CREATE INDEX callbacks_by_message ON callbacks(message_uuid, seq);
