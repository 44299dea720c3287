//! `herald-bench`: Herald's throughput and latency on loopback, next to a no-op ceiling.
//!
//! Each run starts Herald (the release `herald` binary beside this one) on a fresh store,
//! texting through a fake Twilio that answers at once and calling back a receiver in this
//! process; drives the send endpoint with the seed's example 1 (asynchronous) over keep-alive
//! connections; waits for the `SENT` callbacks; and, in the same run, drives a no-op endpoint
//! that parses the same JSON and stores nothing. Figures are medians over the runs, each also
//! as a ratio to the ceiling measured in the same run. See docs/BENCHMARKS.md.

mod fakes;
mod load;
mod target;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::body::Bytes;
use base64::Engine as _;
use clap::Parser;
use reqwest::header::HeaderValue;
use serde::Serialize;

use target::StoreKind;

#[derive(Parser, Debug)]
#[command(
    name = "herald-bench",
    about = "Benchmark Herald's send endpoint against a no-op ceiling"
)]
struct Args {
    /// Which store Herald runs on.
    #[arg(long, value_enum, default_value = "sqlite")]
    store: StoreKind,
    /// Connections (one task each) driving the endpoint.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds of load per measurement.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Fixed-rate mode: requests per second offered (latency from each request's due time).
    /// Without it, closed loop: each connection sends again as soon as it is answered.
    #[arg(long)]
    rate: Option<f64>,
    /// Runs; figures are the medians.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Where to write the results as JSON.
    #[arg(long, default_value = "bench-results.json")]
    out: PathBuf,
    /// The herald binary (default: the `herald` beside this program).
    #[arg(long)]
    herald: Option<PathBuf>,
    /// The PostgreSQL server on which a fresh database is made for each run.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres_url: String,
    /// Longest wait after the load for the last callbacks, in seconds.
    #[arg(long, default_value_t = 120.0)]
    drain_timeout: f64,
    /// Customers the sends are spread over, each texted at their own number (1 to 1000). With
    /// 1, every request is the seed's example 1 to John Doe: one conversation, whose messages
    /// Herald hands over one after another.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1000))]
    customers: u16,

    /// Measure acceptance only: no probe callback awaited, no end-to-end figures (for runs with
    /// `--herald-env HERALD_DELIVERY__WORKERS=0`).
    #[arg(long)]
    accept_only: bool,
    /// Each text carries one JPEG attachment of this many bytes (an MMS, whose picture the
    /// fake Twilio fetches from Herald's media URL); 0: none.
    #[arg(long, default_value_t = 0)]
    attachment_bytes: usize,
    /// Extra `KEY=VALUE` environment for Herald (e.g. `HERALD_DELIVERY__WORKERS=0`); repeatable.
    #[arg(long = "herald-env", value_parser = parse_env)]
    herald_env: Vec<(String, String)>,
    /// Internal: serve the no-op ceiling endpoint and print its address.
    #[arg(long, hide = true)]
    serve_noop: bool,
}

fn parse_env(pair: &str) -> Result<(String, String), String> {
    pair.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("{pair:?} is not KEY=VALUE"))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if args.serve_noop {
        return runtime.block_on(fakes::serve_noop());
    }
    runtime.block_on(bench(args))
}

/// One measurement of one run.
#[derive(Debug, Clone, Serialize)]
struct RunFigures {
    accepted_per_s: f64,
    accepted: u64,
    failed: u64,
    accept_p50_ms: f64,
    accept_p99_ms: f64,
    accept_max_ms: f64,
    e2e_per_s: f64,
    e2e_delivered: u64,
    e2e_p50_ms: f64,
    e2e_p99_ms: f64,
    peak_rss_mib: f64,
    ceiling_per_s: f64,
    ceiling_p50_ms: f64,
    ceiling_p99_ms: f64,
    ceiling_max_ms: f64,
    ceiling_peak_rss_mib: f64,
}

