//! roles-compat: the zuul-jobs role names and playbooks, each a thin call of
//! zuul-image, run by real ansible-playbook with Zuul's own zuul_return.

use crate::support::ansible::{ZuulJob, assert_ok};
use serde_json::json;
use std::path::Path;

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn every_playbook_passes_syntax_check() {
    let job = ZuulJob::new();
    let playbooks = Path::new(env!("CARGO_MANIFEST_DIR")).join("roles-compat/playbooks");
    let mut checked = 0;
    for flavor in std::fs::read_dir(&playbooks).unwrap() {
        for playbook in std::fs::read_dir(flavor.unwrap().path()).unwrap() {
            let playbook = playbook.unwrap().path();
            let output = job
                .ansible("ansible-playbook")
                .arg("--syntax-check")
                .arg("-i")
                .arg(job.dir.path().join("inventory.json"))
                .arg(&playbook)
                .output()
                .unwrap();
            assert_ok(&output);
            checked += 1;
        }
    }
    assert!(checked >= 9, "only {checked} playbooks found");
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn buildset_registry_run_playbook_pauses_through_zuul_return() {
    let job = ZuulJob::new();
    assert_ok(&job.playbook("buildset-registry/run.yaml", json!({})));
    assert_eq!(
        job.results(),
        json!({"data": {"zuul": {"pause": true}}, "secret_data": {}})
    );
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn no_pause_when_a_parent_runs_the_registry() {
    let job = ZuulJob::new();
    let vars = json!({"buildset_registry": {"host": "10.0.0.1", "port": "5000", "username": "zuul", "password": "pw-not-logged"}});
    let output = job.playbook("buildset-registry/run.yaml", vars);
    assert_ok(&output);
    assert_eq!(std::fs::read_to_string(job.results_file()).unwrap(), "");
    let log = String::from_utf8_lossy(&output.stdout);
    assert!(
        !log.contains("pw-not-logged"),
        "the password reached the log:\n{log}"
    );
}

/// The speculative-image flow of a site's buildset-registry job, end to end
/// through the roles-compat playbooks: change A starts its buildset
/// registry, pauses, builds (here: pushes) `example/base:latest` into it,
/// and its post-run pushes it to the intermediate registry as an artifact;
/// change B, behind A, starts its own buildset registry and its pre-run
/// pulls A's artifact into it.
#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn buildset_registry_job_flow_between_two_changes() {
    use crate::support::distribution::Distribution;
    use crate::support::images::{self, Image};
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ansible");
    let intermediate = Distribution::start();
    let work = tempfile::tempdir().unwrap();
    let image = Image::busybox();

    // Change A: registry, pause, image in, post-run push.
    let a = ZuulJob::new();
    let a_registry = json!({
        "buildset_registry_host": "127.0.0.1",
        "buildset_registry_port": crate::support::free_port(),
        "buildset_registry_root": work.path().join("a").display().to_string(),
    });
    let started = a.playbook_at(&fixtures.join("start-registry.yaml"), a_registry.clone());
    assert_ok(&started);
    let log = String::from_utf8_lossy(&started.stdout).into_owned();
    let registry = a.results()["secret_data"]["buildset_registry"].clone();
    let password = registry["password"]
        .as_str()
        .expect("a password")
        .to_owned();
    assert!(
        !log.contains(&password),
        "the password reached the log:\n{log}"
    );
    assert_ok(&a.playbook("buildset-registry/run.yaml", json!({})));
    assert_eq!(a.results()["data"]["zuul"]["pause"], json!(true));

    let registry_dir = work.path().join("a-trust");
    std::fs::create_dir_all(&registry_dir).unwrap();
    std::fs::write(
        registry_dir.join("ca.crt"),
        registry["cert"].as_str().unwrap(),
    )
    .unwrap();
    let auth = work.path().join("a-auth.json");
    let token = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("zuul:{password}"))
    };
    let address = format!("127.0.0.1:{}", registry["port"].as_u64().unwrap());
    std::fs::write(
        &auth,
        json!({"auths": {&address: {"auth": token}}}).to_string(),
    )
    .unwrap();
    let layout = images::image_layout(&work.path().join("layout"), &image);
    images::skopeo_push(
        &layout,
        &format!("{address}/example/base:latest"),
        &registry_dir,
        Some(&auth),
    );

    let mut post_vars = json!({
        "docker_images": [{"context": ".", "repository": "example/base", "tags": ["latest"]}],
        "intermediate_registry": intermediate.intermediate_registry_var(),
        "zuul_success": true,
    });
    assert_ok(&a.playbook("buildset-registry/post.yaml", post_vars.clone()));
    let artifacts = a.results()["data"]["zuul"]["artifacts"].clone();
    let build = a.zuul_var()["build"].as_str().unwrap().to_owned();
    assert_eq!(
        artifacts,
        json!([{
            "name": "example/base:latest",
            "url": format!("docker://{}/example/base:{build}_latest", intermediate.address()),
            "metadata": {"type": "container_image", "repository": "example/base", "tag": "latest"},
        }])
    );

    // Change B, behind A: its own registry, then A's artifact pulled in.
    let b = ZuulJob::new();
    let b_root = work.path().join("b");
    assert_ok(&b.playbook_at(
        &fixtures.join("start-registry.yaml"),
        json!({
            "buildset_registry_host": "127.0.0.1",
            "buildset_registry_port": crate::support::free_port(),
            "buildset_registry_root": b_root.display().to_string(),
        }),
    ));
    let mut zuul = b.zuul_var();
    zuul["artifacts"] = artifacts;
    post_vars["zuul"] = zuul;
    assert_ok(&b.playbook_at(
        &fixtures.join("pull.yaml"),
        json!({"zuul": post_vars["zuul"], "intermediate_registry": intermediate.intermediate_registry_var()}),
    ));
    let b_registry = b.results()["secret_data"]["buildset_registry"].clone();
    let b_trust = work.path().join("b-trust");
    std::fs::create_dir_all(&b_trust).unwrap();
    std::fs::write(b_trust.join("ca.crt"), b_registry["cert"].as_str().unwrap()).unwrap();
    let raw = crate::support::run(
        std::process::Command::new("skopeo")
            .args(["inspect", "--raw", "--cert-dir"])
            .arg(&b_trust)
            .arg(format!(
                "docker://127.0.0.1:{}/example/base:latest",
                b_registry["port"].as_u64().unwrap()
            )),
    );
    assert_eq!(
        images::sha256(raw.as_bytes()),
        image.digest(),
        "B's registry serves A's image"
    );

    for root in [work.path().join("a"), b_root] {
        let _ = crate::support::zuul_image()
            .args(["registry", "stop", "--root"])
            .arg(root)
            .output();
    }
}

