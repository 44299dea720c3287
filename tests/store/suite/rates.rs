//! Rate windows: racing sends never overfill a recipient's window.

use super::*;

pub async fn racing_sends_never_overfill_a_rate_window(store: &Arc<dyn Store>) {
    use herald::store::{Reservation, SendReservation};
    use std::time::Duration as StdDuration;
    let department = Uuid::new_v4();
    let t0 = now();
    let windows = [(StdDuration::from_secs(3600), 3u32)];
    let racers: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let r = SendReservation {
                    message: Uuid::now_v7(),
                    department,
                    recipient: "+14155550101",
                    manual: true,
                    windows: &windows,
                    now: t0,
                };
                store.reserve_send(&r).await.unwrap()
            })
        })
        .collect();
    let mut granted = 0;
    for racer in racers {
        if racer.await.unwrap() == Reservation::Granted {
            granted += 1;
        }
    }
    assert_eq!(granted, 3, "exactly the window's limit is granted");
    // Automated sends count apart from manual ones, and the window slides.
    let automated = SendReservation {
        message: Uuid::now_v7(),
        department,
        recipient: "+14155550101",
        manual: false,
        windows: &windows,
        now: t0,
    };
    assert_eq!(
        store.reserve_send(&automated).await.unwrap(),
        Reservation::Granted
    );
    let later = SendReservation {
        message: Uuid::now_v7(),
        manual: true,
        now: t0 + Duration::seconds(3601),
        ..automated
    };
    assert_eq!(
        store.reserve_send(&later).await.unwrap(),
        Reservation::Granted
    );
    let full = SendReservation {
        message: Uuid::now_v7(),
        manual: true,
        now: t0 + Duration::seconds(60),
        ..automated
    };
    match store.reserve_send(&full).await.unwrap() {
        Reservation::Refused { retry_after } => {
            assert!(
                retry_after <= StdDuration::from_secs(3600 - 59)
                    && retry_after >= StdDuration::from_secs(1)
            );
        }
        granted => panic!("the window is full, got {granted:?}"),
    }
    // A message already counted is granted again (its retry).
    let retry = SendReservation {
        now: t0 + Duration::seconds(61),
        ..later
    };
    assert_eq!(
        store.reserve_send(&retry).await.unwrap(),
        Reservation::Granted
    );
}

pub async fn racing_sends_to_many_recipients_fill_each_window_exactly(store: &Arc<dyn Store>) {
    // Forty reservations at once (on SQLite decided together), five for each of eight
    // recipients, under an hourly limit of 2 and a daily one of 3: each recipient gets exactly
    // two, and the retry of a counted message is granted again even with its window full.
    use herald::store::{Reservation, SendReservation};
    let department = Uuid::new_v4();
    let t0 = now();
    let windows = [
        (StdDuration::from_secs(3600), 2u32),
        (StdDuration::from_secs(24 * 3600), 3u32),
    ];
    let recipients: Vec<String> = (0..8).map(|i| format!("+1415555020{i}")).collect();
    let racers: Vec<_> = (0..40)
        .map(|i| {
            let (store, recipient) = (store.clone(), recipients[i % 8].clone());
            tokio::spawn(async move {
                let message = Uuid::now_v7();
                let r = SendReservation {
                    message,
                    department,
                    recipient: &recipient,
                    manual: false,
                    windows: &windows,
                    now: t0,
                };
                (i % 8, message, store.reserve_send(&r).await.unwrap())
            })
        })
        .collect();
    let mut granted: HashMap<usize, Vec<Uuid>> = HashMap::new();
    for racer in racers {
        let (recipient, message, outcome) = racer.await.unwrap();
        match outcome {
            Reservation::Granted => granted.entry(recipient).or_default().push(message),
            Reservation::Refused { retry_after } => assert!(
                retry_after >= StdDuration::from_secs(1)
                    && retry_after <= StdDuration::from_secs(3600),
                "a full hour frees up within the hour: {retry_after:?}"
            ),
        }
    }
    for (i, recipient) in recipients.iter().enumerate() {
        let mine = granted.get(&i).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(mine.len(), 2, "recipient {i}: the hour's limit exactly");
        let retry = SendReservation {
            message: mine[0],
            department,
            recipient,
            manual: false,
            windows: &windows,
            now: t0 + Duration::seconds(5),
        };
        let another = SendReservation {
            message: Uuid::now_v7(),
            ..retry
        };
        let (retried, refused) =
            tokio::join!(store.reserve_send(&retry), store.reserve_send(&another));
        assert_eq!(
            retried.unwrap(),
            Reservation::Granted,
            "recipient {i}: a retry"
        );
        assert!(
            matches!(refused.unwrap(), Reservation::Refused { .. }),
            "recipient {i}: the window stays full"
        );
    }
}
