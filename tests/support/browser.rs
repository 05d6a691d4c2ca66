//! A real headless browser for the web page's tests: Debian's Chromium driven
//! by Debian's ChromeDriver over the W3C WebDriver protocol (JSON over HTTP on
//! loopback, spoken here with the `reqwest` adminibot already has: the
//! `fantoccini` crate would bring a second copy of the ICU and `http` crates
//! into the build). Each `Browser` has its own ChromeDriver, profile and
//! session, all gone when it is dropped.

use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The key of an element reference in WebDriver's answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A headless Chromium session.
pub struct Browser {
    driver: Child,
    session: String,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts ChromeDriver on a free port and opens a headless Chromium.
    /// Panics (the test fails) if either is missing: the test bed installs
    /// them (`scripts/testwiki install`).
    pub fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian's chromium-driver package)");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = runtime.block_on(async {
                let answer = http.get(format!("{base}/status")).send().await.ok()?;
                answer.json::<Value>().await.ok()
            });
            if ready.is_some_and(|s| s["value"]["ready"] == true) {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                    "--disable-gpu", "--window-size=1200,900", "--lang=en-US",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        }}});
        let answer: Value = runtime.block_on(async {
            http.post(format!("{base}/session"))
                .json(&capabilities)
                .send()
                .await
                .expect("a WebDriver session")
                .json()
                .await
                .unwrap()
        });
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"));
        Browser {
            session: format!("{base}/session/{id}"),
            driver,
            http,
            runtime,
            _profile: profile,
        }
    }

    /// One WebDriver command; its `value`. Panics with the driver's error.
    fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.try_command(method, path, body)
            .unwrap_or_else(|error| panic!("WebDriver {path}: {error}"))
    }

    /// One WebDriver command; its `value`, or the driver's error.
    fn try_command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Value> {
        let url = format!("{}{path}", self.session);
        let answer: Value = self.runtime.block_on(async {
            let mut request = self.http.request(method, &url);
            if let Some(body) = body {
                request = request.json(&body);
            }
            request
                .send()
                .await
                .expect("the WebDriver command")
                .json()
                .await
                .unwrap()
        });
        match answer["value"]["error"].is_string() {
            true => Err(answer["value"].clone()),
            false => Ok(answer["value"].clone()),
        }
    }

    fn post(&self, path: &str, body: Value) -> Value {
        self.command(reqwest::Method::POST, path, Some(body))
    }

    fn get(&self, path: &str) -> Value {
        self.command(reqwest::Method::GET, path, None)
    }

    /// Opens `url` and waits for it to load.
    pub fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url }));
    }

    /// The element `css` selects, if there is one now.
    fn find(&self, css: &str) -> Option<String> {
        let url = format!("{}/elements", self.session);
        let body = json!({ "using": "css selector", "value": css });
        let answer: Value = self.runtime.block_on(async {
            self.http
                .post(&url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        answer["value"][0][ELEMENT].as_str().map(str::to_string)
    }

    /// Waits (up to `seconds`) for the element `css` selects; its reference.
    pub fn wait_for(&self, css: &str, seconds: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            if let Some(element) = self.find(css) {
                return element;
            }
            assert!(
                Instant::now() < deadline,
                "no `{css}` on {} after {seconds} s:\n{}",
                self.url(),
                self.text("body")
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Whether the page has an element `css` selects.
    pub fn has(&self, css: &str) -> bool {
        self.find(css).is_some()
    }

    /// Types `text` into the field `css` selects (after clearing it).
    pub fn type_into(&self, css: &str, text: &str) {
        let element = self.wait_for(css, 10);
        self.post(&format!("/element/{element}/clear"), json!({}));
        self.post(
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        );
    }

    /// Clicks the element `css` selects.
    pub fn click(&self, css: &str) {
        let element = self.wait_for(css, 10);
        self.post(&format!("/element/{element}/click"), json!({}));
    }

    /// The visible text of the element `css` selects; empty while there is
    /// none (or the page is being replaced under it: a reload by the poll).
    pub fn text(&self, css: &str) -> String {
        self.find(css)
            .and_then(|element| {
                self.try_command(
                    reqwest::Method::GET,
                    &format!("/element/{element}/text"),
                    None,
                )
                .ok()
            })
            .and_then(|text| text.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// The element's property `name` as the DOM has it now (a link's `href`,
    /// a text area's `value`).
    pub fn property(&self, css: &str, name: &str) -> Option<String> {
        let element = self.wait_for(css, 10);
        self.get(&format!("/element/{element}/property/{name}"))
            .as_str()
            .map(str::to_string)
    }

    /// Waits (up to `seconds`) until the element `css` selects shows `text`.
    pub fn wait_for_text(&self, css: &str, text: &str, seconds: u64) {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        while !self.text(css).contains(text) {
            assert!(
                Instant::now() < deadline,
                "`{css}` never showed {text:?} on {}:\n{}",
                self.url(),
                self.text("body")
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The page's HTML, as the browser has it now.
    pub fn source(&self) -> String {
        self.get("/source").as_str().unwrap_or_default().to_string()
    }

    /// The current URL.
    pub fn url(&self) -> String {
        self.get("/url").as_str().unwrap_or_default().to_string()
    }

    /// The current window, and every window.
    pub fn windows(&self) -> (String, Vec<String>) {
        let current = self.get("/window").as_str().unwrap_or_default().to_string();
        let all = self
            .get("/window/handles")
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| h.as_str().map(str::to_string))
            .collect();
        (current, all)
    }

    /// Switches to window `handle`.
    pub fn switch_to(&self, handle: &str) {
        self.post("/window", json!({ "handle": handle }));
    }

    /// Waits (up to 20 s) for a window other than `known` to open; its handle.
    pub fn new_window(&self, known: &[String]) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (_, all) = self.windows();
            if let Some(new) = all.into_iter().find(|h| !known.contains(h)) {
                return new;
            }
            assert!(Instant::now() < deadline, "no new window opened");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Makes the window `width` × `height` pixels (a phone's, say).
    pub fn resize(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({ "width": width, "height": height }));
    }

    /// Saves a PNG of the window to `path`.
    pub fn screenshot(&self, path: &std::path::Path) {
        use base64::Engine;
        let png = self.get("/screenshot");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .expect("a base64 PNG");
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).unwrap();
        }
        std::fs::write(path, bytes).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self
            .runtime
            .block_on(async { self.http.delete(&self.session).send().await });
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
