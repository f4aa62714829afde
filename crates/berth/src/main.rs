//! `berth`: the command line. Thin: it parses arguments, opens the data directory, and hands
//! over to the library crates.

mod datadir;
mod hangup;
mod progress;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

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
    /// Run a container agent: register a container instance with berth and run the tasks
    /// placed on it on the local Docker Engine (credentials from the standard AWS settings).
    Agent(AgentArgs),
    /// Run the control plane and an agent on cluster `default` in one process.
    Up(ServerArgs),
    /// Explain, without running anything, whether a task definition's start would succeed.
    Doctor(DoctorArgs),
    /// Copy the data directory's database to a new file, online (the server may be running).
    Backup(BackupArgs),
    /// Copy a data directory's SQLite store, every table and key, into an empty PostgreSQL
    /// database (then run `berth server --database-url` with the same data directory or root
    /// key). The data directory's server must be stopped.
    Migrate(MigrateArgs),
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
    #[command(flatten)]
    http: HttpArgs,
    #[command(flatten)]
    tls: TlsArgs,
    /// This server's name among the replicas sharing one --database-url: the owner of its
    /// Fargate tasks' leases and of its service scheduler's claims. A replica restarted with
    /// its id takes its own tasks up again (docs/postgres.md). Default: the id kept in the data
    /// directory's `replica-id` (random, made on the first start).
    #[arg(long, env = "BERTH_REPLICA_ID")]
    replica_id: Option<String>,
    /// Certificates to trust besides the machine's (PEM) when berth itself calls out over
    /// HTTPS: an OIDC issuer's discovery document and keys (AssumeRoleWithWebIdentity).
    #[arg(long, env = "AWS_CA_BUNDLE")]
    ca_file: Option<PathBuf>,
}

/// TLS on the listener (plain HTTP without these).
#[derive(clap::Args)]
struct TlsArgs {
    /// The listener's certificate chain (PEM: the server's certificate first, then
    /// intermediates); re-read with --tls-key on SIGHUP.
    #[arg(long, env = "BERTH_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC).
    #[arg(long, env = "BERTH_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

#[derive(clap::Args)]
struct BackupArgs {
    #[command(flatten)]
    data: DataDirArg,
    /// The new file to write (refused if it exists).
    #[arg(long)]
    to: PathBuf,
}

/// The HTTP listener's bounds (see `berth_api::listen`).
#[derive(clap::Args)]
struct HttpArgs {
    /// Open connections at most (lowered to what the open-files limit allows). At the cap a new
    /// connection closes the longest-idle one, or is answered 503 when all are busy.
    #[arg(long, default_value_t = 10_000, env = "BERTH_MAX_CONNECTIONS")]
    max_connections: usize,
    /// Seconds a request's line and headers may take to arrive.
    #[arg(long, default_value = "10", value_parser = seconds, env = "BERTH_HEADER_TIMEOUT")]
    header_timeout: std::time::Duration,
    /// Seconds a keep-alive connection may wait for its next request.
    #[arg(long, default_value = "60", value_parser = seconds, env = "BERTH_IDLE_TIMEOUT")]
    idle_timeout: std::time::Duration,
    /// Seconds a request's body may take to arrive after its headers.
    #[arg(long, default_value = "30", value_parser = seconds, env = "BERTH_BODY_TIMEOUT")]
    body_timeout: std::time::Duration,
}

fn seconds(s: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("not a number of seconds: {s}"))?;
    std::time::Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("not a positive number of seconds: {s}"))
}

impl HttpArgs {
    /// The listener's limits, after raising the open-files limit as far as it goes.
    fn limits(&self) -> berth_api::listen::Limits {
        let mut max_connections = self.max_connections.max(1);
        match berth_api::listen::raise_fd_limit() {
            Ok(fds) => {
                let within = berth_api::listen::connections_within(max_connections, fds);
                if within < max_connections {
                    tracing::warn!(
                        requested = max_connections,
                        max_connections = within,
                        open_files_limit = fds,
                        "the open-files limit lowers the connection cap"
                    );
                }
                max_connections = within;
            }
            Err(e) => tracing::warn!(error = %e, "could not raise the open-files limit"),
        }
        berth_api::listen::Limits {
            max_connections,
            header_timeout: self.header_timeout,
            idle_timeout: self.idle_timeout,
            body_timeout: self.body_timeout,
            ..berth_api::listen::Limits::default()
        }
    }
}

#[derive(clap::Args)]
struct AgentArgs {
    /// berth's endpoint, e.g. http://127.0.0.1:4599 or https://berth.example.com:4599.
    #[arg(long, env = "BERTH_ENDPOINT")]
    endpoint: String,
    /// Certificates to trust for an https endpoint besides the machine's (PEM).
    #[arg(long, env = "AWS_CA_BUNDLE")]
    ca_file: Option<PathBuf>,
    /// The cluster to join; it must exist (aws ecs create-cluster --cluster-name NAME), except
    /// `default`, which berth creates.
    #[arg(long, env = "ECS_CLUSTER", default_value = "default")]
    cluster: String,
    /// Register as an EXTERNAL (ECS Anywhere) container instance instead of EC2.
    #[arg(long)]
    external: bool,
    /// The agent's own registry credentials from a file (`ECS_ENGINE_AUTH_TYPE=` /
    /// `ECS_ENGINE_AUTH_DATA=` lines, or the JSON data alone), re-read when it changes and on
    /// SIGHUP.
    #[arg(long, env = "ECS_ENGINE_AUTH_FILE")]
    engine_auth_file: Option<PathBuf>,
    /// Where to keep the container instance ARN between runs, so a restarted agent
    /// re-registers the same instance even when it left no containers (the ECS agent keeps it
    /// in its data directory).
    #[arg(long, env = "BERTH_AGENT_INSTANCE_FILE")]
    instance_file: Option<PathBuf>,
}

