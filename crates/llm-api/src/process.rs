//! The serving process's resources for `/llm/health/details`: CPU and memory (sysinfo), the host's
//! load, and the client connections open right now.
//!
//! Connections are counted by the server's `on_connect` hook ([`ProcessMonitor::on_connect`]), which
//! puts a guard in each connection's extensions; the guard is dropped when the connection closes.
//! The count is also the `llm_open_connections` gauge. CPU percentages are averages since the
//! previous reading (sysinfo needs two samples), so the first reading after start is 0.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use actix_web::dev::Extensions;
use serde::Serialize;
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// The process's resources, shared by every worker.
#[derive(Clone, Default)]
pub struct ProcessMonitor {
    connections: Arc<AtomicU64>,
    system: Arc<Mutex<Option<System>>>,
}

impl std::fmt::Debug for ProcessMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessMonitor")
            .field("open_connections", &self.open_connections())
            .finish()
    }
}

/// What `/llm/health/details` shows of the process and its host.
#[derive(Clone, Debug, Serialize)]
pub struct ProcessReport {
    pub pid: u32,
    /// Seconds since the process started.
    pub uptime_secs: u64,
    /// The process's CPU use since the previous reading, in percent of one core (may pass 100).
    pub process_cpu_percent: f32,
    /// Resident memory, in bytes.
    pub process_memory_bytes: u64,
    /// Virtual memory, in bytes.
    pub process_virtual_memory_bytes: u64,
    /// The host's CPU use since the previous reading, in percent of all cores.
    pub system_cpu_percent: f32,
    pub cpus: usize,
    /// 1, 5 and 15 minute load averages.
    pub load_average: [f64; 3],
    pub system_memory_total_bytes: u64,
    pub system_memory_used_bytes: u64,
    /// Client connections open now.
    pub open_connections: u64,
}

/// Lowers the open connection count when its connection closes.
struct ConnectionGuard(Arc<AtomicU64>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
        metrics::gauge!("llm_open_connections").decrement(1.0);
    }
}

impl ProcessMonitor {
    /// For `HttpServer::on_connect`: counts the new connection until it closes.
    pub fn on_connect(&self, _connection: &dyn Any, extensions: &mut Extensions) {
        self.connections.fetch_add(1, Ordering::Relaxed);
        metrics::gauge!("llm_open_connections").increment(1.0);
        extensions.insert(ConnectionGuard(self.connections.clone()));
    }

    /// Client connections open now (0 when the server installed no `on_connect` hook).
    pub fn open_connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Reads the process and the host now. Blocks briefly on `/proc`: call it off the hot path.
    pub fn report(&self) -> ProcessReport {
        let pid = std::process::id();
        let mut guard = self.system.lock().unwrap_or_else(PoisonError::into_inner);
        let system = guard.get_or_insert_with(System::new);
        let sys_pid = Pid::from_u32(pid);
        system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[sys_pid]),
            true,
            ProcessRefreshKind::nothing().with_cpu().with_memory(),
        );
        system.refresh_cpu_usage();
        system.refresh_memory();
        let process = system.process(sys_pid);
        let load = System::load_average();
        ProcessReport {
            pid,
            uptime_secs: process.map_or(0, sysinfo::Process::run_time),
            process_cpu_percent: process.map_or(0.0, sysinfo::Process::cpu_usage),
            process_memory_bytes: process.map_or(0, sysinfo::Process::memory),
            process_virtual_memory_bytes: process.map_or(0, sysinfo::Process::virtual_memory),
            system_cpu_percent: system.global_cpu_usage(),
            cpus: system.cpus().len(),
            load_average: [load.one, load.five, load.fifteen],
            system_memory_total_bytes: system.total_memory(),
            system_memory_used_bytes: system.used_memory(),
            open_connections: self.open_connections(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_reads_this_process() {
        let monitor = ProcessMonitor::default();
        let report = monitor.report();
        assert_eq!(report.pid, std::process::id());
        assert!(report.process_memory_bytes > 0, "{report:?}");
        assert!(report.system_memory_total_bytes >= report.system_memory_used_bytes);
        assert!(report.cpus >= 1);
        assert_eq!(report.open_connections, 0);
    }

    #[test]
    fn a_connection_counts_until_its_extensions_are_dropped() {
        let monitor = ProcessMonitor::default();
        let mut first = Extensions::new();
        let mut second = Extensions::new();
        monitor.on_connect(&(), &mut first);
        monitor.on_connect(&(), &mut second);
        assert_eq!(monitor.open_connections(), 2);
        drop(first);
        assert_eq!(monitor.open_connections(), 1);
        drop(second);
        assert_eq!(monitor.report().open_connections, 0);
    }
}
