//! `herald backup FILE`: an online copy of the SQLite database, taken while Herald serves.
//!
//! `VACUUM INTO` reads one consistent snapshot (a read transaction, which never blocks
//! Herald's writer in WAL mode) and writes it as a compact, self-contained database file with
//! no `-wal` beside it. The copy is written next to `FILE`, checked, flushed to disk and only
//! then renamed into place: `FILE` either does not exist or is a whole, checked backup.
//! PostgreSQL is backed up with its own tools (`pg_dump`), which Herald does not wrap.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::config::{Backend, DatabaseUrl};

/// What a finished backup holds.
#[derive(Debug)]
pub struct BackupReport {
    pub file: PathBuf,
    pub bytes: u64,
    pub messages: i64,
}

/// Copies the database at `url` into the new file `target`.
pub async fn backup(url: &DatabaseUrl, target: &Path) -> anyhow::Result<BackupReport> {
    if url.backend()? == Backend::Postgres {
        bail!(
            "herald backup copies an SQLite database; back up PostgreSQL with pg_dump, e.g. \
             `pg_dump --format=custom --file=herald.dump <database_url>` (see README, Running Herald)"
        );
    }
    if target.exists() {
        bail!(
            "{} already exists: a backup never overwrites a file",
            target.display()
        );
    }
    let partial = partial_path(target);
    // A leftover of an interrupted backup is ours to replace.
    let _ = std::fs::remove_file(&partial);

    let source = SqliteConnectOptions::from_str(url.expose())?
        .create_if_missing(false)
        .read_only(true)
        .busy_timeout(Duration::from_secs(10));
    let source_name = source.get_filename().display().to_string();
    let mut conn = source
        .connect()
        .await
        .with_context(|| format!("cannot open the SQLite database {source_name}"))?;
    let copied = sqlx::query("VACUUM INTO ?")
        .bind(partial.to_string_lossy().into_owned())
        .execute(&mut conn)
        .await
        .with_context(|| format!("cannot copy {source_name} into {}", partial.display()));
    conn.close().await.ok();
    if let Err(error) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(error);
    }

    let checked = check(&partial).await;
    let messages = match checked {
        Ok(messages) => messages,
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            return Err(error);
        }
    };
    std::fs::File::open(&partial)?.sync_all()?;
    std::fs::rename(&partial, target)?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The rename itself reaches the disk only with its directory.
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(BackupReport {
        file: target.to_path_buf(),
        bytes: std::fs::metadata(target)?.len(),
        messages,
    })
}

/// Opens the copy as a database of its own: its pages pass SQLite's integrity check and its
/// messages can be counted.
async fn check(copy: &Path) -> anyhow::Result<i64> {
    let mut conn = SqliteConnectOptions::new()
        .filename(copy)
        .read_only(true)
        .connect()
        .await
        .with_context(|| format!("cannot open the copy {}", copy.display()))?;
    let verdict: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await?;
    if verdict != "ok" {
        bail!(
            "the copy {} failed SQLite's integrity check: {verdict}",
            copy.display()
        );
    }
    let messages: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(&mut conn)
        .await
        .context("the copy has no messages table: is this a Herald database?")?;
    conn.close().await.ok();
    Ok(messages)
}

fn partial_path(target: &Path) -> PathBuf {
    let mut name = target
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".partial");
    target.with_file_name(name)
}
