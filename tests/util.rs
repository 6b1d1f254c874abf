//! Shared helpers.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// `../shared` beside the repository, when present (CI always has it).
pub fn shared() -> Option<PathBuf> {
    let p = root().join("../shared");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("note: {} is absent; tests that read it are skipped", p.display());
        None
    }
}

/// The `dora` binary, run in a fresh temporary directory (so no `dora.toml`
/// or `DORA_*` variable of the developer leaks in).
pub fn dora(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("dora").expect("the dora binary is built");
    cmd.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("DORA_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write a test file");
    p
}

/// One HTTP/1.1 exchange with `addr` on a connection of its own (the
/// request should say `Connection: close`): the whole answer, or `None`
/// when the connection failed (the server is gone) or did not answer
/// within `timeout`.
#[cfg(all(feature = "serve", unix))]
pub fn http_exchange(addr: &str, request: &[u8], timeout: std::time::Duration) -> Option<Vec<u8>> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    s.write_all(request).ok()?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).ok()?;
    Some(answer)
}

/// The real `dora serve` on an ephemeral loopback port, run as [`dora`]
/// runs the binary (a directory of its own, no `DORA_*` variable of the
/// developer). Its standard error is read all along (a full pipe would
/// block the server) and kept; dropped while running, it is killed.
#[cfg(all(feature = "serve", unix))]
pub struct ServeProcess {
    child: std::process::Child,
    /// `host:port` it listens on.
    pub addr: String,
    log: std::sync::Arc<std::sync::Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

#[cfg(all(feature = "serve", unix))]
impl ServeProcess {
    /// `dora serve --listen 127.0.0.1:0 ARGS...` in `dir` with `envs` set,
    /// once it has said where it listens.
    pub fn start(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> ServeProcess {
        use std::io::{BufRead, BufReader};
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("dora"));
        cmd.current_dir(dir);
        for (k, _) in std::env::vars() {
            if k.starts_with("DORA_") {
                cmd.env_remove(k);
            }
        }
        cmd.args(["serve", "--listen", "127.0.0.1:0"]).args(args).envs(envs.iter().copied());
        let mut child =
            cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut addr = None;
        let mut head = String::new();
        for _ in 0..20 {
            let mut line = String::new();
            if stderr.read_line(&mut line).unwrap() == 0 {
                break;
            }
            head.push_str(&line);
            if let Some(rest) = line.trim().strip_prefix("serve: listening on http://") {
                addr = rest.split_whitespace().next().map(str::to_string);
                break;
            }
        }
        let addr = addr.unwrap_or_else(|| panic!("dora serve says where it listens: {head}"));
        let log = std::sync::Arc::new(std::sync::Mutex::new(head));
        let sink = std::sync::Arc::clone(&log);
        let reader = std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        ServeProcess { child, addr, log, reader: Some(reader) }
    }

    /// [`http_exchange`] with this server.
    pub fn exchange(&self, request: &[u8], timeout: std::time::Duration) -> Option<Vec<u8>> {
        http_exchange(&self.addr, request, timeout)
    }

    /// What it has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// SIGTERM: it must exit 0 within 30 seconds. Returns its whole log.
    pub fn stop(&mut self) -> String {
        use std::time::{Duration, Instant};
        let pid = self.child.id().to_string();
        assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "dora serve did not stop within 30 s");
            std::thread::sleep(Duration::from_millis(20));
        };
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let log = self.log();
        assert_eq!(status.code(), Some(0), "{log}");
        log
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill_9(&mut self) {
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        assert_eq!(status.code(), None, "killed by a signal");
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

#[cfg(all(feature = "serve", unix))]
impl Drop for ServeProcess {
    // A failed test does not leave the server running.
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
