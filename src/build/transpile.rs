//! One TypeScript file to one ES module, in process: oxc parses, checks, strips the types,
//! rewrites relative specifiers and prints the JavaScript with its source map.

use std::path::{Path, PathBuf};

use oxc::allocator::Allocator;
use oxc::ast::ast::{
    Decorator, ImportExpression, JSXElement, JSXFragment, Program, StringLiteral,
    TSExportAssignment, TSImportEqualsDeclaration, TSModuleReference,
};
use oxc::ast_visit::{Visit, VisitMut, walk, walk_mut};
use oxc::codegen::{Codegen, CodegenOptions};
use oxc::diagnostics::OxcDiagnostic;
use oxc::parser::Parser;
use oxc::semantic::SemanticBuilder;
use oxc::span::{GetSpan, SourceType, Span};
use oxc::transformer::{JsxRuntime, TransformOptions, Transformer};

use super::diagnostics::Diagnostic;
use super::specifiers::{Resolution, SourceSet};
use super::tsconfig::Jsx;

/// What the build needs to know about the file being transpiled.
#[derive(Debug, Clone, Copy)]
pub struct Unit<'s> {
    /// `/`-separated path relative to `src/backend` (used to resolve imports).
    pub rel: &'s str,
    /// Path shown in diagnostics (relative to the workspace root).
    pub display: &'s Path,
    /// File name of the emitted module, for the `sourceMappingURL` comment.
    pub output_name: &'s str,
}

/// The emitted module and its source map (JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emitted {
    pub code: String,
    pub map: String,
}

