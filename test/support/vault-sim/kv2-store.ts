// KV version 2 storage model: per-key metadata with numbered versions.
import { stampAt, type Stamp } from './time.js';

export interface VersionState {
  readonly created: Stamp;
  deletion: Stamp | null;
  destroyed: boolean;
  /** null once destroyed. */
  data: Record<string, unknown> | null;
}

export interface KeyState {
  readonly versions: Map<number, VersionState>;
  currentVersion: number;
  oldestVersion: number;
  readonly created: Stamp;
  updated: Stamp;
  maxVersions: number;
  casRequired: boolean;
  deleteVersionAfterSeconds: number;
  customMetadata: Record<string, string> | null;
}

export interface EngineConfig {
  maxVersions: number;
  casRequired: boolean;
  deleteVersionAfterSeconds: number;
}

const DEFAULT_MAX_VERSIONS = 10;

export class Kv2Store {
  readonly keys = new Map<string, KeyState>();
  readonly config: EngineConfig = { maxVersions: 0, casRequired: false, deleteVersionAfterSeconds: 0 };

  constructor(private readonly now: () => number) {}

  /** Metadata for a key, created empty when `create` is set. */
  meta(key: string, create = false): KeyState | undefined {
    const existing = this.keys.get(key);
    if (existing || !create) return existing;
    const stamp = stampAt(this.now());
    const fresh: KeyState = {
      versions: new Map(),
      currentVersion: 0,
      oldestVersion: 0,
      created: stamp,
      updated: stamp,
      maxVersions: 0,
      casRequired: false,
      deleteVersionAfterSeconds: 0,
      customMetadata: null,
    };
    this.keys.set(key, fresh);
    return fresh;
  }

  /** When a version written or undeleted now should be deleted by delete_version_after, if ever. */
  private autoDeletion(meta: KeyState, fromMs: number): Stamp | null {
    const candidates = [this.config.deleteVersionAfterSeconds, meta.deleteVersionAfterSeconds].filter((s) => s > 0);
    if (candidates.length === 0) return null;
    return stampAt(fromMs + Math.min(...candidates) * 1000);
  }

  /** Adds a new version, trimming the oldest ones beyond max_versions. */
  addVersion(meta: KeyState, data: Record<string, unknown>): VersionState {
    const nowMs = this.now();
    const created = stampAt(nowMs);
    const version: VersionState = { created, deletion: this.autoDeletion(meta, nowMs), destroyed: false, data };
    meta.currentVersion += 1;
    meta.versions.set(meta.currentVersion, version);
    meta.updated = created;
    const max = meta.maxVersions || this.config.maxVersions || DEFAULT_MAX_VERSIONS;
    if (meta.currentVersion - meta.oldestVersion >= max) {
      const toDelete = meta.currentVersion - max;
      for (let v = meta.oldestVersion; v <= toDelete; v++) meta.versions.delete(v);
      meta.oldestVersion = toDelete + 1;
    }
    return version;
  }

  isDeleted(version: VersionState): boolean {
    return version.deletion !== null && version.deletion.ms <= this.now();
  }

  softDelete(version: VersionState | undefined): void {
    if (!version || version.destroyed || this.isDeleted(version)) return;
    version.deletion = stampAt(this.now());
  }

  undelete(meta: KeyState, version: VersionState | undefined): void {
    if (!version || version.destroyed) return;
    version.deletion = this.autoDeletion(meta, this.now());
  }

  destroy(version: VersionState | undefined): void {
    if (!version || version.destroyed) return;
    version.destroyed = true;
    version.data = null;
  }
}

/** Version metadata as data reads and writes return it. */
export function versionMetadata(meta: KeyState, versionNumber: number, version: VersionState): Record<string, unknown> {
  return {
    created_time: version.created.text,
    custom_metadata: meta.customMetadata,
    deletion_time: version.deletion?.text ?? '',
    destroyed: version.destroyed,
    version: versionNumber,
  };
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const base: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete base[k];
    else base[k] = mergePatch(base[k], v);
  }
  return base;
}
