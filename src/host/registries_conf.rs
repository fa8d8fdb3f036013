//! `/etc/containers/registries.conf` (containers-registries.conf(5), v2
//! format), read by podman, buildah, skopeo and cri-o: put the buildset
//! registry first in the `mirror` list of each namespace's `[[registry]]`,
//! append entries for namespaces without one, and set
//! `unqualified-search-registries`. Comments, key order and unrelated
//! entries are kept. A v1 file (`[registries.search]` …) is converted
//! faithfully to v2; a file mixing both formats is refused, as
//! containers/image refuses it. Pure: no file I/O.

use super::Error;
use super::toml::{put_first, strings};
use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, Value, value};

/// One mirror to configure: image names under `prefix` are tried at
/// `location` first (`zuul-jobs.buildset-registry:5000/quay.io`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    pub prefix: String,
    pub location: String,
}

impl Mirror {
    /// docker.io and quay.io on `zuul-jobs.buildset-registry:5000`, for the
    /// editors' tests.
    #[cfg(test)]
    pub fn examples() -> Vec<Mirror> {
        ["docker.io", "quay.io"]
            .map(|ns| Mirror::of("zuul-jobs.buildset-registry:5000", ns))
            .to_vec()
    }

    /// The buildset registry at `alias_address` as the mirror of
    /// `namespace`: un-prefixed for docker.io (what docker asks a mirror
    /// for), `<alias:port>/<ns>` else.
    pub fn of(alias_address: &str, namespace: &str) -> Mirror {
        let location = if namespace == crate::reference::DOCKER_HUB {
            alias_address.to_owned()
        } else {
            format!("{alias_address}/{namespace}")
        };
        Mirror {
            prefix: namespace.to_owned(),
            location,
        }
    }
}

/// Whether the document is in the v1 format.
pub fn is_v1(doc: &DocumentMut) -> bool {
    doc.contains_key("registries")
}

/// Rewrite a v1 document (`[registries.search|insecure|block]
/// registries = [...]`) into the v2 equivalent, keeping its comments.
pub fn convert_v1(doc: &mut DocumentMut, file: &str) -> Result<(), Error> {
    let unsupported = |message: &str| Error::Unsupported {
        file: file.to_owned(),
        message: message.to_owned(),
    };
    if doc.contains_key("registry") || doc.contains_key("unqualified-search-registries") {
        return Err(unsupported(
            "mixes the v1 format (`[registries.*]`) with the v2 format (`[[registry]]`, `unqualified-search-registries`); containers/image refuses such a file",
        ));
    }
    let Some(Item::Table(v1)) = doc.remove("registries") else {
        return Err(unsupported("`registries` must be a table (v1 format)"));
    };
    let mut comments = String::new();
    let mut lists: [Vec<String>; 3] = Default::default();
    for (key, item) in v1.iter() {
        let slot = match key {
            "search" => 0,
            "insecure" => 1,
            "block" => 2,
            other => {
                return Err(unsupported(&format!(
                    "unknown v1 table `[registries.{other}]`"
                )));
            }
        };
        let table = item
            .as_table_like()
            .ok_or_else(|| unsupported(&format!("`registries.{key}` must be a table")))?;
        if let Some(table) = item.as_table() {
            if let Some(prefix) = table.decor().prefix().and_then(|raw| raw.as_str()) {
                comments.push_str(prefix);
            }
        }
        if let Some(list) = table.get("registries") {
            lists[slot] = strings(list).ok_or_else(|| {
                unsupported(&format!(
                    "`registries.{key}.registries` must be a list of strings"
                ))
            })?;
        }
    }
    let [search, insecure, block] = lists;
    let mut comments = comments.trim_start_matches('\n').to_owned();
    while comments.contains("\n\n\n") {
        comments = comments.replace("\n\n\n", "\n\n");
    }
    let mut comments_placed = comments.is_empty();
    if !search.is_empty() {
        doc.insert(
            "unqualified-search-registries",
            value(Array::from_iter(search)),
        );
        if let Some(mut key) = doc.key_mut("unqualified-search-registries") {
            key.leaf_decor_mut().set_prefix(comments.clone());
            comments_placed = true;
        }
    }
    let mut locations: Vec<&String> = insecure.iter().chain(block.iter()).collect();
    locations.dedup();
    let mut seen = Vec::new();
    let mut tables = ArrayOfTables::new();
    for location in locations {
        if seen.contains(&location) {
            continue;
        }
        seen.push(location);
        let mut table = Table::new();
        table.insert("location", value(location.as_str()));
        if insecure.contains(location) {
            table.insert("insecure", value(true));
        }
        if block.contains(location) {
            table.insert("blocked", value(true));
        }
        if !comments_placed {
            table.decor_mut().set_prefix(comments.clone());
            comments_placed = true;
        }
        tables.push(table);
    }
    if !tables.is_empty() {
        doc.insert("registry", Item::ArrayOfTables(tables));
    }
    if !comments_placed {
        let trailing = doc.trailing().as_str().unwrap_or("").to_owned();
        doc.set_trailing(format!("{comments}{trailing}"));
    }
    Ok(())
}

