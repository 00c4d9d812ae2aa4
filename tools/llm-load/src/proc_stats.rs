//! A process's CPU time and memory, read from `/proc` (Linux only).
//!
//! CPU times in `/proc/PID/stat` are in clock ticks. Without libc there is no
//! `sysconf(_SC_CLK_TCK)`: this assumes USER_HZ = 100, which every mainstream Linux uses.

use anyhow::Context;

/// Clock ticks per second in `/proc/PID/stat` (USER_HZ, assumed).
pub const TICKS_PER_SECOND: u64 = 100;

/// The fields of `/proc/PID/stat` after the command name, the state (field 3) first.
fn stat_fields(pid: u32) -> anyhow::Result<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("malformed /proc/PID/stat")?;
    Ok(after_name.split_whitespace().map(str::to_owned).collect())
}

/// User plus system CPU time of `pid`, in clock ticks.
pub fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let fields = stat_fields(pid)?;
    // Fields 14 (utime) and 15 (stime), counted from 1 with field 3 at index 0 here.
    let field = |index: usize| -> anyhow::Result<u64> {
        fields
            .get(index)
            .context("short /proc/PID/stat")?
            .parse::<u64>()
            .context("a CPU time in /proc/PID/stat")
    };
    Ok(field(11)? + field(12)?)
}

/// User plus system CPU time of every process in `pids`, in clock ticks.
pub fn cpu_ticks_sum(pids: &[u32]) -> anyhow::Result<u64> {
    pids.iter().map(|&pid| cpu_ticks(pid)).sum()
}

/// The processes whose parent is `parent` (a scan of `/proc`).
pub fn children_of(parent: u32) -> anyhow::Result<Vec<u32>> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").context("listing /proc")? {
        let Some(pid) = entry.ok().and_then(|entry| {
            entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse::<u32>().ok())
        }) else {
            continue;
        };
        // Field 4 (the parent id) is at index 1; a process may exit while we look.
        let parent_of = stat_fields(pid)
            .ok()
            .and_then(|fields| fields.get(1).and_then(|ppid| ppid.parse::<u32>().ok()));
        if parent_of == Some(parent) {
            children.push(pid);
        }
    }
    children.sort_unstable();
    Ok(children)
}

/// Microseconds of CPU for `ticks` clock ticks.
pub fn ticks_to_micros(ticks: u64) -> u64 {
    ticks * 1_000_000 / TICKS_PER_SECOND
}

/// The resident set size now (`VmRSS`), in KiB.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    status_kib(pid, "VmRSS:")
}

/// The peak resident set size since the process started (`VmHWM`), in KiB.
pub fn peak_rss_kib(pid: u32) -> anyhow::Result<u64> {
    status_kib(pid, "VmHWM:")
}

fn status_kib(pid: u32, key: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .with_context(|| format!("no {key} in /proc/{pid}/status"))
}

/// KiB as MiB.
pub fn kib_to_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_cpu_time_and_memory() {
        let pid = std::process::id();
        assert!(cpu_ticks(pid).is_ok());
        assert!(rss_kib(pid).is_ok_and(|kib| kib > 0));
        assert!(peak_rss_kib(pid).is_ok_and(|kib| kib > 0));
    }

    #[test]
    fn a_child_process_is_found_by_its_parent() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("sleep starts");
        let found = children_of(std::process::id());
        let _ = child.kill();
        let _ = child.wait();
        assert!(found.is_ok_and(|pids| pids.contains(&child.id())));
    }
}
