//! The `almanach` command line: `serve`, `user …`, `academie …`, `directory import`,
//! `visio policy …`, `import calendar|contacts`.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::app::AppState;
use crate::config::{self, Config, FileConfig, LogFormat, SecretString};
use crate::directory::{self, NewUser};
use crate::store::{self, SharedStore};

#[derive(Parser, Debug)]
#[command(name = "almanach", version, about = "CalDAV/CardDAV agenda and contacts server")]
pub struct Cli {
    /// TOML configuration file (keys as in docs/operations.md).
    #[arg(long, global = true, env = "ALMANACH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB [default: sqlite://./data/almanach.db]
    #[arg(long, global = true, env = "ALMANACH_DATABASE")]
    pub database: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

// `serve`'s many options make its variant the largest; a command is
// parsed once per run.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage académies (tenants), grouped into regions.
    #[command(subcommand)]
    Academie(AcademieCommand),
    /// The national directory of accounts.
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// Visio rooms in invitations (BigBlueButton).
    #[command(subcommand)]
    Visio(VisioCommand),
    /// Quota usage (RFC 4331).
    #[command(subcommand)]
    Quota(QuotaCommand),
    /// Migrate other servers' exports into a user's calendar or address
    /// book. Never sends an invitation or an email. Exits 3 when some
    /// items were refused (the others are in).
    #[command(subcommand)]
    Import(ImportCommand),
    /// The server's configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Copy a SQLite database, consistent as of one moment, to a new
    /// file while the server runs (PostgreSQL: use pg_dump).
    Backup {
        /// The backup file to write (must not exist).
        file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Validate the configuration (file, environment, options as `serve`
    /// takes them), connect to the database and report its migrations,
    /// then print every setting the server would use, secrets hidden.
    /// Exits 1 on any error.
    Check(ServeArgs),
}

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Import .ics files (one resource per UID, overrides kept together)
    /// into a calendar.
    Calendar {
        user: String,
        /// The calendar's name in the user's calendar home (created when
        /// missing) [default: the default calendar]
        #[arg(long)]
        calendar: Option<String>,
        /// Replace an event stored with other content (default: keep it)
        #[arg(long)]
        replace: bool,
        /// .ics files, or directories read recursively for .ics files
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Import .vcf files (vCard 3.0 or 4.0, one resource per card) into an
    /// address book.
    Contacts {
        user: String,
        /// The address book's name in the user's address book home
        /// (created when missing) [default: the default address book]
        #[arg(long)]
        addressbook: Option<String>,
        /// Replace a card stored with other content (default: keep it)
        #[arg(long)]
        replace: bool,
        /// .vcf files, or directories read recursively for .vcf files
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum QuotaCommand {
    /// Recount the bytes every collection holds (the database keeps them
    /// on each write) and correct those that drifted; prints how many.
    /// Writes wait while it runs.
    Recount,
}

#[derive(Subcommand, Debug)]
pub enum VisioCommand {
    /// Which meetings get a visio room: per account, per académie.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Set the policy of an account or of an académie (the default of its
    /// accounts): auto, keyword, off, or default (remove it: the académie's,
    /// then the server's `visio_policy` applies).
    Set {
        /// auto | keyword | off | default
        policy: String,
        #[arg(long, conflicts_with = "academie", required_unless_present = "academie")]
        user: Option<String>,
        #[arg(long)]
        academie: Option<String>,
    },
    /// Show the policy that applies to an account (and where it comes
    /// from), or every académie's.
    Show {
        #[arg(long)]
        user: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum DirectoryCommand {
    /// Create or update accounts from a CSV file (format in docs/operations.md).
    /// Exits 1 when rows were rejected, after importing every good row.
    Import {
        file: PathBuf,
        /// Rows per transaction.
        #[arg(long, default_value_t = 2000)]
        batch: usize,
    },
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8008]
    #[arg(long, env = "ALMANACH_LISTEN")]
    pub listen: Option<std::net::SocketAddr>,
    /// Address serving GET /metrics (Prometheus), apart from the public one
    /// [default: none]
    #[arg(long, env = "ALMANACH_METRICS_LISTEN")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Public base URL used in absolute links, e.g. https://agenda.example.fr [default: http://LISTEN]
    #[arg(long, env = "ALMANACH_BASE_URL")]
    pub base_url: Option<String>,
    /// Log format [default: text]
    #[arg(long, env = "ALMANACH_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Largest accepted request body in bytes [default: 20971520]
    #[arg(long, env = "ALMANACH_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// SMTP relay for email invitations (iMIP): smtp://HOST[:PORT],
    /// smtp+starttls://USER:PASS@HOST[:587] or smtps://USER:PASS@HOST[:465]
    #[arg(long, env = "ALMANACH_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<SecretString>,
    /// Sending address of invitations, e.g. "Almanach <agenda@agenda.example.fr>"
    #[arg(long, env = "ALMANACH_IMIP_FROM")]
    pub imip_from: Option<String>,
    /// Domain of the reply addresses (reply+TOKEN@DOMAIN)
    #[arg(long, env = "ALMANACH_IMIP_REPLY_DOMAIN")]
    pub imip_reply_domain: Option<String>,
    /// Address of the LMTP listener receiving replies, e.g. 127.0.0.1:2424
    #[arg(long, env = "ALMANACH_LMTP_LISTEN")]
    pub lmtp_listen: Option<std::net::SocketAddr>,
    /// Largest message the LMTP listener accepts, in bytes [default: 10485760]
    #[arg(long, env = "ALMANACH_LMTP_MAX_MESSAGE_BYTES")]
    pub lmtp_max_message_bytes: Option<usize>,
    /// Académies whose agents' busy time only their own agents may see
    /// (comma-separated slugs)
    #[arg(long, env = "ALMANACH_FREEBUSY_PRIVATE_ACADEMIES", value_delimiter = ',')]
    pub freebusy_private_academies: Option<Vec<String>>,
    /// BigBlueButton (or Scalelite) API base of visio rooms, e.g.
    /// https://visio.example.fr/bigbluebutton/ [default: no rooms]
    #[arg(long, env = "ALMANACH_BBB_URL")]
    pub bbb_url: Option<String>,
    /// BigBlueButton's shared secret
    #[arg(long, env = "ALMANACH_BBB_SECRET", hide_env_values = true)]
    pub bbb_secret: Option<SecretString>,
    /// Hash of BBB checksums: sha1, sha256, sha384, sha512 [default: sha256]
    #[arg(long, env = "ALMANACH_BBB_CHECKSUM")]
    pub bbb_checksum: Option<String>,
    /// Which meetings get a room when neither the account nor its académie
    /// says: auto, keyword, off [default: auto]
    #[arg(long, env = "ALMANACH_VISIO_POLICY")]
    pub visio_policy: Option<String>,
    /// The word that asks for a room under the keyword policy [default: visio]
    #[arg(long, env = "ALMANACH_VISIO_KEYWORD")]
    pub visio_keyword: Option<String>,
    /// Account page: a session ends after this many seconds without a
    /// request [default: 3600]
    #[arg(long, env = "ALMANACH_SESSION_IDLE_TIMEOUT_SECS")]
    pub session_idle_timeout_secs: Option<u64>,
    /// Account page: a session ends this many seconds after its login
    /// [default: 43200]
    #[arg(long, env = "ALMANACH_SESSION_MAX_AGE_SECS")]
    pub session_max_age_secs: Option<u64>,
    /// OpenID Connect issuer of the account page's login (e.g. ProConnect)
    #[arg(long, env = "ALMANACH_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// OpenID Connect client id
    #[arg(long, env = "ALMANACH_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,
    /// OpenID Connect client secret
    #[arg(long, env = "ALMANACH_OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<SecretString>,
    /// The ID token claim naming the account: email, sub or
    /// preferred_username [default: email]
    #[arg(long, env = "ALMANACH_OIDC_CLAIM")]
    pub oidc_claim: Option<String>,
    /// The provider's name on the login button
    #[arg(long, env = "ALMANACH_OIDC_LABEL")]
    pub oidc_label: Option<String>,
    /// The word that asks for a room whose meetings may be recorded
    /// [default: visio-enregistrée]
    #[arg(long, env = "ALMANACH_VISIO_RECORD_KEYWORD")]
    pub visio_record_keyword: Option<String>,
    /// Phone number of the BBB dial-in, written with each room's code into
    /// invitations [default: no dial-in]
    #[arg(long, env = "ALMANACH_BBB_DIAL_NUMBER")]
    pub bbb_dial_number: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Add {
        username: String,
        /// Read the password from standard input (one line).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Email address (repeatable; the first is the primary one).
        #[arg(long = "email")]
        emails: Vec<String>,
        #[arg(long)]
        display_name: Option<String>,
        /// Académie slug the user belongs to.
        #[arg(long)]
        academie: Option<String>,
        /// Give the account administrator rights.
        #[arg(long)]
        admin: bool,
        /// Given name (national directory, vCard N).
        #[arg(long)]
        given_name: Option<String>,
        /// Family name (national directory, vCard N).
        #[arg(long)]
        family_name: Option<String>,
        /// Job title (national directory, vCard TITLE).
        #[arg(long)]
        title: Option<String>,
        /// Telephone number (national directory, vCard TEL).
        #[arg(long)]
        phone: Option<String>,
    },
    /// Change a user's password (read from standard input).
    Passwd {
        username: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Refuse all further logins of a user.
    Disable { username: String },
    /// Allow a disabled user to log in again.
    Enable { username: String },
    /// Delete a user and everything it owns.
    Delete { username: String },
    /// List users.
    List,
}

#[derive(Subcommand, Debug)]
pub enum AcademieCommand {
    /// Create an académie.
    Add {
        slug: String,
        #[arg(long)]
        name: String,
        /// Region slug (created when missing).
        #[arg(long)]
        region: Option<String>,
    },
    /// List académies.
    List,
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("cannot open database {url}: {source}")]
    Database { url: String, source: store::StoreError },
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: std::net::SocketAddr, source: std::io::Error },
    #[error("cannot read the password from standard input: {0}")]
    Stdin(std::io::Error),
    #[error(transparent)]
    Directory(#[from] directory::DirectoryError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Import(#[from] directory::import::ImportError),
    #[error("no such user: {0}")]
    UnknownUser(String),
    #[error("no such académie: {0}")]
    UnknownAcademie(String),
    #[error("the database has migrations this build does not know ({0}): a newer almanach ran on it")]
    UnknownMigrations(String),
    /// The import ran to the end, but some rows were rejected.
    #[error("{0} rows rejected (see the messages above)")]
    Rejected(u64),
    #[error(transparent)]
    ImportFailed(#[from] crate::import::ImportError),
    /// `almanach import` ran to the end, but some items were refused.
    #[error("{0} items refused (listed above)")]
    Refused(u64),
}

impl CliError {
    /// The process exit status: 3 when an import rejected rows (the good
    /// ones are in), 1 for every other failure (2 is for usage errors).
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Rejected(_) | CliError::Refused(_) => 3,
            _ => 1,
        }
    }
}

/// Hide the password of a database URL in messages.
fn redact(url: &str) -> String {
    config::redact_url(url)
}

fn resolve_config(cli: &Cli, serve: Option<&ServeArgs>) -> Result<Config, CliError> {
    let mut config = Config::default();
    let mut oidc = config::OidcSettings::default();
    if let Some(path) = &cli.config {
        let file = FileConfig::load(path)?;
        oidc = file.oidc_settings();
        file.apply(&mut config)?;
    }
    let mut base_url_set = config.base_url != Config::default().base_url;
    if let Some(db) = &cli.database {
        config.database = db.clone();
    }
    if let Some(s) = serve {
        if let Some(l) = s.listen {
            config.listen = l;
        }
        if let Some(l) = s.metrics_listen {
            config.metrics_listen = Some(l);
        }
        if let Some(b) = &s.base_url {
            config.base_url = b.clone();
            base_url_set = true;
        }
        if let Some(f) = s.log_format {
            config.log_format = f;
        }
        if let Some(m) = s.max_body_bytes {
            config.max_body_bytes = m;
        }
        if let Some(u) = &s.smtp_url {
            config.smtp_url = Some(config::parse_smtp_url(u.expose())?);
        }
        if let Some(f) = &s.imip_from {
            config.imip_from = Some(config::parse_imip_from(f)?);
        }
        if let Some(d) = &s.imip_reply_domain {
            config.imip_reply_domain = Some(config::parse_reply_domain(d)?);
        }
        if let Some(l) = s.lmtp_listen {
            config.lmtp_listen = Some(config::check_lmtp_listen(l)?);
        }
        if let Some(m) = s.lmtp_max_message_bytes {
            config.lmtp_max_message_bytes = m;
        }
        if let Some(a) = &s.freebusy_private_academies {
            config.freebusy_private_academies = a.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        }
        if let Some(u) = &s.bbb_url {
            config.bbb_url = Some(config::parse_bbb_url(u)?);
        }
        if let Some(secret) = &s.bbb_secret {
            config.bbb_secret = Some(secret.clone());
        }
        if let Some(c) = &s.bbb_checksum {
            config.bbb_checksum = config::parse_bbb_checksum(c)?;
        }
        if let Some(p) = &s.visio_policy {
            config.visio_policy = config::parse_visio_policy(p)?;
        }
        if let Some(k) = &s.visio_keyword {
            config.visio_keyword = config::parse_visio_keyword(k)?;
        }
        if let Some(v) = s.session_idle_timeout_secs {
            config.session_idle_timeout = std::time::Duration::from_secs(v.max(60));
        }
        if let Some(v) = s.session_max_age_secs {
            config.session_max_age = std::time::Duration::from_secs(v.max(60));
        }
        oidc.merge(config::OidcSettings {
            issuer: s.oidc_issuer.clone(),
            client_id: s.oidc_client_id.clone(),
            client_secret: s.oidc_client_secret.clone(),
            claim: s.oidc_claim.clone(),
            label: s.oidc_label.clone(),
        });
        if let Some(k) = &s.visio_record_keyword {
            config.visio_record_keyword = config::parse_visio_record_keyword(k)?;
        }
        if let Some(n) = &s.bbb_dial_number {
            config.bbb_dial_number = config::parse_bbb_dial_number(n)?;
        }
    }
    config.oidc = oidc.resolve()?;
    if !base_url_set {
        config.base_url = format!("http://{}", config.listen);
    }
    config.base_url = config.base_url.trim_end_matches('/').to_string();
    config::validate_base_url(&config.base_url)?;
    Ok(config)
}

async fn open_store(url: &str) -> Result<SharedStore, CliError> {
    let wrap = |source| CliError::Database { url: redact(url), source };
    let store = store::open(url).await.map_err(wrap)?;
    store.migrate().await.map_err(wrap)?;
    Ok(store)
}

fn read_password() -> Result<String, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password: ");
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line).map_err(CliError::Stdin)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// Logs go to standard error through [`crate::logwriter`]; keep the guard
/// until the server stops, so that the last lines are written.
fn init_tracing(format: LogFormat) -> crate::logwriter::LogGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ALMANACH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let (writer, guard) = crate::logwriter::batched_stderr();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).init(),
        LogFormat::Text => builder.init(),
    }
    guard
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    match &cli.command {
        Command::Serve(args) => serve(&cli, args).await,
        Command::User(cmd) => {
            let config = resolve_config(&cli, None)?;
            user(&open_store(&config.database).await?, cmd).await
        }
        Command::Academie(cmd) => {
            let config = resolve_config(&cli, None)?;
            academie(&open_store(&config.database).await?, cmd).await
        }
        Command::Quota(QuotaCommand::Recount) => {
            let config = resolve_config(&cli, None)?;
            let corrected = open_store(&config.database).await?.recount_quota_usage().await?;
            println!("quota usage recounted: {corrected} collection(s) corrected");
            Ok(())
        }
        Command::Visio(VisioCommand::Policy(cmd)) => {
            let config = resolve_config(&cli, None)?;
            visio_policy(&open_store(&config.database).await?, &config, cmd).await
        }
        Command::Directory(DirectoryCommand::Import { file, batch }) => {
            let config = resolve_config(&cli, None)?;
            let store = open_store(&config.database).await?;
            let counts = directory::import::import_file(&store, file, (*batch).max(1)).await?;
            println!(
                "imported: {} created, {} updated, {} unchanged, {} rejected",
                counts.created, counts.updated, counts.unchanged, counts.rejected
            );
            if counts.rejected > 0 {
                return Err(CliError::Rejected(counts.rejected));
            }
            Ok(())
        }
        Command::Config(ConfigCommand::Check(args)) => config_check(&cli, args).await,
        Command::Backup { file } => {
            let config = resolve_config(&cli, None)?;
            let store = open_store(&config.database).await?;
            store.backup_to(file).await?;
            println!("backed up {} to {}", redact(&config.database), file.display());
            Ok(())
        }
        Command::Import(cmd) => {
            let config = resolve_config(&cli, None)?;
            let store = open_store(&config.database).await?;
            import(AppState::new(config, store), cmd).await
        }
    }
}

