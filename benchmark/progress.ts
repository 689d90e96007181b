import { MultiBar, Presets, SingleBar } from 'cli-progress';

/** Where long steps report how far they are; the jest harness passes the silent one. */
export interface Progress {
  /** A bar (or a log line when not on a terminal) for one step of `total` units. */
  step(label: string, total: number): ProgressStep;
  log(message: string): void;
  stop(): void;
}

export interface ProgressStep {
  advance(units: number): void;
  done(): void;
}

export const silentProgress: Progress = {
  step: () => ({ advance: () => undefined, done: () => undefined }),
  log: () => undefined,
  stop: () => undefined,
};

/** cli-progress bars on a terminal; plain start/finish lines with elapsed time otherwise (CI logs). */
export function consoleProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) {
    return {
      step(label, total) {
        const started = Date.now();
        stream.write(`  ${label}: ${total.toLocaleString('en-US')} ...\n`);
        return {
          advance: () => undefined,
          done: () => stream.write(`  ${label}: done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`),
        };
      },
      log: (message) => stream.write(`${message}\n`),
      stop: () => undefined,
    };
  }
  const multi = new MultiBar(
    { stream, format: '  {label} |{bar}| {percentage}% {value}/{total} {duration_formatted}', hideCursor: true, clearOnComplete: false },
    Presets.shades_classic,
  );
  return {
    step(label, total) {
      const bar: SingleBar = multi.create(Math.max(total, 1), 0, { label: label.padEnd(28) });
      return {
        advance: (units) => bar.increment(units),
        done: () => {
          bar.update(Math.max(total, 1));
          bar.stop();
        },
      };
    },
    log: (message) => multi.log(`${message}\n`),
    stop: () => multi.stop(),
  };
}
