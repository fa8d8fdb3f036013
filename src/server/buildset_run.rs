//! Bringing a buildset registry up for `run-buildset-registry`: reuse the
//! registry already running from the same root (when it advertises the
//! same address), else create or reuse the root's layout, start the
//! registry detached and supervised ([`super::supervisor`]), and wait until
//! it answers over TLS with its own CA. A registry that could not start
//! (its [status](super::status) says why: the port is in use, the address
//! is not this machine's) fails the wait at once with that reason; one that
//! does not come up for another reason is stopped again and its log tail
//! reported.
//!
//! Takes resolved settings and returns the connection data; reads no Zuul
//! variables and prints nothing (the command does both).

use super::buildset::{self, Connection, Layout};
use super::status::{self, Cause, ServeStatus};
use super::supervisor::{self, Started};
use crate::host::services;
use crate::output::Hint;
use crate::zuul::registries::BuildsetRegistry;
use anyhow::{Context, Result, anyhow, bail};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a registry may take to answer.
const READY_LIMIT: Duration = Duration::from_secs(30);

/// A buildset registry that answers, and how it got there.
#[derive(Debug)]
pub struct Running {
    /// The connection data (`secret_data.buildset_registry`).
    pub registry: BuildsetRegistry,
    /// The address it listens on.
    pub listen: std::net::SocketAddr,
    pub root: PathBuf,
    /// `None` when an already running registry was reused, else the time
    /// from start to the first answer.
    pub started_in: Option<Duration>,
}

impl Running {
    /// One status line for the log.
    pub fn summary(&self) -> String {
        match self.started_in {
            None => format!(
                "buildset registry already running on {} (listening on {}, root `{}`)",
                self.registry.address(),
                self.listen,
                self.root.display()
            ),
            Some(elapsed) => format!(
                "buildset registry running on {} (listening on {}, root `{}`, ready in {} ms)",
                self.registry.address(),
                self.listen,
                self.root.display(),
                elapsed.as_millis()
            ),
        }
    }
}

/// Make sure the buildset registry of `root` runs and answers at
/// `connection`; see the module documentation.
pub async fn ensure_running(root: &Path, connection: Connection) -> Result<Running> {
    let started = Instant::now();
    let layout = Layout::new(root);
    let run = layout.run();
    let existing = layout.load()?;
    let running = run.running_pid().is_some() || run.unit().is_some();
    let reply = |registry, started_in| Running {
        registry,
        listen: connection.listen,
        root: root.to_path_buf(),
        started_in,
    };
    match existing {
        Some((old, registry)) if running => {
            if old != connection {
                bail!(
                    "a buildset registry for `{}:{}` (listening on `{}`) already runs from `{}`; stop it first with `zuul-image registry stop --root {}`",
                    old.host,
                    old.port,
                    old.listen,
                    root.display(),
                    root.display()
                );
            }
            let ca = registry.cert.clone().unwrap_or_default();
            buildset::wait_ready(connection.probe_address(), &ca, READY_LIMIT, || None)
                .await
                .context("the running buildset registry does not answer")?;
            Ok(reply(registry, None))
        }
        existing => {
            let registry = match existing {
                Some((old, registry)) if old == connection => registry,
                _ => layout.create(&connection)?,
            };
            let ca = registry.cert.clone().unwrap_or_default();
            let start = supervisor::start(&layout.config(), &run, &Layout::unit(connection.port))?;
            let status_file = run.status_file();
            let failed = || {
                // Dead first: a server that failed wrote its status before
                // its supervisor exited.
                let dead =
                    matches!(start, Started::Supervisor(pid) if !services::is_alive(pid as i32));
                match status::read(&status_file) {
                    Some(ServeStatus::Failed { message, cause }) => {
                        Some(refused(message, cause, connection.listen.port()))
                    }
                    _ if dead => Some(anyhow!("the registry exited before it answered")),
                    _ => None,
                }
            };
            let ready =
                buildset::wait_ready(connection.probe_address(), &ca, READY_LIMIT, failed).await;
            if let Err(err) = ready {
                let refused = err.downcast_ref::<Refused>().is_some();
                let tail = run.log_tail();
                let _ = supervisor::stop(&run);
                // A supervisor that gave up by itself may still be exiting
                // (its pidfile already gone); nothing is left running.
                if let Started::Supervisor(pid) = start {
                    services::wait_exit(pid as i32, Duration::from_secs(5));
                }
                let what = format!(
                    "failed to start the buildset registry on `{}`",
                    connection.listen
                );
                return Err(if refused {
                    err.context(what)
                } else {
                    err.context(format!("{what}; last log lines:\n{tail}"))
                });
            }
            Ok(reply(registry, Some(started.elapsed())))
        }
    }
}

/// Why the registry could not start, as its status said.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refused(String);

/// The error for a registry that could not start, with what to do when
/// that is clear.
fn refused(message: String, cause: Cause, port: u16) -> anyhow::Error {
    let err = anyhow::Error::new(Refused(message));
    let hint = match cause {
        Cause::PortInUse => format!(
            "another program listens there (`ss -ltnp 'sport = :{port}'` names it): stop it, or choose another port with `--port` or `buildset_registry_port`"
        ),
        Cause::NotLocal => "when clients reach this node through another address (NAT), keep that as the host and listen on one of this machine's with `--listen` or `buildset_registry_listen` (`::` for every interface)".to_owned(),
        Cause::Other => return err,
    };
    err.context(Hint(hint))
}
