//! Upgrading a database from before a sender number was kept to one dealer: two dealers may
//! already text from one number. The migration must not fail on it; those departments keep
//! their number, the oldest department's dealer owns it, nobody else can take it anew, and a
//! STOP to it reaches every dealer texting from it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use herald::domain::PhoneNumber;
use herald::domain::directory::{Dealer, Department, DepartmentSettings, User};
use herald::domain::optout::OptState;
use herald::service::inbound::{self, InboundText};
use herald::store::postgres::PgStore;
use herald::store::sqlite::SqliteStore;
use herald::store::{Lifecycle, Store, StoreError};
use sqlx::migrate::Migrator;
use time::OffsetDateTime;
use tokio::sync::Notify;
use uuid::Uuid;

const SHARED: &str = "+14155550100";
const BRAVO_ONLY: &str = "+14155550199";
const CUSTOMER: &str = "+14155552671";

/// The dealers and departments written before the upgrade.
struct Legacy {
    acme: Uuid,
    bravo: Uuid,
    /// Bravo's department, texting from [`SHARED`] like Acme's older one.
    bravo_shared: Uuid,
}

impl Legacy {
    fn new() -> Self {
        Self {
            acme: Uuid::new_v4(),
            bravo: Uuid::new_v4(),
            bravo_shared: Uuid::new_v4(),
        }
    }
}

/// A copy of `backend`'s migrations without the one that keeps numbers to one dealer.
fn migrations_before_sender_numbers(backend: &str) -> tempfile::TempDir {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let copy = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.contains("sender_numbers") {
            std::fs::copy(&path, copy.path().join(&name)).unwrap();
        }
    }
    copy
}

async fn old_migrator(backend: &str) -> (Migrator, tempfile::TempDir) {
    let dir = migrations_before_sender_numbers(backend);
    let migrator = Migrator::new(Path::new(dir.path())).await.unwrap();
    (migrator, dir)
}

