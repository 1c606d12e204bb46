// Command sink-reader is test tooling: it reads a Vault Agent file sink the way Agent's own
// consumers do, with Vault's code (helper/dhutil, api.SecretWrapInfo, the api client's unwrap), so
// the tests check vault-extproc's sinks against Vault rather than against our own TypeScript.
// It is never shipped. Build: see README.md.
//
//	sink-reader keygen <dir>      writes <dir>/dh.json (dhutil.PublicKeyInfo) and <dir>/dh.key
//	sink-reader read [flags] <sink-file>
//	    -key <dir>/dh.key  decrypt the dhutil.Envelope with this private key
//	    -aad S             additional authenticated data
//	    -derive            derive_key: dhutil.DeriveSharedKey
//	    -wrapped           the (decrypted) value is api.SecretWrapInfo JSON
//	    -unwrap ADDR       unwrap it at this Vault address (api client, Logical().Unwrap)
//
// `read` prints one JSON object: value (what the sink holds after decryption), reencoded (whether
// Go's encoder gives back exactly the bytes found, for the envelope and the wrap info), the wrap
// info, and the unwrapped token (auth.client_token, or data.token for a wrapped sink).
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/helper/dhutil"
)

type result struct {
	Value             string               `json:"value"`
	EnvelopeReencoded *bool                `json:"envelope_reencoded,omitempty"`
	WrapInfo          *api.SecretWrapInfo  `json:"wrap_info,omitempty"`
	WrapReencoded     *bool                `json:"wrap_reencoded,omitempty"`
	UnwrappedToken    string               `json:"unwrapped_token,omitempty"`
	UnwrappedFrom     string               `json:"unwrapped_from,omitempty"`
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "sink-reader: "+format+"\n", args...)
	os.Exit(1)
}

// encode is jsonutil.EncodeJSON: encoding/json's Encoder, trailing newline included.
func encode(v interface{}) []byte {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		fail("encode: %v", err)
	}
	return buf.Bytes()
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: sink-reader keygen <dir> | read [flags] <sink-file>")
	}
	switch os.Args[1] {
	case "keygen":
		if len(os.Args) != 3 {
			fail("usage: sink-reader keygen <dir>")
		}
		pub, pri, err := dhutil.GeneratePublicPrivateKey()
		if err != nil {
			fail("keygen: %v", err)
		}
		dir := os.Args[2]
		if err := os.WriteFile(filepath.Join(dir, "dh.json"), encode(&dhutil.PublicKeyInfo{Curve25519PublicKey: pub}), 0o644); err != nil {
			fail("%v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "dh.key"), []byte(base64.StdEncoding.EncodeToString(pri)), 0o600); err != nil {
			fail("%v", err)
		}
	case "read":
		fs := flag.NewFlagSet("read", flag.ExitOnError)
		keyFile := fs.String("key", "", "private key file from keygen")
		aad := fs.String("aad", "", "additional authenticated data")
		derive := fs.Bool("derive", false, "derive_key")
		wrapped := fs.Bool("wrapped", false, "the value is wrap info")
		unwrapAt := fs.String("unwrap", "", "Vault address to unwrap at")
		_ = fs.Parse(os.Args[2:])
		if fs.NArg() != 1 {
			fail("read needs one sink file")
		}
		raw, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			fail("%v", err)
		}
		var out result
		value := raw
		if *keyFile != "" {
			value = decrypt(raw, *keyFile, *aad, *derive, &out)
		}
		out.Value = string(value)
		if *wrapped {
			info := new(api.SecretWrapInfo)
			dec := json.NewDecoder(bytes.NewReader(value))
			dec.DisallowUnknownFields()
			if err := dec.Decode(info); err != nil {
				fail("the value is not wrap info: %v", err)
			}
			same := bytes.Equal(encode(info), value)
			out.WrapInfo, out.WrapReencoded = info, &same
			if *unwrapAt != "" {
				unwrap(info.Token, *unwrapAt, &out)
			}
		}
		os.Stdout.Write(encode(out))
	default:
		fail("unknown command %q", os.Args[1])
	}
}

// decrypt is what a consumer of Agent's DH sink does (Vault's own agent end-to-end tests do the same).
func decrypt(raw []byte, keyFile, aad string, derive bool, out *result) []byte {
	keyB64, err := os.ReadFile(keyFile)
	if err != nil {
		fail("%v", err)
	}
	pri, err := base64.StdEncoding.DecodeString(string(keyB64))
	if err != nil {
		fail("key: %v", err)
	}
	pubInfo := new(dhutil.PublicKeyInfo)
	pubJSON, err := os.ReadFile(filepath.Join(filepath.Dir(keyFile), "dh.json"))
	if err != nil {
		fail("%v", err)
	}
	if err := json.Unmarshal(pubJSON, pubInfo); err != nil {
		fail("dh.json: %v", err)
	}
	env := new(dhutil.Envelope)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(env); err != nil {
		fail("the sink is not a dhutil.Envelope: %v", err)
	}
	same := bytes.Equal(encode(env), raw)
	out.EnvelopeReencoded = &same
	shared, err := dhutil.GenerateSharedSecret(pri, env.Curve25519PublicKey)
	if err != nil {
		fail("shared secret: %v", err)
	}
	key := shared
	if derive {
		if key, err = dhutil.DeriveSharedKey(shared, pubInfo.Curve25519PublicKey, env.Curve25519PublicKey); err != nil {
			fail("derive: %v", err)
		}
	}
	plain, err := dhutil.DecryptAES(key, env.EncryptedPayload, env.Nonce, []byte(aad))
	if err != nil {
		fail("decrypt: %v", err)
	}
	return plain
}

func unwrap(wrappingToken, addr string, out *result) {
	conf := api.DefaultConfig()
	conf.Address = addr
	client, err := api.NewClient(conf)
	if err != nil {
		fail("%v", err)
	}
	client.SetToken(wrappingToken)
	secret, err := client.Logical().Unwrap("")
	if err != nil {
		fail("unwrap: %v", err)
	}
	switch {
	case secret == nil:
		fail("unwrap gave nothing")
	case secret.Auth != nil && secret.Auth.ClientToken != "":
		out.UnwrappedToken, out.UnwrappedFrom = secret.Auth.ClientToken, "auth.client_token"
	case secret.Data != nil && secret.Data["token"] != nil:
		out.UnwrappedToken, out.UnwrappedFrom = fmt.Sprint(secret.Data["token"]), "data.token"
	default:
		fail("the unwrapped response holds no token")
	}
}