/// `almanach config check`: every setting on standard output, then the
/// database's state; an error (invalid setting, database unreachable or
/// ahead of this build) ends it with status 1.
async fn config_check(cli: &Cli, args: &ServeArgs) -> Result<(), CliError> {
    let config = resolve_config(cli, Some(args))?;
    match &cli.config {
        Some(path) => println!("# configuration file: {}", path.display()),
        None => println!("# no configuration file: defaults, environment and options"),
    }
    for (key, value) in config.describe() {
        println!("{key} = {value}");
    }
    if config.smtp_url.is_some() && config.imip_from.is_none() {
        println!("# warning: smtp_url is set without imip_from: email scheduling is off");
    }
    if config.bbb_url.is_some() && config.bbb_secret.is_none() {
        println!("# warning: bbb_url is set without bbb_secret: visio rooms are off");
    }
    let url = config.database.as_str();
    let (kind, file) = match url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        Some(rest) => ("SQLite", Some(rest.split('?').next().unwrap_or(rest))),
        None => ("PostgreSQL", None),
    };
    if let Some(path) = file.filter(|p| !p.contains(":memory:") && !std::path::Path::new(p).exists()) {
        println!("# database: {kind} file {path} does not exist yet: created, with every migration, at the first start");
        return Ok(());
    }
    let wrap = |source| CliError::Database { url: redact(url), source };
    let store = store::open(url).await.map_err(wrap)?;
    store.ping().await.map_err(wrap)?;
    let migrations = store.migration_state().await.map_err(wrap)?;
    let unknown = migrations.unknown();
    if !unknown.is_empty() {
        return Err(CliError::UnknownMigrations(unknown.iter().map(|v| format!("{v:04}")).collect::<Vec<_>>().join(", ")));
    }
    println!("# database: {kind}, reachable");
    let pending = migrations.pending();
    if pending.is_empty() {
        println!("# migrations: all {} applied", migrations.known.len());
    } else {
        let names: Vec<String> = pending.iter().map(|(v, d)| format!("{v:04} {d}")).collect();
        println!(
            "# migrations: {} of {} applied; pending, applied at the next start: {}",
            migrations.known.len() - pending.len(),
            migrations.known.len(),
            names.join(", ")
        );
    }
    Ok(())
}

