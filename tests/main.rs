//! The integration tests of zuul-image: one test binary, a module per
//! subcommand, and `support/` for the harness (temp dirs, the CLI runner,
//! real registries, the private dockerd, FROM-scratch images).
//!
//! A plain `cargo test` runs the hermetic tests. Tests that need real
//! components (dockerd, distribution, skopeo, podman, buildah) are
//! `#[ignore]`d with a reason and run by `tests/run-all.sh`, which installs
//! and starts what they need and passes `--include-ignored`.

mod support;

mod build_image;
mod cli;
mod color;
mod completions;
mod docs;
mod engine;
mod ensure_docker;
mod harness;
mod intermediate;
mod pause;
mod privilege;
mod publish;
mod real_zuul;
mod registry;
mod registry_limits;
mod registry_links;
mod registry_s3;
mod registry_s3_faults;
mod reliability;
mod results;
mod roles_compat;
mod run_buildset_registry;
mod use_buildset_registry;
mod version;
