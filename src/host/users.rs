//! Users and groups as `/etc/passwd` and `/etc/group` describe them: who a
//! user is (uid, gid, home) and whether they are in a group. Read under the
//! host root so tests use fixture files; changes to groups go through the
//! system tools in `packages`-like edges, never by editing these files.

use super::Error;

/// One line of `/etc/passwd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

fn parse_user(line: &str) -> Option<User> {
    let fields: Vec<&str> = line.split(':').collect();
    if fields.len() < 7 || line.starts_with('#') {
        return None;
    }
    Some(User {
        name: fields[0].to_owned(),
        uid: fields[2].parse().ok()?,
        gid: fields[3].parse().ok()?,
        home: fields[5].to_owned(),
    })
}

/// The user named `name` in the text of `/etc/passwd`.
pub fn by_name(passwd: &str, name: &str) -> Option<User> {
    passwd
        .lines()
        .filter_map(parse_user)
        .find(|user| user.name == name)
}

/// The first user with `uid` in the text of `/etc/passwd`.
pub fn by_uid(passwd: &str, uid: u32) -> Option<User> {
    passwd
        .lines()
        .filter_map(parse_user)
        .find(|user| user.uid == uid)
}

/// A group of `/etc/group`: its gid and members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// The group named `name` in the text of `/etc/group`.
pub fn group(text: &str, name: &str) -> Option<Group> {
    text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() < 4 || fields[0] != name {
            return None;
        }
        Some(Group {
            name: fields[0].to_owned(),
            gid: fields[2].parse().ok()?,
            members: fields[3]
                .split(',')
                .filter(|m| !m.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    })
}

/// Look a user up by name or uid, failing with an input error that names
/// the file.
pub fn lookup(passwd: &str, file: &str, name: Option<&str>, uid: u32) -> Result<User, Error> {
    match name {
        Some(name) => by_name(passwd, name).ok_or_else(|| Error::UnknownUser {
            user: name.to_owned(),
            file: file.to_owned(),
        }),
        None => by_uid(passwd, uid).ok_or_else(|| Error::UnknownUser {
            user: format!("uid {uid}"),
            file: file.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str =
        "root:x:0:0:root:/root:/bin/bash\n# c\nzuul:x:1000:1000:Zuul:/home/zuul:/bin/bash\n";

    #[test]
    fn users_by_name_and_uid() {
        assert_eq!(by_name(PASSWD, "zuul").unwrap().home, "/home/zuul");
        assert_eq!(by_uid(PASSWD, 0).unwrap().name, "root");
        assert!(lookup(PASSWD, "/etc/passwd", Some("nobody"), 0).is_err());
        assert_eq!(lookup(PASSWD, "p", None, 1000).unwrap().gid, 1000);
    }

    #[test]
    fn groups() {
        let text = "docker:x:998:zuul,other\nempty:x:5:\n";
        assert_eq!(group(text, "docker").unwrap().members, ["zuul", "other"]);
        assert!(group(text, "empty").unwrap().members.is_empty());
        assert!(group(text, "none").is_none());
    }
}
