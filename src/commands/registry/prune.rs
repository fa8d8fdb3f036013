//! `registry prune`: remove untagged, unreferenced manifests, blobs and
//! abandoned uploads older than an age from a registry's storage, and say
//! what went (or would go, with `--dry-run`). The storage is `--storage DIR`
//! or the `storage/` of the buildset registry root `--root DIR`; anything
//! that is not a registry's storage is refused before anything is touched.

use crate::commands::Error;
use crate::commands::context::Context;
use crate::server::config::StorageConfig;
use crate::server::listen::open_storage;
use crate::server::prune;
use crate::server::storage::s3::settings::EnvKeys;
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
    /// The registry's config file, for the storage it names (`root` or
    /// `storage.s3`); safe while its servers serve.
    #[arg(long, value_name = "FILE", group = "storage_dir")]
    pub config: Option<PathBuf>,
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
/// `FsStore::open` makes. Prune must not make them anywhere else.
fn is_storage(dir: &Path) -> bool {
    ["blobs", "repositories", "uploads"]
        .iter()
        .all(|sub| dir.join(sub).is_dir())
}

/// The storage directory the flags name, checked.
fn storage_dir(flag: &'static str, given: &Path, dir: PathBuf) -> Result<PathBuf, Error> {
    if !is_storage(&dir) {
        return Err(Error::NotStorage {
            flag,
            given: given.to_owned(),
            storage: dir,
        });
    }
    Ok(dir)
}

/// The storage the flags name: a directory (checked), or what the config
/// file says.
fn storage_config(args: &PruneArgs) -> anyhow::Result<StorageConfig> {
    Ok(match (&args.storage, &args.root, &args.config) {
        (Some(storage), _, _) => {
            StorageConfig::Filesystem(storage_dir("--storage", storage, storage.clone())?)
        }
        (None, Some(root), _) => {
            StorageConfig::Filesystem(storage_dir("--root", root, root.join("storage"))?)
        }
        (None, None, Some(file)) => match StorageConfig::from_file(file, &EnvKeys::from_env())? {
            StorageConfig::Filesystem(dir) => {
                StorageConfig::Filesystem(storage_dir("--config", file, dir)?)
            }
            s3 => s3,
        },
        // clap requires one of them.
        (None, None, None) => unreachable!("clap requires --storage, --root or --config"),
    })
}

pub async fn run(args: PruneArgs, ctx: &Context) -> anyhow::Result<()> {
    let config = storage_config(&args)?;
    let storage = open_storage(&config).await?;
    let report = prune::prune(&storage, args.older_than, args.dry_run)
        .await
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
    use crate::server::storage::fs::FsStore;

    fn args(storage: Option<&Path>, root: Option<&Path>) -> PruneArgs {
        PruneArgs {
            storage: storage.map(Path::to_owned),
            root: root.map(Path::to_owned),
            config: None,
            older_than: Duration::ZERO,
            dry_run: true,
        }
    }

    fn dir_of(args: &PruneArgs) -> Result<PathBuf, Error> {
        match storage_config(args) {
            Ok(StorageConfig::Filesystem(dir)) => Ok(dir),
            Ok(StorageConfig::S3(_)) => panic!("no S3 here"),
            Err(err) => Err(err.downcast().unwrap()),
        }
    }

    /// Issue 9: prune made `blobs/`, `repositories/` and `uploads/` in any
    /// directory it was given.
    #[test]
    fn issue_9_only_a_registry_storage_is_pruned() {
        let tmp = tempfile::tempdir().unwrap();
        let err = dir_of(&args(Some(tmp.path()), None)).unwrap_err();
        assert!(crate::exit::Classify::is_input(&err));
        let text = err.to_string();
        assert!(text.starts_with("`--storage "), "{text}");
        assert!(text.contains("is not a registry's storage"), "{text}");
        let err = dir_of(&args(None, Some(tmp.path()))).unwrap_err();
        assert!(err.to_string().contains("/storage`"), "{err}");
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);

        FsStore::open(&tmp.path().join("storage")).unwrap();
        let storage = tmp.path().join("storage");
        assert_eq!(dir_of(&args(None, Some(tmp.path()))).unwrap(), storage);
        assert_eq!(dir_of(&args(Some(&storage), None)).unwrap(), storage);
    }

    /// A config file naming a directory that is not a registry's storage
    /// is refused like the flags.
    #[test]
    fn a_config_files_root_must_be_a_registry_storage() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("registry.yaml");
        std::fs::write(&file, format!("root: {}\n", tmp.path().join("s").display())).unwrap();
        std::fs::create_dir(tmp.path().join("s")).unwrap();
        let mut given = args(None, None);
        given.config = Some(file);
        let err = dir_of(&given).unwrap_err();
        assert!(err.to_string().starts_with("`--config "), "{err}");
    }
}
