//! The vars loader: a JSON or YAML document of Zuul variables, then typed
//! reads of the sections commands use.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zuul_image::zuul::vars::{self, Vars};

fuzz_target!(|text: &str| {
    for name in ["vars.json", "vars.yaml"] {
        if let Ok(map) = vars::parse_document(name, text) {
            let vars = Vars::from_map(map);
            let _ = vars.typed::<serde_json::Value>("zuul");
            let _ = vars.typed::<Vec<String>>("container_images");
            let _ = vars.typed::<String>("buildset_registry");
        }
    }
});
