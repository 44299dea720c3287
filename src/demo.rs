//! `herald demo`: a demo dealer with a department, a user, a customer and a credential, written
//! straight to the configured database (idempotent: fixed UUIDs, found before created), then a
//! ready-to-run `curl` of the seed's first example.
//!
//! The demo credential's password is only ever stored hashed, so each run issues it a fresh
//! one (and a fresh webhook secret) and prints it.

use std::io::Write as _;

use time::OffsetDateTime;
use uuid::{Uuid, uuid};

use crate::config::Settings;
use crate::domain::credential::{Grant, IssuedCredential, Level, Scope};
use crate::domain::customer::{
    ContactOrigin, Customer, CustomerEmail, CustomerPhone, EmailLabel, PhoneLabel,
};
use crate::domain::directory::{Dealer, Department, DepartmentSettings, User};
use crate::domain::{EmailAddress, PhoneNumber};
use crate::store::{self, Store};

pub const DEALER: Uuid = uuid!("de000000-0000-4000-8000-000000000001");
pub const DEPARTMENT: Uuid = uuid!("de000000-0000-4000-8000-000000000002");
pub const DEFAULT_USER: Uuid = uuid!("de000000-0000-4000-8000-000000000003");
pub const USER: Uuid = uuid!("de000000-0000-4000-8000-000000000004");
pub const CUSTOMER: Uuid = uuid!("de000000-0000-4000-8000-000000000005");
pub const USERNAME: &str = "demo";

const ALL_SCOPES: [Scope; 8] = [
    Scope::MessageCreate,
    Scope::MessageRead,
    Scope::CustomerSearch,
    Scope::CustomerUpdate,
    Scope::OptoutStatusRead,
    Scope::OptoutStatusUpdate,
    Scope::DefaultDealerAssociateRead,
    Scope::MessageOverrideOptout,
];

pub struct DemoCredential {
    pub username: String,
    pub password: String,
    pub webhook_secret: String,
}

/// Creates whatever of the demo directory is missing and issues the demo credential a new
/// secret.
pub async fn seed(store: &dyn Store) -> anyhow::Result<DemoCredential> {
    // `herald demo` seeds before any server (and its clock) exists: the system time.
    let now = OffsetDateTime::now_utc();
    let dealer = Dealer {
        uuid: DEALER,
        name: "Demo Motors".into(),
    };
    if store.dealer(DEALER).await?.is_none() {
        store.insert_dealer(&dealer, now).await?;
    }
    if store.department(DEPARTMENT).await?.is_none() {
        let default_user = User {
            uuid: DEFAULT_USER,
            ..User::default_for(&dealer, DEPARTMENT, "Service")
        };
        let settings = DepartmentSettings {
            text_sender_number: Some(PhoneNumber::parse("+14155550100")?),
            email_sender: Some(EmailAddress::parse("service@demo-motors.example.com")?),
            email_sender_name: Some("Demo Motors Service".into()),
            footer: Some("Demo Motors, 1 Main St, Springfield".into()),
            ..DepartmentSettings::default()
        };
        let department = Department {
            uuid: DEPARTMENT,
            dealer_uuid: DEALER,
            name: "Service".into(),
            settings,
            default_user_uuid: DEFAULT_USER,
        };
        store
            .insert_department(&department, &default_user, now)
            .await?;
    }
    if store.user(USER).await?.is_none() {
        store
            .insert_user(
                &User {
                    uuid: USER,
                    department_uuid: DEPARTMENT,
                    first_name: "Sarah".into(),
                    last_name: "Johnson".into(),
                    email: Some(EmailAddress::parse(
                        "sarah.johnson@demo-motors.example.com",
                    )?),
                    can_text: true,
                    can_email: true,
                    is_default: false,
                },
                now,
            )
            .await?;
    }
    if store.customer(DEALER, CUSTOMER).await?.is_none() {
        // Imported as from the DMS, so the number starts OPTED_IN and example 1 goes out.
        let customer = Customer {
            uuid: CUSTOMER,
            dealer_uuid: DEALER,
            first_name: Some("John".into()),
            last_name: Some("Doe".into()),
            company: None,
            customer_key: Some("DMS-1001".into()),
            time_zone: None,
            phone_numbers: vec![CustomerPhone {
                phone_number: PhoneNumber::parse("1234567890")?,
                label: PhoneLabel::Cell,
                ok_to_text: true,
                is_preferred: true,
            }],
            emails: vec![CustomerEmail {
                email_address: EmailAddress::parse("customer@example.com")?,
                label: EmailLabel::Home,
                ok_to_email: true,
                do_not_cc: false,
                is_preferred: true,
            }],
        };
        store
            .save_customer(&customer, ContactOrigin::DmsImport, now)
            .await?;
    }
    let grants = ALL_SCOPES
        .iter()
        .map(|&scope| Grant {
            scope,
            level: Level::Dealer,
            uuid: DEALER,
        })
        .collect();
    let issued = IssuedCredential::generate_for(USERNAME.into(), grants);
    store.put_credential(&issued.credential, now).await?;
    Ok(DemoCredential {
        username: issued.credential.username.clone(),
        webhook_secret: issued.credential.webhook_secret.expose().to_string(),
        password: issued.password,
    })
}

