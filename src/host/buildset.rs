//! What `use-buildset-registry` writes: from the typed inputs
//! ([`ClientSetup`]) and the
//! existing files, the complete [`Plan`] (hosts alias, CA files, daemon.json,
//! registries.conf, buildkitd.toml, containerd, microk8s, auth files,
//! kubelet link)
//! and which services need a nudge once it is applied. Every existing file
//! is parsed before anything is written; a file that cannot be parsed stops
//! the plan with an error naming it and its line.

use super::Host;
use super::nudge::Nudge;
use super::plan::{Applied, Plan};
use super::registries_conf::Mirror;
use super::{
    auth, buildkitd, ca_trust, containerd, daemon_json, etc_hosts, registries_conf, users,
};
use crate::reference;
use crate::secret::Secret;
use crate::zuul::inputs::use_registry::ClientSetup;
use anyhow::Result;

pub const DAEMON_JSON: &str = "/etc/docker/daemon.json";
pub const REGISTRIES_CONF: &str = "/etc/containers/registries.conf";
pub const BUILDKITD_TOML: &str = "/etc/buildkit/buildkitd.toml";
pub const CONTAINERD_CONFIG: &str = "/etc/containerd/config.toml";
pub const ETC_HOSTS: &str = "/etc/hosts";
/// Where the microk8s snap keeps its data; its presence means microk8s is
/// installed.
pub const MICROK8S: &str = "/var/snap/microk8s";
/// The `hosts.toml` directory of microk8s's own containerd.
pub const MICROK8S_CERTS_DIR: &str = "/var/snap/microk8s/current/args/certs.d";

/// The plan plus what to do after applying it.
#[derive(Debug)]
pub struct BuildsetPlan {
    pub plan: Plan,
    pub trust: ca_trust::SystemTrust,
    pub system_ca: String,
    /// `https://<alias>:<port>/`, the docker mirror.
    pub docker_mirror: String,
    /// Set when containerd is installed: what happened to `config_path`.
    pub containerd: Option<containerd::ConfigPath>,
    pub crio: bool,
    /// microk8s is installed; its files are under [`MICROK8S_CERTS_DIR`].
    pub microk8s: bool,
}

fn read(host: &Host, path: &str) -> Result<Option<String>> {
    Ok(crate::fs::read_optional(&host.path(path))?)
}

impl BuildsetPlan {
    /// What must re-read its configuration once the plan was applied with
    /// `applied` as the result, in the order to do it: nothing when no
    /// file changed.
    pub fn nudges(&self, applied: &Applied) -> Vec<Nudge> {
        let mut nudges = Vec::new();
        if applied.changed(&self.system_ca) {
            nudges.push(Nudge::Trust(self.trust.command));
        }
        if applied.changed(CONTAINERD_CONFIG) {
            nudges.push(Nudge::RestartContainerd);
        }
        let crio_reads = applied.changed(REGISTRIES_CONF)
            || applied.any_under("/etc/containers/certs.d/")
            || applied.changed(&self.system_ca);
        if self.crio && crio_reads {
            nudges.push(Nudge::ReloadCrio);
        }
        if self.microk8s && applied.any_under(MICROK8S_CERTS_DIR) {
            nudges.push(Nudge::RestartMicrok8s);
        }
        nudges
    }
}

