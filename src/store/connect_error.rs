//! A database Herald cannot open, said the way an operator can act on: which database (the
//! SQLite file, or PostgreSQL's host, port and database, never a user's password), what went
//! wrong in the server's own words (without its source file and line), and what to try.
//! Each error is one message with no separate cause, so it is said once.

use std::path::Path;
use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;

use super::StoreError;
use crate::config::DatabaseUrl;

/// The SQLite file at `url` could not be opened or migrated.
pub fn sqlite(url: &DatabaseUrl, error: &StoreError) -> anyhow::Error {
    let Ok(options) = SqliteConnectOptions::from_str(url.expose()) else {
        return anyhow::anyhow!(
            "database_url is not an SQLite URL Herald can read: {}",
            cause(error)
        );
    };
    let file = options.get_filename();
    // The absolute path: a relative one is relative to a working directory the operator
    // may not know (a service manager's).
    let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let directory = file
        .parent()
        .unwrap_or(Path::new("/"))
        .display()
        .to_string();
    let file = file.display();
    // SQLite's primary result code is the low byte of the extended one.
    let primary = sqlite_code(error).map(|code| code & 0xff);
    let advice = match primary {
        Some(26) => "It is not an SQLite database: set database_url (HERALD_DATABASE_URL) to \
                     Herald's own file"
            .to_string(),
        Some(11) => "It is damaged: restore it from a backup (see herald backup)".to_string(),
        Some(5 | 6) => {
            "Another program holds a lock on it: stop it, or wait and start again".to_string()
        }
        _ => format!(
            "The directory {directory} must exist and be writable by this user (Herald \
             creates the file, and its -wal and -shm files beside it); or set database_url \
             (HERALD_DATABASE_URL) to another path"
        ),
    };
    anyhow::anyhow!(
        "cannot open the SQLite database {file}: {}. {advice}",
        cause(error)
    )
}

/// The PostgreSQL database at `url` could not be reached, opened or migrated.
pub fn postgres(url: &DatabaseUrl, error: &StoreError) -> anyhow::Error {
    let Ok(options) = PgConnectOptions::from_str(url.expose()) else {
        return anyhow::anyhow!(
            "database_url is not a PostgreSQL URL Herald can read: {}",
            cause(error)
        );
    };
    let (host, port) = (options.get_host(), options.get_port());
    let database = options.get_database().unwrap_or(options.get_username());
    let target = format!("PostgreSQL at {host}:{port}, database {database}");
    let advice = match sqlstate(error).as_deref() {
        Some("3D000") => format!(
            "Create it with `createdb -h {host} -p {port} {database}` (as a user allowed to), \
             or set database_url to an existing one"
        ),
        Some("28P01" | "28000") => {
            "Check the user and password in database_url, and the server's pg_hba.conf".into()
        }
        Some("42501") => "Grant this user the rights Herald needs on that database".into(),
        Some("57P03") => "The server is starting up or shutting down: try again shortly".into(),
        Some(_) => "Check database_url and the server's log".into(),
        None => format!(
            "Is the server running and reachable from here? (`pg_isready -h {host} -p {port}`)"
        ),
    };
    anyhow::anyhow!("cannot use {target}: {}. {advice}", cause(error))
}

fn database_error(error: &StoreError) -> Option<&dyn sqlx::error::DatabaseError> {
    match error {
        StoreError::Database(e) => e.as_database_error(),
        StoreError::Migration(sqlx::migrate::MigrateError::Execute(e)) => e.as_database_error(),
        _ => None,
    }
}

/// The server's SQLSTATE, when the server answered.
fn sqlstate(error: &StoreError) -> Option<String> {
    database_error(error)?.code().map(|c| c.into_owned())
}

/// SQLite's extended result code, when SQLite reported one.
fn sqlite_code(error: &StoreError) -> Option<i32> {
    sqlstate(error)?.parse().ok()
}

/// The cause in one line: a database's message alone (PostgreSQL's Display adds the server's
/// source line, SQLite's its code), else the error's own text without its variant's prefix.
fn cause(error: &StoreError) -> String {
    if let Some(e) = database_error(error) {
        return e.message().to_string();
    }
    match error {
        StoreError::Database(sqlx::Error::PoolTimedOut) => {
            "no connection within the timeout".into()
        }
        StoreError::Database(e) => e.to_string(),
        StoreError::Unavailable(detail) => detail.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_target_never_names_the_password() {
        let url = DatabaseUrl::new("postgres://herald:hunter2@db.internal:5433/herald_prod");
        let error = StoreError::Database(sqlx::Error::Io(
            std::io::ErrorKind::ConnectionRefused.into(),
        ));
        let said = postgres(&url, &error).to_string();
        assert!(
            said.contains("db.internal:5433, database herald_prod"),
            "{said}"
        );
        assert!(said.contains("Is the server running"), "{said}");
        assert!(!said.contains("hunter2"), "{said}");
    }

    #[test]
    fn a_relative_sqlite_file_is_named_by_its_absolute_path() {
        let url = DatabaseUrl::new("sqlite://herald.db");
        let error = StoreError::Unavailable("unable to open database file".into());
        let said = sqlite(&url, &error).to_string();
        let here = std::env::current_dir().unwrap();
        assert!(
            said.contains(&here.join("herald.db").display().to_string()),
            "{said}"
        );
        assert!(
            said.contains(&format!("The directory {} must exist", here.display())),
            "{said}"
        );
    }
}
