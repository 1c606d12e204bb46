import { readFileSync } from 'node:fs';
import { AppError, errorMessage } from '../errors.js';
import { buildConfig } from './build.js';
import { applyVaultEnv } from './env.js';
import { decodeConfigText } from './hcl.js';
import { Problems, type Problem } from './problems.js';
import { BlockReader } from './reader.js';
import type { Config } from './types.js';

export interface LoadedConfig {
  config: Config;
  problems: Problem[];
  errors: Problem[];
  warnings: Problem[];
  /** Errors plus the warnings that `serve` refuses to run with. */
  serveBlockers: Problem[];
}

/** Parses config text (HCL v1 or JSON) and applies Vault's env overrides. Never throws for content problems. */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const problems = new Problems();
  let raw: Record<string, unknown>;
  try {
    raw = decodeConfigText(text, file);
  } catch (err) {
    problems.error('', errorMessage(err).replace(`${file}: `, ''));
    raw = {};
  }
  const config = buildConfig(new BlockReader(raw, '', problems));
  applyVaultEnv(config, env, problems);
  return { config, problems: problems.list, errors: problems.errors, warnings: problems.warnings, serveBlockers: problems.serveBlockers };
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AppError('CONFIG_UNREADABLE', `cannot read config file ${file}: ${errorMessage(err)}`, { cause: err });
  }
  return parseConfig(text, file, env);
}
