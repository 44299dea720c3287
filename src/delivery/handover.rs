//! The point in a delivery step after which the next message to the same recipient may go.
//!
//! A lane (one recipient's claimed messages) hands its messages to the provider one after
//! another, in the order accepted. The next message need not wait for this one's result to be
//! durable as well: it may start once this one's provider has answered and whatever that answer
//! changes for the recipient (an opt-out the carrier reported) is recorded. Then the result of
//! one message is written while the next is being sent, and both share a commit.

use tokio::sync::oneshot;

/// Held by a step; [`Handover::release`] (or dropping it) lets the lane's next message go.
#[derive(Debug, Default)]
pub struct Handover(Option<oneshot::Sender<()>>);

/// Awaited by the lane before it starts the next message.
pub type HandedOver = oneshot::Receiver<()>;

impl Handover {
    /// A step that no other message waits for (an inline send).
    pub fn none() -> Self {
        Self(None)
    }

    /// A step the lane's next message waits for, and what the lane awaits.
    pub fn pair() -> (Self, HandedOver) {
        let (tx, rx) = oneshot::channel();
        (Self(Some(tx)), rx)
    }

    /// The next message may go now.
    pub fn release(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}