/// `almanach import`: a progress bar on a terminal, then the summary on
/// standard output, every refused (and kept) item with its file and line.
async fn import(state: std::sync::Arc<AppState>, cmd: &ImportCommand) -> Result<(), CliError> {
    use crate::import::{ImportKind, ImportRequest};
    let request = match cmd {
        ImportCommand::Calendar { user, calendar, replace, paths } => ImportRequest {
            kind: ImportKind::Calendar,
            username: user.clone(),
            collection: calendar.clone(),
            replace: *replace,
            paths: paths.clone(),
        },
        ImportCommand::Contacts { user, addressbook, replace, paths } => ImportRequest {
            kind: ImportKind::Contacts,
            username: user.clone(),
            collection: addressbook.clone(),
            replace: *replace,
            paths: paths.clone(),
        },
    };
    let progress = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(0);
        let style = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} {eta}").unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let summary = crate::import::import(&state, &request, &progress).await?;
    for noted in &summary.kept {
        println!("kept: {noted}");
    }
    for noted in &summary.refused {
        println!("refused: {noted}");
    }
    println!(
        "{}: {} items: {} imported, {} replaced, {} skipped (already there), {} kept (differ), {} refused",
        summary.collection,
        summary.items,
        summary.imported,
        summary.replaced,
        summary.skipped,
        summary.kept.len(),
        summary.refused.len()
    );
    if !summary.refused.is_empty() {
        return Err(CliError::Refused(summary.refused.len() as u64));
    }
    Ok(())
}

