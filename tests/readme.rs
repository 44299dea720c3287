//! The README's walkthrough, run as written against a fresh `herald serve`: every step
//! answers, and the text it sends ends `DELIVERED`, shown by the walkthrough's last command.

#[path = "support/herald_node.rs"]
mod herald_node;

use std::time::Duration;

use herald_node::Node;

const README: &str = include_str!("../README.md");
const MARKER: &str = "<!-- tests/readme.rs runs this block";

/// The shell block that follows the marker.
fn walkthrough() -> &'static str {
    let after = &README[README
        .find(MARKER)
        .expect("the README marks its walkthrough")..];
    let start = after.find("```sh\n").expect("a sh block after the marker") + "```sh\n".len();
    let len = after[start..].find("```").expect("the block ends");
    &after[start..start + len]
}

#[tokio::test]
async fn the_readme_walkthrough_ends_with_a_delivered_text() {
    for tool in ["bash", "curl", "jq"] {
        if std::process::Command::new(tool)
            .arg("--version")
            .output()
            .is_err()
        {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{tool} is missing (.ci/run installs it)"
            );
            eprintln!("skipped: the walkthrough needs {tool}");
            return;
        }
    }
    // Arrange: Herald as the walkthrough starts it, on a port of its own
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("herald.db").display());
    let node = Node::start(&database, &[("HERALD_ADMIN_TOKEN", "change-me")]).await;
    let block = walkthrough();
    assert!(block.contains("H=http://127.0.0.1:8080\n"), "{block}");
    let last = block
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .unwrap();
    // Every captured UUID is a real one, then the last command again until it says DELIVERED
    // (the outbox reports it a moment after the hand-over), for at most 10 s.
    let script = format!(
        "{}\nfor v in DEALER DEPT USER_UUID CUSTOMER MSG; do \
           [ -n \"${{!v}}\" ] && [ \"${{!v}}\" != null ] || {{ echo \"$v is ${{!v}}\"; exit 1; }}; done\n\
         for _ in $(seq 100); do {last} | grep -q DELIVERED && exit 0; sleep 0.1; done\n\
         echo 'never DELIVERED'; {last}; exit 1\n",
        block.replace("H=http://127.0.0.1:8080\n", &format!("H={}\n", node.url)),
    );

    // Act
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new("bash")
            .args(["-e", "-o", "pipefail", "-c", &script])
            .current_dir(dir.path())
            .output(),
    )
    .await
    .expect("the walkthrough finishes")
    .unwrap();

    // Assert
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the walkthrough failed:\n{said}");
    assert!(
        said.contains("\"NOT_SET\""),
        "step 6 shows NOT_SET:\n{said}"
    );
    node.kill().await;
}
