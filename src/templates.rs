//! Handlebars templates for every generated file, embedded in the binary so that an installed
//! `webstir` needs nothing beside it.

use std::sync::OnceLock;

use handlebars::Handlebars;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template `{name}` failed to render: {message}")]
    Render { name: String, message: String },
}

/// (name, source) of every template; names are the paths under `templates/` without `.hbs`.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "init/package.json",
        include_str!("../templates/init/package.json.hbs"),
    ),
    (
        "init/index.ts",
        include_str!("../templates/init/index.ts.hbs"),
    ),
    ("init/env.ts", include_str!("../templates/init/env.ts.hbs")),
    (
        "init/tsconfig.json",
        include_str!("../templates/init/tsconfig.json.hbs"),
    ),
    (
        "init/env.example",
        include_str!("../templates/init/env.example.hbs"),
    ),
    (
        "init/gitignore",
        include_str!("../templates/init/gitignore.hbs"),
    ),
    (
        "job/index.ts",
        include_str!("../templates/job/index.ts.hbs"),
    ),
    (
        "runner/runner.mjs",
        include_str!("../templates/runner/runner.mjs.hbs"),
    ),
    (
        "runner/tenants.mjs",
        include_str!("../templates/runner/tenants.mjs.hbs"),
    ),
    (
        "init/tenants.ts",
        include_str!("../templates/init/tenants.ts.hbs"),
    ),
    (
        "build/scheduler.js",
        include_str!("../templates/build/scheduler.js.hbs"),
    ),
    (
        "export/kubernetes.yaml",
        include_str!("../templates/export/kubernetes.yaml.hbs"),
    ),
    (
        "export/systemd.service",
        include_str!("../templates/export/systemd.service.hbs"),
    ),
    (
        "export/systemd.timer",
        include_str!("../templates/export/systemd.timer.hbs"),
    ),
    (
        "export/eventbridge.yaml",
        include_str!("../templates/export/eventbridge.yaml.hbs"),
    ),
    (
        "export/github-actions.yml",
        include_str!("../templates/export/github-actions.yml.hbs"),
    ),
];

/// Templates of HTML pages, rendered with HTML escaping (names under `templates/`, no `.hbs`).
const HTML_TEMPLATES: &[(&str, &str)] = &[(
    "http/status.html",
    include_str!("../templates/http/status.html.hbs"),
)];

/// The registry holding template `index` of [`TEMPLATES`] alone, compiled on first use: a
/// command renders one or two templates, and compiling all of them (the runner's is large) was
/// a visible part of `add-job`'s time. No template uses partials, so each stands alone.
fn registry(index: usize) -> &'static Handlebars<'static> {
    static REGISTRIES: [OnceLock<Handlebars<'static>>; TEMPLATES.len()] =
        [const { OnceLock::new() }; TEMPLATES.len()];
    REGISTRIES[index].get_or_init(|| {
        let (name, source) = TEMPLATES[index];
        let mut hb = Handlebars::new();
        hb.set_strict_mode(true);
        // Generated files are code, not HTML.
        hb.register_escape_fn(handlebars::no_escape);
        hb.register_template_string(name, source)
            .expect("embedded templates are checked by the test suite");
        hb
    })
}

fn html_registry() -> &'static Handlebars<'static> {
    static REGISTRY: OnceLock<Handlebars<'static>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(true);
        // The default escape function: job output and errors are shown as text, never markup.
        for (name, source) in HTML_TEMPLATES {
            hb.register_template_string(name, source)
                .expect("embedded templates are checked by the test suite");
        }
        hb
    })
}

/// Renders the embedded HTML template `name` with `data`, escaping every value.
pub fn render_html<T: Serialize>(name: &str, data: &T) -> Result<String, TemplateError> {
    html_registry()
        .render(name, data)
        .map_err(|e| TemplateError::Render {
            name: name.to_owned(),
            message: e.to_string(),
        })
}

/// Renders the embedded template `name` with `data`.
pub fn render<T: Serialize>(name: &str, data: &T) -> Result<String, TemplateError> {
    let index = TEMPLATES
        .iter()
        .position(|(known, _)| *known == name)
        .ok_or_else(|| TemplateError::Render {
            name: name.to_owned(),
            message: "no such template".to_owned(),
        })?;
    registry(index)
        .render(name, data)
        .map_err(|e| TemplateError::Render {
            name: name.to_owned(),
            message: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_template_compiles() {
        let mut hb = Handlebars::new();
        for (name, source) in TEMPLATES.iter().chain(HTML_TEMPLATES) {
            hb.register_template_string(name, source)
                .unwrap_or_else(|e| panic!("template {name}: {e}"));
        }
    }
}
