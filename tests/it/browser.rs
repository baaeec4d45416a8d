//! A real headless browser for the tests: Debian's Chromium, driven over
//! the Chrome DevTools Protocol on `--remote-debugging-pipe` (JSON
//! messages separated by NUL bytes, the browser reading on fd 3 and
//! writing on fd 4). Blocking: run it in `spawn_blocking`.
//!
//! Shared by the visio join page's test and the account page's.
//! `scripts/test.sh` installs the `chromium` package; the binary is
//! `ALMANACH_TEST_CHROMIUM` or `chromium` on the PATH. Without it the test
//! fails: it never skips.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub struct Browser {
    child: Child,
    to_browser: File,
    from_browser: BufReader<File>,
    next_id: u64,
    session: Option<String>,
    _profile: tempfile::TempDir,
}

fn pipe() -> (RawFd, RawFd) {
    let mut fds = [0 as libc::c_int; 2];
    // O_CLOEXEC: only the descriptors moved to 3 and 4 reach the browser.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2");
    (fds[0], fds[1])
}

impl Browser {
    pub fn launch() -> Browser {
        let binary = std::env::var("ALMANACH_TEST_CHROMIUM").unwrap_or_else(|_| "chromium".into());
        let profile = tempfile::tempdir().unwrap();
        let (cmd_read, cmd_write) = pipe(); // test → browser (fd 3)
        let (evt_read, evt_write) = pipe(); // browser → test (fd 4)
        let mut command = Command::new(&binary);
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        unsafe {
            command.pre_exec(move || {
                // Out of the way first, in case a pipe end is 3 or 4.
                let a = libc::fcntl(cmd_read, libc::F_DUPFD, 10);
                let b = libc::fcntl(evt_write, libc::F_DUPFD, 10);
                if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().unwrap_or_else(|e| {
            panic!("cannot start {binary:?} ({e}): scripts/test.sh installs Debian's chromium package, or set ALMANACH_TEST_CHROMIUM")
        });
        unsafe {
            libc::close(cmd_read);
            libc::close(evt_write);
        }
        let to_browser = unsafe { File::from_raw_fd(cmd_write) };
        let from_browser = BufReader::new(unsafe { File::from_raw_fd(evt_read) });
        let mut b = Browser { child, to_browser, from_browser, next_id: 1, session: None, _profile: profile };
        let target = b.call("Target.createTarget", json!({ "url": "about:blank" }));
        let target_id = target["targetId"].as_str().expect("a target").to_string();
        let attached = b.call("Target.attachToTarget", json!({ "targetId": target_id, "flatten": true }));
        b.session = Some(attached["sessionId"].as_str().expect("a session").to_string());
        b.call("Page.enable", json!({}));
        b.call("Runtime.enable", json!({}));
        b
    }

    /// One command; its result (panics on a protocol error).
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.try_call(method, params).unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// One command; its result or the protocol's error.
    pub fn try_call(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        let id = self.next_id;
        self.next_id += 1;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = &self.session {
            message["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.to_browser.write_all(&bytes).unwrap();
        loop {
            let mut buf = Vec::new();
            let n = self.from_browser.read_until(0, &mut buf).unwrap();
            assert!(n > 0, "the browser closed its pipe");
            buf.pop();
            let v: Value = serde_json::from_slice(&buf).unwrap();
            if v["id"] == json!(id) {
                return match v.get("error") {
                    Some(e) => Err(e.clone()),
                    None => Ok(v["result"].clone()),
                };
            }
        }
    }

    /// The value of a JavaScript expression in the page (null while the
    /// page is changing, or when it throws).
    pub fn eval(&mut self, expression: &str) -> Value {
        match self.try_call("Runtime.evaluate", json!({ "expression": expression, "returnByValue": true, "awaitPromise": true })) {
            Ok(r) if r.get("exceptionDetails").is_none() => r["result"]["value"].clone(),
            _ => Value::Null,
        }
    }

    pub fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", json!({ "url": url }));
        self.wait_for(&format!("{url} loaded"), |b| {
            b.eval("location.href") == json!(url) && b.eval("document.readyState") == json!("complete")
        });
    }

    /// Type `text` into the element `selector` as a person would: focus,
    /// then the characters through the input pipeline.
    pub fn type_into(&mut self, selector: &str, text: &str) {
        let focused = self.eval(&format!("(function(){{var e=document.querySelector({});if(!e)return false;e.focus();return true;}})()", json!(selector)));
        assert_eq!(focused, json!(true), "{selector} on the page");
        self.call("Input.insertText", json!({ "text": text }));
    }

    /// Click the element `selector` with the mouse, at its centre (scrolled
    /// into view first).
    pub fn click(&mut self, selector: &str) {
        let rect = self.eval(&format!(
            "(function(){{var e=document.querySelector({});e.scrollIntoView({{block:'center'}});var r=e.getBoundingClientRect();return [r.x+r.width/2,r.y+r.height/2];}})()",
            json!(selector)
        ));
        let (x, y) = (rect[0].as_f64().unwrap(), rect[1].as_f64().unwrap());
        for kind in ["mousePressed", "mouseReleased"] {
            self.call("Input.dispatchMouseEvent", json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 }));
        }
    }

    pub fn wait_for(&mut self, what: &str, mut check: impl FnMut(&mut Browser) -> bool) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if check(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let (at, text) = (self.eval("location.href"), self.eval("document.body && document.body.innerText"));
        panic!("browser: timed out waiting for {what} (at {at}, showing {text})");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
