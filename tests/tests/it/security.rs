//! Deployment security (issue 8).
//!
//! 1. Every YAML and JSON file in the repository is parsed (CloudFormation short-form tags such as
//!    `!Ref`, `!Sub`, `!GetAtt`, `!If` included) and every IAM-style policy in it is checked: no `Allow`
//!    to a wildcard principal, no `Allow` of every action, no `Allow` with `NotPrincipal`/`NotAction`,
//!    no open-access search domain (wildcard principal, any-IP condition, anonymous auth) and no search
//!    domain without HTTPS enforcement or encryption. `Deny` statements may name `"*"`: they only take
//!    rights away (the TLS-only bucket policy needs exactly that).
//! 2. The producer and the indexer run with known secret values; no line they log may contain one.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

// ------------------------------------------------------------------------------------------------
// A document tree both parsers map into. YAML tags are kept, so `!If [c, a, b]` is understood as
// CloudFormation's `Fn::If` rather than read as text.

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
    /// A YAML tag (`!Ref`, `!Sub`, ...), without its `!`.
    Tag(String, Box<Node>),
}

impl Node {
    fn from_json(v: &serde_json::Value) -> Node {
        use serde_json::Value as J;
        match v {
            J::Null => Node::Null,
            J::Bool(b) => Node::Bool(*b),
            J::Number(n) => Node::Num(n.to_string()),
            J::String(s) => Node::Str(s.clone()),
            J::Array(a) => Node::Seq(a.iter().map(Node::from_json).collect()),
            J::Object(o) => Node::Map(
                o.iter()
                    .map(|(k, v)| (k.clone(), Node::from_json(v)))
                    .collect(),
            ),
        }
    }

    fn from_yaml(v: &serde_yaml::Value) -> Node {
        use serde_yaml::Value as Y;
        match v {
            Y::Null => Node::Null,
            Y::Bool(b) => Node::Bool(*b),
            Y::Number(n) => Node::Num(n.to_string()),
            Y::String(s) => Node::Str(s.clone()),
            Y::Sequence(a) => Node::Seq(a.iter().map(Node::from_yaml).collect()),
            Y::Mapping(m) => Node::Map(
                m.iter()
                    .map(|(k, v)| (Node::from_yaml(k).key_text(), Node::from_yaml(v)))
                    .collect(),
            ),
            Y::Tagged(t) => Node::Tag(
                t.tag.to_string().trim_start_matches('!').to_owned(),
                Box::new(Node::from_yaml(&t.value)),
            ),
        }
    }

    /// A mapping key as text (YAML allows non-string keys; policies never use them).
    fn key_text(&self) -> String {
        match self {
            Node::Str(s) | Node::Num(s) => s.clone(),
            Node::Bool(b) => b.to_string(),
            Node::Null => "~".to_owned(),
            other => format!("{other:?}"),
        }
    }

    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The values this node may take once deployed: both branches of `Fn::If` / `!If` (any
    /// condition may hold), nothing for `AWS::NoValue`, the node itself otherwise.
    fn alternatives(&self) -> Vec<&Node> {
        if let Some(args) = self.intrinsic("If") {
            if let Node::Seq(items) = args {
                if items.len() == 3 {
                    let mut out = items[1].alternatives();
                    out.extend(items[2].alternatives());
                    return out;
                }
            }
            return vec![self];
        }
        if let Some(Node::Str(name)) = self.intrinsic("Ref") {
            if name == "AWS::NoValue" {
                return Vec::new();
            }
        }
        vec![self]
    }

    /// The argument of a CloudFormation intrinsic in either form: `!Name arg` or `{"Fn::Name": arg}`
    /// (`Ref` has no `Fn::`).
    fn intrinsic(&self, name: &str) -> Option<&Node> {
        match self {
            Node::Tag(tag, arg) if tag == name => Some(arg),
            Node::Map(m) if m.len() == 1 => {
                let (k, v) = &m[0];
                let long = if name == "Ref" {
                    k == "Ref"
                } else {
                    k.strip_prefix("Fn::") == Some(name)
                };
                long.then_some(v)
            }
            _ => None,
        }
    }

    /// Every literal string this node may deploy as (lists flattened, conditionals expanded).
    fn strings(&self) -> Vec<&str> {
        let mut out = Vec::new();
        for alt in self.alternatives() {
            match alt {
                Node::Str(s) => out.push(s.as_str()),
                Node::Seq(items) => {
                    for item in items {
                        out.extend(item.strings());
                    }
                }
                _ => {}
            }
        }
        out
    }

    fn is_true(&self) -> bool {
        self.alternatives().iter().any(|n| match n {
            Node::Bool(b) => *b,
            Node::Str(s) => s.eq_ignore_ascii_case("true"),
            _ => false,
        })
    }

    fn is_false_or_missing(node: Option<&Node>) -> bool {
        match node {
            None => true,
            Some(n) => n.alternatives().iter().any(|n| match n {
                Node::Bool(b) => !*b,
                Node::Str(s) => s.eq_ignore_ascii_case("false"),
                _ => false,
            }),
        }
    }
}

// ------------------------------------------------------------------------------------------------
// The checker.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// `Allow` to `"*"` or `{"AWS": "*"}` (or any principal type set to `"*"`).
    WildcardPrincipal,
    /// `Allow` of `"*"` or `"*:*"`.
    WildcardAction,
    /// `Allow` with `NotPrincipal`: everyone but a few.
    AllowNotPrincipal,
    /// `Allow` with `NotAction`: every action but a few.
    AllowNotAction,
    /// A search domain reachable without naming who: wildcard principal, any-IP source condition,
    /// or anonymous auth.
    OpenDomain,
    /// A search domain without enforced HTTPS, encryption at rest or node-to-node encryption.
    InsecureDomain,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Finding {
    kind: Kind,
    /// Where in the document, e.g. `Resources.SearchDomain.Properties.AccessPolicies.Statement[0]`.
    at: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} at {}", self.kind, self.at)
    }
}

#[derive(Debug, Default)]
struct Report {
    findings: Vec<Finding>,
    /// Policy statements looked at (a walk that checks nothing proves nothing).
    statements: usize,
    domains: usize,
}

const ANY_IP: [&str; 2] = ["0.0.0.0/0", "::/0"];
const DOMAIN_TYPES: [&str; 2] = [
    "AWS::OpenSearchService::Domain",
    "AWS::Elasticsearch::Domain",
];

