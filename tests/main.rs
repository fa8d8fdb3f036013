//! The one integration test binary: a module per subcommand.

mod intermediate;
