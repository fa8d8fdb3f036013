//! `run-buildset-registry`: start the embedded registry for this buildset
//! (the role of the same name, without a container, openssl or socat) and
//! return its connection data as `secret_data.buildset_registry`.

use super::context::Context;
use crate::host::network;
use crate::server::buildset::{Connection, Layout};
use crate::server::buildset_run;
use crate::zuul::inputs::run_registry::{RunRegistry, RunRegistryFlags};
use crate::zuul::registries::BUILDSET_REGISTRY;
use crate::zuul::results::ReturnData;
use anyhow::Context as _;
use std::path::PathBuf;

/// Start the buildset registry detached and supervised, wait until it
/// answers over TLS, and return `{host, port, username, password, cert}`.
///
/// Does nothing when `buildset_registry` is already defined (a parent job
/// runs it). A second run on the same root reuses the running registry and
/// returns the same data.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Host clients use to reach the registry; an IP address of this
    /// machine is also where it listens [var: buildset_registry_host;
    /// default: this node's primary IP address, listening on every
    /// interface].
    #[arg(long)]
    pub host: Option<String>,
    /// Port [var: buildset_registry_port; default: 5000].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,
    /// Where to listen when it is not the host: an IP address (`0.0.0.0`,
    /// `::` for every interface) or ADDR:PORT [var:
    /// buildset_registry_listen; default: the host when it is an IP address
    /// of this machine, else every interface (`[::]`, IPv4 too)].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Directory for config, certificates and storage
    /// [var: buildset_registry_root; default: ~/buildset_registry].
    #[arg(long, value_name = "DIR", value_parser = crate::cli::dir_arg)]
    pub root: Option<PathBuf>,
    /// Stop the registry running from the root instead.
    #[arg(long)]
    pub stop: bool,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let flags = RunRegistryFlags {
        host: args.host,
        port: args.port,
        listen: args.listen,
        root: args.root,
        stop: args.stop,
    };
    let settings = match RunRegistry::resolve(
        &ctx.vars,
        &ctx.env,
        &flags,
        network::primary_ip,
        network::is_local,
    )? {
        RunRegistry::Parent => {
            ctx.printer.status(
                "buildset_registry is defined: a parent job runs the registry, nothing to do",
            );
            return ctx.emit(&ReturnData::default());
        }
        RunRegistry::Stop { root } => return super::registry::stop(&Layout::new(&root).run(), ctx),
        RunRegistry::Start(settings) => settings,
    };
    crate::host::privilege::require_root_for_port("run-buildset-registry", settings.listen.port())?;
    if let Some(note) = &settings.listen_note {
        ctx.printer.status(note);
    }
    let connection = Connection {
        host: settings.host.clone(),
        port: settings.port,
        listen: settings.listen,
    };
    let running = buildset_run::ensure_running(&settings.root, connection).await?;
    ctx.printer.status(running.summary());
    let registry = running.registry;
    let mut data = ReturnData::default();
    data.secret_data.insert(
        BUILDSET_REGISTRY.into(),
        serde_json::to_value(&registry).context("failed to encode the connection data")?,
    );
    ctx.emit(&data)
}
