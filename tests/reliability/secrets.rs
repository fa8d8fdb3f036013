//! Secrets: every command at `-vv` with known passwords in its variables
//! (the buildset registry's, the intermediate registry's, `docker_credentials`
//! for a final registry upload-image and promote-image publish to,
//! `container_registry_credentials`, and `registry.yaml` users for `registry
//! serve`). A run fails when a password, or `user:password` in base64,
//! appears in stdout outside `secret_data`, in stderr, in the argv or
//! environment of any process of the run while it runs (`/proc/*/cmdline`
//! and `/proc/*/environ` of the process tree, sampled every 10 ms, detached
//! registry processes included), or in a file the run left that is not
//! 0600.
//!
//! The commands are a table ([`cases`]): a new command is one line.

use crate::support::buildset::BuildsetRegistry;
use crate::support::distribution::Distribution;
use crate::support::images;
use crate::support::load::report;
use crate::support::real_host::HostsAlias;
use crate::support::served::random_password;
use crate::support::{REAL, free_port};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BUILD: &str = "5ec2e75ec2e75ec2e75ec2e75ec2e75e";

/// One command of the table.
struct Case {
    name: &'static str,
    args: Vec<String>,
    /// Whether it must succeed.
    succeeds: bool,
    /// Environment variables it runs with (an engine's private storage).
    env: Vec<(String, String)>,
    /// Stop it after this long with SIGTERM (servers), else wait.
    stop_after: Option<Duration>,
    /// Logins to send it while it runs (a server's port, and `user:password`
    /// pairs, right and wrong), so its `-vv` log of them is checked too.
    logins: Option<(u16, Vec<String>)>,
}

fn case(name: &'static str, args: &[&str]) -> Case {
    Case {
        name,
        args: args.iter().map(|arg| (*arg).to_owned()).collect(),
        succeeds: true,
        env: Vec::new(),
        stop_after: None,
        logins: None,
    }
}

/// Send `GET /v2/` with each Basic login to 127.0.0.1:`port` once it
/// listens.
fn send_logins(port: u16, logins: Vec<String>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        crate::support::wait_until("the server to listen", Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        for login in logins {
            let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            let basic = base64::engine::general_purpose::STANDARD.encode(login);
            write!(
                stream,
                "GET /v2/ HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {basic}\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            let _ = stream.read_to_end(&mut Vec::new());
        }
    })
}

/// Every process whose parent chain reaches `root_pid`, or whose command
/// line names `marker` (detached supervisors).
fn tree(root_pid: u32, marker: &str) -> Vec<u32> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let ppid = stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().nth(1))
            .and_then(|ppid| ppid.parse::<u32>().ok())
            .unwrap_or(0);
        parents.push((pid, ppid));
    }
    let mut found = vec![root_pid];
    let mut grew = true;
    while grew {
        grew = false;
        for &(pid, ppid) in &parents {
            if found.contains(&ppid) && !found.contains(&pid) {
                found.push(pid);
                grew = true;
            }
        }
    }
    for &(pid, _) in &parents {
        let line = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if !found.contains(&pid) && String::from_utf8_lossy(&line).contains(marker) {
            found.push(pid);
        }
    }
    found
}

/// What a run showed: stdout, stderr and every argv and environment seen.
struct Seen {
    stdout: Vec<u8>,
    stderr: String,
    processes: BTreeSet<String>,
    samples: usize,
    success: bool,
}

fn run(case: &Case, home: &Path, marker: &str) -> Seen {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("zuul-image"))
        .arg("-vv")
        .args(&case.args)
        .env_remove("ZUUL_IMAGE_LOG")
        .env_remove("DOCKER_HOST")
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .envs(case.env.iter().map(|(key, value)| (key, value)))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let logins = case
        .logins
        .clone()
        .map(|(port, logins)| send_logins(port, logins));
    let mut processes = BTreeSet::new();
    let mut samples = 0;
    let started = Instant::now();
    let status = loop {
        for pid in tree(child.id(), marker) {
            for file in ["cmdline", "environ"] {
                if let Ok(bytes) = std::fs::read(format!("/proc/{pid}/{file}")) {
                    processes.insert(String::from_utf8_lossy(&bytes).replace('\0', " "));
                }
            }
        }
        samples += 1;
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        let logged_in = logins.as_ref().is_none_or(|logins| logins.is_finished());
        if logged_in
            && case
                .stop_after
                .is_some_and(|after| started.elapsed() > after)
        {
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            )
            .unwrap();
            break child.wait().unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{} hangs",
            case.name
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    if let Some(logins) = logins {
        logins.join().expect("the logins were sent");
    }
    Seen {
        stdout: std::fs::read(out).unwrap(),
        stderr: std::fs::read_to_string(err).unwrap(),
        processes,
        samples,
        success: status.success() || case.stop_after.is_some(),
    }
}

