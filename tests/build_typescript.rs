//! TypeScript the build must understand (issue 10): `paths` and `baseUrl` aliases of
//! tsconfig.json, JSX in `.tsx` and `.jsx` following tsconfig's `jsx` options, and `.cts` /
//! `.cjs`. Each built module is run by real Node.

mod build_support;

use std::fs;

use build_support::*;

/// A tiny JSX runtime package in the workspace's `node_modules`, rendering to HTML text.
const MINI_JSX: &str = r#"export const Fragment = Symbol('Fragment');
const text = (c) => [].concat(c ?? []).flat().join('');
export function jsx(type, props) {
  if (type === Fragment) return text(props.children);
  if (typeof type === 'function') return type(props);
  const attrs = Object.entries(props)
    .filter(([k]) => k !== 'children')
    .map(([k, v]) => ` ${k}="${v}"`)
    .join('');
  return `<${type}${attrs}>${text(props.children)}</${type}>`;
}
export const jsxs = jsx;
export const jsxDEV = jsx;
"#;

fn with_mini_jsx(ws: &Ws) {
    ws.write(
        "node_modules/mini-jsx/package.json",
        r#"{ "name": "mini-jsx", "type": "module", "exports": { "./jsx-runtime": "./jsx-runtime.js", "./jsx-dev-runtime": "./jsx-runtime.js" } }"#,
    );
    ws.write("node_modules/mini-jsx/jsx-runtime.js", MINI_JSX);
}

fn run(ws: &Ws, module: &str) -> String {
    let out = ws.node(&[module]);
    assert!(out.status.success(), "{module}: {}", stderr(&out));
    stdout(&out)
}

fn failed_build(ws: &Ws) -> String {
    let out = ws.webstir(&["build"]).output().expect("run webstir build");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    stderr(&out)
}

/// `import { x } from '@lib/enums'` was left as written, and Node failed at run time.
#[test]
fn paths_and_base_url_aliases_become_relative_specifiers() {
    let ws = Ws::empty();
    ws.write(
        "tsconfig.json",
        r#"{
  // comments and trailing commas, as tsc allows
  "compilerOptions": {
    "baseUrl": ".",
    "paths": {
      "@lib/*": ["src/backend/nowhere/*", "src/backend/lib/*"],
      "@db": ["src/backend/db/connection.ts"],
    },
  },
}
"#,
    );
    ws.write(
        "src/backend/lib/enums.ts",
        "export enum Color { Red = 'red' }\n",
    );
    ws.write(
        "src/backend/lib/util/index.ts",
        "export const twice = (n: number) => n * 2;\n",
    );
    ws.write(
        "src/backend/db/connection.ts",
        "export const url: string = 'db://local';\n",
    );
    ws.write(
        "src/backend/jobs/report/index.ts",
        "import { Color } from '@lib/enums';\nimport { twice } from '@lib/util';\nimport { url } from '@db';\nimport { join } from 'node:path';\nexport const line = `${Color.Red} ${twice(21)} ${url} ${join('a', 'b')}`;\nconsole.log(line);\n",
    );
    ws.build();
    let js = ws.read("build/backend/jobs/report/index.js");
    assert!(js.contains("from \"../../lib/enums.js\""), "{js}");
    assert!(js.contains("from \"../../lib/util/index.js\""), "{js}");
    assert!(js.contains("from \"../../db/connection.js\""), "{js}");
    assert!(js.contains("from \"node:path\""), "{js}");
    assert_eq!(
        run(&ws, "build/backend/jobs/report/index.js"),
        "red 42 db://local a/b\n"
    );

    // `baseUrl` alone resolves bare specifiers that name a source, and keeps packages.
    ws.write(
        "tsconfig.json",
        r#"{ "compilerOptions": { "baseUrl": "src/backend" } }"#,
    );
    ws.write(
        "src/backend/jobs/report/index.ts",
        "import { Color } from 'lib/enums';\nimport { join } from 'node:path';\nconsole.log(Color.Red, join('a'));\n",
    );
    ws.build();
    assert_eq!(run(&ws, "build/backend/jobs/report/index.js"), "red a\n");
}

