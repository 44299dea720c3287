//! The operator reads back what Herald holds (SPEC 8, admin read API): dealers, a department
//! with its settings and users, credentials (never a secret), the message log and one message
//! with its attempts and callbacks. Every list answers `{items, nextPageToken}`, paged as
//! src/api/admin_paging.rs describes.
//!
//! This file holds the read routes; the handlers live in `admin_read/`, one file for each
//! thing read: `dealers.rs`, `departments.rs`, `credentials.rs` and `messages.rs`. The routes
//! stay in this file, where the OpenAPI test's route scan reads them.

mod credentials;
mod dealers;
mod departments;
mod messages;

use axum::Router;
use axum::routing::get;

pub(crate) use super::admin_paging::PageParams;
use super::state::AppState;
pub(crate) use credentials::credential_list;
use credentials::list_credentials;
pub(crate) use dealers::dealer_list;
use dealers::{list_dealers, show_dealer};
use departments::show_department;
pub use messages::{MessageParams, MessageReply};
use messages::{list_messages, show_message};
pub(crate) use messages::{message_detail, message_log, message_reply, no_such_message};

/// The read routes, merged into the admin router (`/admin/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dealers", get(list_dealers))
        .route("/dealers/{dealer}", get(show_dealer))
        .route("/departments/{department}", get(show_department))
        .route("/credentials", get(list_credentials))
        .route("/messages", get(list_messages))
        .route("/messages/{message}", get(show_message))
}