impl RunFigures {
    fn ratios(&self) -> Ratios {
        let r = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        Ratios {
            accepted_per_s: r(self.accepted_per_s, self.ceiling_per_s),
            accept_p50: r(self.accept_p50_ms, self.ceiling_p50_ms),
            accept_p99: r(self.accept_p99_ms, self.ceiling_p99_ms),
            accept_max: r(self.accept_max_ms, self.ceiling_max_ms),
            e2e_per_s: r(self.e2e_per_s, self.ceiling_per_s),
            e2e_p50: r(self.e2e_p50_ms, self.ceiling_p50_ms),
            e2e_p99: r(self.e2e_p99_ms, self.ceiling_p99_ms),
            peak_rss: r(self.peak_rss_mib, self.ceiling_peak_rss_mib),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
struct Ratios {
    accepted_per_s: f64,
    accept_p50: f64,
    accept_p99: f64,
    accept_max: f64,
    e2e_per_s: f64,
    e2e_p50: f64,
    e2e_p99: f64,
    peak_rss: f64,
}

#[derive(Serialize)]
struct Report {
    store: StoreKind,
    mode: &'static str,
    concurrency: usize,
    customers: u16,
    duration_s: f64,
    rate_offered_per_s: Option<f64>,
    runs: usize,
    machine: Machine,
    /// Median of each figure over the runs.
    median: RunFigures,
    /// Median over the runs of each run's ratio to its own ceiling.
    ratio_to_ceiling: Ratios,
    each_run: Vec<RunFigures>,
}

#[derive(Serialize)]
struct Machine {
    nproc: usize,
    cpu_model: String,
    memory_mib: u64,
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = |text: &str, name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split(':').nth(1))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    Machine {
        nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu_model: field(&cpuinfo, "model name"),
        memory_mib: field(&meminfo, "MemTotal")
            .trim_end_matches(" kB")
            .trim()
            .parse::<u64>()
            .unwrap_or(0)
            / 1024,
    }
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn mib(bytes: Option<u64>) -> f64 {
    bytes.unwrap_or(0) as f64 / (1024.0 * 1024.0)
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

macro_rules! median_of {
    ($runs:expr, $ty:ident { $($field:ident),* $(,)? }) => {
        $ty { $($field: median($runs.iter().map(|r| r.$field as f64).collect()) as _),* }
    };
}

async fn bench(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    anyhow::ensure!(args.runs > 0, "--runs must be at least 1");
    anyhow::ensure!(args.duration > 0.0, "--duration must be positive");
    let herald = args.herald.clone().unwrap_or_else(target::sibling_herald);
    anyhow::ensure!(
        herald.exists(),
        "no herald binary at {} (build it with `cargo build --release`, or pass --herald)",
        herald.display()
    );
    let twilio = fakes::FakeTwilio::start().await?;
    let receiver = fakes::Receiver::start().await?;
    let bodies = (0..usize::from(args.customers))
        .map(|i| {
            let mut body = target::example_one(&receiver.url, &target::customer_number(i));
            if args.attachment_bytes > 0 {
                body["messageAttributes"]["attachments"] =
                    serde_json::json!([target::picture(args.attachment_bytes, i)]);
            }
            Ok(Bytes::from(serde_json::to_vec(&body)?))
        })
        .collect::<anyhow::Result<Vec<Bytes>>>()?;

    let mut runs = Vec::new();
    for run in 1..=args.runs {
        eprintln!(
            "run {run}/{}: {:?}, {} connections, {} s{}",
            args.runs,
            args.store,
            args.concurrency,
            args.duration,
            args.rate
                .map_or(String::new(), |r| format!(", {r} requests/s offered"))
        );
        // Alternate which goes first so neither always gets the cooler machine.
        let (figures, ceiling) = if run % 2 == 1 {
            let herald = measure_herald(&args, &herald, &twilio, &receiver, &bodies).await?;
            (herald, measure_ceiling(&args, &bodies).await?)
        } else {
            let ceiling = measure_ceiling(&args, &bodies).await?;
            (
                measure_herald(&args, &herald, &twilio, &receiver, &bodies).await?,
                ceiling,
            )
        };
        let figures = RunFigures {
            ceiling_per_s: ceiling.0,
            ceiling_p50_ms: ceiling.1,
            ceiling_p99_ms: ceiling.2,
            ceiling_max_ms: ceiling.3,
            ceiling_peak_rss_mib: ceiling.4,
            ..figures
        };
        eprintln!(
            "  herald {:.0}/s (p99 {:.1} ms), end to end {:.0}/s, ceiling {:.0}/s, peak RSS {:.1} MiB",
            figures.accepted_per_s,
            figures.accept_p99_ms,
            figures.e2e_per_s,
            figures.ceiling_per_s,
            figures.peak_rss_mib
        );
        runs.push(figures);
    }

    let medians = median_of!(
        runs,
        RunFigures {
            accepted_per_s,
            accepted,
            failed,
            accept_p50_ms,
            accept_p99_ms,
            accept_max_ms,
            e2e_per_s,
            e2e_delivered,
            e2e_p50_ms,
            e2e_p99_ms,
            peak_rss_mib,
            ceiling_per_s,
            ceiling_p50_ms,
            ceiling_p99_ms,
            ceiling_max_ms,
            ceiling_peak_rss_mib,
        }
    );
    let ratios: Vec<Ratios> = runs.iter().map(RunFigures::ratios).collect();
    let ratio_medians = median_of!(
        ratios,
        Ratios {
            accepted_per_s,
            accept_p50,
            accept_p99,
            accept_max,
            e2e_per_s,
            e2e_p50,
            e2e_p99,
            peak_rss,
        }
    );
    let report = Report {
        store: args.store,
        mode: if args.rate.is_some() {
            "fixed-rate"
        } else {
            "closed-loop"
        },
        concurrency: args.concurrency,
        customers: args.customers,
        duration_s: args.duration,
        rate_offered_per_s: args.rate,
        runs: args.runs,
        machine: machine(),
        median: medians,
        ratio_to_ceiling: ratio_medians,
        each_run: runs,
    };
    print_table(&report);
    std::fs::write(&args.out, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("written to {}", args.out.display());
    Ok(())
}

fn print_table(report: &Report) {
    let (m, r) = (&report.median, &report.ratio_to_ceiling);
    println!(
        "\nherald-bench: {:?}, {}, {} connections, {} customers, {} s, {} runs ({} cpus, {})",
        report.store,
        report.mode,
        report.concurrency,
        report.customers,
        report.duration_s,
        report.runs,
        report.machine.nproc,
        report.machine.cpu_model
    );
    if let Some(rate) = report.rate_offered_per_s {
        println!("offered: {rate} requests/s");
    }
    println!(
        "{:<28} {:>12} {:>12} {:>10}",
        "figure (median)", "herald", "ceiling", "ratio"
    );
    let row = |name: &str, herald: f64, ceiling: Option<f64>, ratio: f64| {
        println!(
            "{name:<28} {herald:>12.1} {:>12} {ratio:>10.3}",
            ceiling.map_or("-".to_string(), |c| format!("{c:.1}"))
        );
    };
    row(
        "accepted messages/s",
        m.accepted_per_s,
        Some(m.ceiling_per_s),
        r.accepted_per_s,
    );
    row(
        "accept p50 ms",
        m.accept_p50_ms,
        Some(m.ceiling_p50_ms),
        r.accept_p50,
    );
    row(
        "accept p99 ms",
        m.accept_p99_ms,
        Some(m.ceiling_p99_ms),
        r.accept_p99,
    );
    row(
        "accept max ms",
        m.accept_max_ms,
        Some(m.ceiling_max_ms),
        r.accept_max,
    );
    row(
        "end-to-end messages/s",
        m.e2e_per_s,
        Some(m.ceiling_per_s),
        r.e2e_per_s,
    );
    row(
        "end-to-end p50 ms",
        m.e2e_p50_ms,
        Some(m.ceiling_p50_ms),
        r.e2e_p50,
    );
    row(
        "end-to-end p99 ms",
        m.e2e_p99_ms,
        Some(m.ceiling_p99_ms),
        r.e2e_p99,
    );
    row(
        "peak RSS MiB",
        m.peak_rss_mib,
        Some(m.ceiling_peak_rss_mib),
        r.peak_rss,
    );
    if m.failed > 0 {
        println!("(median {} requests not answered 200)", m.failed);
    }
}

type Ceiling = (f64, f64, f64, f64, f64);

/// The no-op endpoint under the same load: (requests/s, p50, p99, max ms, peak RSS MiB).
async fn measure_ceiling(args: &Args, bodies: &[Bytes]) -> anyhow::Result<Ceiling> {
    let noop = target::start_noop().await?;
    let url = format!(
        "{}/communications/department/d/user/u/customer/c/message",
        noop.url
    );
    let outcome = load::run(load::Load {
        requests: bodies.iter().map(|b| (url.clone(), b.clone())).collect(),
        authorization: None,
        concurrency: args.concurrency,
        duration: Duration::from_secs_f64(args.duration),
        rate: args.rate,
        collect_ids: false,
    })
    .await?;
    let rss = mib(noop.peak_rss());
    noop.stop().await;
    let mut latencies = outcome.latencies_us.clone();
    latencies.sort_unstable();
    Ok((
        outcome.per_second(),
        ms(load::quantile(&latencies, 0.5)),
        ms(load::quantile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or(0)),
        rss,
    ))
}

async fn measure_herald(
    args: &Args,
    herald_path: &std::path::Path,
    twilio: &fakes::FakeTwilio,
    receiver: &fakes::Receiver,
    bodies: &[Bytes],
) -> anyhow::Result<RunFigures> {
    let store = target::FreshStore::create(args.store, &args.postgres_url).await?;
    let herald =
        target::start_herald(herald_path, store.url(), &twilio.base_url, &args.herald_env).await?;
    twilio.fetch_media_from(&herald.url);
    let result = drive_herald(args, &herald, receiver, bodies).await;
    herald.stop().await;
    store.remove().await;
    result
}

async fn drive_herald(
    args: &Args,
    herald: &target::Served,
    receiver: &fakes::Receiver,
    bodies: &[Bytes],
) -> anyhow::Result<RunFigures> {
    let tenant = target::tenant(&herald.url, usize::from(args.customers)).await?;
    let authorization = HeaderValue::from_str(&format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", tenant.username, tenant.password))
    ))?;
    let requests: Vec<(String, Bytes)> = tenant
        .customers
        .iter()
        .zip(bodies)
        .map(|((path, _), body)| (format!("{}{}", herald.url, path), body.clone()))
        .collect();
    let (url, body) = requests[0].clone();
    let callbacks = &receiver.callbacks;

    // One message through the whole path first: the wiring works, the caches are warm.
    let response = reqwest::Client::new()
        .post(&url)
        .header(reqwest::header::AUTHORIZATION, authorization.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await?;
    let status = response.status();
    let answer: serde_json::Value = response.json().await.unwrap_or_default();
    let probe_id = answer["messageUUID"]
        .as_str()
        .filter(|_| status == 200)
        .with_context(|| format!("herald did not accept example 1: {status} {answer}"))?
        .to_string();
    let waited = Instant::now();
    while !args.accept_only
        && !callbacks
            .sent
            .lock()
            .expect("callbacks")
            .contains_key(&probe_id)
    {
        anyhow::ensure!(
            waited.elapsed() < Duration::from_secs(30),
            "no SENT callback for the probe message within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    callbacks.sent.lock().expect("callbacks").clear();

    let outcome = load::run(load::Load {
        requests,
        authorization: Some(authorization),
        concurrency: args.concurrency,
        duration: Duration::from_secs_f64(args.duration),
        rate: args.rate,
        collect_ids: true,
    })
    .await?;
    if let Some(failure) = &outcome.first_failure {
        eprintln!(
            "  {} requests not accepted; the first: {failure}",
            outcome.failed
        );
    }

    // Wait for the SENT callbacks of everything accepted (or until they stop coming).
    let expected = if args.accept_only {
        0
    } else {
        outcome.accepted.len()
    };
    let drain_deadline = Instant::now() + Duration::from_secs_f64(args.drain_timeout);
    let (mut seen, mut progress) = (0, Instant::now());
    loop {
        let now_seen = callbacks.sent.lock().expect("callbacks").len();
        if now_seen >= expected {
            break;
        }
        if now_seen > seen {
            (seen, progress) = (now_seen, Instant::now());
        }
        if Instant::now() > drain_deadline || progress.elapsed() > Duration::from_secs(15) {
            eprintln!("  only {now_seen} of {expected} SENT callbacks arrived");
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let peak_rss = herald.peak_rss();

    let sent = std::mem::take(&mut *callbacks.sent.lock().expect("callbacks"));
    let start = outcome.started.expect("a load run has a start");
    let mut e2e_us = Vec::with_capacity(expected);
    let mut last_arrival = start;
    for (id, due) in &outcome.accepted {
        if let Some(arrived) = sent.get(id) {
            e2e_us.push(arrived.saturating_duration_since(*due).as_micros() as u64);
            last_arrival = last_arrival.max(*arrived);
        }
    }
    e2e_us.sort_unstable();
    let mut accept_us = outcome.latencies_us.clone();
    accept_us.sort_unstable();
    let e2e_span = last_arrival
        .saturating_duration_since(start)
        .as_secs_f64()
        .max(1e-9);
    Ok(RunFigures {
        accepted_per_s: outcome.per_second(),
        accepted: outcome.ok,
        failed: outcome.failed,
        accept_p50_ms: ms(load::quantile(&accept_us, 0.5)),
        accept_p99_ms: ms(load::quantile(&accept_us, 0.99)),
        accept_max_ms: ms(accept_us.last().copied().unwrap_or(0)),
        e2e_per_s: e2e_us.len() as f64 / e2e_span,
        e2e_delivered: e2e_us.len() as u64,
        e2e_p50_ms: ms(load::quantile(&e2e_us, 0.5)),
        e2e_p99_ms: ms(load::quantile(&e2e_us, 0.99)),
        peak_rss_mib: mib(peak_rss),
        ceiling_per_s: 0.0,
        ceiling_p50_ms: 0.0,
        ceiling_p99_ms: 0.0,
        ceiling_max_ms: 0.0,
        ceiling_peak_rss_mib: 0.0,
    })
}