/// Transpiles `source`; on failure returns every error found in the file.
pub fn transpile(
    source: &str,
    unit: Unit<'_>,
    sources: &SourceSet,
    jsx: &Jsx,
) -> Result<Emitted, Vec<Diagnostic>> {
    let allocator = Allocator::default();
    // The workspace is `"type": "module"`, so every file is an ES module.
    let source_type = if unit.rel.ends_with(".jsx") {
        SourceType::jsx()
    } else if unit.rel.ends_with(".tsx") {
        SourceType::tsx()
    } else {
        SourceType::ts()
    }
    .with_module(true);
    let parsed = Parser::new(&allocator, source, source_type).parse();
    let mut errors = to_diagnostics(unit, source, parsed.diagnostics.errors());
    if parsed.panicked || !errors.is_empty() {
        return Err(errors);
    }
    let mut program = parsed.program;

    let semantic = SemanticBuilder::new()
        .with_check_syntax_error(true)
        .with_enum_eval(true)
        .with_excess_capacity(2.0)
        .build(&program);
    errors.extend(to_diagnostics(unit, source, semantic.diagnostics.errors()));
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut unsupported = Unsupported {
        unit,
        source,
        errors: Vec::new(),
        first_jsx: None,
    };
    unsupported.visit_program(&program);
    errors.extend(unsupported.errors);

    let mut options = TransformOptions::default();
    // Like tsc, only JSX that is there needs a `jsx` mode (a `.tsx` file may have none).
    if let Some(span) = unsupported.first_jsx
        && let Err(message) = configure_jsx(jsx, &mut options)
    {
        errors.push(error_at(unit, source, span, &message));
    }

    // The default environment lowers nothing: Node 20 runs ES2023 as written, and lowering
    // would pull in runtime helper packages the workspace does not have.
    let transformed = Transformer::new(&allocator, Path::new(unit.rel), &options)
        .build_with_scoping(semantic.semantic.into_scoping(), &mut program);
    errors.extend(to_diagnostics(
        unit,
        source,
        transformed.diagnostics.errors(),
    ));

    let mut rewriter = SpecifierRewriter {
        allocator: &allocator,
        unit,
        source,
        sources,
        errors: Vec::new(),
    };
    rewriter.visit_program(&mut program);
    errors.extend(rewriter.errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(print(&program, source, unit))
}

/// Sets the transformer's JSX options the way tsc reads `compilerOptions.jsx`: `react` is the
/// classic runtime (`React.createElement`, or `jsxFactory`), `react-jsx` and `react-jsxdev`
/// the automatic one (imports `<jsxImportSource>/jsx-runtime`, `react` by default). What
/// leaves JSX in the output, which Node cannot run, is refused.
fn configure_jsx(jsx: &Jsx, options: &mut TransformOptions) -> Result<(), String> {
    let settings = &mut options.jsx;
    match jsx.mode.as_deref() {
        Some("react") => {
            settings.runtime = JsxRuntime::Classic;
            let pragma = jsx.factory.as_deref().unwrap_or("React.createElement");
            let pragma_frag = jsx.fragment_factory.as_deref().unwrap_or("React.Fragment");
            settings.pragma = Some(pragma.to_owned());
            settings.pragma_frag = Some(pragma_frag.to_owned());
            // Keeps the import of the factory's root (`React`), used only by the JSX.
            options.typescript.jsx_pragma = pragma.to_owned().into();
            options.typescript.jsx_pragma_frag = pragma_frag.to_owned().into();
        }
        Some(mode @ ("react-jsx" | "react-jsxdev")) => {
            settings.runtime = JsxRuntime::Automatic;
            settings.development = mode == "react-jsxdev";
            settings.import_source = jsx.import_source.clone();
            settings.conform();
        }
        Some(mode @ ("preserve" | "react-native")) => {
            return Err(format!(
                "tsconfig.json sets `compilerOptions.jsx` to `{mode}`, which leaves the JSX as written, and Node.js cannot run JSX; use `react-jsx` (or `react` for `React.createElement`)"
            ));
        }
        Some(other) => {
            return Err(format!(
                "tsconfig.json sets `compilerOptions.jsx` to `{other}`, which is not a JSX mode; use `react-jsx`, `react-jsxdev` or `react`"
            ));
        }
        None => {
            return Err(
                "JSX needs `compilerOptions.jsx` in tsconfig.json, which is not set; set it to `react-jsx` (the automatic runtime; `jsxImportSource` names the package) or `react` (`React.createElement`)"
                    .to_owned(),
            );
        }
    }
    Ok(())
}

fn error_at(unit: Unit<'_>, source: &str, span: Span, message: &str) -> Diagnostic {
    Diagnostic::at(
        unit.display.to_path_buf(),
        source,
        span.start as usize,
        span.end as usize,
        message.to_owned(),
    )
}

fn print(program: &Program<'_>, source: &str, unit: Unit<'_>) -> Emitted {
    let options = CodegenOptions {
        source_map_path: Some(PathBuf::from(source_path_from_output(unit.rel))),
        ..CodegenOptions::default()
    };
    let printed = Codegen::new().with_options(options).build(program);
    let mut code = printed.code;
    if !code.is_empty() && !code.ends_with('\n') {
        code.push('\n');
    }
    code.push_str("//# sourceMappingURL=");
    code.push_str(unit.output_name);
    code.push_str(".map\n");
    let map = match printed.map {
        Some(mut map) => {
            map.set_file(unit.output_name);
            map.set_source_contents(vec![Some(source)]);
            map.to_json_string()
        }
        None => String::from("{\"version\":3,\"sources\":[],\"names\":[],\"mappings\":\"\"}"),
    };
    Emitted { code, map }
}

/// The map's `sources` entry: the source file relative to the emitted one, which sits at the
/// same place under `build/backend` as the source under `src/backend`.
fn source_path_from_output(rel: &str) -> String {
    let depth = rel.matches('/').count() + 2;
    format!("{}src/backend/{rel}", "../".repeat(depth))
}

fn to_diagnostics<'d>(
    unit: Unit<'_>,
    source: &str,
    found: impl Iterator<Item = &'d OxcDiagnostic>,
) -> Vec<Diagnostic> {
    found
        .map(|d| {
            let label = d
                .labels
                .iter()
                .find(|l| l.primary())
                .or_else(|| d.labels.first());
            let help = d.help.as_ref().map(|h| h.to_string());
            match label {
                Some(l) => Diagnostic::at(
                    unit.display.to_path_buf(),
                    source,
                    l.offset() as usize,
                    (l.offset() + l.len()) as usize,
                    d.message.to_string(),
                ),
                None => Diagnostic::whole_file(unit.display.to_path_buf(), d.message.to_string()),
            }
            .with_help(help)
        })
        .collect()
}

