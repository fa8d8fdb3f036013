//! Inputs of `ensure-docker`: the role's variables with its defaults
//! (`use_upstream_docker`, `docker_group`, the package lists and repository
//! settings, `daemon.json` settings), which Docker Hub mirror the role's
//! mirror variables name, the user for the docker group, the daemon to
//! manage, and — with `docker_use_buildset_registry` — what
//! `use-buildset-registry` would get.

use super::use_registry::{ClientFlags, ClientSetup};
use super::{DockerTarget, Sources};
use crate::zuul::Error;
use crate::zuul::de::{opt_bool, opt_name_list};
use crate::zuul::vars::Vars;
use serde::Deserialize;
use serde_json::Value;

/// The `daemon.json` settings ensure-docker manages.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DaemonSettings {
    pub mirror: Option<String>,
    pub insecure_registries: Vec<String>,
    pub userland_proxy: Option<bool>,
    /// The default route's MTU when `ansible_default_ipv4` gives it; `host/`
    /// reads it from the machine otherwise.
    pub mtu: Option<u32>,
}

/// How to install Docker when it is missing. `None` lists take the role's
/// defaults for the distribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    pub use_upstream: bool,
    pub channel: String,
    pub download_fqdn: String,
    pub mirror_base_url: Option<String>,
    pub distro_packages: Option<Vec<String>>,
    pub upstream_required: Option<Vec<String>>,
    pub upstream_packages: Option<Vec<String>>,
    pub upstream_remove: Option<Vec<String>>,
}

/// `ensure-docker`'s flags.
#[derive(Debug, Clone)]
pub struct EnsureDockerFlags {
    pub user: Option<String>,
    pub docker_host: Option<String>,
    pub docker_pidfile: String,
    pub dockerd_args: Vec<String>,
}

/// Everything `ensure-docker` acts on.
#[derive(Debug, Clone)]
pub struct EnsureDocker {
    pub install: Install,
    pub group: String,
    /// Added to the group (`--user`, else `ansible_user`, else `SUDO_USER`).
    pub user: Option<String>,
    pub daemon: DaemonSettings,
    pub compose_install: bool,
    pub docker: DockerTarget,
    /// Extra `dockerd` arguments when it is started without systemd.
    pub dockerd_args: Vec<String>,
    /// Set with `docker_use_buildset_registry`.
    pub buildset_registry: Option<ClientSetup>,
}

#[derive(Debug, Default, Deserialize)]
struct DefaultIpv4 {
    #[serde(default)]
    mtu: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RoleVars {
    #[serde(deserialize_with = "opt_bool")]
    use_upstream_docker: Option<bool>,
    docker_group: Option<String>,
    #[serde(deserialize_with = "opt_bool")]
    docker_use_buildset_registry: Option<bool>,
    #[serde(deserialize_with = "opt_bool")]
    docker_compose_install: Option<bool>,
    docker_update_channel: Option<String>,
    docker_download_fqdn: Option<String>,
    docker_mirror_base_url: Option<String>,
    #[serde(deserialize_with = "opt_name_list")]
    docker_distro_packages: Option<Vec<String>>,
    #[serde(deserialize_with = "opt_name_list")]
    docker_upstream_distro_required_packages: Option<Vec<String>>,
    #[serde(deserialize_with = "opt_name_list")]
    docker_upstream_distro_packages: Option<Vec<String>>,
    #[serde(deserialize_with = "opt_name_list")]
    docker_upstream_distro_remove_packages: Option<Vec<String>>,
    docker_insecure_registries: Option<Vec<String>>,
    #[serde(deserialize_with = "opt_bool")]
    docker_userland_proxy: Option<bool>,
    ansible_default_ipv4: Option<DefaultIpv4>,
    ansible_user: Option<String>,
    docker_mirror: Option<String>,
    mirror_info: Option<Value>,
    zuul_site_mirror_info: Option<Value>,
    mirror_fqdn: Option<String>,
    zuul_site_mirror_fqdn: Option<String>,
}

impl EnsureDocker {
    pub fn resolve(sources: &Sources, flags: &EnsureDockerFlags) -> Result<EnsureDocker, Error> {
        let vars: RoleVars = sources.vars.section()?;
        let mirror = resolve_mirror(sources.vars, &vars)?;
        let docker = DockerTarget::new(flags.docker_host.as_deref(), &flags.docker_pidfile)?;
        let buildset_registry = if vars.docker_use_buildset_registry.unwrap_or(false) {
            let flags = ClientFlags {
                namespaces: Vec::new(),
                docker_user: Some("root".to_owned()),
            };
            Some(ClientSetup::resolve(sources, &flags, "ensure-docker")?)
        } else {
            None
        };
        Ok(EnsureDocker {
            install: Install {
                use_upstream: vars.use_upstream_docker.unwrap_or(true),
                channel: vars
                    .docker_update_channel
                    .unwrap_or_else(|| "stable".to_owned()),
                download_fqdn: vars
                    .docker_download_fqdn
                    .unwrap_or_else(|| "download.docker.com".to_owned()),
                mirror_base_url: vars.docker_mirror_base_url,
                distro_packages: vars.docker_distro_packages,
                upstream_required: vars.docker_upstream_distro_required_packages,
                upstream_packages: vars.docker_upstream_distro_packages,
                upstream_remove: vars.docker_upstream_distro_remove_packages,
            },
            group: vars.docker_group.unwrap_or_else(|| "docker".to_owned()),
            user: flags
                .user
                .clone()
                .or(vars.ansible_user)
                .or_else(|| sources.env.sudo_user.clone()),
            daemon: DaemonSettings {
                mirror,
                insecure_registries: vars.docker_insecure_registries.unwrap_or_default(),
                userland_proxy: vars.docker_userland_proxy,
                mtu: vars.ansible_default_ipv4.and_then(|ipv4| ipv4.mtu),
            },
            compose_install: vars.docker_compose_install.unwrap_or(false),
            docker,
            dockerd_args: flags.dockerd_args.clone(),
            buildset_registry,
        })
    }
}

/// `name.dockerhub` (a URL, or a mapping with `url`) when given.
fn dockerhub(vars: &Vars, info: &Value, name: &str) -> Result<Option<String>, Error> {
    match info.get("dockerhub") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(url)) => Ok(Some(url.clone())),
        Some(Value::Object(map)) => match map.get("url") {
            Some(Value::String(url)) => Ok(Some(url.clone())),
            _ => Err(vars.invalid(
                name,
                &format!("{name}.dockerhub.url"),
                "expected the mirror's URL",
            )),
        },
        Some(_) => Err(vars.invalid(
            name,
            &format!("{name}.dockerhub"),
            "expected the mirror's URL or a mapping with `url`",
        )),
    }
}

