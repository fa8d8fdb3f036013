//! One typed input struct per command, built from the variables, the
//! command's flags and the captured [`Env`] before anything happens — the
//! only place role variables are parsed. Each builder reads only the
//! variables its command uses (through [`Vars::section`] or the typed views
//! in `zuul::images`, `zuul::registries`, `zuul::artifacts`), so a malformed
//! variable fails the commands that read it and no other. Flags win over
//! variables; errors are [`Error`]s naming the key path, the flag or the
//! file (exit 2).
//!
//! Pure apart from reading this job's results file (the `buildset_registry`
//! an earlier command of the same job returned) and telling whether a
//! directory given is a file. Host facts (the default route's MTU, the
//! primary IP) are passed in or left to `host/`.
//!
//! | command | builder |
//! |---|---|
//! | `pause` | [`run_registry::Pause`] |
//! | `run-buildset-registry` | [`run_registry::RunRegistry`] |
//! | `use-buildset-registry` | [`use_registry::UseBuildsetRegistry`] |
//! | `ensure-docker` | [`ensure_docker::EnsureDocker`] |
//! | `push-to-intermediate` | [`intermediate::Push`] |
//! | `pull-from-intermediate` | [`intermediate::Pull`] |
//! | `build-image` | [`build::Build`] |
//! | `upload-image` | [`upload::Upload`] (images: [`publish::Publish`]) |
//! | `promote-image` | [`promote::Promote`] (images: [`publish::Publish`]) |

pub mod build;
pub mod ensure_docker;
pub mod env;
pub mod family;
pub mod intermediate;
pub mod promote;
pub mod publish;
pub mod run_registry;
pub mod upload;
pub mod use_registry;

pub use env::Env;

use super::Error;
use super::de::opt_string;
use super::job::Executor;
use super::registries::{BUILDSET_REGISTRY, BuildsetRegistry};
use super::results;
use super::vars::Vars;
use crate::engine::docker::DockerHost;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// What every builder reads from.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    pub vars: &'a Vars,
    pub env: &'a Env,
    /// `--results FILE`.
    pub results: Option<&'a Path>,
}

/// The parts of the `zuul` dict the builders read; its other keys are not
/// looked at.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ZuulVars {
    #[serde(deserialize_with = "opt_string")]
    pub build: Option<String>,
    pub executor: Option<Executor>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct JobVars {
    zuul: ZuulVars,
}

impl ZuulVars {
    /// `zuul.build` and `zuul.executor`, validated.
    pub fn from_vars(vars: &Vars) -> Result<ZuulVars, Error> {
        Ok(vars.section::<JobVars>()?.zuul)
    }
}

impl Sources<'_> {
    /// The results file to read earlier return data from: `--results`,
    /// else `zuul.executor.result_data_file`.
    pub fn results_file(&self, zuul: &ZuulVars) -> Option<PathBuf> {
        self.results
            .map(Path::to_owned)
            .or_else(|| zuul.executor.as_ref()?.result_data_file())
    }

    /// `buildset_registry` from the variable, else from
    /// `secret_data.buildset_registry` of this job's results file (the case
    /// where `run-buildset-registry` ran earlier in the same job); a
    /// `Missing` error naming `command` when neither has it.
    pub fn require_buildset_registry(
        &self,
        zuul: &ZuulVars,
        command: &str,
    ) -> Result<BuildsetRegistry, Error> {
        if let Some(registry) = buildset_registry_var(self.vars)? {
            return Ok(registry);
        }
        let missing = |results: Option<&Path>| {
            Error::NoBuildsetRegistry {
            command: command.into(),
            looked: match results {
                None => ", and no results file was given to look in (`--results FILE` or `zuul.executor.result_data_file`)".into(),
                Some(file) if !file.exists() => format!(
                    ", and the results file `{}` does not exist",
                    file.display()
                ),
                Some(file) => format!(
                    ", nor in `secret_data` of the results file `{}`",
                    file.display()
                ),
            },
        }
        };
        let file = self.results_file(zuul).ok_or_else(|| missing(None))?;
        let returned = results::read(&file)?;
        let value = returned
            .secret_data
            .get(BUILDSET_REGISTRY)
            .ok_or_else(|| missing(Some(&file)))?;
        BuildsetRegistry::from_value(
            &format!("secret_data.{BUILDSET_REGISTRY}"),
            value,
            Some(file.display().to_string()),
        )
    }
}

impl Sources<'_> {
    /// `buildset_registry` from the variable, else from this job's results
    /// file when that file exists, is not empty and holds
    /// `secret_data.buildset_registry` (the build roles' rule); `None`
    /// otherwise: the build runs without a buildset registry.
    pub fn optional_buildset_registry(
        &self,
        zuul: &ZuulVars,
    ) -> Result<Option<BuildsetRegistry>, Error> {
        if let Some(registry) = buildset_registry_var(self.vars)? {
            return Ok(Some(registry));
        }
        let Some(file) = self.results_file(zuul) else {
            return Ok(None);
        };
        let returned = results::read(&file)?;
        let Some(value) = returned.secret_data.get(BUILDSET_REGISTRY) else {
            return Ok(None);
        };
        BuildsetRegistry::from_value(
            &format!("secret_data.{BUILDSET_REGISTRY}"),
            value,
            Some(file.display().to_string()),
        )
        .map(Some)
    }
}

/// The `buildset_registry` variable, validated; `None` when it is not set.
pub fn buildset_registry_var(vars: &Vars) -> Result<Option<BuildsetRegistry>, Error> {
    let Some(value) = vars.get(BUILDSET_REGISTRY) else {
        return Ok(None);
    };
    let origin = vars.origin(BUILDSET_REGISTRY).map(str::to_owned);
    BuildsetRegistry::from_value(BUILDSET_REGISTRY, value, origin).map(Some)
}

