//! TypeScript to JavaScript the way `webstir build` does it (oxc type-stripping), so tests can
//! run generated sources in a real Node.

use std::path::Path;

use oxc::allocator::Allocator;
use oxc::codegen::Codegen;
use oxc::parser::Parser;
use oxc::semantic::SemanticBuilder;
use oxc::span::SourceType;
use oxc::transformer::{TransformOptions, Transformer};

/// Strips the types of `source`, failing the test on any diagnostic.
fn strip_types(path: &Path, source: &str) -> String {
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, source, SourceType::ts()).parse();
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let mut program = parsed.program;
    let semantic = SemanticBuilder::new().build(&program);
    assert!(
        semantic.diagnostics.is_empty(),
        "{:?}",
        semantic.diagnostics
    );
    let scoping = semantic.semantic.into_scoping();
    let options = TransformOptions::default();
    let transformed =
        Transformer::new(&allocator, path, &options).build_with_scoping(scoping, &mut program);
    assert!(
        transformed.diagnostics.is_empty(),
        "{:?}",
        transformed.diagnostics
    );
    Codegen::new().build(&program).code
}

/// Builds `src/<relative>.ts` of `root` into `build/<relative>.js`.
pub fn build_file(root: &Path, relative: &str) {
    let source_path = root.join("src").join(format!("{relative}.ts"));
    let source = std::fs::read_to_string(&source_path).expect("read TypeScript source");
    let out = root.join("build").join(format!("{relative}.js"));
    std::fs::create_dir_all(out.parent().expect("has a parent")).expect("mkdir");
    std::fs::write(out, strip_types(&source_path, &source)).expect("write JavaScript");
}
