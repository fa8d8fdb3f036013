//! Image reference parsing and the name, tag, digest and host checks.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zuul_image::reference::{self, Reference};

fuzz_target!(|text: &str| {
    if let Ok(parsed) = Reference::parse(text) {
        // What parses names a valid path, tag and digest.
        reference::validate_path(&parsed.path).unwrap();
        if let Some(tag) = &parsed.tag {
            reference::validate_tag(tag).unwrap();
        }
        if let Some(digest) = &parsed.digest {
            reference::validate_digest(digest).unwrap();
        }
        let _ = parsed.manifest_ref();
    }
    let _ = reference::validate_host(text);
    let _ = reference::buildset_path(text);
    let _ = reference::ipwrap(text);
});
