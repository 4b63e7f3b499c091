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

/// Samples `RssAnon:` of `/proc/self/status` (heap and other anonymous pages, not the mapped
/// database file) every few milliseconds on a thread of its own, keeping the highest value, until
/// [`AnonPeak::stop`]. The kernel keeps no peak of it as it does of `VmHWM`.
pub struct AnonPeak {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl AnonPeak {
    pub fn start() -> Self {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = 0;
            while !flag.load(Ordering::Relaxed) {
                peak = peak.max(anon_kib().unwrap_or(0));
                std::thread::sleep(Duration::from_millis(5));
            }
            peak.max(anon_kib().unwrap_or(0))
        });
        Self { stop, thread }
    }

    /// The peak in KiB (0 where `/proc` is unavailable).
    pub fn stop(self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap_or(0)
    }
}

/// `RssAnon:` now, in KiB.
pub fn anon_kib() -> Option<u64> {
    memory("RssAnon:")
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
