import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, parseConfig } from '../../../src/config/load.js';
import { decodeConfigText } from '../../../src/config/hcl.js';

function problems(text: string): string[] {
  return parseConfig(text, 't.hcl', {}).problems.map((p) => `${p.severity}: ${p.location}: ${p.message}${p.position ? ` @${p.position.line}:${p.position.column}` : ''}`);
}

describe('config: the HCL v1 parser', () => {
  it('reads `listener "tcp" {}` next to `listener { type = "tcp" }` in one file (Vault\'s config-cache shape), both listeners in file order', () => {
    const loaded = parseConfig(`
listener "tcp" {
  address = "127.0.0.1:8300"
  tls_disable = true
}
listener {
  type = "tcp"
  address = "127.0.0.1:3000"
  tls_disable = true
}
`, 't.hcl', {});
    expect(loaded.errors).to.deep.equal([]);
    expect(loaded.config.listeners.map((l) => l.address)).to.deep.equal(['127.0.0.1:8300', '127.0.0.1:3000']);
  });

  it('mixes labelled and unlabelled sink blocks the same way', () => {
    const raw = decodeConfigText('auto_auth {\n sink "file" { config = { path = "/a" } }\n sink { type = "file"\n config = { path = "/b" } }\n}\n', 't.hcl');
    expect(JSON.parse(JSON.stringify(raw))).to.deep.equal({
      auto_auth: [{ sink: [{ file: [{ config: [{ path: '/a' }] }] }, { type: 'file', config: [{ path: '/b' }] }] }],
    });
  });

  it('decodes values as HCL v1 does: octal file modes, hex, floats, heredocs (plain and indented), escapes, ${} kept, three kinds of comments, commas between items, the last of a repeated attribute', () => {
    const text = [
      '# hash', '// slashes', '/* block', '   comment */',
      'mode = 0644', 'hex = 0x1F', 'neg = -3', 'f = 1.5e1',
      's = "a\\"b\\n${env.X["y"]}"',
      'h = <<EOF', 'one', '  two', 'EOF',
      'i = <<-EOT', '    x', '      y', '    EOT',
      'o = { a = 1, b = "2" }',
      'l = [1, "x", { c = true },]',
      'r = 1', 'r = 2', '',
    ].join('\n');
    expect(JSON.parse(JSON.stringify(decodeConfigText(text, 't.hcl')))).to.deep.equal({
      mode: 420, hex: 31, neg: -3, f: 15, s: 'a"b\n${env.X["y"]}', h: 'one\n  two\n', i: 'x\n  y\n',
      o: [{ a: 1, b: '2' }], l: [1, 'x', { c: true }], r: 2,
    });
  });

  for (const [text, where, detail] of [
    ['vault {\n  address = "http://x:1"\n', 'line 3, column 1', 'object expected closing RBRACE got: EOF'],
    ['vault {\n  address = http\n}', 'line 2, column 13', 'Unknown token: http'],
    ['listener "tcp" = {}', 'line 1, column 16', 'nested object expected: LBRACE got: ASSIGN'],
    ['a = [1, 2\n', 'line 1, column 5', 'list not terminated'],
    ['x = "open\n', 'line 1, column 5', 'literal not terminated'],
    ['x = 1\ny = 09\n', 'line 2, column 5', 'invalid octal number 09'],
    ['x = 1\n  @\n', 'line 2, column 3', 'illegal character "@"'],
    ['h = <<EOF\nnever ends\n', 'line 1, column 5', 'heredoc not terminated'],
    ['{\n  "vault": { "address": }\n}', 'line 2, column 25', 'Unexpected token'],
  ] as const) {
    it(`a syntax error names its line and column: ${JSON.stringify(text.split('\n')[0])} → ${where}`, () => {
      const found = problems(text);
      expect(found).to.have.length(1);
      expect(found[0]).to.match(new RegExp(`^error: : ${where}: `));
      expect(found[0]).to.include(detail);
    });
  }

  it('every problem of an HCL file carries where it was written', () => {
    expect(problems([
      'vault {',
      '  address = "http://127.0.0.1:8200"',
      '  retry {',
      '    num_retries = "many"',
      '  }',
      '  nmae = 1',
      '}',
      'auto_auth {',
      '  method "approle" {',
      '    config = {',
      '      role_id_file_path = "/r"',
      '      secret_id_file_path = "/s"',
      '    }',
      '  }',
      '}',
    ].join('\n')).filter((p) => / vault > /.test(p))).to.deep.equal([
      'error: vault > retry > num_retries: must be a whole number, got "many" @4:5',
      'warning: vault > nmae: unknown key; it is ignored @6:3',
    ]);
  });

  it('problems found after reading (the files a config names) carry their line and column too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vxp-pos-'));
    const file = join(dir, 'p.hcl');
    writeFileSync(file, [
      'auto_auth {',
      '  method "approle" {',
      '    config = {',
      `      role_id_file_path = "${dir}/role"`,
      `      secret_id_file_path = "${dir}/secret"`,
      '      remove_secret_id_file_after_reading = false',
      '    }',
      '  }',
      '  sink "file" {',
      `    config = { path = "${dir}/t" }`,
      '  }',
      '  sink {',
      '    type = "file"',
      `    config = { path = "${dir}/no-dir/t" }`,
      '  }',
      '}',
      `pid_file = "${dir}/no-dir/pid"`,
    ].join('\n'));
    const at = Object.fromEntries(loadConfigFile(file).errors.map((p) => [p.location, p.position]));
    expect(at).to.deep.equal({
      'auto_auth > method "approle" > config > role_id_file_path': { line: 4, column: 7 },
      'auto_auth > method "approle" > config > secret_id_file_path': { line: 5, column: 7 },
      'auto_auth > sink "file" #2 > config > path': { line: 14, column: 16 },
      pid_file: { line: 17, column: 1 },
    });
  });
});
