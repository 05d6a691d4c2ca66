//! A fault-injecting HTTP proxy on 127.0.0.1 in front of a test wiki, for the
//! faults a real wiki will not produce on demand: lag, 5xx pages, lost answers,
//! lost requests. Scripted per test with [`Rule`]s matched on method, `action`, a
//! substring of the request and the nth occurrence; it records every request so
//! tests can count writes and check where secrets went.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the proxy does with a matching request.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Answer without asking the wiki.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Let the wiki carry the request out, then close without answering.
    ForwardThenDrop,
    /// Close without forwarding: the wiki never sees it.
    Drop,
    /// Hold the connection open without answering for this long, then close.
    Hang(Duration),
    /// Forward, then send the wiki's answer back one byte at a time with this
    /// pause between bytes (a slow-drip body).
    Drip(Duration),
    /// Forward only once this file exists (at most a minute), so a test can
    /// change the wiki while the request is in flight.
    HoldUntil(std::path::PathBuf),
}

/// When to apply an [`Effect`].
#[derive(Debug, Clone)]
pub struct Rule {
    /// `GET` or `POST`; any when `None`.
    pub method: Option<&'static str>,
    /// The request's `action` parameter; any when `None`.
    pub action: Option<&'static str>,
    /// A substring of the request line or body; any when `None`.
    pub contains: Option<&'static str>,
    /// The matching occurrence it applies to (1-based); 0 means every one.
    pub nth: usize,
    /// What to do.
    pub effect: Effect,
}

impl Rule {
    /// A rule for `POST action=ACTION`, its first occurrence.
    pub fn post(action: &'static str, effect: Effect) -> Self {
        Rule {
            method: Some("POST"),
            action: Some(action),
            contains: None,
            nth: 1,
            effect,
        }
    }
}

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET` or `POST`.
    pub method: String,
    /// The request target (`/api.php?...`).
    pub target: String,
    /// The header lines.
    pub headers: String,
    /// The body (form data for POSTs).
    pub body: String,
    /// The `action` parameter.
    pub action: Option<String>,
}

struct Active {
    rule: Rule,
    seen: usize,
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT/api.php` through the proxy.
    pub api: String,
    port: u16,
    rules: Arc<Mutex<Vec<Active>>>,
    records: Arc<Mutex<Vec<Recorded>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy forwarding to the wiki on `upstream` (a loopback port).
    pub fn start(upstream: u16) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().unwrap().port();
        let rules: Arc<Mutex<Vec<Active>>> = Arc::default();
        let records: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (rules, records, stop) = (rules.clone(), records.clone(), stop.clone());
            std::thread::spawn(move || {
                for client in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    let (rules, records) = (rules.clone(), records.clone());
                    std::thread::spawn(move || serve(client, upstream, &rules, &records));
                }
            })
        };
        FaultProxy {
            api: format!("http://127.0.0.1:{port}/api.php"),
            port,
            rules,
            records,
            stop,
            thread: Some(thread),
        }
    }

    /// Adds a rule.
    pub fn rule(&self, rule: Rule) {
        self.rules.lock().unwrap().push(Active { rule, seen: 0 });
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.records.lock().unwrap().clone()
    }

    /// How many requests had this method and action.
    pub fn count(&self, method: &str, action: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.action.as_deref() == Some(action))
            .count()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(
    mut client: TcpStream,
    upstream: u16,
    rules: &Mutex<Vec<Active>>,
    records: &Mutex<Vec<Recorded>>,
) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    let Some((raw, recorded)) = read_request(&mut client) else {
        return;
    };
    records.lock().unwrap().push(recorded.clone());
    let effect = {
        let mut rules = rules.lock().unwrap();
        let mut chosen = None;
        for active in rules.iter_mut() {
            let rule = &active.rule;
            let text = format!("{} {}", recorded.target, recorded.body);
            let matches = rule.method.is_none_or(|m| m == recorded.method)
                && rule
                    .action
                    .is_none_or(|a| recorded.action.as_deref() == Some(a))
                && rule.contains.is_none_or(|c| text.contains(c));
            if matches {
                active.seen += 1;
                if chosen.is_none() && (rule.nth == 0 || rule.nth == active.seen) {
                    chosen = Some(rule.effect.clone());
                }
            }
        }
        chosen
    };
    match effect {
        Some(Effect::Drop) => {
            let _ = client.shutdown(Shutdown::Both);
        }
        Some(Effect::Hang(how_long)) => {
            std::thread::sleep(how_long);
            let _ = client.shutdown(Shutdown::Both);
        }
        Some(Effect::Respond {
            status,
            headers,
            body,
        }) => {
            let mut head = format!(
                "HTTP/1.1 {status} Injected\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let _ = client.write_all(head.as_bytes());
            let _ = client.write_all(body.as_bytes());
        }
        Some(Effect::HoldUntil(file)) => {
            for _ in 0..3000 {
                if file.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = client.write_all(&ask_wiki(upstream, &raw));
        }
        Some(Effect::Drip(pause)) => {
            for byte in ask_wiki(upstream, &raw) {
                if client.write_all(&[byte]).is_err() {
                    break;
                }
                std::thread::sleep(pause);
            }
        }
        forward_effect => {
            let answer = ask_wiki(upstream, &raw);
            if matches!(forward_effect, Some(Effect::ForwardThenDrop)) {
                let _ = client.shutdown(Shutdown::Both);
            } else {
                let _ = client.write_all(&answer);
            }
        }
    }
}

/// Sends `raw` to the wiki; returns its whole answer (empty if unreachable).
fn ask_wiki(upstream: u16, raw: &[u8]) -> Vec<u8> {
    let mut answer = Vec::new();
    if let Ok(mut wiki) = TcpStream::connect(("127.0.0.1", upstream)) {
        let _ = wiki.write_all(raw);
        let _ = wiki.read_to_end(&mut answer);
    }
    answer
}

/// Reads one request (headers and a Content-Length body); returns its raw bytes,
/// with `Connection: close` so the wiki ends the exchange, and what was seen.
fn read_request(client: &mut TcpStream) -> Option<(Vec<u8>, Recorded)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = client.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        })
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = client.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buffer[head_end..]).into_owned();
    let mut lines = head.lines();
    let mut request_line = lines.next()?.split_whitespace();
    let method = request_line.next()?.to_string();
    let target = request_line.next()?.to_string();
    let headers: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let action = [query, body.as_str()]
        .iter()
        .flat_map(|part| part.split('&'))
        .find_map(|pair| pair.strip_prefix("action="))
        .map(str::to_string);
    // Rewrite the head so the wiki closes the connection after answering.
    let mut raw = format!("{method} {target} HTTP/1.0\r\n").into_bytes();
    for header in &headers {
        let name = header.split(':').next().unwrap_or("").to_ascii_lowercase();
        if name != "connection" {
            raw.extend_from_slice(format!("{header}\r\n").as_bytes());
        }
    }
    raw.extend_from_slice(b"Connection: close\r\n\r\n");
    raw.extend_from_slice(&buffer[head_end..]);
    Some((
        raw,
        Recorded {
            method,
            target,
            headers: headers.join("\n"),
            body,
            action,
        },
    ))
}
