//! Step 3 of a copy: once every blob is in place, each planned image's
//! manifests are written, children by digest first, then the root under
//! its tag; images in parallel. The bytes are those fetched in planning,
//! never re-serialised, so digests hold.

use super::plan::Plan;
use super::{CopyRequest, Error};
use crate::registry::auth::Scopes;
use crate::registry::progress::Observer;
use std::time::Instant;

/// Write the manifests of `planned`; `started` is when the copy began
/// (for the observer's per-image times).
pub(super) async fn write_manifests(
    planned: &[(&CopyRequest, Plan)],
    observer: &dyn Observer,
    started: Instant,
) -> Result<(), Error> {
    let writes = planned
        .iter()
        .map(|(request, plan)| write_one(request, plan));
    let written = futures_util::future::join_all(writes).await;
    for ((request, _), result) in planned.iter().zip(written) {
        result?;
        observer.image_finished(
            &request.image,
            &request.destination.to_string(),
            false,
            started.elapsed(),
        );
    }
    Ok(())
}

async fn write_one(request: &CopyRequest, plan: &Plan) -> Result<(), Error> {
    let destination = &request.destination;
    let scopes = Scopes::push(&destination.repository);
    let (root, children) = plan.manifests.split_last().expect("a plan has its root");
    for child in children {
        destination
            .registry
            .put_manifest(
                &destination.repository,
                &child.digest.to_string(),
                child,
                &scopes,
            )
            .await
            .map_err(|source| request.destination_error(source))?;
    }
    destination
        .registry
        .put_manifest(
            &destination.repository,
            &destination.reference,
            root,
            &scopes,
        )
        .await
        .map_err(|source| request.destination_error(source))
}