#[derive(clap::Args, Clone)]
struct DataDirArg {
    /// Where berth keeps its state (default: $XDG_DATA_HOME/berth or ~/.local/share/berth).
    #[arg(long, env = "BERTH_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Keep the state in this PostgreSQL database (postgres://user:password@host:port/db,
    /// `?sslmode=require` for TLS) instead of the data directory's SQLite file; the root key
    /// stays in the data directory or BERTH_ROOT_KEY (docs/postgres.md).
    #[arg(long, env = "BERTH_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

#[derive(clap::Args)]
struct MigrateArgs {
    /// The data directory whose berth.db is copied.
    #[arg(long, env = "BERTH_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The PostgreSQL database to copy into; it must hold no berth data.
    #[arg(long, hide_env_values = true)]
    to: String,
}

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("source").args(["task_definition", "file", "service"])))]
struct DoctorArgs {
    #[command(flatten)]
    data: DataDirArg,
    /// The task definition's account.
    #[arg(long, default_value = "000000000000", env = "BERTH_ACCOUNT_ID")]
    account_id: String,
    /// The region the task would run in.
    #[arg(long, default_value = "us-east-1", env = "AWS_DEFAULT_REGION")]
    region: String,
    /// A registered task definition: FAMILY, FAMILY:REVISION or its ARN.
    #[arg(long)]
    task_definition: Option<String>,
    /// A task definition as JSON (RegisterTaskDefinition's input).
    #[arg(long)]
    file: Option<PathBuf>,
    /// A service (with --cluster): why it is not steady, in order: cluster, service, its task
    /// definition, capacity, placement constraints, stopped tasks, circuit breaker.
    #[arg(long, requires = "cluster")]
    service: Option<String>,
    /// The principal that would call RunTask (default: the account's root user).
    #[arg(long)]
    caller_arn: Option<String>,
    /// Look for container instances in this cluster only.
    #[arg(long)]
    cluster: Option<String>,
    /// Also try the credentials against the image's registry (GET /v2/).
    #[arg(long)]
    registry_check: bool,
    /// Certificates the registry check trusts besides the machine's (PEM).
    #[arg(long, env = "AWS_CA_BUNDLE")]
    ca_file: Option<PathBuf>,
    /// `text` (one line per check) or `json` (the structured report).
    #[arg(long, value_enum, default_value = "text")]
    output: DoctorOutput,
    /// Check this host instead of a task definition: what the task endpoint on 169.254.170.2
    /// (task roles, task metadata) needs.
    #[arg(long, conflicts_with = "source")]
    host: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum DoctorOutput {
    Text,
    Json,
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
    hangup::note_at_start();
    let cli = Cli::parse();
    let bars = init_logging(cli.log_format);
    let pulls = bars.map(|b| b as Arc<dyn berth_agent::PullObserver>);
    match cli.command {
        Command::Server(args) => server(args, pulls),
        Command::Agent(args) => agent(args, pulls),
        Command::Up(args) => up(args, pulls),
        Command::Doctor(args) => doctor(args),
        Command::Backup(args) => backup(args),
        Command::Migrate(args) => migrate(args),
        Command::Account {
            command: AccountCommand::Create { account_id, data },
        } => account_create(&account_id, data),
    }
}

/// Text or JSON logs on standard error. With text logs on a terminal, image pulls also get
/// progress bars (returned, to hand to the agent) and log lines are printed around them.
fn init_logging(format: LogFormat) -> Option<Arc<progress::Bars>> {
    use std::io::IsTerminal;
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // The doctor's HTTP client traces every byte it sends, the registry's credentials
    // included: never logged, whatever RUST_LOG asks.
    if let Ok(quiet) = "ureq_proto=off".parse() {
        filter = filter.add_directive(quiet);
    }
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text if std::io::stderr().is_terminal() => {
            let bars = progress::Bars::new();
            builder.with_writer(bars.log_writer()).init();
            Some(bars)
        }
        LogFormat::Text => {
            // No colour codes in a log file.
            builder.with_writer(std::io::stderr).with_ansi(false).init();
            None
        }
        LogFormat::Json => {
            builder.with_writer(std::io::stderr).json().init();
            None
        }
    }
}

/// The control plane, ready to serve: its state, its data directory, and the default
/// account's root credentials when they are known in this process.
struct Prepared {
    state: Arc<berth_control::Control>,
    dir: DataDir,
    root: Option<berth_agent::Credentials>,
    /// The data directory's server lock: held while this is open.
    lock: std::fs::File,
    /// The listener's certificate, with --tls-cert and --tls-key.
    tls: Option<Arc<berth_tls::ServerCert>>,
    /// With PostgreSQL: the listener that wakes this server's long polls on every replica's
    /// commits (stops when dropped).
    listener: Option<berth_store::postgres::Listener>,
    /// This server's replica id (--replica-id).
    replica: String,
}

