//! The VB6 module (`bindings/vb6/ystpay.bas`) and the PowerBuilder
//! declarations (`bindings/powerbuilder/n_ystpay.sru`) that
//! `scripts/gen-bindings.py` writes, read back by parsers of their own (not
//! the generator's) and checked against `include/ystpay.h`: every function
//! is declared or listed as skipped with a reason, never both; names, the
//! library, the argument count and each argument's width on 32-bit Windows
//! (and with it the `name@bytes` stdcall size) agree; nothing asks for cdecl;
//! the constants have the header's values; and the files are what the
//! generator makes of the committed header (`--check`). VB6 and
//! PowerBuilder are not available here: what they would do with a
//! declaration is modelled from their documented rules (docs/C-ABI.md).

#[path = "common/skip.rs"]
mod skip;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const HEADER: &str = include_str!("../include/ystpay.h");
const BAS: &str = include_str!("../bindings/vb6/ystpay.bas");
const SRU: &str = include_str!("../bindings/powerbuilder/n_ystpay.sru");

/// How one argument crosses the stack of a 32-bit stdcall call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// An integer of this many bytes, by value; `unsigned` when known.
    Int { bytes: u32, unsigned: Option<bool> },
    /// A floating-point number (never right for this header).
    Float(u32),
    /// An address the callee does not write through (handle, record, window).
    Addr,
    /// A pointer to bytes (text or a buffer); `writes` when the callee fills
    /// it and the language copies the bytes back.
    Chars { writes: bool },
    /// A pointer to an integer of this many bytes that the callee writes.
    Ref(u32),
    /// Something this header never takes (a BSTR, `As Any`, a structure...).
    Other(&'static str),
}