async fn serve(cli: &Cli, args: &ServeArgs) -> Result<(), CliError> {
    let config = resolve_config(cli, Some(args))?;
    let _log = init_tracing(config.log_format);
    let store = open_store(&config.database).await?;
    if let Some((user, password)) = directory::bootstrap_admin(&store).await? {
        println!("Created the administrator account {user:?} with password: {password}");
        println!("(shown once; change it with `almanach user passwd {user} --password-stdin`)");
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| CliError::Listen { addr: config.listen, source })?;
    tracing::info!(address = %config.listen, database = %redact(&config.database), base_url = %config.base_url, "listening");
    let metrics = match config.metrics_listen {
        Some(addr) => Some((addr, tokio::net::TcpListener::bind(addr).await.map_err(|source| CliError::Listen { addr, source })?)),
        None => None,
    };
    let lmtp = match config.lmtp_listen {
        Some(addr) => Some((addr, tokio::net::TcpListener::bind(addr).await.map_err(|source| CliError::Listen { addr, source })?)),
        None => None,
    };
    match (&config.smtp_url, &config.imip_from) {
        (Some(url), Some(from)) => tracing::info!(relay = %url, from = %from.address(), "email scheduling on (iMIP)"),
        (Some(_), None) => tracing::warn!("smtp_url is set without imip_from: email scheduling is off"),
        (None, _) => tracing::warn!("smtp_url is not set: email scheduling is off, outside attendees get SCHEDULE-STATUS 5.1"),
    }
    match (&config.bbb_url, &config.bbb_secret) {
        (Some(url), Some(_)) => tracing::info!(
            api = %crate::visio::bbb::api_base(url),
            checksum = config.bbb_checksum.as_str(),
            policy = config.visio_policy.as_str(),
            dial_in = config.bbb_dial_number.is_some(),
            "visio rooms on (BigBlueButton)"
        ),
        (Some(_), None) => tracing::warn!("bbb_url is set without bbb_secret: visio rooms are off"),
        (None, _) => tracing::warn!("bbb_url is not set: meetings get no visio room"),
    }
    let state = AppState::new(config, store);
    let shutdown = crate::http::shutdown_signal();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let lmtp_task = lmtp.map(|(addr, listener)| {
        tracing::info!(address = %addr, "receiving iMIP replies by LMTP");
        let handler = std::sync::Arc::new(crate::scheduling::mail::IncomingMail { state: state.clone() });
        let limits = crate::imip::lmtp::LmtpLimits { max_message_bytes: state.config.lmtp_max_message_bytes, ..Default::default() };
        let mut stopped = stopped.clone();
        tokio::spawn(crate::imip::lmtp::serve(listener, handler, limits, async move {
            let _ = stopped.wait_for(|s| *s).await;
        }))
    });
    let metrics_task = metrics.map(|(addr, listener)| {
        tracing::info!(address = %addr, "serving GET /metrics");
        let mut stopped = stopped.clone();
        tokio::spawn(crate::metrics::serve(listener, state.clone(), async move {
            let _ = stopped.wait_for(|s| *s).await;
        }))
    });
    crate::http::serve(listener, state, shutdown).await;
    let _ = stop.send(true);
    for task in [lmtp_task, metrics_task].into_iter().flatten() {
        let _ = task.await;
    }
    Ok(())
}