fn check(doc: &Node) -> Report {
    let mut report = Report::default();
    walk(doc, "$", false, &mut report);
    report.findings.sort();
    report.findings.dedup();
    report
}

fn walk(node: &Node, at: &str, in_domain: bool, report: &mut Report) {
    match node {
        Node::Map(entries) => {
            if let Some(ty) = node.get("Type").map(Node::strings) {
                if ty.iter().any(|t| DOMAIN_TYPES.contains(t)) {
                    check_domain_resource(node, at, report);
                }
            }
            if let Some(statements) = node.get("Statement") {
                check_policy(statements, &format!("{at}.Statement"), in_domain, report);
            }
            for (k, v) in entries {
                let domain_policy = in_domain || k == "AccessPolicies";
                walk(v, &format!("{at}.{k}"), domain_policy, report);
            }
        }
        Node::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{at}[{i}]"), in_domain, report);
            }
        }
        Node::Tag(tag, inner) => walk(inner, &format!("{at}!{tag}"), in_domain, report),
        // A policy written as a JSON string (e.g. `AccessPolicies: '{"Statement": ...}'` or the
        // template of a `!Sub`).
        Node::Str(s) if s.trim_start().starts_with('{') && s.contains("Statement") => {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(s) {
                walk(
                    &Node::from_json(&v),
                    &format!("{at}<json>"),
                    in_domain,
                    report,
                );
            }
        }
        _ => {}
    }
}

fn check_policy(statements: &Node, at: &str, in_domain: bool, report: &mut Report) {
    let mut list: Vec<&Node> = Vec::new();
    for alt in statements.alternatives() {
        match alt {
            Node::Seq(items) => {
                for item in items {
                    list.extend(item.alternatives());
                }
            }
            other => list.push(other),
        }
    }
    for (i, st) in list.into_iter().enumerate() {
        let here = format!("{at}[{i}]");
        report.statements += 1;
        let effect = st.get("Effect").map(Node::strings).unwrap_or_default();
        // Only an Allow grants. A statement whose Effect is not a literal (a `!Ref`) may be Allow.
        let allow = effect.is_empty() || effect.contains(&"Allow");
        if !allow {
            continue;
        }
        let domain = in_domain || is_domain_statement(st);
        let mut push = |kind| {
            report.findings.push(Finding {
                kind,
                at: here.clone(),
            })
        };
        if let Some(p) = st.get("Principal") {
            if wildcard_principal(p) {
                push(Kind::WildcardPrincipal);
                if domain {
                    push(Kind::OpenDomain);
                }
            }
        }
        if st.get("NotPrincipal").is_some() {
            push(Kind::AllowNotPrincipal);
            if domain {
                push(Kind::OpenDomain);
            }
        }
        if let Some(a) = st.get("Action") {
            if a.strings().iter().any(|a| *a == "*" || *a == "*:*") {
                push(Kind::WildcardAction);
            }
        }
        if st.get("NotAction").is_some() {
            push(Kind::AllowNotAction);
        }
        if domain && any_ip_condition(st.get("Condition")) {
            push(Kind::OpenDomain);
        }
    }
}

fn wildcard_principal(p: &Node) -> bool {
    p.alternatives().into_iter().any(|alt| match alt {
        Node::Str(s) => s == "*",
        Node::Map(m) => m.iter().any(|(_, v)| v.strings().contains(&"*")),
        _ => false,
    })
}

/// A statement about a search domain: an `es:` action or an `:es:` resource.
fn is_domain_statement(st: &Node) -> bool {
    let actions = st.get("Action").map(Node::strings).unwrap_or_default();
    let resources = st.get("Resource").map(Node::strings).unwrap_or_default();
    actions.iter().any(|a| a.starts_with("es:"))
        || resources.iter().any(|r| r.contains(":es:"))
        || resources.iter().any(|r| r.contains(":aoss:"))
}

/// A condition that lets any source address in (`IpAddress` on `aws:SourceIp` with `0.0.0.0/0`).
fn any_ip_condition(cond: Option<&Node>) -> bool {
    let Some(cond) = cond else { return false };
    cond.alternatives().into_iter().any(|c| match c {
        Node::Map(ops) => ops.iter().any(|(op, keys)| {
            op.contains("IpAddress")
                && !op.contains("Not")
                && keys.alternatives().into_iter().any(|k| match k {
                    Node::Map(m) => m.iter().any(|(key, v)| {
                        key.eq_ignore_ascii_case("aws:SourceIp")
                            && v.strings().iter().any(|ip| ANY_IP.contains(ip))
                    }),
                    _ => false,
                })
        }),
        _ => false,
    })
}

fn check_domain_resource(resource: &Node, at: &str, report: &mut Report) {
    report.domains += 1;
    let mut push = |kind, what: &str| {
        report.findings.push(Finding {
            kind,
            at: format!("{at}.Properties.{what}"),
        })
    };
    let props = resource.get("Properties");
    let prop = |path: &[&str]| {
        let mut n = props?;
        for p in path {
            n = n.get(p)?;
        }
        Some(n)
    };
    if Node::is_false_or_missing(prop(&["DomainEndpointOptions", "EnforceHTTPS"])) {
        push(Kind::InsecureDomain, "DomainEndpointOptions.EnforceHTTPS");
    }
    if Node::is_false_or_missing(prop(&["EncryptionAtRestOptions", "Enabled"])) {
        push(Kind::InsecureDomain, "EncryptionAtRestOptions.Enabled");
    }
    if Node::is_false_or_missing(prop(&["NodeToNodeEncryptionOptions", "Enabled"])) {
        push(Kind::InsecureDomain, "NodeToNodeEncryptionOptions.Enabled");
    }
    if let Some(tls) = prop(&["DomainEndpointOptions", "TLSSecurityPolicy"]) {
        if !tls.strings().iter().all(|p| p.contains("TLS-1-2")) {
            push(
                Kind::InsecureDomain,
                "DomainEndpointOptions.TLSSecurityPolicy",
            );
        }
    } else {
        push(
            Kind::InsecureDomain,
            "DomainEndpointOptions.TLSSecurityPolicy",
        );
    }
    if prop(&["AdvancedSecurityOptions"])
        .into_iter()
        .flat_map(Node::alternatives)
        .filter_map(|a| a.get("AnonymousAuthEnabled"))
        .any(Node::is_true)
    {
        push(
            Kind::OpenDomain,
            "AdvancedSecurityOptions.AnonymousAuthEnabled",
        );
    }
    // Neither fine-grained access control nor a policy: the domain relies on nothing but the
    // callers' own IAM policies. We require the domain itself to name who may call it.
    if prop(&["AccessPolicies"]).is_none() {
        push(Kind::OpenDomain, "AccessPolicies (missing)");
    }
}

