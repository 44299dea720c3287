//! `herald-bench-log`: how fast the operator's reads answer on a store holding a real volume
//! of history (issue 15: the message log, its filters and a customer's thread "well under
//! 100 ms with 100,000 messages").
//!
//! Starts Herald (the release `herald` binary beside this one) on a fresh store, creates a
//! directory through the admin API, sends one real message, and copies that message's row
//! `--messages` times straight in the database (spread over 30 days, four departments of two
//! dealers, 1,000 customers, a realistic mix of statuses and protocols): a store as an
//! operator's would be after months of traffic, without months of sending. Then each read
//! is asked `--samples` times, one after another, and its p50/p99/max printed. See
//! docs/BENCHMARKS.md.

#[allow(dead_code)]
#[path = "../fakes.rs"]
mod fakes;
mod seed;
#[allow(dead_code)]
#[path = "../target.rs"]
mod target;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use serde::Serialize;
use serde_json::{Value, json};

use seed::Directory;
use target::{FreshStore, StoreKind};

#[derive(Parser, Debug)]
#[command(
    name = "herald-bench-log",
    about = "Time the admin message log, its filters and the thread view on a large store"
)]
struct Args {
    #[arg(long, value_enum, default_value = "sqlite")]
    store: StoreKind,
    /// Messages copied into the store before measuring.
    #[arg(long, default_value_t = 100_000)]
    messages: u32,
    /// Times each read is asked.
    #[arg(long, default_value_t = 50)]
    samples: usize,
    #[arg(long, default_value = "bench-log-results.json")]
    out: PathBuf,
    #[arg(long)]
    herald: Option<PathBuf>,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres_url: String,
}

