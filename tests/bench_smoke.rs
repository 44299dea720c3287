//! The benchmark program runs: two seconds on SQLite at low concurrency, then its JSON has
//! every figure. No timing is asserted (the machines are shared); docs/BENCHMARKS.md has the
//! real measurements.

use std::process::Command;

#[test]
fn bench_runs_and_writes_its_figures() {
    let dir = std::env::temp_dir().join(format!("herald-bench-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("results.json");
    let status = Command::new(env!("CARGO_BIN_EXE_herald-bench"))
        .args(["--store", "sqlite", "--concurrency", "2", "--duration", "2"])
        .args(["--runs", "1", "--drain-timeout", "30", "--out"])
        .arg(&out)
        .arg("--herald")
        .arg(env!("CARGO_BIN_EXE_herald"))
        .status()
        .expect("herald-bench starts");
    assert!(status.success(), "herald-bench failed: {status}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    for figure in [
        "accepted_per_s",
        "accept_p50_ms",
        "accept_p99_ms",
        "accept_max_ms",
        "e2e_per_s",
        "e2e_p50_ms",
        "e2e_p99_ms",
        "peak_rss_mib",
        "ceiling_per_s",
    ] {
        assert!(report["median"][figure].is_number(), "{figure}: {report}");
    }
    for ratio in ["accepted_per_s", "accept_p99", "e2e_per_s", "peak_rss"] {
        assert!(
            report["ratio_to_ceiling"][ratio].is_number(),
            "{ratio}: {report}"
        );
    }
    assert!(
        report["median"]["accepted"].as_u64().unwrap() > 0,
        "{report}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
