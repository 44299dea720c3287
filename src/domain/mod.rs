//! Pure types and rules, no I/O. Every value here was parsed once at the edge; the rest of
//! Herald cannot hold an invalid phone number, email address or grant.

pub mod attachment;
pub mod blacklist;
pub mod codes;
pub mod compose;
pub mod credential;
pub mod customer;
pub mod directory;
pub mod email;
pub mod keywords;
pub mod media_token;
pub mod message;
pub mod new_message;
pub mod optout;
pub mod phone;
pub mod policy;
pub mod quiet_hours;
pub mod report;
pub mod retry_schedule;
pub mod send_request;

pub use email::EmailAddress;
pub use phone::PhoneNumber;
