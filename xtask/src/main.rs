//! `cargo xtask man`: writes adminibot's man pages, one per subcommand, from
//! the clap definitions into `man/` (a test checks they are current).

use std::path::Path;

fn main() {
    let task = std::env::args().nth(1);
    if task.as_deref() != Some("man") {
        eprintln!("usage: cargo xtask man   (writes man/*.1 from the clap definitions)");
        std::process::exit(2);
    }
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../man");
    std::fs::create_dir_all(&folder).expect("create man/");
    for (name, page) in adminibot::man::pages() {
        let path = folder.join(&name);
        std::fs::write(&path, page).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        println!("wrote man/{name}");
    }
}
