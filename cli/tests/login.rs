//! `nexudus login`, profiles and the shared token cache, end to end: the
//! binary against stand-ins on 127.0.0.1 that require a two-factor code
//! and issue 2-second tokens, each test with a config directory of its
//! own. Every output is kept and searched for the password and for every
//! token the token file held.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::{start, BIN};
use nexudus_timepasses::spec::Resource;
use nexudus_timepasses::stand_in::{StandIn, StandInBuilder};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// Longest any one command may take.
const RUN_LIMIT: Duration = Duration::from_secs(120);
const TOTP: &str = "123456";
/// The stand-ins' token life.
const TTL: Duration = Duration::from_secs(2);

/// A config directory, and every output and token seen while using it.
struct Home {
    dir: PathBuf,
    outputs: Vec<String>,
    tokens: BTreeSet<String>,
}

impl Home {
    fn new(name: &str) -> Home {
        let dir = std::env::temp_dir().join(format!("nexudus-login-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Home {
            dir,
            outputs: Vec::new(),
            tokens: BTreeSet::new(),
        }
    }

    fn token_file(&self, profile: &str) -> PathBuf {
        self.dir.join("tokens").join(format!("{profile}.json"))
    }

    /// The binary with no credentials in its environment, this config
    /// directory, and `env` on top.
    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("NEXUDUS_CONFIG_DIR", &self.dir)
            .env("NO_COLOR", "1")
            .kill_on_drop(true);
        for name in [
            "NEXUDUS_TOKEN",
            "NEXUDUS_EMAIL",
            "NEXUDUS_PASSWORD",
            "NEXUDUS_TOTP",
            "NEXUDUS_BASE_URL",
            "NEXUDUS_PROFILE",
        ] {
            cmd.env_remove(name);
        }
        // The file, even where the person running the tests has a keyring.
        cmd.env("NEXUDUS_NO_KEYRING", "1");
        for (name, value) in env {
            cmd.env(name, value);
        }
        cmd
    }

    /// Runs a command to its end and keeps its output and the tokens the
    /// files hold afterwards.
    async fn run(&mut self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
        let mut cmd = self.command(args, env);
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("the binary starts");
        let mut input = child.stdin.take().expect("stdin");
        input
            .write_all(stdin.unwrap_or("").as_bytes())
            .await
            .expect("stdin written");
        drop(input);
        let out = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
            .await
            .expect("the command ends in time")
            .expect("the command runs");
        self.keep(&out);
        out
    }

