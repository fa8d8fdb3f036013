//! The auth-file editor (docker's `config.json`, podman's `auth.json`):
//! the merged credentials are there, and merging them again changes
//! nothing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zuul_image::host::auth;
use zuul_image::secret::Secret;

fuzz_target!(|text: &str| {
    let password = Secret::new("fuzz-password");
    let registry = "zuul-jobs.buildset-registry:5000";
    if let Ok(once) = auth::merge("auth.json", Some(text), registry, "zuul", &password) {
        let twice = auth::merge("auth.json", Some(&once), registry, "zuul", &password)
            .expect("a merged auth file merges again");
        assert_eq!(once, twice, "a second merge changes nothing");
    }
});
