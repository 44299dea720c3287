//! Herald's HTTP API, driven over real HTTP against a real server on port 0 with a fresh
//! SQLite database per test.

mod helpers;
mod receiver;
mod send_support;

mod admin;
mod authentication;
mod bad_input;
mod compliance;
mod customers;
mod demo;
mod docs;
mod foundation_smoke;
mod locks_and_associates;
mod nodes;
mod optout;
mod send_delivery;
mod send_errors;
mod send_examples;
mod tenant_isolation;
