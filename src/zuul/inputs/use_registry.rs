//! Inputs of `use-buildset-registry` (and of `ensure-docker` with
//! `docker_use_buildset_registry`): the registry with its CA, the
//! namespaces to mirror, the unqualified-search registries and whose docker
//! config gets the credentials.

use super::{DockerTarget, Sources, ZuulVars};
use crate::reference;
use crate::zuul::Error;
use crate::zuul::registries::{BUILDSET_REGISTRY, BuildsetRegistry};
use serde::Deserialize;

/// One registry namespace to mirror, with its upstream URL (containerd's
/// `server`). Its name is a valid registry host: it is also a directory
/// name in `certs.d`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    name: String,
    upstream: String,
}

impl Namespace {
    /// A namespace given by name only; Docker Hub's API host is not its name.
    pub fn named(name: &str) -> Result<Namespace, String> {
        let upstream = if name == reference::DOCKER_HUB {
            "https://registry-1.docker.io".to_owned()
        } else {
            format!("https://{name}")
        };
        Namespace::with_upstream(name, upstream)
    }

    pub fn with_upstream(name: &str, upstream: String) -> Result<Namespace, String> {
        reference::validate_host(name)
            .map_err(|_| format!("`{name}` is not a registry host name"))?;
        Ok(Namespace {
            name: name.to_owned(),
            upstream,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn upstream(&self) -> &str {
        &self.upstream
    }
}

/// The roles' default `buildset_registry_namespaces`.
pub fn default_namespaces() -> Vec<Namespace> {
    ["docker.io", "quay.io", "gcr.io", "registry.k8s.io"]
        .into_iter()
        .filter_map(|name| Namespace::named(name).ok())
        .collect()
}

/// What the container clients are told about the buildset registry.
#[derive(Debug, Clone)]
pub struct ClientSetup {
    pub registry: BuildsetRegistry,
    /// The registry's CA, PEM.
    pub cert: String,
    pub namespaces: Vec<Namespace>,
    pub unqualified: Vec<String>,
    /// Whose `~/.docker/config.json` gets the credentials; `None` is the
    /// user running this command (`uid`).
    pub docker_user: Option<String>,
    pub uid: u32,
}

/// The flags that replace variables.
#[derive(Debug, Clone, Default)]
pub struct ClientFlags {
    /// `--namespace` (repeatable); replaces `buildset_registry_namespaces`.
    pub namespaces: Vec<String>,
    /// `--docker-user`; wins over `buildset_registry_docker_user`.
    pub docker_user: Option<String>,
}

/// `buildset_registry_namespaces` entries: a name, or `[name, upstream_url]`
/// as the role takes them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum NamespaceVar {
    Name(String),
    Pair(String, String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ClientVars {
    buildset_registry_namespaces: Option<Vec<NamespaceVar>>,
    buildset_registry_unqualified_registries: Option<Vec<String>>,
    buildset_registry_docker_user: Option<String>,
}

impl ClientSetup {
    /// Resolve for `command` (named when `buildset_registry` is missing).
    pub fn resolve(
        sources: &Sources,
        flags: &ClientFlags,
        command: &str,
    ) -> Result<ClientSetup, Error> {
        let vars = sources.vars.section::<ClientVars>()?;
        let zuul = ZuulVars::from_vars(sources.vars)?;
        let registry = sources.require_buildset_registry(&zuul, command)?;
        let cert = registry.cert.clone().ok_or_else(|| Error::Invalid {
            path: format!("{BUILDSET_REGISTRY}.cert"),
            origin: sources.vars.origin(BUILDSET_REGISTRY).map(str::to_owned),
            message: "missing: clients need the registry's CA certificate (PEM) to trust it".into(),
        })?;
        let namespaces = if !flags.namespaces.is_empty() {
            flags
                .namespaces
                .iter()
                .map(|name| Namespace::named(name))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|message| Error::Flag {
                    flag: "--namespace".into(),
                    message,
                })?
        } else {
            match vars.buildset_registry_namespaces {
                None => default_namespaces(),
                Some(list) => namespaces(sources, list)?,
            }
        };
        Ok(ClientSetup {
            registry,
            cert,
            namespaces,
            unqualified: vars
                .buildset_registry_unqualified_registries
                .unwrap_or_else(|| vec![reference::DOCKER_HUB.to_owned()]),
            docker_user: flags
                .docker_user
                .clone()
                .or(vars.buildset_registry_docker_user),
            uid: sources.env.uid,
        })
    }
}

fn namespaces(sources: &Sources, list: Vec<NamespaceVar>) -> Result<Vec<Namespace>, Error> {
    const VAR: &str = "buildset_registry_namespaces";
    let mut namespaces = Vec::new();
    for (index, given) in list.into_iter().enumerate() {
        let namespace = match given {
            NamespaceVar::Name(name) => Namespace::named(&name),
            NamespaceVar::Pair(name, upstream) => Namespace::with_upstream(&name, upstream),
        };
        namespaces.push(namespace.map_err(|message| {
            sources
                .vars
                .invalid(VAR, &format!("{VAR}[{index}]"), message)
        })?);
    }
    Ok(namespaces)
}

/// `use-buildset-registry`'s flags.
#[derive(Debug, Clone, Default)]
pub struct UseRegistryFlags {
    pub clients: ClientFlags,
    /// `--docker-host` (or `DOCKER_HOST`, which clap reads).
    pub docker_host: Option<String>,
    pub docker_pidfile: String,
}

/// `use-buildset-registry`'s input: what to tell the clients, and the
/// Docker daemon to reload.
#[derive(Debug, Clone)]
pub struct UseBuildsetRegistry {
    pub setup: ClientSetup,
    pub docker: DockerTarget,
}

impl UseBuildsetRegistry {
    pub fn resolve(
        sources: &Sources,
        flags: &UseRegistryFlags,
    ) -> Result<UseBuildsetRegistry, Error> {
        let setup = ClientSetup::resolve(sources, &flags.clients, "use-buildset-registry")?;
        let docker = DockerTarget::new(flags.docker_host.as_deref(), &flags.docker_pidfile)?;
        Ok(UseBuildsetRegistry { setup, docker })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Env;
    use super::super::tests::{PEM, input_error, with_sources};
    use super::*;
    use serde_json::{Value, json};

    fn registry() -> Value {
        json!({"host": "10.0.0.5", "port": 5000, "password": "s3cret", "cert": PEM})
    }

    fn resolve(given: Value, flags: &ClientFlags) -> Result<ClientSetup, Error> {
        let env = Env {
            uid: 1000,
            ..Env::default()
        };
        with_sources(given, &env, |sources| {
            ClientSetup::resolve(sources, flags, "use-buildset-registry")
        })
    }

    fn names(setup: &ClientSetup) -> Vec<&str> {
        setup.namespaces.iter().map(Namespace::name).collect()
    }

    #[test]
    fn defaults_variables_and_flags() {
        let none = ClientFlags::default();
        let setup = resolve(
            json!({"buildset_registry": registry(), "docker_images": 1}),
            &none,
        )
        .unwrap();
        assert_eq!(
            names(&setup),
            ["docker.io", "quay.io", "gcr.io", "registry.k8s.io"]
        );
        assert_eq!(
            setup.namespaces[0].upstream(),
            "https://registry-1.docker.io"
        );
        assert_eq!(setup.unqualified, ["docker.io"]);
        assert_eq!((setup.docker_user, setup.uid), (None, 1000));
        assert_eq!(setup.cert, PEM);

        let given = json!({"buildset_registry": registry(),
            "buildset_registry_namespaces": ["ghcr.io", ["quay.io", "https://quay.mirror"]],
            "buildset_registry_unqualified_registries": ["quay.io"],
            "buildset_registry_docker_user": "zuul"});
        let setup = resolve(given.clone(), &none).unwrap();
        assert_eq!(names(&setup), ["ghcr.io", "quay.io"]);
        assert_eq!(setup.namespaces[1].upstream(), "https://quay.mirror");
        assert_eq!(setup.unqualified, ["quay.io"]);
        assert_eq!(setup.docker_user.as_deref(), Some("zuul"));

        let flags = ClientFlags {
            namespaces: vec!["gcr.io".into()],
            docker_user: Some("root".into()),
        };
        let setup = resolve(given, &flags).unwrap();
        assert_eq!(names(&setup), ["gcr.io"]);
        assert_eq!(setup.docker_user.as_deref(), Some("root"));
    }

    #[test]
    fn bad_inputs_name_the_key_path() {
        let none = ClientFlags::default();
        let mut no_cert = registry();
        no_cert.as_object_mut().unwrap().remove("cert");
        for (given, flags, want) in [
            (
                json!({}),
                none.clone(),
                "missing variable `buildset_registry` (needed by `use-buildset-registry`)",
            ),
            (
                json!({"buildset_registry": no_cert}),
                none.clone(),
                "`buildset_registry.cert` (from vars.yaml): missing",
            ),
            (
                json!({"buildset_registry": registry(), "buildset_registry_namespaces": ["quay.io", "not a host"]}),
                none.clone(),
                "`buildset_registry_namespaces[1]` (from vars.yaml): `not a host` is not a registry host name",
            ),
            (
                json!({"buildset_registry": registry(), "buildset_registry_namespaces": "quay.io"}),
                none.clone(),
                "`buildset_registry_namespaces`",
            ),
            (
                json!({"buildset_registry": registry(), "buildset_registry_unqualified_registries": "docker.io"}),
                none.clone(),
                "`buildset_registry_unqualified_registries`",
            ),
            (
                json!({"buildset_registry": registry(), "buildset_registry_docker_user": ["a"]}),
                none.clone(),
                "`buildset_registry_docker_user`",
            ),
            (
                json!({"buildset_registry": registry(), "zuul": {"executor": {"result_data_file": 1}}}),
                none,
                "`zuul.executor.result_data_file`",
            ),
            (
                json!({"buildset_registry": registry()}),
                ClientFlags {
                    namespaces: vec!["../etc".into()],
                    docker_user: None,
                },
                "`--namespace`: `../etc` is not a registry host name",
            ),
        ] {
            let err = input_error(resolve(given.clone(), &flags));
            assert!(err.starts_with(want), "{given}: {err}");
            assert!(!err.contains("s3cret"), "{err}");
        }
    }
}