/// Parses a file's text as YAML (every document) or JSON.
fn parse(path: &Path, text: &str) -> Result<Vec<Node>, String> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if ext == "json" {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
            return Ok(vec![Node::from_json(&v)]);
        }
    }
    let mut docs = Vec::new();
    for de in serde_yaml::Deserializer::from_str(text) {
        let v = <serde_yaml::Value as serde::Deserialize>::deserialize(de)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        docs.push(Node::from_yaml(&v));
    }
    Ok(docs)
}

fn check_text(path: &Path, text: &str) -> Result<Report, String> {
    let mut total = Report::default();
    for doc in parse(path, text)? {
        let r = check(&doc);
        total.findings.extend(r.findings);
        total.statements += r.statements;
        total.domains += r.domains;
    }
    Ok(total)
}

/// Directories never walked: build output, installed packages, the test bed, vendored data.
const SKIP_DIRS: [&str; 10] = [
    ".git",
    "target",
    "node_modules",
    ".venv",
    ".testbed",
    "pkg",
    "data",
    "golden",
    "corpus",
    "vendor",
];

fn policy_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ty = entry
            .file_type()
            .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()));
        if ty.is_dir() {
            if !SKIP_DIRS.contains(&name.as_ref()) {
                policy_files(&path, out);
            }
        } else if ty.is_file()
            && [".yaml", ".yml", ".json", ".template"]
                .iter()
                .any(|x| name.ends_with(x))
        {
            out.push(path);
        }
    }
}

// ------------------------------------------------------------------------------------------------
// The repository.

#[test]
fn no_file_in_the_repository_opens_access() {
    let root = sentimap_tests::repo_root();
    let mut files = Vec::new();
    policy_files(&root, &mut files);
    files.sort();
    let mut problems = Vec::new();
    let mut statements = 0;
    let mut checked = BTreeSet::new();
    for file in &files {
        let rel = file
            .strip_prefix(&root)
            .unwrap_or(file)
            .display()
            .to_string();
        let text = fs::read_to_string(file).unwrap_or_else(|e| panic!("reading {rel}: {e}"));
        match check_text(file, &text) {
            Ok(report) => {
                statements += report.statements;
                if report.statements > 0 || report.domains > 0 {
                    checked.insert(rel.clone());
                }
                problems.extend(report.findings.iter().map(|f| format!("{rel}: {f}")));
            }
            // A file neither parser reads cannot hide a policy unless it mentions one.
            Err(e) if text.contains("Statement") || text.contains("Principal") => {
                problems.push(format!(
                    "{rel}: cannot be parsed, so cannot be checked: {e}"
                ));
            }
            Err(_) => {}
        }
    }
    assert!(
        problems.is_empty(),
        "open access in the repository:\n  {}",
        problems.join("\n  ")
    );
    // The walk must have seen the deployment's policies, or it proved nothing.
    for must in [
        "infra/template.yaml",
        "infra/policies/domain-access.json",
        "infra/policies/producer-firehose.json",
    ] {
        assert!(
            checked.contains(must),
            "{must} was not checked; checked: {checked:?}"
        );
    }
    assert!(statements >= 30, "only {statements} policy statements seen");
}

#[test]
fn the_template_domain_names_its_principals() {
    let root = sentimap_tests::repo_root();
    let path = root.join("infra/template.yaml");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading template: {e}"));
    let docs = parse(&path, &text).unwrap_or_else(|e| panic!("{e}"));
    let domain = docs[0]
        .get("Resources")
        .and_then(|r| r.get("SearchDomain"))
        .expect("SearchDomain resource");
    let statements = domain
        .get("Properties")
        .and_then(|p| p.get("AccessPolicies"))
        .and_then(|p| p.get("Statement"))
        .expect("AccessPolicies.Statement");
    let Node::Seq(items) = statements else {
        panic!("Statement is not a list")
    };
    let mut principals = 0;
    for st in items.iter().flat_map(Node::alternatives) {
        let p = st
            .get("Principal")
            .and_then(|p| p.get("AWS"))
            .expect("every domain statement names an AWS principal");
        // A role ARN from the stack (!GetAtt) or a validated ARN parameter (!Ref), never a literal.
        assert!(
            p.intrinsic("GetAtt").is_some() || p.intrinsic("Ref").is_some(),
            "principal {p:?} is not a named role"
        );
        principals += 1;
    }
    assert!(principals >= 2, "only {principals} domain statements");
    let first = items[0].get("Principal").and_then(|p| p.get("AWS"));
    assert_eq!(
        first.and_then(|p| p.intrinsic("GetAtt")),
        Some(&Node::Str("IndexerRole.Arn".to_owned())),
        "the first statement names the indexer role"
    );
}

// ------------------------------------------------------------------------------------------------
// The checker catches each kind (and leaves the safe forms alone).

fn kinds(text: &str, ext: &str) -> Vec<Kind> {
    let path = PathBuf::from(format!("case.{ext}"));
    let report = check_text(&path, text).unwrap_or_else(|e| panic!("{e}"));
    let mut k: Vec<Kind> = report.findings.iter().map(|f| f.kind).collect();
    k.dedup();
    k
}

#[test]
fn catches_a_string_wildcard_principal() {
    let json = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
    assert_eq!(kinds(json, "json"), [Kind::WildcardPrincipal]);
}

#[test]
fn catches_an_aws_wildcard_principal_in_yaml_and_in_a_list() {
    let yaml = "Statement:\n  - Effect: Allow\n    Principal: {AWS: '*'}\n    Action: sqs:SendMessage\n    Resource: arn:aws:sqs:us-east-1:1:q\n";
    assert_eq!(kinds(yaml, "yaml"), [Kind::WildcardPrincipal]);
    let json = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::1:root","*"]},"Action":"sqs:SendMessage","Resource":"q"}}"#;
    assert_eq!(kinds(json, "json"), [Kind::WildcardPrincipal]);
}

