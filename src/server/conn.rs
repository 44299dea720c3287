//! One client connection: HTTP/1.1 through hyper into the router, closed at its header-read
//! or idle deadline ([`Activity`]), and drained on shutdown (a request in progress finishes
//! and is answered; an idle connection closes at once).

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::activity::{Activity, InFlight, Timeouts};
use super::io::WatchedIo;

pub async fn serve<T>(io: T, router: Router, timeouts: Timeouts, shutdown: CancellationToken)
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new(timeouts));
    let io = TokioIo::new(WatchedIo::new(io, activity.clone()));
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let in_flight = InFlight::start(activity.clone());
            let router = router.clone();
            async move {
                let response: Result<_, Infallible> = router.oneshot(request.map(Body::new)).await;
                drop(in_flight);
                response
            }
        })
    };
    let connection = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(connection);
    let mut draining = false;
    loop {
        let deadline = activity.deadline();
        tokio::select! {
            biased;
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            () = activity.changed.notified() => {}
            () = sleep_until(deadline), if deadline.is_some() => {
                // The deadline may have moved while this sleep ran: close only if it stands.
                if activity.deadline().is_some_and(|d| d <= tokio::time::Instant::now()) {
                    return;
                }
            }
            () = shutdown.cancelled(), if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(deadline).await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
    use tokio::time::Instant;

    use super::*;

    const TIMEOUTS: Timeouts = Timeouts {
        header_read: Duration::from_secs(10),
        idle: Duration::from_secs(60),
    };

    fn router() -> Router {
        Router::new().route("/fast", get(|| async { "ok" })).route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(100)).await;
                "done"
            }),
        )
    }

    /// A client end of a connection served with [`TIMEOUTS`]; the clock is paused, so it
    /// moves only to the next timer once everything waits.
    fn connect(shutdown: &CancellationToken) -> DuplexStream {
        let (client, server) = tokio::io::duplex(1 << 20);
        tokio::spawn(serve(server, router(), TIMEOUTS, shutdown.clone()));
        client
    }

    /// Reads one response (this router's bodies are short and sent with a length).
    async fn response(client: &mut DuplexStream) -> String {
        let mut got = Vec::new();
        let mut chunk = [0u8; 65536];
        loop {
            let n = client.read(&mut chunk).await.unwrap();
            assert!(
                n > 0,
                "closed before answering: {:?}",
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&got).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let length: usize = text[..end]
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .map_or(0, |v| v.trim().parse().unwrap());
                if got.len() >= end + 4 + length {
                    return text;
                }
            }
        }
    }

    /// Waits for the server to close the connection and says how long that took.
    async fn closed_after(client: &mut DuplexStream, from: Instant) -> Duration {
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).await.unwrap();
        from.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_that_sends_nothing_is_closed_at_the_header_timeout() {
        let shutdown = CancellationToken::new();
        let opened = Instant::now();
        let mut client = connect(&shutdown);
        assert_eq!(
            closed_after(&mut client, opened).await,
            TIMEOUTS.header_read
        );
    }

    #[tokio::test(start_paused = true)]
    async fn half_a_request_line_is_closed_at_the_header_timeout() {
        let shutdown = CancellationToken::new();
        let opened = Instant::now();
        let mut client = connect(&shutdown);
        client.write_all(b"GET /fa").await.unwrap();
        tokio::time::sleep(Duration::from_secs(9)).await;
        client.write_all(b"st HTTP/1.1\r\nhost: h").await.unwrap();
        assert_eq!(
            closed_after(&mut client, opened).await,
            TIMEOUTS.header_read
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_kept_alive_connection_lives_until_the_idle_timeout() {
        let shutdown = CancellationToken::new();
        let mut client = connect(&shutdown);
        client
            .write_all(b"GET /fast HTTP/1.1\r\nhost: h\r\n\r\n")
            .await
            .unwrap();
        assert!(response(&mut client).await.starts_with("HTTP/1.1 200"));
        let answered = Instant::now();

        // Past the header timeout, still open: a second request is served.
        tokio::time::sleep(Duration::from_secs(30)).await;
        client
            .write_all(b"GET /fast HTTP/1.1\r\nhost: h\r\n\r\n")
            .await
            .unwrap();
        assert!(response(&mut client).await.starts_with("HTTP/1.1 200"));
        let answered_again = Instant::now();
        assert!(answered_again - answered >= Duration::from_secs(30));
        assert_eq!(
            closed_after(&mut client, answered_again).await,
            TIMEOUTS.idle
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_next_request_on_a_kept_alive_connection_has_the_header_timeout() {
        let shutdown = CancellationToken::new();
        let mut client = connect(&shutdown);
        client
            .write_all(b"GET /fast HTTP/1.1\r\nhost: h\r\n\r\n")
            .await
            .unwrap();
        response(&mut client).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        client.write_all(b"GET /fa").await.unwrap();
        let started = Instant::now();
        assert_eq!(
            closed_after(&mut client, started).await,
            TIMEOUTS.header_read
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_progress_is_not_cut_by_either_timeout() {
        let shutdown = CancellationToken::new();
        let mut client = connect(&shutdown);
        let sent = Instant::now();
        client
            .write_all(b"GET /slow HTTP/1.1\r\nhost: h\r\n\r\n")
            .await
            .unwrap();
        assert!(response(&mut client).await.ends_with("done"));
        assert_eq!(sent.elapsed(), Duration::from_secs(100));
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_answers_the_request_in_progress_and_closes_idle_connections() {
        let shutdown = CancellationToken::new();
        let mut idle = connect(&shutdown);
        idle.write_all(b"GET /fast HTTP/1.1\r\nhost: h\r\n\r\n")
            .await
            .unwrap();
        response(&mut idle).await;
        let mut busy = connect(&shutdown);
        busy.write_all(b"GET /slow HTTP/1.1\r\nhost: h\r\n\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;

        let stopping = Instant::now();
        shutdown.cancel();
        assert_eq!(closed_after(&mut idle, stopping).await, Duration::ZERO);
        let answer = response(&mut busy).await;
        assert!(answer.ends_with("done"), "{answer}");
        assert!(answer.contains("connection: close"), "{answer}");
        assert_eq!(
            closed_after(&mut busy, stopping).await,
            Duration::from_secs(99)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn requests_hyper_cannot_read_are_answered_in_the_seed_shape() {
        let shutdown = CancellationToken::new();
        let cases: [(Vec<u8>, &str, &str); 3] = [
            (
                format!(
                    "GET /fast?q={} HTTP/1.1\r\nhost: h\r\n\r\n",
                    "a".repeat(100_000)
                )
                .into_bytes(),
                "HTTP/1.1 414 ",
                "REQUEST_TOO_LARGE",
            ),
            (
                format!(
                    "GET /fast HTTP/1.1\r\nhost: h\r\n{}\r\n",
                    (0..500)
                        .map(|i| format!("x-h{i}: v\r\n"))
                        .collect::<String>()
                )
                .into_bytes(),
                "HTTP/1.1 431 ",
                "REQUEST_TOO_LARGE",
            ),
            (
                b"GET /fast HTTP/1.1\r\nho st: h\r\n\r\n".to_vec(),
                "HTTP/1.1 400 ",
                "INVALID_REQUEST",
            ),
        ];
        for (request, status, code) in cases {
            let mut client = connect(&shutdown);
            client.write_all(&request).await.unwrap();
            let mut answer = Vec::new();
            client.read_to_end(&mut answer).await.unwrap();
            let answer = String::from_utf8(answer).unwrap();
            assert!(answer.starts_with(status), "{answer}");
            let body: serde_json::Value =
                serde_json::from_str(&answer[answer.find("\r\n\r\n").unwrap() + 4..]).unwrap();
            assert_eq!(body["errors"][0]["errorCode"], code, "{answer}");
        }
    }
}
