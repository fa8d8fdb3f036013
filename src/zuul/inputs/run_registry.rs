//! Inputs of the buildset registry's own job: `pause` and
//! `run-buildset-registry` (the host it advertises, where it listens, where
//! it keeps its files, or `--stop`). Both do nothing when a parent job
//! passed `buildset_registry`.
//!
//! Where the registry listens: `--listen` / `buildset_registry_listen` when
//! given (an IP address, or `ADDR:PORT` when the listening port differs
//! from the advertised one); else the host when it is an IP address of
//! this machine; else every interface, dual-stack `[::]` — when no host is
//! given (the host is then this node's primary address), when the host is
//! an address of another machine (a NAT address clients use), or when it is
//! a name, which is not resolved: a name's addresses can change and can be
//! several, and a registry listening on one of them would miss clients of
//! the others. The last two say so in the log.

use super::{Env, buildset_registry_var};
use crate::reference;
use crate::zuul::Error;
use crate::zuul::de::{opt_port, opt_string};
use crate::zuul::registries::{BUILDSET_REGISTRY, BuildsetRegistry};
use crate::zuul::vars::Vars;
use serde::Deserialize;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
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
    pub listen: Option<String>,
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
    /// Advertised to clients; bare (an IPv6 address without brackets).
    pub host: String,
    pub port: u16,
    /// The socket address the registry binds.
    pub listen: SocketAddr,
    /// Why it listens on every interface although a host was given (the
    /// host is a name), for the log; `None` otherwise.
    pub listen_note: Option<String>,
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
    #[serde(deserialize_with = "opt_string")]
    buildset_registry_listen: Option<String>,
}

impl RunRegistry {
    /// Flags win over `buildset_registry_host`, `_port` (default 5000),
    /// `_listen` (see the module documentation) and `_root` (default
    /// `~/buildset_registry`); the host defaults to `primary_ip()`, asked
    /// only when neither names one; `is_local` tells whether an address is
    /// this machine's. A root that exists must be a directory. `--stop`
    /// reads only the root.
    pub fn resolve(
        vars: &Vars,
        env: &Env,
        flags: &RunRegistryFlags,
        primary_ip: impl FnOnce() -> Option<String>,
        is_local: impl FnOnce(IpAddr) -> bool,
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
        if root.exists() && !root.is_dir() {
            let message = format!("`{}` is not a directory", root.display());
            return Err(match &flags.root {
                Some(_) => Error::Flag {
                    flag: "--root".into(),
                    message,
                },
                None => vars.invalid("buildset_registry_root", "buildset_registry_root", message),
            });
        }
        if flags.stop {
            return Ok(RunRegistry::Stop { root });
        }
        let address = vars.section::<AddressVars>()?;
        let port = flags
            .port
            .or(address.buildset_registry_port)
            .unwrap_or(5000);
        let (host, given) = match (&flags.host, address.buildset_registry_host) {
            (Some(host), _) => (
                bare_host(host).map_err(|message| Error::Flag {
                    flag: "--host".into(),
                    message,
                })?,
                true,
            ),
            (None, Some(host)) => (
                bare_host(&host).map_err(|message| {
                    vars.invalid("buildset_registry_host", "buildset_registry_host", message)
                })?,
                true,
            ),
            (None, None) => (primary_ip().ok_or(Error::NoPrimaryIp)?, false),
        };
        let all = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
        let (listen, listen_note) = match (&flags.listen, address.buildset_registry_listen) {
            (Some(listen), _) => {
                let listen = parse_listen(listen, port).map_err(|message| Error::Flag {
                    flag: "--listen".into(),
                    message,
                })?;
                (listen, None)
            }
            (None, Some(listen)) => {
                let listen = parse_listen(&listen, port).map_err(|message| {
                    vars.invalid(
                        "buildset_registry_listen",
                        "buildset_registry_listen",
                        message,
                    )
                })?;
                (listen, None)
            }
            (None, None) if !given => (all, None),
            (None, None) => match host.parse::<IpAddr>() {
                Ok(ip) if is_local(ip) => (SocketAddr::new(ip, port), None),
                parsed => {
                    let why = match parsed {
                        Ok(_) => "is not an address of this machine",
                        Err(_) => "is a name, not an address",
                    };
                    let note = format!(
                        "`{host}` {why}: listening on every interface ({all}); \
                         set `--listen` or `buildset_registry_listen` to listen on one address"
                    );
                    (all, Some(note))
                }
            },
        };
        Ok(RunRegistry::Start(RegistrySettings {
            host,
            port,
            listen,
            listen_note,
            root,
        }))
    }
}

