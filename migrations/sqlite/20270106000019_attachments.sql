-- Attachments (SPEC 4.5) and the HTML part of an email.

-- What answers list ({attachmentUUID, fileName, contentType, size}), as a JSON array, and
-- `htmlBody` as requested.
ALTER TABLE messages ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]';
ALTER TABLE messages ADD COLUMN html_body TEXT;

-- The files themselves, written in the message's own transaction. `secret` keys the expiring
-- tokens of the media URLs a provider fetches them by.
CREATE TABLE attachments (
    uuid          TEXT PRIMARY KEY,
    message_uuid  TEXT NOT NULL REFERENCES messages(uuid),
    position      INTEGER NOT NULL,
    file_name     TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    secret        BLOB NOT NULL,
    content       BLOB NOT NULL
);
CREATE INDEX attachments_by_message ON attachments(message_uuid, position);

-- What the outbox provider would have handed over for an email: its HTML part and the files
-- attached ({attachmentUUID, fileName, contentType, size}).
ALTER TABLE outbox ADD COLUMN html_body TEXT;
ALTER TABLE outbox ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]';
