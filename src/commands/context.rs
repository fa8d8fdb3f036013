//! `Context`: the resolved inputs every command gets — variables, the
//! printer, and where return data goes — plus the lookups several commands
//! share (`zuul`, `buildset_registry` with its results-file fallback).

use crate::cli::GlobalArgs;
use crate::output::Printer;
use crate::zuul::artifacts;
use crate::zuul::images::Images;
use crate::zuul::job::Zuul;
use crate::zuul::registries::{
    BuildsetRegistry, ContainerRegistryCredentials, DockerCredentials, IntermediateRegistry,
};
use crate::zuul::results::{self, ReturnData};
use crate::zuul::vars::Vars;
use anyhow::Context as _;
use std::path::PathBuf;

pub struct Context {
    pub vars: Vars,
    pub printer: Printer,
    /// `--results FILE`: merge return data there instead of printing it.
    pub results: Option<PathBuf>,
    /// The typed `zuul` dict, resolved once; empty when it is not given.
    pub zuul: Zuul,
}

/// Check the shape of every known variable that is set; returns the typed
/// `zuul` dict.
fn validate_known(vars: &Vars) -> Result<Zuul, crate::zuul::Error> {
    let zuul = vars.typed::<Zuul>("zuul")?.unwrap_or_default();
    Images::from_vars(vars)?;
    artifacts::from_vars(vars)?;
    if let Some(value) = vars.get("buildset_registry") {
        let origin = vars.origin("buildset_registry").map(str::to_owned);
        BuildsetRegistry::from_value("buildset_registry", value, origin)?;
    }
    if vars.contains("intermediate_registry") {
        IntermediateRegistry::from_vars(vars, "")?;
    }
    vars.typed::<DockerCredentials>("docker_credentials")?;
    vars.typed::<ContainerRegistryCredentials>("container_registry_credentials")?;
    Ok(zuul)
}

impl Context {
    /// Load vars files and `-e` values and validate every variable of the
    /// contract that is present, whichever command runs: a malformed
    /// `docker_images` is reported before anything happens, not halfway
    /// through a job. Errors here are input errors.
    pub fn resolve(global: &GlobalArgs) -> anyhow::Result<Context> {
        if let Some(path) = &global.results {
            results::check_path(path)?;
        }
        let vars = Vars::load(&global.vars, &global.extra)?;
        let zuul = validate_known(&vars)?;
        Ok(Context {
            vars,
            printer: Printer::new(global.quiet, global.color),
            results: global.results.clone(),
            zuul,
        })
    }

    /// The results file to read earlier return data from: `--results`,
    /// else `zuul.executor.result_data_file`.
    pub fn results_file(&self) -> Option<PathBuf> {
        self.results
            .clone()
            .or_else(|| self.zuul.result_data_file())
    }

    /// `buildset_registry` from the variables, else from
    /// `secret_data.buildset_registry` of this job's results file (the case
    /// where `run-buildset-registry` ran earlier in the same job).
    pub fn buildset_registry(&self) -> anyhow::Result<Option<BuildsetRegistry>> {
        if let Some(value) = self.vars.get("buildset_registry") {
            let origin = self.vars.origin("buildset_registry").map(str::to_owned);
            return Ok(Some(BuildsetRegistry::from_value(
                "buildset_registry",
                value,
                origin,
            )?));
        }
        let Some(file) = self.results_file() else {
            return Ok(None);
        };
        let returned = results::read(&file)?;
        match returned.secret_data.get("buildset_registry") {
            Some(value) => Ok(Some(BuildsetRegistry::from_value(
                "secret_data.buildset_registry",
                value,
                Some(file.display().to_string()),
            )?)),
            None => Ok(None),
        }
    }

    /// Like [`Context::buildset_registry`], failing when there is none.
    pub fn require_buildset_registry(&self, command: &str) -> anyhow::Result<BuildsetRegistry> {
        self.buildset_registry()?.ok_or_else(|| {
            crate::zuul::Error::Missing {
                name: "buildset_registry".into(),
                command: command.into(),
            }
            .into()
        })
    }

    /// Hand return data back: merged into `--results`, or the envelope on
    /// stdout. Empty return data leaves the results file untouched.
    pub fn emit(&self, data: &ReturnData) -> anyhow::Result<()> {
        match &self.results {
            Some(path) if data.is_empty() => {
                tracing::debug!("nothing to return; `{}` left as it is", path.display());
                Ok(())
            }
            Some(path) => results::merge_into_file(path, data)
                .with_context(|| format!("failed to return data into `{}`", path.display())),
            None => {
                data.validate()?;
                let text = serde_json::to_string(&data.to_value())?;
                self.printer
                    .data(&text)
                    .context("failed to write the return data on stdout")
            }
        }
    }
}
