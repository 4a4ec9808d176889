//! `loadgen`: end-to-end load harness for Socket.IO v5 / Engine.IO v4 servers (and a raw
//! WebSocket baseline). See README.md beside Cargo.toml.

mod args;
mod broker;
mod proto;
mod scenarios;
mod suite;
mod svg;
mod sys;

use std::process::ExitCode;

use args::Args;
use proto::{Proto, Target};
use scenarios::{BcastCfg, Common, EchoCfg, IdleCfg};

const USAGE: &str = "\
loadgen: end-to-end load harness (Engine.IO v4 / Socket.IO v5 over WebSocket, or raw WebSocket)

USAGE
  loadgen echo      --port P | --url URL [--proto sio|raw] [options]
  loadgen broadcast --port P | --url URL [--proto sio|raw] [options]
  loadgen idle      --port P | --url URL [--proto sio|raw] [options]
  loadgen suite     [suite options]

Each scenario prints one JSON line on stdout and one human line on stderr.

COMMON OPTIONS (echo, broadcast, idle)
  --url URL            ws://127.x.y.z:PORT/... (loopback only); or --port P with the usual path:
                       sio: /socket.io/?EIO=4&transport=websocket, raw: /ws
  --proto sio|raw      wire protocol (default sio)
  --server-pid PID     read the server's CPU time and RSS from /proc/PID
  --warmup S           warm-up seconds before the window (default 2)
  --duration S         measured window in seconds (default 10)
  --concurrency N      connection attempts in flight while connecting (default 256)
  --connect-timeout S  per connection (default 10)
  --source-base N      first source address 127.0.0.N (default 1)
  --per-source N       connections per source address (default 20000)
  --threads N          runtime threads; 1 = current-thread runtime (default 1)
  --cpu N              pin the harness to CPU N (default: not pinned)

echo        --clients C (100) --inflight W (8) --payload BYTES (64)
broadcast   --clients C receivers (1000) --payload BYTES (64) --window N (8 broadcasts outstanding)
            --stall-ms MS (1000: send anyway after this long without a delivery)
idle        --clients C (10000) --settle S (3)

SUITE (starts each server pinned to --server-cpu, runs every scenario in-process)
  --rounds R           rounds, server order rotated each round (default 3)
  --quick              1 round, short windows, small client counts (about a minute)
  --servers LIST       among ours,socketioxide,node,raw (default: all four)
  --scenarios LIST     among echo,broadcast,idle,xnode (default: echo,broadcast,idle)
  --servers-dir DIR    where benches/servers lives (default: ../servers beside this crate)
  --out DIR            results directory (default: ../results beside this crate)
  --server-cpu N       CPU for the servers, via taskset (default 0)
  --client-cpu N       CPU for loadgen itself, via sched_setaffinity (default 1)
  --no-pin             pin nothing
  --warmup S --duration S          per run (default 2 and 10)
  --echo-clients C --inflight W    (default 100 and 8)
  --echo-payloads LIST             (default 64,4096)
  --bcast-clients LIST             (default 100,1000,5000,10000)
  --bcast-payload BYTES            (default 64)
  --idle-clients LIST              (default 10000)
  --xnode-clients LIST             (default 1000) xnode: two servers of each Socket.IO kind
                                   joined by a redis-server the suite starts on a free loopback
                                   port; receivers split between them, the sender on the first
  --settle S                       (default 3)
  --ping-interval-ms N --ping-timeout-ms N   passed on to the servers
  --threads N                      as above
";

fn common(a: &Args, threads: usize) -> Result<Common, String> {
    let proto = Proto::parse(&a.str("proto").unwrap_or_else(|| "sio".into()))?;
    let url = match (a.str("url"), a.opt::<u16>("port")?) {
        (Some(u), _) => u,
        (None, Some(p)) => proto.default_url(p),
        (None, None) => return Err("--url or --port is required".into()),
    };
    let mut target = Target::new(&url, proto)?;
    target.source_base = a.num("source-base", 1u8)?.max(1);
    target.per_source = a.num("per-source", 20_000usize)?.max(1);
    target.connect_timeout = a.secs("connect-timeout", 10.0)?;
    Ok(Common {
        target,
        server_pid: a.opt("server-pid")?,
        warmup: a.secs("warmup", 2.0)?,
        duration: a
            .secs("duration", 10.0)?
            .max(std::time::Duration::from_millis(100)),
        concurrency: a.num("concurrency", 256usize)?.max(1),
        threads,
    })
}

fn run(cmd: &str, a: &Args) -> Result<(), String> {
    let threads: usize = a.num("threads", 1usize)?.max(1);
    let limit = sys::raise_nofile();

    enum Job {
        Echo(Common, EchoCfg),
        Bcast(Common, BcastCfg),
        Idle(Common, IdleCfg),
        Suite(Box<suite::Cfg>),
    }
    let job = match cmd {
        "echo" => Job::Echo(
            common(a, threads)?,
            EchoCfg {
                clients: a.num("clients", 100)?,
                inflight: a.num("inflight", 8)?,
                payload: a.num("payload", 64)?,
            },
        ),
        "broadcast" => Job::Bcast(
            common(a, threads)?,
            BcastCfg {
                receivers: a.num("clients", 1000)?,
                payload: a.num("payload", 64)?,
                window: a.opt("window")?,
                stall: std::time::Duration::from_millis(a.num("stall-ms", 1000)?),
            },
        ),
        "idle" => Job::Idle(
            common(a, threads)?,
            IdleCfg {
                clients: a.num("clients", 10_000)?,
                settle: a.secs("settle", 3.0)?,
            },
        ),
        "suite" => Job::Suite(Box::new(suite::Cfg::from_args(a, threads)?)),
        other => return Err(format!("unknown command {other:?}\n\n{USAGE}")),
    };
    let pin = match &job {
        Job::Suite(s) => s.client_cpu,
        _ => a.opt("cpu")?,
    };
    a.finish()?;

    // Affinity is inherited by threads created later: set it before the runtime exists.
    if let Some(cpu) = pin {
        sys::pin_to_cpu(cpu)?;
    }
    let rt = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .map_err(|e| format!("runtime: {e}"))?;
    eprintln!(
        "loadgen: open-file limit {limit}, {} runtime thread(s){}",
        threads,
        pin.map(|c| format!(", pinned to CPU {c}"))
            .unwrap_or_default()
    );

    rt.block_on(async move {
        let r = match job {
            Job::Suite(s) => return suite::run(*s).await,
            Job::Echo(c, e) => scenarios::echo(&c, &e).await?,
            Job::Bcast(c, b) => scenarios::broadcast(&c, &b).await?,
            Job::Idle(c, i) => scenarios::idle(&c, &i).await?,
        };
        println!("{r}");
        eprintln!("{}", scenarios::human(&r));
        Ok(())
    })
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = argv.first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    if matches!(cmd.as_str(), "-h" | "--help" | "help") || argv.iter().any(|a| a == "--help") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let res = Args::parse(&argv[1..]).and_then(|a| run(cmd, &a));
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}
