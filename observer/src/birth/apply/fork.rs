//! FORK: a tracked process forked; the child joins the window (and is a
//! container process when its parent is).

use super::{step, Ctx, Effect};
use crate::birth::window::Window;
use crate::probes::birth::BirthRecord;

pub(super) fn apply(w: &mut Window, r: &BirthRecord, cx: &Ctx<'_>) -> Effect {
    w.forks += 1;
    w.tgids.insert(r.target);
    w.observe_ns(&r.ns);
    w.step(step(r, "fork", format!("pid {}", r.target), cx.actor, None));
    Effect {
        joined: Some(r.target),
        ..Default::default()
    }
}
