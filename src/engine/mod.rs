//! Container engines behind small seams. For now the Docker Engine API
//! over its unix socket (bollard): whether a daemon answers, and the
//! registry settings it runs with. Builds go through the engines' CLIs and
//! belong to the build command, not here.

pub mod docker;
