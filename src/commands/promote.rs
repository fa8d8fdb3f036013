//! The steps of `promote-image`, in the order they run and with what each
//! prints:
//!
//! 1. read every temporary tag's manifest (all four `Accept` types): a
//!    missing one fails the promotion before any final tag changes;
//! 2. put each manifest's exact bytes under its final tag and check the
//!    final tag's digest (no blob is read or written);
//! 3. delete each temporary tag through the registry's tag API;
//! 4. delete temporary tags older than the limit (Hub and Quay, which
//!    tell tag ages; every page of their lists).
//!
//! Deletions come after the final tags are right, so a failed one is a
//! warning (printed and returned as `zuul.warnings`), as the roles treat
//! Docker Hub's: a promotion whose final tags are in place has done its
//! work, and running it again could not, since its temporary tag would be
//! gone. The `intermediate-registry` method is one copy run.

use super::connect::{Connections, copy_with_status};
use super::context::Context;
use crate::reference::Reference;
use crate::registry::auth::Scopes;
use crate::registry::copy::{CopyRequest, Endpoint};
use crate::registry::manifests::Manifest;
use crate::registry::tag_api::hub::{self, Hub};
use crate::registry::tag_api::quay::Quay;
use crate::registry::tag_api::{TagApi, stale};
use crate::registry::{Error as RegistryError, Registry, tls};
use crate::zuul::builds::GateImages;
use crate::zuul::inputs::promote::{IntermediateMethod, TagMethod};
use crate::zuul::inputs::publish::{FinalImage, FinalRegistry, Publish};
use crate::zuul::registries::{IntermediateRegistry, RegistryKind};
use anyhow::Context as _;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// One final tag and what it gets.
struct Retag<'a> {
    image: &'a FinalImage,
    registry: Arc<Registry>,
    temporary: String,
    tag: String,
}

impl Retag<'_> {
    fn name(&self, tag: &str) -> String {
        format!("{}/{}:{tag}", self.registry.address(), self.image.path)
    }
}

/// Method `tag`; the warnings of failed deletions.
pub async fn by_tag(
    ctx: &Context,
    publish: &Publish,
    method: &TagMethod,
) -> anyhow::Result<Vec<String>> {
    let mut connections = Connections::new(8, &ctx.env);
    let mut retags = Vec::new();
    for image in &publish.images {
        let registry = connections.final_registry(publish.registry_of(image))?;
        for tag in &image.spec.tags {
            retags.push(Retag {
                image,
                registry: registry.clone(),
                temporary: format!("{}{tag}", method.prefix),
                tag: tag.clone(),
            });
        }
    }

    // 1. Every temporary manifest, before anything changes.
    let fetched = futures_util::future::join_all(retags.iter().map(|retag| {
        let scopes = Scopes::pull(&retag.image.path);
        let registry = retag.registry.clone();
        async move {
            registry
                .get_manifest(&retag.image.path, &retag.temporary, &scopes)
                .await
        }
    }))
    .await;
    let mut manifests: Vec<Manifest> = Vec::new();
    for (retag, manifest) in retags.iter().zip(fetched) {
        let manifest = manifest.with_context(|| {
            format!(
                "failed to read the temporary tag `{}` of {}: nothing was promoted",
                retag.name(&retag.temporary),
                retag.image.key
            )
        })?;
        manifests.push(manifest);
    }

    // 2. The final tags.
    for (retag, manifest) in retags.iter().zip(&manifests) {
        retag
            .registry
            .retag(&retag.image.path, manifest, &retag.tag)
            .await
            .with_context(|| {
                format!(
                    "failed to promote `{}` to `{}`",
                    retag.name(&retag.temporary),
                    retag.name(&retag.tag)
                )
            })?;
        ctx.printer.status(format!(
            "promoted `{}` to `{}` ({})",
            retag.name(&retag.temporary),
            retag.tag,
            manifest.digest
        ));
    }

    // 3. and 4. Deletions; failures are warnings.
    let mut apis = Vec::new();
    for registry in &publish.registries {
        let connection = connections.final_registry(registry)?;
        apis.push(tag_api(registry, connection, method));
    }
    let mut warnings = Warnings {
        printer: &ctx.printer,
        list: Vec::new(),
    };
    let deleted = delete_temporaries(ctx, &retags, &apis, &mut warnings).await;
    clean_up(ctx, &retags, &apis, method, &deleted, &mut warnings).await;
    Ok(warnings.list)
}

