//! Snapshots of what build.rs generates from `openapi.yaml`.
//!
//! Any change to the spec (a description, a field, a parameter) changes the
//! generated code, and these tests fail until the new output is reviewed and
//! its snapshot accepted (`cargo insta review`, or `INSTA_UPDATE=always cargo
//! test --test surface` without cargo-insta). Under `CI=true` insta never
//! writes snapshots, so the committed `.snap` files are the reference.
//!
//! Two snapshots:
//! - `generated_code`: the generated file itself, byte for byte;
//! - `public_surface`: a short digest of it, read with syn: every operation
//!   of `Client` with its HTTP method, path, parameters and result, and every
//!   type of the `types` module with its fields. This is the one to read in
//!   a review.

use std::{collections::BTreeMap, fmt::Write};

use syn::{
    Attribute, Expr, Fields, GenericArgument, ImplItem, Item, Lit, LitStr, PathArguments,
    ReturnType, Type, Visibility,
};

/// The file build.rs wrote for this build of the crate. Cargo sets OUT_DIR
/// for every target of a package that has a build script, tests included.
const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/generated.rs"));

/// Operations in the contract (see tests/spec.rs).
const OPERATIONS: usize = 25;

#[test]
fn generated_code() {
    insta::assert_snapshot!("generated_code", GENERATED);
}

#[test]
fn public_surface() {
    let file = syn::parse_file(GENERATED).expect("the generated code does not parse");
    let surface = surface(&file);
    insta::assert_snapshot!("public_surface", surface);
}

/// The text of the `///` comments on an item.
fn doc(attrs: &[Attribute]) -> String {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(l) => match &l.lit {
                    Lit::Str(s) => Some(s.value()),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The HTTP method and path from progenitor's "Sends a `GET` request to
/// `/api/...`" line.
fn http_route(doc: &str) -> Option<(String, String)> {
    let rest = &doc[doc.find("Sends a `")? + "Sends a `".len()..];
    let (method, rest) = rest.split_once('`')?;
    let rest = rest.strip_prefix(" request to `")?;
    let (path, _) = rest.split_once('`')?;
    Some((method.to_string(), path.to_string()))
}

/// What `#[serde(...)]` says about a field or variant: its wire name and
/// whether it is flattened; and, for a container, `transparent`, `untagged`
/// or `tag = ...`.
#[derive(Default)]
struct Serde {
    rename: Option<String>,
    deserialize_with: Option<String>,
    flatten: bool,
    container: Vec<String>,
}

fn serde_attrs(attrs: &[Attribute]) -> Serde {
    let mut out = Serde::default();
    for a in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        a.parse_nested_meta(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            if meta.input.peek(syn::Token![=]) {
                let value = meta.value()?;
                if key == "rename" {
                    out.rename = Some(value.parse::<LitStr>()?.value());
                } else if key == "deserialize_with" {
                    out.deserialize_with = Some(value.parse::<LitStr>()?.value());
                } else {
                    let lit: Expr = value.parse()?;
                    if key == "tag" || key == "content" {
                        if let Expr::Lit(syn::ExprLit {
                            lit: Lit::Str(s), ..
                        }) = lit
                        {
                            out.container.push(format!("{key} = {:?}", s.value()));
                        }
                    }
                }
            } else if key == "flatten" {
                out.flatten = true;
            } else if key == "transparent" || key == "untagged" {
                out.container.push(key);
            }
            Ok(())
        })
        .expect("an unreadable #[serde] attribute");
    }
    out
}

/// Paths from these crates print as their last segment (`Option<String>`
/// rather than `::std::option::Option<::std::string::String>`); any other
/// path prints whole, so `crate::ExpirationType` (a handwritten type standing
/// in for the generated one) and `types::builder::X` stay recognisable.
const SHORTENED: &[&str] = &["std", "core", "alloc", "serde_json", "chrono", "uuid"];