/// Each secret, and `user:secret` in base64 as auth files hold it.
fn forms(secrets: &[(String, String)]) -> Vec<String> {
    let mut forms = Vec::new();
    for (user, secret) in secrets {
        forms.push(secret.clone());
        forms.push(base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}")));
    }
    forms
}

/// Files under `dir` holding a secret must be 0600 (or stricter).
fn check_files(name: &str, dir: &Path, forms: &[String]) -> usize {
    let mut checked = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            if !meta.is_file() || meta.len() > 1 << 20 {
                continue;
            }
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            if forms.iter().any(|form| text.contains(form)) {
                checked += 1;
                assert_eq!(
                    meta.permissions().mode() & 0o077,
                    0,
                    "{name}: `{}` holds a secret with mode {:o}",
                    path.display(),
                    meta.permissions().mode() & 0o777
                );
            }
        }
    }
    checked
}

fn check(name: &str, seen: &Seen, forms: &[String]) {
    let stdout = match serde_json::from_slice::<Value>(&seen.stdout) {
        Ok(mut value) => {
            if let Some(map) = value.as_object_mut() {
                map.remove("secret_data");
            }
            value.to_string()
        }
        Err(_) => String::from_utf8_lossy(&seen.stdout).into_owned(),
    };
    for form in forms {
        assert!(
            !stdout.contains(form),
            "{name}: a secret in stdout:\n{stdout}"
        );
        assert!(
            !seen.stderr.contains(form),
            "{name}: a secret in stderr:\n{}",
            seen.stderr
        );
        for process in &seen.processes {
            assert!(
                !process.contains(form),
                "{name}: a secret in a process's argv or environment: {process}"
            );
        }
    }
}

