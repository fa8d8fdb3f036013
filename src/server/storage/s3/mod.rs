//! [`S3Store`]: the registry's storage in an S3-compatible bucket, shared by
//! any number of `registry serve` replicas. Nothing lives in a replica's
//! memory that another needs: upload state is an object updated by
//! compare-and-swap (`If-Match`), blob bytes are written under their
//! content key only once their digest is verified and only if absent
//! (`If-None-Match: *`), links, tags and markers are single PUTs (atomic in
//! S3), and every age is an object's `LastModified`, the store's clock.
//!
//! Built on `object_store` (path-style requests, plain HTTP only for an
//! `http://` endpoint), with [`raw`] for the two requests it does not
//! offer: a multipart completion with explicit part numbers and
//! `If-None-Match`. [`S3Store::connect`] checks the endpoint, the keys, the
//! bucket and conditional writes before the server starts, and fails with
//! an [`Error`] that names the endpoint and the bucket. Keys are never
//! logged: [`S3Store`]'s `Debug` and every message name only the endpoint,
//! bucket and prefix.
//!
//! Submodules: [`keys`] (the layout), [`guard`] (the prune-safe write and
//! removal protocol), [`store`] (the [`Store`](super::Store) operations),
//! [`uploads`] and [`state`] (upload sessions), [`sha256`] (the resumable
//! hash), [`settings`] (configuration).

mod guard;
pub mod keys;
mod place;
mod raw;
pub mod settings;
pub mod sha256;
mod state;
mod store;
#[cfg(test)]
pub mod testing;
mod uploads;

use super::Error as StorageError;
use super::Result;
use bytes::Bytes;
use futures_util::TryStreamExt;
use keys::Keys;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{
    ClientOptions, GetOptions, ObjectMeta, ObjectStore, ObjectStoreExt, PutMode, PutOptions,
    PutPayload, PutResult, RetryConfig, UpdateVersion,
};
use settings::S3Settings;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use thiserror::Error;
use tokio::sync::Semaphore;

/// Bytes of upload parts buffered at once by one server, across all its
/// uploads: the memory an upload storm may take. A part waits for room.
const PART_MEMORY: usize = 40 << 20;

/// Why the store could not be used at start.
#[derive(Debug, Error)]
pub enum Error {
    #[error("cannot reach the object store {store}: {message}")]
    Unreachable { store: String, message: String },
    #[error("{store}: the bucket does not exist (create it first)")]
    NoBucket { store: String },
    #[error("{store}: the store refused the access key and secret key: {message}")]
    Refused { store: String, message: String },
    #[error("{store}: the endpoint does not answer like an S3 store: {message}")]
    NotS3 { store: String, message: String },
    #[error(
        "{store}: the store does not honour conditional writes (`If-None-Match: *`); `registry serve` needs them to share a bucket safely"
    )]
    NoConditionalWrites { store: String },
    #[error("{store}: {message}")]
    Setup { store: String, message: String },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl crate::exit::Classify for Error {
    /// Settings that cannot work are input; a store that does not answer
    /// (or fails) is an operation failure.
    fn is_input(&self) -> bool {
        matches!(
            self,
            Error::NoBucket { .. }
                | Error::Refused { .. }
                | Error::NotS3 { .. }
                | Error::NoConditionalWrites { .. }
                | Error::Setup { .. }
        )
    }
}

