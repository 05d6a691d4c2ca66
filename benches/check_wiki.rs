//! One `adminibot check` from a cold process against a real local wiki: wall time
//! per decision, and the HTTP requests it costs (counted in the server's log).
//!
//! Run with `cargo bench --bench check_wiki`. Needs the test wiki (`scripts/testwiki`).

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, Criterion};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use support::{account, TestWiki};

fn bench(c: &mut Criterion) {
    let wiki = TestWiki::start();
    let dir = tempfile::tempdir().unwrap();
    let bot = account("AdminBot");
    let secret = dir.path().join("bot.secret");
    std::fs::write(&secret, &bot.botpassword_secret).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = dir.path().join("adminibot.toml");
    std::fs::write(
        &config,
        format!(
            "[wiki]\nname = \"localtest\"\napi = \"{}\"\npolicy = \"{}/policies/localtest.toml\"\n[bot]\nusername = \"{}\"\npassword_file = \"bot.secret\"\n",
            wiki.api,
            env!("CARGO_MANIFEST_DIR"),
            bot.botpassword_user
        ),
    )
    .unwrap();
    let check = |title: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_adminibot"))
            .arg("--config")
            .arg(&config)
            .args(["check", title, "--as", "Alice", "--format", "json"])
            .env_remove("ADMINIBOT_BOT_PASSWORD")
            .output()
            .expect("run adminibot");
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let mut group = c.benchmark_group("check_cold_process");
    group.sample_size(10);
    for title in ["Draft:Alice sandbox", "Former redirect", "Long history"] {
        let before = wiki.request_count();
        check(title);
        let requests = wiki.request_count() - before;
        eprintln!("{title}: {requests} HTTP requests per check (2 of them login)");
        group.bench_function(title, |b| b.iter(|| check(title)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