/// `--listen`'s value: an IP address (the port is `port`) or `ADDR:PORT`;
/// IPv6 addresses with or without brackets.
fn parse_listen(text: &str, port: u16) -> Result<SocketAddr, String> {
    let text = text.trim();
    let listen = match text.parse::<SocketAddr>() {
        Ok(addr) => addr,
        Err(_) => text
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .map(|ip| SocketAddr::new(ip, port))
            .map_err(|_| {
                format!(
                    "`{text}` is not an IP address or ADDR:PORT (e.g. `10.0.0.5`, `::`, `[::1]:5000`)"
                )
            })?,
    };
    if listen.port() == 0 {
        return Err(format!("`{text}`: port 0 is not a port to listen on"));
    }
    Ok(listen)
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

    fn start(host: &str, port: u16, listen: &str, root: &str) -> RunRegistry {
        RunRegistry::Start(RegistrySettings {
            host: host.into(),
            port,
            listen: listen.parse().unwrap(),
            listen_note: None,
            root: root.into(),
        })
    }

    fn resolve(
        vars_json: serde_json::Value,
        flags: RunRegistryFlags,
    ) -> Result<RunRegistry, Error> {
        let vars = vars(vars_json);
        // Loopback, 10/8 and fd00::/16 are this machine's addresses.
        let local = |ip: IpAddr| {
            let text = ip.to_string();
            ip.is_loopback() || text.starts_with("10.") || text.starts_with("fd00:")
        };
        RunRegistry::resolve(&vars, &home(), &flags, || Some("10.0.0.9".into()), local)
    }

    #[test]
    fn defaults_variables_and_flags_that_win() {
        let none = RunRegistryFlags::default();
        let cases = [
            (
                json!({}),
                none.clone(),
                start(
                    "10.0.0.9",
                    5000,
                    "[::]:5000",
                    "/home/zuul/buildset_registry",
                ),
            ),
            (
                json!({"buildset_registry_host": "[fd00::1]", "buildset_registry_port": "5001",
                       "buildset_registry_root": "~/reg"}),
                none.clone(),
                start("fd00::1", 5001, "[fd00::1]:5001", "/home/zuul/reg"),
            ),
            (
                json!({"buildset_registry_host": "a.example", "buildset_registry_port": 5001,
                       "buildset_registry_root": "/srv/reg"}),
                RunRegistryFlags {
                    host: Some("127.0.0.1".into()),
                    port: Some(6000),
                    root: Some("/tmp/r".into()),
                    ..none.clone()
                },
                start("127.0.0.1", 6000, "127.0.0.1:6000", "/tmp/r"),
            ),
            // An explicit listen address wins; the port defaults to the
            // advertised one.
            (
                json!({"buildset_registry_host": "203.0.113.7",
                       "buildset_registry_listen": "10.0.0.5"}),
                none.clone(),
                start(
                    "203.0.113.7",
                    5000,
                    "10.0.0.5:5000",
                    "/home/zuul/buildset_registry",
                ),
            ),
            (
                json!({"buildset_registry_listen": "[::1]:6001"}),
                RunRegistryFlags {
                    host: Some("::1".into()),
                    listen: Some("::".into()),
                    ..none.clone()
                },
                start("::1", 5000, "[::]:5000", "/home/zuul/buildset_registry"),
            ),
            (
                json!({"buildset_registry_listen": "[::1]:6001"}),
                none.clone(),
                start(
                    "10.0.0.9",
                    5000,
                    "[::1]:6001",
                    "/home/zuul/buildset_registry",
                ),
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
                start(
                    "10.0.0.9",
                    5000,
                    "[::]:5000",
                    "/home/zuul/buildset_registry",
                ),
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

    /// Issue 9: a host that is a name (not resolved) or an address of
    /// another machine (NAT) listens on every interface and says so.
    #[test]
    fn issue_9_a_host_name_or_foreign_address_listens_everywhere_and_says_so() {
        for (host, why) in [
            ("registry.example.org", "is a name, not an address"),
            ("203.0.113.7", "is not an address of this machine"),
        ] {
            let flags = RunRegistryFlags {
                host: Some(host.into()),
                ..RunRegistryFlags::default()
            };
            let RunRegistry::Start(settings) = resolve(json!({}), flags).unwrap() else {
                panic!("not a start");
            };
            assert_eq!(settings.host, host);
            assert_eq!(settings.listen.to_string(), "[::]:5000");
            let note = settings.listen_note.unwrap();
            assert!(note.starts_with(&format!("`{host}` {why}")), "{note}");
            assert!(note.contains("buildset_registry_listen"), "{note}");
        }
    }

    /// Issue 9: a file given as the root was an operation failure (exit 1)
    /// once something tried to write under it.
    #[test]
    fn issue_9_a_file_as_root_is_an_input_error() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let path = file.path().display().to_string();
        for stop in [false, true] {
            let err = input_error(resolve(
                json!({"buildset_registry_root": path}),
                RunRegistryFlags {
                    stop,
                    ..RunRegistryFlags::default()
                },
            ));
            assert!(
                err.starts_with("`buildset_registry_root` (from vars.yaml)"),
                "{err}"
            );
            assert!(err.ends_with("is not a directory"), "{err}");
        }
        let err = input_error(resolve(
            json!({}),
            RunRegistryFlags {
                root: Some(file.path().into()),
                ..RunRegistryFlags::default()
            },
        ));
        assert!(err.starts_with("`--root`"), "{err}");
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
                    ..none.clone()
                },
                "`--host`: invalid registry host",
            ),
            (
                json!({"buildset_registry_listen": "eth0"}),
                none.clone(),
                "`buildset_registry_listen` (from vars.yaml): `eth0` is not an IP address",
            ),
            (
                json!({}),
                RunRegistryFlags {
                    listen: Some("127.0.0.1:0".into()),
                    ..none
                },
                "`--listen`: `127.0.0.1:0`: port 0",
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
        let err = input_error(RunRegistry::resolve(
            &vars,
            &Env::default(),
            &flags,
            || None,
            |_| true,
        ));
        assert!(err.starts_with("HOME is not set"), "{err}");
        assert!(err.contains("--root DIR"), "{err}");
        let err = input_error(RunRegistry::resolve(
            &vars,
            &home(),
            &flags,
            || None,
            |_| true,
        ));
        assert!(
            err.contains("pass `--host` or set `buildset_registry_host`"),
            "{err}"
        );
        let stop = RunRegistryFlags {
            stop: true,
            ..flags
        };
        // --stop asks for no address.
        let stopped =
            RunRegistry::resolve(&vars, &home(), &stop, || unreachable!(), |_| unreachable!());
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
