//! containerd's registry configuration: `certs.d/<namespace>/hosts.toml`
//! (the buildset registry as the first host, pull and resolve only, with
//! its CA; `override_path` and a `/v2/<ns>` path for prefixed namespaces,
//! the plain host for docker.io whose images are stored un-prefixed) and
//! `config_path` in `config.toml` so the CRI plugin reads that directory.
//! Hosts and keys the site configured are kept, after ours. Pure: no file
//! I/O.

use super::Error;
use super::toml::{comments_first, parse, table_mut};
use toml_edit::{Array, DocumentMut, Item, Table, Value, value};

/// Where containerd looks for `hosts.toml` directories.
pub const CERTS_DIR: &str = "/etc/containerd/certs.d";

/// The buildset registry as a containerd host for one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEntry {
    /// `https://zuul-jobs.buildset-registry:5000` or
    /// `https://zuul-jobs.buildset-registry:5000/v2/quay.io`.
    pub url: String,
    /// Whether `url` already holds the `/v2/...` path.
    pub override_path: bool,
    /// The CA file, as a path on the host.
    pub ca: String,
}

impl HostEntry {
    /// The entry for namespace `ns` of the registry at `alias_address`.
    pub fn new(ns: &str, alias_address: &str, ca: &str) -> HostEntry {
        if ns == crate::reference::DOCKER_HUB {
            HostEntry {
                url: format!("https://{alias_address}"),
                override_path: false,
                ca: ca.to_owned(),
            }
        } else {
            HostEntry {
                url: format!("https://{alias_address}/v2/{ns}"),
                override_path: true,
                ca: ca.to_owned(),
            }
        }
    }
}

fn same(item: Option<&Item>, want: &Value) -> bool {
    let Some(have) = item.and_then(Item::as_value) else {
        return false;
    };
    match (have, want) {
        (Value::String(a), Value::String(b)) => a.value() == b.value(),
        (Value::Boolean(a), Value::Boolean(b)) => a.value() == b.value(),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b.iter())
                    .all(|(x, y)| x.as_str().is_some() && x.as_str() == y.as_str())
        }
        _ => false,
    }
}

fn set(table: &mut Table, key: &str, want: Value) {
    if !same(table.get(key), &want) {
        let decor = table
            .get(key)
            .and_then(Item::as_value)
            .map(|v| v.decor().clone());
        let mut want = want;
        if let Some(decor) = decor {
            *want.decor_mut() = decor;
        }
        match table.get_mut(key) {
            // Assign in place: `insert` would reset the key's layout.
            Some(slot) => *slot = Item::Value(want),
            None => {
                table.insert(key, Item::Value(want));
            }
        }
    }
}

fn fill(table: &mut Table, entry: &HostEntry) {
    set(
        table,
        "capabilities",
        Value::Array(Array::from_iter(["pull", "resolve"])),
    );
    set(table, "ca", Value::from(entry.ca.as_str()));
    if entry.override_path {
        set(table, "override_path", Value::from(true));
    } else if table.get("override_path").and_then(Item::as_bool) == Some(true) {
        table.remove("override_path");
    }
}

/// Edit a namespace's `hosts.toml` text (`None`: it does not exist) so the
/// buildset registry is the first host; `server` is set to `upstream` only
/// when the site did not set it.
pub fn edit_hosts(
    file: &str,
    text: Option<&str>,
    upstream: &str,
    entry: &HostEntry,
) -> Result<String, Error> {
    let original = text.unwrap_or("");
    let mut doc = parse(file, original)?;
    comments_first(&mut doc);
    if !doc.contains_key("server") {
        doc.insert("server", value(upstream));
    }
    let hosts = table_mut(doc.as_table_mut(), "host", file, "host")?;
    let first_key = hosts.iter().next().map(|(key, _)| key.to_owned());
    if first_key.as_deref() == Some(entry.url.as_str()) {
        let table = hosts
            .get_mut(&entry.url)
            .and_then(Item::as_table_mut)
            .ok_or_else(|| Error::Unsupported {
                file: file.to_owned(),
                message: format!("`host.\"{}\"` must be a table", entry.url),
            })?;
        fill(table, entry);
    } else {
        let existing = hosts.remove(&entry.url);
        let mut table = match existing {
            Some(Item::Table(table)) => table,
            _ => Table::new(),
        };
        table.set_implicit(false);
        let first_position = hosts
            .iter()
            .filter_map(|(_, item)| item.as_table().and_then(Table::position))
            .min();
        table.set_position(first_position);
        fill(&mut table, entry);
        let rest: Vec<(toml_edit::Key, Item)> = hosts
            .iter()
            .map(|(key, _)| key.to_owned())
            .collect::<Vec<_>>()
            .into_iter()
            .filter_map(|key| hosts.remove_entry(&key))
            .collect();
        hosts.insert(&entry.url, Item::Table(table));
        for (key, item) in rest {
            hosts.insert_formatted(&key, item);
        }
    }
    // Unchanged parts render byte for byte as they were read.
    Ok(doc.to_string())
}

/// What [`set_config_path`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigPath {
    /// `config_path` already lists the directory.
    Present,
    /// The document was changed to list it.
    Added,
    /// The CRI plugin is configured with the legacy `registry.mirrors` or
    /// `registry.configs`, which containerd refuses together with
    /// `config_path`; left alone.
    Legacy,
}

/// The CRI plugin that owns `registry.config_path` for a config version.
fn cri_plugin(version: i64) -> Option<&'static str> {
    match version {
        1 => Some("cri"),
        2 => Some("io.containerd.grpc.v1.cri"),
        3 => Some("io.containerd.cri.v1.images"),
        _ => None,
    }
}

