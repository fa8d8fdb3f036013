//! `/etc/buildkit/buildkitd.toml`: for each namespace, put the buildset
//! registry first in `[registry."<ns>"] mirrors`. Mirrors are `host[:port]
//! [/path]` values, not URLs (buildkit's format). The file is what a custom
//! buildx builder gets through `--config`; the default docker builder does
//! not read it. Site keys (`ca`, `http`, `insecure`, other registries) and
//! comments are kept. [`trust`] adds a registry's CA (`ca`) for the
//! builder of a docker multi-platform build. Pure: no file I/O.

use super::Error;
use super::registries_conf::Mirror;
use super::toml::{comments_first, parse, put_first, table_mut};
use toml_edit::{Array, Value, value};

/// Apply the mirrors to the file's text (`None`: it does not exist);
/// returns the new text, byte-identical when nothing changed.
pub fn edit(file: &str, text: Option<&str>, mirrors: &[Mirror]) -> Result<String, Error> {
    let entries: Vec<(&str, &str, &str)> = mirrors
        .iter()
        .map(|m| (m.prefix.as_str(), "mirrors", m.location.as_str()))
        .collect();
    put_first_in_registries(file, text, &entries)
}

/// Trust the CA file `ca` for `registry` (`host:port`): first in
/// `[registry."<registry>"] ca`. buildx copies the files a builder's
/// config names into the builder, so `ca` is a path on this machine.
pub fn trust(file: &str, text: Option<&str>, registry: &str, ca: &str) -> Result<String, Error> {
    put_first_in_registries(file, text, &[(registry, "ca", ca)])
}

/// For each `(registry, key, value)`, put `value` first in the list
/// `[registry."<registry>"] <key>`.
fn put_first_in_registries(
    file: &str,
    text: Option<&str>,
    entries: &[(&str, &str, &str)],
) -> Result<String, Error> {
    let original = text.unwrap_or("");
    let mut doc = parse(file, original)?;
    comments_first(&mut doc);
    let registry = table_mut(doc.as_table_mut(), "registry", file, "registry")?;
    for (prefix, key, location) in entries {
        let what = format!("registry.\"{prefix}\"");
        let table = table_mut(registry, prefix, file, &what)?;
        table.set_implicit(false);
        let list = table.entry(key).or_insert_with(|| value(Array::new()));
        let Some(array) = list.as_array_mut().filter(|a| a.iter().all(Value::is_str)) else {
            return Err(Error::Unsupported {
                file: file.to_owned(),
                message: format!("`{what}.{key}` must be a list of strings"),
            });
        };
        put_first(array, Value::from(*location), |v| {
            v.as_str() == Some(*location)
        });
    }
    if registry.is_empty() {
        doc.remove("registry");
    }
    // Unchanged parts render byte for byte as they were read.
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_file() {
        let out = edit("b.toml", None, &Mirror::examples()).unwrap();
        assert_eq!(
            out,
            "[registry.\"docker.io\"]\nmirrors = [\"zuul-jobs.buildset-registry:5000\"]\n\n[registry.\"quay.io\"]\nmirrors = [\"zuul-jobs.buildset-registry:5000/quay.io\"]\n"
        );
        assert_eq!(
            edit("b.toml", Some(&out), &Mirror::examples()).unwrap(),
            out
        );
    }

    #[test]
    fn site_settings_are_kept() {
        let text = "# builder config\ndebug = true\n\n[registry.\"docker.io\"]\n  mirrors = [\"mirror.site:8082\"] # site mirror\n  http = true\n\n[registry.\"ghcr.io\"]\n  mirrors = [\"x\"]\n";
        let out = edit("b.toml", Some(text), &Mirror::examples()).unwrap();
        assert!(out.contains("  mirrors = [\"zuul-jobs.buildset-registry:5000\", \"mirror.site:8082\"] # site mirror\n  http = true\n"), "{out}");
        assert!(
            out.contains("[registry.\"ghcr.io\"]\n  mirrors = [\"x\"]\n"),
            "{out}"
        );
        assert!(out.starts_with("# builder config\ndebug = true\n"), "{out}");
        assert_eq!(
            edit("b.toml", Some(&out), &Mirror::examples()).unwrap(),
            out
        );
    }

    #[test]
    fn a_registry_ca_goes_first_once() {
        let mirrored = edit("b.toml", None, &Mirror::examples()).unwrap();
        let reg = "zuul-jobs.buildset-registry:5000";
        let out = trust("b.toml", Some(&mirrored), reg, "/tmp/x/ca.crt").unwrap();
        assert!(out.starts_with(&mirrored), "{out}");
        assert!(
            out.ends_with(&format!(
                "\n[registry.\"{reg}\"]\nca = [\"/tmp/x/ca.crt\"]\n"
            )),
            "{out}"
        );
        assert_eq!(
            trust("b.toml", Some(&out), reg, "/tmp/x/ca.crt").unwrap(),
            out
        );
        let err = trust("b.toml", Some("[registry.\"r:1\"]\nca = 1\n"), "r:1", "/c").unwrap_err();
        assert!(
            err.to_string()
                .contains("`registry.\"r:1\".ca` must be a list"),
            "{err}"
        );
    }

    #[test]
    fn bad_mirrors_are_refused() {
        let err = edit(
            "b.toml",
            Some("[registry.\"docker.io\"]\nmirrors = \"x\"\n"),
            &Mirror::examples(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("mirrors` must be a list"), "{err}");
    }
}