#[derive(Serialize)]
struct Figure {
    read: String,
    rows: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

#[derive(Serialize)]
struct Results {
    store: StoreKind,
    messages: u32,
    samples: usize,
    reads: Vec<Figure>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(bench(args))
}

async fn bench(args: Args) -> anyhow::Result<()> {
    let herald = args.herald.clone().unwrap_or_else(target::sibling_herald);
    let store = FreshStore::create(args.store, &args.postgres_url).await?;
    let twilio = fakes::FakeTwilio::start().await?;
    let served = target::start_herald(&herald, store.url(), &twilio.base_url, &[]).await?;
    let result = measure(&args, &store, &served.url).await;
    served.stop().await;
    store.remove().await;
    let results = result?;
    std::fs::write(&args.out, serde_json::to_vec_pretty(&results)?)?;
    println!("written to {}", args.out.display());
    Ok(())
}

async fn measure(args: &Args, store: &FreshStore, base: &str) -> anyhow::Result<Results> {
    let client = reqwest::Client::new();
    let dir = Directory::create(&client, base).await?;
    let started = Instant::now();
    seed::copy_messages(store, &dir, args.messages).await?;
    println!(
        "{} messages on {:?} copied in {:.1} s",
        args.messages,
        args.store,
        started.elapsed().as_secs_f64()
    );

    let yesterday = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let yesterday = yesterday
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let d = &dir.departments;
    let log = "/admin/v1/messages";
    let mut reads: Vec<(String, String)> = vec![
        ("log, newest first".into(), format!("{log}?pageSize=50")),
        ("status=FAILED".into(), format!("{log}?status=FAILED")),
        ("status=DELIVERED".into(), format!("{log}?status=DELIVERED")),
        (
            "status=WAITING_FOR_OPTIN (none)".into(),
            format!("{log}?status=WAITING_FOR_OPTIN"),
        ),
        // The statuses a message passes through on its way: none left once the queue is
        // drained, so a walk of the log finds nothing and reads it all.
        (
            "status=ACCEPTED (none)".into(),
            format!("{log}?status=ACCEPTED"),
        ),
        ("status=SENT (none)".into(), format!("{log}?status=SENT")),
        ("protocol=EMAIL".into(), format!("{log}?protocol=EMAIL")),
        (
            "dealer (busy)".into(),
            format!("{log}?dealerUuid={}", dir.dealers[0]),
        ),
        (
            "dealer (small)".into(),
            format!("{log}?dealerUuid={}", dir.dealers[1]),
        ),
        (
            "department (busy)".into(),
            format!("{log}?departmentUuid={}", d[0]),
        ),
        (
            "department (sparse)".into(),
            format!("{log}?departmentUuid={}", d[2]),
        ),
        (
            "customer".into(),
            format!("{log}?customerUuid={}", dir.customers[7]),
        ),
        (
            "department + FAILED + TEXT since yesterday".into(),
            format!(
                "{log}?departmentUuid={}&status=FAILED&protocol=TEXT&since={yesterday}",
                d[1]
            ),
        ),
        ("since yesterday".into(), format!("{log}?since={yesterday}")),
        (
            "one message with attempts and callbacks".into(),
            format!("{log}/{}", dir.template_message),
        ),
        // Each credential's lastUsedAt is its newest message.
        ("credentials".into(), "/admin/v1/credentials".into()),
        ("the queue's figures".into(), "/admin/v1/queue".into()),
        ("failed callbacks".into(), "/admin/v1/callbacks".into()),
    ];
    // The 20th page of the unfiltered log: the token walk keeps its cost flat with depth.
    let mut path = format!("{log}?pageSize=50");
    for _ in 0..19 {
        let page = get(&client, base, &path, None).await?;
        let token = page["nextPageToken"].as_str().context("no next page")?;
        path = format!("{log}?pageSize=50&pageToken={token}");
    }
    reads.push(("log, 20th page".into(), path));

    let mut figures = Vec::new();
    for (name, path) in &reads {
        figures.push(time_read(&client, base, name, path, None, args.samples).await?);
    }
    let thread = format!(
        "/communications/department/{}/customer/{}/messages",
        d[0], dir.customers[7]
    );
    figures.push(
        time_read(
            &client,
            base,
            "thread of one customer (integrator API)",
            &thread,
            Some(&dir.reader),
            args.samples,
        )
        .await?,
    );

    println!(
        "\n{:<44} {:>5} {:>8} {:>8} {:>8}",
        "read", "rows", "p50 ms", "p99 ms", "max ms"
    );
    for f in &figures {
        println!(
            "{:<44} {:>5} {:>8.2} {:>8.2} {:>8.2}",
            f.read, f.rows, f.p50_ms, f.p99_ms, f.max_ms
        );
    }
    Ok(Results {
        store: args.store,
        messages: args.messages,
        samples: args.samples,
        reads: figures,
    })
}

async fn get(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    basic: Option<&(String, String)>,
) -> anyhow::Result<Value> {
    let request = client.get(format!("{base}{path}"));
    let request = match basic {
        Some((user, password)) => request.basic_auth(user, Some(password)),
        None => request.bearer_auth(target::ADMIN),
    };
    let response = request.send().await?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(json!(null));
    if !status.is_success() {
        bail!("{path}: {status} {body}");
    }
    Ok(body)
}

async fn time_read(
    client: &reqwest::Client,
    base: &str,
    name: &str,
    path: &str,
    basic: Option<&(String, String)>,
    samples: usize,
) -> anyhow::Result<Figure> {
    let mut took = Vec::with_capacity(samples);
    let mut rows = 0;
    for _ in 0..samples {
        let started = Instant::now();
        let body = get(client, base, path, basic).await?;
        took.push(started.elapsed());
        rows = body["items"]
            .as_array()
            .or_else(|| body["messages"].as_array())
            .map_or(1, Vec::len);
    }
    took.sort();
    let at = |q: f64| -> f64 {
        let i = ((took.len() as f64 - 1.0) * q).round() as usize;
        ms(took[i])
    };
    Ok(Figure {
        read: name.to_string(),
        rows,
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        max_ms: ms(*took.last().unwrap_or(&Duration::ZERO)),
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
