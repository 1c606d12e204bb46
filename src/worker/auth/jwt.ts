import { lstat, readFile, realpath, stat, unlink } from 'node:fs/promises';
import { AppError, errorMessage } from '../../errors.js';
import type { JwtMethod } from '../../config/types.js';
import type { VaultClient } from '../../vault/client.js';
import type { AuthMethod, LoginResult } from './method.js';

/**
 * JWT auto-auth as Vault Agent 1.15 does it. Each login first looks at the file: a regular file,
 * or a symlink whose target exists, is read as-is (Vault strips whitespace from a JWT itself) and
 * becomes the JWT in use unless it is empty; with remove_jwt_after_reading it is then removed
 * (the symlink, or its target with remove_jwt_follows_symlinks). A missing, empty or unreadable
 * file leaves the last JWT read in use, so a removed file does not stop re-login; only without
 * any JWT read yet does a login fail before calling Vault.
 */
export class JwtAuth implements AuthMethod {
  readonly name = 'jwt';
  private latest = '';
  /** Why the last look at the file found no JWT (reported only while none was ever read). */
  private lastProblem: string | undefined;

  constructor(private readonly config: JwtMethod) {}

  async login(vault: VaultClient): Promise<LoginResult> {
    await this.ingest();
    if (this.latest === '') {
      throw new AppError('AUTH_FAILED', `no JWT read yet from ${this.config.path}: ${this.lastProblem ?? 'missing or empty'}`);
    }
    const reply = await vault.request({
      method: 'POST', path: `${this.config.mountPath}/login`, body: { role: this.config.role, jwt: this.latest }, retry: false,
    });
    const auth = reply.body?.auth;
    if (!auth?.client_token) throw new AppError('AUTH_FAILED', `${this.config.mountPath}/login answered without a token`);
    return { token: auth.client_token, leaseDurationSeconds: auth.lease_duration, renewable: auth.renewable };
  }

  credentialFiles(): string[] {
    return [this.config.path];
  }

  /** Reads a new JWT from the file if there is one (Agent's ingressToken). */
  private async ingest(): Promise<void> {
    const path = this.config.path;
    this.lastProblem = undefined;
    let target = path;
    try {
      const info = await lstat(path);
      if (info.isSymbolicLink()) {
        target = await realpath(path);
        await stat(target);
      } else if (!info.isFile()) {
        this.lastProblem = 'not a regular file or symlink';
        return;
      }
    } catch (err) {
      this.lastProblem = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : errorMessage(err);
      return;
    }
    let content: string;
    try {
      content = await readFile(path, 'utf8');
    } catch (err) {
      this.lastProblem = `cannot read it: ${errorMessage(err)}`;
      return;
    }
    if (content === '') this.lastProblem = 'the file is empty';
    else this.latest = content;
    if (this.config.removeJwtAfterReading) {
      await unlink(this.config.removeJwtFollowsSymlinks ? target : path).catch(() => undefined);
    }
  }
}
