//! containerd's hosts.toml editor and config.toml's config_path: the
//! results edit again to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zuul_image::host::containerd::{self, HostEntry};

fuzz_target!(|text: &str| {
    let entry = HostEntry::new("docker.io", "zuul-jobs.buildset-registry:5000", "/etc/ca.crt");
    if let Ok(once) = containerd::edit_hosts("hosts.toml", Some(text), "https://registry-1.docker.io", &entry) {
        let twice = containerd::edit_hosts("hosts.toml", Some(&once), "https://registry-1.docker.io", &entry)
            .expect("an edited hosts.toml edits again");
        assert_eq!(once, twice, "a second edit changes nothing");
    }
    if let Ok((once, _)) = containerd::edit_config("config.toml", Some(text), "/etc/containerd/certs.d") {
        let (twice, _) = containerd::edit_config("config.toml", Some(&once), "/etc/containerd/certs.d")
            .expect("an edited config.toml edits again");
        assert_eq!(once, twice, "a second edit changes nothing");
    }
});
