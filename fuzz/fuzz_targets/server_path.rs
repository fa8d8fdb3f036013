//! The registry's request path parser: percent-decoding, the route, names,
//! digests, references and upload ids. No route may name a path that
//! leaves its repository (`..`, empty or `_` components).
#![no_main]
use libfuzzer_sys::fuzz_target;
use zuul_image::server::path;

fuzz_target!(|text: &str| {
    if let Ok(decoded) = path::percent_decode(text) {
        if let Ok(route) = path::parse(&decoded) {
            if let Some(name) = route.name() {
                path::validate_name(name).unwrap();
                for segment in name.split('/') {
                    assert!(!segment.is_empty() && segment != "." && segment != "..");
                    assert!(!segment.starts_with('_'));
                }
            }
        }
    }
    let _ = path::parse_digest(text);
    let _ = path::ManifestRef::parse(text);
    if path::valid_upload_id(text) {
        assert!(!text.contains('/') && !text.contains(".."));
    }
});
