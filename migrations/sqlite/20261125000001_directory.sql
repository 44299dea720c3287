-- Herald's directory: dealers, departments, users, credentials, customers and compliance state.
-- Times are Unix milliseconds (UTC); UUIDs are hyphenated text so the file reads well in sqlite3.

CREATE TABLE dealers (
    uuid        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE departments (
    uuid              TEXT PRIMARY KEY,
    dealer_uuid       TEXT NOT NULL REFERENCES dealers(uuid),
    name              TEXT NOT NULL,
    settings          TEXT NOT NULL,  -- JSON, DepartmentSettings
    default_user_uuid TEXT NOT NULL,
    created_at        INTEGER NOT NULL
);
CREATE INDEX departments_by_dealer ON departments(dealer_uuid);

CREATE TABLE users (
    uuid            TEXT PRIMARY KEY,
    department_uuid TEXT NOT NULL REFERENCES departments(uuid),
    first_name      TEXT NOT NULL,
    last_name       TEXT NOT NULL,
    email           TEXT,
    can_text        INTEGER NOT NULL,
    can_email       INTEGER NOT NULL,
    is_default      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX users_by_department ON users(department_uuid);
CREATE UNIQUE INDEX users_one_default_per_department ON users(department_uuid) WHERE is_default = 1;

CREATE TABLE credentials (
    username        TEXT PRIMARY KEY,
    secret_salt     BLOB NOT NULL,
    secret_hash     BLOB NOT NULL,  -- HMAC-SHA256(secret_salt, password)
    webhook_secret  TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    revoked_at      INTEGER
);

CREATE TABLE grants (
    username     TEXT NOT NULL REFERENCES credentials(username) ON DELETE CASCADE,
    scope        TEXT NOT NULL,
    level        TEXT NOT NULL,
    target_uuid  TEXT NOT NULL,
    PRIMARY KEY (username, scope, level, target_uuid)
);

CREATE TABLE customers (
    uuid          TEXT PRIMARY KEY,
    dealer_uuid   TEXT NOT NULL REFERENCES dealers(uuid),
    first_name    TEXT,
    last_name     TEXT,
    company       TEXT,
    customer_key  TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX customers_by_dealer_key ON customers(dealer_uuid, customer_key);

CREATE TABLE customer_phones (
    customer_uuid  TEXT NOT NULL REFERENCES customers(uuid) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    phone_number   TEXT NOT NULL,  -- E.164
    label          TEXT NOT NULL,
    ok_to_text     INTEGER NOT NULL,
    is_preferred   INTEGER NOT NULL,
    PRIMARY KEY (customer_uuid, position)
);
CREATE INDEX customer_phones_by_number ON customer_phones(phone_number);

CREATE TABLE customer_emails (
    customer_uuid  TEXT NOT NULL REFERENCES customers(uuid) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    email_address  TEXT NOT NULL,  -- lower-cased
    label          TEXT NOT NULL,
    ok_to_email    INTEGER NOT NULL,
    do_not_cc      INTEGER NOT NULL,
    is_preferred   INTEGER NOT NULL,
    PRIMARY KEY (customer_uuid, position)
);
CREATE INDEX customer_emails_by_address ON customer_emails(email_address);

-- No row means NOT_SET.
CREATE TABLE opt_states (
    dealer_uuid         TEXT NOT NULL,
    phone_number        TEXT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('OPTED_IN', 'OPTED_OUT', 'NOT_SET')),
    changed_at          INTEGER,
    optin_requested_at  INTEGER,
    PRIMARY KEY (dealer_uuid, phone_number)
);

CREATE TABLE opt_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    dealer_uuid   TEXT NOT NULL,
    phone_number  TEXT NOT NULL,
    event         TEXT NOT NULL,
    source        TEXT NOT NULL,
    state         TEXT NOT NULL,  -- the state after the event
    at            INTEGER NOT NULL
);
CREATE INDEX opt_events_by_number ON opt_events(dealer_uuid, phone_number, id);

CREATE TABLE customer_locks (
    customer_uuid  TEXT PRIMARY KEY,
    user_uuid      TEXT NOT NULL,
    expires_at     INTEGER NOT NULL
);

CREATE TABLE blacklist (
    dealer_uuid  TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('EMAIL', 'DOMAIN')),
    value        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (dealer_uuid, kind, value)
);
