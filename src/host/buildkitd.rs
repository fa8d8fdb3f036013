//! `/etc/buildkit/buildkitd.toml`: for each namespace, put the buildset
//! registry first in `[registry."<ns>"] mirrors`. Mirrors are `host[:port]
//! [/path]` values, not URLs (buildkit's format). The file is what a custom
//! buildx builder gets through `--config`; the default docker builder does
//! not read it. Site keys (`ca`, `http`, `insecure`, other registries) and
//! comments are kept. Pure: no file I/O.

use super::Error;
use super::registries_conf::Mirror;
use super::toml::{comments_first, parse, put_first, table_mut};
use toml_edit::{Array, Value, value};

/// Apply the mirrors to the file's text (`None`: it does not exist);
/// returns the new text, byte-identical when nothing changed.
pub fn edit(file: &str, text: Option<&str>, mirrors: &[Mirror]) -> Result<String, Error> {
    let original = text.unwrap_or("");
    let mut doc = parse(file, original)?;
    comments_first(&mut doc);
    let registry = table_mut(doc.as_table_mut(), "registry", file, "registry")?;
    for mirror in mirrors {
        let what = format!("registry.\"{}\"", mirror.prefix);
        let table = table_mut(registry, &mirror.prefix, file, &what)?;
        table.set_implicit(false);
        let list = table
            .entry("mirrors")
            .or_insert_with(|| value(Array::new()));
        let Some(array) = list.as_array_mut().filter(|a| a.iter().all(Value::is_str)) else {
            return Err(Error::Unsupported {
                file: file.to_owned(),
                message: format!("`{what}.mirrors` must be a list of strings"),
            });
        };
        let location = mirror.location.as_str();
        put_first(array, Value::from(location), |v| {
            v.as_str() == Some(location)
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
