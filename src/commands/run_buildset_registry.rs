//! `run-buildset-registry`: start the embedded registry for this buildset
//! (the role of the same name, without a container, openssl or socat) and
//! return its connection data as `secret_data.buildset_registry`.

use super::context::Context;
use crate::server::buildset::{self, Connection, Layout};
use crate::server::supervisor::{self, Started};
use crate::zuul::results::ReturnData;
use anyhow::Context as _;
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Start the buildset registry detached and supervised, wait until it
/// answers over TLS, and return `{host, port, username, password, cert}`.
///
/// Does nothing when `buildset_registry` is already defined (a parent job
/// runs it). A second run on the same root reuses the running registry and
/// returns the same data.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Host clients use to reach the registry [var: buildset_registry_host;
    /// default: this node's primary IP address].
    #[arg(long)]
    pub host: Option<String>,
    /// Port [var: buildset_registry_port; default: 5000].
    #[arg(long)]
    pub port: Option<u16>,
    /// Directory for config, certificates and storage
    /// [var: buildset_registry_root; default: ~/buildset_registry].
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Stop the registry running from the root instead.
    #[arg(long)]
    pub stop: bool,
}

/// Resolved inputs.
struct Settings {
    host: String,
    port: u16,
    root: PathBuf,
}

fn string_var(ctx: &Context, name: &str) -> anyhow::Result<Option<String>> {
    match ctx.vars.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(ctx
            .vars
            .invalid(name, name, format!("expected a string, not {other}"))
            .into()),
    }
}

fn resolve(args: &Args, ctx: &Context) -> anyhow::Result<Settings> {
    let port = match (args.port, ctx.vars.get("buildset_registry_port")) {
        (Some(port), _) => port,
        (None, None | Some(Value::Null)) => 5000,
        (None, Some(value)) => {
            let parsed = match value {
                Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
                Value::String(s) => s.trim().parse::<u16>().ok(),
                _ => None,
            };
            match parsed {
                Some(port) if port > 0 => port,
                _ => {
                    return Err(ctx
                        .vars
                        .invalid(
                            "buildset_registry_port",
                            "buildset_registry_port",
                            "expected a port number (1-65535)",
                        )
                        .into());
                }
            }
        }
    };
    let home = || std::env::var_os("HOME").map(PathBuf::from);
    let root = match (&args.root, string_var(ctx, "buildset_registry_root")?) {
        (Some(root), _) => root.clone(),
        (None, Some(root)) => match root.strip_prefix("~/") {
            Some(rest) => home()
                .map(|h| h.join(rest))
                .unwrap_or_else(|| root.clone().into()),
            None => PathBuf::from(root),
        },
        (None, None) => home()
            .map(|h| h.join("buildset_registry"))
            .ok_or_else(|| crate::exit::UsageError("HOME is not set: pass `--root DIR`".into()))?,
    };
    let host = match (&args.host, string_var(ctx, "buildset_registry_host")?) {
        (Some(host), _) => host.clone(),
        (None, Some(host)) => host,
        (None, None) => primary_ip().ok_or_else(|| {
            crate::exit::UsageError(
                "cannot tell this node's primary IP address: pass `--host` or set `buildset_registry_host`".into(),
            )
        })?,
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    crate::reference::validate_host(&crate::reference::ipwrap(&host)).map_err(|err| {
        ctx.vars.invalid(
            "buildset_registry_host",
            "buildset_registry_host",
            err.to_string(),
        )
    })?;
    Ok(Settings { host, port, root })
}

/// The source address of this node's default route, found by connecting a
/// UDP socket (which sends nothing) to documentation addresses.
fn primary_ip() -> Option<String> {
    let probes = [("0.0.0.0:0", "192.0.2.1:9"), ("[::]:0", "[2001:db8::1]:9")];
    probes.iter().find_map(|(bind, target)| {
        let socket = std::net::UdpSocket::bind(bind).ok()?;
        socket.connect(target).ok()?;
        let ip = socket.local_addr().ok()?.ip();
        (!ip.is_unspecified() && !ip.is_loopback()).then(|| ip.to_string())
    })
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    if ctx.vars.contains("buildset_registry") && !args.stop {
        ctx.printer
            .status("buildset_registry is defined: a parent job runs the registry, nothing to do");
        return ctx.emit(&ReturnData::default());
    }
    let settings = resolve(&args, ctx)?;
    crate::host::privilege::require_root_for_port("run-buildset-registry", settings.port)?;
    let layout = Layout::new(&settings.root);
    if args.stop {
        return super::registry::stop(&layout.run(), ctx);
    }
    let started = Instant::now();
    let connection = Connection {
        host: settings.host.clone(),
        port: settings.port,
    };
    let run = layout.run();
    let existing = layout.load()?;
    let running = run.running_pid().is_some() || run.unit().is_some();
    let registry = match existing {
        Some((old, registry)) if running => {
            if old != connection {
                anyhow::bail!(
                    "a buildset registry for `{}:{}` already runs from `{}`; stop it first with `zuul-image registry stop --root {}`",
                    old.host,
                    old.port,
                    settings.root.display(),
                    settings.root.display()
                );
            }
            let ca = registry.cert.clone().unwrap_or_default();
            buildset::wait_ready(settings.port, &ca, Duration::from_secs(30), || true)
                .await
                .context("the running buildset registry does not answer")?;
            ctx.printer.status(format!(
                "buildset registry already running on {} (root `{}`)",
                registry.address(),
                settings.root.display()
            ));
            registry
        }
        existing => {
            let registry = match existing {
                Some((old, registry)) if old == connection => registry,
                _ => layout.create(&connection)?,
            };
            let ca = registry.cert.clone().unwrap_or_default();
            let start = supervisor::start(&layout.config(), &run, &Layout::unit(settings.port))?;
            let ready = match start {
                Started::Supervisor(mut child) => {
                    buildset::wait_ready(settings.port, &ca, Duration::from_secs(30), || {
                        matches!(child.try_wait(), Ok(None))
                    })
                    .await
                }
                Started::Systemd(_) => {
                    buildset::wait_ready(settings.port, &ca, Duration::from_secs(30), || true).await
                }
            };
            if let Err(err) = ready {
                let tail = run.log_tail();
                let _ = supervisor::stop(&run);
                return Err(err.context(format!(
                    "failed to start the buildset registry on port {}; last log lines:\n{tail}",
                    settings.port
                )));
            }
            ctx.printer.status(format!(
                "buildset registry running on {} (root `{}`, ready in {} ms)",
                registry.address(),
                settings.root.display(),
                started.elapsed().as_millis()
            ));
            registry
        }
    };
    let mut data = ReturnData::default();
    data.secret_data.insert(
        "buildset_registry".into(),
        serde_json::to_value(&registry).context("failed to encode the connection data")?,
    );
    ctx.emit(&data)
}
