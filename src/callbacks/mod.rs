//! Client webhooks (SPEC 6): how a callback is signed, where it may be sent, and one attempt
//! at sending it. The durable queue that drives these lives in [`dispatch`].

pub mod dispatch;
pub mod guard;
pub mod sender;
pub mod signature;
