//! A coffre server for a Rust test, with the standard library only: starts
//! `coffre serve --dev --seed …` on a free port with a bootstrap key fixed in
//! advance, reads the address from its listening line, and stops it with
//! SIGTERM when dropped (an idle server exits within milliseconds). Between
//! tests, `POST {url}/v4/Dev/Reset` returns it to the seeded state.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub struct CoffreServer {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
}

impl CoffreServer {
    /// `bin`: the coffre executable; `seed`: a seed file; `admin_key`: a key
    /// made once with `coffre keygen`, which becomes the bootstrap key.
    pub fn start(bin: &str, seed: &str, admin_key: &str) -> std::io::Result<CoffreServer> {
        let mut child = Command::new(bin)
            .args(["serve", "--dev", "--listen", "127.0.0.1:0", "--seed", seed])
            .args(["--dev-bootstrap-key", admin_key])
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or(std::io::ErrorKind::BrokenPipe)?;
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("coffre listening on ") {
                        break url.to_string();
                    }
                }
                _ => {
                    let status = child.wait()?;
                    return Err(std::io::Error::other(format!(
                        "coffre exited before listening ({status})"
                    )));
                }
            }
        };
        // Keep reading, so coffre never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(CoffreServer { child, url })
    }
}

impl Drop for CoffreServer {
    fn drop(&mut self) {
        // SIGTERM (std has no signal API of its own): a graceful stop.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}
