//! OAuth client libraries nobody here wrote (Authlib, requests-oauthlib) fetch
//! tokens from the real binary and call the API with them: the script
//! `tests/oauth_library.py`, which CI (`.ci/run`) runs with its pinned
//! libraries. Here it runs when `.venv` already holds them; otherwise the test
//! says it was skipped and why (`cargo test` installs nothing).

use std::path::Path;
use std::process::Command;

use crate::helpers::*;

#[test]
fn third_party_oauth_libraries_fetch_tokens_and_call_the_api() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv/bin/python");
    let ready = python.exists()
        && Command::new(&python)
            .args(["-c", "import authlib, requests_oauthlib"])
            .output()
            .is_ok_and(|o| o.status.success());
    if !ready {
        eprintln!(
            "skipped: .venv lacks Authlib and requests-oauthlib; `python3 \
             tests/oauth_library.py` installs them and runs this check (CI does)"
        );
        return;
    }
    let out = run(Command::new(&python)
        .arg(root.join("tests/oauth_library.py"))
        .args(["--binary", coffre_bin()]));
    assert_eq!(
        out.code, 0,
        "tests/oauth_library.py failed:\n{}\n{}",
        out.stdout, out.stderr
    );
    assert!(out.stdout.contains("6 passed, 0 failed"), "{}", out.stdout);
}
