//! Real ansible-playbook runs of the roles-compat playbooks, with Zuul's
//! own `zuul_return` action plugin (from the `zuul` package the test script
//! puts in `target/test-venv`) writing to a job dir's `work/results.json`,
//! as on a Zuul executor.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct ZuulJob {
    pub dir: tempfile::TempDir,
    bin: PathBuf,
    zuul_src: PathBuf,
}

impl ZuulJob {
    /// A job dir with an empty `work/results.json`, as the executor makes.
    pub fn new() -> ZuulJob {
        let bin = PathBuf::from(std::env::var("ZUUL_IMAGE_TEST_ANSIBLE").expect(
            "ZUUL_IMAGE_TEST_ANSIBLE is not set: run the real-component tests with tests/run-all.sh",
        ));
        let zuul_src = PathBuf::from(
            std::env::var("ZUUL_IMAGE_TEST_ZUUL_SRC")
                .expect("ZUUL_IMAGE_TEST_ZUUL_SRC is not set: run tests/run-all.sh"),
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("work")).unwrap();
        std::fs::write(dir.path().join("work/results.json"), "").unwrap();
        // Only zuul_return: Zuul's other action plugins restrict modules in
        // ways that need a whole executor.
        let plugins = dir.path().join("action_plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        std::os::unix::fs::symlink(
            zuul_src.join("zuul/ansible/base/action/zuul_return.py"),
            plugins.join("zuul_return.py"),
        )
        .unwrap();
        let inventory = json!({"all": {"hosts": {"localhost": {
            "ansible_connection": "local",
            "ansible_python_interpreter": bin.join("python").display().to_string(),
        }}}});
        std::fs::write(dir.path().join("inventory.json"), inventory.to_string()).unwrap();
        ZuulJob { dir, bin, zuul_src }
    }

    pub fn results_file(&self) -> PathBuf {
        self.dir.path().join("work/results.json")
    }

    /// What the job returned so far (`{}` halves when nothing).
    pub fn results(&self) -> Value {
        let text = std::fs::read_to_string(self.results_file()).unwrap();
        if text.trim().is_empty() {
            json!({"data": {}, "secret_data": {}})
        } else {
            serde_json::from_str(&text).unwrap()
        }
    }

    /// The `zuul` dict for this job, pointing at its results file.
    pub fn zuul_var(&self) -> Value {
        json!({
            "build": "0b7f3c6e2a9d4e51a8c4d2f61e9b7a30",
            "buildset": "f2d94e18c3b74a6b9e0a51c7d8e3f412",
            "pipeline": "check",
            "change": "1003",
            "patchset": "2",
            "project": {"name": "example/app", "short_name": "app", "src_dir": "src/review.example.org/example/app"},
            "executor": {
                "work_root": self.dir.path().join("work").display().to_string(),
                "result_data_file": self.results_file().display().to_string(),
            },
        })
    }

    /// `ansible-playbook roles-compat/playbooks/<playbook>` with `vars`
    /// (plus `zuul` and the binary's path) as extra vars from a 0600 file.
    pub fn playbook(&self, playbook: &str, vars: Value) -> Output {
        let roles_compat = Path::new(env!("CARGO_MANIFEST_DIR")).join("roles-compat");
        self.playbook_at(&roles_compat.join("playbooks").join(playbook), vars)
    }

    /// `ansible-playbook PATH`, as [`ZuulJob::playbook`].
    pub fn playbook_at(&self, playbook: &Path, mut vars: Value) -> Output {
        let vars_map = vars.as_object_mut().unwrap();
        vars_map.entry("zuul").or_insert_with(|| self.zuul_var());
        vars_map.insert(
            "zuul_image_executable".into(),
            json!(
                assert_cmd::cargo::cargo_bin("zuul-image")
                    .display()
                    .to_string()
            ),
        );
        let vars_file = self.dir.path().join("extra-vars.json");
        std::fs::write(&vars_file, vars.to_string()).unwrap();
        std::fs::set_permissions(
            &vars_file,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        self.ansible("ansible-playbook")
            .arg("-i")
            .arg(self.dir.path().join("inventory.json"))
            .arg("-e")
            .arg(format!("@{}", vars_file.display()))
            .arg(playbook)
            .output()
            .unwrap()
    }

    /// An ansible command with Zuul's environment.
    pub fn ansible(&self, program: &str) -> Command {
        let roles_compat = Path::new(env!("CARGO_MANIFEST_DIR")).join("roles-compat");
        let mut command = Command::new(self.bin.join(program));
        command
            .env("ZUUL_JOBDIR", self.dir.path())
            .env(
                "ANSIBLE_ACTION_PLUGINS",
                self.dir.path().join("action_plugins"),
            )
            .env("ANSIBLE_ROLES_PATH", roles_compat.join("roles"))
            .env("ANSIBLE_LOCAL_TEMP", self.dir.path().join("ansible-tmp"))
            .env("ANSIBLE_NOCOLOR", "1")
            .env("ANSIBLE_HOST_KEY_CHECKING", "0")
            .env("PYTHONPATH", &self.zuul_src);
        command
    }
}

/// Panic with the playbook's output unless it succeeded.
pub fn assert_ok(output: &Output) {
    assert!(
        output.status.success(),
        "ansible-playbook failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
