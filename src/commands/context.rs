//! `Context`: what every command gets — the variables, the captured
//! environment, the printer, and where return data goes. Commands build
//! their typed inputs from it (`zuul::inputs`); nothing here parses a role
//! variable.

use crate::cli::GlobalArgs;
use crate::output::Printer;
use crate::zuul::inputs::{Env, Sources};
use crate::zuul::results::{self, ReturnData};
use crate::zuul::vars::Vars;
use anyhow::Context as _;
use std::path::PathBuf;

pub struct Context {
    pub vars: Vars,
    pub env: Env,
    pub printer: Printer,
    /// `--results FILE`: merge return data there instead of printing it.
    pub results: Option<PathBuf>,
}

impl Context {
    /// Load vars files and `-e` values (a file that cannot be read or
    /// parsed is an input error) and capture the environment. Variables
    /// are validated by the commands that read them, not here.
    pub fn resolve(global: &GlobalArgs, env: Env) -> anyhow::Result<Context> {
        if let Some(path) = &global.results {
            results::check_path(path)?;
        }
        let vars = Vars::load(&global.vars, &global.extra)?;
        Ok(Context {
            vars,
            printer: Printer::new(global.quiet, global.color, env.no_color),
            env,
            results: global.results.clone(),
        })
    }

    /// What the input builders read.
    pub fn sources(&self) -> Sources<'_> {
        Sources {
            vars: &self.vars,
            env: &self.env,
            results: self.results.as_deref(),
        }
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
                self.printer
                    .data(&data.to_value().to_string())
                    .context("failed to write the return data on stdout")
            }
        }
    }
}
