//! Issue 9, defect 11: the user's documentation tells the truth. The
//! README's first commands are run as written; it links to nothing outside
//! the repository; `--help` says which commands are not built yet.

use crate::support::zuul_image;
use std::path::Path;
use std::process::Command;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The command lines of the README's first ```sh block.
fn first_commands() -> Vec<String> {
    let readme = readme();
    let block = readme
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("README.md opens with a ```sh block");
    block
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// The README's first lines start a buildset registry and stop it again:
/// run literally (only `cargo run --release --` becomes the built binary)
/// in a network and mount namespace of their own, so `127.0.0.1:5000`,
/// `/tmp` and `~` are private to the test. After the stop nothing listens
/// and no supervisor is left. (The suite itself, `./tests/run-all.sh`, is
/// what runs this.)
#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn issue_9_readme_first_commands_start_and_stop_the_same_registry() {
    let commands = first_commands();
    let binary = assert_cmd::cargo::cargo_bin("zuul-image");
    assert!(
        !binary.starts_with("/tmp"),
        "the test hides /tmp; build outside it"
    );
    let (runs, others): (Vec<&String>, Vec<&String>) = commands
        .iter()
        .partition(|line| line.starts_with("cargo run --release -- "));
    let others: Vec<&str> = others.iter().map(|line| line.as_str()).collect();
    assert_eq!(others, ["./tests/run-all.sh"], "{commands:?}");
    assert_eq!(runs.len(), 2, "a start and a stop: {runs:?}");
    let runs: Vec<String> = runs
        .iter()
        .map(|line| line.replacen("cargo run --release --", &binary.display().to_string(), 1))
        .collect();
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(work.path().join("tmp")).unwrap();
    let script = format!(
        r#"set -u
ip link set lo up
# A default route, as a node has (the stop looks up the primary address).
ip addr add 192.0.2.1/32 dev lo && ip route add default dev lo src 192.0.2.1 || exit 20
mount --bind "$1" /tmp || exit 21
# No systemd here: the registry runs under zuul-image's own supervisor.
if [ -d /run/systemd ]; then mount -t tmpfs tmpfs /run/systemd || exit 22; fi
export HOME=/tmp/home
mkdir -p "$HOME"
listening() {{ (exec 3<>/dev/tcp/127.0.0.1/5000) 2>/dev/null; }}
status=0
{start} > /tmp/start.json || status=10
listening || status=11
{stop} || status=12
if listening; then echo "a registry is still listening on 5000" >&2; status=13; fi
for pidfile in $(find /tmp -path '*/run/supervisor.pid'); do
  echo "a supervisor is left: $pidfile" >&2
  kill "$(cat "$pidfile")"
  status=14
done
exit $status"#,
        start = runs[0],
        stop = runs[1],
    );
    let output = Command::new("unshare")
        .args(["--net", "--mount", "--propagation", "private", "bash", "-c"])
        .arg(&script)
        .arg("bash")
        .arg(work.path().join("tmp"))
        .env_remove("NO_COLOR")
        .output()
        .expect("unshare (util-linux) is installed");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
    let start: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.path().join("tmp/start.json")).unwrap())
            .unwrap();
    let registry = &start["secret_data"]["buildset_registry"];
    assert_eq!(registry["host"], "127.0.0.1", "{start}");
    assert_eq!(registry["port"], 5000, "{start}");
    assert!(stderr.contains("stopped"), "{stderr}");
}

/// Every link and path the README names is inside the repository.
#[test]
fn issue_9_readme_names_nothing_outside_the_repository() {
    let readme = readme();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (number, line) in readme.lines().enumerate() {
        assert!(
            !line.contains("../"),
            "README.md:{}: names a file outside the repository: {line}",
            number + 1
        );
    }
    for target in readme.split("](").skip(1) {
        let target = target.split(')').next().unwrap_or_default();
        if target.starts_with("http://")
            || target.starts_with("https://")
            || target.starts_with('#')
        {
            continue;
        }
        assert!(
            root.join(target).exists(),
            "README.md links to missing `{target}`"
        );
    }
}

/// A command that answers "not implemented yet" says "(not built yet)" in
/// its `--help` and in the command list, and one that works does not.
#[test]
fn issue_9_help_says_which_commands_are_not_built_yet() {
    let top = String::from_utf8(zuul_image().arg("--help").output().unwrap().stdout).unwrap();
    let mut not_built = 0;
    for command in ["build-image", "upload-image", "promote-image"] {
        let home = tempfile::tempdir().unwrap();
        let run = zuul_image()
            .arg(command)
            .env("HOME", home.path())
            .current_dir(home.path())
            .output()
            .unwrap();
        let missing = String::from_utf8_lossy(&run.stderr).contains("is not implemented yet");
        let help = zuul_image().args([command, "--help"]).output().unwrap();
        let about = String::from_utf8_lossy(&help.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned();
        let listed = top
            .lines()
            .find(|line| line.trim_start().starts_with(&format!("{command} ")))
            .unwrap_or_default();
        assert_eq!(
            about.contains("(not built yet)"),
            missing,
            "{command}: {about}"
        );
        assert_eq!(
            listed.contains("(not built yet)"),
            missing,
            "{command}: {listed}"
        );
        not_built += usize::from(missing);
    }
    if not_built > 0 {
        assert!(top.contains("not built yet"), "{top}");
    }
}

/// The install section gives both ways onto a machine and the checksum,
/// and `--locked` works: Cargo.lock is current.
#[test]
fn issue_9_readme_has_an_install_section() {
    let readme = readme();
    let install = readme
        .split("\n## Install\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("README.md has an `## Install` section");
    for needle in [
        "cargo install --locked --path .",
        "rustup target add x86_64-unknown-linux-musl",
        "cargo build --release --locked --target x86_64-unknown-linux-musl",
        "static-pie linked",
        "sha256sum zuul-image > zuul-image.sha256",
        "sha256sum -c zuul-image.sha256",
        "executor",
    ] {
        assert!(
            install.contains(needle),
            "the install section lacks `{needle}`"
        );
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    crate::support::run(
        Command::new(cargo)
            .args([
                "metadata",
                "--locked",
                "--offline",
                "--format-version",
                "1",
                "--no-deps",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(std::process::Stdio::null()),
    );
}
