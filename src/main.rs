use clap::Parser;

/// mimalloc instead of the system allocator: a WebDAV answer is built from
/// many short-lived strings (hrefs, properties, XML), and glibc's malloc
/// spent about 40 % of a PROPFIND Depth 1's CPU time on them (see
/// docs/decisions.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let cli = match almanach::cli::Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print as clap renders them; usage errors get
        // one line and exit code 2.
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            // The message is the first paragraph of clap's rendering.
            let rendered = e.to_string();
            let message: Vec<&str> = rendered.lines().take_while(|l| !l.trim().is_empty()).map(str::trim).collect();
            eprintln!("almanach: {} (see `almanach --help`)", message.join(" "));
            std::process::exit(2);
        }
    };
    if let Err(e) = almanach::cli::run(cli).await {
        eprintln!("almanach: error: {e}");
        std::process::exit(e.exit_code());
    }
}
