import type { Problems } from '../problems.js';
import type { BlockReader } from '../reader.js';
import { credentialFile } from './credential-file.js';
import type { ConfigKeyLocation, MethodCommon } from './common.js';

export interface TokenFileMethod extends MethodCommon {
  type: 'token_file';
  tokenFilePath: string;
}

export function readTokenFile(config: BlockReader, common: MethodCommon): TokenFileMethod | undefined {
  const tokenFilePath = config.string('token_file_path');
  if (!tokenFilePath) config.error('token_file_path', 'is required');
  return tokenFilePath ? { type: 'token_file', ...common, tokenFilePath } : undefined;
}

export function checkTokenFileFiles(method: TokenFileMethod, at: ConfigKeyLocation, problems: Problems): void {
  const token = credentialFile(method.tokenFilePath);
  if (token !== 'ok') problems.error(at('token_file_path'), `token file ${method.tokenFilePath}: ${token}`);
}