/// Put each mirror first for its prefix. An existing `[[registry]]` whose
/// `prefix` (or, without one, `location`) is the mirror's prefix gets the
/// mirror at the front of its `mirror` list; a prefix without an entry gets
/// a new one appended. Each prefix is handled once.
pub fn add_mirrors(doc: &mut DocumentMut, mirrors: &[Mirror], file: &str) -> Result<(), Error> {
    let unsupported = |message: String| Error::Unsupported {
        file: file.to_owned(),
        message,
    };
    if doc.as_table().contains_key("registry") && !doc.contains_array_of_tables("registry") {
        return Err(unsupported(
            "`registry` must be `[[registry]]` tables".into(),
        ));
    }
    let entries = doc
        .entry("registry")
        .or_insert_with(|| Item::ArrayOfTables(ArrayOfTables::new()))
        .as_array_of_tables_mut()
        .ok_or_else(|| unsupported("`registry` must be `[[registry]]` tables".into()))?;
    for mirror in mirrors {
        let index = entries.iter().position(|table| {
            let prefix = table
                .get("prefix")
                .or_else(|| table.get("location"))
                .and_then(Item::as_str);
            prefix == Some(mirror.prefix.as_str())
        });
        match index {
            Some(index) => {
                let table = entries.get_mut(index).expect("index from position");
                put_mirror_first(table, &mirror.location).map_err(|message| {
                    unsupported(format!("[[registry]] `{}`: {message}", mirror.prefix))
                })?;
            }
            None => {
                let mut table = Table::new();
                table.insert("prefix", value(mirror.prefix.as_str()));
                table.insert("location", value(mirror.prefix.as_str()));
                let mut list = Array::new();
                list.push(mirror_entry(&mirror.location));
                table.insert("mirror", value(list));
                entries.push(table);
            }
        }
    }
    if entries.is_empty() {
        doc.remove("registry");
    }
    Ok(())
}

fn mirror_entry(location: &str) -> InlineTable {
    let mut entry = InlineTable::new();
    entry.insert("location", location.into());
    entry
}

fn location_of(value: &Value) -> Option<&str> {
    value.as_inline_table()?.get("location")?.as_str()
}

fn put_mirror_first(table: &mut Table, location: &str) -> Result<(), String> {
    match table.get_mut("mirror") {
        None => {
            let mut list = Array::new();
            list.push(mirror_entry(location));
            table.insert("mirror", value(list));
        }
        Some(Item::Value(Value::Array(list))) => {
            if !list.iter().all(|v| v.is_inline_table()) {
                return Err("`mirror` must be a list of tables".into());
            }
            put_first(list, Value::InlineTable(mirror_entry(location)), |v| {
                location_of(v) == Some(location)
            });
        }
        Some(Item::ArrayOfTables(list)) => {
            let is_ours = |t: &Table| t.get("location").and_then(Item::as_str) == Some(location);
            let first_is_ours = list.get(0).is_some_and(is_ours);
            let stale: Vec<usize> = (usize::from(first_is_ours)..list.len())
                .filter(|i| list.get(*i).is_some_and(is_ours))
                .collect();
            for index in stale.iter().rev() {
                list.remove(*index);
            }
            if !first_is_ours {
                let mut entry = Table::new();
                entry.insert("location", value(location));
                // Rendered right after its `[[registry]]` header, before the
                // other mirrors.
                entry.set_position(list.get(0).and_then(Table::position));
                list.insert(0, entry);
            }
        }
        Some(_) => return Err("`mirror` must be a list of tables".into()),
    }
    Ok(())
}

/// Set `unqualified-search-registries` to exactly `registries` (short names
/// then resolve deterministically, without a prompt).
pub fn set_unqualified(
    doc: &mut DocumentMut,
    registries: &[String],
    file: &str,
) -> Result<(), Error> {
    let key = "unqualified-search-registries";
    match doc.get(key) {
        Some(item) => match strings(item) {
            Some(existing) if existing == registries => Ok(()),
            Some(_) => {
                let old_decor = item.as_value().map(|v| v.decor().clone());
                let mut new = Value::Array(Array::from_iter(registries.iter().map(String::as_str)));
                if let Some(decor) = old_decor {
                    *new.decor_mut() = decor;
                }
                // Assign in place: `insert` would reset the key's layout.
                if let Some(slot) = doc.get_mut(key) {
                    *slot = Item::Value(new);
                }
                Ok(())
            }
            None => Err(Error::Unsupported {
                file: file.to_owned(),
                message: format!("`{key}` must be a list of strings"),
            }),
        },
        None => {
            doc.insert(
                key,
                value(Array::from_iter(registries.iter().map(String::as_str))),
            );
            Ok(())
        }
    }
}