fn prepare_server(args: &ServerArgs) -> anyhow::Result<Prepared> {
    if !berth_core::ids::is_account_id(&args.account_id) {
        bail!(
            "--account-id must be twelve digits, not {:?}",
            args.account_id
        );
    }
    // Before anything is opened: a certificate that cannot serve stops the start.
    let tls = match (&args.tls.tls_cert, &args.tls.tls_key) {
        (Some(cert), Some(key)) => {
            let loaded =
                berth_tls::ServerCert::load(cert, key).context("--tls-cert / --tls-key")?;
            tracing::info!(cert = %cert.display(), sha256 = %loaded.fingerprint(), "TLS certificate loaded");
            Some(loaded)
        }
        _ => None,
    };
    if let Some(id) = &args.replica_id
        && !berth_control::ecs::valid_replica_id(id)
    {
        bail!("--replica-id must be 1 to 64 letters, digits, '.', '_' or '-', not {id:?}");
    }
    let dir =
        DataDir::open(args.data.data_dir.clone())?.with_database(args.data.database_url.clone());
    let lock = dir.lock_for_server()?;
    // Before anything listens: a server whose key does not open its data never says ready.
    let (db, root_key) = dir.open_sealed()?;
    // Other replicas' commits wake this server's long polls as its own do.
    let listener = match &db {
        datadir::Db::Postgres(pg) => Some(pg.listen_changes(berth_control::polls::notify_changes)?),
        datadir::Db::Sqlite(_) => None,
    };
    let replica = match &args.replica_id {
        Some(id) => id.clone(),
        None => dir.replica_id()?,
    };
    tracing::info!(replica = %replica, "replica id");
    let store = db.into_store();
    let iam = berth_iam::Iam::new(store.as_ref(), &root_key);
    // ListSecrets' order index: built once for a data dir written before it existed.
    berth_secrets::Secrets::new(store.as_ref()).ensure_order_index()?;
    let env_key = std::env::var("BERTH_ROOT_ACCESS_KEY_ID")
        .ok()
        .filter(|s| !s.is_empty());
    let env_secret = std::env::var("BERTH_ROOT_SECRET_ACCESS_KEY")
        .ok()
        .filter(|s| !s.is_empty());
    let mut root = None;
    match (env_key, env_secret.map(zeroize::Zeroizing::new)) {
        (Some(id), Some(secret)) => {
            iam.ensure_root_key(&args.account_id, &id, &secret, berth_core::time::now_secs())?;
            tracing::info!(account = %args.account_id, access_key_id = %id, "root credentials from the environment");
            root = Some(berth_agent::Credentials::new(&id, &secret, None));
        }
        (None, None) => {
            if iam.root_key_ids(&args.account_id)?.is_empty() {
                let creds = iam.create_account(&args.account_id, berth_core::time::now_secs())?;
                dir.write_credentials(&creds.access_key_id, &creds.secret_access_key)?;
                tracing::info!(
                    account = %args.account_id,
                    path = %dir.credentials_path().display(),
                    "generated root credentials (profile berth)"
                );
                root = Some(berth_agent::Credentials::new(
                    &creds.access_key_id,
                    &creds.secret_access_key,
                    None,
                ));
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
    // Regions berth answers to besides AWS's own, for a test or lab setup that wants names of
    // its own (comma-separated).
    let extra = std::env::var("BERTH_EXTRA_REGIONS").unwrap_or_default();
    let regions = berth_core::ids::Regions::with_extra(&extra)
        .with_context(|| format!("BERTH_EXTRA_REGIONS={extra:?}"))?;
    if !regions.extra().is_empty() {
        tracing::info!(extra_regions = ?regions.extra(), "regions from BERTH_EXTRA_REGIONS");
    }
    let state = Arc::new(
        berth_control::Control::new(store, root_key, clock_offset_secs)
            .with_regions(regions)
            .with_ca_file(args.ca_file.clone()),
    );
    Ok(Prepared {
        state,
        dir,
        root,
        lock,
        tls,
        listener,
        replica,
    })
}

async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<berth_control::Control>,
    limits: berth_api::listen::Limits,
    tls: Option<Arc<berth_tls::ServerCert>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    reload_on_hangup(tls.clone());
    let console = berth_console::Options {
        secure_cookies: tls.is_some(),
    };
    let tls = match tls {
        Some(cert) => Some(cert.server_config()?),
        None => None,
    };
    berth_api::listen::serve_tls(
        listener,
        berth_api::router(state.clone()).merge(berth_console::router_with(state, console)),
        limits,
        tls,
        async move {
            shutdown.await;
            // Agents' long polls would hold their connections for up to 20 s: answer them now.
            berth_control::polls::release();
        },
    )
    .await
    .context("serving")
}

/// SIGHUP: reads the listener's certificate and key again; the next handshake serves them. A
/// pair that cannot serve is logged and the one in use stays. Without TLS a SIGHUP is logged
/// and changes nothing. (A SIGHUP stops berth only when its terminal went away: see
/// [`hangup`].)
fn reload_on_hangup(cert: Option<Arc<berth_tls::ServerCert>>) {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(mut hup) => {
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    let Some(cert) = cert.clone() else {
                        tracing::info!("SIGHUP: no TLS certificate to reload");
                        continue;
                    };
                    let c = cert.clone();
                    match tokio::task::spawn_blocking(move || c.reload()).await {
                        Ok(Ok(sha256)) => {
                            tracing::info!(cert = %cert.cert_path().display(), %sha256, "SIGHUP: TLS certificate reloaded");
                        }
                        Ok(Err(e)) => {
                            tracing::warn!(error = %e, sha256 = %cert.fingerprint(), "SIGHUP: TLS certificate not reloaded; keeping the one in use");
                        }
                        Err(e) => tracing::warn!(error = %e, "SIGHUP: TLS reload failed"),
                    }
                }
            });
        }
        Err(e) => {
            tracing::warn!(error = %e, "no SIGHUP handler: the TLS certificate is not reloaded")
        }
    }
}

