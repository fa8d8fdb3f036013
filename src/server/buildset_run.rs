//! Bringing a buildset registry up for `run-buildset-registry`: reuse the
//! registry already running from the same root (when it advertises the
//! same address), else create or reuse the root's layout, start the
//! registry detached and supervised ([`super::supervisor`]), and wait until
//! it answers over TLS with its own CA; a registry that does not come up is
//! stopped again and its log tail reported.
//!
//! Takes resolved settings and returns the connection data; reads no Zuul
//! variables and prints nothing (the command does both).

use super::buildset::{self, Connection, Layout};
use super::supervisor::{self, Started};
use crate::host::services;
use crate::zuul::registries::BuildsetRegistry;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a registry may take to answer.
const READY_LIMIT: Duration = Duration::from_secs(30);

/// A buildset registry that answers, and how it got there.
#[derive(Debug)]
pub struct Running {
    /// The connection data (`secret_data.buildset_registry`).
    pub registry: BuildsetRegistry,
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
                "buildset registry already running on {} (root `{}`)",
                self.registry.address(),
                self.root.display()
            ),
            Some(elapsed) => format!(
                "buildset registry running on {} (root `{}`, ready in {} ms)",
                self.registry.address(),
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
        root: root.to_path_buf(),
        started_in,
    };
    match existing {
        Some((old, registry)) if running => {
            if old != connection {
                bail!(
                    "a buildset registry for `{}:{}` already runs from `{}`; stop it first with `zuul-image registry stop --root {}`",
                    old.host,
                    old.port,
                    root.display(),
                    root.display()
                );
            }
            let ca = registry.cert.clone().unwrap_or_default();
            buildset::wait_ready(connection.port, &ca, READY_LIMIT, || true)
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
            let port = connection.port;
            let start = supervisor::start(&layout.config(), &run, &Layout::unit(port))?;
            let ready = match start {
                Started::Supervisor(pid) => {
                    buildset::wait_ready(port, &ca, READY_LIMIT, || services::is_alive(pid as i32))
                        .await
                }
                Started::Systemd(_) => buildset::wait_ready(port, &ca, READY_LIMIT, || true).await,
            };
            if let Err(err) = ready {
                let tail = run.log_tail();
                let _ = supervisor::stop(&run);
                return Err(err.context(format!(
                    "failed to start the buildset registry on port {port}; last log lines:\n{tail}"
                )));
            }
            Ok(reply(registry, Some(started.elapsed())))
        }
    }
}