/// Make the CRI plugin read `dir` for `hosts.toml` files.
pub fn set_config_path(doc: &mut DocumentMut, dir: &str, file: &str) -> Result<ConfigPath, Error> {
    let version = match doc.get("version") {
        None => 1,
        Some(item) => item.as_integer().ok_or_else(|| Error::Unsupported {
            file: file.to_owned(),
            message: "`version` must be an integer".into(),
        })?,
    };
    let plugin = cri_plugin(version).ok_or_else(|| Error::Unsupported {
        file: file.to_owned(),
        message: format!("unknown config `version = {version}`"),
    })?;
    let end = super::toml::last_position(doc.as_table()) + 1;
    let plugins = table_mut(doc.as_table_mut(), "plugins", file, "plugins")?;
    let cri = table_mut(plugins, plugin, file, &format!("plugins.\"{plugin}\""))?;
    let registry = table_mut(
        cri,
        "registry",
        file,
        &format!("plugins.\"{plugin}\".registry"),
    )?;
    if ["mirrors", "configs"].iter().any(|key| {
        registry
            .get(key)
            .is_some_and(|item| item.as_table_like().is_some_and(|t| !t.is_empty()))
    }) {
        return Ok(ConfigPath::Legacy);
    }
    let current = registry
        .get("config_path")
        .map(|item| {
            item.as_str()
                .map(str::to_owned)
                .ok_or_else(|| Error::Unsupported {
                    file: file.to_owned(),
                    message: "`config_path` must be a string".into(),
                })
        })
        .transpose()?
        .unwrap_or_default();
    if current
        .split(':')
        .any(|path| path.trim_end_matches('/') == dir)
    {
        return Ok(ConfigPath::Present);
    }
    let new = if current.is_empty() {
        dir.to_owned()
    } else {
        format!("{current}:{dir}")
    };
    if registry.is_implicit() || registry.position().is_none() {
        // A new table goes after everything the site wrote.
        registry.set_position(Some(end));
    }
    registry.set_implicit(false);
    set(registry, "config_path", Value::from(new));
    Ok(ConfigPath::Added)
}

/// Apply [`set_config_path`] to the text of `config.toml` (`None`: it does
/// not exist, and a version 2 file is started).
pub fn edit_config(
    file: &str,
    text: Option<&str>,
    dir: &str,
) -> Result<(String, ConfigPath), Error> {
    let original = text.unwrap_or("");
    let mut doc = parse(file, original)?;
    if text.is_none() || original.trim().is_empty() {
        doc.insert("version", value(2));
    }
    let outcome = set_config_path(&mut doc, dir, file)?;
    Ok((doc.to_string(), outcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALIAS: &str = "zuul-jobs.buildset-registry:5000";
    const CA: &str = "/etc/containerd/certs.d/zuul-jobs.buildset-registry:5000/ca.crt";

    #[test]
    fn quay_gets_a_prefixed_override_path() {
        let entry = HostEntry::new("quay.io", ALIAS, CA);
        let out = edit_hosts("h", None, "https://quay.io", &entry).unwrap();
        assert_eq!(
            out,
            format!(
                "server = \"https://quay.io\"\n\n[host.\"https://{ALIAS}/v2/quay.io\"]\ncapabilities = [\"pull\", \"resolve\"]\nca = \"{CA}\"\noverride_path = true\n"
            )
        );
        assert_eq!(
            edit_hosts("h", Some(&out), "https://quay.io", &entry).unwrap(),
            out
        );
    }

    #[test]
    fn docker_hub_is_unprefixed_and_site_hosts_follow() {
        let entry = HostEntry::new("docker.io", ALIAS, CA);
        let text = "# site\nserver = \"https://registry-1.docker.io\"\n\n[host.\"https://cache.site\"]\n  capabilities = [\"pull\"]\n";
        let out = edit_hosts("h", Some(text), "https://registry-1.docker.io", &entry).unwrap();
        let ours = out.find(&format!("[host.\"https://{ALIAS}\"]")).unwrap();
        let site = out.find("[host.\"https://cache.site\"]").unwrap();
        assert!(ours < site, "{out}");
        assert!(!out.contains("override_path"), "{out}");
        assert!(out.starts_with("# site\nserver"), "{out}");
        assert_eq!(
            edit_hosts("h", Some(&out), "https://registry-1.docker.io", &entry).unwrap(),
            out
        );
    }

    #[test]
    fn config_path_per_version() {
        let (out, outcome) = edit_config("c", None, CERTS_DIR).unwrap();
        assert_eq!(outcome, ConfigPath::Added);
        assert_eq!(
            out,
            "version = 2\n\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\nconfig_path = \"/etc/containerd/certs.d\"\n"
        );
        assert_eq!(
            edit_config("c", Some(&out), CERTS_DIR).unwrap(),
            (out.clone(), ConfigPath::Present)
        );
        let (v3, _) = edit_config("c", Some("version = 3\n"), CERTS_DIR).unwrap();
        assert!(
            v3.contains("[plugins.\"io.containerd.cri.v1.images\".registry]"),
            "{v3}"
        );
        let legacy = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors.\"docker.io\"]\nendpoint = [\"https://m\"]\n";
        assert_eq!(
            edit_config("c", Some(legacy), CERTS_DIR).unwrap(),
            (legacy.to_owned(), ConfigPath::Legacy)
        );
        let (other, _) = edit_config(
            "c",
            Some("version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\nconfig_path = \"/site/certs.d\"\n"),
            CERTS_DIR,
        )
        .unwrap();
        assert!(
            other.contains("config_path = \"/site/certs.d:/etc/containerd/certs.d\""),
            "{other}"
        );
    }
}
