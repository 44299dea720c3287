-- Messages and everything that moves them: delivery jobs (written with the message, in one
-- transaction), attempts, callbacks, idempotency keys, threads and the outbox provider's log.

-- Kept in step with settings.textSenderNumber, to route inbound texts.
ALTER TABLE departments ADD COLUMN text_sender_number TEXT;
UPDATE departments SET text_sender_number = json_extract(settings, '$.textSenderNumber');
CREATE INDEX departments_by_sender ON departments(text_sender_number);

CREATE TABLE messages (
    uuid                 TEXT PRIMARY KEY,
    dealer_uuid          TEXT NOT NULL,
    department_uuid      TEXT NOT NULL,
    customer_uuid        TEXT,
    user_uuid            TEXT,
    credential           TEXT,
    direction            TEXT NOT NULL,
    protocol             TEXT NOT NULL,
    purpose              TEXT NOT NULL,
    is_manual            INTEGER NOT NULL,
    body                 TEXT NOT NULL,
    subject              TEXT,
    recipient            TEXT NOT NULL,
    cc                   TEXT NOT NULL,  -- JSON array
    bcc                  TEXT NOT NULL,  -- JSON array
    options              TEXT NOT NULL,  -- JSON SendOptions
    override_optout      INTEGER NOT NULL,
    callback_url         TEXT,
    callback_metadata    TEXT NOT NULL,  -- JSON object
    request_uuid         TEXT NOT NULL,
    status               TEXT NOT NULL,
    error_code           TEXT,
    error_description    TEXT,
    warnings             TEXT NOT NULL,  -- JSON array
    provider_message_id  TEXT,
    composed_body        TEXT,
    sender               TEXT,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX messages_by_thread ON messages(department_uuid, customer_uuid, created_at DESC, uuid DESC);
CREATE INDEX messages_by_provider_id ON messages(provider_message_id) WHERE provider_message_id IS NOT NULL;

-- A row exists while the message still has delivery work to do.
CREATE TABLE delivery_jobs (
    message_uuid      TEXT PRIMARY KEY REFERENCES messages(uuid),
    due_at            INTEGER NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 0,
    lease_id          TEXT,
    lease_expires_at  INTEGER
);
CREATE INDEX delivery_jobs_by_due ON delivery_jobs(due_at);

CREATE TABLE delivery_attempts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    message_uuid  TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    outcome       TEXT NOT NULL,
    error_code    TEXT,
    detail        TEXT
);
CREATE INDEX delivery_attempts_by_message ON delivery_attempts(message_uuid, id);

CREATE TABLE callbacks (
    webhook_id        TEXT PRIMARY KEY,
    message_uuid      TEXT NOT NULL,
    seq               INTEGER NOT NULL,
    url               TEXT NOT NULL,
    credential        TEXT NOT NULL,
    payload           TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('PENDING', 'DELIVERED', 'FAILED')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    due_at            INTEGER NOT NULL,
    lease_id          TEXT,
    lease_expires_at  INTEGER,
    last_result       TEXT,
    created_at        INTEGER NOT NULL,
    UNIQUE (message_uuid, seq)
);
CREATE INDEX callbacks_pending_by_due ON callbacks(due_at) WHERE state = 'PENDING';

CREATE TABLE idempotency_keys (
    credential       TEXT NOT NULL,
    key              TEXT NOT NULL,
    request_hash     TEXT NOT NULL,
    message_uuid     TEXT NOT NULL,
    response_status  INTEGER,
    response_body    TEXT,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (credential, key)
);

CREATE TABLE threads (
    department_uuid  TEXT NOT NULL,
    customer_uuid    TEXT NOT NULL,
    owner_user_uuid  TEXT NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (department_uuid, customer_uuid)
);

-- One entry per message: a step retried after a crash never "sends" twice.
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    message_uuid  TEXT NOT NULL UNIQUE,
    protocol      TEXT NOT NULL,
    sender        TEXT NOT NULL,
    recipient     TEXT NOT NULL,
    cc            TEXT NOT NULL,
    bcc           TEXT NOT NULL,
    subject       TEXT,
    body          TEXT NOT NULL,
    media_urls    TEXT NOT NULL,
    sent_at       INTEGER NOT NULL
);
