//! EXIT: a tracked process exited; its final syscall count stays with the
//! window, the process leaves it.

use super::{Ctx, Effect};
use crate::birth::window::Window;
use crate::probes::birth::BirthRecord;

pub(super) fn apply(w: &mut Window, r: &BirthRecord, _: &Ctx<'_>) -> Effect {
    w.exited_syscalls += r.arg;
    w.tgids.remove(&r.tgid);
    Effect {
        exited: true,
        ..Default::default()
    }
}