/// The variables of each upstream zuul-jobs role (the reference's role
/// pages, zuul-jobs-roles.md §2 and §4), and the family flag its command
/// gets. A role of roles-compat must hand every one of them to zuul-image.
const UPSTREAM_VARS: &[(&str, &[&str], &[&str])] = &[
    (
        "ensure-docker",
        &[
            "use_upstream_docker",
            "docker_group",
            "docker_use_buildset_registry",
            "docker_compose_install",
            "docker_update_channel",
            "docker_download_fqdn",
            "docker_mirror_base_url",
            "docker_distro_packages",
            "docker_upstream_distro_required_packages",
            "docker_upstream_distro_packages",
            "docker_upstream_distro_remove_packages",
            "docker_userland_proxy",
            "docker_insecure_registries",
            "docker_mirror",
            "mirror_fqdn",
            "zuul_site_mirror_fqdn",
            "mirror_info",
            "zuul_site_mirror_info",
            "ansible_user",
            "ansible_default_ipv4",
            "buildset_registry",
        ],
        &["ensure-docker"],
    ),
    (
        "run-buildset-registry",
        &[
            "buildset_registry",
            "buildset_registry_root",
            "buildset_registry_port",
            "buildset_registry_host",
        ],
        &["run-buildset-registry"],
    ),
    (
        "use-buildset-registry",
        &[
            "buildset_registry",
            "buildset_registry_docker_user",
            "buildset_registry_namespaces",
            "buildset_registry_unqualified_registries",
        ],
        &["use-buildset-registry"],
    ),
    (
        "pull-from-intermediate-registry",
        &[
            "zuul",
            "zuul_artifacts",
            "buildset_registry",
            "intermediate_registry",
        ],
        &["pull-from-intermediate"],
    ),
    (
        "push-to-intermediate-registry",
        &[
            "zuul",
            "zuul_success",
            "docker_images",
            "container_images",
            "buildset_registry",
            "intermediate_registry",
        ],
        &["push-to-intermediate"],
    ),
    (
        "pause-buildset-registry",
        &["buildset_registry"],
        &["pause"],
    ),
    (
        "build-docker-image",
        &[
            "zuul",
            "zuul_work_dir",
            "docker_images",
            "docker_dockerfile",
            "docker_registry",
            "docker_use_buildkit",
            "docker_builder_image",
            "buildset_registry",
        ],
        &["build-image", "--family", "docker"],
    ),
    (
        "upload-docker-image",
        &[
            "zuul",
            "zuul_work_dir",
            "docker_images",
            "docker_dockerfile",
            "docker_registry",
            "docker_builder_image",
            "buildset_registry",
            "docker_credentials",
            "upload_docker_image_promote",
        ],
        &["upload-image", "--family", "docker"],
    ),
    (
        "promote-docker-image",
        &["zuul", "docker_images", "docker_credentials"],
        &["promote-image", "--family", "docker"],
    ),
    (
        "build-container-image",
        &[
            "zuul",
            "zuul_work_dir",
            "container_images",
            "container_command",
            "container_filename",
            "container_build_extra_env",
            "container_builder_image",
            "buildset_registry",
        ],
        &["build-image", "--family", "container"],
    ),
    (
        "upload-container-image",
        &[
            "zuul",
            "container_images",
            "container_command",
            "container_registry_credentials",
            "upload_container_image_promote",
            "promote_container_image_method",
        ],
        &["upload-image", "--family", "container"],
    ),
    (
        "promote-container-image",
        &[
            "zuul",
            "container_images",
            "container_registry_credentials",
            "promote_container_image_method",
            "promote_container_image_api",
            "promote_container_image_pipeline",
            "promote_container_image_job",
            "promote_container_image_query",
            "remove_registry_tag_regex",
            "remove_registry_tag_age",
            "remove_registry_tag_api_url",
        ],
        &["promote-image", "--family", "container"],
    ),
];

