//! Where providers call Herald back: delivery receipts, inbound texts and emails. Each endpoint proves
//! the caller is the provider (Twilio's request signature, Postmark's Basic auth) before it
//! reads anything, then hands receipts to the deliverer and inbound texts to
//! `service::inbound`, the same paths the outbox provider and `/dev/inbound` use.

pub mod postmark;
pub mod postmark_inbound;
pub mod twilio;
