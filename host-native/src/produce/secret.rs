//! Secrets: never printed, never logged. A config value is either the secret itself or a reference
//! to where it lives: `env:NAME`, `ssm:/parameter/name`, `secretsmanager:id` or
//! `secretsmanager:id#json_key`.

use std::fmt;

use anyhow::{anyhow, Context};
use serde::Deserialize;

/// A secret value. `Debug` and `Display` print `***`, so it cannot leak through logs by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a secret comes from, as written in the config, a flag or an environment variable.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub enum SecretRef {
    /// The value itself.
    Literal(Secret),
    /// An environment variable.
    Env(String),
    /// An SSM Parameter Store parameter (decrypted).
    Ssm(String),
    /// A Secrets Manager secret, optionally one key of its JSON value.
    SecretsManager {
        /// Name or ARN.
        id: String,
        /// Key inside a JSON secret.
        key: Option<String>,
    },
}

impl From<String> for SecretRef {
    fn from(s: String) -> Self {
        if let Some(name) = s.strip_prefix("env:") {
            SecretRef::Env(name.to_owned())
        } else if let Some(name) = s.strip_prefix("ssm:") {
            SecretRef::Ssm(name.to_owned())
        } else if let Some(rest) = s.strip_prefix("secretsmanager:") {
            let (id, key) = match rest.split_once('#') {
                Some((id, key)) => (id.to_owned(), Some(key.to_owned())),
                None => (rest.to_owned(), None),
            };
            SecretRef::SecretsManager { id, key }
        } else {
            SecretRef::Literal(Secret(s))
        }
    }
}

impl std::str::FromStr for SecretRef {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(SecretRef::from(s.to_owned()))
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Literal(_) => f.write_str("literal(***)"),
            SecretRef::Env(n) => write!(f, "env:{n}"),
            SecretRef::Ssm(n) => write!(f, "ssm:{n}"),
            SecretRef::SecretsManager { id, key } => match key {
                Some(k) => write!(f, "secretsmanager:{id}#{k}"),
                None => write!(f, "secretsmanager:{id}"),
            },
        }
    }
}

impl SecretRef {
    /// Fetches the value. AWS clients are built only when a reference needs them.
    pub async fn resolve(&self, aws: &aws_config::SdkConfig) -> anyhow::Result<Secret> {
        match self {
            SecretRef::Literal(s) => Ok(s.clone()),
            SecretRef::Env(name) => std::env::var(name)
                .map(Secret)
                .map_err(|_| anyhow!("environment variable {name} is not set")),
            SecretRef::Ssm(name) => {
                let out = aws_sdk_ssm::Client::new(aws)
                    .get_parameter()
                    .name(name)
                    .with_decryption(true)
                    .send()
                    .await
                    .with_context(|| format!("reading SSM parameter {name}"))?;
                out.parameter
                    .and_then(|p| p.value)
                    .map(Secret)
                    .ok_or_else(|| anyhow!("SSM parameter {name} has no value"))
            }
            SecretRef::SecretsManager { id, key } => {
                let out = aws_sdk_secretsmanager::Client::new(aws)
                    .get_secret_value()
                    .secret_id(id)
                    .send()
                    .await
                    .with_context(|| format!("reading secret {id}"))?;
                let value = out
                    .secret_string
                    .ok_or_else(|| anyhow!("secret {id} has no string value"))?;
                match key {
                    None => Ok(Secret(value)),
                    Some(k) => {
                        let json: serde_json::Value = serde_json::from_str(&value)
                            .map_err(|_| anyhow!("secret {id} is not a JSON object"))?;
                        json.get(k)
                            .and_then(serde_json::Value::as_str)
                            .map(|v| Secret(v.to_owned()))
                            .ok_or_else(|| anyhow!("secret {id} has no string key {k:?}"))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = SecretRef::from("hunter2".to_owned());
        assert_eq!(format!("{s:?}"), "literal(***)");
        let SecretRef::Literal(v) = s else {
            panic!("a plain value is a literal")
        };
        assert_eq!(format!("{v} {v:?}"), "*** Secret(***)");
        assert_eq!(v.expose(), "hunter2");
        assert_eq!(
            SecretRef::from("secretsmanager:x/keys#bearer".to_owned()),
            SecretRef::SecretsManager {
                id: "x/keys".into(),
                key: Some("bearer".into())
            }
        );
    }
}
