//! ensure-docker's daemon.json merge (mirror, insecure registries,
//! userland-proxy, a small MTU): a second merge changes nothing and
//! reports no changed key.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zuul_image::host::docker_setup;
use zuul_image::zuul::inputs::ensure_docker::DaemonSettings;

fuzz_target!(|input: (bool, &str)| {
    let (small_mtu, text) = input;
    let settings = DaemonSettings {
        mirror: Some("https://mirror.example.org:8082".into()),
        insecure_registries: vec!["zuul-jobs.buildset-registry:5000".into()],
        userland_proxy: Some(false),
        mtu: Some(if small_mtu { 1450 } else { 1500 }),
    };
    if let Ok((once, _)) = docker_setup::edit_daemon_json("daemon.json", Some(text), &settings) {
        let (twice, changed) = docker_setup::edit_daemon_json("daemon.json", Some(&once), &settings)
            .expect("a merged daemon.json merges again");
        assert_eq!(once, twice, "a second merge changes nothing");
        assert!(changed.is_empty(), "a second merge changes no key: {changed:?}");
    }
});