/// Apply everything to the text of the file (`None`: it does not exist).
/// Returns the new text, which equals `text` byte for byte when nothing
/// needed to change.
pub fn edit(
    file: &str,
    text: Option<&str>,
    mirrors: &[Mirror],
    unqualified: &[String],
) -> Result<String, Error> {
    let original = text.unwrap_or("");
    let mut doc = super::toml::parse(file, original)?;
    if is_v1(&doc) {
        convert_v1(&mut doc, file)?;
    }
    super::toml::comments_first(&mut doc);
    add_mirrors(&mut doc, mirrors, file)?;
    if !unqualified.is_empty() {
        set_unqualified(&mut doc, unqualified, file)?;
    }
    // Unchanged parts render byte for byte as they were read.
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_locations() {
        assert_eq!(
            Mirror::examples(),
            [
                Mirror {
                    prefix: "docker.io".into(),
                    location: "zuul-jobs.buildset-registry:5000".into(),
                },
                Mirror {
                    prefix: "quay.io".into(),
                    location: "zuul-jobs.buildset-registry:5000/quay.io".into(),
                },
            ]
        );
    }

    fn run(text: Option<&str>) -> String {
        let out = edit("r.conf", text, &Mirror::examples(), &["docker.io".into()]).unwrap();
        let again = edit(
            "r.conf",
            Some(&out),
            &Mirror::examples(),
            &["docker.io".into()],
        )
        .unwrap();
        assert_eq!(out, again, "second run changed the file");
        out
    }

    #[test]
    fn empty_file_gets_entries() {
        let out = run(None);
        assert_eq!(
            out,
            "unqualified-search-registries = [\"docker.io\"]\n\n\
             [[registry]]\nprefix = \"docker.io\"\nlocation = \"docker.io\"\nmirror = [{ location = \"zuul-jobs.buildset-registry:5000\" }]\n\n\
             [[registry]]\nprefix = \"quay.io\"\nlocation = \"quay.io\"\nmirror = [{ location = \"zuul-jobs.buildset-registry:5000/quay.io\" }]\n"
        );
    }

    #[test]
    fn existing_inline_and_table_mirrors() {
        let text = "# site\n[[registry]]\nlocation = \"docker.io\"\nmirror = [{ location = \"mirror.gcr.io\" }]\n\n[[registry]]\nprefix = \"quay.io\"\nlocation = \"quay.io\"\n\n[[registry.mirror]]\nlocation = \"quay-mirror.site\"\n\n[[registry]]\nprefix = \"example.org\"\nlocation = \"example.org\"\n";
        let out = run(Some(text));
        assert!(out.contains("mirror = [{ location = \"zuul-jobs.buildset-registry:5000\" }, { location = \"mirror.gcr.io\" }]"), "{out}");
        let ours = out
            .find("zuul-jobs.buildset-registry:5000/quay.io")
            .unwrap();
        let site = out.find("quay-mirror.site").unwrap();
        let quay = out.find("prefix = \"quay.io\"").unwrap();
        assert!(quay < ours && ours < site, "{out}");
        assert!(
            out.starts_with("unqualified-search-registries = [\"docker.io\"]\n# site\n"),
            "{out}"
        );
        assert_eq!(out.matches("[[registry]]").count(), 3, "{out}");
    }

    #[test]
    fn v1_is_converted() {
        let text = "# v1 file\n[registries.search]\nregistries = ['docker.io', 'quay.io']\n\n[registries.insecure]\nregistries = ['insecure.local:5000']\n\n[registries.block]\nregistries = ['bad.io']\n";
        let out = run(Some(text));
        assert!(out.contains("# v1 file"), "{out}");
        assert!(!out.contains("[registries"), "{out}");
        assert!(
            out.contains("location = \"insecure.local:5000\"\ninsecure = true"),
            "{out}"
        );
        assert!(
            out.contains("location = \"bad.io\"\nblocked = true"),
            "{out}"
        );
        assert!(
            out.contains("unqualified-search-registries = [\"docker.io\"]"),
            "{out}"
        );
    }

    #[test]
    fn mixed_formats_and_bad_types_are_refused() {
        for text in [
            "unqualified-search-registries = ['a']\n[registries.search]\nregistries = ['b']\n",
            "registry = 1\n",
            "[[registry]]\nlocation = \"docker.io\"\nmirror = 3\n",
            "unqualified-search-registries = 'docker.io'\n",
        ] {
            let err = edit(
                "r.conf",
                Some(text),
                &Mirror::examples(),
                &["docker.io".into()],
            )
            .unwrap_err();
            assert!(err.to_string().starts_with("`r.conf`"), "{text}: {err}");
        }
        let err = edit("r.conf", Some("[[registry]\n"), &Mirror::examples(), &[]).unwrap_err();
        assert!(err.to_string().contains("at line 1"), "{err}");
    }
}