fn ty(t: &Type) -> String {
    match t {
        Type::Path(p) => {
            let segs: Vec<_> = p.path.segments.iter().collect();
            let first = segs[0].ident.to_string();
            let shown = if SHORTENED.contains(&first.as_str()) {
                &segs[segs.len() - 1..]
            } else {
                &segs[..]
            };
            shown
                .iter()
                .map(|s| {
                    let mut out = s.ident.to_string();
                    if let PathArguments::AngleBracketed(args) = &s.arguments {
                        let args: Vec<String> = args
                            .args
                            .iter()
                            .map(|a| match a {
                                GenericArgument::Type(t) => ty(t),
                                GenericArgument::Lifetime(l) => format!("'{}", l.ident),
                                other => panic!("unexpected generic argument {other:?}"),
                            })
                            .collect();
                        write!(out, "<{}>", args.join(", ")).unwrap();
                    }
                    out
                })
                .collect::<Vec<_>>()
                .join("::")
        }
        Type::Reference(r) => format!(
            "&{}{}{}",
            r.lifetime
                .as_ref()
                .map(|l| format!("'{} ", l.ident))
                .unwrap_or_default(),
            if r.mutability.is_some() { "mut " } else { "" },
            ty(&r.elem)
        ),
        Type::Tuple(t) => format!(
            "({})",
            t.elems.iter().map(ty).collect::<Vec<_>>().join(", ")
        ),
        Type::Slice(s) => format!("[{}]", ty(&s.elem)),
        Type::Paren(p) => ty(&p.elem),
        other => panic!("a type form this digest does not print: {other:?}"),
    }
}

/// The `T` of the `Result<T, String>` a builder keeps per parameter.
fn builder_param(t: &Type) -> String {
    if let Type::Path(p) = t {
        let last = p.path.segments.last().unwrap();
        if last.ident == "Result" {
            if let PathArguments::AngleBracketed(args) = &last.arguments {
                if let Some(GenericArgument::Type(inner)) = args.args.first() {
                    return ty(inner);
                }
            }
        }
    }
    ty(t)
}

