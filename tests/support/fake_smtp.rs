//! A real SMTP server on loopback, for tests: EHLO/HELO, optional AUTH PLAIN and LOGIN, MAIL
//! FROM, RCPT TO, DATA (with dot-unstuffing), NOOP, RSET, QUIT. Any command's reply can be
//! scripted (a code and text, once), made to stall, or made to drop the connection unanswered;
//! every mail accepted is handed to the test through a channel, every message read in full is
//! kept whatever became of it (a server that dies after reading one may have queued it), and
//! every command line is logged.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// The commands whose replies can be scripted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    Ehlo,
    Auth,
    Mail,
    Rcpt,
    /// The `DATA` command itself (`354`).
    Data,
    /// The end of the message (`.`).
    Message,
}

#[derive(Debug, Clone)]
pub enum Scripted {
    Reply(u16, &'static str),
    /// Never answers (for client timeouts): waits a minute, then closes.
    Stall,
    /// Closes the connection without answering (for `Command::Message`: the message was read
    /// in full, its `250` never sent).
    Drop,
}

/// One mail as the server accepted it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message as received, dot-unstuffed, with CRLF line ends.
    pub data: String,
    /// `(user, password)` the session authenticated with.
    pub auth: Option<(String, String)>,
}

impl Mail {
    /// The value of a header of the message (first occurrence, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = value.as_mut() {
                if line.starts_with([' ', '\t']) {
                    v.push_str(line);
                    continue;
                }
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_string());
            }
        }
        value
    }

    pub fn body(&self) -> &str {
        self.data.split_once("\r\n\r\n").map_or("", |(_, b)| b)
    }

    /// The message read as MIME, as a mail client would.
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(self.data.as_bytes())
            .expect("the message parses as MIME")
    }
}

#[derive(Default)]
struct Config {
    script: HashMap<Command, VecDeque<Scripted>>,
    /// Credentials the server demands (and advertises AUTH for).
    credentials: Option<(String, String)>,
    /// Mechanisms advertised when credentials are set.
    mechanisms: &'static str,
}

#[derive(Clone)]
struct Shared {
    config: Arc<Mutex<Config>>,
    tx: mpsc::UnboundedSender<Mail>,
    log: Arc<Mutex<Vec<String>>>,
    received: Arc<Mutex<Vec<Mail>>>,
    connections: Arc<AtomicUsize>,
}

pub struct FakeSmtp {
    pub port: u16,
    shared: Shared,
    rx: mpsc::UnboundedReceiver<Mail>,
}

impl FakeSmtp {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Shared {
            config: Arc::new(Mutex::new(Config {
                mechanisms: "PLAIN LOGIN",
                ..Config::default()
            })),
            tx,
            log: Arc::default(),
            received: Arc::default(),
            connections: Arc::default(),
        };
        let accepting = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                accepting.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(session(stream, accepting.clone()));
            }
        });
        Self { port, shared, rx }
    }

    /// `smtp://127.0.0.1:<port>?tls=none`, with `user:password@` when given.
    pub fn url(&self, credentials: Option<(&str, &str)>) -> String {
        match credentials {
            Some((u, p)) => format!("smtp://{u}:{p}@127.0.0.1:{}?tls=none", self.port),
            None => format!("smtp://127.0.0.1:{}?tls=none", self.port),
        }
    }

    /// Demands AUTH with these credentials, advertising `mechanisms` (e.g. `"PLAIN LOGIN"`).
    pub fn require_auth(&self, user: &str, password: &str, mechanisms: &'static str) {
        let mut config = self.shared.config.lock().unwrap();
        config.credentials = Some((user.into(), password.into()));
        config.mechanisms = mechanisms;
    }

    /// The next `command` is answered with `reply` instead of the usual success (a scripted
    /// `2xx`/`3xx` lets that command through as usual).
    pub fn script(&self, command: Command, reply: Scripted) {
        self.shared
            .config
            .lock()
            .unwrap()
            .script
            .entry(command)
            .or_default()
            .push_back(reply);
    }

    pub async fn next_mail(&mut self) -> Mail {
        tokio::time::timeout(Duration::from_secs(10), self.rx.recv())
            .await
            .expect("a mail within 10 s")
            .expect("fake smtp running")
    }

    /// Every command line received so far (AUTH arguments masked).
    pub fn log(&self) -> Vec<String> {
        self.shared.log.lock().unwrap().clone()
    }

    /// Every message read in full so far, in order, whether it was then accepted, refused,
    /// or left unanswered.
    pub fn received(&self) -> Vec<Mail> {
        self.shared.received.lock().unwrap().clone()
    }

    /// The `Message-ID` header of each message read in full so far, in order.
    pub fn message_ids(&self) -> Vec<Option<String>> {
        self.received()
            .iter()
            .map(|m| m.header("Message-ID"))
            .collect()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }
}

fn scripted(shared: &Shared, command: Command) -> Option<Scripted> {
    shared
        .config
        .lock()
        .unwrap()
        .script
        .get_mut(&command)
        .and_then(VecDeque::pop_front)
}

fn b64(s: &str) -> String {
    String::from_utf8(STANDARD.decode(s.trim()).unwrap_or_default()).unwrap_or_default()
}