/// How this process calls its own listener (the Fargate capacity, `berth up`'s agent, the
/// task endpoint's API proxy): plain HTTP, or TLS trusting exactly the certificate served.
fn self_client(
    addr: SocketAddr,
    tls: Option<&Arc<berth_tls::ServerCert>>,
) -> anyhow::Result<(
    String,
    berth_agent::ApiClient,
    Option<Arc<berth_tls::rustls::ClientConfig>>,
)> {
    let host = self_address(addr);
    let (url, config) = match tls {
        Some(cert) => (format!("https://{host}"), Some(cert.self_client_config()?)),
        None => (format!("http://{host}"), None),
    };
    let client =
        berth_agent::ApiClient::new(&url, config.clone()).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((url, client, config))
}

/// berth's Fargate capacity as the control plane hands it work: in process, through the
/// domain (the runner is part of the control plane, as AWS's Fargate is), except for the
/// registry secret, which goes over the API signed with the task's execution-role credentials.
struct InProcessFargate {
    state: Arc<berth_control::Control>,
    client: berth_agent::ApiClient,
    /// The server replica whose leases the runner runs under, and their length in seconds.
    replica: Arc<str>,
    lease: u64,
}

fn control_to_api(e: berth_control::Error) -> berth_agent::ApiError {
    let e = berth_api::WireError::from(e);
    berth_agent::ApiError::Service {
        code: e.code,
        message: e.message.unwrap_or_default(),
        status: e.status.as_u16(),
        request_id: String::new(),
    }
}

/// A state change that does not decode as the use case's input.
fn shape_error(e: serde_json::Error) -> berth_control::Error {
    berth_control::Error::Serialization(format!(
        "request does not match the operation's input shape: {e}"
    ))
}

impl InProcessFargate {
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&berth_control::Control) -> Result<T, berth_control::Error> + Send + 'static,
    ) -> Result<T, berth_agent::ApiError> {
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || f(&state))
            .await
            .map_err(|e| berth_agent::ApiError::Transport(format!("fargate: {e}")))?
            .map_err(control_to_api)
    }
}

impl berth_agent::TaskControl for InProcessFargate {
    async fn submit_task_state_change(
        &self,
        input: serde_json::Value,
    ) -> Result<(), berth_agent::ApiError> {
        self.blocking(move |s| {
            let change = serde_json::from_value(input).map_err(shape_error)?;
            berth_control::ecs::fargate_task_state_change(s, change)
        })
        .await
    }

    async fn submit_container_state_change(
        &self,
        input: serde_json::Value,
    ) -> Result<(), berth_agent::ApiError> {
        self.blocking(move |s| {
            let change = serde_json::from_value(input).map_err(shape_error)?;
            berth_control::ecs::fargate_container_state_change(s, change)
        })
        .await
    }

    async fn get_secret_string(
        &self,
        secret_id: &str,
        region: &str,
        creds: &berth_agent::Credentials,
    ) -> Result<Option<zeroize::Zeroizing<String>>, berth_agent::ApiError> {
        berth_agent::control::get_secret_string(&self.client, secret_id, region, creds).await
    }

    async fn get_secret_version(
        &self,
        request: &berth_agent::control::SecretVersion,
        region: &str,
        creds: &berth_agent::Credentials,
    ) -> Result<Option<zeroize::Zeroizing<String>>, berth_agent::ApiError> {
        berth_agent::control::get_secret_version(&self.client, request, region, creds).await
    }

    async fn get_parameters(
        &self,
        names: &[String],
        region: &str,
        creds: &berth_agent::Credentials,
    ) -> Result<berth_agent::control::Parameters, berth_agent::ApiError> {
        berth_agent::control::get_parameters(&self.client, names, region, creds).await
    }

    async fn logs_call(
        &self,
        operation: &str,
        input: serde_json::Value,
        region: &str,
        creds: Option<&berth_agent::Credentials>,
    ) -> Result<serde_json::Value, berth_agent::ApiError> {
        // Fargate has no credentials of its own for a task's logs: registration requires an
        // execution role for awslogs.
        let Some(creds) = creds else {
            return Err(berth_agent::ApiError::Transport(
                "fargate: no execution role credentials for CloudWatch Logs".into(),
            ));
        };
        berth_agent::control::logs_call(&self.client, operation, &input, region, creds).await
    }