/// Compute every file `use-buildset-registry` writes.
pub fn plan(host: &Host, inputs: &ClientSetup) -> Result<BuildsetPlan> {
    let registry = &inputs.registry;
    let alias = registry.alias();
    let address = registry.alias_address();
    let cert = ca_trust::normalise_pem(&inputs.cert);
    let mut plan = Plan::default();

    if reference::is_ip(&registry.host) {
        let text = read(host, ETC_HOSTS)?;
        plan.file(
            ETC_HOSTS,
            etc_hosts::add_alias(text.as_deref(), &registry.host, alias),
        );
    }

    let trust = ca_trust::system_trust(host);
    let system_ca = ca_trust::system_ca(&trust, alias);
    plan.file(&system_ca, cert.clone());
    plan.file(ca_trust::docker_ca(&address), cert.clone());
    plan.file(ca_trust::containers_ca(&address), cert.clone());

    let docker_mirror = format!("https://{address}/");
    let text = read(host, DAEMON_JSON)?;
    let mut daemon = daemon_json::parse(DAEMON_JSON, text.as_deref().unwrap_or(""))?;
    let before = daemon.clone();
    daemon_json::put_mirror_first(&mut daemon, &docker_mirror, DAEMON_JSON)?;
    match &text {
        Some(text) if daemon == before => plan.file(DAEMON_JSON, text.clone()),
        _ => plan.file(DAEMON_JSON, daemon_json::render(&daemon)),
    }

    let mirrors: Vec<Mirror> = inputs
        .namespaces
        .iter()
        .map(|ns| Mirror::of(&address, ns.name()))
        .collect();
    let text = read(host, REGISTRIES_CONF)?;
    plan.file(
        REGISTRIES_CONF,
        registries_conf::edit(
            REGISTRIES_CONF,
            text.as_deref(),
            &mirrors,
            &inputs.unqualified,
        )?,
    );
    let text = read(host, BUILDKITD_TOML)?;
    plan.file(
        BUILDKITD_TOML,
        buildkitd::edit(BUILDKITD_TOML, text.as_deref(), &mirrors)?,
    );

    let containerd_installed = host.has_binary("containerd") || host.exists("/etc/containerd");
    let mut containerd_outcome = None;
    if containerd_installed {
        let ca = ca_trust::containerd_ca(&address);
        plan.file(&ca, cert.clone());
        hosts_files(
            host,
            inputs,
            containerd::CERTS_DIR,
            |_| ca.clone(),
            &mut plan,
        )?;
        let text = read(host, CONTAINERD_CONFIG)?;
        let (new, outcome) =
            containerd::edit_config(CONTAINERD_CONFIG, text.as_deref(), containerd::CERTS_DIR)?;
        plan.file(CONTAINERD_CONFIG, new);
        containerd_outcome = Some(outcome);
    }

    // microk8s runs its own containerd, which reads its own certs.d; as the
    // role, each namespace directory gets a copy of the CA. Unlike the role
    // (upstream bug 7), docker.io is un-prefixed there too.
    let microk8s = host.exists(MICROK8S);
    if microk8s {
        let ca = |ns: &str| format!("{MICROK8S_CERTS_DIR}/{ns}/ca.crt");
        for ns in &inputs.namespaces {
            plan.file(ca(ns.name()), cert.clone());
        }
        hosts_files(host, inputs, MICROK8S_CERTS_DIR, ca, &mut plan)?;
    }

    if !registry.password.is_empty() {
        user_auth(host, inputs, &address, &registry.password, &mut plan)?;
    }

    Ok(BuildsetPlan {
        plan,
        trust,
        system_ca,
        docker_mirror,
        containerd: containerd_outcome,
        crio: host.exists("/etc/crio/crio.conf") || host.exists("/etc/crio/crio.conf.d"),
        microk8s,
    })
}

/// A containerd `hosts.toml` in `certs_dir` for every namespace, with the
/// buildset registry first and its CA at `ca(namespace)`.
fn hosts_files(
    host: &Host,
    inputs: &ClientSetup,
    certs_dir: &str,
    ca: impl Fn(&str) -> String,
    plan: &mut Plan,
) -> Result<()> {
    let address = inputs.registry.alias_address();
    for ns in &inputs.namespaces {
        let path = format!("{certs_dir}/{}/hosts.toml", ns.name());
        let text = read(host, &path)?;
        let entry = containerd::HostEntry::new(ns.name(), &address, &ca(ns.name()));
        plan.file(
            &path,
            containerd::edit_hosts(&path, text.as_deref(), ns.upstream(), &entry)?,
        );
    }
    Ok(())
}