async fn session(stream: TcpStream, shared: Shared) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    macro_rules! send {
        ($($arg:tt)*) => {{
            let reply = format!("{}\r\n", format!($($arg)*));
            if write.write_all(reply.as_bytes()).await.is_err() {
                return;
            }
        }};
    }
    // Answers `command` with its scripted reply if any (true), else lets the caller answer.
    macro_rules! scripted_reply {
        ($command:expr) => {
            match scripted(&shared, $command) {
                Some(Scripted::Reply(code, text)) if code >= 400 => {
                    send!("{code} {text}");
                    true
                }
                // A success is scripted to let one command through before a refusal.
                Some(Scripted::Reply(..)) => false,
                Some(Scripted::Stall) => {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    return;
                }
                Some(Scripted::Drop) => return,
                None => false,
            }
        };
    }

    send!("220 fake.smtp.test ESMTP ready");
    let mut auth: Option<(String, String)> = None;
    let mut mail_from: Option<String> = None;
    let mut rcpt_to: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end_matches(['\r', '\n']).to_string();
        let upper = command.to_ascii_uppercase();
        let logged = if upper.starts_with("AUTH") {
            command.split(' ').take(2).collect::<Vec<_>>().join(" ")
        } else {
            command.clone()
        };
        shared.log.lock().unwrap().push(logged);
        let (credentials, mechanisms) = {
            let c = shared.config.lock().unwrap();
            (c.credentials.clone(), c.mechanisms)
        };
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            if scripted_reply!(Command::Ehlo) {
                continue;
            }
            send!("250-fake.smtp.test greets you");
            send!("250-8BITMIME");
            if credentials.is_some() {
                send!("250-AUTH {mechanisms}");
            }
            send!("250 SMTPUTF8");
        } else if upper.starts_with("AUTH") {
            if scripted_reply!(Command::Auth) {
                continue;
            }
            let mut words = command.split(' ').skip(1);
            let mechanism = words.next().unwrap_or_default().to_ascii_uppercase();
            let initial = words.next().map(str::to_string);
            let given = match mechanism.as_str() {
                "PLAIN" => {
                    let response = match initial {
                        Some(r) => r,
                        None => {
                            send!("334 ");
                            line.clear();
                            if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            line.trim().to_string()
                        }
                    };
                    let decoded = b64(&response);
                    let mut parts = decoded.split('\0').skip(1);
                    Some((
                        parts.next().unwrap_or_default().to_string(),
                        parts.next().unwrap_or_default().to_string(),
                    ))
                }
                "LOGIN" => {
                    let user = match initial {
                        Some(u) => b64(&u),
                        None => {
                            send!("334 VXNlcm5hbWU6");
                            line.clear();
                            if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            b64(&line)
                        }
                    };
                    send!("334 UGFzc3dvcmQ6");
                    line.clear();
                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    Some((user, b64(&line)))
                }
                _ => None,
            };
            match (given, &credentials) {
                (Some(given), Some(expected)) if &given == expected => {
                    auth = Some(given);
                    send!("235 2.7.0 Authentication successful");
                }
                (None, _) => send!("504 5.5.4 Unrecognized authentication type"),
                _ => send!("535 5.7.8 Authentication credentials invalid"),
            }
        } else if upper.starts_with("MAIL FROM:") {
            if credentials.is_some() && auth.is_none() {
                send!("530 5.7.0 Authentication required");
                continue;
            }
            if scripted_reply!(Command::Mail) {
                continue;
            }
            mail_from = Some(address(&command["MAIL FROM:".len()..]));
            rcpt_to.clear();
            send!("250 2.1.0 Ok");
        } else if upper.starts_with("RCPT TO:") {
            if mail_from.is_none() {
                send!("503 5.5.1 Error: need MAIL command");
                continue;
            }
            if scripted_reply!(Command::Rcpt) {
                continue;
            }
            rcpt_to.push(address(&command["RCPT TO:".len()..]));
            send!("250 2.1.5 Ok");
        } else if upper == "DATA" {
            if mail_from.is_none() || rcpt_to.is_empty() {
                send!("503 5.5.1 Error: need RCPT command");
                continue;
            }
            if scripted_reply!(Command::Data) {
                continue;
            }
            send!("354 End data with <CR><LF>.<CR><LF>");
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            let mail = Mail {
                mail_from: mail_from.take().unwrap_or_default(),
                rcpt_to: std::mem::take(&mut rcpt_to),
                data,
                auth: auth.clone(),
            };
            shared.received.lock().unwrap().push(mail.clone());
            if scripted_reply!(Command::Message) {
                continue;
            }
            let _ = shared.tx.send(mail);
            send!("250 2.0.0 Ok: queued");
        } else if upper == "RSET" {
            mail_from = None;
            rcpt_to.clear();
            send!("250 2.0.0 Ok");
        } else if upper == "NOOP" {
            send!("250 2.0.0 Ok");
        } else if upper == "QUIT" {
            send!("221 2.0.0 Bye");
            return;
        } else {
            send!("502 5.5.2 Error: command not recognized");
        }
    }
}

/// `<a@b> SIZE=123` → `a@b`.
fn address(argument: &str) -> String {
    let argument = argument.trim();
    let end = argument.find('>').map_or(argument.len(), |i| i + 1);
    argument[..end]
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}
