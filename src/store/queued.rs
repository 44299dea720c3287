//! What the batch writers of both backends take, owned so it can wait in a queue: a delivery
//! step's result and a rate-window reservation; and how a batch of reservations is split into
//! rounds.

use std::collections::HashMap;
use std::time::Duration;

use time::OffsetDateTime;
use uuid::Uuid;

use super::{AttemptRecord, ClaimedJob, JobNext, MessageUpdate, SendReservation};

/// One delivery step's result, as `finish_job` takes it.
pub(crate) struct Finish {
    pub job: ClaimedJob,
    pub update: MessageUpdate,
    pub attempts: Vec<AttemptRecord>,
    pub next: JobNext,
    pub now: OffsetDateTime,
}

/// A reservation as `reserve_send` takes it.
pub(crate) struct Reserve {
    pub message: Uuid,
    pub department: Uuid,
    pub recipient: String,
    pub manual: bool,
    pub windows: Vec<(Duration, u32)>,
    pub now: OffsetDateTime,
}

impl Reserve {
    pub fn of(r: &SendReservation<'_>) -> Self {
        Self {
            message: r.message,
            department: r.department,
            recipient: r.recipient.to_string(),
            manual: r.manual,
            windows: r.windows.to_vec(),
            now: r.now,
        }
    }
}

/// The indexes of `batch` in rounds: round k holds the k-th reservation of each (department,
/// recipient, manual) in the order given. A statement does not see its own inserts, so one
/// statement per round decides each reservation with the earlier ones of its recipient
/// already counted, exactly as one by one.
pub(crate) fn rounds(batch: &[&Reserve]) -> Vec<Vec<usize>> {
    let mut seen: HashMap<(Uuid, &str, bool), usize> = HashMap::new();
    let mut rounds: Vec<Vec<usize>> = Vec::new();
    for (i, r) in batch.iter().enumerate() {
        let k = seen
            .entry((r.department, r.recipient.as_str(), r.manual))
            .or_insert(0);
        if rounds.len() <= *k {
            rounds.push(Vec::new());
        }
        rounds[*k].push(i);
        *k += 1;
    }
    rounds
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reserve(recipient: &str, manual: bool) -> Reserve {
        Reserve {
            message: Uuid::new_v4(),
            department: Uuid::nil(),
            recipient: recipient.into(),
            manual,
            windows: vec![],
            now: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn each_recipients_reservations_go_one_per_round_in_order() {
        let batch = [
            reserve("+1", true),
            reserve("+2", true),
            reserve("+1", true),
            reserve("+1", false),
            reserve("+1", true),
        ];
        let refs: Vec<&Reserve> = batch.iter().collect();
        assert_eq!(rounds(&refs), vec![vec![0, 1, 3], vec![2], vec![4]]);
    }
}
