//! `berth`: the command line. Thin: it parses arguments, opens the data directory, and hands
//! over to the library crates.

mod datadir;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};

use crate::datadir::DataDir;

#[derive(Parser)]
#[command(
    name = "berth",
    version,
    about = "Amazon ECS task definitions on your own machines, with the AWS security model intact"
)]
struct Cli {
    /// Log format on standard error.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "BERTH_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the control plane: ECS, Secrets Manager, KMS, IAM and STS on one port.
    Server(ServerArgs),
    /// Manage accounts.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
}

#[derive(clap::Args)]
struct ServerArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:4599", env = "BERTH_LISTEN")]
    listen: SocketAddr,
    #[command(flatten)]
    data: DataDirArg,
    /// The default account's id.
    #[arg(long, default_value = "000000000000", env = "BERTH_ACCOUNT_ID")]
    account_id: String,
}

#[derive(clap::Args)]
struct DataDirArg {
    /// Where berth keeps its state (default: $XDG_DATA_HOME/berth or ~/.local/share/berth).
    #[arg(long, env = "BERTH_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Add an account and print its root credentials as JSON. Works while the server runs.
    Create {
        /// Twelve digits.
        account_id: String,
        #[command(flatten)]
        data: DataDirArg,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match cli.command {
        Command::Server(args) => server(args),
        Command::Account {
            command: AccountCommand::Create { account_id, data },
        } => account_create(&account_id, data),
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn server(args: ServerArgs) -> anyhow::Result<()> {
    if !berth_core::ids::is_account_id(&args.account_id) {
        bail!(
            "--account-id must be twelve digits, not {:?}",
            args.account_id
        );
    }
    let dir = DataDir::open(args.data.data_dir)?;
    let root_key = dir.root_key()?;
    let store = Arc::new(dir.store()?);
    let iam = berth_iam::Iam::new(store.as_ref(), &root_key);
    let env_key = std::env::var("BERTH_ROOT_ACCESS_KEY_ID")
        .ok()
        .filter(|s| !s.is_empty());
    let env_secret = std::env::var("BERTH_ROOT_SECRET_ACCESS_KEY")
        .ok()
        .filter(|s| !s.is_empty());
    match (env_key, env_secret.map(zeroize::Zeroizing::new)) {
        (Some(id), Some(secret)) => {
            iam.ensure_root_key(&args.account_id, &id, &secret, unix_now())?;
            tracing::info!(account = %args.account_id, access_key_id = %id, "root credentials from the environment");
        }
        (None, None) => {
            if iam.root_key_ids(&args.account_id)?.is_empty() {
                let creds = iam.create_account(&args.account_id, unix_now())?;
                dir.write_credentials(&creds.access_key_id, &creds.secret_access_key)?;
                tracing::info!(
                    account = %args.account_id,
                    path = %dir.credentials_path().display(),
                    "generated root credentials (profile berth)"
                );
            }
        }
        _ => {
            bail!("set both BERTH_ROOT_ACCESS_KEY_ID and BERTH_ROOT_SECRET_ACCESS_KEY, or neither")
        }
    }
    // A testing aid: shifts berth's clock to see credentials expire without waiting.
    let clock_offset_secs = match std::env::var("BERTH_CLOCK_OFFSET_SECS") {
        Ok(v) => v
            .parse()
            .with_context(|| format!("BERTH_CLOCK_OFFSET_SECS={v:?}"))?,
        Err(_) => 0,
    };
    if clock_offset_secs != 0 {
        tracing::warn!(
            clock_offset_secs,
            "clock shifted by BERTH_CLOCK_OFFSET_SECS"
        );
    }
    let state = Arc::new(berth_api::ApiState {
        store,
        root_key,
        clock_offset_secs,
    });
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        tracing::info!(listen = %listener.local_addr()?, data_dir = %dir.path().display(), "berth server ready");
        axum::serve(
            listener,
            berth_api::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("serving")
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
            }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
    tracing::info!("shutting down");
}

fn account_create(account_id: &str, data: DataDirArg) -> anyhow::Result<()> {
    let dir = DataDir::open(data.data_dir)?;
    let root_key = dir.root_key()?;
    let store = dir.store()?;
    let iam = berth_iam::Iam::new(&store, &root_key);
    let creds = iam.create_account(account_id, unix_now())?;
    let out = serde_json::json!({
        "AccountId": creds.account_id,
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key.as_str(),
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
