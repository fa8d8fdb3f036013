//! What `ensure-docker` decides, without acting: the `daemon.json` merge
//! (mirror, insecure registries, `userland-proxy`, `mtu: 1400` on small-MTU
//! clouds) with the keys it changed, which tell a reload from a restart
//! ([`daemon_action`]). Which mirror the role's variables name is decided
//! with the other inputs, in `zuul::inputs::ensure_docker`.

use super::{Error, daemon_json};
use crate::zuul::inputs::ensure_docker::DaemonSettings;
use serde_json::Value;

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
