//! The command line: `serve`, `account add|list|passwd|remove`, `migrate`.
//!
//! Stable surface (scripts and tests depend on it): `dialbook serve --listen ADDR
//! --data-dir DIR`, `--database-url URL` / `DATABASE_URL`, `dialbook account add NUMBER
//! --password-stdin --data-dir DIR`, and `GET /health` once serving.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::ConflictPolicy;
use crate::config::{Config, Overrides};
use crate::storage::StorageError;
use crate::storage::prelude::*;

#[derive(Parser, Debug)]
#[command(
    name = "dialbook",
    version,
    about = "CardDAV server in which every account is a phone number"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// TOML config file.
    #[arg(long, global = true, env = "DIALBOOK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory (SQLite database lives here unless --database-url is given).
    #[arg(long, global = true, env = "DIALBOOK_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(long, global = true, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Default region (ISO 3166-1 alpha-2) for numbers typed without a country code.
    #[arg(long, global = true, env = "DIALBOOK_REGION")]
    pub region: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server (creates the database and a first account on first run).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "DIALBOOK_LISTEN")]
        listen: Option<SocketAddr>,
        /// Base URL to print for clients (e.g. https://dav.example.org behind a proxy).
        #[arg(long, env = "DIALBOOK_PUBLIC_URL")]
        public_url: Option<String>,
        /// Number for the first account when the database has none.
        #[arg(long, env = "DIALBOOK_FIRST_NUMBER", default_value = crate::server::FIRST_NUMBER)]
        first_number: String,
        /// What a PUT with a stale If-Match does: merge, reject, client-wins, server-wins.
        #[arg(long, env = "DIALBOOK_CONFLICT_POLICY", value_parser = parse_policy)]
        conflict_policy: Option<ConflictPolicy>,
    },
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCmd),
    /// Run database migrations and exit.
    Migrate,
    /// Upload a .vcf file (one or many cards) into an account's address book through the
    /// item-level merge: matching contacts are merged, the rest created; running it twice
    /// changes nothing.
    Import {
        /// The account's phone number.
        number: String,
        /// The vCard file.
        file: PathBuf,
        /// The address book (URL segment).
        #[arg(long, default_value = crate::carddav::DEFAULT_ADDRESSBOOK)]
        book: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum AccountCmd {
    /// Create an account; prints a generated password unless --password-stdin is given.
    Add {
        number: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts.
    List,
    /// Set a new password (generated, or read from standard input).
    Passwd {
        number: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Delete an account and all its data.
    Remove { number: String },
}

fn parse_policy(s: &str) -> Result<ConflictPolicy, String> {
    ConflictPolicy::parse(s)
        .ok_or_else(|| format!("{s:?}: use merge, reject, client-wins or server-wins"))
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DIALBOOK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut o = Overrides {
        config_file: cli.global.config.clone(),
        data_dir: cli.global.data_dir.clone(),
        database_url: cli.global.database_url.clone(),
        region: cli.global.region.clone(),
        ..Default::default()
    };
    if let Command::Serve {
        listen,
        public_url,
        conflict_policy,
        ..
    } = &cli.command
    {
        o.listen = *listen;
        o.public_url = public_url.clone();
        o.conflict_policy = *conflict_policy;
    }
    let config = Config::load(&o)?;
    match cli.command {
        Command::Serve { first_number, .. } => serve(config, &first_number).await,
        Command::Migrate => {
            crate::server::open_storage(&config, None).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::Account(cmd) => account(config, cmd).await,
        Command::Import { number, file, book } => import(config, &number, &file, &book).await,
    }
}

async fn serve(config: Config, first_number: &str) -> anyhow::Result<()> {
    let storage = crate::server::open_storage(&config, None).await?;
    let number = account_number(first_number, config.region.as_deref())
        .map_err(|e| anyhow::anyhow!("--first-number: {e}"))?;
    let first = crate::server::ensure_first_account(storage.as_ref(), &number.e164).await?;
    if first.is_some() {
        warn_if_unallocated(&number);
    }
    // Handlers first, so a signal right after the listening line drains the server.
    let signal = crate::http::shutdown_signal();
    let running = crate::server::start(config, storage).await?;
    let base = running.app.config.base_url();
    if let Some(f) = first {
        println!("Created the first account (shown only this once):");
        println!("  phone number: {}", f.phone);
        println!("  password:     {}", f.password);
        println!("  server URL:   {base}/");
        println!(
            "Give a contacts app (iOS, DAVx5, Thunderbird) the server URL, the number and the password."
        );
    }
    tracing::info!(addr = %running.addr, "serving");
    println!("dialbook listening on {base}/");
    signal.await;
    running.stop().await
}

async fn import(
    config: Config,
    number: &str,
    file: &std::path::Path,
    book: &str,
) -> anyhow::Result<()> {
    let storage = crate::server::open_storage(&config, None).await?;
    let phone = account_number(number, config.region.as_deref())?.e164;
    let account = storage
        .account_by_phone(&phone)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no account {phone}"))?;
    storage
        .ensure_collections(account.id, &crate::app::default_collections())
        .await?;
    let coll = storage
        .get_collection(
            account.id,
            crate::storage::CollectionKind::Addressbook,
            book,
        )
        .await?
        .ok_or_else(|| anyhow::anyhow!("{phone} has no address book {book:?}"))?;
    let body =
        std::fs::read(file).map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
    let now = crate::carddav::put::rev_now();
    let opts = crate::carddav::uplink::UplinkOptions {
        region: crate::phone::data_region(config.region.as_deref(), &account.phone),
        max_resource_size: config.limits.max_resource_size,
        now: &now,
    };
    let report = crate::carddav::uplink::apply(storage.as_ref(), &coll, &body, None, &opts).await?;
    println!(
        "{}: {} created, {} merged, {} unchanged",
        file.display(),
        report.created,
        report.merged,
        report.unchanged
    );
    Ok(())
}

/// Reads an account number for the CLI: refuses what cannot be a phone number, with
/// what to do instead.
fn account_number(n: &str, region: Option<&str>) -> anyhow::Result<crate::phone::Normalized> {
    crate::phone::check(n, region).map_err(|_| {
        anyhow::anyhow!(
            "{n:?} is not a phone number: use the international form (+44 20 7946 0000) \
             or set --region for national numbers; letters, extensions and short codes \
             are refused"
        )
    })
}

/// Warns (on standard error) that a new account's number has the length of a number
/// but lies in a range the numbering metadata does not know; it is accepted, since the
/// metadata lags the numbering plans.
fn warn_if_unallocated(n: &crate::phone::Normalized) {
    if !n.allocated {
        eprintln!(
            "warning: {} has the length of a number but lies in a range the numbering \
             data does not know (a new or fictional range); accepted",
            n.e164
        );
    }
}

fn read_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        let p = s.trim_end_matches(['\r', '\n']).to_string();
        if p.is_empty() {
            anyhow::bail!("empty password on standard input");
        }
        Ok((p, false))
    } else {
        Ok((crate::http::auth::generate_password(), true))
    }
}

async fn account(config: Config, cmd: AccountCmd) -> anyhow::Result<()> {
    let storage = crate::server::open_storage(&config, None).await?;
    let norm = |n: &str| account_number(n, config.region.as_deref()).map(|n| n.e164);
    match cmd {
        AccountCmd::Add {
            number,
            password_stdin,
        } => {
            let checked = account_number(&number, config.region.as_deref())?;
            let phone = checked.e164.clone();
            let (password, generated) = read_password(password_stdin)?;
            let hash = crate::http::auth::hash_password(password.clone()).await?;
            match storage.create_account(&phone, &hash).await {
                Ok(_) => {}
                Err(StorageError::AlreadyExists) => anyhow::bail!("account {phone} already exists"),
                Err(e) => return Err(e.into()),
            }
            warn_if_unallocated(&checked);
            println!("created account {phone}");
            if generated {
                println!("password: {password}");
            }
        }
        AccountCmd::List => {
            for a in storage.list_accounts().await? {
                println!("{}", a.phone);
            }
        }
        AccountCmd::Passwd {
            number,
            password_stdin,
        } => {
            let phone = norm(&number)?;
            let (password, generated) = read_password(password_stdin)?;
            let hash = crate::http::auth::hash_password(password.clone()).await?;
            match storage.set_password(&phone, &hash).await {
                Ok(()) => {}
                Err(StorageError::NotFound) => anyhow::bail!("no account {phone}"),
                Err(e) => return Err(e.into()),
            }
            println!("password changed for {phone}");
            if generated {
                println!("password: {password}");
            }
        }
        AccountCmd::Remove { number } => {
            let phone = norm(&number)?;
            match storage.delete_account(&phone).await {
                Ok(()) => println!("removed account {phone}"),
                Err(StorageError::NotFound) => anyhow::bail!("no account {phone}"),
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}
