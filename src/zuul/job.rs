//! The typed view of the `zuul` variable: the parts of Zuul's job data the
//! container commands use (change, pipeline, build, project, executor paths,
//! artifacts). Everything else in the dict is accepted and ignored.

use super::artifacts::Artifact;
use super::de::opt_string;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Zuul {
    /// A string on Gerrit, an integer PR number on GitHub; always a string here.
    #[serde(default, deserialize_with = "opt_string")]
    pub change: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub patchset: Option<String>,
    #[serde(default)]
    pub pipeline: Option<String>,
    #[serde(default)]
    pub build: Option<String>,
    #[serde(default)]
    pub buildset: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub tag: Option<String>,
    #[serde(default)]
    pub change_url: Option<String>,
    #[serde(default)]
    pub project: Option<Project>,
    #[serde(default)]
    pub executor: Option<Executor>,
    #[serde(default)]
    pub artifacts: Vec<Artifact>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Project {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub short_name: Option<String>,
    #[serde(default)]
    pub canonical_name: Option<String>,
    #[serde(default)]
    pub canonical_hostname: Option<String>,
    #[serde(default)]
    pub src_dir: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Executor {
    #[serde(default)]
    pub work_root: Option<PathBuf>,
    #[serde(default)]
    pub result_data_file: Option<PathBuf>,
}

impl Executor {
    /// `result_data_file`, else `<work_root>/results.json`.
    pub fn result_data_file(&self) -> Option<PathBuf> {
        self.result_data_file.clone().or_else(|| {
            self.work_root
                .as_ref()
                .map(|root| root.join("results.json"))
        })
    }
}
