//! What `ensure-docker` decides, without acting: which Docker Hub mirror the
//! role's variables name (`docker_mirror`, `mirror_info`,
//! `zuul_site_mirror_info`, `mirror_fqdn`, dereferenced properly rather than
//! upstream's literal string), and the `daemon.json` merge (mirror, insecure
//! registries, `userland-proxy`, `mtu: 1400` on small-MTU clouds) with the
//! keys it changed, which tell a reload from a restart ([`daemon_action`]).

use super::{Error, daemon_json};
use serde_json::Value;

/// The mirror-related variables as the role reads them.
#[derive(Debug, Default, Clone)]
pub struct MirrorVars {
    pub docker_mirror: Option<String>,
    pub mirror_info: Option<Value>,
    pub zuul_site_mirror_info: Option<Value>,
    pub mirror_fqdn: Option<String>,
    pub zuul_site_mirror_fqdn: Option<String>,
}

fn dockerhub(info: &Value, name: &str) -> Result<Option<String>, Error> {
    let Some(hub) = info.get("dockerhub") else {
        return Ok(None);
    };
    match hub {
        Value::String(url) => Ok(Some(url.clone())),
        Value::Object(map) => match map.get("url") {
            Some(Value::String(url)) => Ok(Some(url.clone())),
            _ => Err(Error::Input(format!(
                "`{name}.dockerhub.url` must be the mirror's URL"
            ))),
        },
        Value::Null => Ok(None),
        _ => Err(Error::Input(format!(
            "`{name}.dockerhub` must be a mapping with `url`"
        ))),
    }
}

/// The Docker Hub mirror to configure, by the role's rules (first that
/// applies): `docker_mirror`; `mirror_info.dockerhub.url`;
/// `zuul_site_mirror_info.dockerhub.url`; and only when neither
/// `mirror_info` variable is defined, `http://<mirror_fqdn>:8082`.
pub fn resolve_mirror(vars: &MirrorVars) -> Result<Option<String>, Error> {
    if let Some(mirror) = vars.docker_mirror.as_ref().filter(|m| !m.is_empty()) {
        return Ok(Some(mirror.clone()));
    }
    if let Some(info) = &vars.mirror_info {
        if let Some(url) = dockerhub(info, "mirror_info")? {
            return Ok(Some(url));
        }
    }
    if let Some(info) = &vars.zuul_site_mirror_info {
        if let Some(url) = dockerhub(info, "zuul_site_mirror_info")? {
            return Ok(Some(url));
        }
    }
    if vars.mirror_info.is_none() && vars.zuul_site_mirror_info.is_none() {
        let fqdn = vars
            .mirror_fqdn
            .as_ref()
            .or(vars.zuul_site_mirror_fqdn.as_ref())
            .filter(|f| !f.is_empty());
        if let Some(fqdn) = fqdn {
            return Ok(Some(format!("http://{fqdn}:8082")));
        }
    }
    Ok(None)
}

/// The daemon.json settings ensure-docker manages.
#[derive(Debug, Default, Clone)]
pub struct DaemonSettings {
    pub mirror: Option<String>,
    pub insecure_registries: Vec<String>,
    pub userland_proxy: Option<bool>,
    /// The default route's MTU, when known.
    pub mtu: Option<u32>,
}

/// The new text of daemon.json (byte-identical when nothing changes) and
/// the keys whose values changed.
pub fn edit_daemon_json(
    file: &str,
    text: Option<&str>,
    settings: &DaemonSettings,
) -> Result<(String, Vec<String>), Error> {
    let mut doc = daemon_json::parse(file, text.unwrap_or(""))?;
    let before = doc.clone();
    if let Some(mirror) = &settings.mirror {
        daemon_json::add_mirror(&mut doc, mirror, file)?;
    }
    daemon_json::add_insecure(&mut doc, &settings.insecure_registries, file)?;
    if let Some(proxy) = settings.userland_proxy {
        doc.insert("userland-proxy".into(), Value::Bool(proxy));
    }
    if settings.mtu.is_some_and(|mtu| mtu < 1500) {
        doc.insert("mtu".into(), Value::from(1400));
    }
    let changed = daemon_json::changed_keys(&before, &doc);
    match text {
        Some(text) if changed.is_empty() => Ok((text.to_owned(), changed)),
        _ => Ok((daemon_json::render(&doc), changed)),
    }
}

/// What `ensure-docker` does to the daemon once `daemon.json` is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaemonAction {
    /// Not running: start it (it reads the file then).
    Start,
    /// A changed key that only a restart applies, or systemd's
    /// `docker.socket` is down (the role's restart trigger).
    Restart,
    /// Only reloadable keys changed: running containers keep running.
    Reload,
    Nothing,
}

