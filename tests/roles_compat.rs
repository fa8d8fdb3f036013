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
