//! Inputs of the buildset registry's own job: `pause` and
//! `run-buildset-registry` (where it listens, where it keeps its files, or
//! `--stop`). Both do nothing when a parent job passed `buildset_registry`.

use super::{Env, buildset_registry_var};
use crate::reference;
use crate::zuul::Error;
use crate::zuul::de::{opt_port, opt_string};
use crate::zuul::registries::{BUILDSET_REGISTRY, BuildsetRegistry};
use crate::zuul::vars::Vars;
use serde::Deserialize;
use std::path::PathBuf;

/// `pause`'s input: the registry a parent job runs, if any.
#[derive(Debug)]
pub struct Pause {
    pub parent: Option<BuildsetRegistry>,
}

impl Pause {
    pub fn resolve(vars: &Vars) -> Result<Pause, Error> {
        Ok(Pause {
            parent: buildset_registry_var(vars)?,
        })
    }
}

/// `run-buildset-registry`'s flags.
#[derive(Debug, Clone, Default)]
pub struct RunRegistryFlags {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub root: Option<PathBuf>,
    pub stop: bool,
}

/// What `run-buildset-registry` does.
#[derive(Debug, PartialEq, Eq)]
pub enum RunRegistry {
    /// `buildset_registry` is defined: a parent job runs the registry.
    Parent,
    /// `--stop`: stop the registry running from `root`.
    Stop {
        root: PathBuf,
    },
    Start(RegistrySettings),
}

