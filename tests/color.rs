//! Issue 9, defect 5: colour on stderr only when it is a terminal
//! (`--color auto`, the default), never with `--color never` or
//! `NO_COLOR`, always with `--color always`; warnings, `-v` tracing lines
//! and the buildset registry's `run/registry.log` are plain text in pipes
//! and files.

use crate::run_buildset_registry::kill_server;
use crate::support::buildset::BuildsetRegistry;
use crate::support::wait_until;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const ESC: char = '\x1b';

fn binary() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("zuul-image")
}

/// `-v pause` with nothing to return into an existing results file: one
/// `DEBUG` tracing line and one status line on stderr.
fn verbose_pause(dir: &Path, color: &[&str]) -> Vec<String> {
    let results = dir.join("results.json");
    std::fs::write(&results, "{}").unwrap();
    let mut args: Vec<String> = vec!["-v".into()];
    args.extend(color.iter().map(|arg| arg.to_string()));
    args.extend([
        "pause".into(),
        "-e".into(),
        r#"buildset_registry={"host":"10.0.0.1","port":5000}"#.into(),
        "--results".into(),
        results.display().to_string(),
    ]);
    args
}

/// Run `zuul-image ARGS` with stderr in a pipe, without `NO_COLOR`.
fn stderr_in_a_pipe(args: &[String]) -> String {
    let output = Command::new(binary())
        .env_remove("NO_COLOR")
        .env_remove("ZUUL_IMAGE_LOG")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Run `zuul-image ARGS` on a pseudo-terminal (`script`); what the
/// terminal showed. `no_color` sets `NO_COLOR=1`.
fn on_a_terminal(args: &[String], no_color: bool) -> String {
    let quoted: Vec<String> = std::iter::once(binary().display().to_string())
        .chain(args.iter().cloned())
        .map(|arg| format!("'{}'", arg.replace('\'', r"'\''")))
        .collect();
    let mut command = Command::new("script");
    command
        .args(["-qec", &quoted.join(" "), "/dev/null"])
        .env_remove("NO_COLOR")
        .env_remove("ZUUL_IMAGE_LOG")
        .stdin(Stdio::null());
    if no_color {
        command.env("NO_COLOR", "1");
    }
    let output = command.output().expect("script (util-linux) is installed");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn issue_9_no_escape_codes_in_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let text = stderr_in_a_pipe(&verbose_pause(dir.path(), &[]));
    assert!(text.contains("DEBUG nothing to return"), "{text:?}");
    assert!(!text.contains(ESC), "{text:?}");
    // --color always forces colour, even in a pipe.
    let text = stderr_in_a_pipe(&verbose_pause(dir.path(), &["--color", "always"]));
    assert!(text.contains(&format!("{ESC}[")), "{text:?}");
}

#[test]
fn issue_9_no_escape_codes_in_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let status = Command::new(binary())
        .env_remove("NO_COLOR")
        .env_remove("ZUUL_IMAGE_LOG")
        .args(verbose_pause(dir.path(), &[]))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("DEBUG nothing to return"), "{text:?}");
    assert!(!text.contains(ESC), "{text:?}");
}

#[test]
fn issue_9_color_auto_colours_a_terminal_only_without_no_color() {
    let dir = tempfile::tempdir().unwrap();
    let text = on_a_terminal(&verbose_pause(dir.path(), &[]), false);
    assert!(text.contains("nothing to return"), "{text:?}");
    assert!(text.contains(&format!("{ESC}[")), "{text:?}");
    let text = on_a_terminal(&verbose_pause(dir.path(), &[]), true);
    assert!(text.contains("DEBUG nothing to return"), "{text:?}");
    assert!(!text.contains(ESC), "{text:?}");
    let text = on_a_terminal(&verbose_pause(dir.path(), &["--color", "never"]), false);
    assert!(text.contains("DEBUG nothing to return"), "{text:?}");
    assert!(!text.contains(ESC), "{text:?}");
}

/// A server this test started, stopped with SIGTERM at the latest when the
/// test ends (a failed assertion must not leave it running).
struct Stopped(std::process::Child);

impl Stopped {
    fn stop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.0.wait();
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            self.stop();
        }
    }
}

/// A warning of the printer (an open registry beyond loopback) and the
/// request tracing of `registry serve -v`, in a pipe.
#[test]
fn issue_9_server_warnings_are_plain_in_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let port = crate::support::free_port();
    let child = Command::new(binary())
        .env_remove("NO_COLOR")
        .env_remove("ZUUL_IMAGE_LOG")
        .args(["-v", "registry", "serve", "--listen"])
        .arg(format!("0.0.0.0:{port}"))
        .arg("--storage")
        .arg(dir.path().join("storage"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut server = Stopped(child);
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_until("the registry to listen", Duration::from_secs(10), || {
        read().contains("registry listening")
    });
    // An unknown manifest: the server traces the error it answers.
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .write_all(b"GET /v2/nope/manifests/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    wait_until("the request to be traced", Duration::from_secs(10), || {
        read().contains("DEBUG")
    });
    server.stop();
    let text = read();
    assert!(
        text.contains("warning: no users are configured"),
        "{text:?}"
    );
    assert!(!text.contains(ESC), "{text:?}");
}

/// The supervisor's warning when the registry dies lands in
/// `run/registry.log` without escape codes.
#[test]
fn issue_9_registry_log_has_no_escape_codes() {
    let registry = BuildsetRegistry::start_with(|command| {
        command.env_remove("NO_COLOR");
    });
    kill_server(&registry);
    wait_until("the supervisor's warning", Duration::from_secs(10), || {
        registry.log().contains("registry exited")
    });
    let log = registry.log();
    assert!(log.contains("WARN"), "{log:?}");
    assert!(!log.contains(ESC), "{log:?}");
}
