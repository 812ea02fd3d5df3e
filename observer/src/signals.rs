//! The signals the observer can serve, selectable with `--signals`.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    /// cgroup id -> path map and cgroup_created/removed events.
    Cgroups,
    /// CFS throttling + usage from cpu.stat.
    Cpu,
    Runqueue,
    Oom,
    /// PSI (v2/unified) and memcg reclaim time (v1).
    Memory,
    Drops,
    Tcp,
    /// Pod/container start capture windows (`birth` events).
    Births,
}

pub const ALL: &[Signal] = &[
    Signal::Cgroups,
    Signal::Cpu,
    Signal::Runqueue,
    Signal::Oom,
    Signal::Memory,
    Signal::Drops,
    Signal::Tcp,
    Signal::Births,
];

impl Signal {
    pub fn name(self) -> &'static str {
        match self {
            Signal::Cgroups => "cgroups",
            Signal::Cpu => "cpu",
            Signal::Runqueue => "runqueue",
            Signal::Oom => "oom",
            Signal::Memory => "memory",
            Signal::Drops => "drops",
            Signal::Tcp => "tcp",
            Signal::Births => "births",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Signal {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ALL.iter()
            .copied()
            .find(|x| x.name() == s.trim())
            .ok_or_else(|| {
                format!(
                    "unknown signal {s:?}; known: {}",
                    ALL.iter().map(|s| s.name()).collect::<Vec<_>>().join(",")
                )
            })
    }
}

/// "all" or a comma list.
pub fn parse_list(s: &str) -> Result<Vec<Signal>, String> {
    if s.trim() == "all" {
        return Ok(ALL.to_vec());
    }
    let mut v: Vec<Signal> = s
        .split(',')
        .filter(|x| !x.trim().is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    v.sort();
    v.dedup();
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_signal_lists() {
        assert_eq!(parse_list("all").unwrap().len(), ALL.len());
        assert_eq!(
            parse_list("oom, cpu").unwrap(),
            vec![Signal::Cpu, Signal::Oom]
        );
        assert!(parse_list("bogus").is_err());
    }
}