/// Warnings, printed as they come and kept for `zuul.warnings`.
struct Warnings<'a> {
    printer: &'a crate::output::Printer,
    list: Vec<String>,
}

impl Warnings<'_> {
    fn add(&mut self, message: String) {
        self.printer.warn(&message);
        self.list.push(message);
    }
}

/// A deleted tag: registry index, repository path, tag.
type Deleted = BTreeSet<(usize, String, String)>;

/// Step 3: each temporary tag, through its registry's API.
async fn delete_temporaries(
    ctx: &Context,
    retags: &[Retag<'_>],
    apis: &[anyhow::Result<TagApi>],
    warnings: &mut Warnings<'_>,
) -> Deleted {
    let mut deleted = Deleted::new();
    for retag in retags {
        let name = retag.name(&retag.temporary);
        let api = match &apis[retag.image.registry] {
            Ok(api) => api,
            Err(err) => {
                warnings.add(format!(
                    "the temporary tag `{name}` was not deleted: {err:#}"
                ));
                continue;
            }
        };
        match api.delete(&retag.image.path, &retag.temporary).await {
            Ok(()) => {
                ctx.printer
                    .status(format!("deleted the temporary tag `{name}`"));
                deleted.insert((
                    retag.image.registry,
                    retag.image.path.clone(),
                    retag.temporary.clone(),
                ));
            }
            Err(err) => warnings.add(delete_warning(api, &name, &err)),
        }
    }
    deleted
}

/// Step 4: per repository, the temporary tags older than the limit
/// (those step 3 deleted left out).
async fn clean_up(
    ctx: &Context,
    retags: &[Retag<'_>],
    apis: &[anyhow::Result<TagApi>],
    method: &TagMethod,
    deleted: &Deleted,
    warnings: &mut Warnings<'_>,
) {
    let mut seen: BTreeSet<(usize, &str)> = BTreeSet::new();
    for retag in retags {
        let (index, path) = (retag.image.registry, retag.image.path.as_str());
        if !seen.insert((index, path)) {
            continue;
        }
        let Ok(api) = &apis[index] else {
            continue;
        };
        let address = retag.registry.address();
        let name = format!("{address}/{path}");
        let tags = match api.tags(path).await {
            Ok(Some(tags)) => tags,
            Ok(None) => {
                ctx.printer.status(format!(
                    "`{address}` tells no tag ages: old temporary tags of `{name}` are left to the registry's own retention"
                ));
                continue;
            }
            Err(err) => {
                warnings.add(format!(
                    "old temporary tags of `{name}` were not cleaned up: failed to list its tags through {}: {err}",
                    api.describe()
                ));
                continue;
            }
        };
        let old: Vec<String> = stale(&tags, &method.cleanup.1, method.max_age, SystemTime::now())
            .into_iter()
            .filter(|tag| !deleted.contains(&(index, path.to_owned(), tag.clone())))
            .collect();
        ctx.printer.status(format!(
            "{} of {} tag(s) of `{name}` match `{}` and are older than {}",
            old.len(),
            tags.len(),
            method.cleanup.0,
            humantime::format_duration(method.max_age)
        ));
        for tag in old {
            match api.delete(path, &tag).await {
                Ok(()) => ctx
                    .printer
                    .status(format!("deleted the old temporary tag `{name}:{tag}`")),
                Err(err) => warnings.add(delete_warning(api, &format!("{name}:{tag}"), &err)),
            }
        }
    }
}

/// The API that deletes `registry`'s tags, reached through `connection`
/// for the distribution API.
fn tag_api(
    registry: &FinalRegistry,
    connection: Arc<Registry>,
    method: &TagMethod,
) -> anyhow::Result<TagApi> {
    let pems: Vec<(String, String)> = registry.cert.iter().cloned().collect();
    Ok(match registry.kind {
        RegistryKind::DockerHub => {
            let login = registry
                .login
                .as_ref()
                .context("Docker Hub's API needs a user name and password")?;
            let base = method.api_url.as_deref().unwrap_or(hub::DEFAULT_BASE);
            TagApi::Hub(Hub::new(base, &login.username, login.password.clone())?)
        }
        RegistryKind::Quay => {
            let token = registry
                .api_token
                .as_ref()
                .context("Quay's API needs an `api_token`")?;
            let base = match (&method.api_url, &registry.api_url) {
                (Some(base), _) => base.clone(),
                (None, Some(url)) => format!("{}/api/v1", url.trim_end_matches('/')),
                (None, None) => format!("https://{}/api/v1", registry.address),
            };
            TagApi::Quay(Quay::new(&base, token, &pems)?)
        }
        RegistryKind::Oci => TagApi::Registry(connection),
    })
}

/// The warning for a deletion that failed.
fn delete_warning(api: &TagApi, what: &str, err: &RegistryError) -> String {
    let mut message = format!(
        "failed to delete the tag `{what}` through {}: {err}",
        api.describe()
    );
    match (api, err) {
        (TagApi::Hub(_), RegistryError::Denied { message: why, .. })
            if why.contains("personal access token") =>
        {
            message.push_str(
                " (Docker Hub refuses tag deletion with a personal access token: give the account's password in the credentials)",
            );
        }
        (TagApi::Registry(_), RegistryError::Http { status, .. })
            if matches!(status.as_u16(), 400 | 405) =>
        {
            message.push_str(
                " (the registry does not delete tags by name; zuul-image never deletes by digest, which would take the final tag with it)",
            );
        }
        _ => {}
    }
    message
}

/// Method `intermediate-registry`: ask Zuul for the gate build's images
/// and copy each to its final tag.
pub async fn from_intermediate(
    ctx: &Context,
    publish: &Publish,
    method: &IntermediateMethod,
    jobs: usize,
) -> anyhow::Result<()> {
    let answer = zuul_api_get(&method.builds_url).await.with_context(|| {
        format!(
            "failed to ask Zuul for the gate build: `{}`",
            method.builds_url
        )
    })?;
    let gate = GateImages::from_answer(&method.builds_url, &answer)?;
    copy_gate_images(ctx, publish, &gate, method.intermediate.as_ref(), jobs).await
}

/// Copy each image's tags from where the gate build's artifacts say to
/// its final registry (`intermediate`'s CA and credentials for artifacts
/// on it).
pub async fn copy_gate_images(
    ctx: &Context,
    publish: &Publish,
    gate: &GateImages,
    intermediate: Option<&IntermediateRegistry>,
    jobs: usize,
) -> anyhow::Result<()> {
    ctx.printer.status(format!(
        "the gate build `{}` ({}) has {} image(s)",
        gate.build,
        gate.job,
        gate.images.len()
    ));
    let mut connections = Connections::new(jobs, &ctx.env);
    let mut requests = Vec::new();
    for image in &publish.images {
        let destination = connections.final_registry(publish.registry_of(image))?;
        for tag in &image.spec.tags {
            let found: &Reference = gate.source(&image.spec.repository, tag)?;
            let source = match intermediate {
                Some(intermediate) if intermediate.address() == found.registry => {
                    connections.intermediate(intermediate)?
                }
                _ => connections.other(&found.registry)?,
            };
            requests.push(CopyRequest {
                image: format!("{}:{tag}", image.spec.repository),
                source: Endpoint::new(&source, found.path.clone(), found.manifest_ref().to_owned()),
                destination: Endpoint::new(&destination, image.path.clone(), tag.clone()),
            });
        }
    }
    copy_with_status(
        &ctx.printer,
        &requests,
        "promoting",
        "promoted",
        "failed to copy from the intermediate registry",
    )
    .await?;
    Ok(())
}

/// `GET url` of Zuul's API as JSON (system roots; no credentials: the
/// builds API is public, as the role assumes).
async fn zuul_api_get(url: &str) -> anyhow::Result<serde_json::Value> {
    let parsed = url::Url::parse(url)?;
    let trust = tls::trust(parsed.host_str().unwrap_or_default(), &[], &[])?;
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls::client_config(trust)?)
        .user_agent(concat!("zuul-image/", env!("CARGO_PKG_VERSION")))
        .timeout(Duration::from_secs(120))
        .build()?;
    let response = http
        .get(parsed.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|err| {
            let advice = crate::registry::advice::Advice {
                registry: parsed.authority().to_owned(),
                ..Default::default()
            };
            RegistryError::transport("GET", &parsed, &err, &advice)
        })?;
    let status = response.status();
    if !status.is_success() {
        anyhow::bail!("Zuul answered {status}");
    }
    Ok(response.json().await?)
}
