//! How commands reach the registries their variables name: the buildset
//! registry (its CA and `zuul` password from `buildset_registry`), the
//! intermediate registry (optional CA and credentials from
//! `intermediate_registry`), final registries (certificate and login from
//! `docker_credentials` / `container_registry_credentials`), and any other
//! registry (credentials from docker's and podman's auth files). One [`Registry`] per address per run,
//! so auth tokens and connections are shared by every copy.
//!
//! Turns typed Zuul views into client options; speaks no HTTP itself.

use crate::output::Printer;
use crate::registry::advice::Origins;
use crate::registry::copy::{CopyReport, CopyRequest, ImageOutcome, copy_images};
use crate::registry::credentials::{Credential, CredentialStore};
use crate::registry::progress::PrinterObserver;
use crate::registry::{Registry, RegistryOptions};
use crate::zuul::inputs::Env;
use crate::zuul::inputs::publish::FinalRegistry;
use crate::zuul::registries::{BuildsetRegistry, IntermediateRegistry};
use anyhow::Context as _;
use std::collections::HashMap;
use std::sync::Arc;

/// The registries of one run.
pub struct Connections {
    store: CredentialStore,
    concurrency: usize,
    registries: HashMap<String, Arc<Registry>>,
}

impl Connections {
    /// Credentials come from the auth files `env` names.
    pub fn new(concurrency: usize, env: &Env) -> Connections {
        Connections {
            store: CredentialStore {
                files: env.auth_files(),
            },
            concurrency,
            registries: HashMap::new(),
        }
    }

    fn open(&mut self, mut options: RegistryOptions) -> anyhow::Result<Arc<Registry>> {
        if let Some(existing) = self.registries.get(&options.address) {
            return Ok(existing.clone());
        }
        if options.credential.is_none() {
            let found = self
                .store
                .lookup_with_file(&options.address)
                .with_context(|| {
                    format!("failed to look up credentials for `{}`", options.address)
                })?;
            if let Some((credential, file)) = found {
                options.credential = Some(credential);
                options.origins.credentials = Some(format!("`{}`", file.display()));
            }
        }
        options.concurrency = self.concurrency;
        let address = options.address.clone();
        let registry = Arc::new(
            Registry::new(options)
                .with_context(|| format!("failed to set up a client for `{address}`"))?,
        );
        self.registries.insert(address, registry.clone());
        Ok(registry)
    }

    /// The buildset registry, trusted through `buildset_registry.cert`.
    pub fn buildset(
        &mut self,
        buildset: &BuildsetRegistry,
        origin: &str,
    ) -> anyhow::Result<Arc<Registry>> {
        let mut options = RegistryOptions::new(buildset.address());
        options.origins = Origins {
            cert_variable: Some(format!("{origin}.cert")),
            credentials: None,
            credential_variables: Some(format!("`{origin}.username` and `.password`")),
        };
        if let Some(cert) = &buildset.cert {
            options
                .ca_pems
                .push((format!("{origin}.cert"), cert.clone()));
        }
        if !buildset.password.is_empty() {
            options.credential = Some(Credential::basic(
                &buildset.username,
                buildset.password.clone(),
            ));
            options.origins.credentials = Some(format!("`{origin}`"));
        }
        self.open(options)
    }

    /// The intermediate registry, with its optional CA and credentials.
    pub fn intermediate(
        &mut self,
        intermediate: &IntermediateRegistry,
    ) -> anyhow::Result<Arc<Registry>> {
        let mut options = RegistryOptions::new(intermediate.address());
        options.origins = Origins {
            cert_variable: Some("intermediate_registry.cert".to_owned()),
            credentials: None,
            credential_variables: Some(
                "`intermediate_registry.username` and `.password`".to_owned(),
            ),
        };
        if let Some(cert) = &intermediate.cert {
            options
                .ca_pems
                .push(("intermediate_registry.cert".to_owned(), cert.clone()));
        }
        if let (Some(username), Some(password)) = (&intermediate.username, &intermediate.password) {
            options.credential = Some(Credential::basic(username, password.clone()));
            options.origins.credentials =
                Some("`intermediate_registry.username` and `.password`".to_owned());
        }
        self.open(options)
    }

    /// A final registry, with the certificate and login of its credentials
    /// (else the auth files').
    pub fn final_registry(&mut self, registry: &FinalRegistry) -> anyhow::Result<Arc<Registry>> {
        let mut options = RegistryOptions::new(registry.address.clone());
        if let Some((origin, pem)) = &registry.cert {
            options.ca_pems.push((origin.clone(), pem.clone()));
        }
        if let Some(login) = &registry.login {
            options.credential = Some(Credential::basic(&login.username, login.password.clone()));
        }
        self.open(options)
    }

    /// Any other registry, by `host:port`.
    pub fn other(&mut self, address: &str) -> anyhow::Result<Arc<Registry>> {
        self.open(RegistryOptions::new(address))
    }
}

/// Run `requests`, one status line per image before (`<doing> `src` to
/// `dst``) and one summary after (`<done> N tag(s): …`); `what` is the
/// context of a failure.
pub async fn copy_with_status(
    printer: &Printer,
    requests: &[CopyRequest],
    doing: &str,
    done: &str,
    what: &str,
) -> anyhow::Result<CopyReport> {
    for request in requests {
        printer.status(format!(
            "{doing} `{}` to `{}`",
            request.source, request.destination
        ));
    }
    let observer = Arc::new(PrinterObserver::new(printer));
    let report = copy_images(requests, observer)
        .await
        .with_context(|| what.to_owned())?;
    printer.status(format!(
        "{done} {} tag(s): {}",
        requests.len(),
        summary(&report)
    ));
    Ok(report)
}

/// A one-line summary of a copy run.
pub fn summary(report: &CopyReport) -> String {
    let count = |wanted: ImageOutcome| report.images.iter().filter(|(_, o)| *o == wanted).count();
    format!(
        "{} copied, {} already up to date, {} superseded; blobs: {} copied ({}), {} mounted, {} already present",
        count(ImageOutcome::Copied),
        count(ImageOutcome::UpToDate),
        count(ImageOutcome::Superseded),
        report.blobs_copied,
        crate::registry::progress::human_bytes(report.bytes_copied),
        report.blobs_mounted,
        report.blobs_present,
    )
}