/// Which Docker daemon a host command talks to: `--docker-host` (else the
/// default socket under `--root`) and its pidfile.
#[derive(Debug, Clone)]
pub struct DockerTarget {
    pub api: Option<DockerHost>,
    /// A host path under `--root`.
    pub pidfile: String,
}

impl DockerTarget {
    pub fn new(docker_host: Option<&str>, pidfile: &str) -> Result<DockerTarget, Error> {
        let api = docker_host
            .map(|text| {
                DockerHost::parse(text).map_err(|err| Error::Flag {
                    flag: "--docker-host".into(),
                    message: err.to_string(),
                })
            })
            .transpose()?;
        Ok(DockerTarget {
            api,
            pidfile: pidfile.to_owned(),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::{Value, json};

    pub const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    /// Variables from a JSON object, all from `vars.yaml`.
    pub fn vars(value: Value) -> Vars {
        let mut vars = Vars::default();
        for (key, value) in value.as_object().expect("an object") {
            vars.set(key, value.clone(), "vars.yaml");
        }
        vars
    }

    /// Call `f` with sources over `given` and `env`, without `--results`.
    pub fn with_sources<T>(given: Value, env: &Env, f: impl FnOnce(&Sources) -> T) -> T {
        let vars = vars(given);
        f(&Sources {
            vars: &vars,
            env,
            results: None,
        })
    }

    /// The message of an input error; panics on success.
    pub fn input_error<T: std::fmt::Debug>(result: Result<T, Error>) -> String {
        let err = result.expect_err("an input error");
        assert!(crate::exit::Classify::is_input(&err), "{err}");
        err.to_string()
    }

    #[test]
    fn buildset_registry_from_the_variable_or_the_results_file() {
        let env = Env::default();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("results.json");
        let registry = json!({"host": "10.0.0.1", "port": "5000", "password": "pw"});
        let returned = json!({"data": {}, "secret_data": {"buildset_registry": registry}});
        std::fs::write(&file, returned.to_string()).unwrap();

        let given = vars(json!({"buildset_registry": {"host": "10.0.0.2", "port": 5001}}));
        let sources = Sources {
            vars: &given,
            env: &env,
            results: Some(&file),
        };
        let found = sources.require_buildset_registry(&ZuulVars::default(), "c");
        assert_eq!(found.unwrap().host, "10.0.0.2", "the variable wins");

        let none = vars(json!({}));
        let from_file = Sources {
            vars: &none,
            env: &env,
            results: Some(&file),
        };
        let found = from_file.require_buildset_registry(&ZuulVars::default(), "c");
        assert_eq!(found.unwrap().port, 5000);
        // Through zuul.executor.result_data_file when --results is not given.
        let executor = vars(json!({"zuul": {"executor": {"result_data_file": file}}}));
        let zuul = ZuulVars::from_vars(&executor).unwrap();
        let by_zuul = Sources {
            vars: &executor,
            env: &env,
            results: None,
        };
        assert!(by_zuul.require_buildset_registry(&zuul, "c").is_ok());

        let nowhere = Sources {
            vars: &none,
            env: &env,
            results: None,
        };
        // Issue 9: the error said neither where else it looked nor how to
        // pass the variable.
        let err = input_error(nowhere.require_buildset_registry(&ZuulVars::default(), "cmd"));
        assert!(
            err.starts_with("missing variable `buildset_registry` (needed by `cmd`): it is not among the variables, and no results file was given"),
            "{err}"
        );
        assert!(
            err.contains("`--vars FILE` (`buildset_registry: {host, port"),
            "{err}"
        );
        assert!(
            err.contains("run-buildset-registry --results FILE"),
            "{err}"
        );
        let empty = dir.path().join("empty.json");
        std::fs::write(&empty, r#"{"data": {"x": 1}}"#).unwrap();
        let elsewhere = Sources {
            vars: &none,
            env: &env,
            results: Some(&empty),
        };
        let err = input_error(elsewhere.require_buildset_registry(&ZuulVars::default(), "cmd"));
        let named = format!(
            "nor in `secret_data` of the results file `{}`",
            empty.display()
        );
        assert!(err.contains(&named), "{err}");
        let gone = dir.path().join("gone.json");
        let gone_sources = Sources {
            vars: &none,
            env: &env,
            results: Some(&gone),
        };
        let err = input_error(gone_sources.require_buildset_registry(&ZuulVars::default(), "c"));
        assert!(err.contains("gone.json` does not exist"), "{err}");
        std::fs::write(
            &file,
            r#"{"secret_data": {"buildset_registry": {"host": "h"}}}"#,
        )
        .unwrap();
        let err = input_error(from_file.require_buildset_registry(&ZuulVars::default(), "c"));
        assert!(err.starts_with("`secret_data.buildset_registry`"), "{err}");
        assert!(err.contains("results.json"), "{err}");
    }

    #[test]
    fn docker_host_flag() {
        assert!(DockerTarget::new(None, "/p").unwrap().api.is_none());
        let target = DockerTarget::new(Some("unix:///run/d.sock"), "/p").unwrap();
        assert_eq!(target.api.unwrap().url(), "unix:///run/d.sock");
        let err = input_error(DockerTarget::new(Some("tcp://h:2375"), "/p"));
        assert!(
            err.starts_with("`--docker-host`: unsupported docker host"),
            "{err}"
        );
    }
}
