//! The buildx builder of a docker multi-platform build, configured for the
//! buildset registry: its `buildkitd.toml` is the node's own
//! (`/etc/buildkit/buildkitd.toml`, which `use-buildset-registry` wrote;
//! site settings kept) with the buildset registry first in the mirrors of
//! the roles' default namespaces and its CA trusted for `<alias>:<port>`;
//! both files go to a private scratch directory that lives as long as the
//! builder. The alias is added inside the builder when the registry's
//! host is an IP.

use super::Error;
use crate::engine::buildx::{Builder, BuilderSetup, HostsAlias};
use crate::engine::cli::Runner;
use crate::host::buildkitd;
use crate::host::registries_conf::Mirror;
use crate::reference;
use crate::zuul::inputs::build::Build;
use crate::zuul::inputs::use_registry::default_namespaces;
use crate::zuul::registries::BuildsetRegistry;
use std::path::Path;

/// The node's buildkitd configuration, the builder's starting point.
pub const HOST_CONFIG: &str = "/etc/buildkit/buildkitd.toml";

/// The builder's `buildkitd.toml`: `existing` with the buildset registry
/// as the first mirror of each default namespace and `ca` (a file on this
/// machine) trusted for it.
pub fn config(
    existing: Option<&str>,
    registry: &BuildsetRegistry,
    ca: Option<&Path>,
) -> Result<String, crate::host::Error> {
    let address = registry.alias_address();
    let mirrors: Vec<Mirror> = default_namespaces()
        .iter()
        .map(|ns| Mirror::of(&address, ns.name()))
        .collect();
    let text = buildkitd::edit(HOST_CONFIG, existing, &mirrors)?;
    match ca {
        Some(ca) => buildkitd::trust(
            HOST_CONFIG,
            Some(&text),
            &address,
            &ca.display().to_string(),
        ),
        None => Ok(text),
    }
}

/// A builder and the scratch directory its files live in.
#[derive(Debug)]
pub struct Prepared {
    pub builder: Builder,
    _scratch: tempfile::TempDir,
}

/// Create the builder for `plan`'s docker multi-platform builds;
/// `existing` is the text of the node's [`HOST_CONFIG`], if any.
pub async fn prepare(
    runner: &dyn Runner,
    plan: &Build,
    existing: Option<&str>,
) -> Result<Prepared, Error> {
    let scratch = tempfile::Builder::new()
        .prefix("zuul-image-buildx-")
        .tempdir()
        .map_err(|source| Error::Scratch {
            source: crate::fs::Error {
                op: crate::fs::Op::CreateTemp,
                path: std::env::temp_dir(),
                source,
            },
        })?;
    let write = |name: &str, text: &str| -> Result<std::path::PathBuf, Error> {
        let path = scratch.path().join(name);
        crate::fs::write_atomic(&path, text.as_bytes(), crate::fs::PRIVATE)
            .map_err(|source| Error::Scratch { source })?;
        Ok(path)
    };
    let text = match &plan.buildset {
        Some(registry) => {
            let ca = registry
                .cert
                .as_deref()
                .map(|pem| write("ca.crt", pem))
                .transpose()?;
            config(existing, registry, ca.as_deref())?
        }
        None => existing.unwrap_or_default().to_owned(),
    };
    let config = write("buildkitd.toml", &text)?;
    let hosts_alias = plan
        .buildset
        .as_ref()
        .filter(|registry| reference::is_ip(&registry.host))
        .map(|registry| HostsAlias {
            ip: registry.host.clone(),
            alias: registry.alias().to_owned(),
        });
    let setup = BuilderSetup {
        name: format!("zuul-image-{}", std::process::id()),
        image: plan.builder_image.clone(),
        config,
        hosts_alias,
    };
    let builder = Builder::create(runner, &setup, scratch.path())
        .await
        .map_err(|source| Error::Builder {
            source: Box::new(source),
        })?;
    Ok(Prepared {
        builder,
        _scratch: scratch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fake::Script;
    use crate::zuul::inputs::build::{EngineChoice, EngineKind};
    use crate::zuul::inputs::family::Family;

    const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    fn registry() -> BuildsetRegistry {
        let value =
            serde_json::json!({"host": "10.0.0.5", "port": 5000, "password": "pw", "cert": PEM});
        BuildsetRegistry::from_value("buildset_registry", &value, None).unwrap()
    }

    #[test]
    fn the_node_config_gains_mirrors_and_the_ca() {
        let site = "# site\n[registry.\"docker.io\"]\n  mirrors = [\"mirror.site:8082\"]\n";
        let out = config(Some(site), &registry(), Some(Path::new("/s/ca.crt"))).unwrap();
        assert!(out.starts_with("# site\n"), "{out}");
        assert!(
            out.contains("mirrors = [\"zuul-jobs.buildset-registry:5000\", \"mirror.site:8082\"]"),
            "{out}"
        );
        assert!(
            out.contains(
                "[registry.\"quay.io\"]\nmirrors = [\"zuul-jobs.buildset-registry:5000/quay.io\"]"
            ),
            "{out}"
        );
        assert!(
            out.contains("[registry.\"zuul-jobs.buildset-registry:5000\"]\nca = [\"/s/ca.crt\"]"),
            "{out}"
        );
        let plain = config(None, &registry(), None).unwrap();
        assert!(!plain.contains("ca ="), "{plain}");
    }

    #[tokio::test]
    async fn prepares_a_builder_with_its_files_while_it_lives() {
        let plan = Build {
            family: Family::Docker,
            engine: EngineChoice {
                kind: EngineKind::Docker,
                fallback: None,
            },
            images: Vec::new(),
            buildset: Some(registry()),
            builder_image: "registry.example.org/buildkit:1".into(),
            env: Vec::new(),
            sources: None,
        };
        let script = Script::new().answer(&["exec"], "127.0.0.1 localhost\n");
        let prepared = prepare(&script, &plan, None).await.unwrap();
        let commands = script.commands();
        let create = &commands[1];
        let config = create.split(" --config ").nth(1).unwrap();
        let text = std::fs::read_to_string(config).unwrap();
        let dir = Path::new(config).parent().unwrap();
        assert!(text.contains(&format!("ca = [\"{}\"]", dir.join("ca.crt").display())));
        assert_eq!(std::fs::read_to_string(dir.join("ca.crt")).unwrap(), PEM);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(config).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(create.contains("--driver-opt image=registry.example.org/buildkit:1"));
        assert!(
            commands
                .iter()
                .any(|c| c.ends_with("cp /etc/zuul-image-hosts /etc/hosts"))
        );
        let name = prepared.builder.name().to_owned();
        drop(prepared);
        assert!(!dir.exists(), "the scratch files go with the builder");
        assert!(name.starts_with("zuul-image-"));
    }
}
