//! Man pages from the clap definitions: `adminibot.1` and one page per
//! subcommand (`adminibot-delete.1`). `cargo xtask man` writes them to `man/`;
//! a test checks the files there are current.

use clap::CommandFactory;

/// Every man page, as (file name, roff text).
pub fn pages() -> Vec<(String, Vec<u8>)> {
    // The version names the commit; the pages must not change with every one.
    let root = crate::cli::Cli::command().version(env!("CARGO_PKG_VERSION"));
    let mut pages = vec![("adminibot.1".to_string(), render(root.clone()))];
    for sub in root.get_subcommands() {
        let name = format!("adminibot-{}", sub.get_name());
        let page = sub
            .clone()
            .name(name.clone())
            .version(env!("CARGO_PKG_VERSION"));
        pages.push((format!("{name}.1"), render(page)));
    }
    pages
}

fn render(command: clap::Command) -> Vec<u8> {
    let mut out = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut out)
        .expect("rendering into memory cannot fail");
    out
}
