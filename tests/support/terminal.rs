//! A program at a pseudo-terminal (`script`, from util-linux), as a person
//! would run it: its output is read as it comes, and answers are typed only
//! once it has asked, so what it does to the terminal (no echo) is what a
//! person would see.

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `command` run by `script` at a new pseudo-terminal: the same program,
/// arguments and environment changes, its stdin, stdout and stderr the
/// terminal's.
pub fn at_terminal(command: &Command) -> Command {
    let quoted: Vec<String> = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy().replace('\'', r"'\''")))
        .collect();
    let mut script = Command::new("script");
    script.args(["-qefc", &quoted.join(" "), "/dev/null"]);
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => script.env(key, value),
            None => script.env_remove(key),
        };
    }
    script
}

/// A running program at a terminal.
pub struct Terminal {
    child: Child,
    keys: Option<ChildStdin>,
    screen: Arc<Mutex<Vec<u8>>>,
}

impl Terminal {
    /// Starts `command` at a new terminal ([`at_terminal`]).
    pub fn start(command: &Command) -> Terminal {
        let mut child = at_terminal(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run script (util-linux)");
        let screen = Arc::new(Mutex::new(Vec::new()));
        let mut out = child.stdout.take().unwrap();
        let filling = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = out.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                filling.lock().unwrap().extend_from_slice(&buffer[..n]);
            }
        });
        let keys = child.stdin.take();
        Terminal {
            child,
            keys,
            screen,
        }
    }

    /// Everything the terminal showed so far.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    /// Waits (up to 60 s) until the terminal shows `text`; panics with the
    /// screen if it never does.
    pub fn wait_for(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.screen().contains(text) {
            assert!(
                Instant::now() < deadline,
                "the terminal never showed {text:?}:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types `line` and Enter.
    pub fn type_line(&mut self, line: &str) {
        let keys = self.keys.as_mut().expect("the terminal is open");
        keys.write_all(format!("{line}\n").as_bytes()).unwrap();
        keys.flush().unwrap();
    }

    /// Waits for the program to end; its exit code and the whole screen.
    pub fn finish(mut self) -> (Option<i32>, String) {
        let status = self.child.wait().expect("wait for script");
        drop(self.keys.take());
        // The reader sees the end of the output once the terminal is closed.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Arc::strong_count(&self.screen) > 1 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        (status.code(), self.screen())
    }
}