fn settings(number: &str) -> String {
    format!(r#"{{"textSenderNumber": "{number}"}}"#)
}

/// Checks, through the upgraded store, everything the module's doc promises.
async fn upgraded_store_keeps_and_guards_the_shared_number(store: Arc<dyn Store>, l: &Legacy) {
    let acme = Dealer {
        uuid: l.acme,
        name: "Acme Motors".into(),
    };
    let bravo = Dealer {
        uuid: l.bravo,
        name: "Bravo Autos".into(),
    };
    // Bravo's department keeps its number and can still be edited around it.
    let mut kept = store.department(l.bravo_shared).await.unwrap().unwrap();
    assert_eq!(
        kept.settings.text_sender_number.as_ref().unwrap().as_str(),
        SHARED
    );
    kept.name = "Front Desk".into();
    store.update_department(&kept).await.unwrap();
    // The shared number is Acme's (its department is older): Bravo cannot take it anew.
    assert!(matches!(
        new_department(store.as_ref(), &bravo, SHARED).await,
        Err(StoreError::SenderNumberInUse(_))
    ));
    new_department(store.as_ref(), &acme, SHARED).await.unwrap();
    // A number only Bravo texted from is Bravo's.
    assert!(matches!(
        new_department(store.as_ref(), &acme, BRAVO_ONLY).await,
        Err(StoreError::SenderNumberInUse(_))
    ));
    // A STOP to the shared number opts the customer out at both dealers.
    let text = InboundText {
        from: PhoneNumber::parse(CUSTOMER).unwrap(),
        to: PhoneNumber::parse(SHARED).unwrap(),
        body: "STOP".into(),
        provider_message_id: None,
        attachments: Vec::new(),
    };
    inbound::receive(&store, &Notify::new(), text, OffsetDateTime::now_utc())
        .await
        .unwrap()
        .expect("routed to a department");
    let customer = PhoneNumber::parse(CUSTOMER).unwrap();
    for dealer in [l.acme, l.bravo] {
        assert_eq!(
            store.opt_status(dealer, &customer).await.unwrap().state,
            OptState::OptedOut,
            "dealer {dealer}"
        );
    }
}

async fn new_department(
    store: &dyn Store,
    dealer: &Dealer,
    number: &str,
) -> Result<Department, StoreError> {
    let uuid = Uuid::new_v4();
    let user = User::default_for(dealer, uuid, "Sales");
    let department = Department {
        uuid,
        dealer_uuid: dealer.uuid,
        name: "Sales".into(),
        settings: DepartmentSettings {
            text_sender_number: Some(PhoneNumber::parse(number).unwrap()),
            ..DepartmentSettings::default()
        },
        default_user_uuid: user.uuid,
    };
    store
        .insert_department(&department, &user, OffsetDateTime::now_utc())
        .await?;
    Ok(department)
}

#[tokio::test]
async fn sqlite_upgrade_keeps_numbers_two_dealers_share_and_refuses_new_ones() {
    // Arrange: a database at the schema before the rule, with Acme and Bravo sharing a number.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("legacy.db").display());
    let l = Legacy::new();
    {
        let options = url
            .parse::<sqlx::sqlite::SqliteConnectOptions>()
            .unwrap()
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        let (migrator, _copy) = old_migrator("sqlite").await;
        migrator.run(&pool).await.unwrap();
        for (dealer, name) in [(l.acme, "Acme Motors"), (l.bravo, "Bravo Autos")] {
            sqlx::query("INSERT INTO dealers (uuid, name, created_at) VALUES ($1, $2, 0)")
                .bind(dealer.to_string())
                .bind(name)
                .execute(&pool)
                .await
                .unwrap();
        }
        let departments = [
            (Uuid::new_v4(), l.acme, SHARED, 1_000),
            (l.bravo_shared, l.bravo, SHARED, 2_000),
            (Uuid::new_v4(), l.bravo, BRAVO_ONLY, 3_000),
        ];
        for (uuid, dealer, number, created_at) in departments {
            sqlx::query(
                "INSERT INTO departments (uuid, dealer_uuid, name, settings, default_user_uuid, created_at, text_sender_number)
                 VALUES ($1, $2, 'Service', $3, $4, $5, $6)",
            )
            .bind(uuid.to_string())
            .bind(dealer.to_string())
            .bind(settings(number))
            .bind(Uuid::new_v4().to_string())
            .bind(created_at as i64)
            .bind(number)
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;
    }

    // Act: Herald's own migrations bring it up to date.
    let store = SqliteStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();

    // Assert
    upgraded_store_keeps_and_guards_the_shared_number(Arc::new(store), &l).await;
}

#[tokio::test]
async fn postgres_upgrade_keeps_numbers_two_dealers_share_and_refuses_new_ones() {
    let Some((url, guard)) = crate::postgres_support::fresh_database_url().await else {
        return;
    };
    let l = Legacy::new();
    {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let (migrator, _copy) = old_migrator("postgres").await;
        migrator.run(&pool).await.unwrap();
        for (dealer, name) in [(l.acme, "Acme Motors"), (l.bravo, "Bravo Autos")] {
            sqlx::query("INSERT INTO dealers (uuid, name, created_at) VALUES ($1, $2, now())")
                .bind(dealer)
                .bind(name)
                .execute(&pool)
                .await
                .unwrap();
        }
        let departments = [
            (Uuid::new_v4(), l.acme, SHARED, 3),
            (l.bravo_shared, l.bravo, SHARED, 2),
            (Uuid::new_v4(), l.bravo, BRAVO_ONLY, 1),
        ];
        for (uuid, dealer, number, hours_ago) in departments {
            sqlx::query(
                "INSERT INTO departments (uuid, dealer_uuid, name, settings, default_user_uuid, created_at, text_sender_number)
                 VALUES ($1, $2, 'Service', $3::jsonb, $4, now() - make_interval(hours => $5), $6)",
            )
            .bind(uuid)
            .bind(dealer)
            .bind(settings(number))
            .bind(Uuid::new_v4())
            .bind(hours_ago)
            .bind(number)
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;
    }

    let store = PgStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();

    upgraded_store_keeps_and_guards_the_shared_number(Arc::new(store), &l).await;
    drop(guard);
}
