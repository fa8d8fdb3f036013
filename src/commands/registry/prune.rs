//! `registry prune`: remove untagged, unreferenced manifests, blobs and
//! abandoned uploads older than an age from a registry's storage, and say
//! what went (or would go, with `--dry-run`). The storage is `--storage DIR`
//! or the `storage/` of the buildset registry root `--root DIR`; anything
//! that is not a registry's storage is refused before anything is touched.

use crate::commands::Error;
use crate::commands::context::Context;
use crate::server::prune;
use crate::server::storage::Storage;
use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("storage_dir").required(true))]
pub struct PruneArgs {
    /// A registry's storage directory (what `registry serve --storage`
    /// serves: `blobs/`, `repositories/`, `uploads/`).
    #[arg(long, value_name = "DIR", group = "storage_dir", value_parser = crate::cli::dir_arg)]
    pub storage: Option<PathBuf>,
    /// A buildset registry's root (`buildset_registry_root`); prunes its
    /// `storage/`.
    #[arg(long, value_name = "DIR", group = "storage_dir", value_parser = crate::cli::dir_arg)]
    pub root: Option<PathBuf>,
    /// Only remove what is older than this (e.g. `1h`, `7days`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub older_than: Duration,
    /// Say what would be removed without removing it.
    #[arg(long)]
    pub dry_run: bool,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|err| format!("`{text}`: {err}"))
}

/// Whether `dir` holds a registry's storage: the directories
/// [`Storage::open`] makes. Prune must not make them anywhere else.
fn is_storage(dir: &Path) -> bool {
    ["blobs", "repositories", "uploads"]
        .iter()
        .all(|sub| dir.join(sub).is_dir())
}

/// The storage directory the flags name, checked.
fn storage_dir(args: &PruneArgs) -> Result<PathBuf, Error> {
    let (flag, given, dir) = match (&args.storage, &args.root) {
        (Some(storage), _) => ("--storage", storage, storage.clone()),
        (None, Some(root)) => ("--root", root, root.join("storage")),
        // clap requires one of them.
        (None, None) => unreachable!("clap requires --storage or --root"),
    };
    if !is_storage(&dir) {
        return Err(Error::NotStorage {
            flag,
            given: given.clone(),
            storage: dir,
        });
    }
    Ok(dir)
}

pub async fn run(args: PruneArgs, ctx: &Context) -> anyhow::Result<()> {
    let dir = storage_dir(&args)?;
    let storage = Storage::open(&dir)
        .with_context(|| format!("failed to open storage `{}`", dir.display()))?;
    let report =
        tokio::task::spawn_blocking(move || prune::prune(&storage, args.older_than, args.dry_run))
            .await?
            .context("failed to prune")?;
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    for (name, digest) in &report.manifests {
        ctx.printer
            .status(format!("{verb} manifest {name}@{digest}"));
    }
    ctx.printer.status(format!(
        "{verb} {} manifests, {} blobs and {} uploads ({} bytes)",
        report.manifests.len(),
        report.blobs.len(),
        report.uploads.len(),
        report.bytes
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(storage: Option<&Path>, root: Option<&Path>) -> PruneArgs {
        PruneArgs {
            storage: storage.map(Path::to_owned),
            root: root.map(Path::to_owned),
            older_than: Duration::ZERO,
            dry_run: true,
        }
    }

    /// Issue 9: prune made `blobs/`, `repositories/` and `uploads/` in any
    /// directory it was given.
    #[test]
    fn issue_9_only_a_registry_storage_is_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let err = storage_dir(&args(Some(dir.path()), None)).unwrap_err();
        assert!(crate::exit::Classify::is_input(&err));
        let text = err.to_string();
        assert!(text.starts_with("`--storage "), "{text}");
        assert!(text.contains("is not a registry's storage"), "{text}");
        let err = storage_dir(&args(None, Some(dir.path()))).unwrap_err();
        assert!(err.to_string().contains("/storage`"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        Storage::open(&dir.path().join("storage")).unwrap();
        let storage = dir.path().join("storage");
        assert_eq!(storage_dir(&args(None, Some(dir.path()))).unwrap(), storage);
        assert_eq!(storage_dir(&args(Some(&storage), None)).unwrap(), storage);
    }
}
