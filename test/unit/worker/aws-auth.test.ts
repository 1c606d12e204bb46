// The aws method's pieces that need no Vault: its config keys as `check` reads them, the STS URL a
// request is signed for, the shared credentials file's INI, and the credential poll's digest.
import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../src/config/load.js';
import type { AwsMethod } from '../../../src/config/types.js';
import { parseIni } from '../../../src/worker/auth/aws-credentials.js';
import { AwsAuth, stsEndpointFor } from '../../../src/worker/auth/aws.js';

function load(config: string): { method: AwsMethod | undefined; problems: string[] } {
  const hcl = `vault { address = "http://127.0.0.1:8200" }
auto_auth {
  method "aws" {
    mount_path = "auth/aws-prod"
    config = {
${config}
    }
  }
}
`;
  const loaded = parseConfig(hcl, 'test.hcl', {});
  const method = loaded.config.autoAuth?.method;
  return {
    method: method?.type === 'aws' ? method : undefined,
    problems: loaded.problems.filter((p) => p.location.includes('method')).map((p) => `${p.severity}: ${p.location.replace(/^auto_auth > method "aws" > config > /, '')}: ${p.message}`),
  };
}

describe('aws auto-auth method: config, STS endpoint, credential file, credential poll', () => {
  it("reads Agent's keys with Agent's defaults (region us-east-1, credential_poll_interval 60)", () => {
    const { method, problems } = load('type = "iam"\nrole = "app"');
    expect(problems).to.deep.equal([]);
    expect(method).to.deep.include({ authType: 'iam', role: 'app', region: 'us-east-1', credentialPollIntervalSeconds: 60, mountPath: 'auth/aws-prod' });
    const full = load(`type = "iam"
role = "app"
access_key = "AKIAEXAMPLE"
secret_key = "secret"
session_token = "session"
header_value = "vault.example.com"
region = "eu-west-1"
credential_poll_interval = 15`);
    expect(full.problems).to.deep.equal([]);
    expect(full.method).to.deep.include({
      accessKey: 'AKIAEXAMPLE', secretKey: 'secret', sessionToken: 'session', headerValue: 'vault.example.com', region: 'eu-west-1', credentialPollIntervalSeconds: 15,
    });
    const ec2 = load('type = "ec2"\nrole = "web"\nnonce = "5defbf9e-a8f9-3063-bdfc-54b7a42a1f95"');
    expect(ec2.problems).to.deep.equal([]);
    expect(ec2.method).to.deep.include({ authType: 'ec2', role: 'web', nonce: '5defbf9e-a8f9-3063-bdfc-54b7a42a1f95' });
  });

  it('reports a missing or unknown type, a missing role, half a key pair, a bad poll interval', () => {
    expect(load('role = "app"').problems).to.deep.equal(['error: type: is required: "iam" or "ec2"']);
    expect(load('type = "ecs"\nrole = "app"').problems).to.deep.equal(['error: type: must be "iam" or "ec2", got "ecs"']);
    expect(load('type = "iam"').problems).to.deep.equal(['error: role: is required']);
    expect(load('type = "iam"\nrole = "a"\naccess_key = "AKIA"').problems).to.deep.equal([
      'error: secret_key: access_key and secret_key go together: give both, or neither to use the environment, the shared credentials file or the instance role',
    ]);
    expect(load('type = "iam"\nrole = "a"\ncredential_poll_interval = 0').problems).to.deep.equal(['error: credential_poll_interval: must be a positive number of seconds, got 0']);
    expect(load('type = "ec2"\nrole = "a"\naccess_key = "A"\nsecret_key = "B"').problems).to.deep.equal([
      'warning: access_key: is used by type = "iam" only; it is ignored for type = "ec2"',
      'warning: secret_key: is used by type = "iam" only; it is ignored for type = "ec2"',
    ]);
  });

  it('signs for the STS endpoint aws-sdk-go v1 uses: global for legacy regions, regional otherwise, or AWS_ENDPOINT_URL_STS', () => {
    expect(stsEndpointFor('us-east-1', {}).toString()).to.equal('https://sts.amazonaws.com/');
    expect(stsEndpointFor('eu-west-1', {}).toString()).to.equal('https://sts.amazonaws.com/');
    expect(stsEndpointFor('eu-west-1', { AWS_STS_REGIONAL_ENDPOINTS: 'regional' }).toString()).to.equal('https://sts.eu-west-1.amazonaws.com/');
    expect(stsEndpointFor('af-south-1', {}).toString()).to.equal('https://sts.af-south-1.amazonaws.com/');
    expect(stsEndpointFor('cn-north-1', {}).toString()).to.equal('https://sts.cn-north-1.amazonaws.com.cn/');
    expect(stsEndpointFor('us-east-1', { AWS_ENDPOINT_URL: 'https://proxy.internal:8443' }).toString()).to.equal('https://proxy.internal:8443/');
    expect(stsEndpointFor('us-east-1', { AWS_ENDPOINT_URL: 'https://a', AWS_ENDPOINT_URL_STS: 'https://sts-vpce.internal' }).toString()).to.equal('https://sts-vpce.internal/');
  });

  it('reads the shared credentials file as the SDK does: sections, comments, spaces around =', () => {
    expect(parseIni('# c\n[default]\naws_access_key_id=A\n; c\n[ prod ]\nAWS_SECRET_ACCESS_KEY = s = x \n')).to.deep.equal({
      default: { aws_access_key_id: 'A' },
      prod: { aws_secret_access_key: 's = x' },
    });
  });

  it('credential poll: the digest changes when the chain gives new keys, stays when it gives none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vxp-aws-unit-'));
    const file = join(dir, 'credentials');
    const base: AwsMethod = {
      type: 'aws', mountPath: 'auth/aws', minBackoffSeconds: 1, maxBackoffSeconds: 300, exitOnError: false,
      authType: 'iam', role: 'app', region: 'us-east-1', credentialPollIntervalSeconds: 30,
    };
    // The metadata service is a closed loopback port: the chain never asks the link-local address.
    const env = { AWS_SHARED_CREDENTIALS_FILE: file, AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9' };
    const auth = new AwsAuth(base, { env });
    expect(auth.credentialPollMs).to.equal(30_000);
    expect(auth.credentialFiles()).to.deep.equal([file]);
    writeFileSync(file, '[default]\naws_access_key_id = AKIA1\naws_secret_access_key = one\n');
    const first = await auth.credentialFingerprint();
    expect(first).to.match(/^[0-9a-f]{64}$/);
    expect(await auth.credentialFingerprint()).to.equal(first);
    writeFileSync(file, '[default]\naws_access_key_id = AKIA1\naws_secret_access_key = two\n');
    const second = await auth.credentialFingerprint();
    expect(second).to.match(/^[0-9a-f]{64}$/);
    expect(second).not.to.equal(first);
    writeFileSync(file, '');
    expect(await auth.credentialFingerprint()).to.equal(undefined);
    expect(await new AwsAuth({ ...base, authType: 'ec2' }, { env }).credentialFingerprint()).to.equal(undefined);
    expect(new AwsAuth({ ...base, accessKey: 'A', secretKey: 'B' }, { env }).credentialFiles()).to.deep.equal([]);
  });
});
