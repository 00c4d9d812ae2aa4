//! A process's CPU time and memory, read from `/proc` (Linux only).
//!
//! CPU times in `/proc/PID/stat` are in clock ticks. Without libc there is no
//! `sysconf(_SC_CLK_TCK)`: this assumes USER_HZ = 100, which every mainstream Linux uses.

use anyhow::Context;

/// Clock ticks per second in `/proc/PID/stat` (USER_HZ, assumed).
pub const TICKS_PER_SECOND: u64 = 100;

/// User plus system CPU time of `pid`, in clock ticks.
pub fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("malformed /proc/PID/stat")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
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
}
