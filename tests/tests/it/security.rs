//! Deployment security (issue 8).
//!
//! 1. Every YAML and JSON file in the repository is parsed (CloudFormation short-form tags such as
//!    `!Ref`, `!Sub`, `!GetAtt`, `!If` included) and every IAM-style policy in it is checked: no `Allow`
//!    to a wildcard principal, no `Allow` of every action, no `Allow` with `NotPrincipal`/`NotAction`,
//!    no open-access search domain (wildcard principal, any-IP condition, anonymous auth) and no search
//!    domain without HTTPS enforcement or encryption. `Deny` statements may name `"*"`: they only take
//!    rights away (the TLS-only bucket policy needs exactly that).
//! 2. The producer and the indexer run with known secret values; no line they log may contain one.

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

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