#[test]
fn an_alias_that_matches_no_source_is_an_error_listing_what_was_looked_for() {
    let ws = Ws::empty();
    ws.write(
        "tsconfig.json",
        r#"{ "compilerOptions": { "paths": { "@lib/*": ["./src/backend/lib/*"], "@up/*": ["./shared/*"] } } }"#,
    );
    ws.write(
        "src/backend/a.ts",
        "import { x } from '@lib/missing';\nimport { y } from '@up/z';\nconsole.log(x, y);\n",
    );
    let err = failed_build(&ws);
    assert!(
        err.contains("src/backend/a.ts:1:19: error: cannot find module `@lib/missing`: it matches `@lib/*` in `compilerOptions.paths` of tsconfig.json, but none of its targets is a source file (looked for src/backend/lib/missing.ts, src/backend/lib/missing.tsx, src/backend/lib/missing.mts, "),
        "{err}"
    );
    assert!(
        err.contains("cannot find module `@up/z`: it matches `@up/*` in `compilerOptions.paths` of tsconfig.json, but none of its targets is a source file (looked for shared/z (outside src/backend, which is all the build builds))"),
        "{err}"
    );
    assert!(!ws.path("build/backend/a.js").exists());
}

#[test]
fn a_malformed_tsconfig_stops_the_build_naming_the_file() {
    let ws = Ws::with_jobs();
    ws.write(
        "tsconfig.json",
        r#"{ "compilerOptions": { "paths": ["@lib/*"] } }"#,
    );
    let err = failed_build(&ws);
    assert!(
        err.contains("tsconfig.json: `compilerOptions.paths` must be an object"),
        "{err}"
    );
    assert!(!ws.path("build").exists());
}

/// Backend jobs render e-mails with JSX: `.tsx` and `.jsx` are built following tsconfig's
/// `jsx` and `jsxImportSource`, and `./comp` finds `comp.tsx`.
#[test]
fn tsx_and_jsx_build_with_the_automatic_runtime_of_jsx_import_source() {
    let ws = Ws::empty();
    with_mini_jsx(&ws);
    ws.write(
        "tsconfig.json",
        r#"{ "compilerOptions": { "jsx": "react-jsx", "jsxImportSource": "mini-jsx" } }"#,
    );
    ws.write(
        "src/backend/emails/welcome.tsx",
        "type Props = { name: string };\nexport function Welcome({ name }: Props) {\n  return <p class=\"greeting\">Hello, <b>{name}</b>!</p>;\n}\n",
    );
    ws.write(
        "src/backend/emails/footer.jsx",
        "export const Footer = () => <><hr />Bye</>;\n",
    );
    ws.write(
        "src/backend/jobs/mail/index.tsx",
        "import { Welcome } from '../../emails/welcome';\nimport { Footer } from '../../emails/footer.jsx';\nconsole.log(<div><Welcome name=\"Ada\" /><Footer /></div>);\n",
    );
    ws.build();
    assert!(ws.path("build/backend/emails/welcome.js.map").is_file());
    let js = ws.read("build/backend/jobs/mail/index.js");
    assert!(js.contains("\"../../emails/welcome.js\""), "{js}");
    assert!(js.contains("\"../../emails/footer.js\""), "{js}");
    assert!(js.contains("\"mini-jsx/jsx-runtime\""), "{js}");
    assert_eq!(
        run(&ws, "build/backend/jobs/mail/index.js"),
        "<div><p class=\"greeting\">Hello, <b>Ada</b>!</p><hr></hr>Bye</div>\n"
    );

    // A changed option rebuilds every module, even though no source changed.
    ws.write(
        "tsconfig.json",
        r#"{ "compilerOptions": { "jsx": "react-jsxdev", "jsxImportSource": "mini-jsx" } }"#,
    );
    ws.build();
    assert!(
        ws.read("build/backend/jobs/mail/index.js")
            .contains("\"mini-jsx/jsx-dev-runtime\"")
    );
    assert!(run(&ws, "build/backend/jobs/mail/index.js").starts_with("<div><p"));
}

