-- Herald's directory: dealers, departments, users, credentials, customers and compliance state.
-- The same tables and columns as the SQLite schema, in PostgreSQL's own types: uuid, timestamptz
-- (kept to the millisecond by the store), jsonb, boolean.

CREATE TABLE dealers (
    uuid        uuid PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE departments (
    uuid              uuid PRIMARY KEY,
    dealer_uuid       uuid NOT NULL REFERENCES dealers(uuid),
    name              text NOT NULL,
    settings          jsonb NOT NULL,  -- DepartmentSettings
    default_user_uuid uuid NOT NULL,
    created_at        timestamptz NOT NULL
);
CREATE INDEX departments_by_dealer ON departments(dealer_uuid);

CREATE TABLE users (
    uuid            uuid PRIMARY KEY,
    department_uuid uuid NOT NULL REFERENCES departments(uuid),
    first_name      text NOT NULL,
    last_name       text NOT NULL,
    email           text,
    can_text        boolean NOT NULL,
    can_email       boolean NOT NULL,
    is_default      boolean NOT NULL,
    created_at      timestamptz NOT NULL
);
CREATE INDEX users_by_department ON users(department_uuid);
CREATE UNIQUE INDEX users_one_default_per_department ON users(department_uuid) WHERE is_default;

CREATE TABLE credentials (
    username        text PRIMARY KEY,
    secret_salt     bytea NOT NULL,
    secret_hash     bytea NOT NULL,  -- HMAC-SHA256(secret_salt, password)
    webhook_secret  text NOT NULL,
    created_at      timestamptz NOT NULL,
    revoked_at      timestamptz
);

CREATE TABLE grants (
    username     text NOT NULL REFERENCES credentials(username) ON DELETE CASCADE,
    scope        text NOT NULL,
    level        text NOT NULL,
    target_uuid  uuid NOT NULL,
    PRIMARY KEY (username, scope, level, target_uuid)
);

CREATE TABLE customers (
    uuid          uuid PRIMARY KEY,
    dealer_uuid   uuid NOT NULL REFERENCES dealers(uuid),
    first_name    text,
    last_name     text,
    company       text,
    customer_key  text,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX customers_by_dealer_key ON customers(dealer_uuid, customer_key);

CREATE TABLE customer_phones (
    customer_uuid  uuid NOT NULL REFERENCES customers(uuid) ON DELETE CASCADE,
    position       integer NOT NULL,
    phone_number   text NOT NULL,  -- E.164
    label          text NOT NULL,
    ok_to_text     boolean NOT NULL,
    is_preferred   boolean NOT NULL,
    PRIMARY KEY (customer_uuid, position)
);
CREATE INDEX customer_phones_by_number ON customer_phones(phone_number);

CREATE TABLE customer_emails (
    customer_uuid  uuid NOT NULL REFERENCES customers(uuid) ON DELETE CASCADE,
    position       integer NOT NULL,
    email_address  text NOT NULL,  -- lower-cased
    label          text NOT NULL,
    ok_to_email    boolean NOT NULL,
    do_not_cc      boolean NOT NULL,
    is_preferred   boolean NOT NULL,
    PRIMARY KEY (customer_uuid, position)
);
CREATE INDEX customer_emails_by_address ON customer_emails(email_address);

-- No row, or a NOT_SET row without times, means NOT_SET.
CREATE TABLE opt_states (
    dealer_uuid         uuid NOT NULL,
    phone_number        text NOT NULL,
    state               text NOT NULL CHECK (state IN ('OPTED_IN', 'OPTED_OUT', 'NOT_SET')),
    changed_at          timestamptz,
    optin_requested_at  timestamptz,
    PRIMARY KEY (dealer_uuid, phone_number)
);

CREATE TABLE opt_events (
    id            bigserial PRIMARY KEY,
    dealer_uuid   uuid NOT NULL,
    phone_number  text NOT NULL,
    event         text NOT NULL,
    source        text NOT NULL,
    state         text NOT NULL,  -- the state after the event
    at            timestamptz NOT NULL
);
CREATE INDEX opt_events_by_number ON opt_events(dealer_uuid, phone_number, id);

CREATE TABLE customer_locks (
    customer_uuid  uuid PRIMARY KEY,
    user_uuid      uuid NOT NULL,
    expires_at     timestamptz NOT NULL
);

CREATE TABLE blacklist (
    dealer_uuid  uuid NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('EMAIL', 'DOMAIN')),
    value        text NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (dealer_uuid, kind, value)
);
