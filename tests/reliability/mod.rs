//! The reliability suite (issue 12): faults (connections reset at random
//! offsets, `registry serve` SIGKILLed mid-push, the supervisor, a full
//! disk), load (concurrent pulls and pushes, slowloris), hostile input
//! against the registry (TLS versions, tokens of a previous process) and
//! secrets (known passwords never in output, argv, environment or
//! world-readable files). Each test prints its figures on a
//! `reliability:` line; `docs/reliability.md` collects them, and
//! `tests/soak/run.sh` runs the same tests longer.

mod copies;
mod disk;
mod hostile;
mod kills;
mod load;
mod secrets;
