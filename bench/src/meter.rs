//! Wall clock, the load client's own CPU (getrusage) and the server's CPU (/proc/PID/stat)
//! over one scenario; latency percentiles.

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

/// User + system CPU seconds of this process (all threads).
pub fn self_cpu_secs() -> f64 {
    // SAFETY: getrusage only writes the struct we pass; RUSAGE_SELF is always valid.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    if rc != 0 {
        return f64::NAN;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// User + system CPU seconds of another process, from /proc/PID/stat.
pub fn proc_cpu_secs(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: fields start after ")".
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    // After the name: state(3) … utime is field 14, stime 15 (1-based over the whole line).
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some((utime + stime) / if hz > 0.0 { hz } else { 100.0 })
}

pub struct Meter {
    start: Instant,
    cpu: f64,
    server_pid: Option<u32>,
    server_cpu: Option<f64>,
}

impl Meter {
    pub fn start(server_pid: Option<u32>) -> Meter {
        Meter {
            start: Instant::now(),
            cpu: self_cpu_secs(),
            server_pid,
            server_cpu: server_pid.and_then(proc_cpu_secs),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// `wall_s`, `client_cpu_s`, `client_cpu_share` (of one core, over the wall time),
    /// `server_cpu_s` when the server's PID is known.
    pub fn finish(&self, m: &mut Map<String, Value>) {
        let wall = self.start.elapsed().as_secs_f64();
        let cpu = self_cpu_secs() - self.cpu;
        m.insert("wall_s".into(), json!(round(wall, 4)));
        m.insert("client_cpu_s".into(), json!(round(cpu, 4)));
        m.insert(
            "client_cpu_share".into(),
            json!(if wall > 0.0 {
                round(cpu / wall, 4)
            } else {
                0.0
            }),
        );
        if let (Some(pid), Some(before)) = (self.server_pid, self.server_cpu)
            && let Some(now) = proc_cpu_secs(pid)
        {
            m.insert("server_cpu_s".into(), json!(round(now - before, 3)));
        }
    }
}

pub fn round(x: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (x * p).round() / p
}

/// Percentile `q` (0..=1) in milliseconds of latencies in microseconds (sorted in place).
pub fn pct_ms(lat_us: &mut [u64], q: f64) -> Option<f64> {
    if lat_us.is_empty() {
        return None;
    }
    lat_us.sort_unstable();
    let idx = ((lat_us.len() as f64 - 1.0) * q).round() as usize;
    Some(round(lat_us[idx] as f64 / 1000.0, 3))
}

pub fn median_f(xs: &mut [f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(|a, b| a.total_cmp(b));
    Some(xs[xs.len() / 2])
}
