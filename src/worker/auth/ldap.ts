import { lstat, readFile, realpath, stat, unlink } from 'node:fs/promises';
import { AppError, errorMessage } from '../../errors.js';
import type { LdapMethod } from '../../config/types.js';
import type { VaultClient } from '../../vault/client.js';
import type { AuthMethod, LoginResult } from './method.js';

/**
 * LDAP auto-auth as Vault Agent does it: before every login the password file is read (a regular
 * file, or a symlink to one), its bytes as they are, and removed when
 * `remove_password_after_reading` (the default); the link's target instead with
 * `remove_password_follows_symlinks`. A missing or empty file keeps the password read before;
 * then `POST <mount>/login/<username> {password}`.
 */
export class LdapAuth implements AuthMethod {
  readonly name = 'ldap';
  private password = '';
  /** Why the last read found no password, for the error when none is known. */
  private lastProblem: string | undefined;

  constructor(private readonly config: LdapMethod) {}

  async login(vault: VaultClient): Promise<LoginResult> {
    await this.readPassword();
    if (this.password === '') {
      throw new AppError('AUTH_FAILED', `no password known for LDAP user ${this.config.username}: ${this.lastProblem ?? `password file ${this.config.passwordFilePath} is missing or empty`}`);
    }
    const reply = await vault.request({
      method: 'POST',
      path: `${this.config.mountPath}/login/${encodeURIComponent(this.config.username)}`,
      body: { password: this.password },
      retry: false,
    });
    const auth = reply.body?.auth;
    if (!auth?.client_token) throw new AppError('AUTH_FAILED', `${this.config.mountPath}/login answered without a token`);
    return { token: auth.client_token, leaseDurationSeconds: auth.lease_duration, renewable: auth.renewable };
  }

  credentialFiles(): string[] {
    return [this.config.passwordFilePath];
  }

  /** Vault Agent's ingressPass: what cannot be read leaves the known password as it was. */
  private async readPassword(): Promise<void> {
    const path = this.config.passwordFilePath;
    this.lastProblem = undefined;
    let target = path;
    try {
      const st = await lstat(path);
      if (st.isSymbolicLink()) {
        target = await realpath(path);
        await stat(target);
      } else if (!st.isFile()) {
        this.lastProblem = `password file ${path} is not a regular file or symlink`;
        return;
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.lastProblem = `cannot read password file ${path}: ${errorMessage(err)}`;
      return;
    }
    let content: string;
    try {
      content = await readFile(path, 'utf8');
    } catch (err) {
      this.lastProblem = `cannot read password file ${path}: ${errorMessage(err)}`;
      return;
    }
    if (content.length > 0) this.password = content;
    else this.lastProblem = `password file ${path} is empty`;
    if (this.config.removePasswordAfterReading) {
      await unlink(this.config.removePasswordFollowsSymlinks ? target : path).catch(() => undefined);
    }
  }
}
