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
//!    retried from a fresh upload session.
//! 3. Manifests: children by digest, then the root under its tag.
//!
//! Decides nothing about names: callers pass source and destination
//! repositories and references.

use super::Registry;
use super::auth::Scopes;
use super::blobs::{BlobUpload, UploadStart};
use super::digest::digest_like;
use super::download::Download;
use super::manifests::Manifest;
use super::progress::{BlobOutcome, Observer};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use thiserror::Error;
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinSet;

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
        digest: String,
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

/// The manifests of one image to write, children first, and its blobs.
struct Plan {
    manifests: Vec<Manifest>,
    blobs: Vec<(String, u64)>,
}

/// Fetch the manifest tree below `root` (the source's manifest or index).
async fn resolve(
    request: &CopyRequest,
    root: Manifest,
    scopes: &Scopes,
) -> Result<Plan, super::Error> {
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
        let mut fetched = Vec::new();
        for child in &children.manifests {
            fetched.push(
                source
                    .registry
                    .get_manifest(&source.repository, &child.digest, scopes),
            );
        }
        let fetched = futures_util::future::try_join_all(fetched).await?;
        stack.push((manifest, true));
        for child in fetched.into_iter().rev() {
            stack.push((child, false));
        }
    }
    manifests.dedup_by(|a, b| a.digest == b.digest);
    Ok(Plan { manifests, blobs })
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
            plan_one(request, winner)
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

    // 2. Blobs: one task per (destination registry, digest).
    let mut tasks: Vec<BlobTask> = Vec::new();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    for (request, plan) in &planned {
        for (digest, size) in &plan.blobs {
            let key = (
                request.destination.registry.address().to_owned(),
                digest.clone(),
            );
            let slot = *index.entry(key).or_insert_with(|| {
                tasks.push(BlobTask {
                    digest: digest.clone(),
                    size: *size,
                    image: request.image.clone(),
                    source: request.source.clone(),
                    destinations: Vec::new(),
                });
                tasks.len() - 1
            });
            let task = &mut tasks[slot];
            if !task
                .destinations
                .iter()
                .any(|d| d.repository == request.destination.repository)
            {
                task.destinations.push(request.destination.clone());
            }
        }
    }
    tasks.sort_by_key(|task| std::cmp::Reverse(task.size));
    let mut running: JoinSet<Result<Vec<(BlobOutcome, u64)>, Error>> = JoinSet::new();
    let tally = |outcomes: Vec<(BlobOutcome, u64)>, report: &mut CopyReport| {
        for (outcome, size) in outcomes {
            match outcome {
                BlobOutcome::Exists => report.blobs_present += 1,
                BlobOutcome::Mounted => report.blobs_mounted += 1,
                BlobOutcome::Copied => {
                    report.blobs_copied += 1;
                    report.bytes_copied += size;
                }
            }
        }
    };
    for task in tasks {
        // Take the permits here, in order, so the largest blobs start first.
        let permits = tokio::select! {
            permits = task.permits() => permits,
            Some(done) = running.join_next() => {
                let outcomes = joined(done)?;
                tally(outcomes, &mut report);
                task.permits().await
            }
        };
        let observer = observer.clone();
        running.spawn(async move {
            let _permits = permits;
            task.run(observer.as_ref()).await
        });
        while let Some(done) = running.try_join_next() {
            tally(joined(done)?, &mut report);
        }
    }
    while let Some(done) = running.join_next().await {
        tally(joined(done)?, &mut report);
    }

    // 3. Manifests, children before parents; images in parallel.
    let writes = planned.iter().map(|(request, plan)| async move {
        let destination = &request.destination;
        let scopes = Scopes::push(&destination.repository);
        let (root, children) = plan.manifests.split_last().expect("a plan has its root");
        for child in children {
            destination
                .registry
                .put_manifest(&destination.repository, &child.digest, child, &scopes)
                .await
                .map_err(|source| Error::Destination {
                    image: request.image.clone(),
                    destination: destination.to_string(),
                    source: Box::new(source),
                })?;
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
            .map_err(|source| Error::Destination {
                image: request.image.clone(),
                destination: destination.to_string(),
                source: Box::new(source),
            })?;
        Ok::<_, Error>(())
    });
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
    Ok(report)
}

