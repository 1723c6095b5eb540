//! The `tracing` layer behind `--log-format json`: each scheduler event becomes one JSON object
//! on stdout, `time` and `level` first, then the event's fields in the order they were given.

use std::fmt;
use std::sync::Once;

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};

use super::TARGET;

/// Installs the layer as the global subscriber (once per process).
pub fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(JsonLines);
        // Fails only when a subscriber is already installed, which then receives the events.
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

struct JsonLines;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for JsonLines {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != TARGET {
            return;
        }
        let level = event.metadata().level().as_str().to_ascii_lowercase();
        let mut fields = Fields(vec![("level", level.into())]);
        event.record(&mut fields);
        super::write_stdout(format_args!("{}", line(&fields.0)), super::LogFormat::Json);
    }
}

/// One JSON object: `time` (now), then `fields` in their order.
pub(super) fn line(fields: &[(&'static str, serde_json::Value)]) -> String {
    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    // Written by hand: serde_json's map would sort the keys.
    let body: Vec<String> = std::iter::once(("time", time.into()))
        .chain(fields.iter().cloned())
        .map(|(name, value): (&str, serde_json::Value)| {
            format!("{}:{value}", serde_json::Value::from(name))
        })
        .collect();
    format!("{{{}}}", body.join(","))
}

struct Fields(Vec<(&'static str, serde_json::Value)>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name(), value.into()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.push((field.name(), value.into()));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.push((field.name(), value.into()));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.push((field.name(), value.into()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.push((field.name(), format!("{value:?}").into()));
    }
}
