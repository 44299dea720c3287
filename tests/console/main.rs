//! The operator console (SPEC 8) in a real browser: Debian's chromium, headless, driven over
//! WebDriver by chromedriver, against a real Herald on port 0 with a fresh database per test:
//! SQLite, or PostgreSQL with `HERALD_TEST_STORE=postgres`. Each page's screenshot is written
//! to docs/console/.

#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../support/postgres.rs"]
mod postgres_support;
#[path = "../api/receiver.rs"]
mod receiver;
#[path = "../api/send_support.rs"]
mod send_support;

mod actions;
mod browser;
mod callbacks;
mod consent;
mod cross_site;
mod directory;
mod messages;
mod sign_in;
