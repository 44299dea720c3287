-- callbacks_by_message (message_uuid, seq) repeated the index behind the table's
-- UNIQUE (message_uuid, seq), which already serves numbering a message's next callback: every
-- callback queued wrote the same entry into both.
DROP INDEX callbacks_by_message;