/// The Docker Hub mirror to configure, by the role's rules (first that
/// applies): `docker_mirror`; `mirror_info.dockerhub.url`;
/// `zuul_site_mirror_info.dockerhub.url`; and only when neither
/// `mirror_info` variable is defined, `http://<mirror_fqdn>:8082`
/// (dereferenced properly rather than upstream's literal string).
fn resolve_mirror(given: &Vars, vars: &RoleVars) -> Result<Option<String>, Error> {
    if let Some(mirror) = vars.docker_mirror.as_ref().filter(|m| !m.is_empty()) {
        return Ok(Some(mirror.clone()));
    }
    for (info, name) in [
        (&vars.mirror_info, "mirror_info"),
        (&vars.zuul_site_mirror_info, "zuul_site_mirror_info"),
    ] {
        if let Some(info) = info {
            if let Some(url) = dockerhub(given, info, name)? {
                return Ok(Some(url));
            }
        }
    }
    if vars.mirror_info.is_none() && vars.zuul_site_mirror_info.is_none() {
        let fqdn = vars
            .mirror_fqdn
            .as_ref()
            .or(vars.zuul_site_mirror_fqdn.as_ref())
            .filter(|f| !f.is_empty());
        if let Some(fqdn) = fqdn {
            return Ok(Some(format!("http://{fqdn}:8082")));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::super::Env;
    use super::super::tests::{PEM, input_error, with_sources};
    use super::*;
    use serde_json::json;

    fn flags() -> EnsureDockerFlags {
        EnsureDockerFlags {
            user: None,
            docker_host: None,
            docker_pidfile: "/var/run/docker.pid".into(),
            dockerd_args: Vec::new(),
        }
    }

    fn resolve_with(
        given: Value,
        flags: &EnsureDockerFlags,
        env: &Env,
    ) -> Result<EnsureDocker, Error> {
        with_sources(given, env, |sources| EnsureDocker::resolve(sources, flags))
    }

    fn resolve(given: Value) -> Result<EnsureDocker, Error> {
        resolve_with(given, &flags(), &Env::default())
    }

    #[test]
    fn the_roles_defaults() {
        let inputs = resolve(json!({"docker_images": "unrelated and malformed"})).unwrap();
        assert_eq!(
            inputs.install,
            Install {
                use_upstream: true,
                channel: "stable".into(),
                download_fqdn: "download.docker.com".into(),
                mirror_base_url: None,
                distro_packages: None,
                upstream_required: None,
                upstream_packages: None,
                upstream_remove: None,
            }
        );
        assert_eq!(inputs.group, "docker");
        assert_eq!(inputs.user, None);
        assert_eq!(inputs.daemon, DaemonSettings::default());
        assert!(!inputs.compose_install);
        assert!(inputs.buildset_registry.is_none());
        assert!(inputs.docker.api.is_none());
    }

    #[test]
    fn ansible_style_values() {
        let inputs = resolve(json!({
            "use_upstream_docker": "no", "docker_compose_install": "True",
            "docker_userland_proxy": "off", "docker_group": "ci",
            "docker_distro_packages": "docker.io, containerd",
            "docker_upstream_distro_packages": ["docker-ce"],
            "docker_insecure_registries": ["m:8082"],
            "ansible_default_ipv4": {"mtu": 1450, "address": "10.0.0.1"},
        }))
        .unwrap();
        assert!(!inputs.install.use_upstream);
        assert!(inputs.compose_install);
        assert_eq!(inputs.daemon.userland_proxy, Some(false));
        assert_eq!(inputs.group, "ci");
        assert_eq!(
            inputs.install.distro_packages,
            Some(vec!["docker.io".into(), "containerd".into()])
        );
        assert_eq!(
            inputs.install.upstream_packages,
            Some(vec!["docker-ce".into()])
        );
        assert_eq!(inputs.daemon.insecure_registries, ["m:8082"]);
        assert_eq!(inputs.daemon.mtu, Some(1450));
    }

    #[test]
    fn the_user_flag_then_ansible_user_then_sudo_user() {
        let sudo = Env {
            sudo_user: Some("sudoer".into()),
            ..Env::default()
        };
        let user = |given: Value, flags: &EnsureDockerFlags| {
            resolve_with(given, flags, &sudo).unwrap().user
        };
        assert_eq!(user(json!({}), &flags()).as_deref(), Some("sudoer"));
        let ansible = json!({"ansible_user": "zuul"});
        assert_eq!(user(ansible.clone(), &flags()).as_deref(), Some("zuul"));
        let flagged = EnsureDockerFlags {
            user: Some("me".into()),
            ..flags()
        };
        assert_eq!(user(ansible, &flagged).as_deref(), Some("me"));
    }

    #[test]
    fn mirror_rules() {
        let hub = json!({"dockerhub": {"url": "https://hub.mirror/"}});
        for (given, want) in [
            (json!({}), None),
            (
                json!({"docker_mirror": "http://m", "mirror_info": hub}),
                Some("http://m"),
            ),
            (
                json!({"docker_mirror": "", "mirror_info": hub, "mirror_fqdn": "f"}),
                Some("https://hub.mirror/"),
            ),
            (
                json!({"mirror_info": {"dockerhub": "https://plain/"}}),
                Some("https://plain/"),
            ),
            (
                json!({"mirror_info": {"pypi": {}}, "zuul_site_mirror_info": hub}),
                Some("https://hub.mirror/"),
            ),
            (
                json!({"zuul_site_mirror_fqdn": "mirror.dfw.site"}),
                Some("http://mirror.dfw.site:8082"),
            ),
            (json!({"mirror_info": {}, "mirror_fqdn": "f"}), None),
        ] {
            let inputs = resolve(given.clone()).unwrap();
            assert_eq!(inputs.daemon.mirror.as_deref(), want, "{given}");
        }
    }

    #[test]
    fn buildset_registry_only_when_asked() {
        let registry = json!({"host": "10.0.0.5", "port": 5000, "cert": PEM});
        let inputs = resolve(json!({"buildset_registry": registry.clone()})).unwrap();
        assert!(inputs.buildset_registry.is_none());
        let inputs =
            resolve(json!({"buildset_registry": registry, "docker_use_buildset_registry": "yes"}))
                .unwrap();
        let setup = inputs.buildset_registry.unwrap();
        assert_eq!(setup.docker_user.as_deref(), Some("root"));
        assert_eq!(setup.namespaces.len(), 4);
        let err = input_error(resolve(json!({"docker_use_buildset_registry": true})));
        assert!(
            err.starts_with("missing variable `buildset_registry` (needed by `ensure-docker`)"),
            "{err}"
        );
    }

    #[test]
    fn bad_inputs_name_the_key_path() {
        for (given, want) in [
            (
                json!({"mirror_info": {"dockerhub": {"host": "m"}}}),
                "`mirror_info.dockerhub.url` (from vars.yaml)",
            ),
            (
                json!({"zuul_site_mirror_info": {"dockerhub": 1}}),
                "`zuul_site_mirror_info.dockerhub`",
            ),
            (
                json!({"docker_userland_proxy": [1]}),
                "`docker_userland_proxy` (from vars.yaml): invalid type: sequence, expected true or false",
            ),
            (
                json!({"use_upstream_docker": "maybe"}),
                "`use_upstream_docker`",
            ),
            (
                json!({"docker_insecure_registries": "m:1"}),
                "`docker_insecure_registries`",
            ),
            (
                json!({"docker_distro_packages": {"a": 1}}),
                "`docker_distro_packages` (from vars.yaml): expected a list of names",
            ),
            (json!({"docker_group": 5}), "`docker_group`"),
            (
                json!({"ansible_default_ipv4": {"mtu": "big"}}),
                "`ansible_default_ipv4.mtu`",
            ),
            (
                json!({"docker_use_buildset_registry": "on", "buildset_registry": {"host": "h", "port": 1}}),
                "`buildset_registry.cert`",
            ),
        ] {
            let err = input_error(resolve(given.clone()));
            assert!(err.starts_with(want), "{given}: {err}");
        }
        let bad_host = EnsureDockerFlags {
            docker_host: Some("tcp://h:2375".into()),
            ..flags()
        };
        let err = input_error(resolve_with(json!({}), &bad_host, &Env::default()));
        assert!(err.starts_with("`--docker-host`"), "{err}");
    }
}
