//! How the services reach Kafka: in clear on a trusted network (the default, and the local
//! stack's main listener), or over TLS, with SASL when the cluster asks for it.

/// librdkafka's security settings, flattened into [`crate::EventLogSettings`].
#[derive(Clone, clap::Args)]
pub struct KafkaSecurity {
    /// `plaintext`, `ssl`, `sasl_plaintext` or `sasl_ssl` (librdkafka's security.protocol).
    #[arg(long, env = "KAFKA_SECURITY_PROTOCOL", default_value = "plaintext",
          value_parser = ["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"])]
    pub kafka_security_protocol: String,
    /// PEM file of the CA that signed the brokers' certificates [default: the system's].
    #[arg(long, env = "KAFKA_SSL_CA_LOCATION")]
    pub kafka_ssl_ca_location: Option<String>,
    /// SASL mechanism, e.g. `SCRAM-SHA-512` or `PLAIN`.
    #[arg(long, env = "KAFKA_SASL_MECHANISM")]
    pub kafka_sasl_mechanism: Option<String>,
    #[arg(long, env = "KAFKA_SASL_USERNAME")]
    pub kafka_sasl_username: Option<String>,
    /// Never shown.
    #[arg(long, env = "KAFKA_SASL_PASSWORD", hide_env_values = true)]
    pub kafka_sasl_password: Option<String>,
}

impl KafkaSecurity {
    /// The librdkafka properties these settings make.
    pub fn properties(&self) -> Vec<(String, String)> {
        let mut out = vec![(
            "security.protocol".to_string(),
            self.kafka_security_protocol.clone(),
        )];
        let optional = [
            ("ssl.ca.location", &self.kafka_ssl_ca_location),
            ("sasl.mechanism", &self.kafka_sasl_mechanism),
            ("sasl.username", &self.kafka_sasl_username),
            ("sasl.password", &self.kafka_sasl_password),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                out.push((key.to_string(), value.clone()));
            }
        }
        out
    }
}

impl Default for KafkaSecurity {
    fn default() -> Self {
        KafkaSecurity {
            kafka_security_protocol: "plaintext".into(),
            kafka_ssl_ca_location: None,
            kafka_sasl_mechanism: None,
            kafka_sasl_username: None,
            kafka_sasl_password: None,
        }
    }
}

impl std::fmt::Debug for KafkaSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSecurity")
            .field("protocol", &self.kafka_security_protocol)
            .field("ssl_ca_location", &self.kafka_ssl_ca_location)
            .field("sasl_mechanism", &self.kafka_sasl_mechanism)
            .field("sasl_username", &self.kafka_sasl_username)
            .field(
                "sasl_password",
                &self.kafka_sasl_password.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_never_shown() {
        let security = KafkaSecurity {
            kafka_security_protocol: "sasl_ssl".into(),
            kafka_sasl_password: Some("s3cret".into()),
            ..KafkaSecurity::default()
        };
        assert!(!format!("{security:?}").contains("s3cret"));
        assert!(security
            .properties()
            .contains(&("sasl.password".into(), "s3cret".into())));
    }
}