/// Decide from whether the daemon answers, the `daemon.json` keys that
/// changed, and whether systemd's `docker.socket` unit exists but is down.
pub fn daemon_action(running: bool, changed: &[String], socket_down: bool) -> DaemonAction {
    if !running {
        DaemonAction::Start
    } else if daemon_json::needs_restart(changed) || socket_down {
        DaemonAction::Restart
    } else if !changed.is_empty() {
        DaemonAction::Reload
    } else {
        DaemonAction::Nothing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mirror_rules() {
        let hub = json!({"dockerhub": {"url": "https://hub.mirror/"}});
        for (vars, want) in [
            (MirrorVars::default(), None),
            (
                MirrorVars {
                    docker_mirror: Some("http://m".into()),
                    mirror_info: Some(hub.clone()),
                    ..Default::default()
                },
                Some("http://m"),
            ),
            (
                MirrorVars {
                    mirror_info: Some(hub.clone()),
                    mirror_fqdn: Some("f".into()),
                    ..Default::default()
                },
                Some("https://hub.mirror/"),
            ),
            (
                MirrorVars {
                    mirror_info: Some(json!({"pypi": {}})),
                    zuul_site_mirror_info: Some(hub.clone()),
                    ..Default::default()
                },
                Some("https://hub.mirror/"),
            ),
            (
                MirrorVars {
                    zuul_site_mirror_fqdn: Some("mirror.dfw.site".into()),
                    ..Default::default()
                },
                Some("http://mirror.dfw.site:8082"),
            ),
            (
                MirrorVars {
                    mirror_info: Some(json!({})),
                    mirror_fqdn: Some("f".into()),
                    ..Default::default()
                },
                None,
            ),
        ] {
            assert_eq!(resolve_mirror(&vars).unwrap().as_deref(), want, "{vars:?}");
        }
        let bad = MirrorVars {
            mirror_info: Some(json!({"dockerhub": {"host": "x"}})),
            ..Default::default()
        };
        assert!(resolve_mirror(&bad).is_err());
    }

    #[test]
    fn daemon_json_merge() {
        let settings = DaemonSettings {
            mirror: Some("http://m:8082".into()),
            insecure_registries: vec!["m:8082".into()],
            userland_proxy: Some(false),
            mtu: Some(1450),
        };
        let text = "{\"log-driver\": \"journald\", \"registry-mirrors\": [\"https://b/\"]}";
        let (out, changed) = edit_daemon_json("d", Some(text), &settings).unwrap();
        let value: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            value,
            json!({"log-driver": "journald", "registry-mirrors": ["https://b/", "http://m:8082"],
                   "insecure-registries": ["m:8082"], "userland-proxy": false, "mtu": 1400})
        );
        assert_eq!(
            changed,
            [
                "registry-mirrors",
                "insecure-registries",
                "userland-proxy",
                "mtu"
            ]
        );
        assert!(daemon_json::needs_restart(&changed));
        let (again, changed) = edit_daemon_json("d", Some(&out), &settings).unwrap();
        assert_eq!((again, changed.len()), (out, 0));
        let big = DaemonSettings {
            mtu: Some(1500),
            ..Default::default()
        };
        assert_eq!(
            edit_daemon_json("d", Some("{ }"), &big).unwrap(),
            ("{ }".into(), vec![])
        );
    }

    #[test]
    fn restart_only_for_what_a_reload_cannot_apply() {
        let keys = |keys: &[&str]| keys.iter().map(|k| k.to_string()).collect::<Vec<_>>();
        let cases = [
            (false, keys(&[]), false, DaemonAction::Start),
            (false, keys(&["mtu"]), true, DaemonAction::Start),
            (true, keys(&[]), false, DaemonAction::Nothing),
            (
                true,
                keys(&["registry-mirrors"]),
                false,
                DaemonAction::Reload,
            ),
            (
                true,
                keys(&["insecure-registries"]),
                false,
                DaemonAction::Reload,
            ),
            (true, keys(&["mtu"]), false, DaemonAction::Restart),
            (
                true,
                keys(&["registry-mirrors", "userland-proxy"]),
                false,
                DaemonAction::Restart,
            ),
            (true, keys(&[]), true, DaemonAction::Restart),
        ];
        for (running, changed, socket_down, want) in cases {
            assert_eq!(
                daemon_action(running, &changed, socket_down),
                want,
                "{running} {changed:?} {socket_down}"
            );
        }
    }
}
