//! Step 2 of a copy: every blob of every planned image in one pool, one
//! task per (destination registry, digest), largest first, bounded by each
//! registry's transfer slots. A task HEADs the destination, mounts when the
//! source is on the same registry, else streams GET → PUT through the
//! digest check; a broken download resumes with `Range`
//! ([`crate::registry::download`]), and any other transient failure starts
//! the blob over from a fresh upload session, through the one retry loop
//! ([`crate::registry::retry`]).

use super::plan::Plan;
use super::{CopyReport, CopyRequest, Endpoint, Error};
use crate::digest::Digest;
use crate::registry;
use crate::registry::auth::Scopes;
use crate::registry::blobs::{BlobUpload, UploadStart};
use crate::registry::download::Download;
use crate::registry::progress::{BlobOutcome, Observer};
use crate::registry::retry::{Failed, retry};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinSet;

type Outcomes = Vec<(BlobOutcome, u64)>;

/// Copy the blobs of `planned` and count what happened in `report`.
pub(super) async fn copy_blobs(
    planned: &[(&CopyRequest, Plan)],
    observer: &Arc<dyn Observer>,
    report: &mut CopyReport,
) -> Result<(), Error> {
    let mut running: JoinSet<Result<Outcomes, Error>> = JoinSet::new();
    for task in tasks(planned) {
        // Take the permits here, in order, so the largest blobs start first.
        let permits = tokio::select! {
            permits = task.permits() => permits,
            Some(done) = running.join_next() => {
                tally(joined(done)?, report);
                task.permits().await
            }
        };
        let observer = observer.clone();
        running.spawn(async move {
            let _permits = permits;
            task.run(observer.as_ref()).await
        });
        while let Some(done) = running.try_join_next() {
            tally(joined(done)?, report);
        }
    }
    while let Some(done) = running.join_next().await {
        tally(joined(done)?, report);
    }
    Ok(())
}

/// One task per (destination registry, digest), largest first; a blob
/// that several repositories of one registry need is one task.
fn tasks(planned: &[(&CopyRequest, Plan)]) -> Vec<BlobTask> {
    let mut tasks: Vec<BlobTask> = Vec::new();
    let mut index: HashMap<(String, Digest), usize> = HashMap::new();
    for (request, plan) in planned {
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
    tasks
}

fn tally(outcomes: Outcomes, report: &mut CopyReport) {
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
}

fn joined(
    done: Result<Result<Outcomes, Error>, tokio::task::JoinError>,
) -> Result<Outcomes, Error> {
    match done {
        Ok(result) => result,
        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        Err(_) => Ok(Vec::new()),
    }
}

/// One blob, to be put into one or more repositories of one destination
/// registry.
struct BlobTask {
    digest: Digest,
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

    async fn run(&self, observer: &dyn Observer) -> Result<Outcomes, Error> {
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

    /// The whole blob, started over from a fresh session after a transient
    /// failure, within the destination registry's retry policy.
    async fn with_retries(
        &self,
        destination: &Endpoint,
        mount_from: Option<&str>,
        observer: &dyn Observer,
    ) -> Result<BlobOutcome, Error> {
        let attempt = |attempt: u32| async move {
            let begun = Instant::now();
            let outcome = self
                .once(destination, mount_from, observer, attempt)
                .await
                .map_err(Failed::from)?;
            observer.blob_finished(
                &self.image,
                &self.digest,
                self.size,
                outcome,
                begun.elapsed(),
            );
            Ok(outcome)
        };
        let on_retry = |err: &registry::Error, delay| {
            tracing::warn!(
                "blob `{}` of `{}`: {err}; starting over in {delay:?}",
                self.digest,
                self.image
            );
        };
        retry(&destination.registry.retry, attempt, on_retry)
            .await
            .map_err(|source| Error::Blob {
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
            })
    }

    /// One attempt: HEAD, mount or fresh session, transfer.
    async fn once(
        &self,
        destination: &Endpoint,
        mount_from: Option<&str>,
        observer: &dyn Observer,
        attempt: u32,
    ) -> Result<BlobOutcome, registry::Error> {
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
    ) -> Result<(), registry::Error> {
        let source = &self.source;
        let registry = &self.destinations[0].registry;
        let what = format!(
            "{}/{}@{}",
            source.registry.address(),
            source.repository,
            self.digest
        );
        let empty = Digest::of(self.digest.algorithm, b"");
        if self.size == 0 && empty != self.digest {
            return Err(registry::Error::DigestMismatch {
                what,
                expected: self.digest.to_string(),
                actual: empty.to_string(),
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
                |sender: tokio::sync::mpsc::UnboundedSender<u64>| -> registry::digest::OnBytes {
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
