export type Severity = 'error' | 'warning';

export interface Problem {
  severity: Severity;
  /** Where in the config: e.g. `auto_auth > method "approle" > config > role_id_file_path`. */
  location: string;
  message: string;
  /** A warning `check` accepts but `serve` refuses to run with (e.g. an auth method not implemented yet). */
  blocksServe?: boolean;
}

/** Collects every problem of a config at once, so `check` can list them all. */
export class Problems {
  readonly list: Problem[] = [];
  error(location: string, message: string): void {
    this.list.push({ severity: 'error', location, message });
  }
  warn(location: string, message: string): void {
    this.list.push({ severity: 'warning', location, message });
  }
  /** Valid for `check`, refused by `serve`. */
  blockServe(location: string, message: string): void {
    this.list.push({ severity: 'warning', location, message, blocksServe: true });
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
  return `${p.severity}: ${file}: ${p.location ? `${p.location}: ` : ''}${p.message}`;
}