#[test]
fn the_classic_runtime_uses_jsx_factory_and_keeps_its_import() {
    let ws = Ws::empty();
    ws.write(
        "tsconfig.json",
        r#"{ "compilerOptions": { "jsx": "react", "jsxFactory": "h", "jsxFragmentFactory": "Frag" } }"#,
    );
    ws.write(
        "src/backend/h.ts",
        "export const Frag = 'frag';\nexport function h(type: unknown, _props: unknown, ...children: unknown[]): string {\n  return `${String(type)}(${children.join(',')})`;\n}\n",
    );
    ws.write(
        "src/backend/page.tsx",
        "import { h, Frag } from './h';\nconsole.log(<p>{1}<>{2}</></p>);\n",
    );
    ws.build();
    assert_eq!(run(&ws, "build/backend/page.js"), "p(1,frag(2))\n");
}

#[test]
fn jsx_without_a_mode_node_can_run_is_an_error_naming_the_file() {
    let ws = Ws::empty();
    // A `.tsx` file without JSX needs no mode, as with tsc.
    ws.write(
        "src/backend/plain.tsx",
        "export const n: number = 1;\nconsole.log(n);\n",
    );
    ws.build();
    assert_eq!(run(&ws, "build/backend/plain.js"), "1\n");
    ws.write("src/backend/c.tsx", "export const c = <p />;\n");
    let err = failed_build(&ws);
    assert!(
        err.contains("src/backend/c.tsx:1:18: error: JSX needs `compilerOptions.jsx` in tsconfig.json, which is not set; set it to `react-jsx`"),
        "{err}"
    );
    ws.write(
        "tsconfig.json",
        r#"{ "compilerOptions": { "jsx": "preserve" } }"#,
    );
    let err = failed_build(&ws);
    assert!(
        err.contains("src/backend/c.tsx:1:18: error: tsconfig.json sets `compilerOptions.jsx` to `preserve`, which leaves the JSX as written, and Node.js cannot run JSX"),
        "{err}"
    );
}

/// "cannot find ./comp" must list the extensions it tried, `.tsx` and `.jsx` among them.
#[test]
fn an_unresolved_import_lists_every_extension_tried() {
    let ws = Ws::empty();
    ws.write(
        "src/backend/a.ts",
        "import { c } from './comp';\nconsole.log(c);\n",
    );
    let err = failed_build(&ws);
    assert!(
        err.contains("cannot find module `./comp` (looked for ./comp.ts, ./comp.tsx, ./comp.mts, ./comp.js, ./comp.jsx, ./comp.mjs, ./comp/index.ts, ./comp/index.tsx, ./comp/index.mts, ./comp/index.js, ./comp/index.jsx, ./comp/index.mjs)"),
        "{err}"
    );
}

#[test]
fn cjs_is_copied_and_cts_is_refused_naming_the_file() {
    let ws = Ws::empty();
    ws.write(
        "src/backend/legacy.cjs",
        "module.exports = { answer: 42 };\n",
    );
    ws.write(
        "src/backend/main.ts",
        "import legacy from './legacy.cjs';\nconsole.log(legacy.answer);\n",
    );
    ws.build();
    assert_eq!(run(&ws, "build/backend/main.js"), "42\n");

    ws.write("src/backend/old.cts", "export = 1;\n");
    let err = failed_build(&ws);
    assert!(
        err.contains("src/backend/old.cts:1:1: error: `.cts` files are CommonJS, and the build emits ES modules only; rename it to `.ts`"),
        "{err}"
    );
    assert!(!ws.path("build/backend/old.cjs").exists());
    assert!(!ws.path("build/backend/old.cts").exists());
    let _ = fs::remove_file(ws.path("src/backend/old.cts"));
    ws.build();
}
