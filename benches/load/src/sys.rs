//! Linux process facts: CPU time and RSS from /proc, the open-file limit, CPU affinity.

use std::fs;
use std::time::Instant;

/// Clock ticks per second of the `utime`/`stime` fields of /proc/<pid>/stat.
pub fn clk_tck() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as u64 } else { 100 }
}

/// utime + stime of a process (all its threads) in clock ticks; `None` = this process.
pub fn cpu_ticks(pid: Option<u32>) -> Result<u64, String> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let s = fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    let rest = s
        .rfind(')')
        .map(|i| &s[i + 1..])
        .ok_or_else(|| format!("{path}: unexpected format"))?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime is field 14, stime field 15.
    let num = |i: usize| -> Result<u64, String> {
        f.get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| format!("{path}: no field {}", i + 3))
    };
    Ok(num(11)? + num(12)?)
}

/// VmRSS of a process in KiB.
pub fn vm_rss_kib(pid: Option<u32>) -> Result<u64, String> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".to_string(),
    };
    let s = fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("{path}: no VmRSS"))
}

/// The soft "Max open files" limit of another process, from /proc/<pid>/limits.
pub fn nofile_of(pid: u32) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = s.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Raises the soft RLIMIT_NOFILE of this process to its hard limit (children inherit it).
/// Returns the soft limit now in force. The hard limit is never raised: when a run needs more
/// descriptors than the hard limit, the caller says so and stops.
pub fn raise_nofile() -> u64 {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read/write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return 1024;
        }
        if r.rlim_cur < r.rlim_max {
            let want = libc::rlimit {
                rlim_cur: r.rlim_max,
                rlim_max: r.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                r.rlim_cur = r.rlim_max;
            }
        }
    }
    r.rlim_cur
}

/// The current soft RLIMIT_NOFILE.
pub fn nofile() -> u64 {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 {
        return 1024;
    }
    r.rlim_cur
}

/// Fails with a clear message when `conns` sockets cannot be opened under the file limit.
pub fn check_fds(conns: usize) -> Result<(), String> {
    let limit = nofile();
    let need = conns as u64 + 64;
    if need > limit {
        return Err(format!(
            "{conns} connections need about {need} open files in this process (and as many in \
             the server), but the open-file limit is {limit} (soft = hard after raising). \
             Lower the client count to at most {}, or raise the hard limit before starting \
             (as root: `ulimit -Hn N; ulimit -n N` in the shell that runs loadgen and the server).",
            limit.saturating_sub(64)
        ));
    }
    Ok(())
}

/// Pins the calling thread (and every thread it creates afterwards) to one CPU.
/// Call before the runtime starts its threads.
pub fn pin_to_cpu(cpu: usize) -> Result<(), String> {
    // SAFETY: cpu_set_t is plain data; CPU_SET is bounds-checked against CPU_SETSIZE below.
    unsafe {
        if cpu >= libc::CPU_SETSIZE as usize {
            return Err(format!("cpu {cpu} out of range"));
        }
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(format!(
                "sched_setaffinity(cpu {cpu}): {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    Ok(())
}

/// Sets IP_BIND_ADDRESS_NO_PORT on a socket (best effort).
pub fn bind_address_no_port(sock: &impl std::os::fd::AsRawFd) {
    let one: libc::c_int = 1;
    // SAFETY: setsockopt reads `one` for the given length; the fd is open for the call.
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// Number of online CPUs of the machine (not of this process's affinity mask).
pub fn online_cpus() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    if n > 0 { n as usize } else { 1 }
}

/// The one CPU a process may run on, if its affinity allows exactly one.
pub fn single_cpu(pid: Option<u32>) -> Option<usize> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".to_string(),
    };
    let s = fs::read_to_string(path).ok()?;
    let v = s
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?
        .trim();
    v.parse().ok()
}

/// Sends SIGTERM to a process.
pub fn sigterm(pid: u32) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGTERM);
    }
}

/// Per CPU: (busy, total) jiffies from /proc/stat; busy is everything but idle and iowait
/// (softirq included: on loopback, most of TCP's work runs there).
fn cpu_stat() -> Vec<(u64, u64)> {
    let s = fs::read_to_string("/proc/stat").unwrap_or_default();
    s.lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .map(|l| {
            let v: Vec<u64> = l
                .split_whitespace()
                .skip(1)
                .take(8)
                .filter_map(|x| x.parse().ok())
                .collect();
            let total: u64 = v.iter().sum();
            let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
            (total - idle, total)
        })
        .collect()
}

/// CPU time of the harness and (optionally) the server over a window.
#[derive(Debug, Clone)]
pub struct CpuWindow {
    t0: Instant,
    self0: u64,
    /// The server side's processes (one server, or a cluster's servers and its broker) and
    /// their ticks at the start.
    server: Vec<(u32, u64)>,
    cpus0: Vec<(u64, u64)>,
    harness_cpu: Option<usize>,
    server_cpu: Option<usize>,
}