/// The `vars:` of the task of `role` that includes the shared zuul-image
/// role.
fn zuul_image_call(role: &str) -> serde_yaml_ng::Mapping {
    find_zuul_image_call(role).unwrap_or_else(|| panic!("{role} includes no zuul-image role"))
}

/// The `vars:` of the task of `role` that includes the shared zuul-image
/// role, if it has one.
fn find_zuul_image_call(role: &str) -> Option<serde_yaml_ng::Mapping> {
    let path = roles_dir().join(role).join("tasks/main.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let tasks: Vec<serde_yaml_ng::Value> = serde_yaml_ng::from_str(&text).unwrap();
    tasks
        .iter()
        .find(|task| task["ansible.builtin.include_role"]["name"].as_str() == Some("zuul-image"))
        .and_then(|task| task["vars"].as_mapping().cloned())
}

fn roles_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("roles-compat/roles")
}

/// The names in `zuul_image_vars`: a list, or a Jinja expression whose
/// quoted names are the list (ensure-docker adds the buildset registry's
/// only when `docker_use_buildset_registry` is set).
fn forwarded(vars: &serde_yaml_ng::Mapping) -> Vec<String> {
    match &vars["zuul_image_vars"] {
        serde_yaml_ng::Value::Sequence(list) => list
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect(),
        serde_yaml_ng::Value::String(expr) => expr
            .split('\'')
            .skip(1)
            .step_by(2)
            .filter(|word| {
                word.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            })
            .map(str::to_owned)
            .collect(),
        other => panic!("zuul_image_vars is {other:?}"),
    }
}

