//! The buildkitd.toml editor: the result edits again to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zuul_image::host::buildkitd;
use zuul_image::host::registries_conf::Mirror;

fuzz_target!(|text: &str| {
    let mirrors = [
        Mirror::of("zuul-jobs.buildset-registry:5000", "docker.io"),
        Mirror::of("zuul-jobs.buildset-registry:5000", "quay.io"),
    ];
    if let Ok(once) = buildkitd::edit("buildkitd.toml", Some(text), &mirrors) {
        let twice = buildkitd::edit("buildkitd.toml", Some(&once), &mirrors)
            .expect("an edited buildkitd.toml edits again");
        assert_eq!(once, twice, "a second edit changes nothing");
    }
});