/// Rewrites the specifiers of static imports, re-exports and `import()` calls with a string
/// literal; rejects what Node 20 cannot run and the transformer does not lower.
struct SpecifierRewriter<'a, 's> {
    allocator: &'a Allocator,
    unit: Unit<'s>,
    source: &'s str,
    sources: &'s SourceSet,
    errors: Vec<Diagnostic>,
}

impl<'a> SpecifierRewriter<'a, '_> {
    fn rewrite(&mut self, literal: &mut StringLiteral<'a>) {
        match self.sources.resolve(self.unit.rel, literal.value.as_str()) {
            Resolution::Keep => {}
            Resolution::Rewrite(new) => {
                literal.value = self.allocator.alloc_str(&new).into();
                literal.raw = None;
            }
            Resolution::NotFound { tried } => {
                let message = format!(
                    "cannot find module `{}` (looked for {})",
                    literal.value,
                    tried.join(", ")
                );
                self.error(literal.span, message);
            }
            Resolution::AliasNotFound { pattern, tried } => {
                let message = format!(
                    "cannot find module `{}`: it matches `{pattern}` in `compilerOptions.paths` of tsconfig.json, but none of its targets is a source file (looked for {})",
                    literal.value,
                    tried.join(", ")
                );
                self.error(literal.span, message);
            }
        }
    }

    fn error(&mut self, span: Span, message: String) {
        self.errors
            .push(error_at(self.unit, self.source, span, &message));
    }
}

impl<'a> VisitMut<'a> for SpecifierRewriter<'a, '_> {
    fn visit_import_declaration(&mut self, it: &mut oxc::ast::ast::ImportDeclaration<'a>) {
        self.rewrite(&mut it.source);
    }

    fn visit_export_all_declaration(&mut self, it: &mut oxc::ast::ast::ExportAllDeclaration<'a>) {
        self.rewrite(&mut it.source);
    }

    fn visit_export_from_declaration(&mut self, it: &mut oxc::ast::ast::ExportFromDeclaration<'a>) {
        self.rewrite(&mut it.source);
    }

    fn visit_import_expression(&mut self, it: &mut ImportExpression<'a>) {
        if let oxc::ast::ast::Expression::StringLiteral(literal) = &mut it.source {
            self.rewrite(literal);
        }
        walk_mut::walk_import_expression(self, it);
    }
}

/// Finds what is valid TypeScript but cannot become an ES module that Node 20 runs: the
/// transformer would keep decorators as they are and turn the CommonJS forms into `require`
/// and `module.exports`, which fail at run time in a `"type": "module"` package.
struct Unsupported<'s> {
    unit: Unit<'s>,
    source: &'s str,
    errors: Vec<Diagnostic>,
    /// Where the first JSX is, which needs tsconfig's `jsx` options to be compiled.
    first_jsx: Option<Span>,
}

impl Unsupported<'_> {
    fn error(&mut self, span: Span, message: &str) {
        self.errors
            .push(error_at(self.unit, self.source, span, message));
    }
}

