//! The load generator: tasks each holding one keep-alive connection, posting the same body.
//!
//! Closed loop (`rate = None`): each task sends its next request as soon as the previous one is
//! answered; latency runs from sending to the answer. Fixed rate: request `i` is due at
//! `start + i / rate` whoever sends it, and its latency runs from that due time, so a stalled
//! server is charged for the requests it kept from being sent (no coordinated omission).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};

pub struct Load {
    /// Request *i* posts `requests[i % len]` (address, body).
    pub requests: Vec<(String, Bytes)>,
    pub authorization: Option<HeaderValue>,
    pub concurrency: usize,
    pub duration: Duration,
    pub rate: Option<f64>,
    /// Keep each accepted messageUUID with the time its request was due.
    pub collect_ids: bool,
}

#[derive(Default)]
pub struct Outcome {
    pub started: Option<Instant>,
    pub elapsed: Duration,
    pub ok: u64,
    pub failed: u64,
    /// Latency of each answered `200`, in microseconds.
    pub latencies_us: Vec<u64>,
    pub accepted: Vec<(String, Instant)>,
    pub first_failure: Option<String>,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

#[derive(serde::Deserialize)]
struct Answer {
    #[serde(rename = "messageUUID")]
    message_uuid: Option<String>,
}

pub async fn run(load: Load) -> anyhow::Result<Outcome> {
    let load = Arc::new(load);
    let start = Instant::now() + Duration::from_millis(50);
    let deadline = start + load.duration;
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(load.concurrency);
    for _ in 0..load.concurrency {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(60))
            .build()?;
        let (load, next) = (load.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            worker(client, &load, &next, start, deadline).await
        }));
    }
    let mut outcome = Outcome {
        started: Some(start),
        ..Outcome::default()
    };
    let mut last = start;
    for task in tasks {
        let (part, ended) = task.await?;
        last = last.max(ended);
        outcome.ok += part.ok;
        outcome.failed += part.failed;
        outcome.latencies_us.extend(part.latencies_us);
        outcome.accepted.extend(part.accepted);
        if outcome.first_failure.is_none() {
            outcome.first_failure = part.first_failure;
        }
    }
    outcome.elapsed = last.saturating_duration_since(start);
    Ok(outcome)
}

async fn worker(
    client: reqwest::Client,
    load: &Load,
    next: &AtomicU64,
    start: Instant,
    deadline: Instant,
) -> (Outcome, Instant) {
    let mut part = Outcome::default();
    tokio::time::sleep_until(start.into()).await;
    let mut ended = start;
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let due = match load.rate {
            Some(rate) => {
                let due = start + Duration::from_secs_f64(i as f64 / rate);
                if due >= deadline {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                due
            }
            None => {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                now
            }
        };
        let (url, body) = &load.requests[i as usize % load.requests.len()];
        let mut request = client
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .body(body.clone());
        if let Some(authorization) = &load.authorization {
            request = request.header(AUTHORIZATION, authorization.clone());
        }
        let answer = match request.send().await {
            Ok(response) => {
                let status = response.status();
                match response.bytes().await {
                    Ok(body) if status == 200 => Ok(body),
                    Ok(body) => Err(format!("{status} {}", String::from_utf8_lossy(&body))),
                    Err(e) => Err(e.to_string()),
                }
            }
            Err(e) => Err(e.to_string()),
        };
        let done = Instant::now();
        ended = done;
        match answer {
            Ok(body) => {
                part.ok += 1;
                part.latencies_us
                    .push(done.duration_since(due).as_micros() as u64);
                if load.collect_ids
                    && let Ok(Answer {
                        message_uuid: Some(id),
                    }) = serde_json::from_slice(&body)
                {
                    part.accepted.push((id, due));
                }
            }
            Err(e) => {
                part.failed += 1;
                if part.first_failure.is_none() {
                    part.first_failure = Some(e);
                }
            }
        }
    }
    (part, ended)
}

/// The `q` quantile (0..=1) of sorted samples, nearest rank.
pub fn quantile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