impl Pass {
    /// Bytes on the stack: what `name@N` counts.
    fn stack(self) -> u32 {
        match self {
            Pass::Int { bytes, .. } | Pass::Float(bytes) => bytes.max(4),
            _ => 4,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Decl {
    name: String,
    ret: Option<Pass>,
    args: Vec<Pass>,
}

// ------------------------------------------------------------------ header

/// The header's functions, with each argument as a 32-bit Windows caller
/// passes it.
fn header_functions() -> BTreeMap<String, Decl> {
    let callbacks: BTreeSet<&str> = HEADER
        .match_indices("(YSTPAY_CALL *")
        .map(|(i, m)| ident_at(&HEADER[i + m.len()..]))
        .collect();
    let mut out = BTreeMap::new();
    for (i, _) in HEADER.match_indices("YSTPAY_CALL ystpay_") {
        let line_start = HEADER[..i].rfind('\n').map_or(0, |n| n + 1);
        let ret = HEADER[line_start..i].trim();
        let rest = &HEADER[i + "YSTPAY_CALL ".len()..];
        let name = ident_at(rest);
        let open = rest.find('(').unwrap();
        let close = rest.find(')').unwrap();
        let raw = rest[open + 1..close]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let args = if raw == "void" {
            vec![]
        } else {
            raw.split(',')
                .map(|a| c_pass(a.trim(), &callbacks))
                .collect()
        };
        let ret = match ret {
            "void" => None,
            "int32_t" => Some(Pass::Int {
                bytes: 4,
                unsigned: Some(false),
            }),
            "uint32_t" => Some(Pass::Int {
                bytes: 4,
                unsigned: Some(true),
            }),
            "const char *" => Some(Pass::Addr),
            other => panic!("{name}: return type '{other}' is not modelled"),
        };
        let decl = Decl {
            name: name.to_string(),
            ret,
            args,
        };
        assert!(out.insert(name.to_string(), decl).is_none(), "{name} twice");
    }
    assert!(
        out.len() >= 40,
        "only {} functions found in the header",
        out.len()
    );
    out
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// One C argument ("const char *req_seq") as passed on 32-bit Windows.
fn c_pass(arg: &str, callbacks: &BTreeSet<&str>) -> Pass {
    let name_at = arg
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(0, |n| n + 1);
    let ty = arg[..name_at].replace('*', " * ");
    let ty: Vec<&str> = ty.split_whitespace().filter(|w| *w != "struct").collect();
    let konst = ty.first() == Some(&"const");
    let ty: Vec<&str> = ty.into_iter().filter(|w| *w != "const").collect();
    let stars = ty.iter().filter(|w| **w == "*").count();
    let base = ty[0];
    match (base, stars) {
        ("int32_t" | "intptr_t", 0) => Pass::Int {
            bytes: 4,
            unsigned: Some(false),
        },
        ("uint32_t", 0) => Pass::Int {
            bytes: 4,
            unsigned: Some(true),
        },
        ("int64_t", 0) => Pass::Int {
            bytes: 8,
            unsigned: Some(false),
        },
        ("char", 1) => Pass::Chars { writes: !konst },
        ("int32_t" | "uint32_t", 1) => Pass::Ref(4),
        ("int64_t", 1) => Pass::Ref(8),
        // A handle the callee creates: a pointer to a pointer.
        (_, 2) => Pass::Ref(4),
        ("void", 1) => Pass::Addr,
        (b, 1) if b.starts_with("ystpay_") => Pass::Addr,
        (b, 0) if callbacks.contains(b) => Pass::Addr,
        // A new kind of argument: model it here before trusting a check.
        _ => panic!("C argument '{arg}' is not modelled"),
    }
}

// --------------------------------------------------------------------- VB6

struct Parsed {
    decls: Vec<Decl>,
    /// name -> reason
    skipped: Vec<(String, String)>,
    /// name -> value as written ("0", "\"0.3.0\"")
    consts: BTreeMap<String, String>,
    errors: Vec<String>,
}

/// Reads a .bas module as VB6 would: `Declare` lines (arguments are ByRef
/// unless ByVal), `Public Const` lines and the `' SKIPPED name: reason` list.
fn parse_bas(text: &str) -> Parsed {
    let mut p = Parsed {
        decls: vec![],
        skipped: vec![],
        consts: BTreeMap::new(),
        errors: vec![],
    };
    if !text.contains("\r\n") || text.replace("\r\n", "").contains('\n') {
        p.errors.push("VB6 modules need CRLF line ends".into());
    }
    if !text.starts_with("Attribute VB_Name = ") {
        p.errors
            .push("the module does not start with Attribute VB_Name".into());
    }
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(s) = line.strip_prefix("' SKIPPED ") {
            let (name, reason) = s.split_once(": ").unwrap_or((s, ""));
            p.skipped
                .push((name.to_string(), reason.trim().to_string()));
            continue;
        }
        if line.starts_with('\'') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("Public Const ") {
            let (name, value) = rest.split_once(" = ").expect("Const NAME As T = V");
            let name = name.split(" As ").next().unwrap();
            p.consts.insert(name.to_string(), value.to_string());
            continue;
        }
        let Some(at) = line.find("Declare ") else {
            continue;
        };
        let mut words = line[at + "Declare ".len()..].split_whitespace();
        let kind = words.next().unwrap_or("");
        let name = words.next().unwrap_or("").to_string();
        if !name.starts_with("ystpay_") {
            continue; // the module's own helpers' kernel32 functions
        }
        let head = &line[..line.find('(').unwrap_or(line.len())];
        if head.to_ascii_lowercase().contains(" cdecl") {
            p.errors.push(format!("{name}: CDecl (the DLL is stdcall)"));
        }
        if !head.contains("Lib \"ystpay.dll\"") {
            p.errors.push(format!("{name}: not Lib \"ystpay.dll\""));
        }
        if let Some(a) = head.split("Alias \"").nth(1) {
            if a.split('"').next() != Some(name.as_str()) {
                p.errors.push(format!("{name}: aliased to another name"));
            }
        }
        let open = line.find('(').expect("parameter list");
        let close = line.rfind(')').expect("parameter list");
        let params = line[open + 1..close].trim();
        let mut args = vec![];
        if !params.is_empty() {
            for param in params.split(',') {
                args.push(vb_param(param.trim()).unwrap_or_else(|e| {
                    p.errors.push(format!("{name}: '{}': {e}", param.trim()));
                    Pass::Other("unreadable")
                }));
            }
        }
        let tail = line[close + 1..].trim();
        let ret = match (kind, tail) {
            ("Sub", "") => None,
            ("Function", "As Long") => Some(Pass::Int {
                bytes: 4,
                unsigned: None,
            }),
            ("Function", "As Currency") => Some(Pass::Int {
                bytes: 8,
                unsigned: None,
            }),
            ("Function", "As String") => Some(Pass::Other("a BSTR (VB6 frees what it gets)")),
            (_, t) => Some(Pass::Other(if t.is_empty() {
                "a Variant"
            } else {
                "unknown"
            })),
        };
        p.decls.push(Decl { name, ret, args });
    }
    p
}

fn vb_param(param: &str) -> Result<Pass, String> {
    let words: Vec<&str> = param.split_whitespace().collect();
    let (by_val, rest) = match words.first() {
        Some(&"ByVal") => (true, &words[1..]),
        Some(&"ByRef") => (false, &words[1..]),
        Some(&"Optional") => return Err("Optional".into()),
        _ => (false, &words[..]), // VB6's default is ByRef
    };
    let [name, as_, ty] = rest else {
        return Err("not 'name As Type'".into());
    };
    if *as_ != "As" || name.contains('(') {
        return Err("not 'name As Type'".into());
    }
    Ok(match (by_val, *ty) {
        (true, "Long") => Pass::Int {
            bytes: 4,
            unsigned: None,
        },
        (true, "Integer" | "Boolean") => Pass::Int {
            bytes: 2,
            unsigned: None,
        },
        (true, "Byte") => Pass::Int {
            bytes: 1,
            unsigned: Some(true),
        },
        (true, "Currency") => Pass::Int {
            bytes: 8,
            unsigned: None,
        },
        (true, "Single") => Pass::Float(4),
        (true, "Double" | "Date") => Pass::Float(8),
        // Declare copies a ByVal String to an ANSI buffer and back.
        (true, "String") => Pass::Chars { writes: true },
        (false, "Long") => Pass::Ref(4),
        (false, "Currency") => Pass::Ref(8),
        (false, "Integer" | "Boolean") => Pass::Ref(2),
        // b(0) of a Byte array: the array's bytes.
        (false, "Byte") => Pass::Chars { writes: true },
        (false, "String") => Pass::Other("a pointer to a BSTR"),
        (_, "Any") => Pass::Other("As Any"),
        (_, "Variant" | "Object") => Pass::Other("a Variant"),
        _ => Pass::Other("a user-defined type"),
    })
}

// ------------------------------------------------------------ PowerBuilder

/// Reads an exported PowerBuilder object: the external functions of its
/// `type prototypes` block, the `constant` instance variables, and the
/// `// SKIPPED name: reason` list.
fn parse_sru(text: &str) -> Parsed {
    let mut p = Parsed {
        decls: vec![],
        skipped: vec![],
        consts: BTreeMap::new(),
        errors: vec![],
    };
    if !text.starts_with("$PBExportHeader$n_ystpay.sru\r\n") {
        p.errors
            .push("no $PBExportHeader$ line (or not CRLF)".into());
    }
    if !text.is_ascii() {
        p.errors
            .push("not ASCII: PowerBuilder reads exports as ANSI".into());
    }
    let mut block = "";
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        let lower = line.to_ascii_lowercase();
        match lower.as_str() {
            "type prototypes" | "type variables" => {
                block = if lower.ends_with("prototypes") {
                    "prototypes"
                } else {
                    "variables"
                };
                continue;
            }
            "end prototypes" | "end variables" => {
                block = "";
                continue;
            }
            _ => {}
        }
        if let Some(s) = line.strip_prefix("// SKIPPED ") {
            let (name, reason) = s.split_once(": ").unwrap_or((s, ""));
            p.skipped
                .push((name.to_string(), reason.trim().to_string()));
            continue;
        }
        if line.starts_with("//") || line.trim().is_empty() {
            continue;
        }
        if block == "variables" {
            if let Some(rest) = lower.strip_prefix("constant ") {
                let rest = &line[line.len() - rest.len()..];
                let (decl, value) = rest.split_once(" = ").expect("constant T NAME = V");
                let name = decl.split_whitespace().nth(1).expect("constant T NAME");
                if name.len() > 40 {
                    p.errors
                        .push(format!("{name}: longer than PowerBuilder's 40 characters"));
                }
                p.consts.insert(name.to_string(), value.to_string());
            }
            continue;
        }
        if block != "prototypes" {
            continue;
        }
        let (is_sub, rest) = if let Some(r) = lower.strip_prefix("subroutine ") {
            (true, &line[line.len() - r.len()..])
        } else if let Some(r) = lower.strip_prefix("function ") {
            (false, &line[line.len() - r.len()..])
        } else {
            p.errors.push(format!("unreadable prototype line: {line}"));
            continue;
        };
        let open = rest.find('(').expect("(");
        let close = rest.find(')').expect(")");
        let mut head = rest[..open].split_whitespace();
        let ret_ty = if is_sub { None } else { head.next() };
        let name = head.next().unwrap_or("").to_string();
        let tail = rest[close + 1..].trim();
        let want = format!("LIBRARY \"ystpay.dll\" ALIAS FOR \"{name};ansi\"");
        if tail != want {
            p.errors
                .push(format!("{name}: ends '{tail}', not '{want}'"));
        }
        if lower.contains("cdecl") {
            p.errors.push(format!("{name}: cdecl (the DLL is stdcall)"));
        }
        let params = rest[open + 1..close].trim();
        let mut args = vec![];
        if !params.is_empty() {
            for param in params.split(',') {
                args.push(pb_param(param.trim()).unwrap_or_else(|e| {
                    p.errors.push(format!("{name}: '{}': {e}", param.trim()));
                    Pass::Other("unreadable")
                }));
            }
        }
        let ret = ret_ty.map(|t| match t.to_ascii_lowercase().as_str() {
            "long" => Pass::Int {
                bytes: 4,
                unsigned: Some(false),
            },
            "ulong" | "unsignedlong" => Pass::Int {
                bytes: 4,
                unsigned: Some(true),
            },
            "longlong" => Pass::Int {
                bytes: 8,
                unsigned: Some(false),
            },
            "int" | "integer" => Pass::Int {
                bytes: 2,
                unsigned: Some(false),
            },
            // PowerBuilder copies a returned char * into its own string.
            "string" => Pass::Addr,
            _ => Pass::Other("unknown return type"),
        });
        p.decls.push(Decl { name, ret, args });
    }
    p
}

fn pb_param(param: &str) -> Result<Pass, String> {
    let lower = param.to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let (by_ref, rest) = match words.first() {
        Some(&"ref") => (true, &words[1..]),
        Some(&"readonly") => return Err("readonly is for PowerScript, not DLLs".into()),
        _ => (false, &words[..]),
    };
    let [ty, _name] = rest else {
        return Err("not '[ref] type name'".into());
    };
    Ok(match (by_ref, *ty) {
        (false, "long") => Pass::Int {
            bytes: 4,
            unsigned: Some(false),
        },
        (false, "ulong" | "unsignedlong") => Pass::Int {
            bytes: 4,
            unsigned: Some(true),
        },
        (false, "longlong") => Pass::Int {
            bytes: 8,
            unsigned: Some(false),
        },
        (false, "int" | "integer" | "boolean") => Pass::Int {
            bytes: 2,
            unsigned: Some(false),
        },
        (false, "uint" | "unsignedint" | "unsignedinteger") => Pass::Int {
            bytes: 2,
            unsigned: Some(true),
        },
        (false, "real") => Pass::Float(4),
        (false, "double" | "decimal" | "dec") => Pass::Float(8),
        // By value PowerBuilder passes a copy: what the DLL writes is lost.
        (false, "string") => Pass::Chars { writes: false },
        (true, "string" | "blob") => Pass::Chars { writes: true },
        (true, "long" | "ulong" | "unsignedlong") => Pass::Ref(4),
        (true, "longlong") => Pass::Ref(8),
        (true, "int" | "integer" | "uint" | "unsignedint" | "boolean") => Pass::Ref(2),
        _ => Pass::Other("a type the header never takes"),
    })
}

// ------------------------------------------------------------------- check

/// Does `got` (a binding's argument) pass what the header's `want` takes?
fn compatible(want: Pass, got: Pass) -> bool {
    match (want, got) {
        (
            Pass::Int {
                bytes: a,
                unsigned: ua,
            },
            Pass::Int {
                bytes: b,
                unsigned: ub,
            },
        ) => {
            // Signedness is compared where both languages say it (VB6 has
            // no unsigned types; its Long stands for both).
            a == b && (ua.is_none() || ub.is_none() || ua == ub)
        }
        // An address crosses as a 4-byte integer; signedness does not matter.
        (Pass::Addr, Pass::Int { bytes: 4, .. }) | (Pass::Addr, Pass::Addr) => true,
        (Pass::Chars { writes: true }, Pass::Chars { writes: w }) => w,
        (Pass::Chars { writes: false }, Pass::Chars { .. }) => true,
        (Pass::Ref(a), Pass::Ref(b)) => a == b,
        _ => false,
    }
}

/// Every problem of a binding against the header.
fn check(lang: &str, header: &BTreeMap<String, Decl>, parsed: &Parsed) -> Vec<String> {
    let mut errors: Vec<String> = parsed
        .errors
        .iter()
        .map(|e| format!("{lang}: {e}"))
        .collect();
    let mut seen = BTreeSet::new();
    for d in &parsed.decls {
        if !seen.insert(d.name.clone()) {
            errors.push(format!("{lang}: {} declared twice", d.name));
        }
        let Some(c) = header.get(&d.name) else {
            errors.push(format!("{lang}: {} is not in the header", d.name));
            continue;
        };
        if d.args.len() != c.args.len() {
            errors.push(format!(
                "{lang}: {}: {} arguments, the header has {}",
                d.name,
                d.args.len(),
                c.args.len()
            ));
            continue;
        }
        for (i, (&want, &got)) in c.args.iter().zip(&d.args).enumerate() {
            if !compatible(want, got) {
                errors.push(format!(
                    "{lang}: {} argument {}: header {want:?}, binding {got:?}",
                    d.name,
                    i + 1
                ));
            }
        }
        let stack = |a: &[Pass]| a.iter().map(|p| p.stack()).sum::<u32>();
        if stack(&d.args) != stack(&c.args) {
            errors.push(format!(
                "{lang}: {}@{} but the DLL's stdcall is {}@{}",
                d.name,
                stack(&d.args),
                d.name,
                stack(&c.args)
            ));
        }
        let ret_ok = match (c.ret, d.ret) {
            (None, None) => true,
            (Some(w), Some(g)) => compatible(w, g),
            _ => false,
        };
        if !ret_ok {
            errors.push(format!(
                "{lang}: {}: returns {:?}, the header {:?}",
                d.name, d.ret, c.ret
            ));
        }
    }
    for (name, reason) in &parsed.skipped {
        if !header.contains_key(name) {
            errors.push(format!("{lang}: skipped {name} is not in the header"));
        }
        if seen.contains(name) {
            errors.push(format!("{lang}: {name} is both declared and skipped"));
        }
        if reason.len() < 10 {
            errors.push(format!("{lang}: {name} is skipped without a reason"));
        }
        // Parts 1 and 2 of issue 19 exist for these languages.
        if ["ystpay_start_", "ystpay_op_", "ystpay_window_"]
            .iter()
            .any(|p| name.starts_with(p))
        {
            errors.push(format!("{lang}: {name} must be declared, not skipped"));
        }
    }
    for name in header.keys() {
        if !seen.contains(name) && !parsed.skipped.iter().any(|(n, _)| n == name) {
            errors.push(format!("{lang}: {name} is neither declared nor skipped"));
        }
    }
    errors
}

fn header_constants() -> BTreeMap<String, String> {
    HEADER
        .lines()
        .filter_map(|l| l.strip_prefix("#define YSTPAY_"))
        .filter_map(|l| l.split_once(' '))
        .filter(|(name, _)| *name != "CALL")
        .map(|(name, v)| (format!("YSTPAY_{name}"), v.trim().to_string()))
        .collect()
}

fn check_constants(lang: &str, parsed: &Parsed) -> Vec<String> {
    let want = header_constants();
    assert!(want.len() >= 100, "{} constants", want.len());
    let mut errors = vec![];
    for (name, value) in &want {
        match parsed.consts.get(name) {
            None => errors.push(format!("{lang}: constant {name} is missing")),
            Some(v) if v != value => errors.push(format!("{lang}: {name} = {v}, header {value}")),
            Some(_) => {}
        }
    }
    for name in parsed.consts.keys() {
        if !want.contains_key(name) {
            errors.push(format!("{lang}: constant {name} is not in the header"));
        }
    }
    errors
}

fn all_errors(bas: &str, sru: &str) -> Vec<String> {
    let header = header_functions();
    let (vb, pb) = (parse_bas(bas), parse_sru(sru));
    let mut errors = check("VB6", &header, &vb);
    errors.extend(check("PowerBuilder", &header, &pb));
    errors.extend(check_constants("VB6", &vb));
    errors.extend(check_constants("PowerBuilder", &pb));
    errors
}

// ------------------------------------------------------------------- tests

#[test]
fn the_generated_declarations_match_the_header() {
    let errors = all_errors(BAS, SRU);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    // Most of the header is declared, not skipped.
    let header = header_functions();
    let vb = parse_bas(BAS);
    let pb = parse_sru(SRU);
    assert!(
        vb.decls.len() >= 25 && pb.decls.len() >= 25,
        "{}",
        vb.decls.len()
    );
    assert_eq!(vb.decls.len() + vb.skipped.len(), header.len());
    // Both languages declare the same functions.
    let names = |p: &Parsed| {
        p.decls
            .iter()
            .map(|d| d.name.clone())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(names(&vb), names(&pb));
}

/// The started-operation API (issue 19, part 1) is what VB6 and
/// PowerBuilder programs pay with: when the header has it, each function
/// is declared in both, and amounts are 8 bytes wide (VB6 Currency,
/// PowerBuilder longlong).
#[test]
fn the_started_operations_are_declared_when_the_header_has_them() {
    let header = header_functions();
    let started: Vec<&String> = header
        .keys()
        .filter(|n| n.starts_with("ystpay_start_") || n.starts_with("ystpay_op_"))
        .collect();
    if started.is_empty() {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"SKIPPED: started operations: the header has none yet\n",
        );
        return;
    }
    for parsed in [parse_bas(BAS), parse_sru(SRU)] {
        for name in &started {
            assert!(parsed.decls.iter().any(|d| &&d.name == name), "{name}");
        }
    }
    let pay = parse_bas(BAS);
    let pay = pay
        .decls
        .iter()
        .find(|d| d.name == "ystpay_start_pay")
        .unwrap();
    assert_eq!(
        pay.args[2],
        Pass::Int {
            bytes: 8,
            unsigned: None
        }
    );
    assert!(BAS.contains("ByVal total_fee As Currency"));
    assert!(SRU.contains("longlong total_fee"));
}

/// Each kind of mistake the check exists for is refused.
#[test]
fn mutated_declarations_are_refused() {
    fn refused(what: &str, bas: &str, sru: &str, expect: &str) {
        let errors = all_errors(bas, sru);
        assert!(
            errors.iter().any(|e| e.contains(expect)),
            "{what}: expected an error with '{expect}', got {errors:#?}"
        );
    }
    fn swap(text: &str, from: &str, to: &str) -> String {
        assert!(text.contains(from), "'{from}' is not in the file");
        text.replacen(from, to, 1)
    }
    let last_error = "Public Declare Function ystpay_last_error Lib \"ystpay.dll\" (";
    let cases: Vec<(&str, String, String, &str)> = vec![
        (
            "a 2-byte Integer for an int32_t *",
            swap(BAS, "ByRef needed As Long)", "ByRef needed As Integer)"),
            SRU.into(),
            "binding Ref(2)",
        ),
        (
            "an argument dropped",
            swap(BAS, "ByVal buf_size As Long, ByRef needed As Long) As Long\r\nPublic Declare Function ystpay_next_req_seq",
                 "ByVal buf_size As Long) As Long\r\nPublic Declare Function ystpay_next_req_seq"),
            SRU.into(),
            "ystpay_last_error: 2 arguments, the header has 3",
        ),
        (
            "CDecl",
            swap(BAS, "ystpay_prepare Lib", "ystpay_prepare CDecl Lib"),
            SRU.into(),
            "CDecl",
        ),
        (
            "a misspelt name",
            swap(BAS, "ystpay_prepare Lib", "ystpay_prepair Lib"),
            SRU.into(),
            "ystpay_prepair is not in the header",
        ),
        (
            "a declaration removed",
            BAS.lines()
                .filter(|l| !l.starts_with(last_error))
                .map(|l| format!("{l}\n"))
                .collect(),
            SRU.into(),
            "ystpay_last_error is neither declared nor skipped",
        ),
        (
            "ByVal dropped (VB6 then passes ByRef)",
            swap(BAS, "(ByVal client As Long) As Long", "(client As Long) As Long"),
            SRU.into(),
            "ystpay_prepare argument 1",
        ),
        (
            "a String returned",
            swap(BAS, "ystpay_version Lib \"ystpay.dll\" () As Long", "ystpay_version Lib \"ystpay.dll\" () As String"),
            SRU.into(),
            "ystpay_version: returns",
        ),
        (
            "a constant changed",
            swap(BAS, "YSTPAY_ERR_BUFFER_TOO_SMALL As Long = 101", "YSTPAY_ERR_BUFFER_TOO_SMALL As Long = 102"),
            SRU.into(),
            "YSTPAY_ERR_BUFFER_TOO_SMALL = 102",
        ),
        (
            "a skipped function without a reason",
            swap(BAS, "' SKIPPED ystpay_pay: ", "' SKIPPED ystpay_pay: x\r\n' was: "),
            SRU.into(),
            "ystpay_pay is skipped without a reason",
        ),
        (
            "PowerBuilder: an out-parameter by value",
            BAS.into(),
            swap(SRU, "(long client, string day, ref long count)", "(long client, string day, long count)"),
            "ystpay_journal_count argument 3",
        ),
        (
            "PowerBuilder: a buffer by value (the DLL's text lost)",
            BAS.into(),
            swap(SRU, "ystpay_last_error(ref string buf", "ystpay_last_error(string buf"),
            "ystpay_last_error argument 1",
        ),
        (
            "PowerBuilder: without ;ansi",
            BAS.into(),
            swap(SRU, "\"ystpay_prepare;ansi\"", "\"ystpay_prepare\""),
            "ystpay_prepare: ends",
        ),
        (
            "PowerBuilder: a handle as ulong (allowed: an address)",
            BAS.into(),
            swap(SRU, "FUNCTION long ystpay_prepare(long client)", "FUNCTION long ystpay_prepare(ulong client)"),
            "",
        ),
        (
            "PowerBuilder: a 2-byte int for a handle",
            BAS.into(),
            swap(SRU, "ystpay_cancel_trigger(long cancel)", "ystpay_cancel_trigger(int cancel)"),
            "ystpay_cancel_trigger argument 1",
        ),
        (
            "an 8-byte Currency for a 4-byte handle (the callee would pop 8 bytes)",
            swap(BAS, "ystpay_prepare Lib \"ystpay.dll\" (ByVal client As Long)", "ystpay_prepare Lib \"ystpay.dll\" (ByVal client As Currency)"),
            SRU.into(),
            "ystpay_prepare@8 but the DLL's stdcall is ystpay_prepare@4",
        ),
    ];
    for (what, bas, sru, expect) in cases {
        if expect.is_empty() {
            // An address (a handle) may be long or ulong: not an error.
            assert!(all_errors(&bas, &sru).is_empty(), "{what}");
            continue;
        }
        refused(what, &bas, &sru, expect);
    }
    // With the started operations: an int64_t amount as a 4-byte Long.
    if BAS.contains("ByVal total_fee As Currency") {
        refused(
            "a Long for an int64_t",
            &swap(
                BAS,
                "ByVal total_fee As Currency",
                "ByVal total_fee As Long",
            ),
            SRU,
            "ystpay_start_",
        );
        refused(
            "PowerBuilder: a long for an int64_t",
            BAS,
            &swap(SRU, "longlong total_fee", "long total_fee"),
            "ystpay_start_",
        );
        refused(
            "ystpay_op_wait skipped",
            &BAS.lines()
                .filter(|l| !l.contains("Function ystpay_op_wait "))
                .map(|l| format!("{l}\r\n"))
                .chain(["' SKIPPED ystpay_op_wait: it takes a record\r\n".to_string()])
                .collect::<String>(),
            SRU,
            "ystpay_op_wait must be declared, not skipped",
        );
    }
}

// --------------------------------------------------------------- freshness

fn python_or_skip(test: &str) -> bool {
    if Command::new("python3").arg("--version").output().is_ok() {
        return true;
    }
    skip::skip_or_fail("YSTPAY_REQUIRE_PYTHON", test, "python3 is not installed");
    false
}

#[test]
fn the_committed_bindings_are_fresh() {
    if !python_or_skip("gen-bindings.py --check") {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .arg(root.join("scripts/gen-bindings.py"))
        .arg("--check")
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "stale bindings: run python3 scripts/gen-bindings.py\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// `--check` is able to fail: on a copy of the tree whose .bas was edited.
#[test]
fn check_refuses_an_edited_module() {
    if !python_or_skip("gen-bindings.py --check on an edited copy") {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = std::env::temp_dir().join(format!("ystpay-bindings-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let copy = |rel: &str| -> PathBuf {
        let dst = tmp.join(rel);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(root.join(rel), &dst).unwrap();
        dst
    };
    for rel in [
        "scripts/gen-bindings.py",
        "include/ystpay.h",
        "bindings/delphi/ystpay.pas",
        "bindings/csharp/Ystpay.cs",
        "bindings/powerbuilder/n_ystpay.sru",
    ] {
        copy(rel);
    }
    let bas = copy("bindings/vb6/ystpay.bas");
    let run = || {
        Command::new("python3")
            .arg(tmp.join("scripts/gen-bindings.py"))
            .arg("--check")
            .output()
            .expect("python3 runs")
    };
    assert!(run().status.success(), "the unedited copy is fresh");
    let edited = BAS.replacen("ByVal client As Long", "ByVal client As Integer", 1);
    std::fs::write(&bas, edited).unwrap();
    let out = run();
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(!out.status.success(), "--check passed an edited module");
    assert!(said.contains("stale: bindings/vb6/ystpay.bas"), "{said}");
}

// ------------------------------------------------------------ the kit's README

/// The VB6 and PowerBuilder payments of README-windows.txt (section 8 of
/// both languages) use only names the generated files define.
#[test]
fn the_readme_examples_use_declared_names() {
    let readme = include_str!("../packaging/windows/README-windows.txt");
    let vb = parse_bas(BAS);
    let pb = parse_sru(SRU);
    // What the .bas defines: declarations, constants and its helpers.
    let vb_helpers: Vec<&str> = BAS
        .lines()
        .filter_map(|l| l.strip_prefix("Public Function "))
        .map(ident_at)
        .collect();
    let pb_helpers: Vec<&str> = SRU
        .lines()
        .filter_map(|l| l.strip_prefix("public function string "))
        .map(ident_at)
        .collect();
    let mut examples = 0;
    for (start, end) in [
        (
            "VB6, polling from a Timer",
            "PowerBuilder: the library posts",
        ),
        ("VB6：计时器轮询", "PowerBuilder：库在每次"),
    ] {
        let at = readme.find(start).expect(start);
        let to = at + readme[at..].find(end).expect(end);
        let code = &readme[at..to];
        for word in code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            let known = if word.starts_with("ystpay_") {
                vb.decls.iter().any(|d| d.name == word)
            } else if word.starts_with("YSTPAY_") {
                vb.consts.contains_key(word)
            } else if word.starts_with("Ystpay") {
                vb_helpers.contains(&word)
            } else {
                continue;
            };
            assert!(known, "README-windows.txt's VB6 example uses {word}");
            examples += 1;
        }
        let pb_at = to;
        let pb_end = readme[pb_at..]
            .find("\n\n")
            .map_or(readme.len(), |n| pb_at + n);
        for (i, _) in readme[pb_at..pb_end].match_indices("yst.") {
            let word = ident_at(&readme[pb_at + i + 4..]);
            let known = pb.decls.iter().any(|d| d.name == word)
                || pb.consts.contains_key(word)
                || pb_helpers.contains(&word);
            assert!(
                known,
                "README-windows.txt's PowerBuilder example uses yst.{word}"
            );
            examples += 1;
        }
    }
    assert!(examples >= 30, "{examples} names checked");
}
