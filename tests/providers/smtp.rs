//! The SMTP client against a real SMTP server on loopback: the envelope and message, AUTH,
//! the connection pool, every class of refusal, and which failures leave a message in doubt.

use std::time::Duration;

use herald::domain::codes::ErrorCode;
use herald::providers::smtp::{SmtpConfig, SmtpProvider};
use herald::providers::{Provider, Receipt, Reconciled, SendOutcome};

use crate::email;
use crate::fake_smtp::{Command, FakeSmtp, Scripted};

fn provider(url: &str) -> SmtpProvider {
    provider_with_timeout(url, Duration::from_secs(10))
}

fn provider_with_timeout(url: &str, timeout: Duration) -> SmtpProvider {
    SmtpProvider::new(SmtpConfig::from_url(url, timeout).unwrap())
}

#[tokio::test]
async fn sends_the_envelope_and_message_with_herald_s_message_id() {
    let mut smtp = FakeSmtp::start().await;
    let message = email(&["a@example.com"], &["b@example.com"]);

    let outcome = provider(&smtp.url(None)).send(&message).await;

    let id = format!("<{}@herald>", message.message_uuid);
    assert_eq!(
        outcome,
        SendOutcome::Accepted {
            provider_message_id: id.clone(),
            receipt: Some(Receipt::Delivered),
        }
    );
    let mail = smtp.next_mail().await;
    assert_eq!(mail.mail_from, "service@dealer.example.com");
    assert_eq!(
        mail.rcpt_to,
        ["customer@example.com", "a@example.com", "b@example.com"]
    );
    assert_eq!(mail.header("Message-ID"), Some(id));
    assert_eq!(
        mail.header("From").as_deref(),
        Some("\"Service Team\" <service@dealer.example.com>")
    );
    assert_eq!(mail.header("To").as_deref(), Some("customer@example.com"));
    assert_eq!(mail.header("Cc").as_deref(), Some("a@example.com"));
    assert_eq!(mail.header("Bcc"), None, "BCC stays in the envelope only");
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Message from Acme Motors")
    );
    assert!(mail.header("Date").is_some());
    assert!(
        mail.header("Content-Type")
            .is_some_and(|v| v.starts_with("text/plain; charset=utf-8")),
        "{:?}",
        mail.header("Content-Type")
    );
    assert!(mail.auth.is_none());
    assert!(!mail.data.contains("Café"), "non-ASCII is transfer-encoded");
}

#[tokio::test]
async fn logs_in_with_the_url_credentials_by_plain_or_login() {
    for mechanisms in ["PLAIN LOGIN", "LOGIN"] {
        let mut smtp = FakeSmtp::start().await;
        smtp.require_auth("mailer", "s3cret/pass", mechanisms);
        let url = smtp.url(Some(("mailer", "s3cret%2Fpass")));

        let outcome = provider(&url).send(&email(&[], &[])).await;

        assert!(
            matches!(outcome, SendOutcome::Accepted { .. }),
            "{outcome:?}"
        );
        let mail = smtp.next_mail().await;
        assert_eq!(
            mail.auth,
            Some(("mailer".into(), "s3cret/pass".into())),
            "{mechanisms}"
        );
        let expected = mechanisms.split(' ').next().unwrap();
        assert!(
            smtp.log().iter().any(|l| l == &format!("AUTH {expected}")),
            "{:?}",
            smtp.log()
        );
    }
}

