// Runs the template-oracle Go tool (main.go here): Go's own text/template, or consul-template's
// template API (the version Vault 1.15.6's Agent is built with), renders a batch of cases in one
// process. Built on first use into .tools/template-oracle/ (dependencies through GOPROXY, pinned by
// go.sum; offline when the module cache holds them).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { buildGoTool } from '../support/go-tool.js';
import { REPO_ROOT } from '../support/paths.js';

const SOURCE = join(REPO_ROOT, 'test', 'template-oracle');

export interface OracleCase {
  /** The template's name (Go mode; consul-template always parses with the name ""). Default "t". */
  name?: string;
  template: string;
  /** JSON data, decoded by the tool with UseNumber (numbers become json.Number, as Vault's client decodes). Go mode: dot; consul mode: the function `oracleData`. */
  data?: unknown;
  /** The data as JSON text, sent as written (keeps number texts such as 1.50); wins over `data`. */
  dataJson?: string;
  leftDelim?: string;
  rightDelim?: string;
  /** Go mode: Option("missingkey=…") when given. Consul mode: "error" is ErrMissingKey, else missingkey=zero. */
  missingKey?: 'default' | 'zero' | 'error';
  /** Consul mode: the environment the `env` function reads first. */
  env?: Record<string, string>;
}

/** What Go gave: the output, or the error's text exactly as Go formats it. */
export type OracleResult = { output: string; error?: undefined } | { error: string; output?: undefined };

export function buildTemplateOracle(): Promise<string> {
  return buildGoTool({ name: 'template-oracle', sourceDir: SOURCE });
}

async function runOracle(mode: 'go' | 'consul', cases: readonly OracleCase[]): Promise<OracleResult[]> {
  if (cases.length === 0) return [];
  const binary = await buildTemplateOracle();
  const input = `[${cases.map((c) => {
    const { dataJson, ...rest } = c;
    const head = JSON.stringify({ mode, ...rest, name: c.name ?? 't' });
    return dataJson === undefined ? head : `${head.slice(0, -1)},"data":${dataJson}}`;
  }).join(',')}]`;
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = execFile(binary, [], { maxBuffer: 256 * 1024 * 1024, timeout: 120_000 }, (err, out, stderr) => {
      if (err) reject(new Error(`template-oracle failed: ${stderr.trim() || err.message}`));
      else resolve(out);
    });
    child.stdin!.end(input);
  });
  const results = JSON.parse(stdout) as OracleResult[];
  if (!Array.isArray(results) || results.length !== cases.length) throw new Error('template-oracle: answer does not match the cases');
  return results;
}

/** Renders each case with Go's text/template (one process for the whole batch). */
export function renderWithGo(cases: readonly OracleCase[]): Promise<OracleResult[]> {
  return runOracle('go', cases);
}

/** Renders each case with consul-template's NewTemplate/Execute (its function library, an empty Brain). */
export function renderWithConsulTemplate(cases: readonly OracleCase[]): Promise<OracleResult[]> {
  return runOracle('consul', cases);
}
