//! roles-compat under a real Zuul 14.3.0: `tests/zuul/run.sh` runs the
//! scenarios of `tests/zuul/test_roles_compat.py` with Zuul's own scheduler,
//! executor and merger, Ansible in bubblewrap, ZooKeeper and MariaDB, in
//! network, mount and PID namespaces of their own; Zuul's test harness
//! stands in only for Gerrit and nodepool, the test support's Docker Hub
//! API stand-in for Docker Hub's web API. `tests/zuul/setup.sh` (run by
//! `tests/run-all.sh`) prepares and caches what it needs under
//! `target/zuul/`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn roles_compat_jobs_under_real_zuul() {
    let prepared = std::env::var("ZUUL_IMAGE_TEST_ZUUL").expect(
        "ZUUL_IMAGE_TEST_ZUUL is not set: tests/run-all.sh prepares Zuul (tests/zuul/setup.sh)",
    );
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let logs = Path::new(&prepared).join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let log_path = logs.join("real-zuul.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let standin = web_api_standin();
    let started = Instant::now();
    let status = Command::new(repo.join("tests/zuul/run.sh"))
        .env("ZUUL_IMAGE_BIN", assert_cmd::cargo::cargo_bin("zuul-image"))
        .env("ZUUL_IMAGE_TEST_STANDIN", &standin)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .status()
        .expect("tests/zuul/run.sh starts");
    let seconds = started.elapsed().as_secs();
    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    let summary: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("Ran ") || line == &"OK" || line.starts_with("FAILED"))
        .collect();
    assert!(
        status.success(),
        "the real-Zuul test failed ({status}) after {seconds} s; whole log `{}`; its end:\n{}",
        log_path.display(),
        tail(&text, 20_000)
    );
    assert!(
        summary
            .iter()
            .any(|line| line.starts_with("Ran ") && !line.starts_with("Ran 0 ")),
        "the real-Zuul test ran no test: {summary:?} (log `{}`)",
        log_path.display()
    );
}

/// The Docker Hub API stand-in (`examples/web_api_standin.rs`), which
/// `cargo test` builds with every target: `target/<profile>/examples/`,
/// next to this test binary's `deps/`.
fn web_api_standin() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(Path::parent).unwrap();
    let standin = profile.join("examples/web_api_standin");
    assert!(
        standin.is_file(),
        "no `{}`: `cargo test` builds it, or `cargo build --example web_api_standin`",
        standin.display()
    );
    standin
}

/// The last `max` bytes of `text`, cut at a line start.
fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let start = text[start..].find('\n').map_or(start, |i| start + i + 1);
    &text[start..]
}
