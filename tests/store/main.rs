//! One conformance suite for every store backend: the same tests, the same expectations.
//! Each backend gets a fresh database per test.

mod admin;
mod cache;
mod corrupt_rows;
mod legacy_senders;
#[path = "../support/postgres.rs"]
mod postgres_support;
mod recovery;
mod suite;
mod wakeups;

use std::sync::Arc;

use herald::store::postgres::PgStore;
use herald::store::sqlite::SqliteStore;
use herald::store::{CachedStore, Lifecycle, Store};

/// A fresh, migrated SQLite store in its own temporary directory.
pub async fn sqlite_store() -> Option<(Arc<dyn Store>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("conformance.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    Some((Arc::new(store), dir))
}

/// A fresh, migrated PostgreSQL store in its own database; `None` when the tests skip
/// PostgreSQL (see [`postgres_support`]).
pub async fn postgres_store() -> Option<(Arc<dyn Store>, postgres_support::DropGuard)> {
    let (url, guard) = postgres_support::fresh_database_url().await?;
    let store = PgStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    Some((Arc::new(store), guard))
}

/// A backend behind the directory cache, which must change nothing the suite can see.
pub async fn cached<G>(made: Option<(Arc<dyn Store>, G)>) -> Option<(Arc<dyn Store>, G)> {
    let (store, guard) = made?;
    Some((Arc::new(CachedStore::new(store)) as Arc<dyn Store>, guard))
}

/// Instantiates the tests listed for one backend. Multi-threaded, so the concurrency tests
/// race for real.
macro_rules! conformance {
    ($backend:ident, $make:expr, [$($test:ident),* $(,)?]) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let Some((store, guard)) = $make.await else { return };
                    crate::suite::$test(crate::suite::StoreArg::from_store(&store)).await;
                    // The store's connections go before its database does.
                    drop(store);
                    drop(guard);
                }
            )*
        }
    };
}

/// Every test of [`suite`], for one backend.
macro_rules! every_test {
    ($backend:ident, $make:expr) => {
        conformance!(
            $backend,
            $make,
            [
                department_comes_with_its_default_user,
                credentials_upsert_and_revoke,
                api_numbers_start_not_set_and_imported_ones_opted_in,
                import_never_undoes_an_opt_out,
                opt_events_are_recorded_in_order,
                consent_history_keeps_causes,
                opt_state_is_per_dealer,
                customer_update_replaces_contacts,
                customer_uuid_of_another_dealer_is_refused,
                search_matches_names_keys_phones_and_emails,
                locks_conflict_extend_and_expire,
                blacklist_matches_address_and_domain,
                ok_to_email_is_set_per_dealer,
                jobs_are_leased_to_one_claimer_and_retaken_after_expiry,
                a_retried_job_waits_for_its_due_time,
                a_retaken_or_timed_out_job_is_claimed_in_doubt,
                callbacks_of_one_message_are_claimed_in_order,
                a_leased_callback_is_claimed_again_only_once_its_lease_expires,
                receipts_never_move_a_final_status_back,
                an_idempotency_key_is_claimed_once,
                concurrent_claimers_never_share_a_job,
                racing_requests_with_one_idempotency_key_accept_once,
                racing_users_never_both_hold_a_lock,
                a_sender_number_belongs_to_one_dealer,
                racing_dealers_never_both_take_a_sender_number,
                a_search_by_phone_alone_finds_only_that_phones_customer,
                concurrent_claimers_never_hold_two_callbacks_of_one_message,
                an_opt_out_racing_an_import_always_wins,
                an_expired_idempotency_key_is_free,
                racing_sends_never_overfill_a_rate_window,
                racing_sends_to_many_recipients_fill_each_window_exactly,
                an_optin_request_is_claimed_once_a_day_only_for_undecided_numbers,
                an_optin_releases_the_messages_waiting_for_it_in_order,
                a_failing_accept_fails_alone_among_concurrent_ones,
                concurrent_accepts_for_one_thread_all_land,
                concurrent_accepts_read_back_exactly_as_written,
                a_failing_write_fails_alone_among_concurrent_ones,
                concurrent_delivery_results_land_as_if_one_by_one,
                a_failing_delivery_result_fails_alone_among_concurrent_ones,
                concurrent_callback_results_land_as_if_one_by_one,
                a_cancel_never_takes_a_job_a_worker_holds,
                a_requeue_applies_only_to_failed_or_expired_messages,
                a_failed_callback_is_redelivered_with_its_webhook_id,
                queue_figures_count_each_job_once,
            ]
        );
    };
}

every_test!(sqlite, crate::sqlite_store());
every_test!(postgres, crate::postgres_store());
every_test!(cached_sqlite, crate::cached(crate::sqlite_store().await));
every_test!(
    cached_postgres,
    crate::cached(crate::postgres_store().await)
);
