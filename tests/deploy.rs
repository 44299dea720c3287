//! The systemd unit shipped in `deploy/` is one systemd accepts without a warning, and its
//! `ExecStart` is a command line this Herald understands.

use std::process::Command;

const UNIT: &str = include_str!("../deploy/herald.service");
const INSTALLED: &str = "/usr/local/bin/herald";

fn exec_start() -> Vec<&'static str> {
    let line = UNIT
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("the unit has an ExecStart");
    line.split_whitespace().collect()
}

#[test]
fn the_systemd_unit_verifies_without_warnings() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "systemd-analyze is missing (apt-get install systemd)"
        );
        eprintln!("skipped: systemd-analyze not installed");
        return;
    }
    // Arrange: the unit as shipped, pointing at this build's binary instead of the installed
    // path (verify checks that the program exists).
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("herald.service");
    std::fs::write(&unit, UNIT.replace(INSTALLED, env!("CARGO_BIN_EXE_herald"))).unwrap();

    // Act
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .unwrap();

    // Assert: systemd only warns (exit 0) about unknown keys and bad values, so any output
    // is a failure too.
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
}

#[test]
fn the_units_command_line_is_one_herald_understands() {
    let command = exec_start();
    assert_eq!(command[0], INSTALLED);
    let out = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(&command[1..])
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
