//! Storage and the token key (issue 13): where the content lives (a
//! directory, or `storage.s3`), and what every replica that shares a bucket
//! must also share (`token-key`). Pure, like the rest of `config`.

use super::{Error, FileConfig};
use crate::secret::Secret;
use crate::server::storage::s3::settings::{EnvKeys, S3Settings, StorageFile};
use std::path::{Path, PathBuf};

/// Where the registry keeps its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageConfig {
    /// A local directory (`--root`, `root:`): one server.
    Filesystem(PathBuf),
    /// A bucket (`storage: {s3: …}`): any number of replicas.
    S3(S3Settings),
}

/// The shortest `token-key` accepted.
pub const MIN_TOKEN_KEY: usize = 32;

impl StorageConfig {
    pub(super) fn resolve(
        flag_root: Option<PathBuf>,
        file_root: Option<PathBuf>,
        storage: Option<&StorageFile>,
        file: &str,
        env: &EnvKeys,
    ) -> Result<StorageConfig, Error> {
        let s3 = storage.and_then(|storage| storage.s3.as_ref());
        match (flag_root, file_root, s3) {
            (Some(_), _, Some(_)) => Err(Error::Invalid {
                file: file.to_owned(),
                message: "`--storage` and `storage.s3` both say where the content lives: pass one"
                    .into(),
            }),
            (None, Some(_), Some(_)) => Err(Error::Invalid {
                file: file.to_owned(),
                message: "`root` and `storage.s3` both say where the content lives: keep one"
                    .into(),
            }),
            (None, None, Some(s3)) => Ok(StorageConfig::S3(s3.resolve(file, env)?)),
            (Some(root), _, None) | (None, Some(root), None) => Ok(StorageConfig::Filesystem(root)),
            (None, None, None) => Err(Error::NoRoot),
        }
    }
}

impl StorageConfig {
    /// The storage a config file names (for `registry prune --config`).
    pub fn from_file(path: &Path, env: &EnvKeys) -> Result<StorageConfig, Error> {
        let file = FileConfig::load(path)?;
        let name = path.display().to_string();
        StorageConfig::resolve(None, file.root, file.storage.as_ref(), &name, env)
    }
}

/// The token key from the file: required (and long enough) when the
/// storage is shared, since a key made up per process would make every
/// replica refuse the others' tokens.
pub(super) fn resolve_token_key(
    key: Option<Secret>,
    storage: &StorageConfig,
    file: &str,
) -> Result<Option<Secret>, Error> {
    let invalid = |message: String| Error::Invalid {
        file: file.to_owned(),
        message,
    };
    match (key, storage) {
        (Some(key), _) if key.expose().len() < MIN_TOKEN_KEY => Err(invalid(format!(
            "token-key must be at least {MIN_TOKEN_KEY} characters (e.g. `openssl rand -hex 32`)"
        ))),
        (Some(key), _) => Ok(Some(key)),
        (None, StorageConfig::S3(_)) => Err(invalid(format!(
            "storage.s3 needs `token-key` (at least {MIN_TOKEN_KEY} characters, the same on every replica), so that a token one replica issued is accepted by the others"
        ))),
        (None, StorageConfig::Filesystem(_)) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::storage::s3::settings::S3File;

    fn s3() -> StorageFile {
        StorageFile {
            s3: Some(S3File {
                endpoint: "http://127.0.0.1:8333".into(),
                bucket: "registry".into(),
                ..S3File::default()
            }),
        }
    }

    fn env() -> EnvKeys {
        EnvKeys {
            access_key: Some(Secret::new("AKID")),
            secret_key: Some(Secret::new("from-the-environment")),
        }
    }

    #[test]
    fn one_place_for_the_content() {
        let dir = PathBuf::from("/srv/registry");
        let resolve =
            |flag: Option<&PathBuf>, root: Option<&PathBuf>, storage: Option<&StorageFile>| {
                StorageConfig::resolve(flag.cloned(), root.cloned(), storage, "r.yaml", &env())
            };
        let s3 = s3();
        assert_eq!(
            resolve(Some(&dir), None, None).unwrap(),
            StorageConfig::Filesystem(dir.clone())
        );
        assert_eq!(
            resolve(None, Some(&dir), None).unwrap(),
            StorageConfig::Filesystem(dir.clone())
        );
        let StorageConfig::S3(settings) = resolve(None, None, Some(&s3)).unwrap() else {
            panic!("not S3");
        };
        assert_eq!(settings.secret_key.expose(), "from-the-environment");
        for (flag, root, needle) in [
            (Some(&dir), None, "`--storage` and `storage.s3`"),
            (None, Some(&dir), "`root` and `storage.s3`"),
        ] {
            let err = resolve(flag, root, Some(&s3)).unwrap_err().to_string();
            assert!(err.contains(needle) && err.contains("r.yaml"), "{err}");
        }
        assert!(matches!(resolve(None, None, None), Err(Error::NoRoot)));
        // A `storage:` without `s3` is no storage either.
        let empty = StorageFile::default();
        assert!(matches!(
            resolve(None, None, Some(&empty)),
            Err(Error::NoRoot)
        ));
    }

    #[test]
    fn a_shared_bucket_needs_a_long_enough_token_key() {
        let StorageConfig::S3(settings) =
            StorageConfig::resolve(None, None, Some(&s3()), "r.yaml", &env()).unwrap()
        else {
            panic!("not S3");
        };
        let bucket = StorageConfig::S3(settings);
        let dir = StorageConfig::Filesystem("/srv/registry".into());
        let err = resolve_token_key(None, &bucket, "r.yaml").unwrap_err();
        assert!(crate::exit::Classify::is_input(&err));
        assert!(err.to_string().contains("needs `token-key`"), "{err}");
        assert_eq!(resolve_token_key(None, &dir, "r.yaml").unwrap(), None);
        let short = Secret::new("too-short");
        let err = resolve_token_key(Some(short), &dir, "r.yaml").unwrap_err();
        assert!(err.to_string().contains("at least 32"), "{err}");
        assert!(!err.to_string().contains("too-short"), "{err}");
        let key = Secret::new("0123456789abcdef0123456789abcdef");
        let kept = resolve_token_key(Some(key), &bucket, "r.yaml").unwrap();
        assert_eq!(kept.unwrap().expose(), "0123456789abcdef0123456789abcdef");
    }
}