#[test]
fn catches_a_wildcard_action() {
    let json =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    assert_eq!(kinds(json, "json"), [Kind::WildcardAction]);
    let yaml = "PolicyDocument:\n  Statement:\n    - Effect: Allow\n      Action: ['s3:GetObject', '*:*']\n      Resource: !Sub 'arn:aws:s3:::${B}/*'\n";
    assert_eq!(kinds(yaml, "yaml"), [Kind::WildcardAction]);
}

#[test]
fn catches_not_principal_and_not_action_allows() {
    let json = r#"{"Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::1:role/x"},"Action":"s3:GetObject","Resource":"r"},
                                 {"Effect":"Allow","NotAction":"iam:*","Resource":"r"}]}"#;
    assert_eq!(
        kinds(json, "json"),
        [Kind::AllowNotPrincipal, Kind::AllowNotAction]
    );
}

#[test]
fn catches_the_originals_open_access_domain_policy() {
    // What the console's "Allow open access to the domain" template writes.
    let json = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},
        "Action":"es:*","Resource":"arn:aws:es:us-east-1:111122223333:domain/es-twitter-demo/*"}]}"#;
    assert_eq!(
        kinds(json, "json"),
        [Kind::WildcardPrincipal, Kind::OpenDomain]
    );
}

#[test]
fn catches_an_any_ip_domain_policy() {
    let yaml = r#"
AccessPolicies:
  Statement:
    - Effect: Allow
      Principal: {AWS: !Sub "arn:aws:iam::${AWS::AccountId}:root"}
      Action: es:ESHttpGet
      Resource: !Sub "arn:aws:es:${AWS::Region}:${AWS::AccountId}:domain/d/*"
      Condition:
        IpAddress:
          aws:SourceIp: ["10.0.0.0/8", "0.0.0.0/0"]
"#;
    assert_eq!(kinds(yaml, "yaml"), [Kind::OpenDomain]);
}

#[test]
fn catches_a_wildcard_hidden_in_a_cloudformation_condition() {
    // Either branch of !If may be deployed; the long form Fn::If too.
    let yaml = r#"
Resources:
  P:
    Type: AWS::SQS::QueuePolicy
    Properties:
      PolicyDocument:
        Statement:
          - !If
            - Prod
            - Effect: Allow
              Principal: {Service: s3.amazonaws.com}
              Action: sqs:SendMessage
              Resource: q
            - Effect: Allow
              Principal: !If [Other, {AWS: "*"}, !Ref AWS::NoValue]
              Action: sqs:SendMessage
              Resource: q
"#;
    assert_eq!(kinds(yaml, "yaml"), [Kind::WildcardPrincipal]);
    let json = r#"{"Statement":[{"Fn::If":["C",{"Effect":"Allow","Action":"*","Resource":"r"},{"Ref":"AWS::NoValue"}]}]}"#;
    assert_eq!(kinds(json, "json"), [Kind::WildcardAction]);
}

#[test]
fn catches_a_policy_written_as_a_json_string() {
    let yaml = r#"
Resources:
  D:
    Type: AWS::Elasticsearch::Domain
    Properties:
      EncryptionAtRestOptions: {Enabled: true}
      NodeToNodeEncryptionOptions: {Enabled: true}
      DomainEndpointOptions: {EnforceHTTPS: true, TLSSecurityPolicy: Policy-Min-TLS-1-2-2019-07}
      AccessPolicies: !Sub '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"es:ESHttp*","Resource":"*"}]}'
"#;
    assert_eq!(
        kinds(yaml, "yaml"),
        [Kind::WildcardPrincipal, Kind::OpenDomain]
    );
}

#[test]
fn catches_an_unhardened_or_anonymous_domain() {
    let yaml = r#"
Resources:
  D:
    Type: AWS::OpenSearchService::Domain
    Properties:
      DomainEndpointOptions: {EnforceHTTPS: false, TLSSecurityPolicy: Policy-Min-TLS-1-0-2019-07}
      NodeToNodeEncryptionOptions: {Enabled: true}
      AdvancedSecurityOptions: {Enabled: true, AnonymousAuthEnabled: true}
"#;
    let report = check_text(Path::new("d.yaml"), yaml).unwrap_or_else(|e| panic!("{e}"));
    let found: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    let want = [
        "InsecureDomain at $.Resources.D.Properties.DomainEndpointOptions.EnforceHTTPS",
        "InsecureDomain at $.Resources.D.Properties.DomainEndpointOptions.TLSSecurityPolicy",
        "InsecureDomain at $.Resources.D.Properties.EncryptionAtRestOptions.Enabled",
        "OpenDomain at $.Resources.D.Properties.AccessPolicies (missing)",
        "OpenDomain at $.Resources.D.Properties.AdvancedSecurityOptions.AnonymousAuthEnabled",
    ];
    let mut found_sorted = found.clone();
    found_sorted.sort();
    assert_eq!(found_sorted, want);
}

#[test]
fn leaves_safe_policies_alone() {
    // Deny to everyone (TLS-only), named and service principals, tags of every short form.
    let yaml = r#"
Resources:
  BucketPolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref B
      PolicyDocument:
        Statement:
          - Effect: Deny
            Principal: "*"
            Action: "s3:*"
            Resource: [!GetAtt B.Arn, !Sub "${B.Arn}/*"]
            Condition: {Bool: {aws:SecureTransport: "false"}}
          - Effect: Allow
            Principal: {AWS: !GetAtt Role.Arn, Service: [firehose.amazonaws.com]}
            Action: [s3:PutObject]
            Resource: !Join ["", [!GetAtt B.Arn, "/raw/*"]]
          - Effect: Allow
            Principal: {AWS: !ImportValue other-stack-role}
            Action: !Split [",", "s3:GetObject,s3:ListBucket"]
            Resource: !Select [0, [a, b]]
            Condition:
              IpAddress: {aws:SourceIp: 203.0.113.0/24}
"#;
    assert_eq!(kinds(yaml, "yaml"), []);
    let report = check_text(Path::new("x.yaml"), yaml).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.statements, 3);
}

#[test]
fn reads_every_yaml_document_in_a_file() {
    let yaml = "a: 1\n---\nStatement: [{Effect: Allow, Action: '*', Resource: '*'}]\n";
    assert_eq!(kinds(yaml, "yml"), [Kind::WildcardAction]);
}

// ------------------------------------------------------------------------------------------------
// No secret in any log line: the producer and the indexer run against fake upstreams on 127.0.0.1
// (no test bed needed) with known secret values. Each run must put the secret on the wire (so it
// was really used) and never in what it prints: stderr (logs), stdout, summary or dead letters.
// Our crates log at trace level, dependencies at info (what the deployment runs).

