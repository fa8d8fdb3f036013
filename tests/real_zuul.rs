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

/// `tests/zuul/setup.sh` trusts its markers only when
/// `tests/zuul/venv-ok.py` says the venv still works where it is: a venv
/// that was moved, or copied from another checkout whose paths still
/// exist, or whose interpreter is gone, is made again.
#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn zuul_setup_makes_a_moved_or_broken_venv_again() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let venv = dir.path().join("zuul/venv");
    let src = dir.path().join("zuul/src");
    fake_venv(&venv, Some(&src));
    fake_venv(&venv.join("lib/zuul/ansible/11"), None);
    let check = |venv: &Path, src: &Path| {
        let out = Command::new("/usr/bin/python3")
            .arg(repo.join("tests/zuul/venv-ok.py"))
            .args([venv, src, &venv.join("lib/zuul/ansible")])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(check(&venv, &src), (Some(0), String::new()));

    // Copied from another checkout that still exists: it runs, but the
    // other tree's interpreter and sdist.
    let copy = dir.path().join("copy");
    cp_a(&dir.path().join("zuul"), &copy);
    let (code, why) = check(&copy.join("venv"), &copy.join("src"));
    assert_eq!(code, Some(1), "{why}");
    assert!(
        why.contains("zuul is imported from") || why.contains("outside"),
        "{why}"
    );

    // Moved away: the old paths are gone.
    let moved = dir.path().join("moved");
    std::fs::rename(dir.path().join("zuul"), &moved).unwrap();
    let (code, why) = check(&moved.join("venv"), &moved.join("src"));
    assert_eq!(code, Some(1), "{why}");

    // The executor's Ansible installs are checked too.
    let other = dir.path().join("other");
    fake_venv(&other, Some(&src_for(&other)));
    std::fs::create_dir_all(other.join("lib/zuul")).unwrap();
    cp_a(
        &moved.join("venv/lib/zuul/ansible"),
        &other.join("lib/zuul/ansible"),
    );
    let (code, why) = check(&other, &src_for(&other));
    assert_eq!(code, Some(1), "{why}");
    assert!(why.contains("ansible-playbook"), "{why}");

    // The interpreter is gone.
    std::fs::remove_file(other.join("bin/python")).unwrap();
    let (code, why) = check(&other, &src_for(&other));
    assert_eq!(code, Some(1), "{why}");
    assert!(why.contains("does not run"), "{why}");

    // setup.sh acts on it: an unusable venv is made again, not trusted.
    let setup = std::fs::read_to_string(repo.join("tests/zuul/setup.sh")).unwrap();
    assert!(setup.contains(r#"venv-ok.py "$venv" "$src" 2>&1); then"#));
    assert!(setup.contains(r#"rm -rf "$venv""#));
    assert!(setup.contains(r#"rm -rf "$venv/lib/zuul/ansible" "$venv/.done-ansible""#));
}

/// A venv at `venv` on the system python, like setup.sh's: `pip` and
/// `zuul-manage-ansible` (or `ansible-playbook` without `src`) scripts
/// naming its interpreter, and `src` on its path as an editable install
/// puts it.
fn fake_venv(venv: &Path, src: Option<&Path>) {
    let made = Command::new("/usr/bin/python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(venv)
        .status()
        .unwrap();
    assert!(made.success());
    let scripts: &[&str] = if src.is_some() {
        &["pip", "zuul-manage-ansible"]
    } else {
        &["ansible-playbook"]
    };
    for script in scripts {
        std::fs::write(
            venv.join("bin").join(script),
            format!("#!{}/bin/python\n", venv.display()),
        )
        .unwrap();
    }
    if let Some(src) = src {
        std::fs::create_dir_all(src.join("zuul")).unwrap();
        std::fs::write(src.join("zuul/__init__.py"), "").unwrap();
        let lib = std::fs::read_dir(venv.join("lib")).unwrap();
        for python in lib {
            let site = python.unwrap().path().join("site-packages");
            if site.is_dir() {
                std::fs::write(site.join("zuul-src.pth"), format!("{}\n", src.display())).unwrap();
            }
        }
    }
}

fn src_for(venv: &Path) -> std::path::PathBuf {
    venv.with_file_name(format!(
        "{}-src",
        venv.file_name().unwrap().to_str().unwrap()
    ))
}

fn cp_a(from: &Path, to: &Path) {
    let done = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(done.success());
}
