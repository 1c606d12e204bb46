# The vault-extproc config of docker-compose.yml. Vault Proxy HCL, plus the extproc block.
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

listener "tcp" {
  address                = "0.0.0.0:8100"
  tls_disable            = true
  require_request_header = true
}

# The ext_proc channel: a unix socket (mode 0600) on the volume docker-compose.yml shares with Envoy,
# which runs as the same user (ENVOY_UID=1000). No port: nothing else can open a stream.
extproc {
  address       = "unix:///run/vault-extproc/extproc.sock"
  admin_address = "0.0.0.0:9002"
}
