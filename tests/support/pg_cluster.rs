//! A private PostgreSQL server of a test's own, to stop and start for real without touching
//! the machine's shared server: `initdb` into a temporary directory, run as the `postgres`
//! user on a free loopback port, stopped and removed when dropped (also when the test panics).
//!
//! Needs root (to run the server as `postgres`) and PostgreSQL's binaries
//! (`/usr/lib/postgresql/*/bin`). Without them the tests skip (they print why and pass),
//! unless `CI=true`, where it is a failure. Include it with
//! `#[path = "support/pg_cluster.rs"] mod pg_cluster;`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Cluster {
    bin: PathBuf,
    /// Owned by `postgres`; holds `data/` and the server's socket.
    dir: tempfile::TempDir,
    pub port: u16,
}

impl Cluster {
    /// A new, running server; `None` (after printing `skipped: ...`) where it cannot run,
    /// outside CI.
    pub fn start() -> Option<Self> {
        match Self::try_start() {
            Ok(cluster) => Some(cluster),
            Err(why) => {
                if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                    panic!("cannot run a private PostgreSQL server and CI=true requires it: {why}");
                }
                eprintln!("skipped: cannot run a private PostgreSQL server ({why})");
                None
            }
        }
    }

    fn try_start() -> Result<Self, String> {
        let bin = binaries().ok_or("no /usr/lib/postgresql/*/bin/initdb")?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let owner = Command::new("chown")
            .arg("postgres:")
            .arg(dir.path())
            .output()
            .map_err(|e| format!("chown: {e}"))?;
        check("chown", &owner)?;
        let cluster = Self {
            bin,
            dir,
            port: free_port(),
        };
        let init = cluster.as_postgres(
            "initdb",
            &[
                "-D",
                &cluster.data().display().to_string(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "--no-instructions",
            ],
        )?;
        check("initdb", &init)?;
        cluster.resume()?;
        Ok(cluster)
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server (fast shutdown: every client connection is cut) and waits until it
    /// has.
    pub fn stop(&self) {
        let stopped = self
            .pg_ctl(&["stop", "-m", "fast", "-w"])
            .and_then(|out| check("pg_ctl stop", &out));
        stopped.unwrap_or_else(|e| panic!("{e}"));
    }

    /// Starts the server again on the same port and data, and waits until it accepts
    /// connections.
    pub fn resume(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        let out = self.pg_ctl(&["start", "-w", "-t", "30", "-l", &log, "-o", &options])?;
        check("pg_ctl start", &out).map_err(|e| {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            format!("{e}\n{log}")
        })
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<Output, String> {
        let data = self.data().display().to_string();
        let mut all = vec!["-D", &data];
        all.extend_from_slice(args);
        self.as_postgres("pg_ctl", &all)
    }

    fn as_postgres(&self, program: &str, args: &[&str]) -> Result<Output, String> {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join(program))
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .map_err(|e| format!("running {program}: {e}"))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Immediate: nothing of this server needs to survive it.
        let _ = self.pg_ctl(&["stop", "-m", "immediate", "-w"]);
    }
}

/// The newest installed version's binaries.
fn binaries() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort_by_key(|bin| version_of(bin));
    versions.pop()
}

fn version_of(bin: &Path) -> u32 {
    bin.parent()
        .and_then(|v| v.file_name())
        .and_then(|v| v.to_str())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A loopback port nobody listens on now (the server takes it a moment later).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().unwrap().port()
}

fn check(what: &str, out: &Output) -> Result<(), String> {
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}