fn module<'a>(items: &'a [Item], name: &str) -> &'a [Item] {
    items
        .iter()
        .find_map(|i| match i {
            Item::Mod(m) if m.ident == name => m.content.as_ref().map(|(_, items)| &items[..]),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no `mod {name}` in the generated code"))
}

fn is_pub(v: &Visibility) -> bool {
    matches!(v, Visibility::Public(_))
}

fn surface(file: &syn::File) -> String {
    let operations = operations(file);
    let types = types(module(&file.items, "types"));
    assert_eq!(operations.len(), OPERATIONS, "operations of Client");
    let mut out = String::new();
    writeln!(out, "# Client operations ({})", operations.len()).unwrap();
    for op in operations.values() {
        writeln!(out, "\n{op}").unwrap();
    }
    writeln!(out, "\n# types ({})", types.len()).unwrap();
    for t in types.values() {
        writeln!(out, "\n{t}").unwrap();
    }
    out
}

/// `name: METHOD path`, then the builder's parameters and `send`'s result,
/// keyed by name.
fn operations(file: &syn::File) -> BTreeMap<String, String> {
    let builders = module(&file.items, "builder");
    let builder_struct = |name: &str| {
        builders.iter().find_map(|i| match i {
            Item::Struct(s) if s.ident == name => Some(s),
            _ => None,
        })
    };
    let send_result = |name: &str| {
        builders.iter().find_map(|i| match i {
            Item::Impl(imp) if imp.trait_.is_none() && type_name(&imp.self_ty) == name => {
                imp.items.iter().find_map(|it| match it {
                    ImplItem::Fn(f) if f.sig.ident == "send" => match &f.sig.output {
                        ReturnType::Type(_, t) => Some(ty(t)),
                        ReturnType::Default => Some("()".into()),
                    },
                    _ => None,
                })
            }
            _ => None,
        })
    };

    let mut out = BTreeMap::new();
    for item in &file.items {
        let Item::Impl(imp) = item else { continue };
        if imp.trait_.is_some() || type_name(&imp.self_ty) != "Client" {
            continue;
        }
        for it in &imp.items {
            let ImplItem::Fn(f) = it else { continue };
            let Some((method, path)) = http_route(&doc(&f.attrs)) else {
                continue;
            };
            let name = f.sig.ident.to_string();
            let mut text = format!("{name}: {method} {path}");
            let builder = match &f.sig.output {
                ReturnType::Type(_, t) => type_name(t),
                ReturnType::Default => panic!("{name} returns nothing"),
            };
            let s = builder_struct(&builder)
                .unwrap_or_else(|| panic!("{name}: no builder struct {builder}"));
            let mut params: Vec<String> = s
                .fields
                .iter()
                .filter(|f| f.ident.as_ref().is_some_and(|i| i != "client"))
                .map(|f| format!("{}: {}", f.ident.as_ref().unwrap(), builder_param(&f.ty)))
                .collect();
            params.sort();
            for p in params {
                write!(text, "\n  {p}").unwrap();
            }
            let result =
                send_result(&builder).unwrap_or_else(|| panic!("{name}: no send() on {builder}"));
            write!(text, "\n  -> {result}").unwrap();
            assert!(out.insert(name.clone(), text).is_none(), "{name} twice");
        }
    }
    out
}

/// The last segment of a path type, without generics.
fn type_name(t: &Type) -> String {
    match t {
        Type::Path(p) => p.path.segments.last().unwrap().ident.to_string(),
        _ => String::new(),
    }
}

/// Every public struct and enum of `types`, keyed by name.
fn types(items: &[Item]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for item in items {
        let (name, text) = match item {
            Item::Struct(s) if is_pub(&s.vis) => {
                let mut text = format!("struct {}", s.ident);
                if let Fields::Unnamed(unnamed) = &s.fields {
                    let inner: Vec<String> = unnamed.unnamed.iter().map(|f| ty(&f.ty)).collect();
                    write!(text, "({})", inner.join(", ")).unwrap();
                }
                text.push_str(&container(&s.attrs));
                if let Fields::Named(named) = &s.fields {
                    let mut fields: Vec<String> = named
                        .named
                        .iter()
                        .map(|f| field(f.ident.as_ref().unwrap().to_string(), f))
                        .collect();
                    fields.sort();
                    for f in fields {
                        write!(text, "\n  {f}").unwrap();
                    }
                }
                (s.ident.to_string(), text)
            }
            Item::Enum(e) if is_pub(&e.vis) => {
                let mut text = format!("enum {}{}", e.ident, container(&e.attrs));
                let mut variants: Vec<String> = e
                    .variants
                    .iter()
                    .map(|v| {
                        let mut line = v.ident.to_string();
                        match &v.fields {
                            Fields::Unnamed(u) => {
                                let inner: Vec<String> =
                                    u.unnamed.iter().map(|f| ty(&f.ty)).collect();
                                write!(line, "({})", inner.join(", ")).unwrap();
                            }
                            Fields::Named(n) => {
                                let inner: Vec<String> = n
                                    .named
                                    .iter()
                                    .map(|f| field(f.ident.as_ref().unwrap().to_string(), f))
                                    .collect();
                                write!(line, " {{ {} }}", inner.join(", ")).unwrap();
                            }
                            Fields::Unit => {}
                        }
                        if let Some(r) = serde_attrs(&v.attrs).rename {
                            write!(line, " [{r:?}]").unwrap();
                        }
                        line
                    })
                    .collect();
                variants.sort();
                for v in variants {
                    write!(text, "\n  {v}").unwrap();
                }
                (e.ident.to_string(), text)
            }
            Item::Type(t) if is_pub(&t.vis) => (
                t.ident.to_string(),
                format!("type {} = {}", t.ident, ty(&t.ty)),
            ),
            _ => continue,
        };
        assert!(
            out.insert(name.clone(), text).is_none(),
            "type {name} twice"
        );
    }
    out
}

/// `name: Type`, then in brackets: the wire name when serde renames it,
/// `key required` for an `Option` whose key must be present (a required but
/// nullable property: decoding fails when the key is missing), and
/// `flatten` for the map that keeps unknown fields.
fn field(name: String, f: &syn::Field) -> String {
    let serde = serde_attrs(&f.attrs);
    let mut notes = Vec::new();
    if let Some(r) = serde.rename {
        notes.push(format!("{r:?}"));
    }
    match serde.deserialize_with.as_deref() {
        None => {}
        Some("::std::option::Option::deserialize") => notes.push("key required".into()),
        Some(other) => notes.push(format!("deserialize_with {other}")),
    }
    if serde.flatten {
        notes.push("flatten".into());
    }
    let mut line = format!("{name}: {}", ty(&f.ty));
    if !notes.is_empty() {
        write!(line, " [{}]", notes.join(", ")).unwrap();
    }
    line
}

fn container(attrs: &[Attribute]) -> String {
    let c = serde_attrs(attrs).container;
    if c.is_empty() {
        String::new()
    } else {
        format!(" #[serde({})]", c.join(", "))
    }
}
