//! Connection data for registries and credentials, as the roles pass them:
//! `buildset_registry`, `intermediate_registry`, `docker_credentials` and
//! `container_registry_credentials`. Passwords are `Secret`s.

use super::Error;
use super::de::{opt_port, port};
use super::vars::{Vars, deserialize_at};
use crate::reference;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The variable (and return-data key) holding the buildset registry's
/// connection data; the one spelling of the name.
pub const BUILDSET_REGISTRY: &str = "buildset_registry";

/// The alias written to `/etc/hosts` when the registry host is an IP.
pub const BUILDSET_ALIAS: &str = "zuul-jobs.buildset-registry";

/// `buildset_registry`: what `run-buildset-registry` returns as secret data.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct BuildsetRegistry {
    pub host: String,
    #[serde(deserialize_with = "port")]
    pub port: u16,
    #[serde(default = "default_user")]
    pub username: String,
    #[serde(default)]
    pub password: Secret,
    /// The CA certificate (PEM) that signed the registry's certificate.
    #[serde(default)]
    pub cert: Option<String>,
}

fn default_user() -> String {
    "zuul".to_owned()
}

impl BuildsetRegistry {
    /// Parse and validate a `buildset_registry` value; `name` is the key
    /// path used in errors.
    pub fn from_value(
        name: &str,
        value: &serde_json::Value,
        origin: Option<String>,
    ) -> Result<BuildsetRegistry, Error> {
        let registry: BuildsetRegistry = deserialize_at(name, value, origin.clone())?;
        let invalid = |field: &str, message: String| Error::Invalid {
            path: format!("{name}.{field}"),
            origin: origin.clone(),
            message,
        };
        let bare = registry.host.trim_start_matches('[').trim_end_matches(']');
        reference::validate_host(&reference::ipwrap(bare))
            .map_err(|err| invalid("host", err.to_string()))?;
        if let Some(cert) = &registry.cert {
            if !cert.contains("-----BEGIN CERTIFICATE-----") {
                return Err(invalid(
                    "cert",
                    "expected a PEM certificate (`-----BEGIN CERTIFICATE-----`)".into(),
                ));
            }
        }
        Ok(BuildsetRegistry {
            host: bare.to_owned(),
            ..registry
        })
    }

    /// The name clients use: the alias when the host is an IP, else the host.
    pub fn alias(&self) -> &str {
        if reference::is_ip(&self.host) {
            BUILDSET_ALIAS
        } else {
            &self.host
        }
    }

    /// `host:port` for direct connections (IPv6 bracketed).
    pub fn address(&self) -> String {
        reference::host_port(&self.host, self.port)
    }

    /// `alias:port`, the registry name written into client configuration.
    pub fn alias_address(&self) -> String {
        format!("{}:{}", self.alias(), self.port)
    }
}

/// `intermediate_registry`: the site's long-lived registry.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct IntermediateRegistry {
    pub host: String,
    #[serde(default, deserialize_with = "opt_port")]
    pub port: Option<u16>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    /// An optional CA (PEM) to trust for this registry.
    #[serde(default)]
    pub cert: Option<String>,
}

impl IntermediateRegistry {
    pub fn from_vars(vars: &Vars, command: &str) -> Result<IntermediateRegistry, Error> {
        let registry: IntermediateRegistry = vars.required("intermediate_registry", command)?;
        let bare = registry
            .host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        reference::validate_host(&reference::ipwrap(&bare)).map_err(|err| {
            vars.invalid(
                "intermediate_registry",
                "intermediate_registry.host",
                err.to_string(),
            )
        })?;
        Ok(IntermediateRegistry {
            host: bare,
            ..registry
        })
    }

    /// `host:port` (or `host` when no port is given), IPv6 bracketed.
    pub fn address(&self) -> String {
        match self.port {
            Some(port) => reference::host_port(&self.host, port),
            None => reference::ipwrap(&self.host),
        }
    }
}

/// `docker_credentials`: a Zuul secret for Docker Hub (or `docker_registry`).
#[derive(Debug, Clone, Deserialize)]
pub struct DockerCredentials {
    pub username: String,
    pub password: Secret,
    /// A regular expression (search semantics) every repository must match.
    #[serde(default)]
    pub repository: Option<String>,
    /// zuul-image's addition: what kind of registry `docker_registry` is
    /// (`docker`, `quay` or `registry`), as in
    /// `container_registry_credentials`; inferred from the name when unset.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// zuul-image's addition: a CA, or the registry's own self-signed
    /// certificate (PEM), to trust for `docker_registry`.
    #[serde(default)]
    pub cert: Option<String>,
}

/// One entry of `container_registry_credentials`.
#[derive(Debug, Clone, Deserialize)]
pub struct RegistryCredentials {
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    #[serde(default)]
    pub repository: Option<String>,
    #[serde(default)]
    pub api_token: Option<Secret>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub api_url: Option<String>,
    /// zuul-image's addition: a CA, or the registry's own self-signed
    /// certificate (PEM), to trust for this registry.
    #[serde(default)]
    pub cert: Option<String>,
}

