//! WRITE: a cgroup control file written (limits, cgroup.procs, device
//! rules), with the value written, trailing newline removed.

use super::{step, Ctx, Effect};
use crate::birth::window::Window;
use crate::probes::birth::BirthRecord;

pub(super) fn apply(w: &mut Window, r: &BirthRecord, cx: &Ctx<'_>) -> Effect {
    let cg = cx.write_cgroup.clone().unwrap_or_default();
    let path = cx.hier.file_path(r.hierarchy_id, &cg, &r.path);
    let value = r.value.trim_end_matches('\n').to_string();
    w.add_file(path.clone(), value.clone());
    w.step(step(
        r,
        "cgroup-file-written",
        format!("{path} = {value}"),
        cx.actor,
        None,
    ));
    Effect::default()
}
