//! Birth capture (ADR 0016, 0017): turns the birth probe's raw records into
//! one capture window per pod or bare container and closes it into a
//! `BirthEvent`.
//!
//! Pure bookkeeping: no BPF or I/O except the bounded cgroupfs walk used to
//! name cgroups this observer did not see being made. `State` feeds records
//! and ticks and applies the effects (attach/detach, untrack, publish).
//!
//! - `tracker.rs`: windows opened, closed and published; the entry point.
//! - `apply/`: what each record kind does to its window, one file per kind.
//! - `procs.rs`: processes waiting for a window (runtime execs, children).
//! - `key.rs`: which window a cgroup path belongs to.
//! - `window.rs`: one window's contents and its event; `settings.rs`: grace
//!   periods and timeouts; `hierarchies.rs`: id → mount; `stats.rs`: metrics.

mod apply;
pub mod hierarchies;
mod key;
mod procs;
mod settings;
pub mod stats;
mod tracker;
pub mod window;

pub use settings::BirthSettings;
pub use tracker::{Closed, Tracker};

#[cfg(test)]
mod tests;