pub async fn run(settings: &Settings) -> anyhow::Result<()> {
    let store = store::connect(&settings.database_url).await?;
    store.migrate().await?;
    let credential = seed(store.as_ref()).await?;
    let base = format!("http://{}", settings.listen);
    let args: Vec<String> = std::env::args().collect();
    let herald = serve_command(&args, std::env::var_os("CARGO").is_some());
    // `writeln!`, not `println!`: a closed stdout (`herald demo | head -1`) is an error to
    // return, not a panic.
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        r#"Herald demo data is ready in {database:?}.

  dealer       {DEALER}  Demo Motors
  department   {DEPARTMENT}  Service (texts from +14155550100)
  user         {USER}  Sarah Johnson
  default user {DEFAULT_USER}
  customer     {CUSTOMER}  John Doe, +11234567890, customer@example.com

  username       {username}
  password       {password}
  webhookSecret  {secret}
  (a new password is issued each time `herald demo` runs)

Start Herald so that its callbacks may reach its own demo receiver on this machine:

  HERALD_ADMIN_TOKEN=demo-admin HERALD_CALLBACKS__ALLOW_PRIVATE_NETWORKS=true {herald}

then send the seed's example 1 (its callback goes to Herald's /dev/callbacks receiver):

curl --location --request POST '{base}/communications/department/{DEPARTMENT}/user/{USER}/customer/{CUSTOMER}/message' \
--header 'accept: application/json' \
-u "{username}:{password}" \
--header 'Content-Type: application/json' \
--data-raw '{{
"messageAttributes": {{
"body": "Hi John, your vehicle service appointment is confirmed for tomorrow at 10 AM. See you then!",
"isManual": true,
"protocol": "TEXT",
"type": "OUTGOING"
}},
"messageSendingAttributes": {{
"communicationValueOfCustomer": "1234567890",
"sendSynchronously": false,
"callbackURL": "{base}/dev/callbacks",
"callbackMetaData": {{
"appointmentId": "12345",
"source": "appointment-reminder"
}},
"addTCPAFooter": true,
"addSignature": true,
"addFooter": false,
"sendVCard": false
}}
}}'

and see what was sent, and the signed callbacks SENT and DELIVERED:

  curl -s -H 'Authorization: Bearer demo-admin' {base}/dev/outbox
  curl -s -H 'Authorization: Bearer demo-admin' {base}/dev/callbacks
"#,
        database = settings.database_url,
        username = credential.username,
        password = credential.password,
        secret = credential.webhook_secret,
    )?;
    Ok(())
}

/// The `serve` command the way this `demo` was run: `cargo run --release -- serve` under
/// cargo, else the program as it was called (`herald`, `./herald`, `/usr/bin/herald`), with
/// the same `--config`.
fn serve_command(args: &[String], under_cargo: bool) -> String {
    let program = args.first().map(String::as_str).unwrap_or("herald");
    let mut command = if under_cargo {
        let release = std::path::Path::new(program)
            .components()
            .any(|part| part.as_os_str() == "release");
        if release {
            "cargo run --release -- serve".to_string()
        } else {
            "cargo run -- serve".to_string()
        }
    } else {
        format!("{} serve", shell_word(program))
    };
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        if arg == "--config" {
            if let Some(file) = rest.next() {
                command.push_str(&format!(" --config {}", shell_word(file)));
            }
        } else if let Some(file) = arg.strip_prefix("--config=") {
            command.push_str(&format!(" --config {}", shell_word(file)));
        }
    }
    command
}

/// `word`, quoted for a POSIX shell when it holds anything but plain path characters.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::serve_command;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn under_cargo_the_command_is_cargo_run_with_the_same_profile() {
        assert_eq!(
            serve_command(&args(&["target/release/herald", "demo"]), true),
            "cargo run --release -- serve"
        );
        assert_eq!(
            serve_command(&args(&["/src/herald/target/debug/herald", "demo"]), true),
            "cargo run -- serve"
        );
    }

    #[test]
    fn as_a_binary_the_command_is_the_program_as_called() {
        assert_eq!(
            serve_command(&args(&["herald", "demo"]), false),
            "herald serve"
        );
        assert_eq!(
            serve_command(&args(&["/usr/local/bin/herald", "demo"]), false),
            "/usr/local/bin/herald serve"
        );
        assert_eq!(
            serve_command(&args(&["./my herald", "demo"]), false),
            "'./my herald' serve"
        );
    }

    #[test]
    fn the_config_file_comes_along() {
        assert_eq!(
            serve_command(
                &args(&["herald", "--config", "/etc/herald.toml", "demo"]),
                false
            ),
            "herald serve --config /etc/herald.toml"
        );
        assert_eq!(
            serve_command(&args(&["herald", "demo", "--config=it's.toml"]), false),
            "herald serve --config 'it'\\''s.toml'"
        );
    }
}
