//! A small tmpfs of a test's own, to run out of disk space for real: mounted in a temporary
//! directory and unmounted when dropped, also when the test panics.
//!
//! Mounting needs root (`CAP_SYS_ADMIN`). Where it is not permitted the tests skip (they print
//! why and pass), unless `CI=true`, where it is a failure: CI must not go green without the
//! disk-full case. Include it with `#[path = "../support/tmpfs.rs"] mod tmpfs;`.

#![allow(dead_code)]

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// A tmpfs of `size_kib` KiB; `None` (after printing `skipped: ...`) where mounting is not
    /// permitted, outside CI.
    pub fn mount(size_kib: u64) -> Option<Self> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_kib}k,mode=0700")])
            .arg("tmpfs")
            .arg(dir.path())
            .output();
        let refused = match output {
            Ok(out) if out.status.success() => return Some(Self { dir }),
            Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_string(),
            Err(e) => format!("running mount: {e}"),
        };
        if std::env::var("CI").is_ok_and(|ci| ci == "true") {
            panic!("cannot mount a tmpfs and CI=true requires the disk-full tests: {refused}");
        }
        eprintln!("skipped: cannot mount a tmpfs ({refused}); the disk-full tests need root");
        None
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Takes every free byte left with one file; remove it with [`Filler::free`].
    pub fn fill(&self) -> Filler {
        let path = self.dir.path().join("filler");
        let mut file = File::create(&path).expect("the filler file");
        let chunk = vec![0u8; 64 * 1024];
        let page = vec![0u8; 4096];
        // Large chunks first, then pages: tmpfs hands out whole pages.
        for buf in [chunk.as_slice(), page.as_slice()] {
            loop {
                match file.write(buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::StorageFull => break,
                    Err(e) => panic!("filling the tmpfs: {e}"),
                }
            }
        }
        let _ = file.sync_all();
        Filler { path }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: the store (or a killed server) may still hold its files open; the tmpfs goes
        // once they are closed. The directory itself is removed by `TempDir` afterwards.
        let unmounted = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
        if !unmounted.is_ok_and(|s| s.success()) {
            eprintln!("left a tmpfs mounted at {}", self.dir.path().display());
        }
    }
}

/// The file that fills a [`Tmpfs`].
pub struct Filler {
    path: PathBuf,
}

impl Filler {
    /// Gives the last `kib` KiB of its space back.
    pub fn give_back(&self, kib: u64) {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&self.path)
            .expect("the filler file");
        let len = file.metadata().expect("the filler's size").len();
        file.set_len(len.saturating_sub(kib * 1024))
            .expect("shrinking the filler");
    }

    /// Gives its space back.
    pub fn free(self) {
        std::fs::remove_file(&self.path).expect("removing the filler");
    }
}
