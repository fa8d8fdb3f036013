//! Siblings: projects checked out under `~/src` that an image's build
//! needs, copied into `<context>/.zuul-siblings/<project>` before its build
//! (as the roles' `cp --parents -r`) and removed after it — also when the
//! build fails, and when the process unwinds (the guard's `Drop`). A
//! `.zuul-siblings` already in a context is an earlier run's leftover:
//! [`check`] refuses it before anything is built.

use super::Error;
use crate::zuul::inputs::build::ImageBuild;
use std::path::{Path, PathBuf};

/// The directory siblings are staged in.
pub const DIR: &str = ".zuul-siblings";

/// Check an image before any build: its context is a directory, holds no
/// leftover `.zuul-siblings`, and each sibling is checked out.
pub fn check(image: &ImageBuild, sources: Option<&Path>) -> Result<(), Error> {
    if !image.context.is_dir() {
        return Err(Error::NoContext {
            image: image.repository.clone(),
            origin: image.origin.clone(),
            path: image.context.clone(),
        });
    }
    let staged = image.context.join(DIR);
    if staged.symlink_metadata().is_ok() {
        return Err(Error::LeftoverSiblings {
            image: image.repository.clone(),
            origin: image.origin.clone(),
            path: staged,
        });
    }
    if image.siblings.is_empty() {
        return Ok(());
    }
    let Some(sources) = sources else {
        return Err(Error::NoSources {
            image: image.repository.clone(),
            origin: image.origin.clone(),
        });
    };
    for sibling in &image.siblings {
        let path = sources.join(sibling);
        if path.symlink_metadata().is_err() {
            return Err(Error::SiblingMissing {
                image: image.repository.clone(),
                origin: image.origin.clone(),
                sibling: sibling.clone(),
                path,
            });
        }
    }
    Ok(())
}

/// The staged siblings of one build; removed by [`Staged::remove`], or
/// when dropped.
#[derive(Debug)]
pub struct Staged {
    dir: Option<PathBuf>,
}

/// Copy the image's siblings from `sources` into its context; nothing is
/// staged for an image without siblings. A failed copy removes what was
/// copied.
pub fn stage(image: &ImageBuild, sources: Option<&Path>) -> Result<Staged, Error> {
    if image.siblings.is_empty() {
        return Ok(Staged { dir: None });
    }
    let Some(sources) = sources else {
        return Err(Error::NoSources {
            image: image.repository.clone(),
            origin: image.origin.clone(),
        });
    };
    let dir = image.context.join(DIR);
    let staged = Staged {
        dir: Some(dir.clone()),
    };
    crate::fs::create_dir(&dir, 0o755, None).map_err(|source| Error::Stage {
        image: image.repository.clone(),
        source,
    })?;
    for sibling in &image.siblings {
        crate::fs::copy_tree(&sources.join(sibling), &dir.join(sibling)).map_err(|source| {
            Error::Stage {
                image: image.repository.clone(),
                source,
            }
        })?;
    }
    Ok(staged)
}

impl Staged {
    /// Remove the staged copies.
    pub fn remove(mut self) -> Result<(), crate::fs::Error> {
        match self.dir.take() {
            Some(dir) => crate::fs::remove_tree(&dir),
            None => Ok(()),
        }
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            if let Err(err) = crate::fs::remove_tree(&dir) {
                tracing::warn!("{err}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(context: &Path, siblings: &[&str]) -> ImageBuild {
        ImageBuild {
            origin: "docker_images[0]".into(),
            repository: "org/app".into(),
            context: context.to_owned(),
            dockerfile: None,
            path: None,
            target: None,
            build_args: Vec::new(),
            labels: Vec::new(),
            siblings: siblings.iter().map(|s| (*s).to_owned()).collect(),
            platforms: Vec::new(),
            tags: Vec::new(),
        }
    }

    #[test]
    fn staged_with_their_paths_and_removed_also_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let sources = dir.path().join("src");
        std::fs::create_dir_all(sources.join("opendev.org/org/lib/pkg")).unwrap();
        std::fs::write(sources.join("opendev.org/org/lib/pkg/mod.py"), "x = 1\n").unwrap();
        std::fs::create_dir_all(sources.join("opendev.org/org/other")).unwrap();
        let context = dir.path().join("ctx");
        std::fs::create_dir_all(&context).unwrap();
        let img = image(&context, &["opendev.org/org/lib", "opendev.org/org/other"]);
        check(&img, Some(&sources)).unwrap();
        let staged = stage(&img, Some(&sources)).unwrap();
        let copied = context.join(".zuul-siblings/opendev.org/org/lib/pkg/mod.py");
        assert_eq!(std::fs::read_to_string(&copied).unwrap(), "x = 1\n");
        assert!(
            context
                .join(".zuul-siblings/opendev.org/org/other")
                .is_dir()
        );
        // While staged, a second check sees a leftover.
        assert!(matches!(
            check(&img, Some(&sources)),
            Err(Error::LeftoverSiblings { .. })
        ));
        staged.remove().unwrap();
        assert!(!context.join(DIR).exists());
        assert!(sources.join("opendev.org/org/lib/pkg/mod.py").exists());
        drop(stage(&img, Some(&sources)).unwrap());
        assert!(!context.join(DIR).exists(), "removed on drop");
        // No siblings: nothing staged, nothing required.
        let plain = image(&context, &[]);
        check(&plain, None).unwrap();
        stage(&plain, None).unwrap().remove().unwrap();
        assert!(!context.join(DIR).exists());
    }

    #[test]
    fn checks_name_the_image_and_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let sources = dir.path().join("src");
        let missing = image(&dir.path().join("nope"), &[]);
        let err = check(&missing, Some(&sources)).unwrap_err().to_string();
        assert!(err.contains("`org/app` (docker_images[0])"), "{err}");
        assert!(err.contains("nope"), "{err}");
        let context = dir.path().join("ctx");
        std::fs::create_dir_all(&context).unwrap();
        let unchecked = image(&context, &["opendev.org/org/lib"]);
        let err = check(&unchecked, Some(&sources)).unwrap_err().to_string();
        assert!(err.contains("sibling `opendev.org/org/lib`"), "{err}");
        assert!(matches!(
            check(&unchecked, None),
            Err(Error::NoSources { .. })
        ));
        std::fs::write(context.join(DIR), "").unwrap();
        let err = check(&image(&context, &[]), Some(&sources)).unwrap_err();
        assert!(err.to_string().contains(".zuul-siblings"), "{err}");
    }
}
