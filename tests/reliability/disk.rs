//! Faults: the registry's storage on a small tmpfs that fills up. A push
//! that does not fit is a clean error (a 5xx with an OCI error body saying
//! what happened, no path), nothing half-written becomes visible, what the
//! registry holds is still served, and once space is freed pushes work
//! again without a restart. Needs root (mount): run by tests/run-all.sh.

use crate::support::REAL;
use crate::support::load::{Client, manifest, report, sha256};
use crate::support::served::{Served, is_mount_point};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs of `size` mounted on a fresh dir, unmounted on drop.
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        let path = dir.join("disk");
        std::fs::create_dir_all(&path).unwrap();
        crate::support::run(
            Command::new("mount")
                .args(["-t", "tmpfs", "-o"])
                .arg(format!("size={size},mode=0755"))
                .arg("reliability-disk")
                .arg(&path),
        );
        assert!(is_mount_point(&path));
        Tmpfs { path }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Fill the file system of `path` up to the last `spare` bytes.
fn fill(path: &Path, spare: u64) {
    let stat = nix::sys::statvfs::statvfs(path).unwrap();
    let free = stat.blocks_available() as u64 * stat.fragment_size() as u64;
    let filler = path.join("filler");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&filler)
        .unwrap();
    use std::io::Write;
    let chunk = vec![7u8; 64 << 10];
    let mut left = free.saturating_sub(spare);
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        if file.write_all(&chunk[..n]).is_err() {
            break;
        }
        left -= n as u64;
    }
}

/// POST a blob in one request: (status, OCI error code, message).
async fn post_blob(client: &Client, name: &str, bytes: &[u8]) -> (u16, String, String) {
    let reply = client
        .request(
            reqwest::Method::POST,
            &format!("/v2/{name}/blobs/uploads/?digest={}", sha256(bytes)),
        )
        .header("content-type", "application/octet-stream")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    let body: serde_json::Value = reply.json().await.unwrap_or_default();
    (
        status,
        body["errors"][0]["code"].as_str().unwrap_or("").to_owned(),
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .to_owned(),
    )
}

async fn push_image(client: &Client, name: &str, tag: &str, layer: &[u8]) -> anyhow::Result<()> {
    let config = format!(r#"{{"architecture":"amd64","os":"linux","tag":"{tag}"}}"#).into_bytes();
    client.push_blob(name, &config, None).await?;
    client.push_blob(name, layer, Some(1 << 20)).await?;
    client
        .put_manifest(
            name,
            tag,
            "application/vnd.oci.image.manifest.v1+json",
            &manifest(&config, &[layer]),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs real components: run tests/run-all.sh"]
async fn a_full_disk_is_a_clean_error_and_space_freed_is_used_without_restart() {
    let _ = REAL;
    let dir = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(dir.path(), "16m");
    let fixture = tempfile::tempdir().unwrap();
    let served = Served::start_on(fixture, disk.path.join("storage"), "");
    let client = served.client();
    let kept = vec![1u8; 2 << 20];
    push_image(&client, "disk/kept", "v1", &kept).await.unwrap();

    fill(&disk.path, 256 << 10);
    let mut refused = 0;
    // A monolithic blob, a chunked one and a manifest: each refused cleanly.
    let big = vec![2u8; 3 << 20];
    let (status, code, message) = post_blob(&client, "disk/new", &big).await;
    assert!(status >= 500, "{status} {code} {message}");
    assert!(!code.is_empty(), "an OCI error body: {status} {message}");
    assert!(
        message.contains("space"),
        "the message says what happened: {message}"
    );
    assert!(
        !message.contains(&*disk.path.to_string_lossy()),
        "{message}"
    );
    refused += 1;
    let chunked = push_image(&client, "disk/new", "v1", &big).await;
    let err = format!("{:#}", chunked.unwrap_err());
    assert!(err.contains("space"), "{err}");
    assert!(err.contains(": 5"), "a 5xx: {err}");
    refused += 1;
    for digest in [sha256(&big)] {
        assert_eq!(
            client.get("disk/new", "blobs", &digest).await.unwrap(),
            None,
            "nothing half-written is visible"
        );
    }
    assert_eq!(
        client.get("disk/new", "manifests", "v1").await.unwrap(),
        None
    );

    // A manifest on a disk with no byte left: all or nothing.
    fill(&disk.path, 0);
    let config = br#"{"architecture":"amd64","os":"linux","tag":"v1"}"#;
    let bytes = manifest(config, &[&kept]);
    let put = client
        .put_manifest(
            "disk/kept",
            "v2",
            "application/vnd.oci.image.manifest.v1+json",
            &bytes,
        )
        .await;
    let got = client.get("disk/kept", "manifests", "v2").await.unwrap();
    match put {
        Ok(()) => assert_eq!(got.as_deref(), Some(&bytes[..])),
        Err(err) => {
            assert!(format!("{err:#}").contains(": 5"), "{err:#}");
            assert_eq!(got, None, "a refused manifest left a tag behind");
            refused += 1;
        }
    }

    // What is there is still served, byte for byte.
    let got = client.get("disk/kept", "blobs", &sha256(&kept)).await;
    assert_eq!(got.unwrap().as_deref(), Some(&kept[..]));
    assert!(
        client
            .get("disk/kept", "manifests", "v1")
            .await
            .unwrap()
            .is_some()
    );

    // Space freed: the same pushes work, same process.
    let pid = served.pid();
    std::fs::remove_file(disk.path.join("filler")).unwrap();
    push_image(&client, "disk/new", "v1", &big).await.unwrap();
    let got = client.get("disk/new", "blobs", &sha256(&big)).await;
    assert_eq!(got.unwrap().as_deref(), Some(&big[..]));
    assert_eq!(served.pid(), pid);
    report(&format!(
        "storage on a 16 MiB tmpfs filled up: {refused} pushes refused with a 5xx \
         ({status} {code}: {message}), nothing half-written visible, existing image served, \
         the same push succeeded after freeing space without a restart"
    ));
}
