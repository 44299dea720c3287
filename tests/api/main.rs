//! Herald's HTTP API, driven over real HTTP against a real server on port 0 with a fresh
//! database per test: SQLite, or PostgreSQL with `HERALD_TEST_STORE=postgres`.

#[path = "../support/fake_postmark.rs"]
mod fake_postmark;
#[path = "../support/fake_smtp.rs"]
mod fake_smtp;
#[path = "../support/fake_twilio.rs"]
mod fake_twilio;
mod helpers;
#[path = "../support/postgres.rs"]
mod postgres_support;
mod receiver;
mod send_support;

mod admin;
mod admin_actions;
mod admin_callbacks;
mod admin_consent;
mod admin_queue;
mod admin_read;
mod attachments;
mod authentication;
mod bad_input;
mod check_order;
mod compliance;
mod customers;
mod demo;
mod docs;
mod foundation_smoke;
mod in_doubt;
mod inbound_media;
mod locks_and_associates;
mod metrics;
mod nodes;
mod one_recipient;
mod optout;
mod postmark_flow;
mod quiet_hours;
mod send_delivery;
mod send_errors;
mod send_examples;
mod sender_numbers;
mod smtp_flow;
mod sync_outcomes;
mod tenant_isolation;
mod twilio_flow;
