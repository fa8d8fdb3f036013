//! The copy engine: moves whole images (a manifest, or an index with every
//! platform) between registries, byte-exact.
//!
//! 1. Plan: per image, GET the source manifest and HEAD the destination tag
//!    at once; when the destination tag already holds the source digest the
//!    image is skipped. Otherwise the rest of the manifest tree is fetched
//!    (children verified against their digests).
//!    When several requests write the same destination tag, the last one
//!    wins (Zuul's order: the nearest change) and the others are only
//!    checked to exist.
//! 2. Blobs: every blob of every image in one pool, largest first, bounded
//!    per registry; each blob is HEADed, mounted when the source is on the
//!    same registry, else streamed GET → PUT through the digest check.
//!    When the source GET breaks mid-blob, the download resumes with a
//!    `Range` request into the same hasher and the same upload
//!    ([`super::download`]); when the source will not resume, or anything
//!    else fails transiently (the destination side included), the blob is
//!    retried from a fresh upload session through [`super::retry`].
//! 3. Manifests: children by digest, then the root under its tag.
//!
//! Each step has its file: [`plan`], [`blobs`], [`manifests`]; this one
//! holds the types and runs the steps in order. Decides nothing about
//! names: callers pass source and destination repositories and references.

mod blobs;
mod manifests;
mod plan;

use super::Registry;
use super::progress::Observer;
use crate::digest::Digest;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use thiserror::Error;

/// An image in a repository of a registry.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub registry: Arc<Registry>,
    pub repository: String,
    /// A tag or a digest (destinations: a tag).
    pub reference: String,
}

impl Endpoint {
    pub fn new(
        registry: &Arc<Registry>,
        repository: impl Into<String>,
        reference: impl Into<String>,
    ) -> Endpoint {
        Endpoint {
            registry: registry.clone(),
            repository: repository.into(),
            reference: reference.into(),
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sep = if self.reference.contains(':') {
            '@'
        } else {
            ':'
        };
        write!(
            f,
            "{}/{}{sep}{}",
            self.registry.address(),
            self.repository,
            self.reference
        )
    }
}

/// One image to copy; `image` names it in messages and errors.
#[derive(Debug, Clone)]
pub struct CopyRequest {
    pub image: String,
    pub source: Endpoint,
    pub destination: Endpoint,
}

impl CopyRequest {
    /// `source` failed while writing to the destination.
    fn destination_error(&self, source: super::Error) -> Error {
        Error::Destination {
            image: self.image.clone(),
            destination: self.destination.to_string(),
            source: Box::new(source),
        }
    }
}

#[derive(Debug, Error)]
pub enum Error {
    #[error("failed to read `{image}` from `{source_ref}`")]
    Source {
        image: String,
        source_ref: String,
        #[source]
        source: Box<super::Error>,
    },
    #[error("failed to copy blob `{digest}` of `{image}` from `{from}` to `{to}`")]
    Blob {
        image: String,
        digest: Digest,
        from: String,
        to: String,
        #[source]
        source: Box<super::Error>,
    },
    #[error("failed to write `{image}` to `{destination}`")]
    Destination {
        image: String,
        destination: String,
        #[source]
        source: Box<super::Error>,
    },
}

/// What happened to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageOutcome {
    Copied,
    /// The destination tag already had the source digest.
    UpToDate,
    /// A later request writes the same destination tag.
    Superseded,
}

/// The result of a run, in request order, plus blob counts.
#[derive(Debug, Default, Clone)]
pub struct CopyReport {
    pub images: Vec<(String, ImageOutcome)>,
    pub blobs_copied: usize,
    pub blobs_mounted: usize,
    pub blobs_present: usize,
    pub bytes_copied: u64,
}

/// Copy `requests`; see the module documentation for the order of work.
pub async fn copy_images(
    requests: &[CopyRequest],
    observer: Arc<dyn Observer>,
) -> Result<CopyReport, Error> {
    let started = Instant::now();
    let mut report = CopyReport::default();
    // The last request for a destination tag wins.
    let mut last_for: HashMap<String, usize> = HashMap::new();
    for (index, request) in requests.iter().enumerate() {
        last_for.insert(request.destination.to_string(), index);
    }

    // 1. Plan, all images at once.
    let plans =
        futures_util::future::join_all(requests.iter().enumerate().map(|(index, request)| {
            let winner = last_for[&request.destination.to_string()] == index;
            plan::plan_one(request, winner)
        }))
        .await;
    let mut planned = Vec::new();
    for (request, plan) in requests.iter().zip(plans) {
        let (outcome, plan) = plan?;
        report.images.push((request.image.clone(), outcome));
        if outcome == ImageOutcome::UpToDate {
            observer.image_finished(
                &request.image,
                &request.destination.to_string(),
                true,
                started.elapsed(),
            );
        }
        if let Some(plan) = plan {
            planned.push((request, plan));
        }
    }

    // 2. Blobs, 3. manifests.
    blobs::copy_blobs(&planned, &observer, &mut report).await?;
    manifests::write_manifests(&planned, observer.as_ref(), started).await?;
    Ok(report)
}

/// Copy one image (a convenience over [`copy_images`]).
pub async fn copy_image(
    request: CopyRequest,
    observer: Arc<dyn Observer>,
) -> Result<ImageOutcome, Error> {
    let report = copy_images(std::slice::from_ref(&request), observer).await?;
    Ok(report
        .images
        .first()
        .map(|(_, outcome)| *outcome)
        .unwrap_or(ImageOutcome::Copied))
}
