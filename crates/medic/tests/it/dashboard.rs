//! The dashboard in a real headless Chromium, driven over the W3C WebDriver
//! protocol: sign in, watch a target break, approve the high-risk fix, see
//! the incident resolve. Screenshots land in target/ for a human to look at.

use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::support::{
    Http, KillOnDrop, OPS_KEY, TempDir, Watched, artifact, closed_port, missing_tools, poll,
};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The W3C name of the key that holds an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const WAIT: Duration = Duration::from_secs(30);

/// One WebDriver session in a ChromeDriver of its own. Drop ends the
/// session (Chromium quits), then kills ChromeDriver, then removes the profile.
struct Browser {
    http: Http,
    session: String,
    _driver: KillOnDrop,
    _profile: TempDir,
}

impl Browser {
    fn start() -> Self {
        let http = Http::new();
        let port = closed_port();
        let driver = KillOnDrop(
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver starts"),
        );
        let root = format!("http://127.0.0.1:{port}");
        let ready = poll(Duration::from_secs(10), || {
            let (_, status) = http
                .call("GET", &format!("{root}/status"), &[], None)
                .ok()?;
            (status["value"]["ready"] == true).then_some(())
        });
        assert!(ready.is_some(), "chromedriver never became ready on {root}");

        let profile = TempDir::new("chromium-profile");
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    format!("--user-data-dir={}", profile.0.display()),
                    "--window-size=1440,1000",
                    // Headless prefers light; a dark system preference makes `/`
                    // show the dark theme, so the two themes both get a screenshot.
                    "--force-dark-mode",
                    // Stills the pulsing live dot, so screenshots are stable.
                    "--force-prefers-reduced-motion",
                ],
            },
        }}});
        let (status, reply) = http
            .call("POST", &format!("{root}/session"), &[], Some(&capabilities))
            .expect("chromedriver answers");
        let session = reply["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session (HTTP {status}): {reply:#}"))
            .to_string();
        Self {
            http,
            session: format!("{root}/session/{session}"),
            _driver: driver,
            _profile: profile,
        }
    }

    /// One command of the session; its `value`, or the driver's error.
    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        // POSTs without parameters still need a JSON object.
        let body = body.or_else(|| (method == "POST").then(|| json!({})));
        let url = format!("{}{path}", self.session);
        let (status, mut reply) = self.http.call(method, &url, &[], body.as_ref())?;
        let value = reply["value"].take();
        if status == 200 {
            Ok(value)
        } else {
            Err(format!(
                "{method} {path}: {} ({})",
                value["error"], value["message"]
            ))
        }
    }

    fn goto(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url })))
            .expect("navigates");
    }

    /// The element matching `css` now, if any.
    fn find(&self, css: &str) -> Result<String, String> {
        let found = self.command(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        )?;
        found[ELEMENT]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("no element reference in {found}"))
    }

    /// Waits until `css` matches; `what` says what that means on failure.
    fn wait_for(&self, css: &str, what: &str) -> String {
        let mut last = String::new();
        poll(WAIT, || self.find(css).map_err(|e| last = e).ok())
            .unwrap_or_else(|| self.fail(what, css, &last))
    }

    /// Clicks `css` once it can be: the dashboard re-renders its panels, so a
    /// fresh lookup per try avoids stale references.
    fn click(&self, css: &str, what: &str) {
        let mut last = String::new();
        let clicked = poll(WAIT, || {
            self.find(css)
                .and_then(|element| {
                    self.command("POST", &format!("/element/{element}/click"), None)
                })
                .map_err(|e| last = e)
                .ok()
        });
        if clicked.is_none() {
            self.fail(what, css, &last);
        }
    }

    fn type_into(&self, css: &str, text: &str, what: &str) {
        let element = self.wait_for(css, what);
        self.command(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .expect("types");
    }

    /// Runs `script` in the page with `args`; its return value.
    fn script(&self, script: &str, args: Value) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .expect("runs a script in the page")
    }

    /// An attribute of the first element matching `css`, read in the page.
    fn attribute(&self, css: &str, name: &str) -> Option<String> {
        let script = "const e = document.querySelector(arguments[0]); \
                      return e && e.getAttribute(arguments[1]);";
        self.script(script, json!([css, name]))
            .as_str()
            .map(str::to_string)
    }

    /// The text of the first element matching `css` ("" when none does).
    fn text(&self, css: &str) -> String {
        let script = "const e = document.querySelector(arguments[0]); \
                      return e ? e.textContent : '';";
        let text = self.script(script, json!([css]));
        text.as_str().unwrap_or_default().to_string()
    }

    /// `data-kind` of every timeline entry shown in the detail panel.
    fn timeline_kinds(&self) -> Vec<String> {
        let script = "return [...document.querySelectorAll('#incident-detail ol.timeline > li')]\
                      .map(li => li.dataset.kind);";
        serde_json::from_value(self.script(script, json!([]))).expect("a list of kinds")
    }

    /// Scrolls the first element matching `css` into view (in its panel too).
    fn scroll_to(&self, css: &str) {
        let script = "document.querySelector(arguments[0]).scrollIntoView({block: 'center'});";
        self.script(script, json!([css]));
    }

    /// Fails when the dashboard shows its error banner: an API call failed.
    fn assert_no_error_banner(&self) {
        if self.attribute("#banner", "hidden").is_none() {
            self.dump_page();
            panic!(
                "the dashboard shows an error: {}",
                self.text("#banner-text")
            );
        }
    }

    /// Saves the viewport as target/NAME and says where.
    fn screenshot(&self, name: &str) {
        self.try_screenshot(name).expect("saves a screenshot");
    }

    fn try_screenshot(&self, name: &str) -> Result<(), String> {
        let encoded = self.command("GET", "/screenshot", None)?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap_or_default())
            .map_err(|e| format!("screenshot is not base64: {e}"))?;
        let path = artifact(name);
        std::fs::write(&path, png).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("screenshot: {}", path.display());
        Ok(())
    }

    /// Panics for a wait that timed out, leaving the page's source on
    /// stderr and a screenshot, so the failure can be read without a rerun.
    fn fail(&self, what: &str, css: &str, last_error: &str) -> ! {
        self.dump_page();
        panic!("timed out after {WAIT:?} waiting for {what} ({css}); last: {last_error}");
    }

    fn dump_page(&self) {
        match self.command("GET", "/source", None) {
            Ok(source) => eprintln!(
                "---- page source ----\n{}\n---- end of page source ----",
                source.as_str().unwrap_or_default()
            ),
            Err(e) => eprintln!("no page source: {e}"),
        }
        if let Err(e) = self.try_screenshot("dashboard-failure.png") {
            eprintln!("no screenshot: {e}");
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.http.call("DELETE", &self.session, &[], None);
    }
}