    /// Runs a command that must succeed; its stdout.
    async fn ok(&mut self, args: &[&str]) -> String {
        let out = self.run(args, &[], None).await;
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keep(&mut self, out: &Output) {
        self.outputs
            .push(String::from_utf8_lossy(&out.stdout).into_owned());
        self.outputs
            .push(String::from_utf8_lossy(&out.stderr).into_owned());
        let Ok(files) = std::fs::read_dir(self.dir.join("tokens")) else {
            return;
        };
        for file in files.flatten() {
            let Ok(text) = std::fs::read_to_string(file.path()) else {
                continue;
            };
            let Ok(Value::Object(token)) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            for key in ["access_token", "refresh_token"] {
                if let Some(Value::String(secret)) = token.get(key) {
                    self.tokens.insert(secret.clone());
                }
            }
        }
    }

    /// `nexudus login` to `server` with the password on stdin and the code
    /// in NEXUDUS_TOTP.
    async fn login(&mut self, server: &StandIn, extra: &[&str]) -> Output {
        let mut args = vec!["login", "--base-url", server.base_url(), "--password-stdin"];
        args.extend_from_slice(extra);
        let env = [("NEXUDUS_EMAIL", server.email()), ("NEXUDUS_TOTP", TOTP)];
        let password = format!("{}\n", server.password());
        self.run(&args, &env, Some(&password)).await
    }

    /// No output held the password or a token the files held.
    fn assert_no_secret(&self, password: &str) {
        assert!(!self.tokens.is_empty(), "no token was ever stored");
        for text in &self.outputs {
            assert!(!text.contains(password), "the password in: {text}");
            for token in &self.tokens {
                assert!(!text.contains(token.as_str()), "a token in: {text}");
            }
        }
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn stand_in() -> StandInBuilder {
    StandIn::builder().totp(TOTP).token_ttl(TTL)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_login_every_command_works_past_expiry_until_logout() {
    let server = start(stand_in().records(Resource::TimePasses, 12)).await;
    let mut home = Home::new("flow");
    let out = home.login(&server, &[]).await;
    assert!(out.status.success(), "login failed: {}", stderr(&out));
    assert!(stderr(&out).contains("profile default"), "{}", stderr(&out));
    #[cfg(unix)]
    {
        assert_eq!(mode(&home.token_file("default")), 0o600);
        assert_eq!(mode(&home.dir.join("tokens")), 0o700);
        assert_eq!(mode(&home.dir), 0o700);
        assert_eq!(mode(&home.dir.join("config.toml")), 0o600);
    }
    let config = std::fs::read_to_string(home.dir.join("config.toml")).unwrap();
    assert!(!config.contains(server.password()), "{config}");

    let listed = lines(
        &home
            .ok(&["timepasses", "list", "--all", "-o", "jsonl"])
            .await,
    );
    assert_eq!(listed.len(), 12);
    let id = listed[0]["Id"].to_string();
    home.ok(&["timepasses", "get", &id, "-o", "jsonl"]).await;
    tokio::time::sleep(TTL + Duration::from_millis(200)).await;
    // The token has expired: the next commands refresh it.
    let exported = lines(&home.ok(&["timepasses", "export", "-o", "jsonl"]).await);
    assert_eq!(exported.len(), 12);
    let db = home.dir.join("passes.db");
    let into = format!("sqlite:{}", db.display());
    tokio::time::sleep(TTL + Duration::from_millis(200)).await;
    home.ok(&["sync", "--into", &into, "timepasses"]).await;
    home.ok(&["-v", "timepasses", "list"]).await;

    let status = home.ok(&["auth", "status"]).await;
    assert!(status.contains("profile:   default"), "{status}");
    let status: Value =
        serde_json::from_str(&home.ok(&["auth", "status", "-o", "json"]).await).expect("JSON");
    assert_eq!(status["profile"], "default");
    assert_eq!(status["base_url"], server.base_url());
    assert_eq!(status["logged_in"], true);
    assert_eq!(status["secrets"], "file");

    home.ok(&["logout"]).await;
    let out = home.run(&["timepasses", "list"], &[], None).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("nexudus login"), "{}", stderr(&out));
    assert!(
        home.dir.join("config.toml").exists(),
        "logout dropped the settings"
    );
    home.assert_no_secret(server.password());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_commands_after_expiry_share_one_refresh() {
    let server = start(stand_in().records(Resource::TimePasses, 5)).await;
    let mut home = Home::new("eight");
    assert!(home.login(&server, &[]).await.status.success());
    tokio::time::sleep(TTL + Duration::from_millis(200)).await;
    let before = server.stats().token_exchanges;
    let runs = (0..8).map(|_| {
        let mut cmd = home.command(&["timepasses", "list", "-o", "jsonl"], &[]);
        cmd.stdin(std::process::Stdio::null());
        async move {
            tokio::time::timeout(RUN_LIMIT, cmd.output())
                .await
                .expect("in time")
                .expect("runs")
        }
    });
    let outs = futures::future::join_all(runs).await;
    for out in &outs {
        assert!(out.status.success(), "{}", stderr(out));
        assert_eq!(lines(&String::from_utf8_lossy(&out.stdout)).len(), 5);
        home.keep(out);
    }
    assert_eq!(
        server.stats().token_exchanges - before,
        1,
        "the eight commands did not share one refresh"
    );
    assert_eq!(server.stats().unauthorized, 0);
    home.assert_no_secret(server.password());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_reach_their_own_server() {
    let first = start(stand_in().records(Resource::TimePasses, 3)).await;
    let second = start(stand_in().records(Resource::TimePasses, 7)).await;
    let mut home = Home::new("two");
    assert!(home
        .login(&first, &["--profile", "prod"])
        .await
        .status
        .success());
    assert!(home
        .login(&second, &["--profile", "test"])
        .await
        .status
        .success());
    let count = |text: String| lines(&text).len();
    let list = ["timepasses", "list", "--all", "-o", "jsonl"];
    assert_eq!(
        count(home.ok(&list).await),
        3,
        "the default is the first login"
    );
    let mut with_flag = list.to_vec();
    with_flag.extend(["--profile", "test"]);
    assert_eq!(count(home.ok(&with_flag).await), 7);
    let out = home.run(&list, &[("NEXUDUS_PROFILE", "test")], None).await;
    assert_eq!(count(String::from_utf8_lossy(&out.stdout).into_owned()), 7);
    let out = home.run(&list, &[("NEXUDUS_PROFILE", "prod")], None).await;
    assert_eq!(count(String::from_utf8_lossy(&out.stdout).into_owned()), 3);

    let out = home
        .run(&["timepasses", "list", "--profile", "staging"], &[], None)
        .await;
    assert_eq!(out.status.code(), Some(4));
    assert!(stderr(&out).contains("prod, test"), "{}", stderr(&out));
    // A profile's tokens never go to another server.
    let other = [
        "timepasses",
        "list",
        "--profile",
        "prod",
        "--base-url",
        second.base_url(),
    ];
    assert_eq!(home.run(&other, &[], None).await.status.code(), Some(2));
    // The environment's credentials win over a profile.
    let env = [
        ("NEXUDUS_EMAIL", second.email()),
        ("NEXUDUS_PASSWORD", second.password()),
        ("NEXUDUS_TOTP", TOTP),
        ("NEXUDUS_BASE_URL", second.base_url()),
    ];
    let out = home.run(&list, &env, None).await;
    assert_eq!(count(String::from_utf8_lossy(&out.stdout).into_owned()), 7);
    home.assert_no_secret(first.password());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_files_exit_4_with_their_path_and_stay_as_they_were() {
    let server = start(stand_in()).await;
    let mut home = Home::new("damaged");
    assert!(home.login(&server, &[]).await.status.success());
    let file = home.token_file("default");
    let damaged = "{\n  \"client_id\": \"admin@example.com\",\n  \"access_token\": 1234567\n";
    std::fs::write(&file, damaged).unwrap();
    let out = home.run(&["timepasses", "list"], &[], None).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&file.display().to_string()),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("1234567"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), damaged);

    let config = home.dir.join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let broken = text.replace("email = ", "email = = ");
    std::fs::write(&config, &broken).unwrap();
    for args in [
        &["timepasses", "list"][..],
        &["auth", "status"],
        &["logout"],
    ] {
        let out = home.run(args, &[], None).await;
        assert_eq!(out.status.code(), Some(4), "{args:?}: {}", stderr(&out));
        let line = broken.lines().position(|l| l.contains("= =")).unwrap() + 1;
        assert!(
            stderr(&out).contains(&format!("line {line}")),
            "{}",
            stderr(&out)
        );
        assert!(stderr(&out).contains(&config.display().to_string()));
    }
    let out = home.login(&server, &[]).await;
    assert_eq!(
        out.status.code(),
        Some(4),
        "login wrote over a damaged config"
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), broken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_without_the_code_or_with_a_wrong_password_stores_nothing() {
    let server = start(stand_in()).await;
    let mut home = Home::new("refused");
    let env = [("NEXUDUS_EMAIL", server.email())];
    let password = format!("{}\n", server.password());
    let args = ["login", "--base-url", server.base_url(), "--password-stdin"];
    let out = home.run(&args, &env, Some(&password)).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("NEXUDUS_TOTP"), "{}", stderr(&out));
    let env = [("NEXUDUS_EMAIL", server.email()), ("NEXUDUS_TOTP", TOTP)];
    let out = home.run(&args, &env, Some("wrong\n")).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(!home.token_file("default").exists());
    assert!(!home.dir.join("config.toml").exists());
    let out = home.run(&["timepasses", "list"], &[], None).await;
    assert_eq!(out.status.code(), Some(4));
    assert!(stderr(&out).contains("nexudus login"), "{}", stderr(&out));
}