    async fn log_tail(
        &self,
        task_arn: &str,
        region: &str,
        group: &str,
        stream: &str,
        limit: usize,
        _creds: Option<&berth_agent::Credentials>,
    ) -> Result<Vec<u64>, berth_agent::ApiError> {
        let account = task_arn.split(':').nth(4).unwrap_or("").to_string();
        let (region, group, stream) = (region.to_string(), group.to_string(), stream.to_string());
        self.blocking(move |s| {
            berth_control::logs::stream_tail(s, &account, &region, &group, &stream, limit)
        })
        .await
    }
}

impl berth_agent::FargateControl for InProcessFargate {
    async fn poll(
        &self,
        seq: Option<u64>,
    ) -> Result<berth_agent::FargateAssignment, berth_agent::ApiError> {
        let wait = std::time::Duration::from_secs(berth_agent::control::POLL_WAIT_SECONDS);
        let started = std::time::Instant::now();
        // Each look is brief; between looks the poll awaits the next change (or its deadline)
        // without holding a thread.
        let poll = loop {
            let (replica, lease) = (self.replica.clone(), self.lease);
            let looked = self
                .blocking(move |s| {
                    berth_control::ecs::fargate_poll(s, &replica, lease, seq, started, wait)
                })
                .await?;
            match looked {
                berth_control::polls::Polled::Ready(poll) => break poll,
                berth_control::polls::Polled::Wait(w) => {
                    berth_api::services::ecs::wait_for_change(w).await;
                }
            }
        };
        Ok(berth_agent::FargateAssignment {
            seq: poll.seq,
            tasks_to_start: poll.tasks_to_start.into_iter().map(|w| w.task).collect(),
            tasks_to_stop: poll.tasks_to_stop.into_iter().map(|w| w.task_arn).collect(),
        })
    }
}

/// Runs berth's Fargate capacity on the local Docker Engine until `shutdown`; without a
/// reachable Docker it logs why and Fargate tasks stay PROVISIONING.
async fn run_fargate(
    state: Arc<berth_control::Control>,
    client: berth_agent::ApiClient,
    replica: &str,
    pulls: Option<Arc<dyn berth_agent::PullObserver>>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let host = std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty());
    let runtime = match berth_agent::DockerRuntime::connect(host.as_deref()).await {
        Ok(r) => match pulls {
            Some(observer) => r.with_pull_observer(observer),
            None => r,
        },
        Err(e) => {
            tracing::warn!(error = %e, "no docker: fargate tasks stay PROVISIONING");
            return;
        }
    };
    let control = InProcessFargate {
        state,
        client,
        replica: replica.into(),
        lease: scheduler_timing().1,
    };
    berth_agent::FargateRunner::new(Arc::new(runtime), Arc::new(control))
        .run(shutdown)
        .await;
}

/// The service scheduler's period (1 s; `BERTH_SERVICE_SCHEDULER_MS` sets it in
/// milliseconds) and the length in seconds of a claim or lease renewed every period: five
/// periods, at least 5 s.
fn scheduler_timing() -> (std::time::Duration, u64) {
    let period = std::env::var("BERTH_SERVICE_SCHEDULER_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|ms| (50..=60_000).contains(ms))
        .map_or(
            std::time::Duration::from_secs(1),
            std::time::Duration::from_millis,
        );
    (period, (period.as_secs() * 5).max(5))
}

/// Runs the ECS service scheduler until `shutdown`: every period (see [`scheduler_timing`]),
/// a pass of `berth_control::ecs::reconcile_services` under a claim of replica `owner` on each
/// service that lasts the lease and is given up when the scheduler stops, then a pass of
/// `berth_control::ecs::fargate_leases` (the replica's Fargate leases renewed, the tasks of
/// replicas whose leases lapsed stopped as on a lost host).
async fn run_scheduler(
    state: Arc<berth_control::Control>,
    owner: String,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let (period, lease) = scheduler_timing();
    tokio::pin!(shutdown);
    loop {
        let s = state.clone();
        let o = owner.clone();
        match tokio::task::spawn_blocking(move || {
            berth_control::ecs::reconcile_services(&s, &o, lease)
        })
        .await
        {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "service scheduler pass failed"),
            Err(e) => tracing::warn!(error = %e, "service scheduler pass panicked"),
        }
        let (s, o) = (state.clone(), owner.clone());
        match tokio::task::spawn_blocking(move || berth_control::ecs::fargate_leases(&s, &o, lease))
            .await
        {
            Ok(Ok(lost)) => {
                for task in lost {
                    tracing::warn!(task = %task, "fargate task's replica lost its lease: stopped as on a lost host");
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "fargate lease pass failed"),
            Err(e) => tracing::warn!(error = %e, "fargate lease pass panicked"),
        }
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tokio::time::sleep(period) => {}
        }
    }
    // The next server on this data directory takes the services up at once.
    let released =
        tokio::task::spawn_blocking(move || berth_control::ecs::release_claims(&state, &owner))
            .await;
    if let Ok(Err(e)) = released {
        tracing::warn!(error = %e, "releasing the service scheduler's claims");
    }
}