/// Lets the 1 s ticker ("updated … ago", countdowns) and the 200 ms
/// debounced refreshes catch up, so a screenshot shows settled text.
fn settle() {
    std::thread::sleep(Duration::from_secs(1));
}

#[test]
fn an_operator_approves_the_fix_in_the_dashboard_and_the_incident_resolves() {
    if missing_tools(&[CHROMIUM, CHROMEDRIVER], "chromium chromium-driver") {
        return;
    }
    let started = std::time::Instant::now();
    let watched = Watched::start("dashboard", "high");
    let base = format!("http://{}", watched.served.address);
    let browser = Browser::start();

    browser.goto(&format!("{base}/"));
    browser.type_into(
        "form#login:not([hidden]) input#api-key",
        OPS_KEY,
        "the login form",
    );
    browser.click("button#api-key-save", "the Connect button");
    browser.wait_for(
        r#"tr[data-target="shop"][data-state="healthy"]"#,
        "target shop to show healthy",
    );
    browser.wait_for(
        r#"#live[data-connected="true"]"#,
        "the live event stream to connect",
    );

    watched.break_service();
    browser.wait_for("tr[data-incident]", "an incident row");
    let incident = browser
        .attribute("tr[data-incident]", "data-incident")
        .expect("the row names its incident");
    browser.wait_for(
        "div[data-approval] button[data-approve]",
        "an approval card with an Approve button",
    );
    let approval = browser
        .attribute("div[data-approval]", "data-approval")
        .expect("the card names its approval");
    settle();
    browser.screenshot("dashboard-approval.png");

    browser.click(
        &format!(r#"button[data-approve="{approval}"]"#),
        "the Approve button",
    );
    let resolved = format!(r#"tr[data-incident="{incident}"][data-status="resolved"]"#);
    browser.wait_for(&resolved, "the incident row to show resolved");
    browser.wait_for(
        r#"tr[data-target="shop"][data-state="healthy"]"#,
        "target shop to be healthy again",
    );

    browser.click(&resolved, "the resolved incident's row");
    browser.wait_for(
        r#"#incident-detail .detail-head[data-status="resolved"]"#,
        "the detail panel of the resolved incident",
    );
    browser.wait_for(
        r#"#incident-detail ol.timeline > li[data-kind="verification"]"#,
        "a verification entry in the timeline",
    );
    // The diagnosis says what it rests on (the policy's two bars).
    browser.wait_for(
        "#incident-detail .chips [data-grounds]",
        "the diagnosis' grounds chip",
    );
    let kinds = browser.timeline_kinds();
    for kind in ["signal", "diagnosis", "approval", "action", "verification"] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "no {kind} in the timeline: {kinds:?}"
        );
    }
    browser.assert_no_error_banner();
    settle();
    browser.screenshot("dashboard-resolved.png");

    // The key stays in sessionStorage, so the reload signs in by itself.
    browser.goto(&format!("{base}/?theme=light#incident={incident}"));
    browser.wait_for(
        r#"html[data-theme="light"] #incident-detail .detail-head[data-status="resolved"]"#,
        "the light theme with the incident's detail",
    );
    browser.wait_for(
        r#"tr[data-target="shop"][data-state="healthy"]"#,
        "the targets panel in the light theme",
    );
    browser.wait_for(
        "#incident-detail ol.timeline > li[data-kind]",
        "the timeline in the light theme",
    );
    // This one shows the timeline; the dark one showed the detail's head.
    browser.scroll_to("#incident-detail ol.timeline");
    browser.assert_no_error_banner();
    settle();
    browser.screenshot("dashboard-light.png");

    // A maintenance window opened from the command line shows in its panel.
    let opened = Command::new(env!("CARGO_BIN_EXE_medic"))
        .args(["maintenance", "start", "--target", "shop", "--for", "10m"])
        .args(["--name", "dashboard window"])
        .env("MEDIC_URL", &base)
        .env("MEDIC_API_KEY", OPS_KEY)
        .output()
        .expect("medic maintenance start");
    assert!(
        opened.status.success(),
        "{}",
        String::from_utf8_lossy(&opened.stderr)
    );
    browser.wait_for(
        r#"#maintenance li[data-window="dashboard window"][data-active="true"]"#,
        "the window in force in the maintenance panel",
    );
    assert!(
        browser.text("#maintenance").contains("covers shop"),
        "{}",
        browser.text("#maintenance")
    );
    eprintln!("dashboard test took {:?}", started.elapsed());
}
