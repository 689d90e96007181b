import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { median } from '../stats';

/**
 * Section 6: each Lambda handler bundled as NodejsFunction bundles it (esbuild: platform node,
 * bundle, minify, CommonJS, @aws-sdk/* external because the runtime provides it), its size,
 * and its module init time: `require()` of the bundle in a fresh node process, timed inside that
 * process, median of several runs. Locally the external @aws-sdk/* packages resolve from this
 * repository's node_modules (NODE_PATH), standing in for the runtime's copy.
 */
export interface BundleResult {
  handler: string;
  bytes: number;
  initMs: number;
  initRunsMs: number[];
  error?: string;
}

export async function measureBundles(repoRoot: string, runs = 5): Promise<{ target: string; nodeVersion: string; bundles: BundleResult[] }> {
  const esbuild = await import('esbuild');
  const handlersDir = path.join(repoRoot, 'lambdas', 'handlers');
  const handlers = readdirSync(handlersDir).filter((f) => f.endsWith('.ts')).sort();
  const outDir = await mkdtemp(path.join(tmpdir(), 'aurora-dbops-bundles-'));
  const target = `node${process.versions.node.split('.')[0]}`;
  const bundles: BundleResult[] = [];
  try {
    for (const file of handlers) {
      const name = file.replace(/\.ts$/, '');
      const outfile = path.join(outDir, `${name}.js`);
      try {
        await esbuild.build({
          entryPoints: [path.join(handlersDir, file)],
          outfile,
          bundle: true,
          platform: 'node',
          target,
          format: 'cjs',
          minify: true,
          sourcemap: false,
          external: ['@aws-sdk/*'],
          logLevel: 'silent',
        });
      } catch (error) {
        bundles.push({ handler: name, bytes: 0, initMs: Number.NaN, initRunsMs: [], error: (error as Error).message.split('\n')[0] });
        continue;
      }
      const initRunsMs: number[] = [];
      let error: string | undefined;
      for (let i = 0; i < runs; i++) {
        const child = spawnSync(
          process.execPath,
          ['-e', `const t=process.hrtime.bigint();require(${JSON.stringify(outfile)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`],
          { env: { ...process.env, NODE_PATH: path.join(repoRoot, 'node_modules') }, encoding: 'utf8', timeout: 30_000 },
        );
        if (child.status !== 0) {
          error = (child.stderr || `exit ${child.status}`).split('\n').find((l) => l.trim()) ?? 'failed';
          break;
        }
        initRunsMs.push(Number(child.stdout));
      }
      bundles.push({
        handler: name,
        bytes: statSync(outfile).size,
        initMs: initRunsMs.length ? Math.round(median(initRunsMs) * 10) / 10 : Number.NaN,
        initRunsMs: initRunsMs.map((v) => Math.round(v * 10) / 10),
        error,
      });
    }
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
  return { target, nodeVersion: process.versions.node, bundles };
}
