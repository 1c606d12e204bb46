import { createRequire } from 'node:module';
import { AppError } from '../errors.js';

const require = createRequire(import.meta.url);
// HashiCorp's own HCL v1 parser (the one Vault uses), compiled to JS. It also reads the JSON form.
const hcl = require('js-hcl-parser') as { parse(src: string): string };

/**
 * Decodes HCL v1 or JSON config text into HCL v1's generic shape: every block and object
 * value is a list of objects (`vault { }` → `{ vault: [ { ... } ] }`).
 */
export function decodeConfigText(text: string, file: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  const out = hcl.parse(text);
  let decoded: unknown;
  try {
    decoded = JSON.parse(out);
  } catch {
    // The parser returns its error as text, e.g. "unable to parse JSON: At 3:7: object expected closing RBRACE got: EOF".
    const where = /At (\d+):(\d+): (.*)$/s.exec(out);
    const message = where ? `line ${where[1]}, column ${where[2]}: ${where[3]!.trim()}` : out.replace(/^unable to parse JSON: /, '');
    throw new AppError('CONFIG_INVALID', `${file}: ${message}`);
  }
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) {
    throw new AppError('CONFIG_INVALID', `${file}: the config must be an object of blocks`);
  }
  return decoded as Record<string, unknown>;
}
