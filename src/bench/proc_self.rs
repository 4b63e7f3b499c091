//! What Linux says of this process in `/proc/self`: CPU time and resident memory.

use std::time::Duration;

/// CPU time (user + system) used so far. On a machine shared with other work, CPU time compares
/// fairer than wall time.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuTime {
    /// This process.
    pub own: Duration,
    /// Its waited-for children (the `sqlite3` CLI runs).
    pub children: Duration,
}

/// From `/proc/self/stat`; `None` where that is unavailable.
pub fn cpu_time() -> Option<CpuTime> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // After the name (which may hold spaces, hence the last ')'): utime, stime, cutime, cstime
    // are the 12th to 15th fields.
    let fields: Vec<u64> = stat
        .rsplit_once(')')?
        .1
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let [utime, stime, cutime, cstime] = fields[..] else {
        return None;
    };
    // Clock ticks; 100 per second on Linux.
    let ticks = |t: u64| Duration::from_millis(t * 10);
    Some(CpuTime {
        own: ticks(utime + stime),
        children: ticks(cutime + cstime),
    })
}

/// A line of `/proc/self/status`: `VmRSS:` resident now, `VmHWM:` the peak; "unknown" where
/// that is unavailable.
pub fn memory(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .map(|l| l.trim_start_matches(field).trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}
