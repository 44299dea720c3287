-- Attachments (SPEC 4.5) and the HTML part of an email.

-- What answers list ({attachmentUUID, fileName, contentType, size}), as a JSON array, and
-- `htmlBody` as requested.
ALTER TABLE messages ADD COLUMN attachments jsonb NOT NULL DEFAULT '[]';
ALTER TABLE messages ADD COLUMN html_body text;

-- The files themselves, written in the message's own transaction. `secret` keys the expiring
-- tokens of the media URLs a provider fetches them by.
CREATE TABLE attachments (
    uuid          uuid PRIMARY KEY,
    message_uuid  uuid NOT NULL REFERENCES messages(uuid),
    position      integer NOT NULL,
    file_name     text NOT NULL,
    content_type  text NOT NULL,
    secret        bytea NOT NULL,
    content       bytea NOT NULL
);
CREATE INDEX attachments_by_message ON attachments(message_uuid, position);

-- What the outbox provider would have handed over for an email: its HTML part and the files
-- attached ({attachmentUUID, fileName, contentType, size}).
ALTER TABLE outbox ADD COLUMN html_body text;
ALTER TABLE outbox ADD COLUMN attachments jsonb NOT NULL DEFAULT '[]';
