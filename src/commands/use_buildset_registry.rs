//! `use-buildset-registry`: point docker, podman/buildah/skopeo/cri-o,
//! containerd and buildkit at the buildset registry (the role of the same
//! name), then reload what must re-read its configuration. Turns flags into
//! typed inputs and calls [`crate::host::use_registry::apply`].

use super::context::Context;
use crate::host::dockerd;
use crate::host::use_registry;
use crate::zuul::inputs::use_registry::{ClientFlags, UseBuildsetRegistry, UseRegistryFlags};
use crate::zuul::results::ReturnData;
use anyhow::Result;

/// Point every container client on this machine at the buildset registry.
///
/// Reads `buildset_registry` (a variable, or `secret_data` of this job's
/// results file), `buildset_registry_namespaces` (default docker.io,
/// quay.io, gcr.io, registry.k8s.io), `buildset_registry_unqualified_registries`
/// (default docker.io) and `buildset_registry_docker_user`. Writes the
/// `/etc/hosts` alias, the CA, `daemon.json` mirrors (then reloads dockerd:
/// running containers keep running), `registries.conf`, `buildkitd.toml`,
/// containerd's `hosts.toml` files (microk8s's too, then restarts it) and
/// the registry credentials, each only when its bytes change.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub host: crate::cli::HostArgs,
    /// A registry namespace to mirror (repeatable); replaces
    /// `buildset_registry_namespaces`.
    #[arg(long = "namespace", value_name = "REGISTRY")]
    pub namespaces: Vec<String>,
    /// Whose `~/.docker/config.json` gets the credentials; wins over
    /// `buildset_registry_docker_user` (default: the user running this).
    #[arg(long, value_name = "USER")]
    pub docker_user: Option<String>,
    /// The Docker API socket to reload through (default:
    /// `/var/run/docker.sock` under `--root`).
    #[arg(long, value_name = "unix://PATH", env = "DOCKER_HOST")]
    pub docker_host: Option<String>,
    /// dockerd's pidfile, a host path under `--root`.
    #[arg(long, value_name = "PATH", default_value = dockerd::DEFAULT_PIDFILE)]
    pub docker_pidfile: String,
}

pub async fn run(args: Args, ctx: &Context) -> Result<()> {
    crate::host::privilege::require_root("use-buildset-registry", &args.host.host())?;
    let flags = UseRegistryFlags {
        clients: ClientFlags {
            namespaces: args.namespaces,
            docker_user: args.docker_user,
        },
        docker_host: args.docker_host,
        docker_pidfile: args.docker_pidfile,
    };
    let inputs = UseBuildsetRegistry::resolve(&ctx.sources(), &flags)?;
    use_registry::apply(
        &args.host.host(),
        &inputs.setup,
        &inputs.docker,
        &ctx.printer,
    )
    .await?;
    ctx.emit(&ReturnData::default())
}
