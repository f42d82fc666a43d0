//! `dialbook-bench`: the load client of `bench/run.sh`. Runs the scenarios of issue 5
//! against one CardDAV server (dialbook, Radicale or Xandikos) and prints one JSON line per
//! scenario on standard output. Traffic goes to 127.0.0.1 only.
//!
//! ```sh
//! dialbook-bench --server dialbook --book http://127.0.0.1:5232/dav/addressbooks/+442079460001/contacts/ \
//!     --user +442079460001 --password s3cret --n 1000 --scenarios s1,s2,s3,s4,s5,race,uplink
//! ```

mod data;
mod dav;
mod meter;
mod scenarios;

use std::io::Write as _;
use std::sync::Arc;

use clap::Parser;
use serde_json::{Value, json};

use crate::dav::{Dav, Kind};
use crate::scenarios::Ctx;

#[derive(Parser, Debug)]
#[command(
    name = "dialbook-bench",
    about = "CardDAV load client (one JSON line per scenario)"
)]
struct Args {
    /// Which server this is (decides setup and which scenarios apply).
    #[arg(long, value_enum)]
    server: Kind,
    /// Absolute URL of the address book under test (http://127.0.0.1:PORT/…/).
    #[arg(long)]
    book: String,
    /// Basic auth user (none for Xandikos).
    #[arg(long)]
    user: Option<String>,
    #[arg(long, env = "BENCH_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// Number of contacts (S1 creates them; the later scenarios expect them).
    #[arg(long, default_value_t = 1000)]
    n: usize,
    /// Comma-separated: setup,s1,s2,s3,s4,s5,race,uplink (in that order is sensible).
    #[arg(long, default_value = "setup,s1,s2,s3,s4,s5,race,uplink")]
    scenarios: String,
    /// PID of the server, to report its CPU per scenario.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Cap in seconds on any one scenario phase.
    #[arg(long, default_value_t = 300.0)]
    max_secs: f64,
    #[arg(long, default_value_t = 1000)]
    s4_requests: usize,
    /// Cap on repeated measurements: S3's repeats and S4 (a slow server answers fewer than
    /// --s4-requests; the line says so).
    #[arg(long, default_value_t = 60.0)]
    repeat_max_secs: f64,
    #[arg(long, default_value_t = 30.0)]
    s5_secs: f64,
    #[arg(long, default_value_t = 64)]
    s5_clients: usize,
    #[arg(long, default_value_t = 50)]
    race_trials: usize,
    /// Cards in the uplink (default: --n).
    #[arg(long)]
    uplink_n: Option<usize>,
    /// Xandikos only: the address book's git working tree; S1 then fills what its capped
    /// phases left out with one commit instead of PUTs.
    #[arg(long)]
    xandikos_repo: Option<std::path::PathBuf>,
    /// Label copied into every line.
    #[arg(long, default_value_t = 1)]
    round: u32,
}

fn emit(args: &Args, mut f: serde_json::Map<String, Value>) {
    let mut line = serde_json::Map::new();
    line.insert("server".into(), json!(args.server.name()));
    line.insert("n".into(), json!(args.n));
    line.insert("round".into(), json!(args.round));
    line.append(&mut f);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", Value::Object(line));
    let _ = out.flush();
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    // One thread: the client stays off the server's cores as much as it can, and its CPU
    // share is easy to read (fraction of one core).
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dialbook-bench: runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(&args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dialbook-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let dav = Dav::new(&args.book, args.user.as_deref(), args.password.as_deref())?;
    let ctx = Ctx {
        dav: Arc::new(dav),
        kind: args.server,
        n: args.n,
        server_pid: args.server_pid,
        max_secs: args.max_secs,
        s4_requests: args.s4_requests,
        repeat_max_secs: args.repeat_max_secs,
        s5_secs: args.s5_secs,
        s5_clients: args.s5_clients,
        race_trials: args.race_trials,
        uplink_n: args.uplink_n.unwrap_or(args.n),
        xandikos_repo: args.xandikos_repo.clone(),
    };
    for s in args
        .scenarios
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let res = match s {
            "setup" => scenarios::setup(&ctx).await.map(|()| Vec::new()),
            "s1" => scenarios::s1(&ctx).await,
            "s2" => scenarios::s2(&ctx).await.map(|f| vec![f]),
            "s3" => scenarios::s3(&ctx).await.map(|f| vec![f]),
            "s4" => scenarios::s4(&ctx).await.map(|f| vec![f]),
            "s5" => scenarios::s5(&ctx).await.map(|f| vec![f]),
            "race" => scenarios::race(&ctx).await.map(|f| vec![f]),
            "uplink" => scenarios::uplink(&ctx).await.map(|f| vec![f]),
            other => anyhow::bail!("unknown scenario {other:?}"),
        };
        match res {
            Ok(lines) => lines.into_iter().for_each(|f| emit(args, f)),
            // A failed scenario is a line too, so the table shows it instead of a gap.
            Err(e) => {
                let mut f = serde_json::Map::new();
                f.insert("scenario".into(), json!(s));
                f.insert("failed".into(), json!(format!("{e:#}")));
                emit(args, f);
                if s == "setup" {
                    return Err(e);
                }
            }
        }
    }
    Ok(())
}