/// Where this process reaches its own listener (loopback for an unspecified address).
fn self_address(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
    } else {
        addr
    }
}

fn server(
    args: ServerArgs,
    pulls: Option<Arc<dyn berth_agent::PullObserver>>,
) -> anyhow::Result<()> {
    let Prepared {
        state,
        dir,
        lock: _lock,
        tls,
        listener: _listener,
        replica,
        ..
    } = prepare_server(&args)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        let addr = listener.local_addr()?;
        let limits = args.http.limits();
        let (_, client, _) = self_client(addr, tls.as_ref())?;
        tracing::info!(listen = %addr, tls = tls.is_some(), data_dir = %dir.path().display(), max_connections = limits.max_connections, "berth server ready");
        let stop = shutdown_watch();
        let endpoint = task_endpoint(&client).await;
        tokio::spawn({
            let (state, replica, shutdown) = (state.clone(), replica.clone(), stopped(stop.clone()));
            async move { run_fargate(state, client, &replica, pulls, shutdown).await }
        });
        tokio::spawn(run_scheduler(
            state.clone(),
            replica.clone(),
            stopped(stop.clone()),
        ));
        let server = serve(listener, state, limits, tls, stopped(stop.clone()));
        tokio::pin!(server);
        let result = tokio::select! {
            r = &mut server => r,
            _ = async {
                stopped(stop).await;
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } => {
                tracing::info!("requests still open after the grace period; exiting");
                Ok(())
            }
        };
        if let Some(e) = endpoint {
            e.close();
        }
        result
    });
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    result
}

/// How long a stopping server waits for open requests (agents' long polls are answered at once
/// when it stops: `berth_control::polls::release`).
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// A shutdown signal ([`shutdown_signal`]) that several tasks can wait for.
fn shutdown_watch() -> tokio::sync::watch::Receiver<bool> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = tx.send(true);
    });
    rx
}

async fn stopped(mut rx: tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

fn agent(args: AgentArgs, pulls: Option<Arc<dyn berth_agent::PullObserver>>) -> anyhow::Result<()> {
    let credentials = berth_agent::credentials_from_environment().map_err(anyhow::Error::msg)?;
    // Checked before anything starts: the endpoint's form and, for https, what is trusted.
    let tls = if args.endpoint.starts_with("https://") {
        Some(
            berth_tls::client_config(args.ca_file.as_deref())
                .context("--ca-file / AWS_CA_BUNDLE")?,
        )
    } else {
        None
    };
    let client = berth_agent::ApiClient::new(&args.endpoint, tls.clone())
        .map_err(|e| anyhow::anyhow!("--endpoint: {e}"))?;
    let instance_attributes =
        berth_agent::instance_attributes_from_environment().map_err(anyhow::Error::msg)?;
    let region = berth_agent::region_from_environment();
    let opts = berth_agent::AgentOptions {
        endpoint: args.endpoint,
        tls,
        cluster: args.cluster,
        external: args.external,
        credentials,
        availability_zone: berth_agent::zone_from_environment(&region),
        instance_attributes,
        region,
        docker_host: std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()),
        instance_file: args.instance_file,
        engine_auth: Arc::new(berth_agent::EngineAuthSource::from_environment(
            args.engine_auth_file,
        )),
        pull_observer: pulls,
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let endpoint = task_endpoint(&client).await;
        let result = berth_agent::run_agent(opts, shutdown_signal()).await;
        if let Some(e) = endpoint {
            e.close();
        }
        result
    })?;
    Ok(())
}

/// `berth doctor --host`: what the task endpoint needs on this host, and the fixes.
fn doctor_host(output: DoctorOutput) -> anyhow::Result<()> {
    let checks = berth_agent::hostnet::check();
    match output {
        DoctorOutput::Json => {
            let list: Vec<serde_json::Value> = checks
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "check": "task-endpoint", "ok": c.ok, "reason": c.reason, "fix": c.fix,
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({ "checks": list }))?
            );
        }
        DoctorOutput::Text => {
            println!("host");
            for c in &checks {
                let status = if c.ok { "ok  " } else { "FAIL" };
                println!("{status} task-endpoint: {}", c.reason);
                if let Some(fix) = &c.fix {
                    for (i, line) in fix.lines().enumerate() {
                        let lead = if i == 0 { "fix: " } else { "     " };
                        println!("     {lead}{line}");
                    }
                }
            }
        }
    }
    if checks.iter().any(|c| !c.ok) {
        std::process::exit(1);
    }
    Ok(())
}

/// The task endpoint on 169.254.170.2 (credentials, metadata, the API proxy to the endpoint
/// `client` calls, on TLS when it does), on the local Docker Engine; `None` without Docker (no
/// task runs here then).
async fn task_endpoint(
    client: &berth_agent::ApiClient,
) -> Option<berth_agent::endpoint::EndpointHandle> {
    let host = std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty());
    let docker = berth_agent::DockerRuntime::connect(host.as_deref())
        .await
        .ok()?;
    Some(
        berth_agent::endpoint::start(
            client.authority().to_string(),
            client.tls().cloned(),
            docker,
        )
        .await,
    )
}

