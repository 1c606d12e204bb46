// Test-only tool (see main.go): Go's text/template and consul-template (the version Vault 1.15.6 is
// built with) as the oracle for src/template/. Dependencies resolve through GOPROXY; go.sum is kept.
module vault-extproc/test/template-oracle

go 1.21

require (
	github.com/BurntSushi/toml v1.3.2
	github.com/Masterminds/goutils v1.1.1
	github.com/Masterminds/semver/v3 v3.2.1
	github.com/Masterminds/sprig/v3 v3.2.3
	github.com/armon/go-metrics v0.4.1
	github.com/cenkalti/backoff/v3 v3.2.2
	github.com/davecgh/go-spew v1.1.2-0.20180830191138-d8f796af33cc
	github.com/fatih/color v1.16.0
	github.com/go-jose/go-jose/v3 v3.0.1
	github.com/google/uuid v1.6.0
	github.com/gorilla/websocket v1.5.1
	github.com/hashicorp/consul-template v0.36.1-0.20240213145952-6c83e89b48af
	github.com/hashicorp/consul/api v1.27.0
	github.com/hashicorp/cronexpr v1.1.2
	github.com/hashicorp/errwrap v1.1.0
	github.com/hashicorp/go-cleanhttp v0.5.2
	github.com/hashicorp/go-hclog v1.5.0
	github.com/hashicorp/go-immutable-radix v1.3.1
	github.com/hashicorp/go-multierror v1.1.1
	github.com/hashicorp/go-retryablehttp v0.7.4
	github.com/hashicorp/go-rootcerts v1.0.2
	github.com/hashicorp/go-secure-stdlib/parseutil v0.1.7
	github.com/hashicorp/go-secure-stdlib/strutil v0.1.2
	github.com/hashicorp/go-sockaddr v1.0.4
	github.com/hashicorp/golang-lru v0.5.4
	github.com/hashicorp/hcl v1.0.1-vault-5
	github.com/hashicorp/nomad/api v0.0.0-20240213164230-c364cb57298d
	github.com/hashicorp/serf v0.10.1
	github.com/hashicorp/vault/api v1.12.0
	github.com/hashicorp/vault/api/auth/kubernetes v0.6.0
	github.com/huandu/xstrings v1.4.0
	github.com/imdario/mergo v0.3.16
	github.com/mattn/go-colorable v0.1.13
	github.com/mattn/go-isatty v0.0.20
	github.com/mitchellh/copystructure v1.2.0
	github.com/mitchellh/go-homedir v1.1.0
	github.com/mitchellh/mapstructure v1.5.0
	github.com/mitchellh/reflectwalk v1.0.2
	github.com/pkg/errors v0.9.1
	github.com/ryanuber/go-glob v1.0.0
	github.com/shopspring/decimal v1.3.1
	github.com/spf13/cast v1.6.0
	golang.org/x/crypto v0.19.0
	golang.org/x/exp v0.0.0-20240213143201-ec583247a57a
	golang.org/x/net v0.21.0
	golang.org/x/sys v0.17.0
	golang.org/x/text v0.14.0
	golang.org/x/time v0.5.0
	gopkg.in/yaml.v2 v2.4.0
)