#[tokio::test]
async fn refused_login_is_permanent() {
    let smtp = FakeSmtp::start().await;
    smtp.require_auth("mailer", "right", "PLAIN");

    let outcome = provider(&smtp.url(Some(("mailer", "wrong"))))
        .send(&email(&[], &[]))
        .await;

    assert!(
        matches!(&outcome, SendOutcome::Permanent { code, .. } if *code == ErrorCode::InternalServerError),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn one_connection_carries_consecutive_messages() {
    let mut smtp = FakeSmtp::start().await;
    let provider = provider(&smtp.url(None));

    for _ in 0..3 {
        let outcome = provider.send(&email(&[], &[])).await;
        assert!(
            matches!(outcome, SendOutcome::Accepted { .. }),
            "{outcome:?}"
        );
        smtp.next_mail().await;
    }

    assert_eq!(smtp.connections(), 1);
}

#[tokio::test]
async fn a_5xx_to_rcpt_to_is_an_invalid_address() {
    for (code, text) in [
        (
            550,
            "5.1.1 <customer@example.com>: Recipient address rejected",
        ),
        (553, "5.1.3 Bad recipient address syntax"),
    ] {
        let smtp = FakeSmtp::start().await;
        smtp.script(Command::Rcpt, Scripted::Reply(code, text));

        let outcome = provider(&smtp.url(None)).send(&email(&[], &[])).await;

        let SendOutcome::Permanent {
            code: herald_code,
            detail,
            effect,
        } = outcome
        else {
            panic!("{code}: permanent expected, got {outcome:?}");
        };
        assert_eq!(herald_code, ErrorCode::InvalidEmailAddress);
        assert!(detail.starts_with("SMTP RCPT TO"), "{detail}");
        assert!(detail.contains(&code.to_string()), "{detail}");
        assert_eq!(effect, None);
        assert!(
            !smtp.log().iter().any(|l| l == "DATA"),
            "no DATA after a refused recipient"
        );
    }
}

#[tokio::test]
async fn a_refused_copy_recipient_is_skipped() {
    let mut smtp = FakeSmtp::start().await;
    // The primary recipient comes first, then the CC.
    smtp.script(Command::Rcpt, Scripted::Reply(250, "2.1.5 Ok"));
    smtp.script(Command::Rcpt, Scripted::Reply(550, "5.1.1 No such user"));

    let outcome = provider(&smtp.url(None))
        .send(&email(&["gone@example.com"], &[]))
        .await;

    assert!(
        matches!(outcome, SendOutcome::Accepted { .. }),
        "{outcome:?}"
    );
    let mail = smtp.next_mail().await;
    assert!(
        mail.data.contains("gone@example.com"),
        "the Cc header is kept"
    );
}

#[tokio::test]
async fn a_5xx_elsewhere_is_an_internal_error() {
    for command in [Command::Mail, Command::Data, Command::Message] {
        let smtp = FakeSmtp::start().await;
        smtp.script(
            command,
            Scripted::Reply(554, "5.7.1 Message rejected as spam"),
        );

        let outcome = provider(&smtp.url(None)).send(&email(&[], &[])).await;

        assert!(
            matches!(&outcome, SendOutcome::Permanent { code, .. } if *code == ErrorCode::InternalServerError),
            "{command:?}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn a_4xx_anywhere_is_transient() {
    for command in [
        Command::Mail,
        Command::Rcpt,
        Command::Data,
        Command::Message,
    ] {
        let smtp = FakeSmtp::start().await;
        smtp.script(command, Scripted::Reply(451, "4.3.0 Try again later"));

        let outcome = provider(&smtp.url(None)).send(&email(&[], &[])).await;

        assert!(
            matches!(outcome, SendOutcome::Transient { .. }),
            "{command:?}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn a_server_that_stalls_before_the_message_is_a_transient_timeout() {
    let smtp = FakeSmtp::start().await;
    smtp.script(Command::Data, Scripted::Stall);

    let outcome = provider_with_timeout(&smtp.url(None), Duration::from_millis(300))
        .send(&email(&[], &[]))
        .await;

    assert!(
        matches!(&outcome, SendOutcome::Transient { detail } if detail.contains("in time")),
        "{outcome:?}"
    );
    assert!(smtp.received().is_empty());
}

#[tokio::test]
async fn a_server_that_stalls_after_the_message_leaves_it_in_doubt() {
    let smtp = FakeSmtp::start().await;
    smtp.script(Command::Message, Scripted::Stall);

    let outcome = provider_with_timeout(&smtp.url(None), Duration::from_millis(300))
        .send(&email(&[], &[]))
        .await;

    assert!(
        matches!(&outcome, SendOutcome::InDoubt { detail } if detail.contains("in time")),
        "{outcome:?}"
    );
    assert_eq!(
        smtp.received().len(),
        1,
        "the server read the whole message"
    );
}

#[tokio::test]
async fn a_connection_dropped_after_the_message_leaves_it_in_doubt() {
    let smtp = FakeSmtp::start().await;
    smtp.script(Command::Message, Scripted::Drop);

    let outcome = provider(&smtp.url(None)).send(&email(&[], &[])).await;

    assert!(
        matches!(&outcome, SendOutcome::InDoubt { detail } if detail.starts_with("SMTP message")),
        "{outcome:?}"
    );
    assert_eq!(
        smtp.received().len(),
        1,
        "the server read the whole message"
    );
}

#[tokio::test]
async fn a_message_in_doubt_is_sent_again_with_the_same_message_id() {
    let mut smtp = FakeSmtp::start().await;
    smtp.script(Command::Message, Scripted::Drop);
    let provider = provider(&smtp.url(None));
    let message = email(&[], &[]);
    let first = provider.send(&message).await;
    assert!(matches!(first, SendOutcome::InDoubt { .. }), "{first:?}");

    let reconciled = provider
        .reconcile(&message, time::OffsetDateTime::now_utc())
        .await;
    let again = provider.send(&message).await;

    assert_eq!(reconciled, Reconciled::Unaskable, "SMTP cannot be asked");
    let id = format!("<{}@herald>", message.message_uuid);
    assert_eq!(
        again,
        SendOutcome::Accepted {
            provider_message_id: id.clone(),
            receipt: Some(Receipt::Delivered),
        }
    );
    assert_eq!(
        smtp.next_mail().await.header("Message-ID"),
        Some(id.clone())
    );
    assert_eq!(
        smtp.message_ids(),
        [Some(id.clone()), Some(id)],
        "receivers can drop the copy by its Message-ID"
    );
}

#[tokio::test]
async fn failures_before_the_message_are_never_in_doubt() {
    for (command, reply) in [
        (Command::Mail, Scripted::Drop),
        (Command::Rcpt, Scripted::Drop),
        (Command::Rcpt, Scripted::Reply(451, "4.3.0 Try again later")),
        (Command::Rcpt, Scripted::Reply(550, "5.1.1 No such user")),
        (Command::Data, Scripted::Drop),
    ] {
        let smtp = FakeSmtp::start().await;
        smtp.script(command, reply.clone());

        let outcome = provider(&smtp.url(None)).send(&email(&[], &[])).await;

        assert!(
            matches!(
                outcome,
                SendOutcome::Transient { .. } | SendOutcome::Permanent { .. }
            ),
            "{command:?} {reply:?}: {outcome:?}"
        );
        assert!(smtp.received().is_empty(), "{command:?} {reply:?}");
    }
}

#[tokio::test]
async fn an_unreachable_server_is_transient() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);

    let outcome = provider(&format!("smtp://127.0.0.1:{port}?tls=none"))
        .send(&email(&[], &[]))
        .await;

    assert!(
        matches!(outcome, SendOutcome::Transient { .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn required_starttls_is_never_skipped() {
    let smtp = FakeSmtp::start().await;
    let url = format!("smtp://127.0.0.1:{}?tls=required", smtp.port);

    let outcome = provider(&url).send(&email(&[], &[])).await;

    assert!(
        matches!(outcome, SendOutcome::Transient { .. }),
        "{outcome:?}"
    );
    assert!(
        !smtp.log().iter().any(|l| l.starts_with("MAIL FROM")),
        "{:?}",
        smtp.log()
    );
}
