use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = almanach::cli::Cli::parse();
    if let Err(e) = almanach::cli::run(cli).await {
        eprintln!("almanach: error: {e}");
        std::process::exit(1);
    }
}
