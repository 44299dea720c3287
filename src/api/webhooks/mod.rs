//! Where providers call Herald back: delivery receipts and inbound texts. Each endpoint proves
//! the caller is the provider (Twilio's request signature, Postmark's Basic auth) before it
//! reads anything, then hands receipts to the deliverer and inbound texts to
//! `service::inbound`, the same paths the outbox provider and `/dev/inbound` use.

pub mod postmark;
pub mod twilio;
