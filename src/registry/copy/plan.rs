//! Step 1 of a copy: per image, decide whether it needs copying and fetch
//! the manifest tree that will be written (children verified against their
//! digests), with the blobs it needs. Reads from registries, writes nothing.

use super::{CopyRequest, Error, ImageOutcome};
use crate::digest::Digest;
use crate::registry;
use crate::registry::auth::Scopes;
use crate::registry::manifests::Manifest;

/// The manifests of one image to write, children first, and its blobs.
pub(super) struct Plan {
    pub manifests: Vec<Manifest>,
    pub blobs: Vec<(Digest, u64)>,
}

/// Fetch the manifest tree below `root` (the source's manifest or index).
async fn resolve(
    request: &CopyRequest,
    root: Manifest,
    scopes: &Scopes,
) -> Result<Plan, registry::Error> {
    let source = &request.source;
    let mut manifests = Vec::new();
    let mut blobs = Vec::new();
    // Depth-first, children pushed before their parent.
    let mut stack = vec![(root, false)];
    while let Some((manifest, expanded)) = stack.pop() {
        if expanded {
            manifests.push(manifest);
            continue;
        }
        let what = format!("{}@{}", source.repository, manifest.digest);
        let children = manifest.children(source.registry.address(), &what)?;
        for blob in &children.blobs {
            blobs.push((blob.digest.clone(), blob.size));
        }
        let references: Vec<String> = children
            .manifests
            .iter()
            .map(|child| child.digest.to_string())
            .collect();
        let fetched = references.iter().map(|reference| {
            source
                .registry
                .get_manifest(&source.repository, reference, scopes)
        });
        let fetched = futures_util::future::try_join_all(fetched).await?;
        stack.push((manifest, true));
        for child in fetched.into_iter().rev() {
            stack.push((child, false));
        }
    }
    manifests.dedup_by(|a, b| a.digest == b.digest);
    Ok(Plan { manifests, blobs })
}

/// Decide whether `request` needs copying, and fetch its manifest tree when
/// it does (`winner`: no later request writes the same destination tag).
///
/// The source's root manifest is fetched (GET) while the destination tag is
/// looked up (HEAD), in parallel: one round trip instead of three in a row
/// (source HEAD, destination HEAD, source GET), and the digest compared with
/// the destination is that of the very bytes that get copied, even when the
/// source tag moves meanwhile.
pub(super) async fn plan_one(
    request: &CopyRequest,
    winner: bool,
) -> Result<(ImageOutcome, Option<Plan>), Error> {
    let source = &request.source;
    let destination = &request.destination;
    let source_err = |source_error: registry::Error| Error::Source {
        image: request.image.clone(),
        source_ref: source.to_string(),
        source: Box::new(source_error),
    };
    let pull = Scopes::pull(&source.repository);
    if !winner {
        // Only checked to exist.
        let found = match source.reference.contains(':') {
            true => Digest::parse(&source.reference).ok(),
            false => source
                .registry
                .manifest_digest(&source.repository, &source.reference, &pull)
                .await
                .map_err(source_err)?,
        };
        if found.is_none() {
            return Err(source_err(registry::Error::NotFound {
                registry: source.registry.address().to_owned(),
                what: format!("{}:{}", source.repository, source.reference),
                code: Some("MANIFEST_UNKNOWN".into()),
            }));
        }
        tracing::info!(
            "{}: a later artifact writes `{destination}`; not copied",
            request.image
        );
        return Ok((ImageOutcome::Superseded, None));
    }
    let push = Scopes::push(&destination.repository);
    let (root, existing) = tokio::join!(
        source
            .registry
            .get_manifest(&source.repository, &source.reference, &pull),
        destination.registry.manifest_digest(
            &destination.repository,
            &destination.reference,
            &push
        ),
    );
    let root = root.map_err(source_err)?;
    let existing = existing.map_err(|source| request.destination_error(source))?;
    if existing.as_ref() == Some(&root.digest) {
        return Ok((ImageOutcome::UpToDate, None));
    }
    let plan = resolve(request, root, &pull).await.map_err(source_err)?;
    Ok((ImageOutcome::Copied, Some(plan)))
}