#[test]
fn every_role_forwards_its_upstream_variables() {
    let mut missing = Vec::new();
    for (role, upstream, command) in UPSTREAM_VARS {
        let vars = zuul_image_call(role);
        let names = forwarded(&vars);
        for name in *upstream {
            if !names.iter().any(|n| n == name) {
                missing.push(format!("{role}: {name}"));
            }
        }
        let given: Vec<&str> = vars["zuul_image_command"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|word| word.as_str().unwrap())
            .collect();
        assert_eq!(&given, command, "{role} runs the wrong command");
    }
    assert!(missing.is_empty(), "variables not forwarded: {missing:?}");
}

/// Every role has a README.md that lists each variable it hands to
/// zuul-image, each upstream variable and each of its defaults, so the
/// READMEs cannot fall behind the roles.
#[test]
fn every_role_has_a_readme_listing_its_variables() {
    let mut missing = Vec::new();
    let mut roles = 0;
    for entry in std::fs::read_dir(roles_dir()).unwrap() {
        let dir = entry.unwrap().path();
        let role = dir.file_name().unwrap().to_str().unwrap().to_owned();
        roles += 1;
        let Ok(readme) = std::fs::read_to_string(dir.join("README.md")) else {
            missing.push(format!("{role}: no README.md"));
            continue;
        };
        let mut names: Vec<String> = find_zuul_image_call(&role)
            .map(|vars| forwarded(&vars))
            .unwrap_or_default();
        if let Some((_, upstream, _)) = UPSTREAM_VARS.iter().find(|(r, _, _)| *r == role) {
            names.extend(upstream.iter().map(|name| (*name).to_owned()));
        }
        if let Ok(text) = std::fs::read_to_string(dir.join("defaults/main.yaml")) {
            let defaults: serde_yaml_ng::Mapping = serde_yaml_ng::from_str(&text).unwrap();
            names.extend(defaults.keys().map(|key| key.as_str().unwrap().to_owned()));
        }
        for name in names {
            if !readme.contains(&format!("`{name}`")) {
                missing.push(format!("{role}: `{name}`"));
            }
        }
    }
    assert!(roles >= 15, "only {roles} roles");
    assert!(missing.is_empty(), "not in the roles' READMEs: {missing:?}");
}

/// The intermediate registry's credentials stay on the executor: only
/// roles run on `localhost` may hand `intermediate_registry` over, and no
/// role does so implicitly.
#[test]
fn intermediate_registry_goes_only_to_executor_roles() {
    let playbooks = Path::new(env!("CARGO_MANIFEST_DIR")).join("roles-compat/playbooks");
    let mut checked = 0;
    for flavor in std::fs::read_dir(&playbooks).unwrap() {
        for playbook in std::fs::read_dir(flavor.unwrap().path()).unwrap() {
            let path = playbook.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let plays: Vec<serde_yaml_ng::Value> = serde_yaml_ng::from_str(&text).unwrap();
            for play in &plays {
                for role in play["roles"].as_sequence().into_iter().flatten() {
                    let name = role.as_str().or_else(|| role["role"].as_str()).unwrap();
                    let Some((_, upstream, _)) = UPSTREAM_VARS.iter().find(|(r, _, _)| *r == name)
                    else {
                        continue;
                    };
                    checked += 1;
                    if upstream.contains(&"intermediate_registry") {
                        assert_eq!(
                            play["hosts"].as_str(),
                            Some("localhost"),
                            "{}: {name} must run on the executor",
                            path.display()
                        );
                    }
                }
            }
        }
    }
    assert!(checked >= 10, "only {checked} role uses found");
    for (role, upstream, _) in UPSTREAM_VARS {
        let names = forwarded(&zuul_image_call(role));
        assert_eq!(
            names.iter().any(|n| n == "intermediate_registry"),
            upstream.contains(&"intermediate_registry"),
            "{role}"
        );
    }
}

/// What ensure-zuul-image needs: the built binary, its sha256, a playbook.
struct EnsureZuulImage {
    job: ZuulJob,
    binary: Vec<u8>,
    sha256: String,
    install: std::path::PathBuf,
    playbook: std::path::PathBuf,
}

