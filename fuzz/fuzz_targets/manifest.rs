//! Manifest and index parsing, on both sides: the server's validation of a
//! pushed manifest (against an empty store) and its reference walks, and
//! the client's reading of a served manifest's children.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use zuul_image::digest::Digest;
use zuul_image::registry::manifests::{self as client, Manifest};
use zuul_image::server::manifests;
use std::sync::Arc;
use zuul_image::server::storage::Storage;
use zuul_image::server::storage::fs::FsStore;

/// The empty filesystem store, and a runtime for the async store calls.
static STORE: OnceLock<(tempfile::TempDir, Storage, tokio::runtime::Runtime)> = OnceLock::new();

const TYPES: [&str; 5] = [
    client::OCI_MANIFEST,
    client::OCI_INDEX,
    client::DOCKER_MANIFEST,
    client::DOCKER_LIST,
    "application/json",
];

fuzz_target!(|input: (u8, &[u8])| {
    let (kind, bytes) = input;
    let media_type = TYPES[kind as usize % TYPES.len()];
    let (_, storage, runtime) = STORE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let storage: Storage = Arc::new(FsStore::open(dir.path()).unwrap());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        (dir, storage, runtime)
    });
    let _ = runtime.block_on(manifests::validate(storage, "fuzz/app", Some(media_type), bytes));
    let _ = manifests::references(bytes);
    let _ = manifests::stored_references(bytes);
    let _ = manifests::subject_of(bytes);
    let manifest = Manifest {
        media_type: media_type.to_owned(),
        digest: Digest::sha256_of(bytes),
        bytes: bytes::Bytes::copy_from_slice(bytes),
    };
    let _ = manifest.children("fuzz.example", "fuzz/app:latest");
});
