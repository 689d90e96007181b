import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { functionDefaults, LAMBDA_RUNTIME } from '../../lib/constructs/bundling';
import { addDbopsStack } from '../../lib/stack-setup';
import { median } from '../stats';

/**
 * Section 6: the Lambda bundles exactly as deployed. The dev stack is constructed as `cdk synth`
 * constructs it (cdk.json's context), so NodejsFunction runs esbuild with the constructs' own
 * bundling options; each distinct asset is then measured: the code (index.js), the source map
 * shipped beside it, and module init time = `require()` of the bundle in a fresh node process with
 * the function's NODE_OPTIONS, timed inside that process, median of several runs. Locally the
 * external modules resolve from this repository's node_modules (NODE_PATH), standing in for the
 * runtime's copy.
 */
export const BUNDLE_CODE_GOAL_BYTES = 300_000;

export interface BundleResult {
  /** The handler file the bundle is built from (lambdas/handlers/<handler>.ts). */
  handler: string;
  /** The functions deployed with this bundle. */
  functions: string[];
  /** index.js */
  bytes: number;
  /** index.js.map, shipped with the code (0 when there is none). */
  sourceMapBytes: number;
  /** Other files of the asset (e.g. the bundled migrations). */
  otherBytes: number;
  /** Modules the bundle leaves to the runtime: every require() that is not a node builtin. */
  externalRequires: string[];
  meetsGoal: boolean;
  /** Wall time of require(), median. */
  initMs: number;
  initRunsMs: number[];
  /** CPU time (user + system) of the same require(), median: steadier than wall time on a busy machine. */
  initCpuMs: number;
  error?: string;
}

export interface BundlesResult {
  stack: string;
  runtime: string;
  nodeVersion: string;
  goalBytes: number;
  bundles: BundleResult[];
}

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

export function externalRequires(code: string): string[] {
  const names = new Set<string>();
  for (const match of code.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)) {
    if (!BUILTINS.has(match[1]) && !match[1].startsWith('.')) names.add(match[1]);
  }
  return [...names].sort();
}

/** lambdas/handlers/<name>.ts among the source map's sources, else the first function's construct path. */
function handlerName(mapFile: string, fallback: string): string {
  if (existsSync(mapFile)) {
    const sources: string[] = JSON.parse(readFileSync(mapFile, 'utf8')).sources ?? [];
    const entry = sources.map((s) => /lambdas\/handlers\/([^/]+)\.ts$/.exec(s)?.[1]).find(Boolean);
    if (entry) return entry;
  }
  return fallback;
}

function initRuns(bundle: string, repoRoot: string, runs: number): { runsMs: number[]; cpuMs: number[]; error?: string } {
  const runsMs: number[] = [];
  const cpuMs: number[] = [];
  const nodeOptions = functionDefaults().environment.NODE_OPTIONS ?? '';
  for (let i = 0; i < runs; i++) {
    const child = spawnSync(
      process.execPath,
      [
        '-e',
        `const c=process.cpuUsage(),t=process.hrtime.bigint();require(${JSON.stringify(bundle)});` +
          `const w=Number(process.hrtime.bigint()-t)/1e6,u=process.cpuUsage(c);process.stdout.write(w+' '+(u.user+u.system)/1e3)`,
      ],
      { env: { ...process.env, NODE_OPTIONS: nodeOptions, NODE_PATH: path.join(repoRoot, 'node_modules') }, encoding: 'utf8', timeout: 30_000 },
    );
    if (child.status !== 0) return { runsMs, cpuMs, error: (child.stderr || `exit ${child.status}`).split('\n').find((l) => l.trim()) ?? 'failed' };
    const [wall, cpu] = child.stdout.split(' ').map(Number);
    runsMs.push(wall);
    cpuMs.push(cpu);
  }
  return { runsMs, cpuMs };
}

export async function measureBundles(repoRoot: string, runs = 5): Promise<BundlesResult> {
  const outdir = await mkdtemp(path.join(tmpdir(), 'aurora-dbops-bundles-'));
  try {
    const context = JSON.parse(readFileSync(path.join(repoRoot, 'cdk.json'), 'utf8')).context;
    const app = new App({ outdir, context });
    const stack = addDbopsStack(app, 'dev');
    const byAsset = new Map<string, string[]>();
    for (const construct of stack.node.findAll()) {
      if (!(construct instanceof nodejs.NodejsFunction)) continue;
      const asset = (construct.node.tryFindChild('Code') as { assetPath?: string } | undefined)?.assetPath;
      if (!asset) continue;
      byAsset.set(asset, [...(byAsset.get(asset) ?? []), construct.node.path.replace(`${stack.node.path}/`, '')]);
    }
    const bundles: BundleResult[] = [];
    for (const [asset, functions] of byAsset) {
      const dir = path.join(outdir, asset);
      const code = path.join(dir, 'index.js');
      const map = `${code}.map`;
      const total = sizeOf(dir);
      const bytes = statSync(code).size;
      const sourceMapBytes = existsSync(map) ? statSync(map).size : 0;
      const { runsMs, cpuMs, error } = initRuns(code, repoRoot, runs);
      bundles.push({
        handler: handlerName(map, functions[0]),
        functions,
        bytes,
        sourceMapBytes,
        otherBytes: total - bytes - sourceMapBytes,
        externalRequires: externalRequires(readFileSync(code, 'utf8')),
        meetsGoal: bytes <= BUNDLE_CODE_GOAL_BYTES,
        initMs: runsMs.length ? Math.round(median(runsMs) * 10) / 10 : Number.NaN,
        initRunsMs: runsMs.map((v) => Math.round(v * 10) / 10),
        initCpuMs: cpuMs.length ? Math.round(median(cpuMs) * 10) / 10 : Number.NaN,
        error,
      });
    }
    bundles.sort((a, b) => a.handler.localeCompare(b.handler));
    return { stack: stack.stackName, runtime: LAMBDA_RUNTIME.name, nodeVersion: process.versions.node, goalBytes: BUNDLE_CODE_GOAL_BYTES, bundles };
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

function sizeOf(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    total += entry.isDirectory() ? sizeOf(full) : statSync(full).size;
  }
  return total;
}
