//! Cgroup hierarchy id (as the kernel reports it in `cgroup->root->hierarchy_id`)
//! → display name and mount point, and cgroup id → path lookups for writes to
//! cgroups this observer did not see being made.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq)]
pub struct HierarchyInfo {
    /// "cpu", "memory", "cpu,cpuacct", "systemd" (for name=systemd), "unified".
    pub name: String,
    pub mount: PathBuf,
}

#[derive(Clone, Debug, Default)]
pub struct Hierarchies {
    by_id: HashMap<u32, HierarchyInfo>,
}

/// Directories visited at most when looking a cgroup id up in cgroupfs.
const MAX_WALK: usize = 20_000;

impl Hierarchies {
    /// From /proc/self/cgroup (id → controller list) and /proc/self/mountinfo
    /// (controller list → mount point).
    pub fn detect() -> Self {
        let cgroup = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        Self::parse(&cgroup, &mountinfo)
    }

    pub fn parse(proc_cgroup: &str, mountinfo: &str) -> Self {
        // (sorted controller set, mount point) of each cgroup mount.
        let mut mounts: Vec<(Vec<String>, PathBuf)> = Vec::new();
        for line in mountinfo.lines() {
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let Some(mount) = left.split_whitespace().nth(4) else {
                continue;
            };
            let mut r = right.split_whitespace();
            let fstype = r.next().unwrap_or("");
            let _src = r.next();
            let opts = r.next().unwrap_or("");
            let set = match fstype {
                "cgroup2" => vec![String::new()],
                "cgroup" => {
                    let mut v: Vec<String> = opts
                        .split(',')
                        .filter(|o| !matches!(*o, "rw" | "ro") && !o.contains("xattr"))
                        .filter(|o| !o.starts_with("release_agent") && *o != "clone_children")
                        .filter(|o| *o != "noprefix" && *o != "cpuset_v2_mode")
                        .map(str::to_string)
                        .collect();
                    v.sort();
                    v
                }
                _ => continue,
            };
            if !mounts.iter().any(|(s, _)| *s == set) {
                mounts.push((set, PathBuf::from(mount)));
            }
        }
        let mut by_id = HashMap::new();
        for line in proc_cgroup.lines() {
            let mut f = line.splitn(3, ':');
            let (Some(id), Some(ctrls)) = (f.next(), f.next()) else {
                continue;
            };
            let Ok(id) = id.parse::<u32>() else { continue };
            let mut set: Vec<String> = if ctrls.is_empty() {
                vec![String::new()]
            } else {
                ctrls.split(',').map(str::to_string).collect()
            };
            set.sort();
            let Some((_, mount)) = mounts.iter().find(|(s, _)| *s == set) else {
                continue;
            };
            let name = if ctrls.is_empty() {
                "unified".to_string()
            } else {
                ctrls.trim_start_matches("name=").to_string()
            };
            by_id.insert(
                id,
                HierarchyInfo {
                    name,
                    mount: mount.clone(),
                },
            );
        }
        Hierarchies { by_id }
    }

    pub fn get(&self, id: u32) -> Option<&HierarchyInfo> {
        self.by_id.get(&id)
    }

    pub fn name(&self, id: u32) -> String {
        self.get(id)
            .map(|h| h.name.clone())
            .unwrap_or_else(|| format!("hierarchy-{id}"))
    }

    /// Filesystem path of a control file: mount + cgroup path + file.
    pub fn file_path(&self, id: u32, cgroup: &str, file: &str) -> String {
        let mount = self
            .get(id)
            .map(|h| h.mount.display().to_string())
            .unwrap_or_else(|| format!("<{}>", self.name(id)));
        let cg = cgroup.trim_end_matches('/');
        format!("{mount}{cg}/{file}")
    }

    /// Find the cgroup directory whose inode is `cgroup_id` (kernfs id ==
    /// st_ino) by walking the hierarchy; bounded, for rare misses only.
    pub fn find_path(&self, id: u32, cgroup_id: u64) -> Option<String> {
        let root = &self.get(id)?.mount;
        let mut stack = vec![root.clone()];
        let mut seen = 0;
        while let Some(dir) = stack.pop() {
            seen += 1;
            if seen > MAX_WALK {
                return None;
            }
            if fs::metadata(&dir).map(|m| m.ino()).ok() == Some(cgroup_id) {
                return Some(relative(root, &dir));
            }
            if let Ok(rd) = fs::read_dir(&dir) {
                for e in rd.flatten() {
                    if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                        stack.push(e.path());
                    }
                }
            }
        }
        None
    }
}

fn relative(root: &Path, dir: &Path) -> String {
    match dir.strip_prefix(root) {
        Ok(r) if r.as_os_str().is_empty() => "/".into(),
        Ok(r) => format!("/{}", r.display()),
        Err(_) => dir.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CGROUP: &str = "12:pids:/\n8:cpu:/user.slice\n9:cpuacct:/\n4:memory:/\n1:name=systemd:/init.scope\n0::/init.scope\n";
    const MOUNTINFO: &str = "\
30 24 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n\
31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate\n\
32 30 0:28 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n\
35 30 0:31 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n\
36 30 0:32 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct\n\
37 30 0:33 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n\
38 30 0:34 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n";

    #[test]
    fn maps_hierarchy_ids_to_names_and_mounts() {
        let h = Hierarchies::parse(CGROUP, MOUNTINFO);
        assert_eq!(h.name(8), "cpu");
        assert_eq!(h.name(1), "systemd");
        assert_eq!(h.name(0), "unified");
        assert_eq!(
            h.get(4).unwrap().mount,
            PathBuf::from("/sys/fs/cgroup/memory")
        );
        assert_eq!(
            h.file_path(8, "/kubepods/pod1", "cpu.cfs_quota_us"),
            "/sys/fs/cgroup/cpu/kubepods/pod1/cpu.cfs_quota_us"
        );
        assert_eq!(h.name(77), "hierarchy-77");
    }
}