/// Where the registry listens and keeps its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrySettings {
    /// Bare (an IPv6 address without brackets).
    pub host: String,
    pub port: u16,
    pub root: PathBuf,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RootVar {
    #[serde(deserialize_with = "opt_string")]
    buildset_registry_root: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AddressVars {
    #[serde(deserialize_with = "opt_string")]
    buildset_registry_host: Option<String>,
    #[serde(deserialize_with = "opt_port")]
    buildset_registry_port: Option<u16>,
}

impl RunRegistry {
    /// Flags win over `buildset_registry_host`, `_port` (default 5000) and
    /// `_root` (default `~/buildset_registry`); the host defaults to
    /// `primary_ip()`, asked only when neither names one. `--stop` reads
    /// only the root.
    pub fn resolve(
        vars: &Vars,
        env: &Env,
        flags: &RunRegistryFlags,
        primary_ip: impl FnOnce() -> Option<String>,
    ) -> Result<RunRegistry, Error> {
        if !flags.stop && buildset_registry_var(vars)?.is_some() {
            return Ok(RunRegistry::Parent);
        }
        let given = vars.section::<RootVar>()?.buildset_registry_root;
        let root = match (&flags.root, given) {
            (Some(root), _) => root.clone(),
            (None, Some(root)) => env.expand_home(&root),
            // The role's default directory is named after the variable.
            (None, None) => env
                .home
                .as_ref()
                .map(|home| home.join(BUILDSET_REGISTRY))
                .ok_or_else(|| Error::HomeUnset {
                    what: "buildset registry root".into(),
                    hint: "pass `--root DIR` or set `buildset_registry_root`".into(),
                })?,
        };
        if flags.stop {
            return Ok(RunRegistry::Stop { root });
        }
        let address = vars.section::<AddressVars>()?;
        let port = flags
            .port
            .or(address.buildset_registry_port)
            .unwrap_or(5000);
        let host = match (&flags.host, address.buildset_registry_host) {
            (Some(host), _) => bare_host(host).map_err(|message| Error::Flag {
                flag: "--host".into(),
                message,
            })?,
            (None, Some(host)) => bare_host(&host).map_err(|message| {
                vars.invalid("buildset_registry_host", "buildset_registry_host", message)
            })?,
            (None, None) => primary_ip().ok_or(Error::NoPrimaryIp)?,
        };
        Ok(RunRegistry::Start(RegistrySettings { host, port, root }))
    }
}

/// A host name or IP address without the brackets of an IPv6 literal.
fn bare_host(host: &str) -> Result<String, String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    reference::validate_host(&reference::ipwrap(bare)).map_err(|err| err.to_string())?;
    Ok(bare.to_owned())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{input_error, vars};
    use super::*;
    use serde_json::json;

    fn home() -> Env {
        Env {
            home: Some("/home/zuul".into()),
            ..Env::default()
        }
    }

    fn start(host: &str, port: u16, root: &str) -> RunRegistry {
        RunRegistry::Start(RegistrySettings {
            host: host.into(),
            port,
            root: root.into(),
        })
    }

    fn resolve(
        vars_json: serde_json::Value,
        flags: RunRegistryFlags,
    ) -> Result<RunRegistry, Error> {
        let vars = vars(vars_json);
        RunRegistry::resolve(&vars, &home(), &flags, || Some("10.0.0.9".into()))
    }

    #[test]
    fn defaults_variables_and_flags_that_win() {
        let none = RunRegistryFlags::default();
        let cases = [
            (
                json!({}),
                none.clone(),
                start("10.0.0.9", 5000, "/home/zuul/buildset_registry"),
            ),
            (
                json!({"buildset_registry_host": "[fd00::1]", "buildset_registry_port": "5001",
                       "buildset_registry_root": "~/reg"}),
                none.clone(),
                start("fd00::1", 5001, "/home/zuul/reg"),
            ),
            (
                json!({"buildset_registry_host": "a.example", "buildset_registry_port": 5001,
                       "buildset_registry_root": "/srv/reg"}),
                RunRegistryFlags {
                    host: Some("127.0.0.1".into()),
                    port: Some(6000),
                    root: Some("/tmp/r".into()),
                    stop: false,
                },
                start("127.0.0.1", 6000, "/tmp/r"),
            ),
            (
                json!({"buildset_registry": {"host": "10.0.0.1", "port": 5000}}),
                none.clone(),
                RunRegistry::Parent,
            ),
            // --stop needs only the root, even with a parent's registry.
            (
                json!({"buildset_registry": {"host": "10.0.0.1", "port": 5000},
                       "buildset_registry_port": "bad", "buildset_registry_root": "/srv/reg"}),
                RunRegistryFlags {
                    stop: true,
                    ..none.clone()
                },
                RunRegistry::Stop {
                    root: "/srv/reg".into(),
                },
            ),
            // Variables this command does not read are not looked at.
            (
                json!({"docker_images": {"not": "a list"}, "intermediate_registry": 5}),
                none,
                start("10.0.0.9", 5000, "/home/zuul/buildset_registry"),
            ),
        ];
        for (vars_json, flags, want) in cases {
            assert_eq!(
                resolve(vars_json.clone(), flags).unwrap(),
                want,
                "{vars_json}"
            );
        }
    }

    #[test]
    fn bad_inputs_name_the_variable_or_flag() {
        let none = RunRegistryFlags::default();
        for (vars_json, flags, want) in [
            (
                json!({"buildset_registry_port": "http"}),
                none.clone(),
                "`buildset_registry_port` (from vars.yaml): `http` is not a port number",
            ),
            (
                json!({"buildset_registry_port": 70000}),
                none.clone(),
                "`buildset_registry_port`",
            ),
            (
                json!({"buildset_registry_host": "bad host"}),
                none.clone(),
                "`buildset_registry_host` (from vars.yaml): invalid registry host",
            ),
            (
                json!({"buildset_registry_host": ["h"]}),
                none.clone(),
                "`buildset_registry_host`",
            ),
            (
                json!({"buildset_registry_root": {"a": 1}}),
                none.clone(),
                "`buildset_registry_root`",
            ),
            (
                json!({"buildset_registry": {"host": "h", "port": "x"}}),
                none.clone(),
                "`buildset_registry.port`",
            ),
            (
                json!({}),
                RunRegistryFlags {
                    host: Some("bad host".into()),
                    ..none
                },
                "`--host`: invalid registry host",
            ),
        ] {
            let err = input_error(resolve(vars_json.clone(), flags));
            assert!(err.starts_with(want), "{vars_json}: {err}");
        }
    }

    #[test]
    fn defaults_that_cannot_be_told() {
        let vars = vars(json!({}));
        let flags = RunRegistryFlags::default();
        let err = input_error(RunRegistry::resolve(&vars, &Env::default(), &flags, || {
            None
        }));
        assert!(err.starts_with("HOME is not set"), "{err}");
        assert!(err.contains("--root DIR"), "{err}");
        let err = input_error(RunRegistry::resolve(&vars, &home(), &flags, || None));
        assert!(
            err.contains("pass `--host` or set `buildset_registry_host`"),
            "{err}"
        );
        let stop = RunRegistryFlags {
            stop: true,
            ..flags
        };
        // --stop asks for no address.
        let stopped = RunRegistry::resolve(&vars, &home(), &stop, || unreachable!());
        assert!(matches!(stopped, Ok(RunRegistry::Stop { .. })));
    }

    #[test]
    fn pause_reads_only_buildset_registry() {
        let parent = vars(
            json!({"buildset_registry": {"host": "10.0.0.1", "port": 5000},
                                 "docker_images": "malformed"}),
        );
        assert!(Pause::resolve(&parent).unwrap().parent.is_some());
        assert!(
            Pause::resolve(&vars(json!({"docker_images": 1})))
                .unwrap()
                .parent
                .is_none()
        );
        let err = input_error(Pause::resolve(&vars(
            json!({"buildset_registry": {"host": "h"}}),
        )));
        assert!(err.starts_with("`buildset_registry`"), "{err}");
    }
}