/// `berth up`: the server and an agent on cluster `default`, signed with the default
/// account's root credentials, in one process.
fn up(args: ServerArgs, pulls: Option<Arc<dyn berth_agent::PullObserver>>) -> anyhow::Result<()> {
    let Prepared {
        state,
        dir,
        root,
        lock: _lock,
        tls,
        listener: _listener,
        replica,
    } = prepare_server(&args)?;
    let credentials = match root {
        Some(c) => c,
        None => {
            let path = dir.credentials_path();
            let text = zeroize::Zeroizing::new(std::fs::read_to_string(&path).with_context(|| {
                format!(
                    "the agent needs the root credentials: set BERTH_ROOT_ACCESS_KEY_ID and BERTH_ROOT_SECRET_ACCESS_KEY, or keep {}",
                    path.display()
                )
            })?);
            berth_agent::run::profile_credentials(&text, "berth")
                .with_context(|| format!("no profile berth in {}", path.display()))?
        }
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        let addr = listener.local_addr()?;
        let (url, client, self_tls) = self_client(addr, tls.as_ref())?;
        let stop = shutdown_watch();
        let limits = args.http.limits();
        tracing::info!(listen = %addr, tls = tls.is_some(), data_dir = %dir.path().display(), max_connections = limits.max_connections, "berth server ready");
        let instance_attributes =
            berth_agent::instance_attributes_from_environment().map_err(anyhow::Error::msg)?;
        let region = berth_agent::region_from_environment();
        let opts = berth_agent::AgentOptions {
            endpoint: url,
            tls: self_tls,
            cluster: "default".to_string(),
            external: false,
            credentials,
            availability_zone: berth_agent::zone_from_environment(&region),
            instance_attributes,
            region,
            docker_host: std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()),
            instance_file: Some(dir.path().join("agent-instance")),
            engine_auth: Arc::new(berth_agent::EngineAuthSource::from_environment(None)),
            pull_observer: pulls.clone(),
        };
        let endpoint = task_endpoint(&client).await;
        tokio::spawn({
            let (state, replica, shutdown) = (state.clone(), replica.clone(), stopped(stop.clone()));
            async move { run_fargate(state, client, &replica, pulls, shutdown).await }
        });
        tokio::spawn(run_scheduler(
            state.clone(),
            replica.clone(),
            stopped(stop.clone()),
        ));
        let server = tokio::spawn(serve(listener, state, limits, tls, stopped(stop.clone())));
        let ran = berth_agent::run_agent(opts, stopped(stop)).await;
        if let Some(e) = endpoint {
            e.close();
        }
        ran?;
        // The server answers the long polls as it stops; give it a moment to finish, then go.
        match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
            Ok(joined) => joined.context("the server task")?,
            Err(_) => Ok(()),
        }
    });
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    result
}

/// SIGINT, SIGTERM, or a SIGHUP because the terminal berth runs in went away (see
/// [`hangup`]).
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let gone = hangup::terminal_gone();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
                _ = gone => {},
            }
        }
        Err(_) => {
            tokio::select! {
                _ = ctrl_c => {},
                _ = gone => {},
            }
        }
    }
    tracing::info!("shutting down");
}

