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
