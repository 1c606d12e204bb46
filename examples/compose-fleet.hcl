# The config of docker-compose.yml's fleet profile: each of the three vault-extproc replicas runs it.
# examples/compose.hcl plus the fleet block (the replicas share an encrypted cache in Redis, issue 16).
vault {
  address = "http://vault:8200"
}

auto_auth {
  method "approle" {
    config = {
      role_id_file_path                   = "/run/secrets/role_id"
      secret_id_file_path                 = "/run/secrets/secret_id"
      remove_secret_id_file_after_reading = false
    }
  }
  sink "file" {
    config = {
      path = "/tmp/vault-token"
      mode = 0600
    }
  }
}

api_proxy {
  use_auto_auth_token = true
}

cache {
  cache_static_secrets            = true
  disable_caching_dynamic_secrets = true
}

# Envoy's listener (the envoy-fleet service); the replicas themselves do not bind it.
listener "tcp" {
  address                = "0.0.0.0:8100"
  tls_disable            = true
  require_request_header = true
}

# Each replica's ext_proc socket is on its own volume, which Envoy mounts at
# /run/vault-extproc-1 … -3 (envoy/envoy-fleet.yaml: envoy-config --extproc-address ×3).
extproc {
  address       = "unix:///run/vault-extproc/extproc.sock"
  admin_address = "0.0.0.0:9002"
}

# Redis on the compose network (no password, no TLS: nothing outside the network reaches it);
# the key is 32 random bytes the fleet-key service writes once.
fleet {
  redis_url           = "redis://redis:6379/0"
  encryption_key_file = "/run/fleet/fleet.key"
}