/// The S3 store. Cheap to share (`Arc` inside).
pub struct S3Store {
    objects: Arc<AmazonS3>,
    raw: raw::Raw,
    keys: Keys,
    /// `S3 `endpoint` bucket `b``, for logs and errors.
    name: String,
    /// Room for part buffers ([`PART_MEMORY`] bytes, one permit per KiB).
    parts: Arc<Semaphore>,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

/// The outcome of a conditional write.
pub(crate) enum Written {
    Done(PutResult),
    /// `Create` found an object there already.
    Exists,
    /// `Update` found another version (or none).
    Conflict,
}

/// An HTTP client for the store: the project's TLS settings (system roots)
/// for `https://`, deadlines on connecting and on every read.
fn http_client(settings: &S3Settings) -> std::result::Result<reqwest::Client, String> {
    let host = url::Url::parse(&settings.endpoint)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_default();
    let trust = crate::registry::tls::trust(&host, &[], &[]).map_err(|err| err.to_string())?;
    let tls = crate::registry::tls::client_config(trust).map_err(|err| err.to_string())?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent(concat!("zuul-image/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(5))
        .read_timeout(Duration::from_secs(60))
        .pool_idle_timeout(Duration::from_secs(50))
        .tcp_nodelay(true)
        .https_only(!settings.plain_http())
        .build()
        .map_err(|err| err.to_string())
}

#[derive(Debug)]
struct Connector(reqwest::Client);

impl object_store::client::HttpConnector for Connector {
    fn connect(
        &self,
        _options: &ClientOptions,
    ) -> object_store::Result<object_store::client::HttpClient> {
        Ok(object_store::client::HttpClient::new(self.0.clone()))
    }
}

impl S3Store {
    /// Connect to the bucket of `settings` and check, before anything is
    /// served, that the endpoint answers as S3, that the keys are accepted,
    /// that the bucket exists and that conditional writes work; then make
    /// sure the layout version is the one this code knows.
    pub async fn connect(settings: &S3Settings) -> Result<S3Store, Error> {
        let name = settings.describe();
        let setup = |message: String| Error::Setup {
            store: name.clone(),
            message,
        };
        let client = http_client(settings).map_err(&setup)?;
        let retry = RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(15),
            ..RetryConfig::default()
        };
        let objects = AmazonS3Builder::new()
            .with_endpoint(&settings.endpoint)
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_access_key_id(settings.access_key.expose())
            .with_secret_access_key(settings.secret_key.expose())
            .with_allow_http(settings.plain_http())
            .with_virtual_hosted_style_request(false)
            .with_retry(retry)
            .with_http_connector(Connector(client.clone()))
            .build()
            .map_err(|err| setup(err.to_string()))?;
        let store = S3Store {
            objects: Arc::new(objects),
            raw: raw::Raw::new(client, settings),
            keys: Keys::new(&settings.prefix),
            name: name.clone(),
            parts: Arc::new(Semaphore::new(PART_MEMORY >> 10)),
        };
        store.probe().await?;
        Ok(store)
    }

    async fn probe(&self) -> Result<(), Error> {
        let store = self.name.clone();
        if let Err(err) = self
            .objects
            .list_with_delimiter(Some(&self.keys.layout()))
            .await
        {
            return Err(classify(store, err));
        }
        // Conditional writes, which every upload and link relies on.
        let probe = self.keys.probe(&crate::server::uploads::new_id());
        let first = self
            .put(&probe, Bytes::from_static(b"1"), PutMode::Create)
            .await?;
        let second = self
            .put(&probe, Bytes::from_static(b"2"), PutMode::Create)
            .await?;
        self.delete(&probe).await?;
        if !matches!((first, second), (Written::Done(_), Written::Exists)) {
            return Err(Error::NoConditionalWrites { store });
        }
        let layout = self.keys.layout();
        let version = Bytes::from_static(keys::LAYOUT_VERSION.as_bytes());
        let found = match self.put(&layout, version, PutMode::Create).await? {
            Written::Done(_) => return Ok(()),
            _ => self.get(&layout).await?,
        };
        let found = found
            .map(|(bytes, _)| String::from_utf8_lossy(&bytes).trim().to_owned())
            .unwrap_or_default();
        if found != keys::LAYOUT_VERSION {
            return Err(Error::Storage(StorageError::Corrupt {
                store,
                key: layout.to_string(),
                what: "a storage layout",
                message: format!("version `{found}`"),
            }));
        }
        Ok(())
    }

    fn error(&self, op: &'static str, key: &Path, source: object_store::Error) -> StorageError {
        StorageError::Object {
            op,
            key: key.to_string(),
            store: self.name.clone(),
            source: Box::new(source),
        }
    }

    /// The metadata of `key`, `None` when absent.
    pub(crate) async fn head(&self, key: &Path) -> Result<Option<ObjectMeta>> {
        match self.objects.head(key).await {
            Ok(meta) => Ok(Some(meta)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(self.error("read", key, err)),
        }
    }

    /// The bytes and metadata of `key`, `None` when absent.
    pub(crate) async fn get(&self, key: &Path) -> Result<Option<(Bytes, ObjectMeta)>> {
        let result = match self.objects.get_opts(key, GetOptions::default()).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(err) => return Err(self.error("read", key, err)),
        };
        let meta = result.meta.clone();
        match result.bytes().await {
            Ok(bytes) => Ok(Some((bytes, meta))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(self.error("read", key, err)),
        }
    }

    /// Write `bytes` to `key` with `mode`.
    pub(crate) async fn put(&self, key: &Path, bytes: Bytes, mode: PutMode) -> Result<Written> {
        let options = PutOptions {
            mode,
            ..PutOptions::default()
        };
        match self
            .objects
            .put_opts(key, PutPayload::from_bytes(bytes), options)
            .await
        {
            Ok(result) => Ok(Written::Done(result)),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(Written::Exists),
            Err(
                object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. },
            ) => Ok(Written::Conflict),
            Err(err) => Err(self.error("write", key, err)),
        }
    }

    /// Replace `key` if it is still the version with `e_tag`.
    pub(crate) async fn update(&self, key: &Path, bytes: Bytes, e_tag: &str) -> Result<Written> {
        let version = UpdateVersion {
            e_tag: Some(e_tag.to_owned()),
            version: None,
        };
        self.put(key, bytes, PutMode::Update(version)).await
    }

    /// Remove `key`; removing what is absent is no error.
    pub(crate) async fn delete(&self, key: &Path) -> Result<()> {
        match self.objects.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(self.error("remove", key, err)),
        }
    }

    /// Every object under `prefix`, at any depth.
    pub(crate) async fn list(&self, prefix: &Path) -> Result<Vec<ObjectMeta>> {
        self.objects
            .list(Some(prefix))
            .try_collect()
            .await
            .map_err(|err| self.error("list", prefix, err))
    }

    /// The objects directly under `prefix` and its sub-prefixes.
    pub(crate) async fn list_dir(&self, prefix: &Path) -> Result<(Vec<ObjectMeta>, Vec<Path>)> {
        let listed = self
            .objects
            .list_with_delimiter(Some(prefix))
            .await
            .map_err(|err| self.error("list", prefix, err))?;
        Ok((listed.objects, listed.common_prefixes))
    }

    /// The store's clock: the time it gives an object written now.
    pub(crate) async fn clock(&self) -> Result<SystemTime> {
        let key = self.keys.clock();
        self.put(&key, Bytes::new(), PutMode::Overwrite).await?;
        let meta = self
            .head(&key)
            .await?
            .ok_or_else(|| StorageError::Corrupt {
                store: self.name.clone(),
                key: key.to_string(),
                what: "nothing",
                message: "the clock object vanished as it was written".into(),
            })?;
        Ok(meta.last_modified.into())
    }
}

/// What a failed first listing says about the endpoint, keys and bucket.
fn classify(store: String, err: object_store::Error) -> Error {
    let text = error_chain(&err);
    let answer = answer(&text);
    let refused = [
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AccessDenied",
    ]
    .iter()
    .any(|code| text.contains(code));
    match &err {
        _ if text.contains("NoSuchBucket") => Error::NoBucket { store },
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => Error::Refused {
            store,
            message: answer,
        },
        _ if refused => Error::Refused {
            store,
            message: answer,
        },
        _ if connect_failure(&err) => Error::Unreachable {
            store,
            message: root_cause(&err),
        },
        _ => Error::NotS3 {
            store,
            message: answer,
        },
    }
}

/// The store's answer in an `object_store` error: the status and the S3
/// error code and message, or the start of a body that is not S3's.
fn answer(text: &str) -> String {
    let Some(at) = text.find("status code: ") else {
        return first_line(text);
    };
    let rest = &text[at + "status code: ".len()..];
    let (status, body) = rest.split_once(": ").unwrap_or((rest, ""));
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = body.find(&open)? + open.len();
        let end = body[start..].find(&format!("</{name}>"))? + start;
        Some(body[start..end].to_owned())
    };
    match (tag("Code"), tag("Message")) {
        (Some(code), Some(message)) => format!("answered `{status}`: {code}: {message}"),
        (Some(code), None) => format!("answered `{status}`: {code}"),
        _ => format!(
            "answered `{status}` with `{}`",
            first_line(body.trim())
                .chars()
                .take(120)
                .collect::<String>()
        ),
    }
}

/// The innermost cause of an error (e.g. `Connection refused`).
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    first_line(&cause.to_string())
}

/// Whether the request never got an HTTP answer (refused, timed out, DNS).
fn connect_failure(err: &object_store::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = cause {
        if let Some(reqwest) = current.downcast_ref::<reqwest::Error>() {
            if reqwest.is_connect() || reqwest.is_timeout() {
                return true;
            }
        }
        if let Some(http) = current.downcast_ref::<object_store::client::HttpError>() {
            if matches!(
                http.kind(),
                object_store::client::HttpErrorKind::Connect
                    | object_store::client::HttpErrorKind::Timeout
            ) {
                return true;
            }
        }
        cause = current.source();
    }
    false
}

fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(current) = cause {
        text.push_str(": ");
        text.push_str(&current.to_string());
        cause = current.source();
    }
    text
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > 400 {
        format!("{}…", line.chars().take(400).collect::<String>())
    } else {
        line.to_owned()
    }
}