fn write_private(path: &Path, text: &str) -> String {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path.display().to_string()
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn no_command_at_vv_shows_a_password() {
    let _ = REAL;
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let intermediate = Distribution::start();
    // The buildset registry the job's commands use (its password is made
    // by run-buildset-registry, below, for its own row).
    let buildset = BuildsetRegistry::start();
    let layout = images::image_layout(&work.path().join("layout"), &images::Image::busybox());
    buildset.push(&layout, "example/app:latest");

    // The final registry upload-image and promote-image publish to.
    let target = Distribution::start();
    let registry_password = format!("quay-{}", random_password());
    let yaml_password = format!("yaml-{}", random_password());
    let mut secrets = vec![
        (buildset.username.clone(), buildset.password.clone()),
        (intermediate.username.clone(), intermediate.password.clone()),
        (target.username.clone(), target.password.clone()),
        ("quayuser".to_owned(), registry_password.clone()),
        ("yamluser".to_owned(), yaml_password.clone()),
    ];
    let mut vars = json!({
        "zuul": {"build": BUILD, "pipeline": "gate", "change": "1", "patchset": "1"},
        "buildset_registry": buildset.value,
        "intermediate_registry": intermediate.intermediate_registry_var(),
        "docker_credentials": {
            "username": target.username, "password": target.password, "cert": target.certs.ca_pem,
        },
        "container_registry_credentials": {"quay.io": {"username": "quayuser", "password": registry_password}},
        "container_images": [{"repository": "example/app", "tags": ["latest"]}],
    });
    let vars_file = |vars: &Value| write_private(&work.path().join("vars.json"), &vars.to_string());

    // A root for use-buildset-registry's host files, a registry.yaml with a
    // user for `registry serve`, a root for run-buildset-registry.
    let host_root = work.path().join("host");
    crate::support::write_passwd(&host_root);
    let serve_dir = work.path().join("serve");
    std::fs::create_dir_all(&serve_dir).unwrap();
    let serve_port = free_port();
    let serve_config = write_private(
        &serve_dir.join("registry.yaml"),
        &format!(
            "listen: 127.0.0.1:{serve_port}\nroot: storage\nusers:\n  - name: yamluser\n    password: {yaml_password}\n    access: write\n"
        ),
    );
    // A build context and a private containers-storage for buildah.
    let build_dir = work.path().join("build");
    std::fs::create_dir_all(build_dir.join("app")).unwrap();
    std::fs::copy("/bin/busybox", build_dir.join("app/busybox")).unwrap();
    std::fs::write(
        build_dir.join("app/Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\n",
    )
    .unwrap();
    let engine_storage = work.path().join("engine");
    let storage_conf = engine_storage.join("storage.conf");
    std::fs::create_dir_all(&engine_storage).unwrap();
    std::fs::write(
        &storage_conf,
        format!(
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"{0}/storage\"\nrunroot = \"{0}/run\"\n",
            engine_storage.display()
        ),
    )
    .unwrap();
    let _alias = HostsAlias::add("127.0.0.1\tzuul-jobs.buildset-registry\n");
    let bsr_root = work.path().join("bsr");
    let bsr_port = free_port().to_string();
    let results = work.path().join("results.json");

    let file = vars_file(&vars);
    let mut cases = vec![
        case(
            "run-buildset-registry",
            &[
                "run-buildset-registry",
                "--host",
                "127.0.0.1",
                "--port",
                &bsr_port,
                "--root",
                &bsr_root.display().to_string(),
            ],
        ),
        case(
            "use-buildset-registry",
            &[
                "--vars",
                &file,
                "use-buildset-registry",
                "--root",
                &host_root.display().to_string(),
            ],
        ),
        case(
            "push-to-intermediate",
            &[
                "--vars",
                &file,
                "--results",
                &results.display().to_string(),
                "push-to-intermediate",
            ],
        ),
        case(
            "pull-from-intermediate",
            &["--vars", &file, "pull-from-intermediate"],
        ),
        case("pause", &["--vars", &file, "pause"]),
        Case {
            stop_after: Some(Duration::from_secs(3)),
            ..case(
                "registry serve",
                &["registry", "serve", "--config", &serve_config],
            )
        },
        Case {
            env: vec![
                (
                    "CONTAINERS_STORAGE_CONF".into(),
                    storage_conf.display().to_string(),
                ),
                ("BUILDAH_ISOLATION".into(), "chroot".into()),
            ],
            ..case(
                "build-image",
                &[
                    "--vars",
                    &file,
                    "build-image",
                    "--work-dir",
                    &build_dir.display().to_string(),
                ],
            )
        },
        case(
            "upload-image",
            &["--vars", &file, "upload-image", "--family", "docker"],
        ),
        case(
            "promote-image",
            &["--vars", &file, "promote-image", "--family", "docker"],
        ),
    ];

    let mut rows = Vec::new();
    for case in &mut cases {
        if case.name == "pull-from-intermediate" {
            // The artifacts push-to-intermediate returned.
            let returned: Value =
                serde_json::from_slice(&std::fs::read(&results).unwrap()).unwrap();
            vars["zuul"]["artifacts"] = returned["data"]["zuul"]["artifacts"].clone();
            vars_file(&vars);
        }
        if case.name == "build-image" {
            // buildah builds and pushes an image of its own to the
            // buildset registry.
            vars["container_images"] = json!([
                {"context": "app", "repository": "quay.io/example/built", "tags": ["latest"]},
            ]);
            vars["container_command"] = json!("buildah");
            vars_file(&vars);
        }
        if case.name == "upload-image" {
            // The docker family publishes the tested image to `target`.
            vars["docker_registry"] = json!(target.address());
            vars["docker_images"] = json!([{"repository": "example/app", "tags": ["latest"]}]);
            vars_file(&vars);
        }
        let seen = run(case, &home, &bsr_root.display().to_string());
        assert!(
            seen.success || !case.succeeds,
            "{} failed:\n{}",
            case.name,
            seen.stderr
        );
        if case.name == "run-buildset-registry" {
            let envelope: Value = serde_json::from_slice(&seen.stdout).unwrap();
            let value = &envelope["secret_data"]["buildset_registry"];
            secrets.push((
                value["username"].as_str().unwrap().to_owned(),
                value["password"].as_str().unwrap().to_owned(),
            ));
            // Its detached processes, sampled again now that they run.
            let more = run(&case_of_ps(), &home, &bsr_root.display().to_string());
            check(case.name, &more, &forms(&secrets));
        }
        let forms = forms(&secrets);
        check(case.name, &seen, &forms);
        // The whole work dir: home, host root, both registry roots, results.
        let files = check_files(case.name, work.path(), &forms);
        rows.push(format!(
            "{} ({} samples, {} argv/environ seen, {} files with a secret, all 0600)",
            case.name,
            seen.samples,
            seen.processes.len(),
            files
        ));
    }
    assert!(
        images::raw_manifest(&target, "example/app:latest").is_some(),
        "upload-image and promote-image published example/app:latest"
    );
    let _ = Command::new(assert_cmd::cargo::cargo_bin("zuul-image"))
        .args(["registry", "stop", "--root"])
        .arg(&bsr_root)
        .output();
    report(&format!(
        "secrets at -vv, {} passwords (plain and base64 user:password) checked in stdout \
         outside secret_data, stderr, argv/environ and file modes: {}",
        secrets.len(),
        rows.join("; ")
    ));
}

/// A harmless run (`--version`) used only to sample the detached
/// processes of a buildset registry while they run.
fn case_of_ps() -> Case {
    Case {
        name: "run-buildset-registry (detached processes)",
        args: vec!["--version".into()],
        succeeds: true,
        env: Vec::new(),
        stop_after: None,
        logins: None,
    }
}
