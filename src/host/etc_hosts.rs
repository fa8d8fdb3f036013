//! `/etc/hosts`: make a name resolve to the buildset registry's IP. The
//! alias line is `<ip>\t<alias>`, as the roles write it; the same alias
//! mapped to another address (a buildset registry of an earlier run) is
//! removed, since the first match wins. Every other line, comments
//! included, is kept byte for byte. Pure: no file I/O.

/// The new text of `/etc/hosts` (`None`: it does not exist) with `alias`
/// resolving to `ip`; equal to the input when it already does.
pub fn add_alias(text: Option<&str>, ip: &str, alias: &str) -> String {
    let original = text.unwrap_or("");
    let mut out = String::with_capacity(original.len() + 64);
    let mut present = false;
    for line in original.split_inclusive('\n') {
        let content = line.split('#').next().unwrap_or("");
        let mut fields = content.split_whitespace();
        let Some(address) = fields.next() else {
            out.push_str(line);
            continue;
        };
        let names: Vec<&str> = fields.collect();
        if !names.contains(&alias) {
            out.push_str(line);
            continue;
        }
        if same_address(address, ip) && !present {
            present = true;
            out.push_str(line);
            continue;
        }
        // A stale or duplicate mapping of the alias: drop the alias from it.
        let rest: Vec<&str> = names.into_iter().filter(|name| *name != alias).collect();
        if !rest.is_empty() {
            out.push_str(&format!("{address}\t{}\n", rest.join(" ")));
        }
    }
    if !present {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!("{ip}\t{alias}\n"));
    }
    out
}

fn same_address(a: &str, b: &str) -> bool {
    match (a.parse::<std::net::IpAddr>(), b.parse::<std::net::IpAddr>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALIAS: &str = "zuul-jobs.buildset-registry";

    #[test]
    fn adds_once() {
        let text = "127.0.0.1\tlocalhost\n# comment\n";
        let once = add_alias(Some(text), "10.0.0.5", ALIAS);
        assert_eq!(once, format!("{text}10.0.0.5\t{ALIAS}\n"));
        assert_eq!(add_alias(Some(&once), "10.0.0.5", ALIAS), once);
        assert_eq!(
            add_alias(None, "fd00::5", ALIAS),
            format!("fd00::5\t{ALIAS}\n")
        );
        assert_eq!(
            add_alias(Some("127.0.0.1 localhost"), "10.0.0.5", ALIAS),
            format!("127.0.0.1 localhost\n10.0.0.5\t{ALIAS}\n")
        );
    }

    #[test]
    fn existing_equivalent_lines_count() {
        let text = format!("10.0.0.5   other {ALIAS}  # site\n");
        assert_eq!(add_alias(Some(&text), "10.0.0.5", ALIAS), text);
        let text = format!("fd00:0::5 {ALIAS}\n");
        assert_eq!(add_alias(Some(&text), "fd00::5", ALIAS), text);
    }

    #[test]
    fn stale_mappings_are_removed() {
        let text = format!("127.0.0.1 localhost\n10.0.0.9\t{ALIAS}\n10.0.0.8 keep {ALIAS}\n");
        assert_eq!(
            add_alias(Some(&text), "10.0.0.5", ALIAS),
            format!("127.0.0.1 localhost\n10.0.0.8\tkeep\n10.0.0.5\t{ALIAS}\n")
        );
    }
}
