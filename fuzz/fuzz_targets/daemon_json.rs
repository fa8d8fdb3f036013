//! The daemon.json editor: parse, put a mirror first, add insecure
//! registries, render; the result parses again and a second edit changes
//! nothing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zuul_image::host::daemon_json;

fn edit(text: &str) -> Option<String> {
    let mut doc = daemon_json::parse("daemon.json", text).ok()?;
    daemon_json::put_mirror_first(&mut doc, "https://zuul-jobs.buildset-registry:5000", "daemon.json").ok()?;
    daemon_json::add_insecure(&mut doc, &["zuul-jobs.buildset-registry:5000".into()], "daemon.json").ok()?;
    Some(daemon_json::render(&doc))
}

fuzz_target!(|text: &str| {
    if let Some(once) = edit(text) {
        let twice = edit(&once).expect("an edited daemon.json edits again");
        assert_eq!(once, twice, "a second edit changes nothing");
    }
});
