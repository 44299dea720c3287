// figment's `Jail` fixes the closures' error type.
#![allow(clippy::result_large_err)]

use std::path::Path;

use secrecy::ExposeSecret;

use super::*;

#[test]
fn defaults_need_no_configuration() {
    let s = Settings::load_without_env(None).unwrap();
    assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(s.database_url.expose(), "sqlite://herald.db");
    assert_eq!(s.text.provider, TextProviderKind::Outbox);
    assert_eq!(s.email.provider, EmailProviderKind::Outbox);
    assert!(s.admin_token().is_none());
    assert_eq!(s.public_base_url(), "http://127.0.0.1:8080");
}

#[test]
fn environment_wins_over_file() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("herald.toml", "listen = \"127.0.0.1:9000\"\nadmin_token = \"file\"\n[text.twilio]\nauth_token = \"from-file\"")?;
        jail.set_env("HERALD_ADMIN_TOKEN", "from-env");
        jail.set_env("HERALD_TEXT__TWILIO__AUTH_TOKEN", "tok-env");
        let s = Settings::load(Some(Path::new("herald.toml"))).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(s.admin_token(), Some("from-env"));
        assert_eq!(
            s.text.twilio.auth_token.as_ref().unwrap().expose_secret(),
            "tok-env"
        );
        Ok(())
    });
}

#[test]
fn unknown_environment_variables_are_ignored_and_reported() {
    figment::Jail::expect_with(|jail| {
        // What Kubernetes injects for a Service named `herald`.
        jail.set_env("HERALD_PORT", "tcp://10.0.0.1:8080");
        jail.set_env("HERALD_SERVICE_HOST", "10.0.0.1");
        jail.set_env("HERALD_PORT_8080_TCP_ADDR", "10.0.0.1");
        jail.set_env("HERALD_TEXT__NOPE", "x");
        jail.set_env("HERALD_LISTEN", "127.0.0.1:9100");
        let s = Settings::load(None).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:9100");
        assert_eq!(
            s.ignored_environment,
            [
                "HERALD_PORT",
                "HERALD_PORT_8080_TCP_ADDR",
                "HERALD_SERVICE_HOST",
                "HERALD_TEXT__NOPE"
            ]
        );
        Ok(())
    });
}

#[test]
fn an_unknown_key_inside_a_known_variable_is_refused() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("HERALD_TEXT", "{provider = \"outbox\", nope = 1}");
        let err = Settings::load(None).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
        Ok(())
    });
}

#[test]
fn an_unknown_key_in_the_file_is_refused_with_the_environment_too() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("herald.toml", "lisen = \"127.0.0.1:9000\"")?;
        jail.set_env("HERALD_PORT", "tcp://10.0.0.1:8080");
        let err = Settings::load(Some(Path::new("herald.toml"))).unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
        Ok(())
    });
}

#[test]
fn a_known_environment_variable_with_a_bad_value_is_refused() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("HERALD_LISTEN", "garbage");
        jail.set_env("HERALD_PORT", "tcp://10.0.0.1:8080");
        let err = Settings::load(None).unwrap_err();
        assert!(err.to_string().contains("LISTEN"), "{err}");
        Ok(())
    });
}

#[test]
fn unknown_keys_are_refused() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("herald.toml", "lisen = \"127.0.0.1:9000\"")?;
        let err = Settings::load_without_env(Some(Path::new("herald.toml"))).unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
        Ok(())
    });
}

#[test]
fn secrets_do_not_print() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "herald.toml",
            "admin_token = \"hunter2-admin\"\ndatabase_url = \"postgres://herald:hunter2-db@db/herald\"\n[text.twilio]\nauth_token = \"hunter2-twilio\"",
        )?;
        let s = Settings::load_without_env(Some(Path::new("herald.toml"))).unwrap();
        let printed = format!("{s:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("postgres://herald:***@db/herald"));
        Ok(())
    });
}
