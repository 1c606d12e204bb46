/**
 * consul-template's template functions, as Vault Agent 1.15.6 runs them (consul-template
 * v0.36.1-0.20240213145952-6c83e89b48af). `createFuncs(ctx)` gives the FuncMap a template is parsed
 * with; the Vault functions read through `ctx.vault` and record what they read in `ctx.used`.
 */
import { GoStruct, type FuncMap } from '../types.js';

/** The raw HTTP answer. */
export interface VaultAnswer { status: number; text: string }

export interface TemplateVault {
  /** A request with the auto-auth token (the renderer routes it through the caches). `path` has no /v1/ prefix. */
  request(method: 'GET' | 'LIST' | 'PUT' | 'POST', path: string, body?: unknown): Promise<VaultAnswer>;
}

/** What a render used, so the renderer knows when to render again. */
export interface TemplateDependency {
  kind: 'secret' | 'secrets' | 'pkiCert' | 'file';
  /** As read (after consul-template's KV v2 /data/ insertion). */
  path: string;
  leaseId?: string;
  leaseDurationSeconds?: number;
  renewable?: boolean;
  kvVersion?: 1 | 2;
  /** pkiCert: the cert's NotAfter (ms). */
  expiresAtMs?: number;
}

export interface RenderContext {
  vault: TemplateVault;
  env(name: string): string | undefined;
  readFile(path: string): Promise<string>;
  /** The template's destination (pkiCert reads the current cert there, as consul-template does). */
  destination?: string;
  /** Functions push what they read. */
  used: TemplateDependency[];
}

/** consul-template's dependency.Secret (the value `secret` returns). */
export class Secret extends GoStruct {
  readonly goTypeName = '*dependency.Secret';
  RequestID = '';
  LeaseID = '';
  LeaseDuration = 0;
  Renewable = false;
  Data: Record<string, unknown> | null = null;
  Warnings: unknown[] | null = null;
  Auth: unknown = null;
  WrapInfo: unknown = null;
}

export function createFuncs(_ctx: RenderContext): FuncMap {
  return {};
}
