import { budgetFor, LAMBDA_SAFETY_MARGIN_MS, TimeBudget } from '../../../lambdas/tasks/budget';
import { coerceOptionStrings, describeOption, ValidationError, validateOptions } from '../../../lambdas/tasks/options';
import { optionSchemaOf, parseTaskRequest } from '../../../lambdas/tasks/runner';
import { TASKS } from '../../../lambdas/tasks/registry';
import { TASK_NAMES } from '../../../lambdas/tasks/types';

describe('time budget', () => {
  it('takes the smallest of the configured budget, the option and the Lambda time minus a margin', () => {
    let now = 0;
    const clock = () => now;
    expect(budgetFor({}, clock).remainingMs()).toBe(Number.POSITIVE_INFINITY);
    expect(budgetFor({ configuredMs: 60_000, lambdaRemainingMs: 900_000 }, clock).remainingMs()).toBe(60_000);
    expect(budgetFor({ configuredMs: 600_000, lambdaRemainingMs: 100_000 }, clock).remainingMs()).toBe(100_000 - LAMBDA_SAFETY_MARGIN_MS);
    expect(budgetFor({ optionMs: 5_000, configuredMs: 600_000 }, clock).remainingMs()).toBe(5_000);
    const budget = new TimeBudget(10_000, clock);
    expect(budget.allows(9_000)).toBe(true);
    now = 9_500;
    expect(budget.allows(1_000)).toBe(false);
    expect(budget.allows()).toBe(true);
    now = 10_000;
    expect(budget.allows()).toBe(false);
  });

  it('caps statement_timeout by what is left, never below a floor for the wrap-up', () => {
    let now = 0;
    const budget = new TimeBudget(60_000, () => now);
    expect(budget.statementTimeout(120_000)).toBe(60_000);
    expect(budget.statementTimeout(30_000)).toBe(30_000);
    now = 59_000;
    expect(budget.statementTimeout(120_000)).toBe(5_000);
    expect(budget.statementTimeout(2_000)).toBe(2_000);
    expect(TimeBudget.unlimited().statementTimeout(120_000)).toBe(120_000);
  });
});

describe('task options', () => {
  it('every task has a description and a statement timeout; options never shadow the common ones', () => {
    for (const name of TASK_NAMES) {
      const task = TASKS[name];
      expect(task.name).toBe(name);
      expect(task.description.length).toBeGreaterThan(0);
      expect(task.statementTimeoutMs).toBeGreaterThan(0);
      expect(Object.keys(task.options)).not.toEqual(expect.arrayContaining(['dryRun']));
    }
  });

  it('accepts well-typed options and leaves out undefined ones', () => {
    expect(parseTaskRequest({ task: 'reindex', all: true, minBloatPercent: 12.5, dryRun: true })).toEqual({
      task: 'reindex',
      options: { all: true, minBloatPercent: 12.5, dryRun: true, minBloatBytes: 10 * 1024 * 1024 },
    });
    expect(validateOptions('x', { a: { type: 'boolean', description: '' } }, { a: undefined })).toEqual({});
  });

  it('fills every option left out from its spec default, and nothing else', () => {
    const schema = { n: { type: 'integer', min: 0, max: 10, default: 3, description: '' }, flag: { type: 'boolean', default: false, description: '' }, free: { type: 'string', pattern: /^x$/, maxLength: 1, description: '' } } as const;
    expect(validateOptions('x', schema, {})).toEqual({ n: 3, flag: false });
    expect(validateOptions('x', schema, { n: 0, flag: true, free: 'x' })).toEqual({ n: 0, flag: true, free: 'x' });
    expect(validateOptions('x', schema, { n: undefined })).toEqual({ n: 3, flag: false });
  });

  it('every default is a valid value of its own option, and the description shows it', () => {
    for (const name of TASK_NAMES) {
      const schema = optionSchemaOf(name);
      for (const [option, spec] of Object.entries(schema)) {
        if (spec.default === undefined) {
          expect(describeOption(spec)).toBe(spec.description);
          continue;
        }
        expect(validateOptions(name, schema, { [option]: spec.default })[option]).toBe(spec.default);
        expect(describeOption(spec)).toBe(`${spec.description} (default ${spec.default})`);
        // The default is written once: the description must not repeat it by hand.
        expect(spec.description).not.toMatch(/\(default/i);
      }
    }
  });

  it('coerces CLI strings by the schema, then validates', () => {
    const schema = optionSchemaOf('create-partitions');
    expect(validateOptions('create-partitions', schema, coerceOptionStrings('create-partitions', schema, { monthsAhead: '6', includeDefaultMonths: 'false', table: 'public.x' }))).toEqual({
      monthsAhead: 6,
      includeDefaultMonths: false,
      table: 'public.x',
      dryRun: false,
    });
    expect(() => coerceOptionStrings('create-partitions', schema, { includeDefaultMonths: 'yes' })).toThrow(ValidationError);
    expect(() => validateOptions('create-partitions', schema, coerceOptionStrings('create-partitions', schema, { monthsAhead: '0' }))).toThrow(/between 1 and 120/);
  });
});
