import { readFileSync } from 'node:fs';
import path from 'node:path';
import { COMMON_OPTIONS, OptionSchema } from '../../../lambdas/tasks/options';
import { TASKS } from '../../../lambdas/tasks/registry';
import { TASK_NAMES } from '../../../lambdas/tasks/types';

const README = readFileSync(path.join(__dirname, '..', '..', '..', 'README.md'), 'utf8');

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Every option is named in backticks; one with a default is followed by `(<default>` in that same text. */
function missing(text: string, schema: OptionSchema): string[] {
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(schema)) {
    if (!text.includes(`\`${name}\``)) problems.push(`${name} not named`);
    else if (spec.default !== undefined && !new RegExp(`\`${escape(name)}\` \\(${escape(String(spec.default))}[ ),;:=]`).test(text)) {
      problems.push(`${name} without its default (${spec.default})`);
    }
  }
  return problems;
}

describe("README's maintenance tasks table", () => {
  it.each(TASK_NAMES)('names every option of %s with its default, as the code defines them', (task) => {
    const row = README.split('\n').find((line) => line.startsWith(`| \`${task}\` |`));
    expect(row).toBeDefined();
    expect(missing(row!, TASKS[task].options)).toEqual([]);
  });

  it('names the options every task accepts', () => {
    const line = README.split('\n').find((l) => l.startsWith('Every task also accepts'));
    expect(line).toBeDefined();
    expect(missing(line!, COMMON_OPTIONS)).toEqual([]);
  });
});