fn account_create(account_id: &str, data: DataDirArg) -> anyhow::Result<()> {
    let argv: Vec<String> = std::env::args().collect();
    let dir = open_for_command(data, &argv)?;
    let (db, root_key) = dir.open_sealed()?;
    let iam = berth_iam::Iam::new(db.as_store(), &root_key);
    let creds = iam.create_account(account_id, berth_core::time::now_secs())?;
    let out = serde_json::json!({
        "AccountId": creds.account_id,
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key.as_str(),
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// Prints one check as `berth doctor` does: status, kind, container, reason, then the fix.
fn print_check(c: &berth_doctor::CheckResult) {
    let status = if c.ok {
        "ok  "
    } else if c.skipped() {
        "skip"
    } else {
        "FAIL"
    };
    let container = c
        .container
        .as_deref()
        .map(|n| format!(" [{n}]"))
        .unwrap_or_default();
    println!("{status} {}{container}: {}", c.check.as_str(), c.reason);
    // A fix of commands (and `#` comments) on lines of its own, indented, to paste into a
    // shell as it is; a fix in words after `fix: `.
    if let Some(fix) = &c.fix {
        if fix.starts_with("aws ") || fix.starts_with("# ") {
            println!("     fix:");
            for line in fix.lines() {
                println!("       {line}");
            }
        } else {
            for (i, line) in fix.lines().enumerate() {
                let lead = if i == 0 { "fix: " } else { "     " };
                println!("     {lead}{line}");
            }
        }
    }
}

/// `berth doctor --service NAME --cluster C`.
fn doctor_service(args: &DoctorArgs, service: &str) -> anyhow::Result<()> {
    let argv: Vec<String> = std::env::args().collect();
    let dir = open_for_command(args.data.clone(), &argv)?;
    let (db, root_key) = dir.open_sealed()?;
    let report = berth_doctor::diagnose_service(
        db.as_store(),
        &root_key,
        &berth_doctor::ServiceOptions {
            account: args.account_id.clone(),
            region: args.region.clone(),
            cluster: args.cluster.clone().unwrap_or_default(),
            service: service.to_string(),
            caller_arn: args.caller_arn.clone(),
            now: berth_core::time::now_secs(),
        },
    )?;
    match args.output {
        DoctorOutput::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        DoctorOutput::Text => {
            println!("service {} in cluster {}", report.service, report.cluster);
            for c in &report.checks {
                print_check(c);
            }
        }
    }
    if !report.passed() {
        std::process::exit(1);
    }
    Ok(())
}

/// `berth backup --to FILE`: SQLite's online backup of `berth.db` (see
/// `berth_store::backup`). The root key is not in it: the backup opens only beside the same
/// `root.key` (or `BERTH_ROOT_KEY`).
fn backup(args: BackupArgs) -> anyhow::Result<()> {
    if args
        .data
        .database_url
        .as_deref()
        .is_some_and(|u| !u.is_empty())
    {
        bail!(
            "berth backup copies the embedded SQLite store; the state is in PostgreSQL (--database-url / BERTH_DATABASE_URL): back it up with pg_dump (docs/deploy.md)"
        );
    }
    let argv: Vec<String> = std::env::args().collect();
    let dir = DataDir::open_existing(args.data.data_dir, &argv)?;
    let db = dir.db_path();
    let summary = berth_store::backup(&db, &args.to)
        .with_context(|| format!("backing up {} to {}", db.display(), args.to.display()))?;
    println!(
        "backed up {} to {} ({} bytes, schema version {}); it opens only with this data directory's root key (root.key or BERTH_ROOT_KEY): keep a copy of the key apart from the backup",
        db.display(),
        args.to.display(),
        summary.bytes,
        summary.schema_version
    );
    Ok(())
}

fn doctor(args: DoctorArgs) -> anyhow::Result<()> {
    if args.host {
        return doctor_host(args.output);
    }
    if let Some(service) = &args.service {
        return doctor_service(&args, service);
    }
    if args.task_definition.is_none() && args.file.is_none() {
        // As clap words a missing required group.
        let cli = <Cli as clap::CommandFactory>::command();
        let cmd = cli.find_subcommand("doctor").cloned().unwrap_or(cli);
        cmd.bin_name("berth doctor")
            .error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "the following required arguments were not provided:\n  <--task-definition <TASK_DEFINITION>|--file <FILE>|--service <SERVICE>>",
            )
            .exit();
    }
    let source = match (&args.task_definition, &args.file) {
        (Some(r), _) => berth_doctor::Source::Registered(r.clone()),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let doc = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", path.display()))?;
            berth_doctor::Source::Document(doc)
        }
        (None, None) => bail!("give --task-definition or --file"),
    };
    let argv: Vec<String> = std::env::args().collect();
    let dir = open_for_command(args.data, &argv)?;
    let (db, root_key) = dir.open_sealed()?;
    let report = berth_doctor::diagnose(
        db.as_store(),
        &root_key,
        &berth_doctor::Options {
            account: args.account_id,
            region: args.region,
            source,
            caller_arn: args.caller_arn,
            cluster: args.cluster,
            registry_check: args.registry_check,
            ca_file: args.ca_file,
            now: berth_core::time::now_secs(),
        },
    )?;
    match args.output {
        DoctorOutput::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        DoctorOutput::Text => {
            println!("task definition {}", report.task_definition);
            for c in &report.checks {
                print_check(c);
            }
        }
    }
    if !report.passed() {
        std::process::exit(1);
    }
    Ok(())
}

/// The data directory of a command that uses one (`berth doctor`, `berth account create`):
/// an existing one (nothing is created); with a database URL (the state is in the database)
/// a directory with a `root.key` is one too.
fn open_for_command(data: DataDirArg, argv: &[String]) -> anyhow::Result<DataDir> {
    match data.database_url.filter(|u| !u.is_empty()) {
        Some(url) => {
            Ok(DataDir::open_existing_with(data.data_dir, argv, true)?.with_database(Some(url)))
        }
        None => DataDir::open_existing(data.data_dir, argv),
    }
}

/// `berth migrate --to URL`: the data directory's SQLite store copied into an empty
/// PostgreSQL database, in one transaction (all of it or nothing).
fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let argv: Vec<String> = std::env::args().collect();
    let dir = DataDir::open_existing(args.data_dir, &argv)?;
    // No server may change the source meanwhile.
    let _lock = dir.lock_for_server()?;
    let source = dir.store()?;
    let target = datadir::connect_postgres(&args.to)?;
    let copied = berth_store::copy_into_empty(&source, &target)
        .with_context(|| format!("copying into {}", datadir::redact(&args.to)))?;
    tracing::info!(
        records = copied.records,
        tables = copied.tables,
        from = %dir.path().display(),
        to = %datadir::redact(&args.to),
        "copied the store"
    );
    println!(
        "copied {} records of {} tables from {} to {}; run berth with --database-url and the same \
         data directory (its root.key) or BERTH_ROOT_KEY",
        copied.records,
        copied.tables,
        dir.path().display(),
        datadir::redact(&args.to)
    );
    Ok(())
}
