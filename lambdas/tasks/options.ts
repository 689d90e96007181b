import type { TargetKind } from './targets';

/**
 * A small schema for task options: events come from EventBridge as plain JSON and the CLI hands
 * over strings, so both are checked here, before any SQL runs, with the field named in the error.
 */
export type OptionSpec =
  | { type: 'boolean'; description: string; default?: boolean }
  | { type: 'integer'; description: string; min: number; max: number; default?: number }
  | { type: 'number'; description: string; min: number; max: number; default?: number }
  | { type: 'string'; description: string; pattern: RegExp; maxLength: number; default?: string; target?: TargetKind };

export type OptionSchema = Record<string, OptionSpec>;

type ValueOf<S extends OptionSpec> = S extends { type: 'boolean' } ? boolean : S extends { type: 'string' } ? string : number;

/** Validated options: an option with a `default` is always present, the others may be absent. */
export type OptionsOf<S extends OptionSchema> = {
  [K in keyof S as S[K] extends { default: unknown } ? K : never]: ValueOf<S[K]>;
} & {
  [K in keyof S as S[K] extends { default: unknown } ? never : K]?: ValueOf<S[K]>;
};

export class ValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValidationError';
  }
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function checkOne(task: string, name: string, spec: OptionSpec, value: unknown): string | number | boolean {
  const where = `task ${task}: option "${name}"`;
  switch (spec.type) {
    case 'boolean':
      if (typeof value !== 'boolean') throw new ValidationError(`${where} must be a boolean, got ${describeType(value)}`);
      return value;
    case 'integer':
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new ValidationError(`${where} must be a number, got ${describeType(value)}`);
      if (spec.type === 'integer' && !Number.isInteger(value)) throw new ValidationError(`${where} must be a whole number, got ${value}`);
      if (value < spec.min || value > spec.max) throw new ValidationError(`${where} must be between ${spec.min} and ${spec.max}, got ${value}`);
      return value;
    }
    case 'string':
      if (typeof value !== 'string') throw new ValidationError(`${where} must be a string, got ${describeType(value)}`);
      if (value.length > spec.maxLength) throw new ValidationError(`${where} is longer than ${spec.maxLength} characters`);
      if (!spec.pattern.test(value)) throw new ValidationError(`${where} must match ${spec.pattern}, got "${value}"`);
      return value;
  }
}

/** Strict: JSON values of the right type, no unknown fields; an option left out takes its spec's default. */
export function validateOptions<S extends OptionSchema>(task: string, schema: S, raw: Record<string, unknown>): OptionsOf<S> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) {
    const spec = schema[name];
    if (!spec) {
      const known = Object.keys(schema);
      throw new ValidationError(`task ${task}: unknown option "${name}" (allowed: ${known.length ? known.join(', ') : 'none'})`);
    }
    if (value === undefined) continue;
    out[name] = checkOne(task, name, spec, value);
  }
  for (const [name, spec] of Object.entries(schema)) {
    if (out[name] === undefined && spec.default !== undefined) out[name] = spec.default;
  }
  return out as OptionsOf<S>;
}

/** The option's description with its default, as the CLI help and the README show it. */
export function describeOption(spec: OptionSpec): string {
  return spec.default === undefined ? spec.description : `${spec.description} (default ${spec.default})`;
}

/** CLI: k=v strings turned into the schema's types first, then checked like an event. */
export function coerceOptionStrings(task: string, schema: OptionSchema, pairs: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, text] of Object.entries(pairs)) {
    const spec = schema[name];
    if (!spec) {
      out[name] = text; // validateOptions names it as unknown
      continue;
    }
    if (spec.type === 'boolean') {
      if (text !== 'true' && text !== 'false') throw new ValidationError(`task ${task}: option "${name}" must be true or false, got "${text}"`);
      out[name] = text === 'true';
    } else if (spec.type === 'integer' || spec.type === 'number') {
      if (!/^-?\d+(\.\d+)?$/.test(text)) throw new ValidationError(`task ${task}: option "${name}" must be a number, got "${text}"`);
      out[name] = Number(text);
    } else {
      out[name] = text;
    }
  }
  return out;
}

/** Options every task accepts. */
export const COMMON_OPTIONS = {
  dryRun: { type: 'boolean', default: false, description: 'Report what would be done; change nothing' },
  lockTimeoutMs: { type: 'integer', min: 1, max: 60_000, description: 'lock_timeout for each DDL/maintenance statement (default DBOPS_LOCK_TIMEOUT_MS)' },
  timeBudgetMs: { type: 'integer', min: 1000, max: 24 * 3600 * 1000, description: 'Stop starting new work after this long' },
} as const satisfies OptionSchema;
