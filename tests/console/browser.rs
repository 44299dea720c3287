//! One headless chromium per test, behind its own chromedriver on a free loopback port.

use std::process::Stdio;
use std::time::Duration;

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::process::{Child, Command};

use crate::helpers::{ADMIN_TOKEN, TestApp};

pub struct Browser {
    pub client: Client,
    _driver: Child,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    pub async fn start() -> Browser {
        let port = free_port();
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts (apt-get install chromium chromium-driver)");
        let mut caps = Capabilities::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({"args": ["--headless=new", "--no-sandbox", "--window-size=1280,900", "--disable-gpu", "--disable-dev-shm-usage"]}),
        );
        // chromedriver takes a moment to listen: poll until a session opens, with a deadline.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let client = loop {
            let attempt = ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await;
            match attempt {
                Ok(client) => break client,
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("no WebDriver session within 30 s: {e}"),
            }
        };
        Browser {
            client,
            _driver: driver,
        }
    }

    pub async fn open(&self, app: &TestApp, path: &str) {
        self.client.goto(&app.url(path)).await.expect("page loads");
    }

    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_string()
    }

    /// Waits (polling, with a deadline) until a form's navigation reached `path`.
    pub async fn wait_path(&self, path: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let now = self.path().await;
            if now == path {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "still on {now}, expected {path}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The text of the first element matching `css`, waiting (with a deadline) for it to be
    /// in the page: a page just navigated to may still be loading.
    pub async fn text(&self, css: &str) -> String {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .unwrap()
    }

    pub async fn body(&self) -> String {
        self.text("body").await
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.client.find(Locator::Css(css)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// Clicks a link or a form's button and waits (with a deadline) until the browser has left
    /// the page: every click in these tests navigates (the console has no script), and reading
    /// the next page before the old one is gone would read the old one.
    pub async fn click(&self, css: &str) {
        let old_page = self.client.find(Locator::Css("html")).await.unwrap();
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        // The old page's root element goes stale once the new document replaced it.
        while old_page.tag_name().await.is_ok() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "clicking {css} did not leave the page"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn sign_in(&self, app: &TestApp) {
        self.open(app, "/console/login").await;
        self.fill("input[name=token]", ADMIN_TOKEN).await;
        self.click("button[type=submit]").await;
        self.wait_path("/console").await;
    }

    /// The current page as docs/console/<name>.png (the viewport: 1280 px wide).
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let path = format!("{}/docs/console/{name}.png", env!("CARGO_MANIFEST_DIR"));
        std::fs::write(&path, png).expect("screenshot written");
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
