//! The thread the SQLite store's own tasks run on: the group committers and the batch writers.
//! They hold the one write connection while they talk to SQLite's thread, so each of their
//! steps must run as soon as SQLite answers; on the server's runtime they would wait behind
//! every request being parsed, and the writer would stand idle meanwhile.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Handle};

use super::writer::Writer;
use crate::store::batcher::{Batcher, Waiting};

/// Spawns `task` on the store's thread (started on first use, for the life of the process).
pub(super) fn spawn<F>(task: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    handle().spawn(task);
}

/// A batch writer on the store's thread: every batch goes to `commit`, with the writer.
pub(super) fn batcher<T, R, F, Fut>(max: usize, writer: Writer, commit: F) -> Batcher<T, R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(Writer, Vec<Waiting<T, R>>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Batcher::start_with(max, move |batch| commit(writer.clone(), batch), spawn)
}

fn handle() -> &'static Handle {
    static HANDLE: OnceLock<Handle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let runtime = Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the SQLite store's runtime starts");
        let handle = runtime.handle().clone();
        std::thread::Builder::new()
            .name("herald-sqlite".into())
            .spawn(move || runtime.block_on(std::future::pending::<()>()))
            .expect("the SQLite store's thread starts");
        handle
    })
}
