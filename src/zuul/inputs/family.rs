//! The role family of the image commands (`build-image`, `upload-image`,
//! `promote-image`): the docker roles read `docker_images` with
//! `docker_registry` and docker, the container roles `container_images`
//! with a per-image `registry` and `container_command`. The roles-compat
//! roles pass `--family`; by hand the family follows the list that is
//! given, and both lists without `--family` is an input error.

use crate::zuul::Error;
use crate::zuul::images::{ImageSource, ImageSpec, Images};
use crate::zuul::vars::Vars;

/// Which role family's variables and defaults apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Family {
    /// `build-docker-image`, `upload-docker-image`, `promote-docker-image`.
    Docker,
    /// `build-container-image`, `upload-container-image`,
    /// `promote-container-image`.
    Container,
}

impl Family {
    /// The image list this family reads.
    pub fn source(self) -> ImageSource {
        match self {
            Family::Docker => ImageSource::DockerImages,
            Family::Container => ImageSource::ContainerImages,
        }
    }

    /// `--family` when given, else the family of the one list that is
    /// defined; `None` when neither list is defined (a command may still
    /// take its image from flags).
    pub fn resolve(vars: &Vars, flag: Option<Family>) -> Result<Option<Family>, Error> {
        if flag.is_some() {
            return Ok(flag);
        }
        let docker = vars.contains(ImageSource::DockerImages.var());
        let container = vars.contains(ImageSource::ContainerImages.var());
        match (docker, container) {
            (true, true) => Err(Error::Flag {
                flag: "--family".into(),
                message: "both `docker_images` and `container_images` are defined: pass `--family docker` or `--family container` to say which role family this is".into(),
            }),
            (true, false) => Ok(Some(Family::Docker)),
            (false, true) => Ok(Some(Family::Container)),
            (false, false) => Ok(None),
        }
    }
}

/// The family of a run and its validated image list.
#[derive(Debug, Clone)]
pub struct FamilyImages {
    pub family: Family,
    pub images: Vec<ImageSpec>,
}

impl FamilyImages {
    /// The family (see [`Family::resolve`]) and the list it reads; `None`
    /// when there is no family or its list is not defined.
    pub fn resolve(vars: &Vars, flag: Option<Family>) -> Result<Option<FamilyImages>, Error> {
        let Some(family) = Family::resolve(vars, flag)? else {
            return Ok(None);
        };
        Ok(
            Images::from_var(vars, family.source())?.map(|images| FamilyImages {
                family,
                images: images.images,
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(value: serde_json::Value) -> Vars {
        Vars::from_map(value.as_object().unwrap().clone())
    }

    #[test]
    fn the_family_follows_the_flag_else_the_list() {
        let docker = json!({"docker_images": [{"repository": "a/b"}]});
        let container = json!({"container_images": [{"repository": "quay.io/c/d"}]});
        let both = json!({"docker_images": [{"repository": "a/b"}],
                          "container_images": [{"repository": "quay.io/c/d"}]});
        for (doc, flag, family, repository) in [
            (&docker, None, Family::Docker, "a/b"),
            (&container, None, Family::Container, "quay.io/c/d"),
            (&both, Some(Family::Docker), Family::Docker, "a/b"),
            (
                &both,
                Some(Family::Container),
                Family::Container,
                "quay.io/c/d",
            ),
        ] {
            let got = FamilyImages::resolve(&vars(doc.clone()), flag)
                .unwrap()
                .unwrap();
            assert_eq!(got.family, family, "{doc} {flag:?}");
            assert_eq!(got.images[0].repository, repository);
        }
    }

    #[test]
    fn both_lists_without_the_flag_is_an_input_error() {
        let both = vars(json!({"docker_images": [], "container_images": []}));
        let err = FamilyImages::resolve(&both, None).unwrap_err();
        assert!(crate::exit::Classify::is_input(&err));
        assert!(err.to_string().contains("--family"), "{err}");
    }

    #[test]
    fn a_flag_without_its_list_or_no_list_is_none() {
        let docker = vars(json!({"docker_images": [{"repository": "a/b"}]}));
        assert!(
            FamilyImages::resolve(&docker, Some(Family::Container))
                .unwrap()
                .is_none()
        );
        assert!(
            FamilyImages::resolve(&vars(json!({})), None)
                .unwrap()
                .is_none()
        );
        assert_eq!(Family::resolve(&vars(json!({})), None).unwrap(), None);
    }

    #[test]
    fn a_bad_entry_of_the_chosen_list_names_its_key_path() {
        let doc = vars(json!({"container_images": [{"repository": "Bad/Repo"}],
                              "docker_images": [{"repository": "a/b"}]}));
        let err = FamilyImages::resolve(&doc, Some(Family::Container)).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("`container_images[0].repository`"),
            "{err}"
        );
        // The other family's list is not read.
        assert!(
            FamilyImages::resolve(&doc, Some(Family::Docker))
                .unwrap()
                .is_some()
        );
    }
}
