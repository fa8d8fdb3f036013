//! Small helpers shared by the TOML editors: parsing with errors that name
//! the file and line, and inserting at the front of an array while keeping
//! its layout (one-line or one-item-per-line). No file I/O here.

use super::Error;
use toml_edit::{Array, DocumentMut, Item, Table, Value};

/// Parse `text` (the contents of `file`) keeping comments and layout.
pub fn parse(file: &str, text: &str) -> Result<DocumentMut, Error> {
    text.parse::<DocumentMut>().map_err(|err| {
        let message = err.message().trim().to_owned();
        Error::parse_at(file, text, err.span().map(|span| span.start), message)
    })
}

/// In a document that holds only comments (a distribution's commented
/// template), keep those comments at the top once entries are added
/// instead of letting them trail after the new entries.
pub fn comments_first(doc: &mut DocumentMut) {
    if !doc.as_table().is_empty() {
        return;
    }
    let trailing = doc.trailing().as_str().unwrap_or("").to_owned();
    if trailing.trim().is_empty() {
        return;
    }
    let mut prefix = trailing;
    if !prefix.ends_with('\n') {
        prefix.push('\n');
    }
    if !prefix.ends_with("\n\n") {
        prefix.push('\n');
    }
    doc.decor_mut().set_prefix(prefix);
    doc.set_trailing("");
}

/// The largest table position in the document, so a new table can be
/// placed after every existing one.
pub fn last_position(table: &Table) -> isize {
    let mut last = table.position().unwrap_or(0);
    for (_, item) in table.iter() {
        match item {
            Item::Table(child) => last = last.max(last_position(child)),
            Item::ArrayOfTables(list) => {
                for child in list.iter() {
                    last = last.max(last_position(child));
                }
            }
            _ => {}
        }
    }
    last
}

/// Put `value` first in `array`; any other copy of it (compared by
/// `same`) is removed. Returns whether the array changed.
pub fn put_first(array: &mut Array, value: Value, same: impl Fn(&Value) -> bool) -> bool {
    if array.get(0).is_some_and(&same) {
        let duplicates: Vec<usize> = (1..array.len())
            .filter(|i| array.get(*i).is_some_and(&same))
            .collect();
        for index in duplicates.iter().rev() {
            array.remove(*index);
        }
        return !duplicates.is_empty();
    }
    let stale: Vec<usize> = (0..array.len())
        .filter(|i| array.get(*i).is_some_and(&same))
        .collect();
    for index in stale.iter().rev() {
        array.remove(*index);
    }
    let mut value = value;
    match array.get_mut(0) {
        Some(first) => {
            // The new item takes the old first item's leading whitespace
            // (a newline and indent in a multi-line array); the old first
            // item gets a space when it had none.
            let prefix = first
                .decor()
                .prefix()
                .and_then(|raw| raw.as_str())
                .unwrap_or("")
                .to_owned();
            value.decor_mut().set_prefix(prefix.clone());
            if prefix.is_empty() {
                first.decor_mut().set_prefix(" ");
            }
        }
        None => value.decor_mut().set_prefix(""),
    }
    array.insert_formatted(0, value);
    true
}

/// The string values of an array item, or `None` when it is not an array
/// of strings.
pub fn strings(item: &Item) -> Option<Vec<String>> {
    item.as_array()?
        .iter()
        .map(|value| value.as_str().map(str::to_owned))
        .collect()
}

/// The table at `key` inside `parent`, created implicit (no header of its
/// own) when missing. Fails when `key` holds something else.
pub fn table_mut<'a>(
    parent: &'a mut Table,
    key: &str,
    file: &str,
    what: &str,
) -> Result<&'a mut Table, Error> {
    let item = parent.entry(key).or_insert_with(|| {
        let mut table = Table::new();
        table.set_implicit(true);
        Item::Table(table)
    });
    if let Item::Value(Value::InlineTable(_)) = item {
        let inline = std::mem::take(item);
        if let Item::Value(Value::InlineTable(inline)) = inline {
            *item = Item::Table(inline.into_table());
        }
    }
    item.as_table_mut().ok_or_else(|| Error::Unsupported {
        file: file.to_owned(),
        message: format!("`{what}` must be a table"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_of(text: &str, new: &str) -> String {
        let mut doc = parse("t.toml", text).unwrap();
        let array = doc["a"].as_array_mut().unwrap();
        put_first(array, Value::from(new), |v| v.as_str() == Some(new));
        doc.to_string()
    }

    #[test]
    fn put_first_keeps_layout() {
        assert_eq!(first_of("a = []\n", "m"), "a = [\"m\"]\n");
        assert_eq!(first_of("a = [\"x\"]\n", "m"), "a = [\"m\", \"x\"]\n");
        assert_eq!(
            first_of("a = [\n  \"x\",\n  \"y\",\n]\n", "m"),
            "a = [\n  \"m\",\n  \"x\",\n  \"y\",\n]\n"
        );
        assert_eq!(
            first_of("a = [\"x\", \"m\"]\n", "m"),
            "a = [\"m\", \"x\"]\n"
        );
        assert_eq!(
            first_of("a = [\"m\", \"x\"]\n", "m"),
            "a = [\"m\", \"x\"]\n"
        );
    }

    #[test]
    fn parse_errors_carry_the_line() {
        let err = parse("f.toml", "a = 1\nb = [\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("failed to parse `f.toml` at line"),
            "{err}"
        );
    }
}
