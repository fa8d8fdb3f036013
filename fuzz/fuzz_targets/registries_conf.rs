//! The registries.conf editor (v1 converted to v2, mirrors, unqualified
//! search registries): the result edits again to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zuul_image::host::registries_conf::{self, Mirror};

fuzz_target!(|text: &str| {
    let mirrors = [
        Mirror::of("zuul-jobs.buildset-registry:5000", "docker.io"),
        Mirror::of("zuul-jobs.buildset-registry:5000", "quay.io"),
    ];
    let unqualified = vec!["docker.io".to_owned()];
    if let Ok(once) = registries_conf::edit("registries.conf", Some(text), &mirrors, &unqualified) {
        let twice = registries_conf::edit("registries.conf", Some(&once), &mirrors, &unqualified)
            .expect("an edited registries.conf edits again");
        assert_eq!(once, twice, "a second edit changes nothing");
    }
});
