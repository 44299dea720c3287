//! What an operator reads first: one line saying what this Herald is running, and a warning
//! for each protocol whose messages go nowhere (the `outbox`).

use std::net::SocketAddr;
use std::str::FromStr;

use crate::config::{Backend, DatabaseUrl, EmailProviderKind, Settings, TextProviderKind};

/// Logs the start-up line (the event "herald listening") and the outbox warnings.
pub fn announce(settings: &Settings, address: SocketAddr, max_connections: usize) {
    let text = match settings.text.provider {
        TextProviderKind::Twilio => "twilio",
        TextProviderKind::Outbox => "outbox",
    };
    let email = match settings.email.provider {
        EmailProviderKind::Postmark => "postmark",
        EmailProviderKind::Smtp => "smtp",
        EmailProviderKind::Outbox => "outbox",
    };
    tracing::info!(
        %address,
        store = describe_store(&settings.database_url).as_str(),

        text_provider = text,
        email_provider = email,
        admin_api = if settings.admin_token().is_some() { "on" } else { "off" },
        delivery_workers = settings.delivery.workers,
        callback_workers = settings.callbacks.workers,
        max_connections,
        "herald listening"
    );
    for (protocol, provider, key) in [
        ("TEXT", text, "[text] provider"),
        ("EMAIL", email, "[email] provider"),
    ] {
        if provider == "outbox" {
            tracing::warn!(
                protocol,
                "{protocol} messages use the outbox provider: nothing leaves this machine, and \
                 they are reported DELIVERED once kept in the database (GET /dev/outbox); set \
                 {key} to reach real customers"
            );
        }
    }
}

/// The store as an operator names it: the SQLite file, or PostgreSQL's host, port and
/// database. Never a user or password.
pub fn describe_store(url: &DatabaseUrl) -> String {
    match url.backend() {
        Ok(Backend::Sqlite) => match sqlx::sqlite::SqliteConnectOptions::from_str(url.expose()) {
            // Absolute: a relative path depends on a working directory the operator may not
            // know (a service manager's).
            Ok(options) => {
                let file = options.get_filename();
                let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
                format!("sqlite {}", file.display())
            }
            Err(_) => "sqlite (unreadable URL)".to_string(),
        },
        Ok(Backend::Postgres) => match sqlx::postgres::PgConnectOptions::from_str(url.expose()) {
            Ok(options) => format!(
                "postgresql {}:{}/{}",
                options.get_host(),
                options.get_port(),
                options.get_database().unwrap_or("(default database)")
            ),
            Err(_) => "postgresql (unreadable URL)".to_string(),
        },
        Err(_) => "unknown".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_is_named_without_secrets() {
        let pg = DatabaseUrl::new("postgres://herald:hunter2@db.internal:5433/herald_prod");
        assert_eq!(
            describe_store(&pg),
            "postgresql db.internal:5433/herald_prod"
        );
        let sqlite = DatabaseUrl::new("sqlite:///var/lib/herald/herald.db?mode=rwc");
        assert_eq!(describe_store(&sqlite), "sqlite /var/lib/herald/herald.db");
        let relative = DatabaseUrl::new("sqlite://herald.db");
        let here = std::env::current_dir().unwrap().join("herald.db");
        assert_eq!(
            describe_store(&relative),
            format!("sqlite {}", here.display())
        );
    }
}