fn joined(
    done: Result<Result<Vec<(BlobOutcome, u64)>, Error>, tokio::task::JoinError>,
) -> Result<Vec<(BlobOutcome, u64)>, Error> {
    match done {
        Ok(result) => result,
        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        Err(_) => Ok(Vec::new()),
    }
}

/// Decide whether `request` needs copying, and fetch its manifest tree when
/// it does (`winner`: no later request writes the same destination tag).
///
/// The source's root manifest is fetched (GET) while the destination tag is
/// looked up (HEAD), in parallel: one round trip instead of three in a row
/// (source HEAD, destination HEAD, source GET), and the digest compared with
/// the destination is that of the very bytes that get copied, even when the
/// source tag moves meanwhile.
async fn plan_one(
    request: &CopyRequest,
    winner: bool,
) -> Result<(ImageOutcome, Option<Plan>), Error> {
    let source = &request.source;
    let destination = &request.destination;
    let source_err = |source_error: super::Error| Error::Source {
        image: request.image.clone(),
        source_ref: source.to_string(),
        source: Box::new(source_error),
    };
    let pull = Scopes::pull(&source.repository);
    if !winner {
        // Only checked to exist.
        let found = match source.reference.contains(':') {
            true => Some(source.reference.clone()),
            false => source
                .registry
                .manifest_digest(&source.repository, &source.reference, &pull)
                .await
                .map_err(source_err)?,
        };
        if found.is_none() {
            return Err(source_err(super::Error::NotFound {
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
    let existing = existing.map_err(|source| Error::Destination {
        image: request.image.clone(),
        destination: destination.to_string(),
        source: Box::new(source),
    })?;
    if existing.as_deref() == Some(root.digest.as_str()) {
        return Ok((ImageOutcome::UpToDate, None));
    }
    let plan = resolve(request, root, &pull).await.map_err(source_err)?;
    Ok((ImageOutcome::Copied, Some(plan)))
}

/// One blob, to be put into one or more repositories of one destination
/// registry.
struct BlobTask {
    digest: String,
    size: u64,
    /// The first image that needs it (for messages).
    image: String,
    source: Endpoint,
    destinations: Vec<Endpoint>,
}

impl BlobTask {
    /// Transfer slots on the source and destination registries, taken in a
    /// fixed order so two tasks never wait on each other.
    async fn permits(&self) -> Vec<OwnedSemaphorePermit> {
        let mut registries = vec![&self.source.registry];
        if let Some(first) = self.destinations.first() {
            if first.registry.address() != self.source.registry.address() {
                registries.push(&first.registry);
            }
        }
        registries.sort_by_key(|r| r.address().to_owned());
        let mut permits = Vec::new();
        for registry in registries {
            if let Ok(permit) = registry.transfers.clone().acquire_owned().await {
                permits.push(permit);
            }
        }
        permits
    }

    async fn run(&self, observer: &dyn Observer) -> Result<Vec<(BlobOutcome, u64)>, Error> {
        let mut outcomes = Vec::new();
        for (index, destination) in self.destinations.iter().enumerate() {
            // Same registry: mount from the source repository, or from the
            // destination repository that already received it.
            let mount_from = if index > 0 {
                Some(self.destinations[0].repository.clone())
            } else if destination.registry.address() == self.source.registry.address() {
                Some(self.source.repository.clone())
            } else {
                None
            }
            .filter(|from| *from != destination.repository);
            let outcome = self
                .with_retries(destination, mount_from.as_deref(), observer)
                .await?;
            outcomes.push((outcome, self.size));
        }
        Ok(outcomes)
    }

    async fn with_retries(
        &self,
        destination: &Endpoint,
        mount_from: Option<&str>,
        observer: &dyn Observer,
    ) -> Result<BlobOutcome, Error> {
        let policy = destination.registry.retry;
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let begun = Instant::now();
            match self.once(destination, mount_from, observer, attempt).await {
                Ok(outcome) => {
                    observer.blob_finished(
                        &self.image,
                        &self.digest,
                        self.size,
                        outcome,
                        begun.elapsed(),
                    );
                    return Ok(outcome);
                }
                Err(err) => {
                    let delay = if err.is_transient() {
                        let mut rng = rand::thread_rng();
                        policy.next_delay(attempt, started.elapsed(), None, &mut rng)
                    } else {
                        None
                    };
                    let Some(delay) = delay else {
                        let source = if attempt > 1 {
                            super::Error::GaveUp {
                                attempts: attempt,
                                elapsed_secs: started.elapsed().as_secs(),
                                last: Box::new(err),
                            }
                        } else {
                            err
                        };
                        return Err(Error::Blob {
                            image: self.image.clone(),
                            digest: self.digest.clone(),
                            from: format!(
                                "{}/{}",
                                self.source.registry.address(),
                                self.source.repository
                            ),
                            to: format!(
                                "{}/{}",
                                destination.registry.address(),
                                destination.repository
                            ),
                            source: Box::new(source),
                        });
                    };
                    tracing::warn!(
                        "blob `{}` of `{}`: {err}; starting over in {delay:?}",
                        self.digest,
                        self.image
                    );
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// One attempt: HEAD, mount or fresh session, transfer.
    async fn once(
        &self,
        destination: &Endpoint,
        mount_from: Option<&str>,
        observer: &dyn Observer,
        attempt: u32,
    ) -> Result<BlobOutcome, super::Error> {
        let registry = &destination.registry;
        let repository = destination.repository.as_str();
        let push = Scopes::push(repository);
        if registry
            .blob_size(repository, &self.digest, &push)
            .await?
            .is_some()
        {
            return Ok(BlobOutcome::Exists);
        }
        let start = match mount_from {
            Some(from) => {
                registry
                    .start_upload(repository, Some((&self.digest, from)), &push.and_pull(from))
                    .await?
            }
            None => registry.start_upload(repository, None, &push).await?,
        };
        let UploadStart::Session {
            location,
            min_chunk,
        } = start
        else {
            return Ok(BlobOutcome::Mounted);
        };
        let scopes = match mount_from {
            Some(from) => push.and_pull(from),
            None => push.clone(),
        };
        let upload = BlobUpload {
            repository,
            digest: &self.digest,
            size: self.size,
            scopes: &scopes,
        };
        observer.blob_started(&self.image, &self.digest, self.size, attempt);
        let result = self
            .transfer(&upload, location.clone(), min_chunk, observer)
            .await;
        if result.is_err() {
            registry.cancel_upload(&location, &scopes).await;
        }
        result.map(|()| BlobOutcome::Copied)
    }

    async fn transfer(
        &self,
        upload: &BlobUpload<'_>,
        location: url::Url,
        min_chunk: Option<u64>,
        observer: &dyn Observer,
    ) -> Result<(), super::Error> {
        let source = &self.source;
        let registry = &self.destinations[0].registry;
        let what = format!(
            "{}/{}@{}",
            source.registry.address(),
            source.repository,
            self.digest
        );
        if self.size == 0 && digest_like(&self.digest, b"") != self.digest {
            return Err(super::Error::DigestMismatch {
                what,
                expected: self.digest.clone(),
                actual: digest_like(&self.digest, b""),
            });
        }
        let pull = Scopes::pull(&source.repository);
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<u64>();
        let progress = async {
            while let Some(bytes) = receiver.recv().await {
                observer.blob_progress(&self.digest, bytes);
            }
        };
        let work = async {
            let counter =
                |sender: tokio::sync::mpsc::UnboundedSender<u64>| -> super::digest::OnBytes {
                    Box::new(move |bytes| {
                        let _ = sender.send(bytes);
                    })
                };
            let download = || {
                Download::start(
                    &source.registry,
                    &source.repository,
                    &self.digest,
                    self.size,
                    &pull,
                )
            };
            // One monolithic PUT unless the registry is known to want chunks;
            // when it refuses one, a new session for the chunked upload.
            let (location, min_chunk) = if registry.uses_chunked() {
                (location, min_chunk)
            } else {
                let done = registry
                    .put_monolithic(
                        upload,
                        &location,
                        download().await?,
                        what.clone(),
                        counter(sender.clone()),
                    )
                    .await?;
                if done {
                    return Ok(());
                }
                registry.cancel_upload(&location, upload.scopes).await;
                let start = registry
                    .start_upload(upload.repository, None, upload.scopes)
                    .await?;
                let UploadStart::Session {
                    location,
                    min_chunk,
                } = start
                else {
                    return Ok(());
                };
                (location, min_chunk)
            };
            registry
                .put_chunked(
                    upload,
                    location,
                    min_chunk,
                    download().await?,
                    what.clone(),
                    counter(sender),
                )
                .await
        };
        let (result, ()) = tokio::join!(work, progress);
        result
    }
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