async fn user(store: &SharedStore, cmd: &UserCommand) -> Result<(), CliError> {
    match cmd {
        UserCommand::Add { username, emails, display_name, academie, admin, given_name, family_name, title, phone, .. } => {
            let password = read_password()?;
            let p = directory::add_user(
                store,
                NewUser {
                    username: username.clone(),
                    password,
                    emails: emails.clone(),
                    display_name: display_name.clone(),
                    academie: academie.clone(),
                    is_admin: *admin,
                    given_name: given_name.clone(),
                    family_name: family_name.clone(),
                    title: title.clone(),
                    phone: phone.clone(),
                },
            )
            .await?;
            println!("created user {}", p.username);
        }
        UserCommand::Passwd { username, .. } => {
            let password = read_password()?;
            directory::set_password(store, username, &password).await?;
            println!("password changed for {username}");
        }
        UserCommand::Disable { username } => {
            directory::set_disabled(store, username, true).await?;
            println!("disabled {username}");
        }
        UserCommand::Enable { username } => {
            directory::set_disabled(store, username, false).await?;
            println!("enabled {username}");
        }
        UserCommand::Delete { username } => {
            directory::delete_user(store, username).await?;
            println!("deleted {username}");
        }
        UserCommand::List => {
            for p in store.list_principals().await? {
                let emails = store.principal_emails(p.id).await?;
                let emails: Vec<_> = emails.into_iter().filter(|e| !e.former).map(|e| e.address).collect();
                println!(
                    "{}\t{}\t{}\t{}{}{}",
                    p.username,
                    p.display_name.as_deref().unwrap_or("-"),
                    p.academie.as_deref().unwrap_or("-"),
                    if emails.is_empty() { "-".to_string() } else { emails.join(",") },
                    if p.is_admin { "\tadmin" } else { "" },
                    if p.disabled { "\tdisabled" } else { "" },
                );
            }
        }
    }
    Ok(())
}

