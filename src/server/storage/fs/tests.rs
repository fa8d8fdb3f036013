use super::aside::set_aside_path;
use super::*;

#[test]
fn layout_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Root::open(dir.path()).unwrap();
    let bytes = b"{\"schemaVersion\":2}";
    let digest = Digest::sha256_of(bytes);
    assert_eq!(storage.blob_size(&digest).unwrap(), None);
    storage.put_bytes(&digest, bytes).unwrap();
    assert_eq!(storage.read_blob(&digest).unwrap().unwrap(), bytes);
    storage
        .link_manifest(
            "quay.io/org/app",
            &digest,
            "application/vnd.oci.image.manifest.v1+json",
        )
        .unwrap();
    storage.set_tag("quay.io/org/app", "v1", &digest).unwrap();
    storage.link_manifest("org", &digest, "x").unwrap();
    assert_eq!(
        storage.tags("quay.io/org/app").unwrap().unwrap(),
        vec!["v1"]
    );
    assert_eq!(storage.tags("nothing").unwrap(), None);
    assert_eq!(
        storage.repositories().unwrap(),
        vec!["org".to_owned(), "quay.io/org/app".to_owned()]
    );
    assert_eq!(
        storage.tags_of("quay.io/org/app", &digest).unwrap(),
        vec!["v1"]
    );
    storage.add_referrer("org", &digest, &digest).unwrap();
    assert_eq!(
        storage.referrers("org", &digest).unwrap(),
        vec![digest.clone()]
    );
    assert_eq!(storage.manifests("org").unwrap().len(), 1);
    assert_eq!(storage.blobs().unwrap().len(), 1);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("layout")).unwrap(),
        LAYOUT_VERSION
    );
}

#[test]
fn blob_links_belong_to_one_repository() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Root::open(dir.path()).unwrap();
    let digest = Digest::sha256_of(b"layer");
    storage.put_bytes(&digest, b"layer").unwrap();
    storage.link_blob("org/a", &digest).unwrap();
    assert!(storage.holds("org/a", &digest).unwrap());
    assert!(!storage.holds("org/b", &digest).unwrap());
    // A repository with only blob links is not in the catalog, but prune
    // walks it.
    assert_eq!(storage.repositories().unwrap(), Vec::<String>::new());
    assert_eq!(storage.linked_repositories().unwrap(), vec!["org/a"]);
    assert_eq!(storage.blob_links("org/a").unwrap().len(), 1);
    assert!(!storage.unlink_blob("org/b", &digest).unwrap());
    assert!(storage.unlink_blob("org/a", &digest).unwrap());
    assert!(!storage.holds("org/a", &digest).unwrap());
    assert_eq!(
        storage.blob_size(&digest).unwrap(),
        Some(5),
        "content stays"
    );
}

#[test]
fn a_newer_layout_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("layout"), "3\n").unwrap();
    let err = Root::open(dir.path()).unwrap_err();
    assert!(
        matches!(err, Error::Layout { ref found, .. } if found == "3"),
        "{err}"
    );
}

#[test]
fn errors_name_the_file_and_keep_the_kind() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Root::open(dir.path()).unwrap();
    let err = storage.create_upload("../../nope/x").unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(
        err.to_string().contains(&dir.path().display().to_string()),
        "{err}"
    );
}

#[test]
fn removal_rechecks_the_time_and_touches_see_removals() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Root::open(dir.path()).unwrap();
    let digest = Digest::sha256_of(b"x");
    storage.put_bytes(&digest, b"x").unwrap();
    let path = storage.blob_path(&digest);
    let age = |when| {
        std::fs::File::open(&path)
            .unwrap()
            .set_modified(when)
            .unwrap()
    };
    let hour = std::time::Duration::from_secs(3600);
    let cutoff = SystemTime::now() - hour;
    age(cutoff - hour);
    // Touched after the sweep listed it as old: put back.
    assert!(storage.touch_blob(&digest).unwrap());
    assert_eq!(storage.delete_blob_if_older(&digest, cutoff).unwrap(), None);
    assert!(path.exists() && !set_aside_path(&path).exists());
    // A prune that died with the blob set aside: the next one puts it back.
    std::fs::rename(&path, set_aside_path(&path)).unwrap();
    assert!(
        !storage.touch_blob(&digest).unwrap(),
        "a touch sees it gone"
    );
    storage.put_back_set_aside().unwrap();
    assert!(path.exists() && !set_aside_path(&path).exists());
    age(cutoff - hour);
    assert_eq!(
        storage.delete_blob_if_older(&digest, cutoff).unwrap(),
        Some(1)
    );
    assert!(!path.exists() && !set_aside_path(&path).exists());
    assert!(!storage.touch_blob(&digest).unwrap());
}