/// Which API deletes and lists a final registry's tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryKind {
    /// Docker Hub: the Hub web API (`hub.docker.com`).
    DockerHub,
    /// quay.io (or a Quay installation): its `/api/v1` with an `api_token`.
    Quay,
    /// Any other registry: the distribution API only.
    Oci,
}

impl RegistryKind {
    /// The kind a credentials entry names in `type` (`docker`, `quay`,
    /// `registry`), else the one its name implies: `quay.io` in it is
    /// Quay, `docker.io` (or no registry at all) is Docker Hub, anything
    /// else a plain OCI registry. `Err` carries the message for a `type`
    /// that is none of these.
    pub fn of(explicit: Option<&str>, registry: &str) -> Result<RegistryKind, String> {
        match explicit.map(str::trim) {
            Some("docker") => Ok(RegistryKind::DockerHub),
            Some("quay") => Ok(RegistryKind::Quay),
            Some("registry" | "oci") => Ok(RegistryKind::Oci),
            Some(other) => Err(format!(
                "unknown registry type `{other}`: expected `docker`, `quay` or `registry`"
            )),
            None if registry.contains("quay.io") => Ok(RegistryKind::Quay),
            None if registry.is_empty()
                || registry.contains("docker.io")
                || registry == "registry.hub.docker.com" =>
            {
                Ok(RegistryKind::DockerHub)
            }
            None => Ok(RegistryKind::Oci),
        }
    }
}

/// `container_registry_credentials`: registry name to credentials.
pub type ContainerRegistryCredentials = BTreeMap<String, RegistryCredentials>;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    #[test]
    fn port_as_string_or_integer() {
        for port in [json!(5000), json!("5000")] {
            let value = json!({"host": "10.0.0.1", "port": port, "password": "pw", "cert": PEM});
            let registry = BuildsetRegistry::from_value("buildset_registry", &value, None).unwrap();
            assert_eq!(registry.port, 5000);
            assert_eq!(registry.username, "zuul");
            assert_eq!(registry.alias(), BUILDSET_ALIAS);
            assert_eq!(registry.alias_address(), "zuul-jobs.buildset-registry:5000");
        }
    }

    #[test]
    fn ipv6_and_names() {
        let v6 = BuildsetRegistry::from_value("b", &json!({"host": "fd00::1", "port": 5000}), None)
            .unwrap();
        assert_eq!(v6.address(), "[fd00::1]:5000");
        assert_eq!(v6.alias(), BUILDSET_ALIAS);
        let named = BuildsetRegistry::from_value(
            "b",
            &json!({"host": "reg.example.org", "port": 5000}),
            None,
        )
        .unwrap();
        assert_eq!(named.alias(), "reg.example.org");
    }

    #[test]
    fn bad_values_name_the_field() {
        for (value, want) in [
            (json!({"host": "10.0.0.1"}), "`buildset_registry`"),
            (
                json!({"host": "10.0.0.1", "port": "http"}),
                "`buildset_registry.port`",
            ),
            (
                json!({"host": "10.0.0.1", "port": 0}),
                "`buildset_registry.port`",
            ),
            (
                json!({"host": "bad host", "port": 1}),
                "`buildset_registry.host`",
            ),
            (
                json!({"host": "h", "port": 1, "cert": "nope"}),
                "`buildset_registry.cert`",
            ),
        ] {
            let err = BuildsetRegistry::from_value("buildset_registry", &value, None)
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(want), "{value}: {err}");
        }
    }

    #[test]
    fn registry_kinds() {
        for (explicit, registry, want) in [
            (None, "quay.io", RegistryKind::Quay),
            (None, "quay.io:443", RegistryKind::Quay),
            (None, "docker.io", RegistryKind::DockerHub),
            (None, "registry-1.docker.io", RegistryKind::DockerHub),
            (None, "", RegistryKind::DockerHub),
            (None, "127.0.0.1:5000", RegistryKind::Oci),
            (Some("quay"), "127.0.0.1:5000", RegistryKind::Quay),
            (Some("docker"), "127.0.0.1:5000", RegistryKind::DockerHub),
            (Some("registry"), "quay.io", RegistryKind::Oci),
        ] {
            assert_eq!(RegistryKind::of(explicit, registry).unwrap(), want);
        }
        let err = RegistryKind::of(Some("gcr"), "gcr.io").unwrap_err();
        assert!(err.contains("`gcr`"), "{err}");
    }

    #[test]
    fn passwords_do_not_leak_through_debug() {
        let value = json!({"host": "h", "port": 1, "password": "hunter2"});
        let registry = BuildsetRegistry::from_value("b", &value, None).unwrap();
        assert!(!format!("{registry:?}").contains("hunter2"));
    }
}
