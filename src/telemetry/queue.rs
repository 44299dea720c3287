//! The log writer: a bounded queue in memory and one thread that empties it onto stderr.
//!
//! Writing an event only appends its line to the queue (or drops it when the queue is full),
//! so a stderr nobody reads, or one that is closed, can never hold up a request or a shutdown.
//! Only the writer thread ever touches the file descriptor, and it reports nothing itself:
//! there is nowhere to report to but the same stderr. (tracing-appender's guard prints to
//! stdout when its queue is full at exit, which blocks forever on a full pipe.)

use std::collections::VecDeque;
use std::io::Write;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long a normal exit waits for the queued lines to be written.
const FLUSH_WAIT: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Queue {
    lines: VecDeque<Vec<u8>>,
    /// Lines dropped since the writer thread last said so.
    dropped: u64,
    closing: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
    capacity: usize,
}

impl Shared {
    /// The queue, even if a thread panicked while holding it (its contents stay valid).
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Hands each formatted line to the queue; cheap to clone.
#[derive(Clone)]
pub struct QueueWriter {
    shared: Arc<Shared>,
}

/// Keep it for the life of the process: dropping it writes what is queued (waiting at most
/// [`FLUSH_WAIT`] for a stderr that is not being read).
pub struct Flush {
    shared: Arc<Shared>,
    done: Receiver<()>,
}

/// A queue of at most `capacity` lines, written to `out` by a thread of its own.
pub fn start<W: Write + Send + 'static>(capacity: usize, out: W) -> (QueueWriter, Flush) {
    let shared = Arc::new(Shared {
        queue: Mutex::default(),
        ready: Condvar::new(),
        capacity,
    });
    let (done_tx, done) = mpsc::channel();
    let worker = shared.clone();
    let spawned = std::thread::Builder::new()
        .name("herald-log".into())
        .spawn(move || {
            write_until_closed(&worker, out);
            let _ = done_tx.send(());
        });
    if spawned.is_err() {
        // No thread, no logs: the queue fills and drops, which is still never a block.
        shared.lock().closing = true;
    }
    (
        QueueWriter {
            shared: shared.clone(),
        },
        Flush { shared, done },
    )
}

fn write_until_closed<W: Write>(shared: &Shared, mut out: W) {
    let mut batch = Vec::new();
    loop {
        let (dropped, closing) = {
            let mut queue = shared.lock();
            while queue.lines.is_empty() && !queue.closing {
                queue = shared
                    .ready
                    .wait(queue)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            batch.clear();
            for line in queue.lines.drain(..) {
                batch.extend_from_slice(&line);
            }
            (std::mem::take(&mut queue.dropped), queue.closing)
        };
        // Errors are lost lines: a closed stderr (EPIPE) or a non-blocking one that is full.
        let _ = out.write_all(&batch);
        let _ = out.flush();
        if closing {
            return;
        }
        if dropped > 0 {
            // Through the queue like any other line, in the operator's chosen format.
            tracing::warn!(
                dropped,
                "log lines dropped: standard error was not read fast enough"
            );
        }
    }
}

impl Write for QueueWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut queue = self.shared.lock();
        if queue.lines.len() < self.shared.capacity {
            // The writer waits only on an empty queue, and drains the whole queue each time it
            // wakes: waking it for every line would cost a wake-up and a write per line.
            let was_empty = queue.lines.is_empty();
            queue.lines.push_back(buf.to_vec());
            drop(queue);
            if was_empty {
                self.shared.ready.notify_one();
            }
        } else {
            queue.dropped += 1;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for QueueWriter {
    type Writer = QueueWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Drop for Flush {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.ready.notify_one();
        let _ = self.done.recv_timeout(FLUSH_WAIT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stderr that takes nothing: every write blocks until the test ends.
    struct Stuck(Receiver<()>);

    impl Write for Stuck {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            let _ = self.0.recv();
            Ok(0)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[derive(Clone, Default)]
    struct Collected(Arc<Mutex<Vec<u8>>>);

    impl Write for Collected {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stuck_stderr_drops_lines_and_never_blocks_a_writer_or_the_exit() {
        let (_keep_stuck, stuck) = mpsc::channel();
        let (writer, flush) = start(4, Stuck(stuck));
        let started = std::time::Instant::now();
        for _ in 0..10_000 {
            writer.make_writer().write_all(b"line\n").unwrap();
        }
        drop(flush);
        assert!(
            started.elapsed() < FLUSH_WAIT * 3,
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_normal_exit_writes_every_queued_line() {
        let out = Collected::default();
        let (writer, flush) = start(1_000, out.clone());
        for n in 0..100 {
            writeln!(writer.make_writer(), "line {n}").unwrap();
        }
        drop(flush);
        let written = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(written.lines().count(), 100);
        assert!(written.ends_with("line 99\n"));
    }
}
