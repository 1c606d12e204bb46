export type Severity = 'error' | 'warning';

export interface Problem {
  severity: Severity;
  /** Where in the config: e.g. `auto_auth > method "approle" > config > role_id_file_path`. */
  location: string;
  message: string;
  /** A warning `check` accepts but `serve` refuses to run with (e.g. an auth method not implemented yet). */
  blocksServe?: boolean;
  /** Where in the file (HCL form; the JSON form has no positions). */
  position?: { line: number; column: number };
}

/** Collects every problem of a config at once, so `check` can list them all. */
export class Problems {
  readonly list: Problem[] = [];
  error(location: string, message: string, position?: Problem['position']): void {
    this.list.push({ severity: 'error', location, message, ...(position ? { position } : {}) });
  }
  warn(location: string, message: string, position?: Problem['position']): void {
    this.list.push({ severity: 'warning', location, message, ...(position ? { position } : {}) });
  }
  /** Valid for `check`, refused by `serve`. */
  blockServe(location: string, message: string, position?: Problem['position']): void {
    this.list.push({ severity: 'warning', location, message, blocksServe: true, ...(position ? { position } : {}) });
  }
  get errors(): Problem[] {
    return this.list.filter((p) => p.severity === 'error');
  }
  get serveBlockers(): Problem[] {
    return this.list.filter((p) => p.severity === 'error' || p.blocksServe === true);
  }
  get warnings(): Problem[] {
    return this.list.filter((p) => p.severity === 'warning');
  }
}

export function formatProblem(file: string, p: Problem): string {
  const at = p.position ? ` (line ${p.position.line}, column ${p.position.column})` : '';
  return `${p.severity}: ${file}: ${p.location ? `${p.location}: ` : ''}${p.message}${at}`;
}