async fn academie(store: &SharedStore, cmd: &AcademieCommand) -> Result<(), CliError> {
    match cmd {
        AcademieCommand::Add { slug, name, region } => {
            let a = directory::add_academie(store, slug, name, region.as_deref()).await?;
            println!("created académie {}", a.slug);
        }
        AcademieCommand::List => {
            for a in store.list_academies().await? {
                println!("{}\t{}\t{}", a.slug, a.name, a.region.as_deref().unwrap_or("-"));
            }
        }
    }
    Ok(())
}

async fn visio_policy(store: &SharedStore, config: &Config, cmd: &PolicyCommand) -> Result<(), CliError> {
    use crate::store::{PolicyScope, VisioPolicy};
    let principal = |username: &str| {
        let username = username.to_string();
        async move { store.principal_by_username(&username).await?.ok_or(CliError::UnknownUser(username)) }
    };
    match cmd {
        PolicyCommand::Set { policy, user, academie } => {
            let policy: Option<VisioPolicy> = match policy.as_str() {
                "default" => None,
                p => Some(config::parse_visio_policy(p)?),
            };
            let scope = match (user, academie) {
                (Some(u), _) => PolicyScope::Account(principal(u).await?.id),
                (None, Some(a)) => PolicyScope::Academie(a.clone()),
                (None, None) => unreachable!("clap requires --user or --academie"),
            };
            match store.set_visio_policy(&scope, policy).await {
                Err(store::StoreError::NotFound) => return Err(CliError::UnknownAcademie(academie.clone().unwrap_or_default())),
                other => other?,
            }
            let what = user.as_ref().map(|u| format!("user {u}")).or(academie.as_ref().map(|a| format!("académie {a}"))).unwrap_or_default();
            println!("visio policy of {what}: {}", policy.map(|p| p.as_str()).unwrap_or("default"));
        }
        PolicyCommand::Show { user: Some(u) } => {
            let p = principal(u).await?;
            let set = store.visio_policies(p.id).await?;
            let (policy, from) = match (set.account, set.academie) {
                (Some(a), _) => (a, "account".to_string()),
                (None, Some(c)) => (c, format!("académie {}", p.academie.as_deref().unwrap_or("-"))),
                (None, None) => (config.visio_policy, "server default".to_string()),
            };
            println!("{u}\t{}\t({from})", policy.as_str());
        }
        PolicyCommand::Show { user: None } => {
            println!("server default\t{}", config.visio_policy.as_str());
            for (slug, policy) in store.academie_visio_policies().await? {
                println!("{slug}\t{}", policy.as_str());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("sqlite://./data/a.db"), "sqlite://./data/a.db");
    }
}
