//! One `adminibot check` from a cold process against a real local wiki: wall time
//! per decision, and the HTTP requests it costs (counted in the server's log).
//!
//! Run with `cargo bench --bench check_wiki`. Needs the test wiki (`scripts/testwiki`).

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, Criterion};
use support::{adminibot, TestWiki};

fn bench(c: &mut Criterion) {
    let wiki = TestWiki::start();
    let config = wiki.adminibot_config(true);
    let check = |title: &str| {
        let out = adminibot(
            &config.path,
            &["check", title, "--as", "Alice", "--format", "json"],
        );
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