impl<'a> Visit<'a> for Unsupported<'_> {
    fn visit_jsx_element(&mut self, it: &JSXElement<'a>) {
        self.first_jsx.get_or_insert(it.span);
        walk::walk_jsx_element(self, it);
    }

    fn visit_jsx_fragment(&mut self, it: &JSXFragment<'a>) {
        self.first_jsx.get_or_insert(it.span);
        walk::walk_jsx_fragment(self, it);
    }

    fn visit_decorator(&mut self, it: &Decorator<'a>) {
        self.error(
            it.span(),
            "decorators are not supported: Node.js 20 cannot run them and webstir does not lower them",
        );
    }

    fn visit_ts_import_equals_declaration(&mut self, it: &TSImportEqualsDeclaration<'a>) {
        if it.import_kind.is_value()
            && matches!(
                it.module_reference,
                TSModuleReference::ExternalModuleReference(_)
            )
        {
            self.error(
                it.span,
                "`import x = require(...)` is CommonJS and cannot run in an ES module; use `import x from '...'` or `import * as x from '...'`",
            );
        }
        walk::walk_ts_import_equals_declaration(self, it);
    }

    fn visit_ts_export_assignment(&mut self, it: &TSExportAssignment<'a>) {
        self.error(
            it.span,
            "`export =` is CommonJS and cannot run in an ES module; use `export default`",
        );
        walk::walk_ts_export_assignment(self, it);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rel: &str, source: &str, files: &[&str]) -> Result<Emitted, Vec<Diagnostic>> {
        let sources = SourceSet::new(files.iter().map(|s| s.to_string()));
        let display = PathBuf::from(format!("src/backend/{rel}"));
        let unit = Unit {
            rel,
            display: &display,
            output_name: "index.js",
        };
        transpile(source, unit, &sources, &Jsx::default())
    }

    #[test]
    fn strips_types_and_rewrites_imports() {
        let source = "import type { T } from './t';\nimport { f } from '../../db/connection';\nexport const x: number = f() as number;\nconst y = { a: 1 } satisfies Record<string, number>;\nexport { y };\nexport async function later() { return import('./lazy'); }\n";
        let out = run(
            "jobs/a/index.ts",
            source,
            &[
                "jobs/a/index.ts",
                "jobs/a/t.ts",
                "jobs/a/lazy.ts",
                "db/connection.ts",
            ],
        )
        .expect("valid TypeScript");
        assert!(
            out.code.contains("from \"../../db/connection.js\""),
            "{}",
            out.code
        );
        assert!(out.code.contains("import(\"./lazy.js\")"), "{}", out.code);
        assert!(
            !out.code.contains("./t"),
            "type-only import kept: {}",
            out.code
        );
        assert!(!out.code.contains("number"), "{}", out.code);
        assert!(out.code.ends_with("//# sourceMappingURL=index.js.map\n"));
        assert!(
            out.map.contains("../../../../src/backend/jobs/a/index.ts"),
            "{}",
            out.map
        );
    }

    #[test]
    fn enums_are_lowered() {
        let out = run("a.ts", "export enum Color { Red, Green }\n", &["a.ts"]).expect("enum");
        assert!(
            out.code.contains("Color[Color[\"Red\"] = 0]"),
            "{}",
            out.code
        );
    }

    #[test]
    fn syntax_errors_point_at_the_line_and_column() {
        let errors = run("a.ts", "const a = 1;\nconst b = ;\n", &["a.ts"]).expect_err("invalid");
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].line, errors[0].column), (2, 11));
    }

    #[test]
    fn unresolvable_relative_imports_are_errors() {
        let errors = run(
            "a.ts",
            "import { x } from './nope';\nconsole.log(x);\n",
            &["a.ts"],
        )
        .expect_err("missing module");
        assert!(
            errors[0].message.contains("cannot find module `./nope`"),
            "{:?}",
            errors
        );
    }

    #[test]
    fn decorators_are_rejected() {
        let errors = run("a.ts", "function d(t: any) {}\n@d class A {}\n", &["a.ts"])
            .expect_err("decorator");
        assert!(errors[0].message.contains("decorators are not supported"));
        assert_eq!(errors[0].line, 2);
    }
}
