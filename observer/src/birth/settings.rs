//! How long birth capture windows wait (ADR 0017); `run` flags set them.

use std::time::Duration;

#[derive(Clone, Copy, Debug)]
pub struct BirthSettings {
    /// After the last entrypoint exec, wait this long for another container.
    pub grace: Duration,
    /// Same, when only a pod's first (sandbox) container has started: kubelet
    /// creates the app containers after the sandbox's network is set up.
    pub sandbox_grace: Duration,
    /// A window closes incomplete this long after it opened.
    pub timeout: Duration,
    /// How long a runtime exec keeps the syscall program attached while
    /// waiting for the runtime to make a cgroup.
    pub prearm: Duration,
}

impl Default for BirthSettings {
    fn default() -> Self {
        BirthSettings {
            grace: Duration::from_millis(1000),
            sandbox_grace: Duration::from_millis(5000),
            timeout: Duration::from_secs(60),
            prearm: Duration::from_secs(5),
        }
    }
}