/// Credentials for the docker user's `config.json`, podman's `auth.json`,
/// and the kubelet's link to the former.
fn user_auth(
    host: &Host,
    inputs: &ClientSetup,
    address: &str,
    password: &Secret,
    plan: &mut Plan,
) -> Result<()> {
    let passwd_file = host.path("/etc/passwd").display().to_string();
    let passwd = read(host, "/etc/passwd")?.unwrap_or_default();
    let user = users::lookup(
        &passwd,
        &passwd_file,
        inputs.docker_user.as_deref(),
        inputs.uid,
    )?;
    let owner = Some((user.uid, user.gid));
    let username = &inputs.registry.username;

    let config = format!("{}/.docker/config.json", user.home.trim_end_matches('/'));
    let text = read(host, &config)?;
    plan.private_file(
        &config,
        auth::merge(&config, text.as_deref(), address, username, password)?,
        owner,
    );

    // podman, buildah and skopeo read `${XDG_RUNTIME_DIR}/containers/auth.json`
    // (`/run/containers/0/auth.json` for root).
    let podman = if user.uid == 0 {
        Some("/run/containers/0/auth.json".to_owned())
    } else {
        let runtime = format!("/run/user/{}", user.uid);
        host.exists(&runtime)
            .then(|| format!("{runtime}/containers/auth.json"))
    };
    if let Some(podman) = podman {
        let text = read(host, &podman)?;
        plan.private_file(
            &podman,
            auth::merge(&podman, text.as_deref(), address, username, password)?,
            owner,
        );
    }

    if host.exists("/var/lib/kubelet") {
        plan.links.push(super::plan::Link {
            path: "/var/lib/kubelet/config.json".into(),
            target: config,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(crio: bool, microk8s: bool) -> BuildsetPlan {
        BuildsetPlan {
            plan: Plan::default(),
            trust: ca_trust::system_trust(&Host::new("/nonexistent")),
            system_ca: "/usr/local/share/ca-certificates/zuul-jobs.buildset-registry.crt".into(),
            docker_mirror: "https://zuul-jobs.buildset-registry:5000/".into(),
            containerd: None,
            crio,
            microk8s,
        }
    }

    fn applied(paths: &[&str]) -> Applied {
        Applied {
            changed: paths.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn nudges_follow_the_changed_files() {
        let everything = planned(true, true);
        let system_ca = everything.system_ca.clone();
        let containers_ca = ca_trust::containers_ca("zuul-jobs.buildset-registry:5000");
        let microk8s_hosts = format!("{MICROK8S_CERTS_DIR}/quay.io/hosts.toml");
        let cases: &[(&[&str], &[Nudge])] = &[
            (&[], &[]),
            // daemon.json is dockerd's business (a reload), buildkitd.toml
            // is read when a builder starts.
            (&[DAEMON_JSON, BUILDKITD_TOML, ETC_HOSTS], &[]),
            (
                &[&system_ca],
                &[Nudge::Trust("update-ca-certificates"), Nudge::ReloadCrio],
            ),
            (&[CONTAINERD_CONFIG], &[Nudge::RestartContainerd]),
            // hosts.toml files are read per pull: no restart.
            (&["/etc/containerd/certs.d/quay.io/hosts.toml"], &[]),
            (&[REGISTRIES_CONF], &[Nudge::ReloadCrio]),
            (&[&containers_ca], &[Nudge::ReloadCrio]),
            (&[&microk8s_hosts], &[Nudge::RestartMicrok8s]),
        ];
        for (changed, want) in cases {
            assert_eq!(everything.nudges(&applied(changed)), *want, "{changed:?}");
        }
        // Nothing for a service that is not installed.
        let bare = planned(false, false);
        assert_eq!(
            bare.nudges(&applied(&[REGISTRIES_CONF, &microk8s_hosts])),
            []
        );
        assert_eq!(
            bare.nudges(&applied(&[&system_ca, CONTAINERD_CONFIG])),
            [
                Nudge::Trust("update-ca-certificates"),
                Nudge::RestartContainerd
            ]
        );
    }
}