const X_BEARER: &str = "XBEARERleak5f1c9a7e2b3d4c6a8e0f";
const X_CONSUMER_KEY: &str = "XCKEYleak0a9b8c7d6e5f";
const X_CONSUMER_SECRET: &str = "XCSECRETleak1b2c3d4e5f6a7b8c9d0e";
const X_DERIVED_BEARER: &str = "XDERIVEDleak9e8d7c6b5a4f3e2d1c0b";
const SM_BEARER: &str = "SMBEARERleak77aa66bb55cc44dd33ee";
const AWS_KEY_ID: &str = "AKIALEAKTEST0000001";
const AWS_SECRET: &str = "awsSECRETleak/8f7e6d5c4b3a2910ffeeddccbbaa99";
const AWS_TOKEN: &str = "awsSESSIONleak/QXJlIHlvdSBsb29raW5nPw";
const OS_PASSWORD: &str = "OSPASSWORDleak4c3b2a1f0e9d8c7b";
const OS_API_KEY: &str = "OSAPIKEYleak6b5a4f3e2d1c0b9a8f";

fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// One request as the fake upstream saw it.
#[derive(Debug, Clone)]
struct Seen {
    line: String,
    headers: String,
    body: String,
}

type Handler = dyn Fn(&Seen) -> (u16, &'static str, String) + Send + Sync;

/// A minimal HTTP/1.1 server on 127.0.0.1 answering each request with `handler` and closing.
struct FakeUpstream {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl FakeUpstream {
    fn start(handler: Box<Handler>) -> FakeUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, stop2) = (Arc::clone(&seen), Arc::clone(&stop));
        let handler: Arc<Handler> = Arc::from(handler);
        thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (seen, handler) = (Arc::clone(&seen2), Arc::clone(&handler));
                        thread::spawn(move || serve(stream, &seen, &*handler));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FakeUpstream { port, seen, stop }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn saw(&self, needle: &str) -> bool {
        let seen = self.seen.lock().expect("seen lock");
        seen.iter().any(|s| {
            s.headers.contains(needle) || s.body.contains(needle) || s.line.contains(needle)
        })
    }

    fn requests(&self) -> Vec<String> {
        let seen = self.seen.lock().expect("seen lock");
        seen.iter().map(|s| s.line.clone()).collect()
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(stream: TcpStream, seen: &Mutex<Vec<Seen>>, handler: &Handler) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut headers = String::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((name, value)) = h.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        headers.push_str(&h);
    }
    let mut body = vec![0u8; length.min(16 << 20)];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let req = Seen {
        line: line.trim_end().to_owned(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let (status, content_type, answer) = handler(&req);
    seen.lock().expect("seen lock").push(req);
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
    let _ = stream.flush();
}

/// The two programs under test, built once by cargo (the test binary cannot name another
/// package's binaries, and `cargo test` builds none).
///
/// `--tests` makes cargo resolve features as `cargo test --workspace` did, so the binaries link
/// the libraries that run already built instead of building them all again with other features.
/// The variables cargo sets for a running test (`CARGO_MANIFEST_DIR`, ...) are removed: build
/// scripts that watch them (ring's does) would otherwise run again and rebuild half the graph.
fn binaries() -> &'static BTreeMap<String, PathBuf> {
    static BINS: OnceLock<BTreeMap<String, PathBuf>> = OnceLock::new();
    BINS.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut cmd = Command::new(cargo);
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            let set_by_cargo_for_tests = name.starts_with("CARGO_PKG_")
                || name.starts_with("CARGO_BIN_")
                || [
                    "CARGO_MANIFEST_DIR",
                    "CARGO_MANIFEST_PATH",
                    "CARGO_CRATE_NAME",
                    "CARGO_PRIMARY_PACKAGE",
                    "CARGO_TARGET_TMPDIR",
                    "OUT_DIR",
                ]
                .contains(&name.as_ref());
            if set_by_cargo_for_tests {
                cmd.env_remove(name.as_ref());
            }
        }
        let out = cmd
            .current_dir(sentimap_tests::repo_root())
            .args(["build", "--workspace", "--locked", "--tests"])
            .args(["--bin", "sentimap", "--bin", "sentimap-lambda"])
            .arg("--message-format=json-render-diagnostics")
            .stderr(Stdio::inherit())
            .output()
            .expect("running cargo build");
        assert!(
            out.status.success(),
            "cargo build of sentimap and sentimap-lambda failed (both packages must be in the workspace: \
             the producer and lambda branches)"
        );
        let mut bins = BTreeMap::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            // `--tests` also builds each binary's unit-test harness under the same target name.
            let is_test_harness = msg.pointer("/profile/test").and_then(|v| v.as_bool());
            if let (Some(name), Some(exe), Some(false)) = (
                msg.pointer("/target/name").and_then(|v| v.as_str()),
                msg.get("executable").and_then(|v| v.as_str()),
                is_test_harness,
            ) {
                bins.insert(name.to_owned(), PathBuf::from(exe));
            }
        }
        bins
    })
}

fn binary(name: &str) -> PathBuf {
    binaries()
        .get(name)
        .cloned()
        .unwrap_or_else(|| panic!("cargo built no binary named {name}"))
}

/// What a run printed: every line of stdout, stderr and the files it wrote.
struct Output {
    lines: Vec<String>,
}

/// Runs `cmd` (environment cleared except what is given) for at most `run_for`, then SIGTERM and
/// at most 15 s more, then SIGKILL.
fn run(mut cmd: Command, run_for: Duration, files_dir: &Path) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning the program under test");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_t = thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_t = thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let mut termed = false;
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            break;
        }
        let waited = start.elapsed();
        if !termed && waited > run_for {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            termed = true;
        }
        if waited > run_for + Duration::from_secs(15) {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let mut lines: Vec<String> = Vec::new();
    for text in [
        out_t.join().unwrap_or_default(),
        err_t.join().unwrap_or_default(),
    ] {
        lines.extend(text.lines().map(str::to_owned));
    }
    let mut files = Vec::new();
    all_files(files_dir, &mut files);
    for f in files {
        let bytes = fs::read(&f).unwrap_or_default();
        lines.extend(String::from_utf8_lossy(&bytes).lines().map(str::to_owned));
    }
    Output { lines }
}

fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn assert_no_secret(what: &str, out: &Output, secrets: &[(&str, String)]) {
    assert!(
        !out.lines.is_empty(),
        "{what}: printed nothing, so nothing was checked"
    );
    let mut leaks = Vec::new();
    for (i, line) in out.lines.iter().enumerate() {
        for (label, secret) in secrets {
            if line.contains(secret.as_str()) {
                leaks.push(format!("line {i} contains {label}: {line}"));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "{what} leaked secrets:\n{}",
        leaks.join("\n")
    );
}

/// A scratch folder for one run, removed when the test ends.
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("sentimap-leak-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    Scratch(dir)
}

/// The environment every run gets: nothing inherited but PATH, AWS pointed at `aws_url`.
fn base_command(bin: &Path, aws_url: &str) -> Command {
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", AWS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
        .env("AWS_SESSION_TOKEN", AWS_TOKEN)
        .env("AWS_ENDPOINT_URL", aws_url)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/sentimap-leak-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/sentimap-leak-credentials",
        );
    cmd
}

fn aws_secrets() -> Vec<(&'static str, String)> {
    vec![
        ("AWS secret key", AWS_SECRET.to_owned()),
        ("AWS session token", AWS_TOKEN.to_owned()),
    ]
}

/// X: rules and stream refuse (401, then 503); oauth2/token hands out the derived bearer token.
fn fake_x() -> FakeUpstream {
    FakeUpstream::start(Box::new(|req: &Seen| {
        if req.line.contains("/oauth2/token") {
            (
                200,
                "application/json",
                format!(r#"{{"token_type":"bearer","access_token":"{X_DERIVED_BEARER}"}}"#),
            )
        } else if req.line.contains("/rules") {
            (
                401,
                "application/json",
                r#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#
                    .to_owned(),
            )
        } else {
            (
                503,
                "application/json",
                r#"{"title":"Service Unavailable"}"#.to_owned(),
            )
        }
    }))
}

/// AWS: Secrets Manager answers with a bearer token; every other call is throttled.
fn fake_aws() -> FakeUpstream {
    FakeUpstream::start(Box::new(|req: &Seen| {
        if req.headers.contains("secretsmanager.GetSecretValue") {
            let inner = format!(r#"{{"x_bearer_token":"{SM_BEARER}"}}"#);
            let answer = serde_json::json!({
                "ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:sentimap/producer-AbCdEf",
                "Name": "sentimap/producer",
                "SecretString": inner,
                "VersionId": "00000000-0000-0000-0000-000000000001",
                "VersionStages": ["AWSCURRENT"],
                "CreatedDate": 1_700_000_000
            });
            (200, "application/x-amz-json-1.1", answer.to_string())
        } else if req
            .headers
            .contains("Firehose_20150804.DescribeDeliveryStream")
        {
            let answer = serde_json::json!({"DeliveryStreamDescription": {
                "DeliveryStreamName": "leak-test",
                "DeliveryStreamARN": "arn:aws:firehose:us-east-1:123456789012:deliverystream/leak-test",
                "DeliveryStreamStatus": "ACTIVE",
                "DeliveryStreamType": "DirectPut",
                "VersionId": "1",
                "Destinations": [],
                "HasMoreDestinations": false
            }});
            (200, "application/x-amz-json-1.1", answer.to_string())
        } else if req.headers.contains("Firehose_20150804.PutRecordBatch") {
            // Every record fails: the producer retries, then dead-letters (and logs about it).
            let records = serde_json::from_str::<serde_json::Value>(&req.body)
                .ok()
                .and_then(|v| v.get("Records").and_then(|r| r.as_array()).map(Vec::len))
                .unwrap_or(0);
            let failed = serde_json::json!({"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "Slow down"});
            let answer = serde_json::json!({
                "FailedPutCount": records,
                "Encrypted": false,
                "RequestResponses": vec![failed; records]
            });
            (200, "application/x-amz-json-1.1", answer.to_string())
        } else {
            (
                503,
                "application/x-amz-json-1.1",
                r#"{"__type":"ServiceUnavailableException","message":"Slow down"}"#.to_owned(),
            )
        }
    }))
}

fn producer(aws: &FakeUpstream, x: &FakeUpstream, dir: &Path) -> Command {
    let mut cmd = base_command(&binary("sentimap"), &aws.url());
    cmd.arg("produce")
        .env("SENTIMAP_LOG", "info,sentimap=trace")
        .args(["--source", "x", "--sink", "stdout", "--status", "never"])
        .args(["--keywords", "christmas", "--backoff-scale", "0.01"])
        .args(["--x-api-base", &x.url()])
        .arg("--dead-letter")
        .arg(dir.join("dead-letter.jsonl"))
        .arg("--summary")
        .arg(dir.join("summary.json"));
    cmd
}

#[test]
fn producer_never_logs_an_x_bearer_token() {
    let (aws, x, dir) = (fake_aws(), fake_x(), scratch("producer-bearer"));
    let mut cmd = producer(&aws, &x, &dir);
    cmd.env("SENTIMAP_X_BEARER_TOKEN", X_BEARER);
    let out = run(cmd, Duration::from_secs(3), &dir);
    assert!(
        x.saw(&format!("Bearer {X_BEARER}")),
        "the producer never sent the bearer token; X saw {:?}\n{}",
        x.requests(),
        out.lines.join("\n")
    );
    let mut secrets = aws_secrets();
    secrets.push(("X bearer token", X_BEARER.to_owned()));
    assert_no_secret("produce --source x (bearer token)", &out, &secrets);
}

#[test]
fn producer_never_logs_consumer_credentials_or_the_token_they_buy() {
    let (aws, x, dir) = (fake_aws(), fake_x(), scratch("producer-consumer"));
    let mut cmd = producer(&aws, &x, &dir);
    cmd.env("SENTIMAP_X_CONSUMER_KEY", X_CONSUMER_KEY)
        .env("SENTIMAP_X_CONSUMER_SECRET", X_CONSUMER_SECRET);
    let out = run(cmd, Duration::from_secs(3), &dir);
    let basic = base64(format!("{X_CONSUMER_KEY}:{X_CONSUMER_SECRET}").as_bytes());
    assert!(
        x.saw(&format!("Basic {basic}")),
        "the producer never sent the consumer credentials; X saw {:?}\n{}",
        x.requests(),
        out.lines.join("\n")
    );
    assert!(
        x.saw(&format!("Bearer {X_DERIVED_BEARER}")),
        "the producer never used the token oauth2/token gave; X saw {:?}",
        x.requests()
    );
    let mut secrets = aws_secrets();
    secrets.push(("X consumer secret", X_CONSUMER_SECRET.to_owned()));
    secrets.push(("X consumer key:secret (base64)", basic));
    secrets.push((
        "bearer token from oauth2/token",
        X_DERIVED_BEARER.to_owned(),
    ));
    assert_no_secret("produce --source x (consumer key)", &out, &secrets);
}

#[test]
fn producer_never_logs_a_secret_it_read_from_secrets_manager() {
    let (aws, x, dir) = (fake_aws(), fake_x(), scratch("producer-sm"));
    let mut cmd = producer(&aws, &x, &dir);
    cmd.env(
        "SENTIMAP_X_BEARER_TOKEN",
        "secretsmanager:sentimap/producer#x_bearer_token",
    );
    let out = run(cmd, Duration::from_secs(3), &dir);
    assert!(
        aws.saw("secretsmanager.GetSecretValue"),
        "the producer never asked Secrets Manager; AWS saw {:?}\n{}",
        aws.requests(),
        out.lines.join("\n")
    );
    assert!(
        aws.saw(AWS_TOKEN),
        "the AWS session token was not sent, so it was not used"
    );
    assert!(
        x.saw(&format!("Bearer {SM_BEARER}")),
        "the producer never used the token from Secrets Manager; X saw {:?}",
        x.requests()
    );
    let mut secrets = aws_secrets();
    secrets.push(("bearer token from Secrets Manager", SM_BEARER.to_owned()));
    assert_no_secret("produce (secret from Secrets Manager)", &out, &secrets);
}

#[test]
fn producer_never_logs_aws_credentials_when_firehose_fails() {
    let (aws, dir) = (fake_aws(), scratch("producer-firehose"));
    let mut cmd = base_command(&binary("sentimap"), &aws.url());
    cmd.arg("produce")
        .env("SENTIMAP_LOG", "info,sentimap=trace")
        .args(["--source", "generate", "--count", "50", "--seed", "8"])
        .args([
            "--sink",
            "firehose",
            "--stream",
            "leak-test",
            "--create-stream",
            "false",
        ])
        .args(["--status", "never", "--backoff-scale", "0.01"])
        .args([
            "--retry-base-ms",
            "5",
            "--retry-max-ms",
            "20",
            "--retry-max-attempts",
            "2",
        ])
        .arg("--dead-letter")
        .arg(dir.join("dead-letter.jsonl"))
        .arg("--summary")
        .arg(dir.join("summary.json"));
    let out = run(cmd, Duration::from_secs(10), &dir);
    assert!(
        aws.saw("Firehose_20150804.PutRecordBatch") && aws.saw(AWS_TOKEN),
        "the producer never sent records with the session token; AWS saw {:?}\n{}",
        aws.requests(),
        out.lines.join("\n")
    );
    assert_no_secret("produce --sink firehose", &out, &aws_secrets());
}

/// A search engine that refuses: `status` for everything, after a valid bulk answer shape for
/// `_bulk` when `status` is 200 (every item rejected, so dead letters and their logs are exercised).
fn fake_search(status: u16) -> FakeUpstream {
    FakeUpstream::start(Box::new(move |req: &Seen| {
        if status != 200 {
            let body = match status {
                401 => r#"{"error":"Unauthorized","status":401}"#,
                403 => r#"{"message":"The security token included in the request is invalid."}"#,
                _ => {
                    r#"{"error":{"type":"es_rejected_execution_exception","reason":"busy"},"status":503}"#
                }
            };
            return (status, "application/json", body.to_owned());
        }
        if req.line.contains("_bulk") {
            let actions = req
                .body
                .lines()
                .filter(|l| l.starts_with(r#"{"index""#) || l.starts_with(r#"{"create""#))
                .count();
            let item = r#"{"index":{"_index":"leak-test","_id":"x","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [location]"}}}"#;
            let items = vec![item; actions].join(",");
            return (
                200,
                "application/json",
                format!(r#"{{"took":1,"errors":true,"items":[{items}]}}"#),
            );
        }
        if req.line.starts_with("GET") || req.line.starts_with("HEAD") {
            return (
                404,
                "application/json",
                r#"{"error":"not found","status":404}"#.to_owned(),
            );
        }
        (
            200,
            "application/json",
            r#"{"acknowledged":true}"#.to_owned(),
        )
    }))
}

fn indexer(search: &FakeUpstream, aws: &FakeUpstream, dir: &Path) -> Command {
    let input = dir.join("posts.ndjson");
    let posts = [
        r#"{"id_str":"1","text":"merry christmas","created_at":"Wed Dec 25 10:00:00 +0000 2024","user":{"id_str":"7","screen_name":"a"},"coordinates":{"type":"Point","coordinates":[-0.12,51.5]},"lang":"en"}"#,
        r#"{"id_str":"2","text":"happy holidays","created_at":"Wed Dec 25 10:01:00 +0000 2024","user":{"id_str":"8","screen_name":"b"},"coordinates":{"type":"Point","coordinates":[2.35,48.85]},"lang":"en"}"#,
        r#"{"not json"#,
    ];
    fs::write(&input, posts.join("\n") + "\n").expect("writing posts");
    let mut cmd = base_command(&binary("sentimap-lambda"), &aws.url());
    cmd.arg("local")
        .arg("--file")
        .arg(&input)
        .args(["--index-url", &search.url(), "--index", "leak-test"])
        .arg("--dead-letter-dir")
        .arg(dir.join("dead-letters"))
        .args([
            "--max-retries",
            "2",
            "--retry-min-delay-ms",
            "5",
            "--retry-max-delay-ms",
            "20",
        ])
        .env("RUST_LOG", "info,sentimap_lambda=trace,sentimap=trace");
    cmd
}

/// `what` (its output `out`) sent its search credential to `search` as the Authorization value
/// `{scheme} {base64(credential)}`, and printed neither the header, the `secret` inside the
/// credential, nor the AWS keys.
fn assert_sent_not_logged(
    what: &str,
    search: &FakeUpstream,
    out: &Output,
    scheme: &str,
    credential: &str,
    secret: (&'static str, &str),
) {
    let encoded = base64(credential.as_bytes());
    assert!(
        search.saw(&format!("{scheme} {encoded}")),
        "{what}: the credential was never sent; the engine saw {:?}\n{}",
        search.requests(),
        out.lines.join("\n")
    );
    let mut secrets = aws_secrets();
    secrets.push((secret.0, secret.1.to_owned()));
    secrets.push(("Authorization header (base64)", encoded));
    assert_no_secret(what, out, &secrets);
}

#[test]
fn indexer_never_logs_a_basic_auth_password() {
    for status in [200, 401, 503] {
        let (search, aws, dir) = (
            fake_search(status),
            fake_aws(),
            scratch(&format!("lambda-basic-{status}")),
        );
        let mut cmd = indexer(&search, &aws, &dir);
        cmd.env("SENTIMAP_AUTH", "basic")
            .env("SENTIMAP_USERNAME", "sentimap-writer")
            .env("SENTIMAP_PASSWORD", OS_PASSWORD);
        let out = run(cmd, Duration::from_secs(20), &dir);
        assert_sent_not_logged(
            &format!("sentimap-lambda local, basic auth, engine {status}"),
            &search,
            &out,
            "Basic",
            &format!("sentimap-writer:{OS_PASSWORD}"),
            ("OpenSearch password", OS_PASSWORD),
        );
    }
}

#[test]
fn indexer_never_logs_an_api_key() {
    let (search, aws, dir) = (fake_search(401), fake_aws(), scratch("lambda-apikey"));
    let mut cmd = indexer(&search, &aws, &dir);
    let key = format!("leakid:{OS_API_KEY}");
    cmd.env("SENTIMAP_AUTH", "api_key")
        .env("SENTIMAP_API_KEY", &key);
    let out = run(cmd, Duration::from_secs(20), &dir);
    assert_sent_not_logged(
        "sentimap-lambda local, API key",
        &search,
        &out,
        "ApiKey",
        &key,
        ("OpenSearch API key", OS_API_KEY),
    );
}

#[test]
fn indexer_never_logs_aws_credentials_when_signing() {
    for status in [200, 403] {
        let (search, aws, dir) = (
            fake_search(status),
            fake_aws(),
            scratch(&format!("lambda-sigv4-{status}")),
        );
        let mut cmd = indexer(&search, &aws, &dir);
        cmd.env("SENTIMAP_AUTH", "sigv4")
            .env("SENTIMAP_SIGV4_SERVICE", "es");
        let out = run(cmd, Duration::from_secs(20), &dir);
        assert!(
            search.saw("AWS4-HMAC-SHA256") && search.saw(AWS_TOKEN),
            "the indexer never signed with the session credentials; it saw {:?}\n{}",
            search.requests(),
            out.lines.join("\n")
        );
        assert_no_secret(
            &format!("sentimap-lambda local, SigV4, engine {status}"),
            &out,
            &aws_secrets(),
        );
    }
}

/// The demo indexing into (and its dashboard reading) a search engine with `auth` flags and env.
fn dashboard(search: &FakeUpstream, aws: &FakeUpstream, dir: &Path, auth: &[&str]) -> Command {
    let firehose = dir.join("data/firehose/2024/12/25/10");
    fs::create_dir_all(&firehose).expect("creating the delivery folder");
    let posts = [
        r#"{"id_str":"1","text":"merry christmas","created_at":"Wed Dec 25 10:00:00 +0000 2024","user":{"id_str":"7","screen_name":"a"},"coordinates":{"type":"Point","coordinates":[-0.12,51.5]},"lang":"en"}"#,
        r#"{"not json"#,
    ];
    fs::write(
        firehose.join("s-1-2024-12-25-10-00-00-a"),
        posts.join("\n") + "\n",
    )
    .expect("writing the object");
    let mut cmd = base_command(&binary("sentimap"), &aws.url());
    cmd.arg("demo")
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--port", "0", "--poll-ms", "100", "--source", "none"])
        .args(["--opensearch", &search.url(), "--index", "leak-test"])
        .args(auth)
        .env("RUST_LOG", "info,sentimap=trace,sentimap_store=trace");
    cmd
}

#[test]
fn dashboard_never_logs_aws_credentials_when_signing() {
    for status in [200, 403] {
        let (search, aws, dir) = (
            fake_search(status),
            fake_aws(),
            scratch(&format!("dashboard-sigv4-{status}")),
        );
        let cmd = dashboard(
            &search,
            &aws,
            &dir,
            &["--opensearch-auth", "sigv4", "--region", "eu-west-1"],
        );
        let out = run(cmd, Duration::from_secs(6), &dir);
        assert!(
            search.saw("AWS4-HMAC-SHA256") && search.saw(AWS_TOKEN),
            "the demo never signed with the session credentials; it saw {:?}\n{}",
            search.requests(),
            out.lines.join("\n")
        );
        assert_no_secret(
            &format!("sentimap demo --opensearch, SigV4, engine {status}"),
            &out,
            &aws_secrets(),
        );
    }
}

#[test]
fn dashboard_never_logs_a_basic_auth_password_or_an_api_key() {
    for status in [200, 401] {
        let (search, aws, dir) = (
            fake_search(status),
            fake_aws(),
            scratch(&format!("dashboard-basic-{status}")),
        );
        let mut cmd = dashboard(
            &search,
            &aws,
            &dir,
            &[
                "--opensearch-auth",
                "basic",
                "--opensearch-user",
                "sentimap-reader",
            ],
        );
        cmd.env("SENTIMAP_PASSWORD", OS_PASSWORD);
        let out = run(cmd, Duration::from_secs(6), &dir);
        assert_sent_not_logged(
            &format!("sentimap demo --opensearch, basic auth, engine {status}"),
            &search,
            &out,
            "Basic",
            &format!("sentimap-reader:{OS_PASSWORD}"),
            ("OpenSearch password", OS_PASSWORD),
        );
    }
    let (search, aws, dir) = (fake_search(401), fake_aws(), scratch("dashboard-apikey"));
    let mut cmd = dashboard(&search, &aws, &dir, &["--opensearch-auth", "api-key"]);
    let key = format!("leakid:{OS_API_KEY}");
    cmd.env("SENTIMAP_API_KEY", &key);
    let out = run(cmd, Duration::from_secs(6), &dir);
    assert_sent_not_logged(
        "sentimap demo --opensearch, API key",
        &search,
        &out,
        "ApiKey",
        &key,
        ("OpenSearch API key", OS_API_KEY),
    );
}