impl EnsureZuulImage {
    fn new() -> EnsureZuulImage {
        let job = ZuulJob::new();
        let binary = std::fs::read(assert_cmd::cargo::cargo_bin("zuul-image")).unwrap();
        let sha256 = crate::support::images::sha256(&binary)
            .trim_start_matches("sha256:")
            .to_owned();
        let install = job.dir.path().join("bin/zuul-image");
        std::fs::create_dir_all(install.parent().unwrap()).unwrap();
        let playbook = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/ansible/ensure-zuul-image.yaml");
        EnsureZuulImage {
            job,
            binary,
            sha256,
            install,
            playbook,
        }
    }

    fn run(&self, extra: serde_json::Value) -> std::process::Output {
        let mut vars = json!({
            "zuul_image_install_path": self.install.display().to_string(),
            "zuul_image_install_become": false,
            "zuul_image_source": assert_cmd::cargo::cargo_bin("zuul-image").display().to_string(),
            "zuul_image_sha256": self.sha256,
        });
        // A null removes a variable (Ansible counts a null one as defined).
        for (key, value) in extra.as_object().unwrap() {
            if value.is_null() {
                vars.as_object_mut().unwrap().remove(key);
            } else {
                vars[key] = value.clone();
            }
        }
        self.job.playbook_at(&self.playbook, vars)
    }

    fn modified(&self) -> std::time::SystemTime {
        std::fs::metadata(&self.install)
            .unwrap()
            .modified()
            .unwrap()
    }
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn ensure_zuul_image_copies_checks_and_skips() {
    use std::os::unix::fs::PermissionsExt;
    let t = EnsureZuulImage::new();
    assert_ok(&t.run(json!({})));
    assert!(std::fs::read(&t.install).unwrap() == t.binary);
    let mode = std::fs::metadata(&t.install).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755);
    let installed = t.modified();

    // The same file is there: nothing is copied.
    assert_ok(&t.run(json!({})));
    assert_eq!(t.modified(), installed, "the same binary was copied again");
    // The same version is there: nothing is copied, whatever the sha256.
    let version = json!({"zuul_image_version": env!("CARGO_PKG_VERSION"), "zuul_image_sha256": "0".repeat(64)});
    assert_ok(&t.run(version));
    assert_eq!(t.modified(), installed, "the same version was replaced");

    // Another version is wanted and the sha256 does not match: refused,
    // the installed binary is kept and no copy is left behind.
    let output =
        t.run(json!({"zuul_image_version": "0.0.0-other", "zuul_image_sha256": "0".repeat(64)}));
    assert!(!output.status.success(), "a wrong sha256 was accepted");
    let log = String::from_utf8_lossy(&output.stdout);
    assert!(log.contains("not zuul_image_sha256"), "{log}");
    assert_eq!(t.modified(), installed);
    assert!(!t.install.with_extension("new").exists());
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn ensure_zuul_image_downloads_from_a_url() {
    let t = EnsureZuulImage::new();
    let served = t.job.dir.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    std::fs::write(served.join("zuul-image"), &t.binary).unwrap();
    let port = crate::support::free_port();
    let python = std::env::var("ZUUL_IMAGE_TEST_ANSIBLE").unwrap() + "/python";
    let mut server = std::process::Command::new(python)
        .args(["-m", "http.server", "--bind", "127.0.0.1"])
        .arg(port.to_string())
        .arg("--directory")
        .arg(&served)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    crate::support::wait_until(
        "the HTTP server",
        std::time::Duration::from_secs(10),
        || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
    );
    let url = format!("http://127.0.0.1:{port}/zuul-image");
    let wrong = t.run(json!({"zuul_image_source": null, "zuul_image_url": url, "zuul_image_sha256": "0".repeat(64)}));
    let refused = !wrong.status.success() && !t.install.exists();
    let right = t.run(json!({"zuul_image_source": null, "zuul_image_url": url}));
    let _ = server.kill();
    let _ = server.wait();
    assert!(refused, "a download with another sha256 was installed");
    assert_ok(&right);
    assert!(std::fs::read(&t.install).unwrap() == t.binary);
}
