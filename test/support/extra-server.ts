import { spawn } from 'node:child_process';
import path from 'node:path';

export interface ExtraServer {
  /** The server's superuser on its postgres database. */
  url: string;
  stop(): Promise<void>;
}

/** A second PostgreSQL server (e.g. a stand-in for an Aurora reader), in a child process. */
export async function startExtraServer(): Promise<ExtraServer> {
  const root = path.resolve(__dirname, '..', '..');
  const child = spawn(path.join(root, 'node_modules', '.bin', 'tsx'), [path.join(__dirname, 'serve-embedded.ts')], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`extra server exited (${code}) before it was ready: ${err.trim()}`)));
  });
  return {
    url,
    stop: async () => {
      child.stdin.end();
      await exited;
    },
  };
}