/// The outcome of a [`CpuWindow`].
#[derive(Debug, Clone)]
pub struct CpuUse {
    /// Wall-clock seconds of the window.
    pub wall_s: f64,
    /// CPU seconds of the harness (utime + stime) over the window.
    pub harness_s: f64,
    /// CPU seconds of the server over the window, when its pid is known and readable (the sum
    /// over the server side's processes when there are several).
    pub server_s: Option<f64>,
    /// CPU seconds of each of the server side's processes, in the order given to
    /// [`CpuWindow::start_all`] (`None` where one could not be read).
    pub per_pid_s: Vec<Option<f64>>,
    /// How busy each CPU of the machine was (percent), whoever ran there: shows other load
    /// (and the kernel's softirq work for loopback TCP, charged to no process).
    pub cpus_busy_pct: Vec<f64>,
    /// When the harness and/or the server are pinned to one CPU each: the largest share of
    /// such a CPU that its pinned process did not use (other processes, and the softirq work
    /// of loopback TCP, which is usually 5-15 %). Much more means the run was disturbed.
    pub other_load_pct: Option<f64>,
}

impl CpuUse {
    /// Harness CPU in percent of one core.
    pub fn harness_pct(&self) -> f64 {
        100.0 * self.harness_s / self.wall_s
    }
    /// Server CPU in percent of one core.
    pub fn server_pct(&self) -> Option<f64> {
        self.server_s.map(|s| 100.0 * s / self.wall_s)
    }
}

impl CpuWindow {
    /// Starts a window now.
    pub fn start(server_pid: Option<u32>) -> Self {
        Self::start_all(server_pid.as_slice())
    }

    /// Starts a window now over several server-side processes (a cluster's servers and its
    /// broker), whose CPU is added up; they count as pinned when all are on the same one CPU.
    pub fn start_all(server_pids: &[u32]) -> Self {
        let server = server_pids
            .iter()
            .map(|&p| (p, cpu_ticks(Some(p)).unwrap_or(u64::MAX)))
            .collect();
        let cpus: Vec<Option<usize>> = server_pids.iter().map(|&p| single_cpu(Some(p))).collect();
        let server_cpu = match cpus.first() {
            Some(&first) if cpus.iter().all(|&c| c == first) => first,
            _ => None,
        };
        Self {
            t0: Instant::now(),
            self0: cpu_ticks(None).unwrap_or(0),
            server,
            cpus0: cpu_stat(),
            harness_cpu: single_cpu(None),
            server_cpu,
        }
    }

    /// Ends the window now.
    pub fn end(&self) -> CpuUse {
        let wall_s = self.t0.elapsed().as_secs_f64().max(1e-9);
        let tck = clk_tck() as f64;
        let self1 = cpu_ticks(None).unwrap_or(self.self0);
        let per_pid_s: Vec<Option<f64>> = self
            .server
            .iter()
            .map(|&(p, t0)| {
                cpu_ticks(Some(p))
                    .ok()
                    .filter(|_| t0 != u64::MAX)
                    .map(|t1| t1.saturating_sub(t0) as f64 / tck)
            })
            .collect();
        let server_s = if per_pid_s.is_empty() {
            None
        } else {
            per_pid_s.iter().copied().sum::<Option<f64>>()
        };
        let cpus_busy_pct: Vec<f64> = cpu_stat()
            .iter()
            .zip(&self.cpus0)
            .map(|(&(b1, t1), &(b0, t0))| {
                let t = t1.saturating_sub(t0);
                if t == 0 {
                    0.0
                } else {
                    (1000.0 * b1.saturating_sub(b0) as f64 / t as f64).round() / 10.0
                }
            })
            .collect();
        let harness_s = self1.saturating_sub(self.self0) as f64 / tck;
        let mut other: Option<f64> = None;
        let mut note = |cpu: Option<usize>, used_s: Option<f64>| {
            if let (Some(c), Some(u)) = (cpu, used_s)
                && let Some(b) = cpus_busy_pct.get(c)
            {
                let o = (b - 100.0 * u / wall_s).max(0.0);
                other = Some(other.map_or(o, |x: f64| x.max(o)));
            }
        };
        note(self.harness_cpu, Some(harness_s));
        if self.server_cpu != self.harness_cpu {
            note(self.server_cpu, server_s);
        }
        CpuUse {
            wall_s,
            harness_s,
            server_s,
            per_pid_s,
            cpus_busy_pct,
            other_load_pct: other.map(|o| (o * 10.0).round() / 10.0),
        }
    }
}
